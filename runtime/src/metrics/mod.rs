//! What the process counts: the figures every layer above reports to.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Live views streaming in this process (see [`crate::live::open_views`]).
pub(crate) static OPEN_VIEWS: AtomicUsize = AtomicUsize::new(0);
/// Invalidation subscriptions held by live views (see [`crate::live::open_subscriptions`]).
pub(crate) static OPEN_SUBSCRIPTIONS: AtomicUsize = AtomicUsize::new(0);

/// Adds one to a count for as long as it lives.
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
