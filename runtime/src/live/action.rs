//! The typed link to a live view: the Datastar `@get(...)` action that opens it.

use std::fmt;

use crate::render::{AttributeValue, Render, escape_attr};

/// How many failed reconnects the Datastar client tries before it gives up on a live view,
/// as [`Action`] asks it (the client's own default is 10, about five minutes with its
/// backoff: too few for a deploy or a laptop waking up).
///
/// ```
/// use livestar::live::{Action, DEFAULT_RETRY_MAX_COUNT};
///
/// let action = Action::get("/todos/live").to_string();
/// assert!(action.contains(&format!("retryMaxCount: {DEFAULT_RETRY_MAX_COUNT}")));
/// ```
pub const DEFAULT_RETRY_MAX_COUNT: u32 = 1000;

/// The Datastar action that opens a live view, e.g. `@get('/todos/live', {retry: 'always',
/// retryMaxCount: 1000})`, as returned by the `get()` function `#[live_view]` generates.
///
/// `retry: 'always'` makes the client reconnect when the stream ends cleanly too (a deploy,
/// [`shutdown`](super::shutdown)), not only after an error. Put it in a `data-init`
/// attribute of the page that hosts the view. As [`Render`] it is escaped for an attribute
/// value; as `Display` it is the bare expression.
///
/// ```
/// use livestar::live::Action;
/// use livestar::render::Render;
///
/// let action = Action::get("/todos/live");
/// assert_eq!(
///     action.to_string(),
///     "@get('/todos/live', {retry: 'always', retryMaxCount: 1000})"
/// );
/// let page = format!(r#"<main data-init="{}">Loading...</main>"#, action.render().as_str());
/// assert!(page.starts_with(r#"<main data-init="@get(&#39;/todos/live&#39;, "#));
/// ```
///
/// In `html!` it is an attribute value:
///
/// ```
/// use livestar::live::Action;
/// use livestar::prelude::*;
///
/// let page = html! { <main data-init={Action::get("/todos/live")}>"Loading..."</main> };
/// assert!(page.as_str().starts_with(r#"<main data-init="@get(&#39;/todos/live&#39;, {retry: "#));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    path: String,
    retry_max_count: u32,
    open_when_hidden: bool,
}

impl Action {
    /// The action that opens the live view at `path` (an absolute path, already
    /// percent-encoded; `'` and `\` are escaped for the JavaScript string).
    ///
    /// ```
    /// use livestar::live::Action;
    ///
    /// let action = Action::get("/notes/it's");
    /// assert_eq!(action.to_string(), r"@get('/notes/it\'s', {retry: 'always', retryMaxCount: 1000})");
    /// ```
    pub fn get(path: impl Into<String>) -> Self {
        Action {
            path: path.into(),
            retry_max_count: DEFAULT_RETRY_MAX_COUNT,
            open_when_hidden: false,
        }
    }

    /// How many failed reconnects the client tries before it gives up.
    ///
    /// ```
    /// let action = livestar::live::Action::get("/a").retry_max_count(5);
    /// assert!(action.to_string().contains("retryMaxCount: 5"));
    /// ```
    pub fn retry_max_count(mut self, count: u32) -> Self {
        self.retry_max_count = count;
        self
    }

    /// Keeps the stream open while the tab is hidden (by default Datastar closes it and
    /// reconnects when the tab is shown again, which a live view handles: it gets the current
    /// state first).
    ///
    /// ```
    /// let action = livestar::live::Action::get("/a").open_when_hidden(true);
    /// assert!(action.to_string().contains("openWhenHidden: true"));
    /// ```
    pub fn open_when_hidden(mut self, on: bool) -> Self {
        self.open_when_hidden = on;
        self
    }

    /// The path the action requests.
    ///
    /// ```
    /// assert_eq!(livestar::live::Action::get("/a").path(), "/a");
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("@get('")?;
        for c in self.path.chars() {
            match c {
                '\'' => f.write_str("\\'")?,
                '\\' => f.write_str("\\\\")?,
                c => fmt::Write::write_char(f, c)?,
            }
        }
        write!(
            f,
            "', {{retry: 'always', retryMaxCount: {}",
            self.retry_max_count
        )?;
        if self.open_when_hidden {
            f.write_str(", openWhenHidden: true")?;
        }
        f.write_str("})")
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

/// Appends a path parameter to a path, percent-encoding everything but unreserved
/// characters, so a value cannot change the route or break out of the JavaScript string.
///
/// ```
/// let mut path = "/rooms/".to_owned();
/// livestar::__private::push_segment(&mut path, "a b/'c'");
/// assert_eq!(path, "/rooms/a%20b%2F%27c%27");
/// ```
pub fn push_segment(path: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            path.push(char::from(byte));
        } else {
            path.push('%');
            path.push(char::from(HEX[usize::from(byte >> 4)]));
            path.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_percent_encoded() {
        let mut path = "/rooms/".to_owned();
        push_segment(&mut path, "a b/'c'");
        assert_eq!(path, "/rooms/a%20b%2F%27c%27");
    }

    #[test]
    fn quotes_in_a_path_cannot_leave_the_string() {
        assert!(Action::get("/a'b").to_string().starts_with("@get('/a\\'b'"));
    }
}
