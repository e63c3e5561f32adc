//! Messages waiting for the broker, bounded by bytes: while the broker is slow or away, what
//! waits is at most [`Outbox::max_bytes`], whatever the size of each message.

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::Notify;

use super::lock;

/// The payloads of one message (its chunks, or the message alone).
pub(crate) type Payloads = Vec<Bytes>;

pub(crate) struct Outbox {
    state: Mutex<State>,
    ready: Notify,
    max_bytes: usize,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Payloads>,
    bytes: usize,
}

fn size(payloads: &Payloads) -> usize {
    payloads.iter().map(Bytes::len).sum()
}

impl Outbox {
    pub(crate) fn new(max_bytes: usize) -> Outbox {
        Outbox {
            state: Mutex::new(State::default()),
            ready: Notify::new(),
            max_bytes,
        }
    }

    /// The most bytes that wait at once.
    pub(crate) fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The bytes waiting now.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        lock(&self.state).bytes
    }

    /// Queues `payloads`; `false` (and nothing queued) if they do not fit.
    pub(crate) fn push(&self, payloads: Payloads) -> bool {
        let bytes = size(&payloads);
        {
            let mut state = lock(&self.state);
            if state.bytes.saturating_add(bytes) > self.max_bytes {
                return false;
            }
            state.bytes += bytes;
            state.queue.push_back(payloads);
        }
        self.ready.notify_one();
        true
    }

    /// The oldest message, once there is one; it stays counted until [`Outbox::done`].
    pub(crate) async fn next(&self) -> Payloads {
        loop {
            let notified = self.ready.notified();
            if let Some(front) = lock(&self.state).queue.front() {
                return front.clone();
            }
            notified.await;
        }
    }

    /// Removes the oldest message (the one [`Outbox::next`] returned) once it was published.
    pub(crate) fn done(&self) {
        let mut state = lock(&self.state);
        if let Some(front) = state.queue.pop_front() {
            state.bytes -= size(&front);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_outbox_is_bounded_by_bytes_not_by_count() {
        let outbox = Outbox::new(10_000);
        assert!(outbox.push(vec![Bytes::from(vec![b'a'; 6_000])]));
        assert!(!outbox.push(vec![Bytes::from(vec![b'b'; 6_000])]));
        for _ in 0..4000 {
            assert!(outbox.push(vec![Bytes::from_static(b"x")]));
        }
        assert_eq!(outbox.bytes(), 10_000);
        assert!(!outbox.push(vec![Bytes::from_static(b"x")]));
        assert_eq!(outbox.next().await[0].len(), 6_000);
        outbox.done();
        assert_eq!(outbox.bytes(), 4_000);
        assert_eq!(outbox.next().await[0], "x");
    }
}
