//! Streaming responses: any `Stream` of events as a Server-Sent Events response, with
//! heartbeats, a retry hint and resources tied to the connection's life.
//!
//! ```
//! use std::time::Duration;
//! use futures::stream;
//! use livestar::event::Event;
//! use livestar::render::Html;
//! use livestar::stream::{Heartbeat, LiveStream};
//!
//! async fn clock() -> LiveStream {
//!     let ticks = stream::iter(1..=3).map(|n| {
//!         Event::patch_elements(Html::from_trusted(format!("<p id=\"n\">{n}</p>")))
//!     });
//!     livestar::stream(ticks).heartbeat(Heartbeat::every(Duration::from_secs(10)).comment("clock"))
//! }
//! # use futures::StreamExt;
//! ```
//!
//! # Flushing, disconnects and shutdown
//! Every event is handed to hyper as its own chunk as soon as the stream yields it; nothing in
//! livestar buffers. When the client goes away hyper drops the response body, and with it the
//! event stream, its heartbeat timer and everything it owns (see [`LiveStream::owning`] and
//! [`LiveStream::cancellation`]).
//!
//! Every stream (hand-written, live views, hub clients) ends cleanly after
//! [`livestar::live::shutdown`](crate::live::shutdown), so axum's graceful shutdown does not
//! wait forever for responses that never end; see [`crate::live::graceful`].
//!
//! # Deployment
//! - **Reverse proxies** buffer responses by default. livestar sends `X-Accel-Buffering: no`,
//!   which nginx honours; elsewhere turn buffering off for `text/event-stream`
//!   (`proxy_buffering off;` in nginx, `flush_interval -1` in Caddy) and set the proxy's idle
//!   timeout (nginx `proxy_read_timeout`) longer than the heartbeat interval.
//! - **HTTP/1.1** browsers open at most six connections per host, and each live view holds one
//!   while it is open, so a seventh tab waits. Serve over HTTP/2 (TLS, or a proxy that speaks
//!   HTTP/2 to browsers) where users keep many tabs. `Connection: keep-alive` is sent for
//!   HTTP/1.1 peers; hyper removes it on HTTP/2, where it is not allowed.
//! - **Compression** must flush after every event or the client sees nothing until a buffer
//!   fills. [`LiveStream::compress`] (and every live view) compresses each event and flushes
//!   it (see [`crate::compress`]). `tower-http`'s `CompressionLayer` flushes only when its
//!   encoder's buffer fills, so keep event streams out of it (its `DefaultPredicate` does).

mod frames;
pub(crate) mod group;
mod heartbeat;
mod limit;

use std::any::Any;
use std::convert::Infallible;
use std::pin::Pin;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{HeaderValue, header};

use tokio_util::sync::{CancellationToken, DropGuard};

use crate::compress::{AcceptEncoding, Compression, Compressor, Encoding, Settings};
use crate::event::Event;
use frames::Frames;
pub use heartbeat::Heartbeat;
pub(crate) use limit::refusal;
pub use limit::{limit_open_streams, open_streams, open_streams_limit};

/// The heartbeat interval used unless a stream sets its own.
///
/// ```
/// use livestar::stream::{DEFAULT_HEARTBEAT, Heartbeat};
///
/// assert_eq!(Heartbeat::default().interval(), Some(DEFAULT_HEARTBEAT));
/// ```
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);

/// Turns any stream of events into a live Server-Sent Events response.
///
/// The items may be [`Event`]s or event builders (`PatchElements`, `PatchSignals`, ...).
/// Heartbeat comments are sent every 15 s of silence by default.
///
/// ```
/// use livestar::event::Event;
/// use livestar::render::Html;
///
/// async fn handler() -> livestar::stream::LiveStream {
///     livestar::stream(async_stream::stream! {
///         yield Event::patch_elements(Html::from_trusted("<p id=\"s\">ready</p>".into()));
///     })
/// }
/// ```
pub fn stream<S, E>(events: S) -> LiveStream
where
    S: Stream<Item = E> + Send + 'static,
    E: Into<Event> + 'static,
{
    LiveStream::new(events)
}

/// A Server-Sent Events response streaming Datastar events; see [`stream`].
///
/// ```
/// use axum::response::IntoResponse;
/// use livestar::event::Event;
///
/// let response = livestar::stream(futures::stream::iter([Event::comment("hi")])).into_response();
/// assert_eq!(response.headers()["content-type"], "text/event-stream");
/// // nginx would otherwise hold events back in its buffer.
/// assert_eq!(response.headers()["x-accel-buffering"], "no");
/// ```
#[must_use = "a LiveStream does nothing until it is returned as a response"]
pub struct LiveStream {
    events: Pin<Box<dyn Stream<Item = Event> + Send>>,
    heartbeat: Heartbeat,
    retry: Option<Duration>,
    owned: Vec<Box<dyn Any + Send>>,
    cancellation: Option<CancelOnDrop>,
    /// The encoding negotiated with the client, if any was.
    negotiated: Option<(Encoding, Settings)>,
}

/// A token and the guard that cancels it when dropped.
struct CancelOnDrop {
    token: CancellationToken,
    _guard: DropGuard,
}

impl CancelOnDrop {
    fn new() -> Self {
        let token = CancellationToken::new();
        CancelOnDrop {
            _guard: token.clone().drop_guard(),
            token,
        }
    }
}

impl LiveStream {
    /// Streams `events`; see [`stream`].
    ///
    /// ```
    /// use futures::StreamExt;
    /// use livestar::event::Event;
    /// use livestar::stream::LiveStream;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let live = LiveStream::new(futures::stream::iter([Event::comment("a"), Event::comment("b")]));
    /// let frames: Vec<_> = live.into_frames().collect().await;
    /// assert_eq!(frames, [": a\n\n", ": b\n\n"]);
    /// # });
    /// ```
    pub fn new<S, E>(events: S) -> Self
    where
        S: Stream<Item = E> + Send + 'static,
        E: Into<Event> + 'static,
    {
        LiveStream {
            events: Box::pin(events.map(Into::into)),
            heartbeat: Heartbeat::default(),
            retry: None,
            owned: Vec::new(),
            cancellation: None,
            negotiated: None,
        }
    }

    /// Compresses the stream with the encoding negotiated from the client's `Accept-Encoding`
    /// and the process's [`compress::default`](crate::compress::default): each event and
    /// heartbeat is compressed and flushed on its own, so the client decodes it at once.
    /// Sends `Vary: Accept-Encoding`, and `Content-Encoding` unless the stream goes out
    /// uncompressed (the client accepts nothing offered, or the compressors' memory cap is
    /// reached: see [`crate::compress`]).
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use livestar::compress::AcceptEncoding;
    /// use livestar::event::Event;
    ///
    /// let live = livestar::stream(futures::stream::iter([Event::comment("hi")]))
    ///     .compress(&AcceptEncoding::parse("gzip, br;q=0.5"));
    /// let response = live.into_response();
    /// assert_eq!(response.headers()["content-encoding"], "gzip");
    /// assert_eq!(response.headers()["vary"], "accept-encoding");
    /// ```
    pub fn compress(self, accept: &AcceptEncoding) -> Self {
        self.compress_with(accept, &crate::compress::default())
    }

    /// [`LiveStream::compress`] with `compression` instead of the process's default, for a
    /// route of its own settings (or none: [`Compression::off`] still sends `Vary`).
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use livestar::compress::{AcceptEncoding, Compression, Encoding};
    /// use livestar::event::Event;
    ///
    /// let zstd = Compression::default().prefer([Encoding::Zstd]);
    /// let live = livestar::stream(futures::stream::iter([Event::comment("hi")]))
    ///     .compress_with(&AcceptEncoding::parse("zstd, br"), &zstd);
    /// assert_eq!(live.into_response().headers()["content-encoding"], "zstd");
    /// ```
    pub fn compress_with(self, accept: &AcceptEncoding, compression: &Compression) -> Self {
        self.encoded(accept.negotiate(compression), compression)
    }

    /// Compresses the stream with `encoding`, negotiated already, at `compression`'s settings.
    pub(crate) fn encoded(mut self, encoding: Encoding, compression: &Compression) -> Self {
        self.negotiated = Some((encoding, compression.settings()));
        self
    }

    /// Sets the heartbeat: comments that keep an idle connection open through proxies.
    ///
    /// ```
    /// use std::time::Duration;
    /// use livestar::stream::Heartbeat;
    ///
    /// let live = livestar::stream(futures::stream::empty::<livestar::event::Event>())
    ///     .heartbeat(Heartbeat::every(Duration::from_secs(5)).initial_delay(Duration::ZERO));
    /// # drop(live);
    /// ```
    pub fn heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Sends `retry: <delay>` before the first event, so a client that loses this stream waits
    /// `delay` before reconnecting.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures::StreamExt;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let live = livestar::stream(futures::stream::empty::<livestar::event::Event>())
    ///     .retry(Duration::from_secs(2));
    /// let frames: Vec<_> = live.into_frames().collect().await;
    /// assert_eq!(frames, ["retry: 2000\n\n"]);
    /// # });
    /// ```
    pub fn retry(mut self, delay: Duration) -> Self {
        self.retry = Some(delay);
        self
    }

    /// Keeps `value` alive exactly as long as the stream: it is dropped when the client
    /// disconnects or the stream ends. Use it for subscriptions and guards the stream does not
    /// own already.
    ///
    /// ```
    /// let (tx, rx) = tokio::sync::broadcast::channel::<()>(1);
    /// let live = livestar::stream(futures::stream::empty::<livestar::event::Event>()).owning(rx);
    /// drop(live);
    /// assert_eq!(tx.receiver_count(), 0);
    /// ```
    pub fn owning(mut self, value: impl Send + 'static) -> Self {
        self.owned.push(Box::new(value));
        self
    }

    /// A token that is cancelled when the stream ends or the client disconnects (or when this
    /// `LiveStream` is dropped without being sent), for tasks that work on the stream's behalf.
    ///
    /// ```
    /// let mut live = livestar::stream(futures::stream::empty::<livestar::event::Event>());
    /// let token = live.cancellation();
    /// drop(live);
    /// assert!(token.is_cancelled());
    /// ```
    pub fn cancellation(&mut self) -> CancellationToken {
        self.cancellation
            .get_or_insert_with(CancelOnDrop::new)
            .token
            .clone()
    }

    /// The encoded frames of the response body, as a stream of bytes.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use livestar::event::Event;
    ///
    /// # tokio_test_block(async {
    /// let live = livestar::stream(futures::stream::iter([Event::comment("a")]));
    /// let frames: Vec<_> = live.into_frames().collect().await;
    /// assert_eq!(frames, [bytes::Bytes::from(": a\n\n")]);
    /// # });
    /// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
    /// #     tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
    /// # }
    /// ```
    ///
    /// The frames are those before compression: [`LiveStream::compress`] applies to the
    /// response only.
    pub fn into_frames(self) -> impl Stream<Item = Bytes> + Send + 'static {
        Frames::new(self, None, Encoding::Identity)
    }
}

impl IntoResponse for LiveStream {
    fn into_response(mut self) -> Response {
        if let Some(busy) = refusal() {
            return busy;
        }
        let negotiated = self.negotiated.take();
        let compressor = negotiated.and_then(|(encoding, settings)| {
            Some((encoding, Compressor::start(encoding, &settings)?))
        });
        let encoding = compressor.as_ref().map(|(encoding, _)| *encoding);
        let frames = Frames::new(
            self,
            compressor.map(|(_, compressor)| compressor),
            encoding.unwrap_or(Encoding::Identity),
        );
        let mut response = Response::new(Body::from_stream(frames.map(Ok::<_, Infallible>)));
        let headers = response.headers_mut();
        set_stream_headers(headers);
        if negotiated.is_some() {
            set_encoding_headers(headers, encoding.unwrap_or(Encoding::Identity));
        }
        response
    }
}

/// The headers of a stream whose encoding was negotiated: `Vary: Accept-Encoding`, and the
/// `Content-Encoding` it is `sent` with unless that is identity.
pub(crate) fn set_encoding_headers(headers: &mut http::HeaderMap, sent: Encoding) {
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if sent != Encoding::Identity {
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(sent.as_str()),
        );
    }
}

/// The headers of every event-stream response.
pub(crate) fn set_stream_headers(headers: &mut http::HeaderMap) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
}
