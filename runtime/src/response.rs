//! One-shot responses for actions: a complete SSE response of one or more events, or one of the
//! client's non-SSE forms (an HTML fragment, JSON signals, a script).
//!
//! Every event builder and [`Event`] is itself a response, so an action can answer with one
//! patch; [`Events`] answers with several.
//!
//! ```
//! use axum::{Router, routing::post};
//! use livestar::event::Event;
//! use livestar::response::Events;
//! use livestar::render::Html;
//!
//! async fn send() -> Events {
//!     Events::new()
//!         .with(Event::patch_elements(Html::from_trusted("<p id=\"sent\">sent</p>".into())))
//!         .with(Event::patch_signals(serde_json::json!({ "message": "" })))
//! }
//!
//! let app: Router = Router::new().route("/send", post(send));
//! ```

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::event::{Event, ExecuteScript, Mode, Namespace, PatchElements, PatchSignals};
use crate::render::Render;

/// Several events sent as one complete SSE response, in order.
///
/// ```
/// use livestar::event::Event;
/// use livestar::response::Events;
///
/// let events: Events = [Event::comment("one"), Event::comment("two")].into_iter().collect();
/// assert_eq!(events.len(), 2);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "events do nothing until they are returned as a response"]
pub struct Events {
    events: Vec<Event>,
}

impl Events {
    /// No events yet.
    ///
    /// ```
    /// let events = livestar::response::Events::new();
    /// assert!(events.is_empty());
    /// assert_eq!(events.to_bytes(), "");
    /// ```
    pub fn new() -> Self {
        Events::default()
    }

    /// Adds an event at the end.
    ///
    /// ```
    /// use livestar::event::Event;
    /// use livestar::response::Events;
    ///
    /// let events = Events::new().with(Event::remove_elements("#a")).with(Event::comment("x"));
    /// assert_eq!(events.len(), 2);
    /// ```
    pub fn with(mut self, event: impl Into<Event>) -> Self {
        self.events.push(event.into());
        self
    }

    /// Adds an event at the end.
    ///
    /// ```
    /// use livestar::event::Event;
    /// use livestar::response::Events;
    ///
    /// let mut events = Events::new();
    /// events.push(Event::comment("x"));
    /// assert!(!events.is_empty());
    /// ```
    pub fn push(&mut self, event: impl Into<Event>) {
        self.events.push(event.into());
    }

    /// How many events there are.
    ///
    /// ```
    /// assert_eq!(livestar::response::Events::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether there are no events.
    ///
    /// ```
    /// assert!(livestar::response::Events::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The response body: every event's bytes, concatenated.
    ///
    /// ```
    /// use livestar::event::Event;
    /// use livestar::response::Events;
    ///
    /// let events = Events::new().with(Event::comment("a")).with(Event::comment("b"));
    /// assert_eq!(events.to_bytes(), ": a\n\n: b\n\n");
    /// ```
    pub fn to_bytes(&self) -> Bytes {
        match self.events.as_slice() {
            [one] => one.as_bytes().clone(),
            events => {
                let size = events.iter().map(|e| e.as_bytes().len()).sum();
                let mut body = BytesMut::with_capacity(size);
                for event in events {
                    body.extend_from_slice(event.as_bytes());
                }
                body.freeze()
            }
        }
    }
}

impl<E: Into<Event>> FromIterator<E> for Events {
    fn from_iter<I: IntoIterator<Item = E>>(iter: I) -> Self {
        Events {
            events: iter.into_iter().map(Into::into).collect(),
        }
    }
}

impl<E: Into<Event>> Extend<E> for Events {
    fn extend<I: IntoIterator<Item = E>>(&mut self, iter: I) {
        self.events.extend(iter.into_iter().map(Into::into));
    }
}

impl<E: Into<Event>, const N: usize> From<[E; N]> for Events {
    fn from(events: [E; N]) -> Self {
        events.into_iter().collect()
    }
}

impl<E: Into<Event>> From<Vec<E>> for Events {
    fn from(events: Vec<E>) -> Self {
        events.into_iter().collect()
    }
}

impl IntoResponse for Events {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.to_bytes()));
        crate::stream::set_stream_headers(response.headers_mut());
        response
    }
}

impl IntoResponse for Event {
    fn into_response(self) -> Response {
        Events { events: vec![self] }.into_response()
    }
}

macro_rules! builder_responses {
    ($($builder:ty),*) => {$(
        impl IntoResponse for $builder {
            fn into_response(self) -> Response {
                Event::from(self).into_response()
            }
        }
    )*};
}
builder_responses!(PatchElements, PatchSignals, ExecuteScript);

/// An HTML fragment answered as `text/html`: the client patches it as a
/// `datastar-patch-elements` event, with the options carried in `datastar-*` headers.
///
/// Set the options on a [`PatchElements`] and convert it, so both forms of a patch are built
/// the same way:
///
/// ```
/// use livestar::event::{Event, Mode};
/// use livestar::prelude::*;
/// use livestar::response::Fragment;
///
/// async fn badge() -> Fragment {
///     Fragment::from(Event::patch_elements(html! { <span>"3"</span> }).selector("#badge").mode(Mode::Inner))
/// }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a fragment does nothing until it is returned as a response"]
pub struct Fragment {
    patch: PatchElements,
}

impl Fragment {
    /// Answers with `html`, rendered now, morphed into the page by `id`.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use livestar::prelude::*;
    /// use livestar::response::Fragment;
    ///
    /// let response = Fragment::new(html! { <p id="greeting">"hi"</p> }).into_response();
    /// assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    /// // The defaults (morph by `id`) need no `datastar-*` header.
    /// assert!(!response.headers().contains_key("datastar-mode"));
    /// ```
    pub fn new(html: impl Render) -> Self {
        Fragment {
            patch: PatchElements::new(html),
        }
    }
}

impl From<PatchElements> for Fragment {
    fn from(patch: PatchElements) -> Self {
        Fragment { patch }
    }
}

impl IntoResponse for Fragment {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        let patch = self.patch;
        if let Some(selector) = &patch.selector {
            insert_text(&mut headers, "datastar-selector", selector);
        }
        if patch.mode != Mode::Outer {
            insert_text(&mut headers, "datastar-mode", patch.mode.as_str());
        }
        if patch.namespace != Namespace::Html {
            insert_text(&mut headers, "datastar-namespace", patch.namespace.as_str());
        }
        if patch.use_view_transition {
            insert_text(&mut headers, "datastar-use-view-transition", "true");
        }
        (headers, patch.elements.unwrap_or_default()).into_response()
    }
}

/// Signals answered as `application/json`: the client merges them as a
/// `datastar-patch-signals` event.
///
/// ```
/// use livestar::response::SignalsJson;
///
/// async fn reset() -> SignalsJson {
///     SignalsJson::new(serde_json::json!({ "message": "" }))
/// }
/// ```
#[derive(Clone, Debug)]
#[must_use = "signals do nothing until they are returned as a response"]
pub struct SignalsJson {
    patch: PatchSignals,
}

impl SignalsJson {
    /// Answers with `signals` serialised as JSON (see [`Event::patch_signals`] for what a
    /// serialisation error does).
    ///
    /// ```
    /// use axum::response::IntoResponse;
    ///
    /// let response = livestar::response::SignalsJson::new(serde_json::json!({ "draft": "" })).into_response();
    /// assert_eq!(response.headers()["content-type"], "application/json");
    /// ```
    pub fn new(signals: impl serde::Serialize) -> Self {
        SignalsJson {
            patch: PatchSignals::new(signals),
        }
    }

    /// Only sets signals the client does not have (header `datastar-only-if-missing`).
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use livestar::response::SignalsJson;
    ///
    /// let defaults = SignalsJson::new(serde_json::json!({ "page": 1 })).only_if_missing(true);
    /// assert_eq!(defaults.into_response().headers()["datastar-only-if-missing"], "true");
    /// ```
    pub fn only_if_missing(mut self, on: bool) -> Self {
        self.patch = self.patch.only_if_missing(on);
        self
    }
}

impl IntoResponse for SignalsJson {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.patch.is_only_if_missing() {
            insert_text(&mut headers, "datastar-only-if-missing", "true");
        }
        (headers, self.patch.json().to_owned()).into_response()
    }
}

/// A script answered as `text/javascript`: the client runs it in a `<script>` it appends to
/// `<head>`, with the attributes from the `datastar-script-attributes` header.
///
/// ```
/// use livestar::response::Script;
///
/// async fn hello() -> Script {
///     Script::new("console.log('hello')").attribute("type", "module")
/// }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a script does nothing until it is returned as a response"]
pub struct Script {
    script: String,
    attributes: serde_json::Map<String, serde_json::Value>,
}

impl Script {
    /// Answers with `script` (sent verbatim).
    ///
    /// ```
    /// use axum::response::IntoResponse;
    ///
    /// let response = livestar::response::Script::new("document.title = 'done'").into_response();
    /// assert_eq!(response.headers()["content-type"], "text/javascript");
    /// ```
    pub fn new(script: impl Into<String>) -> Self {
        Script {
            script: script.into(),
            attributes: serde_json::Map::new(),
        }
    }

    /// Adds an attribute of the `<script>` element.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    ///
    /// let script = livestar::response::Script::new("go()").attribute("type", "module");
    /// let response = script.into_response();
    /// assert_eq!(response.headers()["datastar-script-attributes"], r#"{"type":"module"}"#);
    /// ```
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes
            .insert(name.into(), serde_json::Value::String(value.into()));
        self
    }
}

impl IntoResponse for Script {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript"),
        );
        if !self.attributes.is_empty() {
            let json = serde_json::Value::Object(self.attributes).to_string();
            insert_text(&mut headers, "datastar-script-attributes", &json);
        }
        (headers, self.script).into_response()
    }
}

/// Inserts a header from arbitrary text: line breaks fold to spaces and other control
/// characters are dropped, so a value can never split the header block.
fn insert_text(headers: &mut HeaderMap, name: &'static str, value: &str) {
    let cleaned: Vec<u8> = value
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect::<String>()
        .into_bytes();
    if let Ok(value) = HeaderValue::from_bytes(&cleaned) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_cannot_split_the_header_block() {
        let mut headers = HeaderMap::new();
        insert_text(&mut headers, "datastar-selector", "#a\r\nSet-Cookie: x=1");
        assert_eq!(headers["datastar-selector"], "#a  Set-Cookie: x=1");
        assert_eq!(headers.len(), 1);
    }
}
