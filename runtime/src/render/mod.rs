//! Rendering HTML: the [`Render`] trait, the [`Html`] type and escaping.
//!
//! Everything that can appear inside an `html!` template implements [`Render`]; rendering
//! appends to a caller's `String`, so a page, a Datastar event or a benchmark can reuse one
//! buffer across renders.

use std::fmt;

/// Something that can write itself as HTML into a buffer.
///
/// Implementations must escape whatever they do not control: text is written through
/// [`escape_text`], attribute values through [`escape_attr`].
///
/// ```
/// use livestar::render::{Render, escape_text};
///
/// struct Greeting<'a>(&'a str);
///
/// impl Render for Greeting<'_> {
///     fn render_to(&self, buf: &mut String) {
///         buf.push_str("<p>Hello, ");
///         escape_text(self.0, buf);
///         buf.push_str("</p>");
///     }
/// }
///
/// assert_eq!(Greeting("<b>").render().as_str(), "<p>Hello, &lt;b&gt;</p>");
/// ```
pub trait Render {
    /// Appends this value's HTML to `buf`.
    fn render_to(&self, buf: &mut String);

    /// Renders into a fresh [`Html`].
    fn render(&self) -> Html {
        let mut buf = String::new();
        self.render_to(&mut buf);
        Html(buf)
    }
}

/// Rendered HTML, safe to send as is: every piece of user data in it was escaped.
///
/// `html!` evaluates to `Html`; so does [`Render::render`].
///
/// ```
/// use livestar::render::Html;
///
/// let html = Html::from_trusted("<br>".to_string());
/// assert_eq!(html.as_str(), "<br>");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Html(String);

impl Html {
    /// Wraps a string that is already valid, escaped HTML. The caller vouches for it: nothing
    /// is escaped.
    pub fn from_trusted(html: String) -> Self {
        Html(html)
    }

    /// The HTML text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The HTML text as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
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

impl Render for Html {
    fn render_to(&self, buf: &mut String) {
        buf.push_str(&self.0);
    }
}

impl<T: Render + ?Sized> Render for &T {
    fn render_to(&self, buf: &mut String) {
        (**self).render_to(buf);
    }
}

impl Render for str {
    fn render_to(&self, buf: &mut String) {
        escape_text(self, buf);
    }
}

impl Render for String {
    fn render_to(&self, buf: &mut String) {
        escape_text(self, buf);
    }
}

/// Appends `text` to `buf`, escaped for an HTML text node (`&`, `<`, `>`).
///
/// ```
/// let mut buf = String::new();
/// livestar::render::escape_text("a < b & c", &mut buf);
/// assert_eq!(buf, "a &lt; b &amp; c");
/// ```
pub fn escape_text(text: &str, buf: &mut String) {
    html_escape::encode_text_to_string(text, buf);
}

/// Appends `value` to `buf`, escaped for a double-quoted attribute value (`&`, `<`, `>`, `"`,
/// `'`).
///
/// ```
/// let mut buf = String::new();
/// livestar::render::escape_attr(r#"say "hi""#, &mut buf);
/// assert_eq!(buf, "say &quot;hi&quot;");
/// ```
pub fn escape_attr(value: &str, buf: &mut String) {
    html_escape::encode_quoted_attribute_to_string(value, buf);
}
