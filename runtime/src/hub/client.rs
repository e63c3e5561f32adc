//! One connected client: its queue (latest wins, bounded in bytes), the slow-client check and
//! its event stream.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use futures::stream::BoxStream;
use futures::task::AtomicWaker;
use tokio::time::Instant;

use super::latest::Supersedes;
use crate::event::Event;

/// What a queued send costs beyond its bytes (the entry, the shared buffer's header): a flood
/// of tiny sends is bounded by the byte budget too.
pub(crate) const ENTRY_OVERHEAD: usize = 64;

/// What happened when an event was offered to a client.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    Queued,
    /// The client could not keep up and must be disconnected.
    TooSlow,
    /// The client is gone already.
    Gone,
}

/// The limits of one client's queue.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Bytes the queue may hold (each send counted with [`ENTRY_OVERHEAD`]).
    pub(crate) bytes: usize,
    /// Sends the queue may hold.
    pub(crate) sends: usize,
    /// How long the client may take nothing while sends wait.
    pub(crate) stall: Duration,
}

/// The fields every offer and poll touch come first and together (`repr(C)` keeps the
/// order): with 10,000 clients, a send reaches each one from memory, not from cache, and each
/// cache line less is a miss less per client.
#[repr(C)]
pub(crate) struct Client {
    /// Set once, when the client is disconnected as too slow or its stream is dropped; read
    /// with one atomic load on every offer and poll.
    disconnected: AtomicBool,
    /// The length of the queue, kept beside it: a poll that finds nothing queued registers
    /// its waker without taking the lock.
    queued: AtomicUsize,
    waker: AtomicWaker,
    queue: Mutex<Queue>,
    limits: Limits,
    pub(crate) id: u64,
    pub(crate) rooms: Vec<String>,
    pub(crate) session: Option<String>,
}

#[derive(Default)]
struct Queue {
    sends: Sends,
    /// The cost of `sends`, in bytes with their overhead.
    bytes: usize,
    /// Since when sends have waited without the client taking any; `None` while it keeps up.
    waiting_since: Option<Instant>,
}

/// Queued sends, the first one inline: a client that keeps up holds one send at a time, and
/// reads it from the cache lines of its own `Client`.
#[derive(Default)]
struct Sends {
    /// `None` only when `rest` is empty too.
    head: Option<Queued>,
    rest: VecDeque<Queued>,
}

impl Sends {
    fn len(&self) -> usize {
        usize::from(self.head.is_some()) + self.rest.len()
    }

    fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    fn push_back(&mut self, queued: Queued) {
        if self.head.is_none() {
            self.head = Some(queued);
        } else {
            self.rest.push_back(queued);
        }
    }

    fn pop_front(&mut self) -> Option<Queued> {
        let head = self.head.take();
        self.head = self.rest.pop_front();
        head
    }

    fn retain(&mut self, mut keep: impl FnMut(&Queued) -> bool) {
        self.rest.retain(&mut keep);
        if self.head.as_ref().is_some_and(|head| !keep(head)) {
            self.head = self.rest.pop_front();
        }
    }

    fn clear(&mut self) {
        self.head = None;
        self.rest.clear();
    }

    fn iter(&self) -> impl Iterator<Item = &Queued> {
        self.head.iter().chain(&self.rest)
    }
}

struct Queued {
    event: Event,
    supersedes: Option<Supersedes>,
}

impl Client {
    pub(crate) fn new(
        id: u64,
        rooms: Vec<String>,
        session: Option<String>,
        limits: Limits,
    ) -> Arc<Client> {
        Arc::new(Client {
            disconnected: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
            waker: AtomicWaker::new(),
            queue: Mutex::new(Queue::default()),
            limits,
            id,
            rooms,
            session,
        })
    }

    /// Ends the client's stream (events still queued are dropped) and refuses new offers.
    pub(crate) fn disconnect(&self) {
        self.disconnected.store(true, Ordering::Release);
        self.waker.wake();
    }

    fn is_disconnected(&self) -> bool {
        self.disconnected.load(Ordering::Acquire)
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `event`. A queued patch of the same target (`supersedes`) is dropped first: the
    /// client is sent the newest view, never a backlog of superseded ones. A client is too
    /// slow when it has taken nothing for the stall time while sends waited, or when its
    /// queue is over its budget; a busy server whose clients all fall behind together still
    /// sees every one of them take something, so it disconnects nobody. `now` is taken once
    /// per send by the caller, not once per client.
    pub(crate) fn offer(
        &self,
        event: &Event,
        supersedes: Option<Supersedes>,
        now: Instant,
    ) -> Offer {
        if self.is_disconnected() {
            return Offer::Gone;
        }
        let mut queue = self.queue();
        if queue
            .waiting_since
            .is_some_and(|since| now.saturating_duration_since(since) > self.limits.stall)
        {
            return Offer::TooSlow;
        }
        if let Some(key) = supersedes {
            let before = queue.sends.len();
            queue.sends.retain(|queued| queued.supersedes != Some(key));
            if queue.sends.len() != before {
                queue.bytes = queue.sends.iter().map(Queued::cost).sum();
            }
        }
        let queued = Queued {
            event: event.clone(),
            supersedes,
        };
        queue.bytes += queued.cost();
        queue.sends.push_back(queued);
        if queue.bytes > self.limits.bytes || queue.sends.len() > self.limits.sends {
            queue.sends.clear();
            queue.bytes = 0;
            self.queued.store(0, Ordering::Release);
            return Offer::TooSlow;
        }
        queue.waiting_since.get_or_insert(now);
        self.queued.store(queue.sends.len(), Ordering::Release);
        drop(queue);
        self.waker.wake();
        Offer::Queued
    }

    /// Sends waiting for the client.
    #[cfg(test)]
    fn queued(&self) -> Vec<Event> {
        self.queue()
            .sends
            .iter()
            .map(|queued| queued.event.clone())
            .collect()
    }

    /// The client's stream: `current` first (the loaders' current state), then the queued
    /// events, recording progress each time the client takes one. Ends when the client is
    /// disconnected, whether it was loading or waiting (events still queued are dropped).
    pub(crate) fn events(self: &Arc<Self>, current: BoxStream<'static, Event>) -> Events {
        Events {
            client: self.clone(),
            current: Some(current),
        }
    }
}

impl Queued {
    fn cost(&self) -> usize {
        self.event.as_bytes().len() + ENTRY_OVERHEAD
    }
}

/// A client's stream: its current state, then its queued events.
pub(crate) struct Events {
    client: Arc<Client>,
    current: Option<BoxStream<'static, Event>>,
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        if self.client.is_disconnected() {
            return Poll::Ready(None);
        }
        if let Some(current) = &mut self.current {
            match current.as_mut().poll_next(cx) {
                Poll::Ready(Some(event)) => return Poll::Ready(Some(event)),
                Poll::Ready(None) => self.current = None,
                Poll::Pending => {
                    // A disconnect while loading wakes this poll too.
                    self.client.waker.register(cx.waker());
                    if self.client.is_disconnected() {
                        return Poll::Ready(None);
                    }
                    return Poll::Pending;
                }
            }
        }
        let client = &self.client;
        if client.queued.load(Ordering::Acquire) == 0 {
            // An offer stores the new length before it wakes: one that comes after this
            // registration wakes this poll, one that came before it is seen below.
            client.waker.register(cx.waker());
            if client.queued.load(Ordering::Acquire) == 0 {
                if client.is_disconnected() {
                    return Poll::Ready(None);
                }
                return Poll::Pending;
            }
        }
        let mut queue = client.queue();
        let Some(queued) = queue.sends.pop_front() else {
            // Emptied meanwhile (the client is being disconnected as too slow).
            drop(queue);
            client.waker.register(cx.waker());
            if client.is_disconnected() {
                return Poll::Ready(None);
            }
            return Poll::Pending;
        };
        queue.bytes -= queued.cost();
        queue.waiting_since = if queue.sends.is_empty() {
            None
        } else {
            Some(Instant::now())
        };
        client.queued.store(queue.sends.len(), Ordering::Release);
        Poll::Ready(Some(queued.event))
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    fn client(limits: Limits) -> Arc<Client> {
        Client::new(0, vec!["room".into()], None, limits)
    }

    const ROOMY: Limits = Limits {
        bytes: 1 << 20,
        sends: usize::MAX,
        stall: Duration::from_secs(5),
    };

    #[tokio::test]
    async fn a_newer_patch_of_the_same_target_replaces_the_queued_one() {
        let client = client(ROOMY);
        let key = Some(Supersedes::for_test(1));
        for n in 0..200 {
            assert_eq!(
                client.offer(&Event::comment(&n.to_string()), key, Instant::now()),
                Offer::Queued
            );
        }
        assert_eq!(client.queued(), [Event::comment("199")]);
        let mut events = client.events(futures::stream::empty().boxed());
        assert_eq!(events.next().await, Some(Event::comment("199")));
    }

    #[test]
    fn sends_without_a_target_all_stay_queued_in_order() {
        let client = client(ROOMY);
        let key = Some(Supersedes::for_test(1));
        client.offer(&Event::comment("view 1"), key, Instant::now());
        client.offer(&Event::comment("message"), None, Instant::now());
        client.offer(&Event::comment("view 2"), key, Instant::now());
        client.offer(
            &Event::comment("other"),
            Some(Supersedes::for_test(2)),
            Instant::now(),
        );
        assert_eq!(
            client.queued(),
            [
                Event::comment("message"),
                Event::comment("view 2"),
                Event::comment("other")
            ]
        );
    }

    #[test]
    fn a_queue_over_its_byte_budget_is_too_slow() {
        let client = client(Limits {
            bytes: 1000,
            ..ROOMY
        });
        let message = Event::comment(&"x".repeat(400));
        assert_eq!(client.offer(&message, None, Instant::now()), Offer::Queued);
        assert_eq!(client.offer(&message, None, Instant::now()), Offer::Queued);
        assert_eq!(client.offer(&message, None, Instant::now()), Offer::TooSlow);
        assert!(client.queued().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_takes_nothing_for_the_stall_time_is_too_slow() {
        let client = client(ROOMY);
        assert_eq!(
            client.offer(&Event::comment("1"), None, Instant::now()),
            Offer::Queued
        );
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(
            client.offer(&Event::comment("2"), None, Instant::now()),
            Offer::Queued
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(
            client.offer(&Event::comment("3"), None, Instant::now()),
            Offer::TooSlow
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_keeps_taking_is_never_too_slow_however_far_behind() {
        let client = client(ROOMY);
        let mut events = client.events(futures::stream::empty().boxed());
        for _ in 0..100 {
            for n in 0..10 {
                assert_eq!(
                    client.offer(&Event::comment(&n.to_string()), None, Instant::now()),
                    Offer::Queued
                );
            }
            tokio::time::advance(Duration::from_secs(1)).await;
            // Slower than the sends arrive, but taking something every second.
            assert!(events.next().await.is_some());
        }
    }
}
