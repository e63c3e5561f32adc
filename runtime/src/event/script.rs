//! Running scripts in the browser, as the protocol expresses it: a `<script>` element appended
//! to `body`.

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
            html.push(' ');
            // A name is not escapable; keep only characters HTML allows in attribute names.
            html.extend(name.chars().filter(|c| is_attribute_name_char(*c)));
            html.push_str("=\"");
            crate::render::escape_attr(value, &mut html);
            html.push('"');
        }
        if self.auto_remove {
            html.push_str(r#" data-effect="el.remove()""#);
        }
        html.push('>');
        html.push_str(&self.script);
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

/// Characters allowed in an attribute name by the HTML syntax.
fn is_attribute_name_char(c: char) -> bool {
    !c.is_whitespace() && !c.is_control() && !matches!(c, '"' | '\'' | '>' | '/' | '=' | '<')
}

impl From<ExecuteScript> for Event {
    fn from(script: ExecuteScript) -> Event {
        script.encode()
    }
}
