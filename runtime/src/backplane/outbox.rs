//! Messages waiting for the broker, bounded by bytes, and what replaces them when they cannot
//! all be kept: one heal.
//!
//! While the broker is slow or away, what waits is at most [`Outbox::max_bytes`]. When a
//! message does not fit, the backlog is not truncated (a receiver that heals on reconnecting
//! and then gets an old backlog ends on stale state): everything queued is dropped, and so is
//! everything sent until the broker takes messages again, and one *heal* message takes their
//! place, telling every other process to reload everything once. A backlog that was delayed
//! by a failing publish is followed by a heal too, for the same reason.

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::Notify;

use super::lock;

/// The payloads of one message (its chunks, or the message alone), and the route it travels
/// on (`None`: the channel itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Payloads {
    pub(crate) route: Option<String>,
    pub(crate) parts: Vec<Bytes>,
}

/// What the publish loop sends next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    Message(Payloads),
    /// Tell every other process to reload everything.
    Heal,
}

/// What became of a pushed message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    /// Dropped, with this many queued messages: a heal replaces them.
    Overflowed(usize),
    /// Dropped: a heal after an overflow is waiting to go out and covers it.
    Covered,
}

pub(crate) struct Outbox {
    state: Mutex<State>,
    ready: Notify,
    max_bytes: usize,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Entry>,
    bytes: usize,
    /// The queue overflowed and its heal has not been taken for publishing yet.
    covering: bool,
    /// A publish failed since the last heal was queued.
    failed: bool,
}

fn size(entry: &Entry) -> usize {
    match entry {
        Entry::Message(payloads) => payloads.parts.iter().map(Bytes::len).sum(),
        Entry::Heal => 0,
    }
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

    /// Queues `payloads`, or replaces the backlog with a heal if they do not fit.
    pub(crate) fn push(&self, payloads: Payloads) -> Pushed {
        let entry = Entry::Message(payloads);
        let bytes = size(&entry);
        let pushed = {
            let mut state = lock(&self.state);
            if state.covering {
                Pushed::Covered
            } else if state.bytes.saturating_add(bytes) > self.max_bytes {
                let dropped = state
                    .queue
                    .iter()
                    .filter(|e| matches!(e, Entry::Message(_)))
                    .count();
                state.queue.clear();
                state.queue.push_back(Entry::Heal);
                state.bytes = 0;
                state.covering = true;
                Pushed::Overflowed(dropped)
            } else {
                state.bytes += bytes;
                state.queue.push_back(entry);
                Pushed::Queued
            }
        };
        self.ready.notify_one();
        pushed
    }

    /// The oldest entries, once there is one: a heal alone, or messages in a row (up to `max`,
    /// and past the first up to `max_bytes`). They stay queued until [`Outbox::published`].
    pub(crate) async fn next_batch(&self, max: usize, max_bytes: usize) -> Vec<Entry> {
        loop {
            let notified = self.ready.notified();
            {
                let mut state = lock(&self.state);
                if let Some(front) = state.queue.front() {
                    if *front == Entry::Heal {
                        // Messages sent from now on are newer than what the heal reloads:
                        // they queue behind it.
                        state.covering = false;
                        return vec![Entry::Heal];
                    }
                    let mut batch = Vec::new();
                    let mut bytes = 0;
                    for entry in state.queue.iter().take(max.max(1)) {
                        if *entry == Entry::Heal
                            || (!batch.is_empty() && bytes + size(entry) > max_bytes)
                        {
                            break;
                        }
                        bytes += size(entry);
                        batch.push(entry.clone());
                    }
                    return batch;
                }
            }
            notified.await;
        }
    }

    /// The oldest entry, once there is one.
    #[cfg(test)]
    pub(crate) async fn next(&self) -> Entry {
        self.next_batch(1, 0).await.remove(0)
    }

    /// The oldest `count` entries (taken by [`Outbox::next_batch`]) were published.
    pub(crate) fn published(&self, count: usize) {
        let mut state = lock(&self.state);
        for _ in 0..count {
            let Some(front) = state.queue.pop_front() else {
                break;
            };
            state.bytes -= size(&front);
            if front == Entry::Heal {
                state.failed = false;
            }
        }
        if std::mem::take(&mut state.failed) && !state.queue.contains(&Entry::Heal) {
            // The backlog that waited for the broker goes out now, after the other processes
            // may have healed on their own: a heal behind it brings them to the current state.
            state.queue.push_back(Entry::Heal);
        }
    }

    /// Publishing the oldest entries failed; they stay first, to be tried again. If it is a heal,
    /// what was queued behind it while it was tried is dropped again (the heal covers it);
    /// returns how many messages that was.
    pub(crate) fn failed(&self) -> usize {
        let mut state = lock(&self.state);
        state.failed = true;
        if state.queue.front() != Some(&Entry::Heal) {
            return 0;
        }
        let dropped = state.queue.len() - 1;
        state.queue.truncate(1);
        state.bytes = 0;
        state.covering = true;
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> Payloads {
        Payloads {
            route: None,
            parts: vec![Bytes::copy_from_slice(text.as_bytes())],
        }
    }

    #[tokio::test]
    async fn the_outbox_is_bounded_by_bytes_not_by_count() {
        let outbox = Outbox::new(10_000);
        assert_eq!(outbox.push(message(&"a".repeat(6_000))), Pushed::Queued);
        for _ in 0..4000 {
            assert_eq!(outbox.push(message("x")), Pushed::Queued);
        }
        assert_eq!(outbox.bytes(), 10_000);
        assert_eq!(
            outbox.next().await,
            Entry::Message(message(&"a".repeat(6_000)))
        );
        outbox.published(1);
        assert_eq!(outbox.bytes(), 4_000);
        assert_eq!(outbox.next().await, Entry::Message(message("x")));
    }

    #[tokio::test]
    async fn an_overflow_replaces_the_backlog_and_later_sends_with_one_heal() {
        let outbox = Outbox::new(3);
        for _ in 0..3 {
            assert_eq!(outbox.push(message("x")), Pushed::Queued);
        }
        assert_eq!(outbox.push(message("x")), Pushed::Overflowed(3));
        assert_eq!(outbox.push(message("y")), Pushed::Covered);
        assert_eq!(outbox.bytes(), 0);
        assert_eq!(outbox.next().await, Entry::Heal);
        // Taken for publishing: what is sent now queues behind it, unless the broker is
        // still away, and then the heal covers it too.
        assert_eq!(outbox.push(message("w")), Pushed::Queued);
        assert_eq!(outbox.failed(), 1);
        assert_eq!(outbox.push(message("w")), Pushed::Covered);
        assert_eq!(outbox.next().await, Entry::Heal);
        assert_eq!(outbox.push(message("z")), Pushed::Queued);
        outbox.published(1);
        assert_eq!(outbox.next().await, Entry::Message(message("z")));
        outbox.published(1);
        // A heal that went out settles the failures before it: no second heal.
        assert_eq!(outbox.push(message("a")), Pushed::Queued);
        assert_eq!(outbox.next().await, Entry::Message(message("a")));
    }

    #[tokio::test]
    async fn a_backlog_delayed_by_a_failing_publish_is_followed_by_a_heal() {
        let outbox = Outbox::new(100);
        outbox.push(message("a"));
        outbox.push(message("b"));
        assert_eq!(outbox.next().await, Entry::Message(message("a")));
        outbox.failed();
        assert_eq!(outbox.next().await, Entry::Message(message("a")));
        outbox.published(1);
        assert_eq!(outbox.next().await, Entry::Message(message("b")));
        outbox.published(1);
        assert_eq!(outbox.next().await, Entry::Heal);
        outbox.published(1);
        outbox.push(message("c"));
        assert_eq!(outbox.next().await, Entry::Message(message("c")));
    }

    #[tokio::test]
    async fn messages_go_out_in_batches_and_a_heal_alone() {
        let outbox = Outbox::new(1_000);
        for text in ["a", "b", "c", "d"] {
            outbox.push(message(text));
        }
        let batch = outbox.next_batch(3, 1_000).await;
        assert_eq!(batch, ["a", "b", "c"].map(|t| Entry::Message(message(t))));
        // Nothing leaves the outbox until it is published; then the rest.
        assert_eq!(outbox.next_batch(3, 1_000).await.len(), 3);
        outbox.published(3);
        assert_eq!(
            outbox.next_batch(3, 1_000).await,
            [Entry::Message(message("d"))]
        );
        // Bytes bound a batch past its first message.
        outbox.push(message("ee"));
        assert_eq!(outbox.next_batch(10, 2).await.len(), 1);
        outbox.published(1);
        assert_eq!(
            outbox.next_batch(10, 0).await,
            [Entry::Message(message("ee"))]
        );
        outbox.failed();
        outbox.published(1);
        // After a failure the heal follows, alone.
        outbox.push(message("f"));
        assert_eq!(outbox.next_batch(10, 1_000).await, [Entry::Heal]);
        outbox.published(1);
        assert_eq!(
            outbox.next_batch(10, 1_000).await,
            [Entry::Message(message("f"))]
        );
    }
}
