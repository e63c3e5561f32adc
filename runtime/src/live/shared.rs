//! Live views shared by key (`#[live_view(.., shared = key)]`): the connections of one key in
//! a process share one load and render per wake-up, and receive the same encoded bytes.
//!
//! The first connection of a key runs the first load itself (so its `Err` is its HTTP
//! response), then hands the key's view to a task that owns the invalidation sources of that
//! first connection and reloads on their wake-ups, with the rules of every live view
//! (coalescing, identical renders not sent, failures keep the last view). Each connection
//! follows the key's latest patch through a `watch` channel: one that falls behind gets the
//! newest patch, never a backlog. The task, and with it every subscription, ends when the
//! last connection of the key goes away.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use tokio::sync::watch;

use super::private::{Config, SharedKey};
use super::runner::{Runner, jittered};
use super::{Gauge, OPEN_VIEWS};
use crate::event::{ContentId, Event};
use crate::invalidate::Invalidation;

/// The keys of one shared live view that have connections in this process. One per
/// `#[live_view(.., shared = ..)]`, a `static` of its handler.
pub struct SharedViews {
    /// Type-erased `HashMap<K, Arc<Slot>>` by the key's type (one type per live view).
    tables: Mutex<Option<HashMap<TypeId, Box<dyn Any + Send>>>>,
}

impl SharedViews {
    /// No keys.
    #[allow(clippy::new_without_default)] // a `static`'s initialiser: it must be `const`
    pub const fn new() -> Self {
        SharedViews {
            tables: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<HashMap<TypeId, Box<dyn Any + Send>>>> {
        self.tables
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the table of keys of type `K`.
    fn with<K: SharedKey, R>(&self, f: impl FnOnce(&mut HashMap<K, Arc<Slot>>) -> R) -> R {
        let mut tables = self.lock();
        let table = tables
            .get_or_insert_with(HashMap::new)
            .entry(TypeId::of::<K>())
            .or_insert_with(|| Box::new(HashMap::<K, Arc<Slot>>::new()));
        match table.downcast_mut::<HashMap<K, Arc<Slot>>>() {
            Some(table) => f(table),
            // The entry of `TypeId::of::<K>()` is always a table of `K`.
            None => unreachable!("shared live view table of the wrong type"),
        }
    }

    /// The number of keys with connections (for tests and metrics).
    pub fn keys<K: SharedKey>(&self) -> usize {
        self.with::<K, _>(|table| table.len())
    }
}

/// What the connections of one key see.
#[derive(Clone)]
enum Published {
    /// The first connection is loading.
    Starting,
    /// The latest patch sent, and its content id.
    Ready(ContentId, Event),
    /// The first load failed: each waiting connection loads for itself.
    Failed,
}

struct Slot {
    tx: watch::Sender<Published>,
}

/// Removes a key that never got its first view (the first load failed or its connection went
/// away meanwhile), telling its waiting connections to load for themselves.
struct Starting<K: SharedKey> {
    views: &'static SharedViews,
    key: Option<K>,
    slot: Arc<Slot>,
}

impl<K: SharedKey> Starting<K> {
    fn started(mut self) {
        self.key = None;
    }
}

impl<K: SharedKey> Drop for Starting<K> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            forget(self.views, &key, &self.slot);
            self.slot.tx.send_replace(Published::Failed);
        }
    }
}

/// Removes `key`'s entry if it is still `slot`.
fn forget<K: SharedKey>(views: &SharedViews, key: &K, slot: &Arc<Slot>) {
    views.with::<K, _>(|table| {
        if table.get(key).is_some_and(|held| Arc::ptr_eq(held, slot)) {
            table.remove(key);
        }
    });
}

pub(crate) async fn serve<K, T, E, L, Fut, V>(
    views: &'static SharedViews,
    key: K,
    config: Config,
    last_event_id: Option<String>,
    wakeups: Invalidation,
    load: L,
    view: V,
) -> Response
where
    K: SharedKey,
    L: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    E: IntoResponse,
    T: Send + 'static,
    V: Fn(&T) -> String + Send + Sync + 'static,
{
    let (mut rx, lead) = views.with::<K, _>(|table| match table.get(&key) {
        Some(slot) => (slot.tx.subscribe(), None),
        None => {
            let (tx, rx) = watch::channel(Published::Starting);
            let slot = Arc::new(Slot { tx });
            table.insert(key.clone(), slot.clone());
            (rx, Some(slot))
        }
    });
    let heartbeat = config.heartbeat.clone();
    let retry = jittered(config.retry);
    let mut runner = Runner::new(load, view, config);
    if let Some(slot) = lead {
        let starting = Starting {
            views,
            key: Some(key.clone()),
            slot: slot.clone(),
        };
        let (id, patch) = match runner.first_patch().await {
            Ok(first) => first,
            Err(response) => return response,
        };
        slot.tx.send_replace(Published::Ready(id, patch));
        starting.started();
        tokio::spawn(drive(views, key, slot, runner.updates(None, wakeups)));
    } else {
        let failed = match rx
            .wait_for(|published| !matches!(published, Published::Starting))
            .await
        {
            Ok(published) => matches!(*published, Published::Failed),
            Err(_) => true,
        };
        if failed {
            // The first connection could not load: this one tries for itself, unshared, so
            // its own error (or view) is what it gets.
            return runner.serve(last_event_id, wakeups).await;
        }
        drop(wakeups);
    }
    crate::stream(follow(rx, last_event_id))
        .heartbeat(heartbeat)
        .retry(retry)
        .owning(Gauge::new(&OPEN_VIEWS))
        .into_response()
}

/// Reloads the key's view on every burst of wake-ups and publishes each new patch, until the
/// last connection of the key has gone.
async fn drive<K, S>(views: &'static SharedViews, key: K, slot: Arc<Slot>, updates: S)
where
    K: SharedKey,
    S: Stream<Item = Event> + LastSent + Send,
{
    let mut updates = std::pin::pin!(updates);
    loop {
        tokio::select! {
            patch = updates.next() => match patch {
                Some(patch) => {
                    if let Some(id) = updates.as_mut().last_sent() {
                        slot.tx.send_replace(Published::Ready(id, patch));
                    }
                }
                // Nothing can wake the view again: it stays as it is.
                None => {
                    slot.tx.closed().await;
                }
            },
            () = slot.tx.closed() => {}
        }
        if slot.tx.is_closed() {
            // Checked again under the table's lock, where connections subscribe.
            let gone = views.with::<K, _>(|table| {
                let gone = slot.tx.receiver_count() == 0;
                if gone && table.get(&key).is_some_and(|held| Arc::ptr_eq(held, &slot)) {
                    table.remove(&key);
                }
                gone
            });
            if gone {
                return;
            }
        }
    }
}

/// The content id of the last patch a stream of patches yielded.
pub(crate) trait LastSent {
    fn last_sent(self: std::pin::Pin<&mut Self>) -> Option<ContentId>;
}

/// One connection's events: the key's current patch (unless its `Last-Event-ID` says the
/// page has it), then the latest patch after each change.
fn follow(
    rx: watch::Receiver<Published>,
    last_event_id: Option<String>,
) -> impl Stream<Item = Event> + Send + 'static {
    futures::stream::unfold(
        (rx, last_event_id, true),
        |(mut rx, last_event_id, mut first)| async move {
            loop {
                if !first && rx.changed().await.is_err() {
                    return None;
                }
                let current = rx.borrow_and_update().clone();
                let Published::Ready(id, patch) = current else {
                    first = false;
                    continue;
                };
                if first
                    && last_event_id
                        .as_deref()
                        .is_some_and(|last| id.matches(last))
                {
                    return Some((None, (rx, None, false)));
                }
                return Some((Some(patch), (rx, None, false)));
            }
        },
    )
    .filter_map(futures::future::ready)
}
