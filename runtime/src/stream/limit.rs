//! The streams open in this process, and the cap past which new ones are refused.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

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
/// One open stream, counted in [`open_streams`] while it lives.
pub(super) struct OpenStream(());

impl OpenStream {
    pub(super) fn new() -> Self {
        OPEN_STREAMS.fetch_add(1, Ordering::Relaxed);
        OpenStream(())
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        OPEN_STREAMS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The cap on open streams; 0 for none.
static STREAM_LIMIT: AtomicUsize = AtomicUsize::new(0);

/// Caps the live streams this process keeps open (`None`, the default: no cap). Past the cap
/// a new live stream (a live view, a hub client, a [`stream`](crate::stream()) response) is answered `503
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
