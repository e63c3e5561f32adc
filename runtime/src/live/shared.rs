//! Live views shared by key (`#[live_view(.., shared = key)]`): the connections of one key in
//! a process share one load and render per wake-up, and receive the same encoded bytes.
//!
//! The first connection of a key runs the first load itself (so its `Err` is its HTTP
//! response), then hands the key's view to a task that owns the invalidation sources of that
//! first connection and reloads on their wake-ups, with the rules of every live view
//! (coalescing, identical renders not sent, failures keep the last view). Each connection
//! follows the key's latest patch through a `broadcast` channel of one slot: one that falls
//! behind gets the newest patch, never a backlog, and every connection reads the same slot,
//! so a wake-up costs each connection little more than its own write. The task, and with it
//! every subscription, ends when the last connection of the key goes away.
//!
//! Compressed connections go one step further: those that start alike (the same first view,
//! encoding and retry hint, as in a reconnect storm) send the same bytes, compressed once
//! for all of them (see [`crate::stream::group`]). Their retry hint is jittered in a few
//! steps rather than freely, so that such connections exist.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast;
use tracing::Instrument;

use super::config::{Config, Connect};
use super::runner::{Runner, jittered, jittered_in_steps};
use crate::compress::Encoding;
use crate::event::{ContentId, Event};
use crate::invalidate::Invalidation;
use crate::metrics::{InSpan, OpenView};
use crate::stream::group::{Groups, Start};

/// The steps a shared view's retry hint is jittered in: connections of one step can share
/// a compressor.
const RETRY_STEPS: u64 = 16;

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

/// Checks the type of a `shared = key` expression.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the key of a shared live view",
    label = "the connections of one key share one render, so the key must be `Hash + Eq + Clone + Send + Sync + 'static`",
    note = "use an owned value, e.g. `shared = user.clone()` for a `String`, or `shared = ()` for one view shared by everyone"
)]
pub trait SharedKey: std::hash::Hash + Eq + Clone + Send + Sync + 'static {}

impl<K: std::hash::Hash + Eq + Clone + Send + Sync + 'static> SharedKey for K {}

/// What the connections of one key see.
#[derive(Clone)]
enum Published {
    /// The first connection is loading.
    Starting,
    /// The latest patch sent, and its content id.
    Ready(ContentId, Event),
    /// The first load failed: each waiting connection loads for itself.
    Failed,
    /// A reload answered 401 or 403: the connections of the key end.
    Revoked,
}

/// One key's latest patch and its followers.
struct Slot {
    /// What a new connection starts from; replaced under this lock with each send, so a
    /// connection that subscribes sees every patch after the one it starts from.
    current: Mutex<Published>,
    tx: broadcast::Sender<Published>,
    /// The connections of the key whose streams are compressed, grouped by how they start.
    groups: Groups,
}

impl Slot {
    fn new() -> Arc<Slot> {
        Arc::new(Slot {
            current: Mutex::new(Published::Starting),
            // One slot: a follower that falls behind skips to the newest patch.
            tx: broadcast::channel(1).0,
            groups: Groups::default(),
        })
    }

    fn current(&self) -> MutexGuard<'_, Published> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn publish(&self, published: Published) {
        let mut current = self.current();
        *current = published.clone();
        // No follower is not an error: the last one may have gone a moment ago.
        let _ = self.tx.send(published);
    }

    /// The current patch, and the ones after it.
    fn subscribe(&self) -> (Published, broadcast::Receiver<Published>) {
        let current = self.current();
        (current.clone(), self.tx.subscribe())
    }
}

/// The next patch published, the newest one for a follower that fell behind; `None` when the
/// key's task has ended.
async fn next_published(rx: &mut broadcast::Receiver<Published>) -> Option<Published> {
    loop {
        match rx.recv().await {
            Ok(published) => return Some(published),
            Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
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
            self.slot.publish(Published::Failed);
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
    connect: Connect,
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
    V: Fn(&T, &mut String) + Send + Sync + 'static,
{
    let (slot, lead) = views.with::<K, _>(|table| match table.get(&key) {
        Some(slot) => (slot.clone(), false),
        None => {
            let slot = Slot::new();
            table.insert(key.clone(), slot.clone());
            (slot, true)
        }
    });
    let (mut current, mut rx) = slot.subscribe();
    let heartbeat = config.heartbeat.clone();
    let base_retry = config.retry;
    let compress = config.compress;
    let mut runner = Runner::new(load, view, config);
    let route = runner.metrics().clone();
    let span = runner.span().clone();
    if lead {
        let starting = Starting {
            views,
            key: Some(key.clone()),
            slot: slot.clone(),
        };
        let (id, patch) = match runner.first_patch().instrument(span.clone()).await {
            Ok(first) => first,
            Err(response) => return response,
        };
        slot.publish(Published::Ready(id, patch));
        // Subscribed again: the first patch is `current`, not also the next one received.
        (current, rx) = slot.subscribe();
        starting.started();
        tokio::spawn(
            drive(views, key, slot.clone(), runner.updates(None, wakeups)).instrument(span.clone()),
        );
    } else {
        while matches!(current, Published::Starting) {
            current = next_published(&mut rx).await.unwrap_or(Published::Failed);
        }
        if matches!(current, Published::Failed | Published::Revoked) {
            // The first connection could not load: this one tries for itself, unshared, so
            // its own error (or view) is what it gets.
            return runner.serve(connect, wakeups).await;
        }
        drop(wakeups);
    }
    let compression = crate::compress::default();
    let encoding = connect.accept.negotiate(&compression);
    let shares = compress && compression.shares() && encoding != Encoding::Identity;
    if let (true, Published::Ready(id, _)) = (shares, &current) {
        // Connections that start alike send alike: one compressor for all of them.
        let page_has_it = connect
            .last_event_id
            .as_deref()
            .is_some_and(|last| id.matches(last));
        let id = id.as_u64();
        // The retry hint in one of a few steps, so that connections can share a start.
        let retry = jittered_in_steps(base_retry, RETRY_STEPS);
        let last_event_id = connect.last_event_id;
        return slot.groups.respond(
            encoding,
            &compression,
            retry,
            Start::of(id, page_has_it),
            move || {
                crate::stream(InSpan::new(follow(current, rx, last_event_id), span))
                    .heartbeat(heartbeat)
            },
            OpenView::new(route),
        );
    }
    let live = crate::stream(InSpan::new(
        follow(current, rx, connect.last_event_id),
        span,
    ))
    .heartbeat(heartbeat)
    .retry(jittered(base_retry))
    .owning(OpenView::new(route));
    if compress {
        live.encoded(encoding, &compression).into_response()
    } else {
        live.into_response()
    }
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
                        slot.publish(Published::Ready(id, patch));
                    }
                }
                // A reload answered 401 or 403: every connection of the key ends, and the
                // next one loads (and is authorized) afresh.
                None => {
                    forget(views, &key, &slot);
                    slot.publish(Published::Revoked);
                    return;
                }
            },
            () = slot.tx.closed() => {}
        }
        if slot.tx.receiver_count() == 0 {
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
    current: Published,
    mut rx: broadcast::Receiver<Published>,
    last_event_id: Option<String>,
) -> impl Stream<Item = Event> + Send + 'static {
    async_stream::stream! {
        let mut current = Some(current);
        let mut last_event_id = last_event_id;
        while let Some(published) = current {
            if matches!(published, Published::Revoked) {
                break;
            }
            if let Published::Ready(id, patch) = published {
                // Only the first patch is compared with the page's `Last-Event-ID`.
                let page_has_it = last_event_id.take().is_some_and(|last| id.matches(&last));
                if !page_has_it {
                    yield patch;
                }
            }
            current = next_published(&mut rx).await;
        }
    }
}
