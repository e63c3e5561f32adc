//! Running scripts in the browser, as the protocol expresses it: a `<script>` element appended
//! to `body`.
//!
//! # What is safe to put in a script
//! The script text is code: never build it from untrusted strings by concatenation, any more
//! than SQL. What livestar guarantees is that the text cannot end its `<script>` element:
//! every `</script` (in any case) is written `<\/script` and every `<!--` `<\!--`, so a value
//! inside a JavaScript string literal (`toast("</script><img onerror=..>")`) stays in the
//! script, and means the same (`\/` and `\!` are `/` and `!` in a string literal). Put data
//! into a script as a JSON literal (`serde_json::to_string`), which quotes and escapes it;
//! better still, send it as signals ([`Event::patch_signals`]) and let the page's expressions
//! read them.

use super::{Common, Event, Mode, PatchElements};

/// An execute-script event being built; see [`Event::execute_script`].
///
/// ```
/// use livestar::event::Event;
///
/// let event: Event = Event::execute_script("go()")
///     .attribute("type", "module")
///     .auto_remove(false)
///     .into();
/// assert!(event.as_str().ends_with("data: elements <script type=\"module\">go()</script>\n\n"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "an event does nothing until it is sent"]
pub struct ExecuteScript {
    common: Common,
    script: String,
    auto_remove: bool,
    attributes: Vec<(String, String)>,
}

impl ExecuteScript {
    /// Runs `script` (sent verbatim) once it reaches the page.
    ///
    /// ```
    /// use livestar::event::{Event, ExecuteScript};
    ///
    /// let event: Event = ExecuteScript::new("alert(1)").into();
    /// assert!(event.as_str().contains(r#"<script data-effect="el.remove()">alert(1)</script>"#));
    /// ```
    pub fn new(script: impl Into<String>) -> Self {
        ExecuteScript {
            common: Common::default(),
            script: script.into(),
            auto_remove: true,
            attributes: Vec::new(),
        }
    }

    /// Whether the `<script>` element removes itself after running (default `true`).
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let event: Event = Event::execute_script("x()").auto_remove(false).into();
    /// assert!(!event.as_str().contains("el.remove()"));
    /// ```
    pub fn auto_remove(mut self, on: bool) -> Self {
        self.auto_remove = on;
        self
    }

    /// Adds an attribute to the `<script>` element (its value is escaped), in call order.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let event: Event = Event::execute_script("x()").attribute("nonce", "a\"b").into();
    /// assert!(event.as_str().contains(r#"<script nonce="a&quot;b" "#));
    /// ```
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push((name.into(), value.into()));
        self
    }

    super::common_builder_methods!();

    /// The `<script>` element this event appends to `body`.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// assert_eq!(
    ///     Event::execute_script("x()").to_html(),
    ///     r#"<script data-effect="el.remove()">x()</script>"#
    /// );
    /// ```
    pub fn to_html(&self) -> String {
        let mut html = String::with_capacity(self.script.len() + 48);
        html.push_str("<script");
        for (name, value) in &self.attributes {
            // A name is not escapable; keep only characters HTML allows in attribute names,
            // and no attribute whose name is left empty.
            if !name.chars().any(is_attribute_name_char) {
                continue;
            }
            html.push(' ');
            html.extend(name.chars().filter(|c| is_attribute_name_char(*c)));
            html.push_str("=\"");
            crate::render::escape_attr(value, &mut html);
            html.push('"');
        }
        if self.auto_remove {
            html.push_str(r#" data-effect="el.remove()""#);
        }
        html.push('>');
        push_script_text(&self.script, &mut html);
        html.push_str("</script>");
        html
    }

    /// Encodes the event.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let event = Event::execute_script("x()").encode();
    /// assert!(event.as_str().contains("data: selector body\n"));
    /// ```
    pub fn encode(&self) -> Event {
        let mut patch = PatchElements::from_html(self.to_html())
            .selector("body")
            .mode(Mode::Append);
        patch.set_common(self.common.clone());
        patch.encode()
    }
}

/// Appends `script` so that it cannot end its element: `</script` becomes `<\/script` and
/// `<!--` becomes `<\!--` (the only ways out of a script element's text, in any case), the
/// rest verbatim.
fn push_script_text(script: &str, html: &mut String) {
    let bytes = script.as_bytes();
    let mut copied = 0;
    for at in memchr::memchr_iter(b'<', bytes) {
        let rest = &bytes[at + 1..];
        let closes =
            rest.len() >= 7 && rest[0] == b'/' && rest[1..7].eq_ignore_ascii_case(b"script");
        let opens_comment = rest.starts_with(b"!--");
        if closes || opens_comment {
            // `at + 1` follows an ASCII `<`: a character boundary.
            html.push_str(&script[copied..=at]);
            html.push('\\');
            copied = at + 1;
        }
    }
    html.push_str(&script[copied..]);
}

/// Characters allowed in an attribute name by the HTML syntax.
fn is_attribute_name_char(c: char) -> bool {
    !c.is_whitespace() && !c.is_control() && !matches!(c, '"' | '\'' | '>' | '/' | '=' | '<')
}

impl From<ExecuteScript> for Event {
    fn from(script: ExecuteScript) -> Event {
        script.encode()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The text between the `<script ...>` tag and the element's end.
    fn body(html: &str) -> &str {
        let start = html.find('>').map_or(0, |at| at + 1);
        let end = html.len() - "</script>".len();
        &html[start..end]
    }

    #[test]
    fn a_closing_tag_in_the_text_cannot_end_the_element() {
        let html =
            ExecuteScript::new(r#"toast("</script><img src=x onerror=alert(1)>")"#).to_html();
        assert_eq!(
            html,
            r#"<script data-effect="el.remove()">toast("<\/script><img src=x onerror=alert(1)>")</script>"#
        );
    }

    #[test]
    fn every_case_of_the_tag_and_comment_openers_are_escaped() {
        let html = ExecuteScript::new("a</SCRIPT>b</ScRiPt c<!--d-->").to_html();
        assert_eq!(body(&html), r"a<\/SCRIPT>b<\/ScRiPt c<\!--d-->");
    }

    #[test]
    fn other_angle_brackets_and_multibyte_text_stay_verbatim() {
        let script = "if (a < b && c <d) { s = '</scrip' + '日本<' }";
        assert_eq!(body(&ExecuteScript::new(script).to_html()), script);
    }

    #[test]
    fn an_attribute_whose_name_is_all_forbidden_characters_is_left_out() {
        let html = ExecuteScript::new("x()")
            .attribute("\"=>", "v")
            .auto_remove(false)
            .to_html();
        assert_eq!(html, "<script>x()</script>");
    }

    proptest! {
        #[test]
        fn no_text_ends_the_element_or_opens_a_comment(
            script in "(</[sS][cC][rR]ipt|<!--|<!-|<|/|!|-|[a-z ]|日|\\\\)*|.*"
        ) {
            let html = ExecuteScript::new(script.clone()).to_html();
            let text = body(&html).to_ascii_lowercase();
            prop_assert!(!text.contains("</script"));
            prop_assert!(!text.contains("<!--"));
            // Without backslashes of its own, the text is the script with ours taken out.
            if !script.contains('\\') {
                prop_assert_eq!(body(&html).replace('\\', ""), script);
            }
        }
    }
}
