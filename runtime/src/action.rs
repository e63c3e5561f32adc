//! Typed Datastar actions: `@post('/todos/7/toggle', {...})` built from Rust values, never
//! from a formatted string.
//!
//! A Datastar attribute such as `data-on:click` holds JavaScript that the client compiles, and
//! HTML escaping does not protect it: the browser decodes `&#39;` back to `'` before Datastar
//! reads the value. So an [`Action`] writes every value it holds (the path, a selector, a
//! header) as a JavaScript string literal ([`push_js_string`]: JSON, with `<`, `>`, `&`,
//! U+2028, U+2029, and the `\`, `$`, `@`, `` ` `` the client rewrites, escaped too), and only
//! then is the whole escaped for the attribute. No value can end its literal.
//!
//! `#[action(post, "/todos/{id}/toggle")]` on an axum handler generates `toggle::post(id)`,
//! which percent-encodes each path parameter of the handler's `Path` type:
//!
//! ```
//! use axum::extract::Path;
//! use livestar::prelude::*;
//!
//! #[action(post, "/todos/{id}/toggle")]
//! async fn toggle(Path(id): Path<u64>) -> &'static str {
//!     "toggled"
//! }
//!
//! fn main() {
//!     let button = html! { <button data-on:click={toggle::post(7)}>"done"</button> };
//!     assert_eq!(
//!         button.as_str(),
//!         r#"<button data-on:click="@post(&quot;/todos/7/toggle&quot;)">done</button>"#
//!     );
//!     let app: axum::Router = toggle::route();
//! #   let _ = app;
//! }
//! ```

use std::fmt::{self, Write as _};
use std::time::Duration;

use crate::render::{AttributeValue, Render, escape_attr};

/// The HTTP method of an [`Action`].
///
/// ```
/// use livestar::action::{Action, Method};
///
/// assert_eq!(Action::new(Method::Delete, "/t/1").method(), Method::Delete);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `@get`
    Get,
    /// `@post`
    Post,
    /// `@put`
    Put,
    /// `@patch`
    Patch,
    /// `@delete`
    Delete,
}

impl Method {
    fn action(self) -> &'static str {
        match self {
            Method::Get => "@get",
            Method::Post => "@post",
            Method::Put => "@put",
            Method::Patch => "@patch",
            Method::Delete => "@delete",
        }
    }
}

/// How the client sends the signals: as JSON (the default) or as the closest form.
///
/// ```
/// use livestar::action::{Action, ContentType, Method};
///
/// let action = Action::new(Method::Post, "/login").content_type(ContentType::Form);
/// assert_eq!(action.to_string(), r#"@post("/login", {contentType: 'form'})"#);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentType {
    /// Every signal as a JSON body (or `datastar` query parameter).
    Json,
    /// The fields of the closest `<form>`, as a form post.
    Form,
}

/// When the client retries a failed request.
///
/// ```
/// use livestar::action::{Action, Method, Retry};
///
/// let action = Action::new(Method::Get, "/feed").retry(Retry::Always);
/// assert_eq!(action.to_string(), r#"@get("/feed", {retry: 'always'})"#);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// On network errors and 5xx answers (the client's default).
    Auto,
    /// On every error.
    Error,
    /// On every error and when a stream ends cleanly.
    Always,
    /// Never.
    Never,
}

/// A Datastar action with typed options; see the [module docs](self). As [`Render`] (and in
/// `html!` attributes) it is escaped for an attribute value; as `Display` it is the bare
/// expression.
///
/// ```
/// use livestar::action::{Action, Method};
///
/// let action = Action::new(Method::Post, "/search")
///     .selector("#results")
///     .filter_signals(Some("^query$"), None)
///     .header("X-Source", "search box");
/// assert_eq!(
///     action.to_string(),
///     r##"@post("/search", {selector: "#results", filterSignals: {include: new RegExp("^query\u0024")}, headers: {"X-Source": "search box"}})"##
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "an action does nothing until it is put in an attribute"]
pub struct Action {
    method: Method,
    path: String,
    content_type: Option<ContentType>,
    selector: Option<String>,
    include: Option<String>,
    exclude: Option<String>,
    headers: Vec<(String, String)>,
    open_when_hidden: Option<bool>,
    retry: Option<Retry>,
    retry_interval: Option<Duration>,
    retry_max_count: Option<u32>,
    request_cancellation: Option<bool>,
}

impl Action {
    /// An action requesting `path` (absolute and already percent-encoded: the functions
    /// `#[action]` generates encode each parameter).
    ///
    /// ```
    /// use livestar::action::{Action, Method};
    ///
    /// // A path cannot leave its string, whatever it holds.
    /// let action = Action::new(Method::Post, "/x'),alert(1),('");
    /// assert_eq!(action.to_string(), r#"@post("/x'),alert(1),('")"#);
    /// ```
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Action {
            method,
            path: path.into(),
            content_type: None,
            selector: None,
            include: None,
            exclude: None,
            headers: Vec::new(),
            open_when_hidden: None,
            retry: None,
            retry_interval: None,
            retry_max_count: None,
            request_cancellation: None,
        }
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The path requested.
    ///
    /// ```
    /// use livestar::action::{Action, Method};
    ///
    /// assert_eq!(Action::new(Method::Get, "/a").path(), "/a");
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// How the signals are sent; see [`ContentType`].
    pub fn content_type(mut self, content_type: ContentType) -> Self {
        self.content_type = Some(content_type);
        self
    }

    /// The form sent with [`ContentType::Form`], by CSS selector (by default the closest).
    ///
    /// ```
    /// use livestar::action::{Action, Method};
    ///
    /// let action = Action::new(Method::Post, "/a").selector("#f");
    /// assert!(action.to_string().contains(r##"selector: "#f""##));
    /// ```
    pub fn selector(mut self, selector: impl Into<String>) -> Self {
        self.selector = Some(selector.into());
        self
    }

    /// Which signals are sent: those whose path matches `include` and not `exclude`
    /// (JavaScript regular expressions; the client's defaults are everything, and not those
    /// starting with `_`).
    ///
    /// ```
    /// use livestar::action::{Action, Method};
    ///
    /// let action = Action::new(Method::Post, "/a").filter_signals(None, Some("^draft\\."));
    /// assert!(action.to_string().contains(r#"filterSignals: {exclude: new RegExp("^draft\u005c.")}"#));
    /// ```
    pub fn filter_signals(mut self, include: Option<&str>, exclude: Option<&str>) -> Self {
        self.include = include.map(str::to_owned);
        self.exclude = exclude.map(str::to_owned);
        self
    }

    /// Adds a request header.
    ///
    /// ```
    /// use livestar::action::{Action, Method};
    ///
    /// let action = Action::new(Method::Post, "/a").header("X-Token", "t\"1");
    /// assert!(action.to_string().contains(r#"headers: {"X-Token": "t\"1"}"#));
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Whether the request goes on while the tab is hidden.
    ///
    /// ```
    /// use livestar::action::{Action, Method};
    ///
    /// let action = Action::new(Method::Get, "/a").open_when_hidden(true);
    /// assert_eq!(action.to_string(), r#"@get("/a", {openWhenHidden: true})"#);
    /// ```
    pub fn open_when_hidden(mut self, on: bool) -> Self {
        self.open_when_hidden = Some(on);
        self
    }

    /// When a failed request is retried; see [`Retry`].
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// The first retry's delay (the client doubles it up to 30 s); whole milliseconds.
    ///
    /// ```
    /// use std::time::Duration;
    /// use livestar::action::{Action, Method};
    ///
    /// let action = Action::new(Method::Get, "/a").retry_interval(Duration::from_millis(250));
    /// assert_eq!(action.to_string(), r#"@get("/a", {retryInterval: 250})"#);
    /// ```
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = Some(interval);
        self
    }

    /// How many retries the client makes before it gives up.
    ///
    /// ```
    /// use livestar::action::{Action, Method};
    ///
    /// let action = Action::new(Method::Get, "/a").retry_max_count(3);
    /// assert_eq!(action.to_string(), r#"@get("/a", {retryMaxCount: 3})"#);
    /// ```
    pub fn retry_max_count(mut self, count: u32) -> Self {
        self.retry_max_count = Some(count);
        self
    }

    /// Whether a new request of the same element cancels the one in flight (the client's
    /// default, `true`).
    ///
    /// ```
    /// use livestar::action::{Action, Method};
    ///
    /// let action = Action::new(Method::Post, "/a").request_cancellation(false);
    /// assert_eq!(action.to_string(), r#"@post("/a", {requestCancellation: 'disabled'})"#);
    /// ```
    pub fn request_cancellation(mut self, on: bool) -> Self {
        self.request_cancellation = Some(on);
        self
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(self.path.len() + 16);
        out.push_str(self.method.action());
        out.push('(');
        push_js_string(&self.path, &mut out);
        let mut options = Options::new(&mut out);
        if let Some(content_type) = self.content_type {
            options.raw(
                "contentType",
                match content_type {
                    ContentType::Json => "'json'",
                    ContentType::Form => "'form'",
                },
            );
        }
        if let Some(selector) = &self.selector {
            options.string("selector", selector);
        }
        if self.include.is_some() || self.exclude.is_some() {
            let mut filter = String::from("{");
            for (name, pattern) in [("include", &self.include), ("exclude", &self.exclude)] {
                if let Some(pattern) = pattern {
                    if filter.len() > 1 {
                        filter.push_str(", ");
                    }
                    filter.push_str(name);
                    filter.push_str(": new RegExp(");
                    push_js_string(pattern, &mut filter);
                    filter.push(')');
                }
            }
            filter.push('}');
            options.raw("filterSignals", &filter);
        }
        if !self.headers.is_empty() {
            let mut headers = String::from("{");
            for (index, (name, value)) in self.headers.iter().enumerate() {
                if index > 0 {
                    headers.push_str(", ");
                }
                push_js_string(name, &mut headers);
                headers.push_str(": ");
                push_js_string(value, &mut headers);
            }
            headers.push('}');
            options.raw("headers", &headers);
        }
        if let Some(on) = self.open_when_hidden {
            options.raw("openWhenHidden", if on { "true" } else { "false" });
        }
        if let Some(retry) = self.retry {
            options.raw(
                "retry",
                match retry {
                    Retry::Auto => "'auto'",
                    Retry::Error => "'error'",
                    Retry::Always => "'always'",
                    Retry::Never => "'never'",
                },
            );
        }
        if let Some(interval) = self.retry_interval {
            options.raw("retryInterval", &interval.as_millis().to_string());
        }
        if let Some(count) = self.retry_max_count {
            options.raw("retryMaxCount", &count.to_string());
        }
        if let Some(on) = self.request_cancellation {
            options.raw(
                "requestCancellation",
                if on { "'auto'" } else { "'disabled'" },
            );
        }
        options.finish();
        out.push(')');
        f.write_str(&out)
    }
}

/// The options object of an action, written only when it has an option.
struct Options<'a> {
    out: &'a mut String,
    any: bool,
}

impl<'a> Options<'a> {
    fn new(out: &'a mut String) -> Self {
        Options { out, any: false }
    }

    fn key(&mut self, name: &str) {
        self.out.push_str(if self.any { ", " } else { ", {" });
        self.any = true;
        self.out.push_str(name);
        self.out.push_str(": ");
    }

    /// `value` is JavaScript written by this module, never a caller's string.
    fn raw(&mut self, name: &str, value: &str) {
        self.key(name);
        self.out.push_str(value);
    }

    fn string(&mut self, name: &str, value: &str) {
        self.key(name);
        push_js_string(value, self.out);
    }

    fn finish(self) {
        if self.any {
            self.out.push('}');
        }
    }
}

impl Render for Action {
    fn render_to(&self, buf: &mut String) {
        escape_attr(&self.to_string(), buf);
    }
}

impl AttributeValue for Action {
    fn render_value(&self, buf: &mut String) {
        escape_attr(&self.to_string(), buf);
    }
}

/// Appends `value` as a JavaScript string literal that no value can end: JSON (double quotes,
/// `\"`, control characters escaped), with `<`, `>` and `&` written `\u003c`, `\u003e`,
/// `\u0026` (so the literal cannot close a `<script>` or be read as markup), U+2028, U+2029
/// written as escapes (line terminators in older JavaScript), and `\`, `$`, `@` and `` ` ``
/// written `\u005c`, `\u0024`, `\u0040`, `\u0060`: the Datastar client rewrites `$name` and
/// `@name(` before it compiles an expression, even inside strings. Escape the result
/// again for the HTML context it goes in (attributes: [`escape_attr`]).
///
/// ```
/// let mut js = String::new();
/// livestar::action::push_js_string("');alert(1)//</script>", &mut js);
/// assert_eq!(js, r#""');alert(1)//\u003c/script\u003e""#);
/// ```
pub fn push_js_string(value: &str, out: &mut String) {
    out.reserve(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            // A backslash as `\u005c`, never `\\`: the client's expression rewriting reads `\\"`
            // as an escaped quote.
            '\\' => out.push_str("\\u005c"),
            // Characters the client's expression rewriting looks for even inside strings
            // (`$name` references, `@action(` calls, template literals).
            '$' => out.push_str("\\u0024"),
            '@' => out.push_str("\\u0040"),
            '`' => out.push_str("\\u0060"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn every_option_is_written_in_one_object() {
        let action = Action::new(Method::Patch, "/a")
            .content_type(ContentType::Json)
            .open_when_hidden(false)
            .retry(Retry::Never)
            .retry_max_count(0)
            .request_cancellation(true);
        assert_eq!(
            action.to_string(),
            "@patch(\"/a\", {contentType: 'json', openWhenHidden: false, retry: 'never', \
             retryMaxCount: 0, requestCancellation: 'auto'})"
        );
    }

    #[test]
    fn in_an_attribute_the_expression_is_escaped_once_more() {
        let mut html = String::new();
        Action::new(Method::Delete, "/t/\"x\"").render_to(&mut html);
        assert_eq!(html, "@delete(&quot;/t/\\&quot;x\\&quot;&quot;)");
    }

    proptest! {
        #[test]
        fn a_js_string_is_one_json_literal_that_reads_back_as_the_value(value in ".*") {
            let mut js = String::new();
            push_js_string(&value, &mut js);
            // JSON is the JavaScript string syntax used here: it parses back to the value.
            let back: String = serde_json::from_str(&js).expect("a JSON string literal");
            prop_assert_eq!(back, value);
            let unsafe_chars = ['<', '>', '&', '\u{2028}', '\u{2029}', '$', '@', '`'];
            prop_assert!(!js.contains(unsafe_chars), "unescaped in {}", js);
            prop_assert!(!js.contains("\\\\"), "an escaped backslash in {}", js);
            // The only unescaped quotes are the two around it.
            let inner = &js[1..js.len() - 1];
            let mut escaped = false;
            for c in inner.chars() {
                prop_assert!(escaped || c != '"');
                escaped = !escaped && c == '\\';
            }
        }
    }
}
