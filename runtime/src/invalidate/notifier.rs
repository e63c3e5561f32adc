//! [`Notifier`]: in-memory invalidation by key, optionally shared between processes through a
//! [`Backplane`](crate::backplane::Backplane).

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use futures::task::AtomicWaker;

use super::{IntoInvalidation, Invalidation};
use crate::backplane::{Backplane, Interest, Listener, Registration, Scope, message};

/// Wakes the live views that depend on a key (a user, a room, a document) when it changes.
///
/// [`subscribe`](Notifier::subscribe) gives a [`Subscription`] (an invalidation source) for one
/// key; [`notify`](Notifier::notify) wakes every subscription of that key and
/// [`notify_all`](Notifier::notify_all) every subscription of every key.
///
/// A notifier is lossy by design: an invalidation carries no data, so a subscription holds a
/// single "changed" flag, never a queue. Woken 1000 times before it looks, it wakes once.
/// Subscriptions unregister when dropped and a key without subscriptions uses no memory.
/// Cloning a notifier is cheap and every clone shares the same subscriptions, so keep it in
/// axum state.
///
/// ```
/// use futures::StreamExt;
/// use livestar::invalidate::Notifier;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let changed: Notifier<u64> = Notifier::new();
/// let mut alice = changed.subscribe(&1);
/// changed.notify(&1);
/// changed.notify(&1); // coalesced with the first
/// assert_eq!(alice.next().await, Some(()));
/// assert_eq!(changed.subscriptions(), 1);
/// drop(alice);
/// assert_eq!(changed.subscriptions(), 0);
/// # });
/// ```
///
/// # Across processes
/// [`Notifier::with_backplane`] also publishes each notification on a broker, and wakes local
/// subscriptions for notifications published by other processes. See
/// [`backplane`](crate::backplane) for what happens when the broker is unreachable.
pub struct Notifier<K> {
    shared: Arc<Shared<K>>,
}

impl<K> Clone for Notifier<K> {
    fn clone(&self) -> Self {
        Notifier {
            shared: self.shared.clone(),
        }
    }
}

impl<K> fmt::Debug for Notifier<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("subscriptions", &self.shared.live.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

struct Shared<K> {
    table: Mutex<HashMap<K, Subscribers>>,
    next_id: AtomicU64,
    live: AtomicUsize,
    remote: Option<Remote<K>>,
}

struct Remote<K> {
    backplane: Backplane,
    topic: String,
    encode: fn(&K) -> String,
    _registration: Registration,
}

/// The subscriptions of one key, and (with a backplane that routes by interest) what keeps
/// this process subscribed to the key's route.
struct Subscribers {
    flags: HashMap<u64, Arc<Flag>>,
    _interest: Interest,
}

/// The "changed" flag of one subscription and the task waiting on it.
#[derive(Default)]
struct Flag {
    pending: AtomicBool,
    waker: AtomicWaker,
}

impl Flag {
    fn raise(&self) {
        self.pending.store(true, Ordering::Release);
        self.waker.wake();
    }
}

impl<K> Default for Notifier<K>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Notifier::new()
    }
}

impl<K> Notifier<K>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
{
    /// A notifier that wakes subscriptions of this process only.
    ///
    /// ```
    /// let changed = livestar::invalidate::Notifier::<String>::new();
    /// # drop(changed);
    /// ```
    pub fn new() -> Self {
        Notifier {
            shared: Arc::new(Shared {
                table: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(0),
                live: AtomicUsize::new(0),
                remote: None,
            }),
        }
    }

    /// A source that wakes whenever `key` is notified, in this process or (with a backplane)
    /// in any other.
    ///
    /// The subscription is registered at once: a notification sent after this call and before
    /// the first poll is not lost.
    ///
    /// ```
    /// use livestar::invalidate::{IntoInvalidation, Notifier};
    ///
    /// let changed = Notifier::<u32>::new();
    /// let source = changed.subscribe(&7).into_invalidation();
    /// # drop(source);
    /// ```
    pub fn subscribe(&self, key: &K) -> Subscription<K> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let flag = Arc::new(Flag::default());
        lock(&self.shared.table)
            .entry(key.clone())
            .or_insert_with(|| Subscribers {
                flags: HashMap::new(),
                _interest: match &self.shared.remote {
                    Some(remote) => remote
                        .backplane
                        .interest(&remote.topic, Scope::Key(&(remote.encode)(key))),
                    None => Interest::none(),
                },
            })
            .flags
            .insert(id, flag.clone());
        self.shared.live.fetch_add(1, Ordering::Relaxed);
        Subscription {
            shared: Arc::downgrade(&self.shared),
            key: Some(key.clone()),
            id,
            flag,
        }
    }

    /// Wakes every subscription of `key` (and, with a backplane, publishes the key so other
    /// processes wake theirs). Returns the number of local subscriptions woken.
    ///
    /// ```
    /// let changed = livestar::invalidate::Notifier::<&'static str>::new();
    /// let _sub = changed.subscribe(&"todos");
    /// assert_eq!(changed.notify(&"todos"), 1);
    /// assert_eq!(changed.notify(&"other"), 0);
    /// ```
    pub fn notify(&self, key: &K) -> usize {
        let woken = self.shared.wake_key(key);
        if let Some(remote) = &self.shared.remote {
            let body = (remote.encode)(key);
            remote.backplane.publish(
                &remote.topic,
                Scope::Key(&body),
                message::Kind::Key,
                Bytes::from(body.clone()),
            );
        }
        woken
    }

    /// Wakes every subscription of every key, here and (with a backplane) in every process.
    /// Returns the number of local subscriptions woken.
    ///
    /// ```
    /// let changed = livestar::invalidate::Notifier::<u8>::new();
    /// let (_a, _b) = (changed.subscribe(&1), changed.subscribe(&2));
    /// assert_eq!(changed.notify_all(), 2);
    /// ```
    pub fn notify_all(&self) -> usize {
        let woken = self.shared.wake_all();
        if let Some(remote) = &self.shared.remote {
            remote.backplane.publish(
                &remote.topic,
                Scope::Everyone,
                message::Kind::All,
                Bytes::new(),
            );
        }
        woken
    }

    /// The number of live subscriptions of this notifier (all clones), in this process.
    ///
    /// ```
    /// let changed = livestar::invalidate::Notifier::<u8>::new();
    /// let sub = changed.subscribe(&1);
    /// assert_eq!(changed.subscriptions(), 1);
    /// drop(sub);
    /// assert_eq!(changed.subscriptions(), 0);
    /// ```
    pub fn subscriptions(&self) -> usize {
        self.shared.live.load(Ordering::Relaxed)
    }

    /// The number of keys that have at least one subscription, in this process.
    ///
    /// ```
    /// let changed = livestar::invalidate::Notifier::<u8>::new();
    /// let sub = changed.subscribe(&1);
    /// assert_eq!(changed.keys(), 1);
    /// drop(sub);
    /// assert_eq!(changed.keys(), 0);
    /// ```
    pub fn keys(&self) -> usize {
        lock(&self.shared.table).len()
    }
}

impl<K> Notifier<K>
where
    K: Eq + Hash + Clone + Send + Sync + fmt::Display + FromStr + 'static,
{
    /// A notifier whose notifications reach the subscriptions of every process connected to
    /// `backplane` under the same `name`.
    ///
    /// Keys travel as their `Display` text and are read back with `FromStr`; a key that does
    /// not parse is logged and ignored. Several notifiers can share one backplane under
    /// different names.
    ///
    /// Failures: local subscriptions are always woken at once, broker or not. While the broker
    /// is unreachable, notifications from and to other processes are lost; when the backplane
    /// has reconnected, every subscription of this notifier is woken once, so every view
    /// reloads and none stays stale.
    ///
    /// ```no_run
    /// # #[cfg(feature = "redis")]
    /// # async fn run() -> Result<(), livestar::backplane::BackplaneError> {
    /// use livestar::backplane::Redis;
    /// use livestar::invalidate::Notifier;
    ///
    /// let backplane = Redis::connect("redis://127.0.0.1:6379").await?;
    /// let changed: Notifier<u64> = Notifier::with_backplane(&backplane, "todos");
    /// changed.notify(&42); // wakes user 42's views in every process
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_backplane(backplane: &Backplane, name: &str) -> Self {
        let topic = format!("n:{name}");
        let shared = Arc::new_cyclic(|weak: &Weak<Shared<K>>| {
            let listener: Arc<dyn Listener> = Arc::new(NotifierListener {
                shared: weak.clone(),
            });
            let registration = backplane.register(&topic, listener);
            Shared {
                table: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(0),
                live: AtomicUsize::new(0),
                remote: Some(Remote {
                    backplane: backplane.clone(),
                    topic: topic.clone(),
                    encode: |key| key.to_string(),
                    _registration: registration,
                }),
            }
        });
        Notifier { shared }
    }
}

impl<K: Eq + Hash> Shared<K> {
    fn wake_key(&self, key: &K) -> usize {
        let table = lock(&self.table);
        match table.get(key) {
            Some(subscribers) => {
                subscribers.flags.values().for_each(|flag| flag.raise());
                subscribers.flags.len()
            }
            None => 0,
        }
    }

    fn wake_all(&self) -> usize {
        let table = lock(&self.table);
        table
            .values()
            .flat_map(|subscribers| subscribers.flags.values())
            .map(|flag| flag.raise())
            .count()
    }
}

/// Messages from other processes wake local subscriptions.
struct NotifierListener<K> {
    shared: Weak<Shared<K>>,
}

impl<K> Listener for NotifierListener<K>
where
    K: Eq + Hash + FromStr + Send + Sync + 'static,
{
    fn deliver(&self, kind: message::Kind, body: &Bytes) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        match kind {
            message::Kind::All => {
                shared.wake_all();
            }
            message::Kind::Key => match std::str::from_utf8(body).ok().map(K::from_str) {
                Some(Ok(key)) => {
                    shared.wake_key(&key);
                }
                _ => tracing::warn!(
                    key = %String::from_utf8_lossy(body),
                    "livestar backplane: ignored a notification whose key does not parse"
                ),
            },
            other => tracing::warn!(
                ?other,
                "livestar backplane: ignored a hub message sent to a notifier"
            ),
        }
    }

    fn healed(&self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.wake_all();
        }
    }

    fn routed(&self, scope_key: &str) {
        // A notification sent before the broker confirmed the key's route passed us by.
        if let (Some(shared), Ok(key)) = (self.shared.upgrade(), K::from_str(scope_key)) {
            shared.wake_key(&key);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the table inconsistent (every update is a
    // single insert or remove), so a poisoned lock is still safe to use.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The invalidation source of one key of a [`Notifier`]; a `Stream` of wake-ups that never ends.
///
/// Dropping it unregisters it; a key whose last subscription is dropped is forgotten.
///
/// ```
/// use futures::StreamExt;
/// use livestar::invalidate::Notifier;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let changed = Notifier::<&'static str>::new();
/// let mut room = changed.subscribe(&"lobby");
/// for _ in 0..1000 {
///     changed.notify(&"lobby");
/// }
/// assert_eq!(room.next().await, Some(())); // once for the whole burst
/// assert!(room.is_pending() == false);
/// # });
/// ```
#[must_use = "a subscription wakes nothing unless it is polled"]
pub struct Subscription<K: Eq + Hash> {
    shared: Weak<Shared<K>>,
    key: Option<K>,
    id: u64,
    flag: Arc<Flag>,
}

impl<K: Eq + Hash> Subscription<K> {
    /// Whether a notification arrived that the subscription has not yielded yet.
    ///
    /// ```
    /// let changed = livestar::invalidate::Notifier::<u8>::new();
    /// let sub = changed.subscribe(&1);
    /// changed.notify(&1);
    /// assert!(sub.is_pending());
    /// ```
    pub fn is_pending(&self) -> bool {
        self.flag.pending.load(Ordering::Acquire)
    }

    /// The key this subscription listens to.
    ///
    /// ```
    /// let changed = livestar::invalidate::Notifier::<u8>::new();
    /// assert_eq!(changed.subscribe(&3).key(), &3);
    /// ```
    pub fn key(&self) -> &K {
        // Only `Drop` takes the key out.
        self.key.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl<K: Eq + Hash> Stream for Subscription<K> {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        if self.flag.pending.swap(false, Ordering::AcqRel) {
            return Poll::Ready(Some(()));
        }
        self.flag.waker.register(cx.waker());
        // A notification may have come between the check and the registration.
        if self.flag.pending.swap(false, Ordering::AcqRel) {
            return Poll::Ready(Some(()));
        }
        Poll::Pending
    }
}

impl<K> IntoInvalidation for Subscription<K>
where
    K: Eq + Hash + Send + Sync + 'static,
{
    fn into_invalidation(self) -> Invalidation {
        // One flag per subscription: notifications while it is set are one wake-up.
        Invalidation::from_flag(self)
    }
}

impl<K: Eq + Hash> Drop for Subscription<K> {
    fn drop(&mut self) {
        let (Some(shared), Some(key)) = (self.shared.upgrade(), self.key.take()) else {
            return;
        };
        let mut table = lock(&shared.table);
        if let Some(subscribers) = table.get_mut(&key)
            && subscribers.flags.remove(&self.id).is_some()
        {
            shared.live.fetch_sub(1, Ordering::Relaxed);
            if subscribers.flags.is_empty() {
                table.remove(&key);
            }
        }
    }
}

impl<K: Eq + Hash> fmt::Debug for Subscription<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("pending", &self.is_pending())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use futures::task::noop_waker_ref;

    fn poll_once<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
        stream.poll_next_unpin(&mut Context::from_waker(noop_waker_ref()))
    }

    #[test]
    fn a_burst_wakes_once() {
        let changed = Notifier::<u8>::new();
        let mut sub = changed.subscribe(&1);
        for _ in 0..1000 {
            changed.notify(&1);
        }
        assert_eq!(poll_once(&mut sub), Poll::Ready(Some(())));
        assert_eq!(poll_once(&mut sub), Poll::Pending);
    }

    #[test]
    fn a_dropped_key_uses_no_memory() {
        let changed = Notifier::<String>::new();
        let subs: Vec<_> = (0..10).map(|n| changed.subscribe(&n.to_string())).collect();
        assert_eq!(changed.keys(), 10);
        drop(subs);
        assert_eq!(changed.keys(), 0);
        assert_eq!(changed.subscriptions(), 0);
    }

    #[test]
    fn a_subscription_outliving_its_notifier_never_wakes() {
        let changed = Notifier::<u8>::new();
        let mut sub = changed.subscribe(&1);
        drop(changed);
        assert_eq!(poll_once(&mut sub), Poll::Pending);
    }
}
