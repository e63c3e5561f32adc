//! When heals run: spread over a jittered window after the request, and at most one per
//! window, so a flapping broker (or many processes reconnecting together) does not reload
//! every view in the same instant, again and again.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::lock;

pub(crate) struct HealSchedule {
    window: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// A heal is planned and has not started yet: further requests join it.
    planned: bool,
    /// When the last heal started.
    last: Option<Instant>,
}

impl HealSchedule {
    pub(crate) fn new(window: Duration) -> HealSchedule {
        HealSchedule {
            window,
            state: Mutex::new(State::default()),
        }
    }

    /// When a heal requested `now` runs (`jitter` in `0.0..1.0` picks the point in the
    /// window), or `None` if one is planned already and this request joins it.
    pub(crate) fn plan(&self, now: Instant, jitter: f64) -> Option<Instant> {
        let mut state = lock(&self.state);
        if state.planned {
            return None;
        }
        state.planned = true;
        let spread = now + self.window.mul_f64(jitter.clamp(0.0, 1.0));
        let earliest = state.last.map_or(now, |last| last + self.window);
        Some(spread.max(earliest))
    }

    /// The planned heal starts `now`: requests from now on plan the next one.
    pub(crate) fn started(&self, now: Instant) {
        let mut state = lock(&self.state);
        state.planned = false;
        state.last = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heal_runs_within_the_window_and_requests_meanwhile_join_it() {
        let schedule = HealSchedule::new(Duration::from_secs(1));
        let now = Instant::now();
        let at = schedule.plan(now, 0.25).unwrap();
        assert_eq!(at, now + Duration::from_millis(250));
        assert_eq!(schedule.plan(now + Duration::from_millis(100), 0.9), None);
    }

    #[test]
    fn the_next_heal_waits_a_whole_window_after_the_last_one_started() {
        let schedule = HealSchedule::new(Duration::from_secs(1));
        let now = Instant::now();
        let first = schedule.plan(now, 0.0).unwrap();
        schedule.started(first);
        let second = schedule
            .plan(first + Duration::from_millis(10), 0.0)
            .unwrap();
        assert_eq!(second, first + Duration::from_secs(1));
    }

    #[test]
    fn a_zero_window_heals_at_once() {
        let schedule = HealSchedule::new(Duration::ZERO);
        let now = Instant::now();
        assert_eq!(schedule.plan(now, 0.7), Some(now));
        schedule.started(now);
        assert_eq!(schedule.plan(now, 0.7), Some(now));
    }
}
