//! Invalidation sources: what wakes a live view so it reloads and renders again.
//!
//! An invalidation carries no data. It only says "something changed", so a view that was woken
//! ten times before it could look reloads once, and a client that reconnects needs no missed
//! events: it simply gets the current state.
//!
//! [`Notifier`] is the embedded source: `subscribe(&key)` per view, `notify(&key)` after a
//! write, optionally across processes through a [`Backplane`](crate::backplane::Backplane).
//!
//! Anything that can become an [`Invalidation`] implements [`IntoInvalidation`]: tokio's
//! `broadcast`, `watch` and `mpsc` receivers, `Arc<Notify>`, and any `Stream` wrapped with
//! [`from_stream`].
//!
//! ```
//! use futures::StreamExt;
//! use livestar::invalidate::{Invalidation, IntoInvalidation};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let (tx, rx) = tokio::sync::broadcast::channel::<u32>(16);
//! let mut wakeups: Invalidation = rx.into_invalidation();
//! tx.send(7).unwrap();
//! assert_eq!(wakeups.next().await, Some(()));
//! # });
//! ```
//!
//! # When a source ends
//! A source whose sender is gone (a closed channel, a finished stream) ends: it will never
//! wake again. [`Invalidation::merge`] keeps waiting on the sources that remain.

mod notifier;

pub use notifier::{Notifier, Subscription};

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt};
use tokio::sync::{Notify, broadcast, mpsc, watch};

/// A stream of wake-ups; each item means "something changed, look again".
///
/// ```
/// use futures::{FutureExt, StreamExt};
/// use livestar::invalidate::IntoInvalidation;
///
/// let (tx, rx) = tokio::sync::watch::channel(0);
/// let mut changes = rx.into_invalidation();
/// tx.send(1).unwrap();
/// assert_eq!(changes.next().now_or_never(), Some(Some(())));
/// ```
#[must_use = "an invalidation wakes nothing unless it is polled"]
pub struct Invalidation {
    wakeups: BoxStream<'static, ()>,
    /// Counts this source among a live view's open subscriptions while it exists.
    gauge: Option<crate::metrics::Gauge>,
    /// Whether wake-ups can queue up (a channel, any stream, several merged sources) rather
    /// than collapse into one pending flag (`Notify`, `watch`, [`Notifier`]): only a queue
    /// needs draining before a reload.
    queues: bool,
}

impl Invalidation {
    /// Wakes once per item of `stream`.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use livestar::invalidate::Invalidation;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let mut wakeups = Invalidation::from_stream(futures::stream::iter(["a", "b"]));
    /// assert_eq!(wakeups.next().await, Some(()));
    /// # });
    /// ```
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: Stream + Send + 'static,
    {
        Invalidation {
            wakeups: stream.map(|_| ()).boxed(),
            gauge: None,
            queues: true,
        }
    }

    /// A source whose wake-ups collapse into one pending flag, so a burst never queues.
    pub(crate) fn from_flag<S>(stream: S) -> Self
    where
        S: Stream + Send + 'static,
    {
        Invalidation {
            queues: false,
            ..Invalidation::from_stream(stream)
        }
    }

    /// Whether wake-ups can queue up; see the field.
    pub(crate) fn queues(&self) -> bool {
        self.queues
    }

    /// Never wakes (and never ends).
    ///
    /// ```
    /// use futures::{FutureExt, StreamExt};
    /// use livestar::invalidate::Invalidation;
    ///
    /// assert_eq!(Invalidation::never().next().now_or_never(), None);
    /// ```
    pub fn never() -> Self {
        Invalidation::from_flag(stream::pending::<()>())
    }

    /// Wakes whenever any of `sources` wakes; ends when all of them have ended.
    ///
    /// ```
    /// use livestar::invalidate::{Invalidation, IntoInvalidation};
    ///
    /// use futures::{FutureExt, StreamExt};
    ///
    /// let (a_tx, a) = tokio::sync::broadcast::channel::<()>(1);
    /// let (_b_tx, b) = tokio::sync::watch::channel(0u8);
    /// let mut both = Invalidation::merge([a.into_invalidation(), b.into_invalidation()]);
    /// a_tx.send(()).unwrap();
    /// assert_eq!(both.next().now_or_never(), Some(Some(())));
    /// ```
    pub fn merge(sources: impl IntoIterator<Item = Invalidation>) -> Self {
        let mut sources: Vec<Invalidation> = sources.into_iter().collect();
        match sources.len() {
            1 => sources.remove(0),
            // Several ready sources come out one per poll, like a queue: `from_stream` marks
            // the merge as one that is drained.
            _ => Invalidation::from_stream(stream::select_all(sources)),
        }
    }

    /// Counts this source in [`open_subscriptions`](crate::live::open_subscriptions) until it
    /// is dropped (or, merged, until it ends). No extra layer: polling is unchanged.
    pub(crate) fn counted(mut self, counter: &'static std::sync::atomic::AtomicUsize) -> Self {
        self.gauge = Some(crate::metrics::Gauge::new(counter));
        self
    }
}

impl Stream for Invalidation {
    type Item = ();

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.wakeups.poll_next_unpin(cx)
    }
}

impl std::fmt::Debug for Invalidation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invalidation").finish_non_exhaustive()
    }
}

/// Turns a value into an [`Invalidation`].
///
/// Implement it for your own source types so `#[live_view(invalidate = [...])]` accepts them.
///
/// ```
/// use livestar::invalidate::{Invalidation, IntoInvalidation};
///
/// struct EveryChange(tokio::sync::watch::Receiver<u64>);
///
/// impl IntoInvalidation for EveryChange {
///     fn into_invalidation(self) -> Invalidation {
///         self.0.into_invalidation()
///     }
/// }
/// ```
pub trait IntoInvalidation {
    /// The wake-ups of this source.
    ///
    /// ```
    /// use futures::{FutureExt, StreamExt};
    /// use livestar::invalidate::IntoInvalidation;
    ///
    /// let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
    /// let mut wakeups = rx.into_invalidation();
    /// tx.send(7).unwrap();
    /// drop(tx);
    /// assert_eq!(wakeups.next().now_or_never(), Some(Some(())));
    /// // The source ended, so the live view stops watching it.
    /// assert_eq!(wakeups.next().now_or_never(), Some(None));
    /// ```
    fn into_invalidation(self) -> Invalidation;
}

impl IntoInvalidation for Invalidation {
    fn into_invalidation(self) -> Invalidation {
        self
    }
}

/// Wraps any `Stream` as a source: each item wakes once. (A blanket implementation for every
/// `Stream` would conflict with the channel receivers' implementations.)
///
/// ```
/// use livestar::invalidate::{IntoInvalidation, from_stream};
///
/// use futures::{FutureExt, StreamExt};
///
/// let source = from_stream(futures::stream::iter([1, 2, 3]));
/// assert_eq!(source.into_invalidation().count().now_or_never(), Some(3));
/// ```
pub fn from_stream<S: Stream + Send + 'static>(stream: S) -> FromStream<S> {
    FromStream(stream)
}

/// A `Stream` used as an invalidation source; see [`from_stream`].
///
/// ```
/// use futures::{FutureExt, StreamExt};
/// use livestar::invalidate::{FromStream, IntoInvalidation};
///
/// let mut wakeups = FromStream(futures::stream::iter(["a", "b"])).into_invalidation();
/// assert_eq!(wakeups.next().now_or_never(), Some(Some(())));
/// ```
#[derive(Debug)]
pub struct FromStream<S>(pub S);

impl<S: Stream + Send + 'static> IntoInvalidation for FromStream<S> {
    fn into_invalidation(self) -> Invalidation {
        Invalidation::from_stream(self.0)
    }
}

/// Each message wakes; a receiver that lagged behind wakes once for everything it missed.
impl<T: Clone + Send + 'static> IntoInvalidation for broadcast::Receiver<T> {
    fn into_invalidation(self) -> Invalidation {
        Invalidation::from_stream(stream::unfold(self, |mut rx| async move {
            match rx.recv().await {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => Some(((), rx)),
                Err(broadcast::error::RecvError::Closed) => None,
            }
        }))
    }
}

/// Each change of the watched value wakes (several changes before a look wake once).
impl<T: Send + Sync + 'static> IntoInvalidation for watch::Receiver<T> {
    fn into_invalidation(self) -> Invalidation {
        // Any number of sends between two looks is one change.
        Invalidation::from_flag(stream::unfold(self, |mut rx| async move {
            rx.changed().await.ok().map(|()| ((), rx))
        }))
    }
}

/// Each message wakes.
impl<T: Send + 'static> IntoInvalidation for mpsc::Receiver<T> {
    fn into_invalidation(self) -> Invalidation {
        Invalidation::from_stream(stream::unfold(self, |mut rx| async move {
            rx.recv().await.map(|_| ((), rx))
        }))
    }
}

/// Each message wakes.
impl<T: Send + 'static> IntoInvalidation for mpsc::UnboundedReceiver<T> {
    fn into_invalidation(self) -> Invalidation {
        Invalidation::from_stream(stream::unfold(self, |mut rx| async move {
            rx.recv().await.map(|_| ((), rx))
        }))
    }
}

/// Each `notify_one` or `notify_waiters` wakes. A `Notify` never closes, so this never ends.
///
/// The source registers for the next notification as soon as it is created and again as soon
/// as it wakes, so a `notify_waiters` that comes while the view is busy loading is not lost.
/// Several live views sharing one `Notify` should be woken with `notify_waiters`: `notify_one`
/// wakes only one of them.
impl IntoInvalidation for Arc<Notify> {
    fn into_invalidation(self) -> Invalidation {
        // One registration at a time: notifications while it is pending are one wake-up.
        Invalidation::from_flag(NotifySource::new(self))
    }
}

struct NotifySource {
    notify: Arc<Notify>,
    next: Pin<Box<tokio::sync::futures::OwnedNotified>>,
}

impl NotifySource {
    fn new(notify: Arc<Notify>) -> Self {
        let next = Self::register(&notify);
        NotifySource { notify, next }
    }

    fn register(notify: &Arc<Notify>) -> Pin<Box<tokio::sync::futures::OwnedNotified>> {
        let mut next = Box::pin(notify.clone().notified_owned());
        next.as_mut().enable();
        next
    }
}

impl Stream for NotifySource {
    type Item = ();

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        match self.next.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.next = Self::register(&self.notify);
                Poll::Ready(Some(()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn closed_broadcast_ends_the_source() {
        let (tx, rx) = broadcast::channel::<()>(1);
        drop(tx);
        assert_eq!(rx.into_invalidation().next().await, None);
    }

    #[tokio::test]
    async fn lagged_broadcast_wakes_once_for_what_it_missed() {
        let (tx, rx) = broadcast::channel::<u8>(1);
        for n in 0..10 {
            tx.send(n).unwrap();
        }
        let mut wakeups = rx.into_invalidation();
        assert_eq!(wakeups.next().await, Some(()));
        // The lag counts as one wake-up, then the one retained message.
        assert_eq!(wakeups.next().await, Some(()));
        drop(tx);
        assert_eq!(wakeups.next().await, None);
    }

    #[tokio::test]
    async fn merge_wakes_on_any_source_and_ends_after_all() {
        let (a_tx, a_rx) = mpsc::unbounded_channel::<()>();
        let (b_tx, b_rx) = watch::channel(0);
        let mut both = Invalidation::merge([a_rx.into_invalidation(), b_rx.into_invalidation()]);
        b_tx.send(1).unwrap();
        assert_eq!(both.next().await, Some(()));
        a_tx.send(()).unwrap();
        assert_eq!(both.next().await, Some(()));
        drop((a_tx, b_tx));
        assert_eq!(both.next().await, None);
    }

    #[tokio::test]
    async fn only_sources_that_can_queue_are_drained() {
        let (_tx, broadcast_rx) = broadcast::channel::<()>(1);
        let (_mpsc_tx, mpsc_rx) = mpsc::unbounded_channel::<()>();
        let (_watch_tx, watch_rx) = watch::channel(0);
        let notifier = Notifier::<u8>::new();
        assert!(broadcast_rx.into_invalidation().queues());
        assert!(mpsc_rx.into_invalidation().queues());
        assert!(
            from_stream(stream::iter([1, 2]))
                .into_invalidation()
                .queues()
        );
        let flags = || {
            [
                Arc::new(Notify::new()).into_invalidation(),
                watch_rx.clone().into_invalidation(),
                notifier.subscribe(&1).into_invalidation(),
                Invalidation::never(),
            ]
        };
        assert!(flags().iter().all(|source| !source.queues()));
        // Merged sources that are ready at once come out one per poll: drained.
        assert!(Invalidation::merge(flags()).queues());
        let [one, ..] = flags();
        assert!(!Invalidation::merge([one]).queues());
    }

    #[tokio::test]
    async fn notify_wakes_every_waiting_source() {
        let notify = Arc::new(Notify::new());
        let mut one = notify.clone().into_invalidation();
        let mut two = notify.clone().into_invalidation();
        // Registered on creation: no poll is needed before the notification.
        notify.notify_waiters();
        assert_eq!(one.next().await, Some(()));
        assert_eq!(two.next().await, Some(()));
    }
}
