//! Rendering HTML: the [`Render`] trait, the [`Html`] type and escaping.
//!
//! Everything that can appear inside an `html!` template implements [`Render`]; rendering
//! appends to a caller's `String`, so a page, a Datastar event or a benchmark can reuse one
//! buffer across renders.
//!
//! Attribute values go through [`AttributeValue`], which also decides whether the attribute
//! is written at all: `false` and `None` leave it out, `true` writes it bare (`disabled`).
//!
//! The only way to put text into the output without escaping is [`Raw`], named so that a
//! reviewer sees it.
//!
//! ```
//! use livestar::prelude::*;
//!
//! let name = "<Ada>";
//! let done = false;
//! let html = html! { <input value={name} disabled={done}> };
//! assert_eq!(html.as_str(), r#"<input value="&lt;Ada&gt;">"#);
//! ```

mod attribute;
mod escape;
mod expression;
mod impls;
mod lazy_html;
// The crate's one exception to `deny(unsafe_code)`: appending to a `String` through its spare
// capacity, after one capacity check for a value and the static text after it.
#[allow(unsafe_code)]
mod spare;

#[doc(hidden)]
pub mod __private;

use std::fmt;

pub use attribute::{AttributeValue, Presence};
pub use escape::{escape_attr, escape_text};
#[doc(hidden)]
pub use expression::JsBuilder;
pub use expression::{Expression, Js};
pub use lazy_html::LazyHtml;

/// Something that can write itself as HTML into a buffer.
///
/// Implementations must escape whatever they do not control: text is written through
/// [`escape_text`], attribute values through [`escape_attr`]. Most implementations are one
/// `html!` call away:
///
/// ```
/// use livestar::prelude::*;
///
/// struct Greeting<'a>(&'a str);
///
/// impl Render for Greeting<'_> {
///     fn render_to(&self, buf: &mut String) {
///         buf.push_str("<p>Hello, ");
///         livestar::render::escape_text(self.0, buf);
///         buf.push_str("</p>");
///     }
/// }
///
/// assert_eq!(Greeting("<b>").render().as_str(), "<p>Hello, &lt;b&gt;</p>");
/// // Anything that implements Render can be interpolated into a template.
/// let page = html! { <main>{Greeting("you")}</main> };
/// assert_eq!(page.as_str(), "<main><p>Hello, you</p></main>");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be rendered in an `html!` template",
    label = "`{Self}` does not implement `Render`",
    note = "render one of its fields (e.g. `{{user.name}}`), convert it to a `String`, or implement `livestar::render::Render` for it"
)]
pub trait Render {
    /// Appends this value's HTML to `buf`.
    ///
    /// ```
    /// use livestar::render::Render;
    ///
    /// let mut buf = String::from("<p>");
    /// "Tom & Jerry".render_to(&mut buf);
    /// buf.push_str("</p>");
    /// assert_eq!(buf, "<p>Tom &amp; Jerry</p>");
    /// ```
    fn render_to(&self, buf: &mut String);

    /// A guess of how many bytes [`render_to`](Render::render_to) appends, used to reserve
    /// the buffer up front. The default is 0 (no guess); a wrong guess only costs speed.
    ///
    /// ```
    /// use livestar::render::Render;
    ///
    /// assert_eq!("hello".size_hint(), 5);
    /// ```
    fn size_hint(&self) -> usize {
        0
    }

    /// Appends this value's HTML, then `then` as it is (text that is HTML already: `html!`
    /// passes the static text that follows the value in the template). The default is
    /// [`render_to`](Render::render_to) then `push_str`; numbers and short strings append both
    /// after one capacity check.
    ///
    /// ```
    /// use livestar::render::Render;
    ///
    /// let mut buf = String::from("<td>");
    /// 42.render_then(&mut buf, "</td>");
    /// "a & b".render_then(&mut buf, "<br>");
    /// assert_eq!(buf, "<td>42</td>a &amp; b<br>");
    /// ```
    #[inline]
    fn render_then(&self, buf: &mut String, then: &str) {
        self.render_to(buf);
        buf.push_str(then);
    }

    /// Renders into a fresh [`Html`].
    ///
    /// ```
    /// use livestar::render::Render;
    ///
    /// assert_eq!("a & b".render().as_str(), "a &amp; b");
    /// ```
    fn render(&self) -> Html {
        let mut buf = String::with_capacity(self.size_hint());
        self.render_to(&mut buf);
        Html(buf)
    }

    /// Renders into a `String` that this value gives away. [`Html`] hands over the text it
    /// already holds, without copying it; everything else renders into a fresh buffer. Event
    /// builders such as [`PatchElements::new`](crate::event::PatchElements::new) take their
    /// HTML this way.
    ///
    /// ```
    /// use livestar::prelude::*;
    ///
    /// let page = html! { <p>"hi"</p> };
    /// assert_eq!(page.render_owned(), "<p>hi</p>");
    /// assert_eq!("a & b".render_owned(), "a &amp; b");
    /// ```
    fn render_owned(self) -> String
    where
        Self: Sized,
    {
        let mut buf = String::with_capacity(self.size_hint());
        self.render_to(&mut buf);
        buf
    }

    /// Replaces what `buf` holds with this value's HTML, keeping `buf`'s allocation: a
    /// caller that renders again and again (a live view does, on every wake-up) reuses one
    /// buffer. An [`Html`] is the exception: it hands over the text it already holds, which
    /// costs less than copying it.
    ///
    /// ```
    /// use livestar::prelude::*;
    ///
    /// let mut buf = String::with_capacity(64);
    /// for n in [10, 2] {
    ///     lazy_html! { <b>{n}</b> }.render_replacing(&mut buf);
    /// }
    /// assert_eq!(buf, "<b>2</b>");
    /// assert!(buf.capacity() >= 64);
    /// ```
    fn render_replacing(self, buf: &mut String)
    where
        Self: Sized,
    {
        buf.clear();
        self.render_to(buf);
    }
}

/// Rendered HTML, safe to send as is: every piece of user data in it was escaped.
///
/// `html!` evaluates to `Html`; so does [`Render::render`]. Interpolating an `Html` into
/// another template copies it verbatim (it is already HTML); a component that returns
/// [`lazy_html!`](crate::lazy_html) instead writes into the template's buffer, with no copy.
///
/// ```
/// use livestar::prelude::*;
///
/// fn badge(count: usize) -> Html {
///     html! { <span class="badge">{count}</span> }
/// }
///
/// let html = html! { <h1>"Inbox " {badge(3)}</h1> };
/// assert_eq!(html.as_str(), r#"<h1>Inbox <span class="badge">3</span></h1>"#);
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Html(String);

impl Html {
    /// Wraps a string that is already valid, escaped HTML. The caller vouches for it: nothing
    /// is escaped.
    ///
    /// ```
    /// use livestar::render::Html;
    ///
    /// let html = Html::from_trusted("<br>".to_string());
    /// assert_eq!(html.as_str(), "<br>");
    /// ```
    pub fn from_trusted(html: String) -> Self {
        Html(html)
    }

    /// The HTML text.
    ///
    /// ```
    /// assert_eq!(livestar::html! { <b>"x"</b> }.as_str(), "<b>x</b>");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The HTML text as an owned `String`.
    ///
    /// ```
    /// let s: String = livestar::html! { <i>"x"</i> }.into_string();
    /// assert_eq!(s, "<i>x</i>");
    /// ```
    pub fn into_string(self) -> String {
        self.0
    }

    /// The length of the HTML text in bytes.
    ///
    /// ```
    /// assert_eq!(livestar::html! { <br> }.len(), 4);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the HTML text is empty.
    ///
    /// ```
    /// assert!(livestar::render::Html::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Html").field(&self.0).finish()
    }
}

impl fmt::Display for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Html {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<Html> for String {
    fn from(html: Html) -> String {
        html.0
    }
}

impl Render for Html {
    #[inline]
    fn render_to(&self, buf: &mut String) {
        buf.push_str(&self.0);
    }

    fn size_hint(&self) -> usize {
        self.0.len()
    }

    /// The HTML text itself, not a copy.
    fn render_owned(self) -> String {
        self.0
    }

    /// Hands over the HTML text, not a copy; `buf`'s old allocation is freed.
    fn render_replacing(self, buf: &mut String) {
        *buf = self.0;
    }
}

impl axum::response::IntoResponse for Html {
    /// A `200 OK` with `content-type: text/html; charset=utf-8`.
    fn into_response(self) -> axum::response::Response {
        axum::response::Html(self.0).into_response()
    }
}

/// Text written into the output **without escaping**: the caller vouches that it is valid,
/// safe HTML (or JavaScript/CSS inside `<script>`/`<style>`).
///
/// This is the one opt-out of escaping; keep it rare and visible. Never wrap data that came
/// from a user.
///
/// ```
/// use livestar::prelude::*;
///
/// let svg_icon = "<svg viewBox=\"0 0 1 1\"></svg>"; // a constant of the app, not user data
/// let html = html! { <span>{Raw(svg_icon)}</span> };
/// assert_eq!(html.as_str(), "<span><svg viewBox=\"0 0 1 1\"></svg></span>");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Raw<T>(pub T);

/// Renders every item of an iterator, in order.
///
/// The iterator is cloned per render (`Render` takes `&self`), so pass a cheap, cloneable
/// iterator such as `slice.iter().map(...)`. Inside templates `@for` is usually clearer;
/// `each` is for handing a list to a component.
///
/// ```
/// use livestar::prelude::*;
/// use livestar::render::each;
///
/// let names = ["Ann", "Bob"];
/// let items = each(names.iter().map(|n| html! { <li>{n}</li> }));
/// assert_eq!(html! { <ul>{items}</ul> }.as_str(), "<ul><li>Ann</li><li>Bob</li></ul>");
/// ```
pub fn each<I>(iter: I) -> Each<I>
where
    I: IntoIterator + Clone,
    I::Item: Render,
{
    Each(iter)
}

/// The [`Render`] of an iterator, made by [`each`].
///
/// ```
/// use livestar::render::{Render, each};
///
/// assert_eq!(each(1..=3).render().as_str(), "123");
/// ```
#[derive(Clone, Debug)]
pub struct Each<I>(I);

impl<I> Render for Each<I>
where
    I: IntoIterator + Clone,
    I::Item: Render,
{
    fn render_to(&self, buf: &mut String) {
        for item in self.0.clone() {
            item.render_to(buf);
        }
    }
}

/// A renderable made from a closure that writes into the buffer directly: a component with
/// no intermediate `String`.
///
/// ```
/// use livestar::prelude::*;
/// use livestar::render::Lazy;
///
/// fn row(id: u32) -> impl Render {
///     Lazy(move |buf: &mut String| {
///         buf.push_str("<tr><td>");
///         id.render_to(buf);
///         buf.push_str("</td></tr>");
///     })
/// }
///
/// assert_eq!(html! { <table>{row(7)}</table> }.as_str(), "<table><tr><td>7</td></tr></table>");
/// ```
#[derive(Clone, Copy)]
pub struct Lazy<F>(pub F);

impl<F: Fn(&mut String)> Render for Lazy<F> {
    #[inline]
    fn render_to(&self, buf: &mut String) {
        (self.0)(buf);
    }
}

impl<F> fmt::Debug for Lazy<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lazy(..)")
    }
}

#[cfg(test)]
mod tests;
