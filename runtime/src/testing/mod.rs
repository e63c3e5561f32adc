//! A browserless client for live views and event streams, in the spirit of Phoenix's
//! `LiveViewTest`: connect to an endpoint, await its next event parsed into its Datastar
//! fields, assert on the HTML, send signals, drop the connection to disconnect.
//!
//! It drives a [`Router`] in process (no port, works under tokio's paused time) or a server
//! at a real address over HTTP/1.1.
//!
//! Like `LiveViewTest`, it fails the test (panics) when it reads a patch that Datastar would
//! not apply as meant: an element `id` used twice in one patch, or, in a mode that finds its
//! target by `id` (`outer`, the default, `inner` or `replace`) with no selector, a top-level
//! element without an `id`. A live view built in debug mode logs the same problems, once per
//! route.
//!
//! ```should_panic
//! use axum::{Router, routing::get};
//! use livestar::event::Event;
//! use livestar::render::Html;
//! use livestar::testing::TestClient;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let router = Router::new().route("/clock", get(|| async {
//!     // No id and no selector: Datastar cannot tell which element this replaces.
//!     livestar::stream(futures::stream::iter([
//!         Event::patch_elements(Html::from_trusted("<p>12:00</p>".into())),
//!     ]))
//! }));
//! let mut live = TestClient::new(router).get("/clock").send().await?;
//! live.next_patch().await; // panics: "the top-level `<p>` has no id ..."
//! # Ok::<(), livestar::testing::TestError>(())
//! # }).unwrap();
//! ```
//!
//! ```
//! use axum::{Router, routing::get};
//! use livestar::event::Event;
//! use livestar::render::Html;
//! use livestar::testing::TestClient;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let router = Router::new().route("/clock", get(|| async {
//!     livestar::stream(futures::stream::iter([
//!         Event::patch_elements(Html::from_trusted("<p id=\"t\">12:00</p>".into())),
//!     ]))
//! }));
//! let client = TestClient::new(router);
//! let mut live = client.get("/clock").send().await?;
//! assert_eq!(live.status(), 200);
//! let patch = live.next_patch().await.expect("a patch");
//! assert_eq!(patch.elements().as_deref(), Some("<p id=\"t\">12:00</p>"));
//! drop(live); // disconnects: the server drops the stream
//! # Ok::<(), livestar::testing::TestError>(())
//! # }).unwrap();
//! ```

mod sse;
mod tcp;

use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{HeaderMap, Request, StatusCode};
use tower::ServiceExt;

use crate::event::{Mode, morph_check};

pub use sse::SseEvent;

/// Connects to live views and event streams without a browser; see the [module](self).
///
/// ```
/// use axum::{Router, routing::get};
/// use livestar::testing::TestClient;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let client = TestClient::new(Router::new().route("/ping", get(|| async { "pong" })));
/// let response = client.get("/ping").send().await?;
/// assert_eq!(response.text().await, "pong");
/// # Ok::<(), livestar::testing::TestError>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct TestClient {
    target: Target,
}

#[derive(Clone, Debug)]
enum Target {
    Router(Router),
    Address(SocketAddr),
}

impl TestClient {
    /// A client calling `router` in process.
    ///
    /// ```
    /// let client = livestar::testing::TestClient::new(axum::Router::new());
    /// # drop(client);
    /// ```
    pub fn new(router: Router) -> Self {
        TestClient {
            target: Target::Router(router),
        }
    }

    /// A client of the HTTP/1.1 server listening at `address`.
    ///
    /// ```
    /// let client = livestar::testing::TestClient::at(([127, 0, 0, 1], 3000).into());
    /// # drop(client);
    /// ```
    pub fn at(address: SocketAddr) -> Self {
        TestClient {
            target: Target::Address(address),
        }
    }

    /// Starts a `GET` request of `path_and_query`, as Datastar's `@get` sends it.
    ///
    /// ```
    /// let client = livestar::testing::TestClient::new(axum::Router::new());
    /// let request = client.get("/todos/live").last_event_id("0123");
    /// # drop(request);
    /// ```
    pub fn get(&self, path_and_query: &str) -> TestRequest {
        TestRequest {
            target: self.target.clone(),
            path: path_and_query.to_owned(),
            headers: vec![
                ("accept".to_owned(), "text/event-stream".to_owned()),
                ("datastar-request".to_owned(), "true".to_owned()),
            ],
        }
    }
}

/// A request being built; [`TestRequest::send`] sends it.
///
/// ```
/// use axum::{Router, http::HeaderMap, routing::get};
/// use livestar::testing::TestClient;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let accept = |headers: HeaderMap| async move { headers["accept"].to_str().unwrap().to_owned() };
/// let client = TestClient::new(Router::new().route("/h", get(accept)));
/// // It asks for an event stream, as Datastar's `@get` does.
/// assert_eq!(client.get("/h").send().await?.text().await, "text/event-stream");
/// # Ok::<(), livestar::testing::TestError>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct TestRequest {
    target: Target,
    path: String,
    headers: Vec<(String, String)>,
}

impl TestRequest {
    /// Adds a header.
    ///
    /// ```
    /// use axum::{Router, http::HeaderMap, routing::get};
    /// use livestar::testing::TestClient;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let me = |headers: HeaderMap| async move { headers["authorization"].to_str().unwrap().to_owned() };
    /// let client = TestClient::new(Router::new().route("/me", get(me)));
    /// let response = client.get("/me").header("authorization", "Bearer abc").send().await?;
    /// assert_eq!(response.text().await, "Bearer abc");
    /// # Ok::<(), livestar::testing::TestError>(())
    /// # }).unwrap();
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends `Last-Event-ID`, as a reconnecting client does with the id of the last event it got.
    ///
    /// ```
    /// # let client = livestar::testing::TestClient::new(axum::Router::new());
    /// let request = client.get("/todos/live").last_event_id("9f0c2a77d1e3b4a5");
    /// # drop(request);
    /// ```
    pub fn last_event_id(self, id: &str) -> Self {
        self.header("last-event-id", id)
    }

    /// Sends signals the way Datastar does on a `GET`: as JSON in the `datastar` query
    /// parameter (read them with [`ReadSignals`](crate::signals::ReadSignals)).
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use livestar::signals::ReadSignals;
    /// use livestar::testing::TestClient;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let search = |ReadSignals(s): ReadSignals<serde_json::Value>| async move { s["query"].to_string() };
    /// let client = TestClient::new(Router::new().route("/search", get(search)));
    /// let response = client.get("/search").signals(&serde_json::json!({"query": "milk"})).send().await?;
    /// assert_eq!(response.text().await, r#""milk""#);
    /// # Ok::<(), livestar::testing::TestError>(())
    /// # }).unwrap();
    /// ```
    pub fn signals(mut self, signals: &impl serde::Serialize) -> Self {
        let json = serde_json::to_string(signals).unwrap_or_else(|_| "{}".to_owned());
        let query = serde_urlencoded::to_string([(crate::signals::QUERY_PARAMETER, json)])
            .unwrap_or_default();
        self.path
            .push(if self.path.contains('?') { '&' } else { '?' });
        self.path.push_str(&query);
        self
    }

    /// Sends the request and waits for the response head; the body is read event by event.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let client = livestar::testing::TestClient::new(axum::Router::new());
    /// let response = client.get("/nowhere").send().await?;
    /// assert_eq!(response.status(), 404);
    /// # Ok::<(), livestar::testing::TestError>(())
    /// # }).unwrap();
    /// ```
    pub async fn send(self) -> Result<TestResponse, TestError> {
        match self.target {
            Target::Router(router) => {
                let mut request = Request::get(&self.path);
                for (name, value) in &self.headers {
                    request = request.header(name, value);
                }
                let request = request
                    .body(Body::empty())
                    .map_err(|error| TestError(format!("invalid request: {error}")))?;
                let response = match router.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                let (parts, body) = response.into_parts();
                let body = body
                    .into_data_stream()
                    .map(|chunk| chunk.map_err(|error| TestError(error.to_string())));
                Ok(TestResponse::new(
                    parts.status,
                    parts.headers,
                    Box::pin(body),
                ))
            }
            Target::Address(address) => {
                let (status, headers, body) = tcp::get(address, &self.path, &self.headers).await?;
                Ok(TestResponse::new(status, headers, body))
            }
        }
    }
}

type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, TestError>> + Send>>;

/// A response being read; dropping it disconnects.
///
/// ```
/// use axum::{Router, extract::State, routing::get};
/// use livestar::hub::Hub;
/// use livestar::testing::TestClient;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let hub = Hub::new();
/// let router = Router::new()
///     .route("/live", get(|State(hub): State<Hub>| async move { hub.join_room("lobby") }))
///     .with_state(hub.clone());
/// let response = TestClient::new(router).get("/live").send().await?;
/// assert_eq!(response.header("content-type"), Some("text/event-stream"));
/// assert_eq!(hub.room("lobby").presence(), 1);
/// drop(response);
/// assert_eq!(hub.room("lobby").presence(), 0);
/// # Ok::<(), livestar::testing::TestError>(())
/// # }).unwrap();
/// ```
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: BodyStream,
    buffer: Vec<u8>,
}

impl fmt::Debug for TestResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl TestResponse {
    fn new(status: StatusCode, headers: HeaderMap, body: BodyStream) -> Self {
        TestResponse {
            status,
            headers,
            body,
            buffer: Vec::new(),
        }
    }

    /// The response status.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let client = livestar::testing::TestClient::new(axum::Router::new());
    /// let response = client.get("/missing").send().await?;
    /// assert_eq!(response.status(), http::StatusCode::NOT_FOUND);
    /// # Ok::<(), livestar::testing::TestError>(())
    /// # }).unwrap();
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// A response header, if present and text.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let client = livestar::testing::TestClient::new(axum::Router::new());
    /// let response = client.get("/missing").send().await?;
    /// assert_eq!(response.header("content-type"), None);
    /// # Ok::<(), livestar::testing::TestError>(())
    /// # }).unwrap();
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The next event of the stream (a patch, a comment, a bare `retry:`...), or `None` once
    /// the stream has ended. Wrap it in `tokio::time::timeout` to bound the wait.
    ///
    /// # Panics
    ///
    /// On a patch that would not morph safely (see the [module](self)), to fail the test.
    ///
    /// ```
    /// # use livestar::event::Event;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let router = axum::Router::new().route("/c", axum::routing::get(|| async {
    /// #     livestar::stream(futures::stream::iter([Event::comment("hi")]))
    /// # }));
    /// # let client = livestar::testing::TestClient::new(router);
    /// let mut live = client.get("/c").send().await?;
    /// let event = live.next_event().await.expect("an event");
    /// assert_eq!(event.comments, ["hi"]);
    /// assert!(live.next_event().await.is_none());
    /// # Ok::<(), livestar::testing::TestError>(())
    /// # }).unwrap();
    /// ```
    pub async fn next_event(&mut self) -> Option<SseEvent> {
        // Bounded by the body: every turn either parses an event or reads a chunk.
        loop {
            if let Some(end) = sse::block_end(&self.buffer) {
                // Valid UTF-8 (always, from livestar) is checked word by word; only a broken
                // stream pays for the replacement characters.
                let block = &self.buffer[..end];
                let event = match std::str::from_utf8(block) {
                    Ok(text) => SseEvent::parse(text),
                    Err(_) => SseEvent::parse(&String::from_utf8_lossy(block)),
                };
                self.buffer.drain(..end);
                if let Some(event) = event {
                    check_morph(&event);
                    return Some(event);
                }
                continue;
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next Datastar event (`event:` set), skipping comments and bare `retry:` hints.
    /// Panics on a patch that would not morph safely, as [`next_event`](Self::next_event).
    ///
    /// ```
    /// # use livestar::event::Event;
    /// # use livestar::render::Html;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let router = axum::Router::new().route("/c", axum::routing::get(|| async {
    /// #     livestar::stream(futures::stream::iter([
    /// #         Event::comment("hi"),
    /// #         Event::patch_elements(Html::from_trusted("<b id=\"b\">1</b>".into())).into(),
    /// #     ]))
    /// # }));
    /// # let client = livestar::testing::TestClient::new(router);
    /// let mut live = client.get("/c").send().await?;
    /// let patch = live.next_patch().await.expect("a patch");
    /// assert_eq!(patch.event.as_deref(), Some("datastar-patch-elements"));
    /// # Ok::<(), livestar::testing::TestError>(())
    /// # }).unwrap();
    /// ```
    pub async fn next_patch(&mut self) -> Option<SseEvent> {
        loop {
            let event = self.next_event().await?;
            if event.event.is_some() {
                return Some(event);
            }
        }
    }

    /// The rest of the body as text (for responses that are not streams, such as errors).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let router = axum::Router::new().route("/e", axum::routing::get(|| async { "no" }));
    /// # let client = livestar::testing::TestClient::new(router);
    /// let response = client.get("/e").send().await?;
    /// assert_eq!(response.text().await, "no");
    /// # Ok::<(), livestar::testing::TestError>(())
    /// # }).unwrap();
    /// ```
    pub async fn text(mut self) -> String {
        let mut bytes = std::mem::take(&mut self.buffer);
        while let Some(Ok(chunk)) = self.body.next().await {
            bytes.extend_from_slice(&chunk);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Fails the test (panics) when `event` patches elements that Datastar would not apply as
/// meant: an `id` used twice, or a top-level element without an `id` in a mode that finds
/// its target by `id` (`outer`, `inner`, `replace`) when no selector is given.
fn check_morph(event: &SseEvent) {
    if event.event.as_deref() != Some(crate::event::PATCH_ELEMENTS) {
        return;
    }
    let Some(html) = event.elements() else {
        return;
    };
    let mode = event
        .mode()
        .and_then(|mode| mode.parse::<Mode>().ok())
        .unwrap_or_default();
    let problems = morph_check::problems(&html, mode, event.selector().is_some());
    if !problems.is_empty() {
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        panic!(
            "livestar::testing: this patch would not morph safely:\n  - {}\nelements: {html}",
            problems.join("\n  - ")
        );
    }
}

/// A request that could not be sent or a response that could not be read.
///
/// ```
/// use livestar::testing::TestError;
///
/// let error = TestError("connection refused".to_owned());
/// assert_eq!(error.to_string(), "connection refused");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestError(pub String);

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TestError {}
