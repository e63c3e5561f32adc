//! Interest-based routing: a message for one key, room or session travels on a route of its
//! own (a Redis channel, a NATS subject), and a process subscribes to the routes it has local
//! subscribers for, so it receives only the messages it needs.
//!
//! A route is named after the backplane's channel and a hash of the topic and the scope
//! (`<channel>.<16 hex digits>`), so any key, however long or hostile, gives a short name
//! made of safe characters. Two scopes that share a hash share a route: their processes
//! receive each other's messages, which the topics' listeners then ignore, so a collision
//! costs traffic, never correctness. Messages for everyone (a notifier's `notify_all`, heals)
//! stay on the channel itself, which every process subscribes to.
//!
//! Subscriptions follow interest: the first local interest in a route asks for it, the last
//! one gone lets it go. The [`Router`] keeps what is wanted and what the broker confirmed,
//! and the backplane's route task applies the difference in batches. Until the broker has
//! confirmed a route, messages on it pass this process by; once it has, the listeners of
//! every scope on it are told ([`super::Listener::routed`]) so that they reload what they
//! might have missed in between.

use std::collections::{HashMap, HashSet};
use std::hash::Hasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Weak};

use tokio::sync::{Notify, watch};

use super::{Inner, Routes, lock};

/// The most routes subscribed or unsubscribed in one request to the broker.
pub(super) const MAX_BATCH: usize = 512;

/// What a message is about, which decides its route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope<'a> {
    /// Every process: the channel itself.
    Everyone,
    /// One key of a notifier.
    Key(&'a str),
    /// One hub room (its sends and presence counts).
    Room(&'a str),
    /// One hub session (its sends; its end goes to everyone).
    Session(&'a str),
}

impl<'a> Scope<'a> {
    /// The scope as its topic's listener is told it: the key, or `r:`/`s:` and the id.
    pub(crate) fn key(self) -> String {
        let (prefix, id) = self.parts();
        format!("{prefix}{id}")
    }

    /// [`Scope::key`] in two parts, to hash without building it.
    fn parts(self) -> (&'static str, &'a str) {
        match self {
            Scope::Everyone => ("", ""),
            Scope::Key(key) => ("", key),
            Scope::Room(room) => ("r:", room),
            Scope::Session(session) => ("s:", session),
        }
    }
}

/// The route of `scope` on `topic`, or `None` for the channel itself.
pub(crate) fn route(channel: &str, topic: &str, scope: Scope<'_>) -> Option<String> {
    if scope == Scope::Everyone {
        return None;
    }
    // Called for every message published: the scope key is hashed in parts, not built.
    let (prefix, id) = scope.parts();
    let mut hasher = twox_hash::XxHash3_64::with_seed(0);
    hasher.write(topic.as_bytes());
    hasher.write(b"\n");
    hasher.write(prefix.as_bytes());
    hasher.write(id.as_bytes());
    Some(format!("{channel}.{:016x}", hasher.finish()))
}

/// One route: who wants it here, and whether the broker has confirmed it.
#[derive(Default)]
struct Route {
    /// The scopes on this route, as (topic, scope key), with their number of interests.
    scopes: HashMap<(String, String), usize>,
    /// The broker delivers this route to us.
    subscribed: bool,
    /// A subscription to it is on its way to the broker.
    in_flight: bool,
}

impl Route {
    fn wanted(&self) -> bool {
        !self.scopes.is_empty()
    }
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Route>,
    /// Routes whose wanted and confirmed states may differ.
    changed: HashSet<String>,
    /// Counts the changes of interest that the broker must be told of.
    generation: u64,
}

/// The routes of one backplane: what is wanted, what the broker confirmed, and the control
/// of the current connection.
pub(super) struct Router {
    state: Mutex<State>,
    /// Wakes the route task.
    pub(super) wake: Notify,
    /// The current connection's routes, held while a batch is applied.
    pub(super) control: tokio::sync::Mutex<Option<Box<dyn Routes>>>,
    /// The interest generation applied in full (see [`Router::settled`]).
    applied: watch::Sender<u64>,
    subscribed: AtomicUsize,
}

/// The routes to change at the broker next.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Batch {
    pub(super) subscribe: Vec<String>,
    pub(super) unsubscribe: Vec<String>,
}

impl Batch {
    pub(super) fn is_empty(&self) -> bool {
        self.subscribe.is_empty() && self.unsubscribe.is_empty()
    }
}

impl Router {
    pub(super) fn new() -> Router {
        Router {
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            control: tokio::sync::Mutex::new(None),
            applied: watch::channel(0).0,
            subscribed: AtomicUsize::new(0),
        }
    }

    /// The routes the broker delivers to this process now.
    pub(super) fn subscribed(&self) -> usize {
        self.subscribed.load(Ordering::Relaxed)
    }

    /// One more interest of `topic` in `scope_key`, on `route`.
    fn acquire(&self, route: &str, topic: &str, scope_key: &str) {
        let mut state = lock(&self.state);
        let entry = state.routes.entry(route.to_owned()).or_default();
        let was_wanted = entry.wanted();
        *entry
            .scopes
            .entry((topic.to_owned(), scope_key.to_owned()))
            .or_default() += 1;
        if !was_wanted {
            state.generation += 1;
            state.changed.insert(route.to_owned());
            drop(state);
            self.wake.notify_one();
        }
    }

    /// One interest less; the route is let go with its last.
    fn release(&self, route: &str, topic: &str, scope_key: &str) {
        let mut state = lock(&self.state);
        let Some(entry) = state.routes.get_mut(route) else {
            return;
        };
        let scope = (topic.to_owned(), scope_key.to_owned());
        if let Some(count) = entry.scopes.get_mut(&scope) {
            *count -= 1;
            if *count == 0 {
                entry.scopes.remove(&scope);
            }
        }
        if entry.wanted() {
            return;
        }
        if entry.subscribed {
            state.generation += 1;
            state.changed.insert(route.to_owned());
            drop(state);
            self.wake.notify_one();
        } else if !entry.in_flight {
            state.routes.remove(route);
            state.changed.remove(route);
            self.mark_applied_if_done(&state);
        }
    }

    /// Up to [`MAX_BATCH`] routes to subscribe and to unsubscribe, taken from the changed ones.
    pub(super) fn take_batch(&self) -> Batch {
        let mut state = lock(&self.state);
        let mut batch = Batch::default();
        let taken: Vec<String> = state.changed.iter().take(MAX_BATCH).cloned().collect();
        for route in taken {
            state.changed.remove(&route);
            let Some(entry) = state.routes.get(&route) else {
                continue;
            };
            match (entry.wanted(), entry.subscribed) {
                (true, false) => {
                    if let Some(entry) = state.routes.get_mut(&route) {
                        entry.in_flight = true;
                    }
                    batch.subscribe.push(route);
                }
                (false, true) => batch.unsubscribe.push(route),
                (false, false) => {
                    state.routes.remove(&route);
                }
                (true, true) => {}
            }
        }
        batch
    }

    /// The broker confirmed `routes`: returns the scopes on them, whose listeners are to be
    /// told.
    pub(super) fn confirmed(&self, routes: &[String]) -> Vec<(String, String)> {
        let mut state = lock(&self.state);
        let mut scopes = Vec::new();
        for route in routes {
            let Some(entry) = state.routes.get_mut(route) else {
                continue;
            };
            entry.in_flight = false;
            if !entry.subscribed {
                entry.subscribed = true;
                self.subscribed.fetch_add(1, Ordering::Relaxed);
                crate::metrics::backplane().routes.increment(1.0);
            }
            scopes.extend(entry.scopes.keys().cloned());
            if !entry.wanted() {
                state.changed.insert(route.clone());
            }
        }
        scopes
    }

    /// The broker let `routes` go.
    pub(super) fn released(&self, routes: &[String]) {
        let mut state = lock(&self.state);
        for route in routes {
            let Some(entry) = state.routes.get_mut(route) else {
                continue;
            };
            if entry.subscribed {
                entry.subscribed = false;
                self.subscribed.fetch_sub(1, Ordering::Relaxed);
                crate::metrics::backplane().routes.decrement(1.0);
            }
            if entry.wanted() {
                state.changed.insert(route.clone());
            } else {
                state.routes.remove(route);
            }
        }
    }

    /// A batch failed: its routes are tried again with the next one.
    pub(super) fn retry(&self, batch: &Batch) {
        let mut state = lock(&self.state);
        for route in &batch.subscribe {
            if let Some(entry) = state.routes.get_mut(route) {
                entry.in_flight = false;
            }
        }
        state
            .changed
            .extend(batch.subscribe.iter().chain(&batch.unsubscribe).cloned());
    }

    /// A batch went through: if it was the last, the broker is up to date (batches are
    /// applied one at a time, under [`Router::control`]).
    pub(super) fn finished(&self) {
        self.mark_applied_if_done(&lock(&self.state));
    }

    fn mark_applied_if_done(&self, state: &State) {
        if state.changed.is_empty() {
            let generation = state.generation;
            self.applied.send_if_modified(|applied| {
                let newer = generation > *applied;
                *applied = (*applied).max(generation);
                newer
            });
        }
    }

    /// The connection was lost: nothing is subscribed any more. Returns every route wanted,
    /// to subscribe on the next connection (`resubscribing`: on its way there now).
    pub(super) fn lost(&self, resubscribing: bool) -> Vec<String> {
        let mut state = lock(&self.state);
        state.routes.retain(|_, entry| {
            entry.subscribed = false;
            entry.in_flight = resubscribing;
            entry.wanted()
        });
        self.forget_subscribed();
        state.changed.clear();
        state.routes.keys().cloned().collect()
    }

    /// Counts no route as subscribed any more (the connection, or the backplane, is gone).
    pub(super) fn forget_subscribed(&self) {
        let was = self.subscribed.swap(0, Ordering::Relaxed);
        crate::metrics::backplane().routes.decrement(was as f64);
    }

    /// Waits until the broker has confirmed the routes of every interest taken so far.
    pub(super) async fn settled(&self) {
        let target = lock(&self.state).generation;
        let mut applied = self.applied.subscribe();
        // The sender lives as long as `self`.
        let _ = applied.wait_for(|applied| *applied >= target).await;
    }
}

/// Keeps a route subscribed while it lives: what a notifier holds for a key with local
/// subscriptions, and a hub for a room or session with local clients.
pub(crate) struct Interest {
    held: Option<Held>,
}

struct Held {
    inner: Weak<Inner>,
    route: String,
    topic: String,
    scope_key: String,
}

impl Interest {
    /// An interest that routes nothing (the broker does not route, or routing is off).
    pub(crate) fn none() -> Interest {
        Interest { held: None }
    }

    pub(super) fn new(
        inner: &std::sync::Arc<Inner>,
        route: String,
        topic: &str,
        scope_key: String,
    ) -> Interest {
        inner.router.acquire(&route, topic, &scope_key);
        Interest {
            held: Some(Held {
                inner: std::sync::Arc::downgrade(inner),
                route,
                topic: topic.to_owned(),
                scope_key,
            }),
        }
    }
}

impl Drop for Interest {
    fn drop(&mut self) {
        if let Some(held) = self.held.take()
            && let Some(inner) = held.inner.upgrade()
        {
            inner
                .router
                .release(&held.route, &held.topic, &held.scope_key);
        }
    }
}

impl std::fmt::Debug for Interest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interest")
            .field("route", &self.held.as_ref().map(|held| &held.route))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_short_safe_and_distinct_per_topic_and_scope() {
        let hostile = "a b*>.\r\n\u{0}".repeat(1000);
        let name = route("shop", "n:todos", Scope::Key(&hostile)).unwrap_or_default();
        assert_eq!(name.len(), "shop.".len() + 16);
        assert!(name["shop.".len()..].bytes().all(|b| b.is_ascii_hexdigit()));
        let routes = [
            route("shop", "n:todos", Scope::Key("1")),
            route("shop", "n:users", Scope::Key("1")),
            route("shop", "h:chat", Scope::Room("1")),
            route("shop", "h:chat", Scope::Session("1")),
            route("shop", "h:chat", Scope::Key("r:1")),
        ];
        let distinct: HashSet<_> = routes.iter().take(4).collect();
        assert_eq!(distinct.len(), 4);
        // A key spelled like a room is the same scope key, so the same route: harmless.
        assert_eq!(routes[2], routes[4]);
        assert_eq!(route("shop", "n:todos", Scope::Everyone), None);
    }

    #[test]
    fn interest_is_counted_and_batched_until_confirmed() {
        let router = Router::new();
        router.acquire("c.1", "n:t", "1");
        router.acquire("c.1", "n:t", "1");
        router.acquire("c.2", "n:t", "2");
        let batch = router.take_batch();
        let mut wanted = batch.subscribe.clone();
        wanted.sort();
        assert_eq!(wanted, ["c.1", "c.2"]);
        assert!(batch.unsubscribe.is_empty());
        assert_eq!(router.confirmed(&batch.subscribe).len(), 2);
        router.finished();
        assert_eq!(router.subscribed(), 2);
        assert!(router.take_batch().is_empty());

        // One of two interests gone: still wanted; both gone: let go.
        router.release("c.1", "n:t", "1");
        assert!(router.take_batch().is_empty());
        router.release("c.1", "n:t", "1");
        let batch = router.take_batch();
        assert_eq!(batch.unsubscribe, ["c.1"]);
        router.released(&batch.unsubscribe);
        assert_eq!(router.subscribed(), 1);
    }

    #[test]
    fn interest_that_comes_and_goes_before_the_broker_answers_costs_nothing() {
        let router = Router::new();
        router.acquire("c.1", "n:t", "1");
        router.release("c.1", "n:t", "1");
        assert!(router.take_batch().is_empty());

        // Gone while the subscription was in flight: let go right after.
        router.acquire("c.2", "n:t", "2");
        let batch = router.take_batch();
        router.release("c.2", "n:t", "2");
        router.confirmed(&batch.subscribe);
        assert_eq!(router.take_batch().unsubscribe, ["c.2"]);
    }

    #[test]
    fn a_lost_connection_keeps_what_is_wanted_to_subscribe_again() {
        let router = Router::new();
        router.acquire("c.1", "n:t", "1");
        router.acquire("c.2", "n:t", "2");
        let batch = router.take_batch();
        router.confirmed(&batch.subscribe);
        router.release("c.2", "n:t", "2");
        let mut again = router.lost(false);
        again.sort();
        assert_eq!(again, ["c.1"]);
        assert_eq!(router.subscribed(), 0);
    }

    #[tokio::test]
    async fn settled_waits_for_the_broker() {
        let router = std::sync::Arc::new(Router::new());
        router.acquire("c.1", "n:t", "1");
        let waiting = tokio::spawn({
            let router = router.clone();
            async move { router.settled().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        let batch = router.take_batch();
        router.confirmed(&batch.subscribe);
        router.finished();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("settled once confirmed")
            .expect("no panic");
    }
}
