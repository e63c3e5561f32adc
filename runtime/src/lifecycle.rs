//! The life of the process's live streams: ending every one of them when the server stops,
//! spread over a short time so the next instance is not met by every tab in the same instant.
//!
//! Below every kind of stream (live views, hub clients, [`crate::stream()`] responses), which
//! all watch it; its public items are re-exported by [`crate::live`].

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::time::Sleep;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// How long [`graceful`] spreads the ends of the live streams over: each stream ends at its
/// own random moment within it.
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(livestar::live::DEFAULT_SHUTDOWN_SPREAD, Duration::from_millis(500));
/// ```
pub const DEFAULT_SHUTDOWN_SPREAD: Duration = Duration::from_millis(500);

/// Set before the token is cancelled; what each stream checks on every poll.
static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
/// The spread of the shutdown under way, in microseconds.
static SPREAD_MICROS: AtomicU64 = AtomicU64::new(0);

fn token() -> &'static CancellationToken {
    static TOKEN: OnceLock<CancellationToken> = OnceLock::new();
    TOKEN.get_or_init(CancellationToken::new)
}

/// Ends every live stream of this process cleanly (live views, hub clients and
/// [`livestar::stream`](crate::stream()) responses), now and from now on.
///
/// A server that stops must not wait for live streams, which never end by themselves: axum's
/// graceful shutdown waits for every open response. After `shutdown()` each live stream ends
/// with its current event, and the Datastar client (asked by [`Action`](crate::live::Action) to
/// reconnect always) reconnects after its jittered `retry` delay, to the next instance
/// behind the load balancer. Live views opened later end right after their first event.
///
/// Usually called through [`graceful`], which spreads the ends over
/// [`DEFAULT_SHUTDOWN_SPREAD`]; see [`shutdown_within`].
///
/// ```
/// // In a test or a shutdown hook:
/// livestar::live::shutdown();
/// assert!(livestar::live::is_shutting_down());
/// ```
pub fn shutdown() {
    shutdown_within(Duration::ZERO);
}

/// Like [`shutdown`], with each live stream ending at its own random moment within `spread`
/// instead of all at once. Together with the jittered `retry` of each stream, the reconnects
/// of 10,000 tabs reach the next instance over `spread` plus the retry's jitter rather than in
/// one second. Axum's graceful shutdown then takes up to `spread` longer.
///
/// ```
/// use std::time::Duration;
///
/// livestar::live::shutdown_within(Duration::from_secs(2));
/// assert!(livestar::live::is_shutting_down());
/// ```
pub fn shutdown_within(spread: Duration) {
    let micros = u64::try_from(spread.as_micros()).unwrap_or(u64::MAX);
    SPREAD_MICROS.store(micros, Ordering::Relaxed);
    SHUTTING_DOWN.store(true, Ordering::Release);
    token().cancel();
}

/// Whether [`shutdown`] (or [`shutdown_within`]) was called.
///
/// ```
/// # // A fresh process has not shut down.
/// let _ = livestar::live::is_shutting_down();
/// ```
pub fn is_shutting_down() -> bool {
    SHUTTING_DOWN.load(Ordering::Acquire)
}

/// Wraps a shutdown signal for axum's `with_graceful_shutdown`: when `signal` completes,
/// every live stream ends within [`DEFAULT_SHUTDOWN_SPREAD`] (see [`shutdown_within`]) and
/// axum can drain the remaining requests.
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
pub async fn graceful<F>(signal: F)
where
    F: Future<Output = ()>,
{
    graceful_within(signal, DEFAULT_SHUTDOWN_SPREAD).await;
}

/// [`graceful`] with a spread of your choice: a process with many tabs open may spread their
/// reconnects over a few seconds.
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// use std::time::Duration;
///
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
/// let ctrl_c = async { let _ = tokio::signal::ctrl_c().await; };
/// axum::serve(listener, app)
///     .with_graceful_shutdown(livestar::live::graceful_within(ctrl_c, Duration::from_secs(3)))
///     .await
/// # }
/// ```
pub async fn graceful_within<F>(signal: F, spread: Duration)
where
    F: Future<Output = ()>,
{
    signal.await;
    shutdown_within(spread);
}

/// One stream's view of the shutdown. A poll costs one atomic load while the task's waker is
/// the one registered already; after the shutdown, the stream waits for its own moment
/// within the spread.
pub(crate) struct ShutdownWatch {
    signal: Pin<Box<WaitForCancellationFutureOwned>>,
    registered: Option<Waker>,
    close_at: Option<Pin<Box<Sleep>>>,
}

impl ShutdownWatch {
    pub(crate) fn new() -> Self {
        ShutdownWatch {
            signal: Box::pin(token().clone().cancelled_owned()),
            registered: None,
            close_at: None,
        }
    }

    /// Ready when the stream should end.
    pub(crate) fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !SHUTTING_DOWN.load(Ordering::Acquire) {
            if self
                .registered
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
            {
                return Poll::Pending;
            }
            if self.signal.as_mut().poll(cx).is_pending() {
                self.registered = Some(cx.waker().clone());
                return Poll::Pending;
            }
        }
        let spread = SPREAD_MICROS.load(Ordering::Relaxed);
        if spread == 0 {
            return Poll::Ready(());
        }
        self.close_at
            .get_or_insert_with(|| {
                let delay = Duration::from_micros(fastrand::u64(0..spread));
                Box::pin(tokio::time::sleep(delay))
            })
            .as_mut()
            .poll(cx)
    }
}
