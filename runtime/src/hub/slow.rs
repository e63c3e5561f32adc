//! Counting slow-client disconnects, logged as one line per interval.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::time::Instant;

use super::SLOW_LOG_INTERVAL;

/// Slow-client disconnects of one hub: a total, and the ones not logged yet.
#[derive(Default)]
pub(crate) struct SlowLog {
    pub(crate) total: AtomicU64,
    unlogged: Mutex<Unlogged>,
}

#[derive(Default)]
struct Unlogged {
    count: u64,
    since: Option<Instant>,
    last_line: Option<Instant>,
}

impl SlowLog {
    /// Counts `clients` disconnects; writes the log line when the last one is an interval old.
    pub(crate) fn record(&self, clients: usize) {
        let clients = clients as u64;
        self.total.fetch_add(clients, Ordering::Relaxed);
        crate::metrics::hub().slow_disconnects.increment(clients);
        let now = Instant::now();
        let mut unlogged = self
            .unlogged
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        unlogged.count += clients;
        let since = *unlogged.since.get_or_insert(now);
        if unlogged
            .last_line
            .is_some_and(|last| now.duration_since(last) < SLOW_LOG_INTERVAL)
        {
            return;
        }
        let count = std::mem::take(&mut unlogged.count);
        unlogged.since = None;
        unlogged.last_line = Some(now);
        drop(unlogged);
        tracing::warn!(
            clients = count,
            over_ms = now.duration_since(since).as_millis() as u64,
            "livestar hub: disconnected clients that stopped reading or went over their queue's \
             byte budget; their browsers reconnect and load current state"
        );
    }
}
