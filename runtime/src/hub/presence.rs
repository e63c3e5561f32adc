//! [`PresenceChanges`]: the presence wake-ups of a room, at most one per interval.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::time::Sleep;

use crate::backplane::Interest;
use crate::invalidate::{IntoInvalidation, Invalidation, Subscription};

/// Wakes when clients join or leave a room: the first change at once, then at most once per
/// interval, every change of the interval folded into one wake-up at its end. A `Stream` of
/// `()` and an invalidation source; see [`Room::presence_changes`](super::Room::presence_changes).
///
/// ```
/// use std::time::Duration;
/// use futures::StreamExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap().block_on(async {
/// let hub = livestar::hub::Hub::builder().presence_interval(Duration::from_secs(1)).build();
/// let mut changes = hub.room("lobby").presence_changes();
/// let first = hub.join_room("lobby");
/// assert_eq!(changes.next().await, Some(()));
/// let start = tokio::time::Instant::now();
/// let storm: Vec<_> = (0..1000).map(|_| hub.join_room("lobby")).collect();
/// // A thousand joins, one wake-up, one interval after the last.
/// assert_eq!(changes.next().await, Some(()));
/// assert_eq!(start.elapsed(), Duration::from_secs(1));
/// assert_eq!(hub.room("lobby").presence(), 1001);
/// # drop((first, storm));
/// # });
/// ```
#[must_use = "presence changes wake nothing unless polled"]
pub struct PresenceChanges {
    changes: Subscription<String>,
    interval: Duration,
    hold: Option<Pin<Box<Sleep>>>,
    /// Keeps the room's counts from other processes arriving (with interest routing), even
    /// where the room has no client here.
    _counts: Interest,
}

impl PresenceChanges {
    pub(crate) fn new(changes: Subscription<String>, interval: Duration, counts: Interest) -> Self {
        PresenceChanges {
            changes,
            interval,
            hold: None,
            _counts: counts,
        }
    }
}

impl Stream for PresenceChanges {
    type Item = ();

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        if let Some(hold) = &mut self.hold {
            ready!(hold.as_mut().poll(cx));
            self.hold = None;
        }
        let changed = ready!(self.changes.poll_next_unpin(cx));
        if changed.is_some() && !self.interval.is_zero() {
            self.hold = Some(Box::pin(tokio::time::sleep(self.interval)));
        }
        Poll::Ready(changed)
    }
}

impl IntoInvalidation for PresenceChanges {
    fn into_invalidation(self) -> Invalidation {
        Invalidation::from_flag(self)
    }
}

impl fmt::Debug for PresenceChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresenceChanges")
            .field("room", self.changes.key())
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}
