//! Datastar expressions: the values of `data-on:*`, `data-text`, `data-show`, `data-init` and
//! the other attributes whose value the client compiles as JavaScript.
//!
//! HTML escaping does not protect code: the browser decodes `&#39;` back to `'` before
//! Datastar reads the value. So in `html!` such an attribute takes an [`Expression`]: a
//! literal written in the template, a typed action ([`crate::action::Action`],
//! [`crate::live::Action`]), a [`Js`] built by [`js!`](crate::js) with every Rust value in it
//! written as a JavaScript literal, or [`Raw`] (the explicit opt-out). A `String`, `&str` or
//! `format!` is a compile error: its text would run as code.

use std::fmt::Write as _;

use super::{Raw, escape_attr};

/// A value that may be the expression of a Datastar attribute in `html!`: written as code,
/// then escaped for the attribute.
///
/// ```
/// use livestar::prelude::*;
///
/// let step = 2;
/// let html = html! { <button data-on:click={livestar::js!("$count += {step}")}>"+"</button> };
/// assert_eq!(html.as_str(), r#"<button data-on:click="$count += 2">+</button>"#);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the value of a Datastar expression attribute: the client runs it as JavaScript",
    label = "a string here is code built from text: any `'` or `)` in it runs as script",
    note = "write the expression in the template (`data-on:click=\"@post('/x')\"`), use a typed action (`#[action]` generates `toggle::post(id)`), or `livestar::js!(\"$count + {{step}}\")` for Rust values in an expression; `Raw(..)` is the explicit opt-out"
)]
pub trait Expression {
    /// Appends the expression, escaped for a double-quoted attribute value.
    fn render_expression(&self, buf: &mut String);
}

impl<T: Expression + ?Sized> Expression for &T {
    fn render_expression(&self, buf: &mut String) {
        (**self).render_expression(buf);
    }
}

impl<T: AsRef<str>> Expression for Raw<T> {
    /// Escaped for the attribute, and otherwise written as is: the caller vouches for the code.
    fn render_expression(&self, buf: &mut String) {
        escape_attr(self.0.as_ref(), buf);
    }
}

impl Expression for crate::action::Action {
    fn render_expression(&self, buf: &mut String) {
        escape_attr(&self.to_string(), buf);
    }
}

impl Expression for crate::live::Action {
    fn render_expression(&self, buf: &mut String) {
        escape_attr(&self.to_string(), buf);
    }
}

impl Expression for Js {
    fn render_expression(&self, buf: &mut String) {
        escape_attr(&self.0, buf);
    }
}

/// A JavaScript expression whose Rust values were written as JavaScript literals; built by
/// [`js!`](crate::js).
///
/// ```
/// let name = "O'Brien</script>";
/// let js = livestar::js!("$greeting = 'Hi ' + {name}");
/// assert_eq!(js.as_str(), r#"$greeting = 'Hi ' + "O'Brien\u003c\u002fscript\u003e""#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Js(String);

impl Js {
    /// The expression's code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What `js!` expands to: code written in the template, and values in between.
#[doc(hidden)]
pub struct JsBuilder(String);

impl JsBuilder {
    #[doc(hidden)]
    pub fn new(capacity: usize) -> Self {
        JsBuilder(String::with_capacity(capacity))
    }

    /// Code written in the macro's literal.
    #[doc(hidden)]
    pub fn code(&mut self, code: &str) {
        self.0.push_str(code);
    }

    /// A Rust value, as a JavaScript literal: its JSON, with `<`, `>`, `&`, U+2028 and U+2029
    /// escaped (they can only stand in JSON's strings, where the escapes mean the same), so
    /// no value can end its literal or the `<script>` around it. `\` and the characters the
    /// Datastar client rewrites or splits on before compiling an expression, even inside
    /// strings (`$`, `@`, `` ` ``, `/`), are escaped too, so the client reads the string as it
    /// is. A value that is not JSON (a map with non-string keys) is `null`.
    #[doc(hidden)]
    pub fn value<T: serde::Serialize + ?Sized>(&mut self, value: &T) {
        let Ok(json) = serde_json::to_string(value) else {
            tracing::error!("js!: a value is not JSON; written as null");
            self.0.push_str("null");
            return;
        };
        push_js_literal(&json, &mut self.0);
    }

    #[doc(hidden)]
    pub fn finish(self) -> Js {
        Js(self.0)
    }
}

/// Appends JSON (`serde_json`'s output) as a JavaScript literal for a Datastar expression; see
/// [`JsBuilder::value`] for what is escaped and why.
pub(crate) fn push_js_literal(json: &str, out: &mut String) {
    out.reserve(json.len() + 8);
    let mut chars = json.chars();
    while let Some(c) = chars.next() {
        match c {
            // Outside strings JSON has no backslash; inside, `\\` becomes `\u005c` (the
            // client reads `\\"` as an escaped quote) and other escapes stay.
            '\\' => match chars.next() {
                Some('\\') => out.push_str("\\u005c"),
                Some(escaped) => {
                    out.push('\\');
                    out.push(escaped);
                }
                None => out.push('\\'),
            },
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '$' | '@' | '`' | '/' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_value_is_one_literal_that_reads_back(value in ".*") {
            let mut js = JsBuilder::new(0);
            js.value(&value);
            let js = js.finish();
            let unsafe_chars = ['<', '>', '&', '\u{2028}', '\u{2029}', '$', '@', '`', '/'];
            prop_assert!(!js.as_str().contains(unsafe_chars), "unescaped in {}", js.as_str());
            prop_assert!(!js.as_str().contains("\\\\"), "an escaped backslash in {}", js.as_str());
            let back: String = serde_json::from_str(js.as_str()).expect("a JSON literal");
            prop_assert_eq!(back, value);
            // In an attribute, decoded by the browser, it is the same literal.
            let mut attribute = String::new();
            js.render_expression(&mut attribute);
            let decoded = html_escape::decode_html_entities(&attribute);
            prop_assert_eq!(decoded.as_ref(), js.as_str());
        }
    }
}
