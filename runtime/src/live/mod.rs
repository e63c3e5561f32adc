//! The runtime of [`#[live_view]`](crate::live_view): a live view is a current-state stream.
//!
//! On connect the load function runs and its view is sent; then every wake-up of the view's
//! invalidation sources loads and renders again, and a render that differs from the last one
//! sent is patched into the page. The rules, each tested in `tests/tests/live_view_*.rs`:
//!
//! 1. **The first event is the current state.** A reconnecting tab needs no missed events.
//! 2. **An `Err` from the first load is the HTTP response** (401, 404 stay real statuses) and no
//!    stream opens. The invalidation sources are subscribed just before that first load, after
//!    every extractor (and so every authorization check) has run, so a change made while the
//!    first load runs is not lost.
//! 3. **Bursts coalesce.** At most one load+render is in flight per connection, and every
//!    wake-up that arrives meanwhile is folded into one more (latest state wins).
//! 4. **Identical renders are not sent.** Each patch carries an `id` derived from its HTML; a
//!    reconnect whose `Last-Event-ID` equals the id of the current render gets no initial patch.
//! 5. **Failures keep the stream.** A later load `Err`, or a panic in load or view, is reported
//!    through `tracing`; the page keeps the last good view (or gets the `error_view`, if set)
//!    and the next wake-up tries again.
//! 6. **A disconnect drops everything at once**: the stream, its heartbeat timer and every
//!    subscription. [`open_views`] and [`open_subscriptions`] count what is alive.
//! 7. **Heartbeats** as in [`crate::stream`]: every 15 s of silence by default.
//! 8. **Reconnects and deploys.** [`Action`] (what `todos::get()` returns) asks the Datastar
//!    client to reconnect always, up to [`DEFAULT_RETRY_MAX_COUNT`] times; the first frame of
//!    every live view carries a jittered `retry:` so that a restart does not make every tab
//!    reconnect in the same millisecond; and [`shutdown`] ends every live view cleanly, so the
//!    clients reconnect to the next instance while axum drains (see [`graceful`]).

mod action;
#[doc(hidden)]
pub mod private;
mod runner;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio_util::sync::CancellationToken;

pub use action::{Action, DEFAULT_RETRY_MAX_COUNT};
pub use runner::Failure;

/// The number of live views streaming in this process: connected and not yet gone.
///
/// ```
/// assert_eq!(livestar::live::open_views(), 0);
/// ```
pub fn open_views() -> usize {
    OPEN_VIEWS.load(Ordering::Relaxed)
}

/// The number of invalidation subscriptions held by live views in this process. Each
/// `invalidate` expression of a connected live view counts one; they are dropped with the
/// connection.
///
/// ```
/// assert_eq!(livestar::live::open_subscriptions(), 0);
/// ```
pub fn open_subscriptions() -> usize {
    OPEN_SUBSCRIPTIONS.load(Ordering::Relaxed)
}

pub(crate) static OPEN_VIEWS: AtomicUsize = AtomicUsize::new(0);
pub(crate) static OPEN_SUBSCRIPTIONS: AtomicUsize = AtomicUsize::new(0);

/// Adds one to a gauge for as long as it lives.
pub(crate) struct Gauge(&'static AtomicUsize);

impl Gauge {
    pub(crate) fn new(counter: &'static AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Gauge(counter)
    }
}

impl Drop for Gauge {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn shutdown_token() -> &'static CancellationToken {
    static TOKEN: OnceLock<CancellationToken> = OnceLock::new();
    TOKEN.get_or_init(CancellationToken::new)
}

/// Ends every live view of this process cleanly, now and from now on.
///
/// A server that stops must not wait for live streams, which never end by themselves: axum's
/// graceful shutdown waits for every open response. After `shutdown()` each live stream ends
/// with its current event, and the Datastar client (asked by [`Action`] to reconnect always)
/// reconnects after its jittered `retry` delay, to the next instance behind the load
/// balancer. Live views opened later end right after their first event.
///
/// Usually called through [`graceful`].
///
/// ```
/// // In a test or a shutdown hook:
/// livestar::live::shutdown();
/// assert!(livestar::live::is_shutting_down());
/// ```
pub fn shutdown() {
    shutdown_token().cancel();
}

/// Whether [`shutdown`] was called.
///
/// ```
/// # // A fresh process has not shut down.
/// let _ = livestar::live::is_shutting_down();
/// ```
pub fn is_shutting_down() -> bool {
    shutdown_token().is_cancelled()
}

pub(crate) fn shutdown_signal() -> tokio_util::sync::WaitForCancellationFutureOwned {
    shutdown_token().clone().cancelled_owned()
}

/// Wraps a shutdown signal for axum's `with_graceful_shutdown`: when `signal` completes, every
/// live view ends (see [`shutdown`]) and axum can drain the remaining requests.
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
/// let ctrl_c = async { let _ = tokio::signal::ctrl_c().await; };
/// axum::serve(listener, app)
///     .with_graceful_shutdown(livestar::live::graceful(ctrl_c))
///     .await
/// # }
/// ```
pub fn graceful<F>(signal: F) -> impl Future<Output = ()> + Send + 'static
where
    F: Future<Output = ()> + Send + 'static,
{
    async move {
        signal.await;
        shutdown();
    }
}
