//! Warnings about what peers on the broker send, at most one line per interval: a flood of
//! forged or malformed messages is counted, not written to the log once per message.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The least time between two lines of one kind of warning.
pub(super) const INTERVAL: Duration = Duration::from_secs(10);

/// One kind of warning: written at once the first time, then at most once per [`INTERVAL`]
/// with how many happened since the last line.
#[derive(Default)]
pub(super) struct Warning {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Occurrences not written yet.
    unwritten: u64,
    last_line: Option<Instant>,
}

impl Warning {
    /// Counts one occurrence; `Some(count)` when a line is due now, of `count` occurrences.
    pub(super) fn due(&self) -> Option<u64> {
        let now = Instant::now();
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.unwritten += 1;
        if state
            .last_line
            .is_some_and(|last| now.duration_since(last) < INTERVAL)
        {
            return None;
        }
        state.last_line = Some(now);
        Some(std::mem::take(&mut state.unwritten))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_flood_is_one_line_per_interval_with_its_count() {
        let warning = Warning::default();
        assert_eq!(warning.due(), Some(1));
        for _ in 0..10_000 {
            assert_eq!(warning.due(), None);
        }
        tokio::time::advance(INTERVAL).await;
        assert_eq!(warning.due(), Some(10_001));
        assert_eq!(warning.due(), None);
    }
}
