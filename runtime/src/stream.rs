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
//!   fills. `tower-http`'s `CompressionLayer` compresses `text/event-stream` but flushes only
//!   when its encoder's buffer fills, so exclude event streams from it (its
//!   `DefaultPredicate` does) unless you compress with a per-event flush.

use std::any::Any;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{HeaderValue, header};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::event::Event;
use crate::live::ShutdownWatch;

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
        }
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
    pub fn into_frames(self) -> impl Stream<Item = Bytes> + Send + 'static {
        Frames::new(self)
    }
}

impl IntoResponse for LiveStream {
    fn into_response(self) -> Response {
        if let Some(busy) = refusal() {
            return busy;
        }
        let frames = Frames::new(self).map(Ok::<_, Infallible>);
        let mut response = Response::new(Body::from_stream(frames));
        set_stream_headers(response.headers_mut());
        response
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

/// How a stream keeps an idle connection open.
///
/// A heartbeat is an SSE comment sent after `initial_delay` of silence, then after every
/// `interval` of silence: a stream that sends events often sends no heartbeats.
///
/// ```
/// use std::time::Duration;
/// use livestar::stream::Heartbeat;
///
/// let default = Heartbeat::default(); // every 15 s, first after 15 s, comment "heartbeat"
/// let fast = Heartbeat::every(Duration::from_millis(500)).comment("todos");
/// let none = Heartbeat::off();
/// assert_eq!(default.interval(), Some(Duration::from_secs(15)));
/// assert_eq!(fast.interval(), Some(Duration::from_millis(500)));
/// assert_eq!(none.interval(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    settings: Option<HeartbeatSettings>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct HeartbeatSettings {
    interval: Duration,
    initial_delay: Duration,
    comment: String,
}

impl Heartbeat {
    /// A heartbeat every `interval` of silence, the first one after `interval` too.
    ///
    /// A zero interval would flood the connection; it is raised to one millisecond.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures::StreamExt;
    /// use livestar::stream::Heartbeat;
    ///
    /// // Paused time skips ahead to the heartbeat instead of waiting 5 s.
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap().block_on(async {
    /// let start = tokio::time::Instant::now();
    /// let mut frames = livestar::stream(futures::stream::pending::<livestar::event::Event>())
    ///     .heartbeat(Heartbeat::every(Duration::from_secs(5)))
    ///     .into_frames();
    /// assert_eq!(frames.next().await.unwrap(), ": heartbeat\n\n");
    /// assert_eq!(start.elapsed(), Duration::from_secs(5));
    /// # });
    /// assert_eq!(Heartbeat::every(Duration::ZERO).interval(), Some(Duration::from_millis(1)));
    /// ```
    pub fn every(interval: Duration) -> Self {
        let interval = interval.max(Duration::from_millis(1));
        Heartbeat {
            settings: Some(HeartbeatSettings {
                interval,
                initial_delay: interval,
                comment: "heartbeat".to_owned(),
            }),
        }
    }

    /// No heartbeats.
    ///
    /// ```
    /// use livestar::stream::Heartbeat;
    ///
    /// assert_eq!(Heartbeat::off().interval(), None);
    /// ```
    pub fn off() -> Self {
        Heartbeat { settings: None }
    }

    /// Waits `delay` of silence before the first heartbeat (by default, one interval).
    /// Has no effect on [`Heartbeat::off`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures::StreamExt;
    /// use livestar::stream::Heartbeat;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// // A zero delay shows the client at once that the stream is open.
    /// let heartbeat = Heartbeat::every(Duration::from_secs(30)).initial_delay(Duration::ZERO);
    /// let mut frames = livestar::stream(futures::stream::pending::<livestar::event::Event>())
    ///     .heartbeat(heartbeat)
    ///     .into_frames();
    /// assert_eq!(frames.next().await.unwrap(), ": heartbeat\n\n");
    /// # });
    /// assert_eq!(Heartbeat::off().initial_delay(Duration::ZERO), Heartbeat::off());
    /// ```
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        if let Some(settings) = &mut self.settings {
            settings.initial_delay = delay;
        }
        self
    }

    /// The comment text of each heartbeat (by default `heartbeat`).
    /// Has no effect on [`Heartbeat::off`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures::StreamExt;
    /// use livestar::stream::Heartbeat;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let heartbeat = Heartbeat::every(Duration::from_secs(30))
    ///     .initial_delay(Duration::ZERO)
    ///     .comment("todos");
    /// let mut frames = livestar::stream(futures::stream::pending::<livestar::event::Event>())
    ///     .heartbeat(heartbeat)
    ///     .into_frames();
    /// assert_eq!(frames.next().await.unwrap(), ": todos\n\n");
    /// # });
    /// ```
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        if let Some(settings) = &mut self.settings {
            settings.comment = text.into();
        }
        self
    }

    /// The interval between heartbeats, or `None` when they are off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use livestar::stream::Heartbeat;
    ///
    /// assert_eq!(Heartbeat::default().interval(), Some(Duration::from_secs(15)));
    /// assert_eq!(Heartbeat::off().interval(), None);
    /// ```
    pub fn interval(&self) -> Option<Duration> {
        self.settings.as_ref().map(|s| s.interval)
    }
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat::every(DEFAULT_HEARTBEAT)
    }
}

/// The number of live-stream response bodies alive in this process: opened and not yet
/// dropped. It returns to its earlier value once their clients have gone.
///
/// ```
/// let before = livestar::stream::open_streams();
/// let frames = livestar::stream(futures::stream::empty::<livestar::event::Event>()).into_frames();
/// assert_eq!(livestar::stream::open_streams(), before + 1);
/// drop(frames);
/// assert_eq!(livestar::stream::open_streams(), before);
/// ```
pub fn open_streams() -> usize {
    OPEN_STREAMS.load(Ordering::Relaxed)
}

static OPEN_STREAMS: AtomicUsize = AtomicUsize::new(0);
/// The cap on open streams; 0 for none.
static STREAM_LIMIT: AtomicUsize = AtomicUsize::new(0);

/// Caps the live streams this process keeps open (`None`, the default: no cap). Past the cap
/// a new live stream (a live view, a hub client, a [`stream`] response) is answered `503
/// Service Unavailable` with a `Retry-After` of 1 to 5 seconds, random per response so that
/// refused clients come back spread out; it never hangs. A live view is refused before its
/// load function runs. Streams open at once may pass the cap by a few.
///
/// ```
/// // At start-up, sized from what one instance was measured to hold:
/// fn configure() {
///     livestar::stream::limit_open_streams(Some(10_000));
/// }
/// # let _ = configure;
/// ```
pub fn limit_open_streams(limit: Option<usize>) {
    STREAM_LIMIT.store(limit.map_or(0, |limit| limit.max(1)), Ordering::Relaxed);
}

/// The cap set by [`limit_open_streams`].
///
/// ```
/// assert_eq!(livestar::stream::open_streams_limit(), None);
/// ```
pub fn open_streams_limit() -> Option<usize> {
    match STREAM_LIMIT.load(Ordering::Relaxed) {
        0 => None,
        limit => Some(limit),
    }
}

/// The `503` response when the process has as many open streams as it may.
pub(crate) fn refusal() -> Option<Response> {
    let limit = open_streams_limit()?;
    if open_streams() < limit {
        return None;
    }
    let seconds = fastrand::u64(1..=5);
    let mut response = (
        http::StatusCode::SERVICE_UNAVAILABLE,
        "this server has as many live connections as it takes; retry shortly",
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    Some(response)
}

/// The response body: the retry hint, then events interleaved with heartbeats.
struct Frames {
    events: Pin<Box<dyn Stream<Item = Event> + Send>>,
    first: Option<Event>,
    heartbeat: Option<Ticker>,
    shutdown: ShutdownWatch,
    done: bool,
    // Dropped with the body: the user's resources and the cancellation of their tasks.
    _owned: Vec<Box<dyn Any + Send>>,
    _cancel_on_drop: Option<CancelOnDrop>,
}

/// The heartbeat timer. The `Sleep` is made on the first poll, so building a response needs no
/// runtime. A frame sent only moves `due`: the timer, once it fires, is set again for the new
/// due time, so a stream that sends often touches the timer once per interval, not per frame.
struct Ticker {
    /// When the next heartbeat is due: one interval of silence after the last frame.
    due: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    /// The waker the timer holds: while the task's waker is the same and the timer has not
    /// fired, a poll need not touch the timer.
    registered: Option<Waker>,
    interval: Duration,
    comment: Event,
}

impl Ticker {
    /// A frame was sent: the next heartbeat is due one interval from now.
    fn postpone(&mut self) {
        self.due = Instant::now() + self.interval;
    }

    /// Whether a heartbeat is due; registers for the due time when not.
    fn poll_due(&mut self, cx: &mut Context<'_>) -> bool {
        let due = self.due;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
        if !sleep.is_elapsed()
            && self
                .registered
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            return false;
        }
        loop {
            if sleep.as_mut().poll(cx).is_pending() {
                self.registered = Some(cx.waker().clone());
                return false;
            }
            if sleep.deadline() >= self.due {
                self.due = Instant::now() + self.interval;
                sleep.as_mut().reset(self.due);
                // Registered again on the next poll.
                self.registered = None;
                return true;
            }
            // Frames were sent since the timer was set: wait for the silence after them.
            sleep.as_mut().reset(self.due);
        }
    }
}

impl Frames {
    fn new(live: LiveStream) -> Self {
        OPEN_STREAMS.fetch_add(1, Ordering::Relaxed);
        let heartbeat = live.heartbeat.settings.map(|settings| Ticker {
            due: Instant::now() + settings.initial_delay,
            sleep: None,
            registered: None,
            interval: settings.interval,
            comment: Event::comment(&settings.comment),
        });
        Frames {
            events: live.events,
            first: live.retry.map(Event::retry),
            heartbeat,
            shutdown: ShutdownWatch::new(),
            done: false,
            _owned: live.owned,
            _cancel_on_drop: live.cancellation,
        }
    }
}

impl Frames {
    /// Ends the body and releases what the stream owned now, not when hyper drops the body.
    fn end(&mut self) -> Poll<Option<Bytes>> {
        self.done = true;
        self._owned.clear();
        self._cancel_on_drop = None;
        Poll::Ready(None)
    }
}

impl Drop for Frames {
    fn drop(&mut self) {
        OPEN_STREAMS.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Stream for Frames {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(first.into_bytes()));
        }
        match self.events.as_mut().poll_next(cx) {
            Poll::Ready(Some(event)) => {
                if let Some(ticker) = &mut self.heartbeat {
                    ticker.postpone();
                }
                return Poll::Ready(Some(event.into_bytes()));
            }
            Poll::Ready(None) => return self.end(),
            Poll::Pending => {}
        }
        // Checked after the events, so a stream opened during shutdown still sends what it
        // has ready (a live view's current state) before it ends.
        if self.shutdown.poll_end(cx).is_ready() {
            return self.end();
        }
        if let Some(ticker) = &mut self.heartbeat
            && ticker.poll_due(cx)
        {
            return Poll::Ready(Some(ticker.comment.as_bytes().clone()));
        }
        Poll::Pending
    }
}
