//! [`LazyHtml`]: a template that renders when asked, into the buffer it is given.

use std::fmt;

use super::__private::SizeHint;
use super::{Html, Render};

/// A template not rendered yet: what [`lazy_html!`](crate::lazy_html) evaluates to.
///
/// Rendering it runs the template's code against the caller's buffer, so a component that
/// returns one writes straight into its parent's output (no `String` of its own, no copy),
/// and a page rendered into a reused buffer allocates nothing once the buffer is big enough.
/// [`render`](Render::render) turns it into an [`Html`], reserving the size of the last such
/// render.
///
/// ```
/// use livestar::prelude::*;
///
/// fn badge(count: usize) -> impl Render {
///     lazy_html! { <span class="badge">{count}</span> }
/// }
///
/// let mut buf = String::with_capacity(64);
/// badge(3).render_to(&mut buf);
/// assert_eq!(buf, r#"<span class="badge">3</span>"#);
/// assert_eq!(badge(4).render().as_str(), r#"<span class="badge">4</span>"#);
/// ```
#[derive(Clone, Copy)]
#[must_use = "a lazy template writes nothing until it is rendered"]
pub struct LazyHtml<F> {
    write: F,
    hint: &'static SizeHint,
    static_len: usize,
}

impl<F: Fn(&mut String)> LazyHtml<F> {
    pub(super) fn new(hint: &'static SizeHint, static_len: usize, write: F) -> Self {
        LazyHtml {
            write,
            hint,
            static_len,
        }
    }

    /// Renders into a fresh [`Html`]; the same as [`Render::render`], without needing the
    /// trait in scope.
    ///
    /// ```
    /// let name = "<Ann>";
    /// let html = livestar::lazy_html! { <b>{name}</b> }.into_html();
    /// assert_eq!(html.as_str(), "<b>&lt;Ann&gt;</b>");
    /// ```
    pub fn into_html(self) -> Html {
        self.render()
    }
}

impl<F: Fn(&mut String)> Render for LazyHtml<F> {
    /// Runs the template against `buf`. It does not reserve: a parent template reserved
    /// for its whole output, children included.
    #[inline(always)]
    fn render_to(&self, buf: &mut String) {
        (self.write)(buf);
    }

    /// The larger of the template's static text and its last rendering into a fresh buffer.
    fn size_hint(&self) -> usize {
        self.hint.get(self.static_len)
    }

    fn render(&self) -> Html {
        let mut buf = self.hint.buffer(self.static_len);
        self.render_to(&mut buf);
        self.hint.finish(buf)
    }

    fn render_owned(self) -> String {
        self.render().into_string()
    }
}

impl<F: Fn(&mut String)> From<LazyHtml<F>> for Html {
    fn from(template: LazyHtml<F>) -> Html {
        template.render()
    }
}

impl<F> fmt::Debug for LazyHtml<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LazyHtml(..)")
    }
}
