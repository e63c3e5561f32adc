//! Backplanes: invalidations and hub sends shared between processes through an existing broker
//! (Redis, NATS or Postgres; features `redis`, `nats`, `postgres`), or in memory for tests.
//!
//! A [`Backplane`] is one broker channel shared by every [`Notifier`](crate::invalidate::Notifier)
//! and [`Hub`](crate::hub::Hub) built on it. Everything published in one process reaches every
//! process connected to the same channel; each process ignores its own messages (it delivered
//! them locally already).
//!
//! ```
//! use futures::StreamExt;
//! use livestar::backplane::{Backplane, MemoryBroker};
//! use livestar::invalidate::Notifier;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // Two "processes" on one in-memory broker.
//! let broker = MemoryBroker::new();
//! let a = Backplane::connect(broker.clone()).await?;
//! let b = Backplane::connect(broker.clone()).await?;
//! let on_a: Notifier<u64> = Notifier::with_backplane(&a, "todos");
//! let on_b: Notifier<u64> = Notifier::with_backplane(&b, "todos");
//! let mut view_on_b = on_b.subscribe(&42);
//! on_a.notify(&42);
//! assert_eq!(view_on_b.next().await, Some(()));
//! # Ok::<_, livestar::backplane::BackplaneError>(())
//! # }).unwrap();
//! ```
//!
//! # What each failure does
//! - **Broker unreachable at start**: [`Backplane::connect`] (and `Redis::connect`...) returns
//!   the error, so a misconfigured app fails at boot.
//! - **Connection lost later**: local delivery keeps working; messages published meanwhile are
//!   dropped (logged at `warn`) and messages from other processes are missed. The backplane
//!   reconnects with exponential backoff (50 ms doubling to 5 s by default), each delay
//!   jittered between 50 and 100 %.
//!   Once it has subscribed again it *heals*: every subscription of every notifier on it wakes
//!   once, and every hub room or session with a loader sends its current state again, so no
//!   live view stays stale. [`Backplane::heals`] counts these. Heals run at a random point of
//!   a window (1 s by default, [`BackplaneBuilder::heal_window`]) and at most once per window,
//!   so processes that reconnect together, or a broker that flaps, do not reload everything
//!   at once or again and again.
//! - **Publishing while the broker is away**: messages wait in the outbox, in order, and a
//!   failed publish is retried with the same backoff; once they went out, one *heal* message
//!   follows, so a process that healed on its own before this backlog arrived reloads again
//!   and ends on the current state, not on the backlog's.
//! - **Publishing in bursts**: what waits goes out in batches of up to 256 messages, in order
//!   ([`Transport::publish_batch`]: one pipeline on Redis, pipelined statements on Postgres),
//!   so a burst costs round trips per batch, not per message. A batch that failed part way is
//!   retried from the first message not known to be out (on Redis, the whole batch: a
//!   message may then arrive twice, as a publish whose answer was lost can).
//! - **Publishing too fast, or a long outage**: up to [`BackplaneBuilder::max_outbox`] bytes of
//!   messages (16 MiB by default) wait for the broker. When a message does not fit, the
//!   backlog is not truncated: everything waiting, and everything sent until the broker is
//!   back, is dropped and counted ([`Backplane::dropped`]), and one heal message replaces it:
//!   every other process reloads everything once (views and rooms or sessions with a loader
//!   end on the current state; sends to rooms without a loader are lost).
//! - **A payload too large for the broker** (Postgres `NOTIFY` takes under 8000 bytes) is split
//!   into chunks published in order and reassembled by the receivers, up to
//!   [`BackplaneBuilder::max_message`] (1 MiB by default); a hub send larger than that is
//!   refused with [`SendError::TooLarge`](crate::hub::SendError) and delivered nowhere.
//! - **Hostile floods**: a received payload over `max_message` is refused unread; chunks wait
//!   in a table of at most 16 incomplete messages and twice `max_message` bytes (oldest
//!   dropped first, and after 30 s), and nothing is reserved from a chunk header's claims.
//!   Both are counted ([`Backplane::refused`], [`Backplane::pending_chunk_bytes`]). The
//!   Postgres listener holds at most 4096 notifications; past that its connection is closed
//!   and the backplane reconnects and heals, as for a lost connection.
//! - **Forged, altered or foreign messages**: every message is signed (HMAC-SHA256 over the
//!   channel name and the whole message) with the secret of [`BackplaneBuilder::secret`];
//!   one without a valid signature is dropped, counted ([`Backplane::forged`]) and logged at
//!   `warn` (one line per 10 s with the count, so a flood does not flood the log), never
//!   delivered; oversized, malformed and bad chunked payloads are logged the same way. Without a configured secret the public
//!   [`DEVELOPMENT_SECRET`] is used and connecting logs a warning. Signatures do not stop a
//!   peer that has the secret, nor the replay of a message recorded on the same channel.
//!
//! # Interest routing
//! On Redis and NATS (and the memory broker) a process receives only the messages it has
//! local subscribers for: a notifier's key travels on a route of its own (a Redis channel, a
//! NATS subject: `<channel>.<hash of the notifier and key>`), and so does each hub room
//! (its sends and presence counts) and session (its sends). A process subscribes
//! to a route while it has a subscription to the key or a client in the room or session, and
//! lets it go with the last one, so adding processes does not add to what each one
//! receives. `notify_all`, session ends and heals stay on the channel, which every process
//! receives.
//! Measured with 8 processes sharing 10,000 keys, each process received one eighth of the
//! notifications (see the README's `routing-bench`).
//!
//! What it changes: a new subscription receives what other processes send once the broker
//! has confirmed its route, a round trip after it was made. So that nothing stays stale in
//! between, a notifier's subscriptions to a key are woken once when the key's route is
//! confirmed, and a hub room or session with a loader sends its current state again; a
//! plain send to a room in that instant is not repeated ([`Backplane::settled`] waits for
//! the confirmations). Every process on a channel must route alike
//! ([`BackplaneBuilder::route_by_interest`]). Postgres `LISTEN`/`NOTIFY` has one channel: every
//! process receives every message there. Redis Cluster's sharded pub/sub (`SSUBSCRIBE`) is
//! not used; on a cluster, routes are ordinary channels.
//!
//! # TLS to the broker
//! - **NATS**: a `tls://host:4222` URL requires TLS, checked against the system's root
//!   certificates, and a server that announces `tls_required` is upgraded to TLS;
//!   [`Nats::with_root_certificate`] trusts a private CA. No client certificate is sent.
//! - **Redis**: a `rediss://` URL connects over TLS (rustls), checked against the system's
//!   root certificates; [`Redis::with_root_certificate`] trusts a private CA. Creating a Redis
//!   transport makes `ring` the process's rustls provider unless one is set already. Both
//!   are tested against `redis-server` and `nats-server` with TLS on, a certificate the
//!   system does not trust refused (`tests/tests/backplane_tls.rs`).
//! - **Postgres**: `sslmode=require` connects over TLS (rustls) or not at all, the certificate
//!   checked against the system's roots and the host; [`Postgres::with_root_certificate`]
//!   trusts a private CA. The default `prefer` encrypts if offered, unchecked (as libpq).
//!
//! Signatures protect what is delivered, not what is read: without TLS, anyone on the path
//! reads the messages (and the events they carry).

mod auth;
mod builder;
mod chunks;
mod heal;
mod loops;
mod memory;
pub(crate) mod message;
#[cfg(feature = "nats")]
mod nats;
mod outbox;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
mod routes;
mod transport;
mod warnings;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use bytes::Bytes;
use tokio::sync::watch;
use tokio_util::sync::DropGuard;

use auth::Keys;
pub use builder::BackplaneBuilder;
use heal::HealSchedule;
pub use memory::MemoryBroker;
pub(crate) use message::Kind;
#[cfg(feature = "nats")]
pub use nats::Nats;
use outbox::{Outbox, Payloads, Pushed};
#[cfg(feature = "postgres")]
pub use postgres::Postgres;
#[cfg(feature = "redis")]
pub use redis::Redis;
use routes::Router;
pub(crate) use routes::{Interest, Scope};
pub use transport::{BackplaneError, BatchFailed, Inbox, Incoming, RoutedInbox, Routes, Transport};

/// The channel used unless [`BackplaneBuilder::channel`] names another. Connecting with it logs
/// a warning: every app and environment that keeps it shares one channel, and on a shared
/// Redis server staging and production would see each other's sends (pub/sub ignores
/// `SELECT`). Name the app and the environment instead (`"shop-prod"`).
///
/// ```
/// assert_eq!(livestar::backplane::DEFAULT_CHANNEL, "livestar");
/// ```
pub const DEFAULT_CHANNEL: &str = "livestar";

/// The secret used when [`BackplaneBuilder::secret`] is not called: public, so messages signed
/// with it are not authenticated at all (anyone who can publish on the broker can write into
/// every browser). For development only; connecting with it logs a warning.
///
/// ```
/// assert!(livestar::backplane::DEVELOPMENT_SECRET.contains("not secret"));
/// ```
pub const DEVELOPMENT_SECRET: &str = "livestar development backplane key: not secret";

/// Receives the messages of one topic (a notifier or a hub) and the heal signal.
pub(crate) trait Listener: Send + Sync {
    fn deliver(&self, kind: Kind, body: &Bytes);
    fn healed(&self);
    /// The route of `scope_key` (see [`Scope::key`]) was just confirmed by the broker:
    /// messages sent to it before may have passed this process by.
    fn routed(&self, scope_key: &str);
}

/// The listeners of each topic, with their registration ids.
type Listeners = HashMap<String, Vec<(u64, Arc<dyn Listener>)>>;

/// Keeps a listener registered; unregisters on drop.
pub(crate) struct Registration {
    inner: Weak<Inner>,
    topic: String,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            let mut listeners = lock(&inner.listeners);
            if let Some(list) = listeners.get_mut(&self.topic) {
                list.retain(|(id, _)| *id != self.id);
                if list.is_empty() {
                    listeners.remove(&self.topic);
                }
            }
        }
    }
}

/// A connection to a broker shared by notifiers and hubs; cheap to clone. See the
/// [module documentation](self) for what each failure does.
///
/// ```
/// use livestar::backplane::{Backplane, MemoryBroker};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let backplane = Backplane::builder().channel("myapp").connect(MemoryBroker::new()).await?;
/// assert!(backplane.is_connected());
/// # Ok::<_, livestar::backplane::BackplaneError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Backplane {
    inner: Arc<Inner>,
    _tasks: Arc<DropGuard>,
}

struct Inner {
    origin: u64,
    channel: String,
    broker: &'static str,
    max_payload: usize,
    max_message: usize,
    keys: Keys,
    forged: AtomicUsize,
    /// What peers sent that was refused, logged at most once per interval each.
    warnings: Warnings,
    listeners: Mutex<Listeners>,
    next_listener: AtomicU64,
    next_message: AtomicU64,
    outbox: Arc<Outbox>,
    dropped: AtomicUsize,
    refused: AtomicUsize,
    pending_chunk_bytes: AtomicUsize,
    heal_schedule: HealSchedule,
    status: watch::Sender<Status>,
    /// Payloads that arrived from the broker, whatever became of them.
    received: AtomicU64,
    /// Routes by interest, when the broker and the options allow it.
    routing: bool,
    router: Router,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.status.borrow().connected {
            crate::metrics::backplane().connected.decrement(1.0);
        }
        self.router.forget_subscribed();
    }
}

/// The warnings about what peers send, each at most one line per interval (with a count).
#[derive(Default)]
struct Warnings {
    oversized: warnings::Warning,
    forged: warnings::Warning,
    garbage: warnings::Warning,
    bad_chunks: warnings::Warning,
}

#[derive(Clone, Copy, Debug, Default)]
struct Status {
    connected: bool,
    heals: u64,
}

impl fmt::Debug for Backplane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backplane")
            .field("broker", &self.inner.broker)
            .field("channel", &self.inner.channel)
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

impl Backplane {
    /// Options: channel name, backoff, largest message.
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let backplane = Backplane::builder().channel("shop").connect(MemoryBroker::new()).await?;
    /// assert!(backplane.is_connected());
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn builder() -> BackplaneBuilder {
        BackplaneBuilder::default()
    }

    /// Connects through `transport` on the default channel; see [`BackplaneBuilder::connect`].
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let backplane = Backplane::connect(MemoryBroker::new()).await?;
    /// assert_eq!(backplane.broker(), "memory");
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect(transport: impl Transport) -> Result<Backplane, BackplaneError> {
        Backplane::builder().connect(transport).await
    }

    /// Whether the subscription is up now.
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let backplane = Backplane::connect(broker.clone()).await?;
    /// assert!(backplane.is_connected());
    /// broker.set_down(true);
    /// // The backplane notices on its own task.
    /// while backplane.is_connected() {
    ///     tokio::task::yield_now().await;
    /// }
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn is_connected(&self) -> bool {
        self.inner.status.borrow().connected
    }

    /// How many times the backplane healed: after reconnecting to its broker, or because
    /// another process lost messages (its outbox overflowed or waited for the broker). Heals
    /// requested close together count once (see [`BackplaneBuilder::heal_window`]).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let backplane = livestar::backplane::Backplane::connect(livestar::backplane::MemoryBroker::new()).await?;
    /// assert_eq!(backplane.heals(), 0);
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn heals(&self) -> u64 {
        self.inner.status.borrow().heals
    }

    /// Waits until the backplane has healed more than `seen` times; returns the new count.
    /// For tests and health checks.
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let backplane = Backplane::connect(broker.clone()).await?;
    /// let seen = backplane.heals();
    /// broker.interrupt();
    /// assert_eq!(backplane.healed_after(seen).await, seen + 1);
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub async fn healed_after(&self, seen: u64) -> u64 {
        let mut status = self.inner.status.subscribe();
        match status.wait_for(|s| s.heals > seen).await {
            Ok(s) => s.heals,
            // The sender lives in `inner`, which `self` keeps alive.
            Err(_) => seen,
        }
    }

    /// Messages dropped because the outbox was full (they were replaced by one heal; see the
    /// [module documentation](self)).
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let backplane = Backplane::connect(MemoryBroker::new()).await?;
    /// assert_eq!(backplane.dropped(), 0);
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn dropped(&self) -> usize {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Payloads received without a valid signature (not signed with this backplane's secret
    /// for its channel, altered on the way, or not livestar messages at all): dropped, never
    /// delivered. A rising count means someone else publishes on the channel, or a process
    /// runs with another secret.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use livestar::backplane::{Backplane, MemoryBroker, Transport};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let backplane = Backplane::builder().channel("shop").secret("0123456789abcdef").connect(broker.clone()).await?;
    /// broker.publish("shop", &[Bytes::from("ls1\n0000000000000001\nh:hub\nr\n1:r: hi\n\n")]).await?;
    /// while backplane.forged() == 0 {
    ///     tokio::task::yield_now().await;
    /// }
    /// assert_eq!(backplane.forged(), 1);
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn forged(&self) -> usize {
        self.inner.forged.load(Ordering::Relaxed)
    }

    /// Payloads refused before their signature was checked: larger than
    /// [`max_message`](Backplane::max_message), bad chunk headers, and incomplete chunked
    /// messages dropped to keep the reassembly table within its bounds (at most 16 messages
    /// and twice `max_message` bytes, oldest dropped first; see
    /// [`pending_chunk_bytes`](Backplane::pending_chunk_bytes)) or after 30 s.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use livestar::backplane::{Backplane, MemoryBroker, Transport};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let backplane = Backplane::builder().channel("shop").max_message(1024).connect(broker.clone()).await?;
    /// broker.publish("shop", &[Bytes::from("x".repeat(2048))]).await?;
    /// while backplane.refused() == 0 {
    ///     tokio::task::yield_now().await;
    /// }
    /// assert_eq!(backplane.forged(), 0); // refused before the signature is even checked
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn refused(&self) -> usize {
        self.inner.refused.load(Ordering::Relaxed)
    }

    /// The bytes held now by chunks of incomplete messages (each chunk counted with a 64-byte
    /// overhead): at most twice [`max_message`](Backplane::max_message), whatever peers on
    /// the broker send.
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let backplane = Backplane::connect(MemoryBroker::new()).await?;
    /// assert_eq!(backplane.pending_chunk_bytes(), 0);
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn pending_chunk_bytes(&self) -> usize {
        self.inner.pending_chunk_bytes.load(Ordering::Relaxed)
    }

    /// The most bytes of messages that wait for the broker; see
    /// [`BackplaneBuilder::max_outbox`].
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let backplane = Backplane::connect(MemoryBroker::new()).await?;
    /// assert_eq!(backplane.max_outbox(), 16 * 1024 * 1024); // the default
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn max_outbox(&self) -> usize {
        self.inner.outbox.max_bytes()
    }

    /// The channel this backplane publishes and listens on.
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker, DEFAULT_CHANNEL};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let named = Backplane::builder().channel("shop-prod").connect(MemoryBroker::new()).await?;
    /// assert_eq!(named.channel(), "shop-prod");
    /// // Logs a warning: the default is shared by everyone who keeps it.
    /// let default = Backplane::connect(MemoryBroker::new()).await?;
    /// assert_eq!(default.channel(), DEFAULT_CHANNEL);
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn channel(&self) -> &str {
        &self.inner.channel
    }

    /// The broker's name (`"redis"`, `"nats"`, `"postgres"`, `"memory"`).
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let backplane = Backplane::connect(MemoryBroker::new()).await?;
    /// assert_eq!(backplane.broker(), "memory");
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn broker(&self) -> &'static str {
        self.inner.broker
    }

    /// Whether this backplane routes by interest: messages for one key, room or session
    /// travel on a route of their own, and this process receives only those it has local
    /// subscribers for (see [interest routing](self#interest-routing)). True on Redis, NATS
    /// and the memory broker unless [`BackplaneBuilder::route_by_interest`] turned it off;
    /// false on Postgres.
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// assert!(Backplane::connect(MemoryBroker::new()).await?.routes_by_interest());
    /// let everything = Backplane::builder().route_by_interest(false).connect(MemoryBroker::new()).await?;
    /// assert!(!everything.routes_by_interest());
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn routes_by_interest(&self) -> bool {
        self.inner.routing
    }

    /// The routes the broker delivers to this process now: one per key, room and session with
    /// local subscribers (0 without interest routing).
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    /// use livestar::invalidate::Notifier;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let backplane = Backplane::connect(MemoryBroker::new()).await?;
    /// let changed: Notifier<u32> = Notifier::with_backplane(&backplane, "todos");
    /// let (a, b) = (changed.subscribe(&1), changed.subscribe(&2));
    /// backplane.settled().await;
    /// assert_eq!(backplane.routes(), 2);
    /// drop((a, b));
    /// backplane.settled().await;
    /// assert_eq!(backplane.routes(), 0);
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn routes(&self) -> usize {
        self.inner.router.subscribed()
    }

    /// Waits until the broker has confirmed the routes of every subscription, room and
    /// session joined in this process so far (returns at once without interest routing).
    /// Until then, what another process sends to them may pass this process by: notifier
    /// subscriptions and hub rooms or sessions with a loader are woken or reloaded once their
    /// route is confirmed, but a plain send to a room is not repeated. Tests that join in one
    /// process and send from another wait for this in between.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use livestar::backplane::{Backplane, MemoryBroker};
    /// use livestar::event::Event;
    /// use livestar::hub::Hub;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let (here, there) = (Backplane::connect(broker.clone()).await?, Backplane::connect(broker).await?);
    /// let (sender, receiver) = (Hub::builder().backplane(&here, "chat").build(), Hub::builder().backplane(&there, "chat").build());
    /// let mut tab = receiver.join_room("lobby").into_frames();
    /// there.settled().await;
    /// sender.room("lobby").send(Event::comment("hi")).unwrap();
    /// assert_eq!(tab.next().await.unwrap(), ": hi\n\n");
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub async fn settled(&self) {
        if self.inner.routing {
            self.inner.router.settled().await;
        }
    }

    /// Payloads that arrived from the broker since connecting, whatever became of them
    /// (delivered, this process's own, refused): what routing saves shows here.
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    /// use livestar::invalidate::Notifier;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let (here, there) = (Backplane::connect(broker.clone()).await?, Backplane::connect(broker).await?);
    /// let changed: Notifier<u32> = Notifier::with_backplane(&here, "todos");
    /// changed.notify(&1); // nobody subscribed to key 1: no process receives it
    /// changed.notify_all(); // for everyone: both receive it (here, its own)
    /// while there.received() < 1 {
    ///     tokio::task::yield_now().await;
    /// }
    /// assert_eq!(there.received(), 1);
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn received(&self) -> u64 {
        self.inner.received.load(Ordering::Relaxed)
    }

    /// The largest message a hub may send through this backplane.
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let backplane = Backplane::connect(MemoryBroker::new()).await?;
    /// assert_eq!(backplane.max_message(), 1024 * 1024); // the default
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn max_message(&self) -> usize {
        self.inner.max_message
    }

    pub(crate) fn register(&self, topic: &str, listener: Arc<dyn Listener>) -> Registration {
        let id = self.inner.next_listener.fetch_add(1, Ordering::Relaxed);
        lock(&self.inner.listeners)
            .entry(topic.to_owned())
            .or_default()
            .push((id, listener));
        Registration {
            inner: Arc::downgrade(&self.inner),
            topic: topic.to_owned(),
            id,
        }
    }

    /// Keeps this process subscribed to the messages of `scope` on `topic` while the result
    /// lives (with interest routing; otherwise every message arrives anyway).
    pub(crate) fn interest(&self, topic: &str, scope: Scope<'_>) -> Interest {
        if !self.inner.routing {
            return Interest::none();
        }
        match routes::route(&self.inner.channel, topic, scope) {
            Some(route) => Interest::new(&self.inner, route, topic, scope.key()),
            None => Interest::none(),
        }
    }

    /// The size `body` would have on the wire.
    pub(crate) fn encoded_len(&self, topic: &str, body_len: usize) -> usize {
        message::encoded_len(topic, body_len)
    }

    /// Queues a message for every other process interested in `scope`; never waits.
    pub(crate) fn publish(&self, topic: &str, scope: Scope<'_>, kind: Kind, body: Bytes) {
        let inner = &self.inner;
        let encoded = message::encode(
            &inner.keys,
            &inner.channel,
            inner.origin,
            topic,
            kind,
            &body,
        );
        let id = inner.next_message.fetch_add(1, Ordering::Relaxed);
        let route = if inner.routing {
            routes::route(&inner.channel, topic, scope)
        } else {
            None
        };
        let payloads = Payloads {
            route,
            parts: message::split(inner.origin, id, encoded, inner.max_payload),
        };
        match inner.outbox.push(payloads) {
            Pushed::Queued => {}
            Pushed::Overflowed(backlog) => {
                inner.dropped.fetch_add(backlog + 1, Ordering::Relaxed);
                crate::metrics::backplane()
                    .out_dropped
                    .increment(backlog as u64 + 1);
                tracing::warn!(
                    broker = inner.broker,
                    dropped = backlog + 1,
                    "livestar backplane: outbox full; its messages are dropped and replaced by one heal (every other process reloads everything once the broker is back)"
                );
            }
            Pushed::Covered => {
                inner.dropped.fetch_add(1, Ordering::Relaxed);
                crate::metrics::backplane().out_dropped.increment(1);
            }
        }
    }
}

impl Inner {
    /// Records whether the backplane is connected, in its status and in
    /// `livestar_backplane_connected`.
    fn set_connected(&self, connected: bool) {
        let changed = self.status.send_if_modified(|status| {
            let changed = status.connected != connected;
            status.connected = connected;
            changed
        });
        if changed {
            let gauge = &crate::metrics::backplane().connected;
            if connected {
                gauge.increment(1.0);
            } else {
                gauge.decrement(1.0);
            }
        }
    }

    fn dispatch(self: &Arc<Self>, payload: Bytes) {
        let metrics = crate::metrics::backplane();
        if payload.len() > self.max_message {
            self.refused.fetch_add(1, Ordering::Relaxed);
            metrics.in_dropped.increment(1);
            if let Some(count) = self.warnings.oversized.due() {
                tracing::warn!(broker = self.broker, channel = %self.channel, bytes = payload.len(), count, "livestar backplane: refused payloads larger than max_message");
            }
            return;
        }
        let message = match message::decode(&self.keys, &self.channel, &payload) {
            Ok(message) => message,
            Err(message::Refused::Forged(why)) => {
                self.forged.fetch_add(1, Ordering::Relaxed);
                metrics.in_forged.increment(1);
                if let Some(count) = self.warnings.forged.due() {
                    tracing::warn!(broker = self.broker, channel = %self.channel, why, count, "livestar backplane: dropped payloads without a valid signature");
                }
                return;
            }
            Err(message::Refused::Garbage(why)) => {
                metrics.in_dropped.increment(1);
                if let Some(count) = self.warnings.garbage.due() {
                    tracing::warn!(broker = self.broker, channel = %self.channel, why, count, "livestar backplane: ignored signed payloads that do not parse");
                }
                return;
            }
        };
        if message.origin == self.origin {
            metrics.in_own.increment(1);
            return;
        }
        metrics.in_delivered.increment(1);
        if message.kind == Kind::Heal {
            tracing::info!(
                broker = self.broker,
                "livestar backplane: another process lost messages, healing"
            );
            self.request_heal();
            return;
        }
        let listeners: Vec<Arc<dyn Listener>> = lock(&self.listeners)
            .get(&message.topic)
            .map(|list| list.iter().map(|(_, l)| l.clone()).collect())
            .unwrap_or_default();
        for listener in listeners {
            listener.deliver(message.kind, &message.body);
        }
    }

    /// Plans a heal within the heal window (see [`BackplaneBuilder::heal_window`]).
    fn request_heal(self: &Arc<Self>) {
        let Some(at) = self
            .heal_schedule
            .plan(tokio::time::Instant::now(), fastrand::f64())
        else {
            return;
        };
        let inner = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            if let Some(inner) = inner.upgrade() {
                inner.heal_schedule.started(tokio::time::Instant::now());
                inner.heal();
            }
        });
    }

    /// The broker confirmed routes of these (topic, scope key)s: their listeners reload what
    /// may have passed by before.
    fn routed(&self, scopes: &[(String, String)]) {
        for (topic, scope_key) in scopes {
            let listeners: Vec<Arc<dyn Listener>> = lock(&self.listeners)
                .get(topic)
                .map(|list| list.iter().map(|(_, l)| l.clone()).collect())
                .unwrap_or_default();
            for listener in listeners {
                listener.routed(scope_key);
            }
        }
    }

    fn heal(&self) {
        self.status.send_modify(|s| s.heals += 1);
        crate::metrics::backplane().heals.increment(1);
        let listeners: Vec<Arc<dyn Listener>> = lock(&self.listeners)
            .values()
            .flatten()
            .map(|(_, l)| l.clone())
            .collect();
        tracing::info!(
            broker = self.broker,
            listeners = listeners.len(),
            "livestar backplane: reconnected, invalidating every view"
        );
        for listener in listeners {
            listener.healed();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
