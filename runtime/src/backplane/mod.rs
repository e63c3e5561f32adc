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
mod chunks;
mod heal;
mod memory;
pub(crate) mod message;
#[cfg(feature = "nats")]
mod nats;
mod outbox;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
mod warnings;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use tokio::sync::watch;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::Instrument;

use auth::{Keys, Secret};
use heal::HealSchedule;
pub use memory::MemoryBroker;
pub(crate) use message::Kind;
#[cfg(feature = "nats")]
pub use nats::Nats;
use outbox::{Entry, Outbox, Pushed};
#[cfg(feature = "postgres")]
pub use postgres::Postgres;
#[cfg(feature = "redis")]
pub use redis::Redis;

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

/// What a broker connection yields while it is up.
///
/// ```
/// use bytes::Bytes;
/// use futures::StreamExt;
/// use livestar::backplane::{Incoming, MemoryBroker, Transport};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let broker = MemoryBroker::new();
/// let mut inbox = broker.subscribe("chat").await?;
/// broker.publish("chat", &[Bytes::from("hi")]).await?;
/// assert!(matches!(inbox.next().await, Some(Incoming::Message(payload)) if payload == "hi"));
/// # Ok::<_, livestar::backplane::BackplaneError>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub enum Incoming {
    /// A payload published on the channel (by any process, ours included).
    Message(Bytes),
    /// The client reconnected and subscribed again by itself (NATS does): the backplane heals.
    Resubscribed,
}

/// The payloads of one subscription, until the connection is lost (the stream ends).
///
/// ```
/// use bytes::Bytes;
/// use futures::{FutureExt, StreamExt};
/// use livestar::backplane::{Inbox, Incoming};
///
/// // A transport's `subscribe` wraps its client's messages like this.
/// let messages = futures::stream::iter([Bytes::from("a"), Bytes::from("b")]);
/// let mut inbox: Inbox = messages.map(Incoming::Message).boxed();
/// let first = inbox.next().now_or_never().flatten();
/// assert!(matches!(first, Some(Incoming::Message(payload)) if payload == "a"));
/// ```
pub type Inbox = BoxStream<'static, Incoming>;

/// A broker: how to subscribe to a channel and publish on it. Implemented by [`MemoryBroker`],
/// `Redis`, `Nats` and `Postgres`; implement it to bring another broker.
///
/// ```
/// use bytes::Bytes;
/// use futures::future::BoxFuture;
/// use livestar::backplane::{BackplaneError, Inbox, Transport};
///
/// /// A broker that loses everything (a real one talks to a server).
/// struct Void;
///
/// impl Transport for Void {
///     fn name(&self) -> &'static str { "void" }
///     fn max_payload(&self) -> usize { usize::MAX }
///     fn subscribe<'a>(&'a self, _channel: &'a str) -> BoxFuture<'a, Result<Inbox, BackplaneError>> {
///         Box::pin(async { Ok(Box::pin(futures::stream::pending()) as Inbox) })
///     }
///     fn publish<'a>(&'a self, _channel: &'a str, _payloads: &'a [Bytes]) -> BoxFuture<'a, Result<(), BackplaneError>> {
///         Box::pin(async { Ok(()) })
///     }
/// }
/// ```
pub trait Transport: Send + Sync + 'static {
    /// A short name for logs (`"redis"`).
    ///
    /// ```
    /// use livestar::backplane::{MemoryBroker, Transport};
    ///
    /// assert_eq!(MemoryBroker::new().name(), "memory");
    /// ```
    fn name(&self) -> &'static str;
    /// The largest payload the broker takes; larger messages are chunked.
    ///
    /// ```
    /// use livestar::backplane::{MemoryBroker, Transport};
    ///
    /// assert_eq!(MemoryBroker::new().max_payload(), usize::MAX);
    /// ```
    fn max_payload(&self) -> usize;
    /// Subscribes to `channel`, returning once the broker has confirmed the subscription.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures::StreamExt;
    /// use livestar::backplane::{Incoming, MemoryBroker, Transport};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let mut inbox = broker.subscribe("chat").await?;
    /// // Confirmed already, so nothing published from now on is missed.
    /// broker.publish("chat", &[Bytes::from("hi")]).await?;
    /// assert!(matches!(inbox.next().await, Some(Incoming::Message(_))));
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Inbox, BackplaneError>>;
    /// Publishes `payloads` on `channel`, in order (the chunks of one message).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures::StreamExt;
    /// use livestar::backplane::{Incoming, MemoryBroker, Transport};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let inbox = broker.subscribe("chat").await?;
    /// broker.publish("chat", &[Bytes::from("1/2"), Bytes::from("2/2")]).await?;
    /// let got: Vec<_> = inbox.take(2).collect().await;
    /// assert!(matches!(&got[..], [Incoming::Message(a), Incoming::Message(b)] if a == "1/2" && b == "2/2"));
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        payloads: &'a [Bytes],
    ) -> BoxFuture<'a, Result<(), BackplaneError>>;
}

/// A broker failure.
///
/// ```
/// let error = livestar::backplane::BackplaneError::new("redis", "connection refused");
/// assert_eq!(error.to_string(), "redis backplane: connection refused");
/// ```
#[derive(Debug, Clone)]
pub struct BackplaneError {
    broker: &'static str,
    message: String,
}

impl BackplaneError {
    /// An error of `broker` saying `message`.
    ///
    /// ```
    /// use livestar::backplane::BackplaneError;
    ///
    /// // How a custom transport reports its client's errors.
    /// let error = BackplaneError::new("kafka", std::io::Error::other("broker down"));
    /// assert_eq!(error.to_string(), "kafka backplane: broker down");
    /// ```
    pub fn new(broker: &'static str, message: impl fmt::Display) -> Self {
        BackplaneError {
            broker,
            message: message.to_string(),
        }
    }
}

impl fmt::Display for BackplaneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} backplane: {}", self.broker, self.message)
    }
}

impl std::error::Error for BackplaneError {}

/// Receives the messages of one topic (a notifier or a hub) and the heal signal.
pub(crate) trait Listener: Send + Sync {
    fn deliver(&self, kind: Kind, body: &Bytes);
    fn healed(&self);
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
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.status.borrow().connected {
            crate::metrics::backplane().connected.decrement(1.0);
        }
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

/// Options of a [`Backplane`]; see [`Backplane::builder`].
///
/// ```
/// use std::time::Duration;
/// use livestar::backplane::{Backplane, MemoryBroker};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let backplane = Backplane::builder()
///     .channel("shop")
///     .backoff(Duration::from_millis(100), Duration::from_secs(10))
///     .max_message(256 * 1024)
///     .connect(MemoryBroker::new())
///     .await?;
/// assert_eq!(backplane.max_message(), 256 * 1024);
/// # Ok::<_, livestar::backplane::BackplaneError>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct BackplaneBuilder {
    channel: String,
    min_backoff: Duration,
    max_backoff: Duration,
    max_message: usize,
    max_outbox: usize,
    heal_window: Duration,
    secret: Option<Secret>,
    previous_secret: Option<Secret>,
}

impl Default for BackplaneBuilder {
    fn default() -> Self {
        BackplaneBuilder {
            channel: DEFAULT_CHANNEL.to_owned(),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
            max_message: 1024 * 1024,
            max_outbox: 16 * 1024 * 1024,
            heal_window: Duration::from_secs(1),
            secret: None,
            previous_secret: None,
        }
    }
}

impl BackplaneBuilder {
    /// The broker channel (Redis channel, NATS subject, Postgres channel) all processes of one
    /// app share. Name the app and the environment (`"shop-prod"`, `"shop-staging"`): Redis
    /// pub/sub ignores the database number, so two environments on one server with the same
    /// channel see each other's sends. Without it the backplane uses [`DEFAULT_CHANNEL`] and
    /// logs a warning when connecting. Postgres channel names are at most 63 bytes.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use livestar::backplane::{Backplane, MemoryBroker};
    /// use livestar::invalidate::Notifier;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let web = Backplane::builder().channel("shop").connect(broker.clone()).await?;
    /// let worker = Backplane::builder().channel("shop").connect(broker).await?;
    /// let (shown, changed) = (Notifier::with_backplane(&web, "stock"), Notifier::with_backplane(&worker, "stock"));
    /// let mut view = shown.subscribe(&7u32);
    /// changed.notify(&7);
    /// assert_eq!(view.next().await, Some(()));
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// The first and the largest delay between reconnection attempts (each delay doubles and
    /// is jittered).
    ///
    /// ```
    /// use std::time::Duration;
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let backplane = Backplane::builder()
    ///     .backoff(Duration::from_millis(1), Duration::from_millis(10))
    ///     .connect(broker.clone())
    ///     .await?;
    /// broker.interrupt();
    /// assert_eq!(backplane.healed_after(0).await, 1);
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min;
        self.max_backoff = max.max(min);
        self
    }

    /// The largest message (after encoding) a hub may send; larger sends are refused.
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    /// use livestar::event::Event;
    /// use livestar::hub::{Hub, SendError};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let backplane = Backplane::builder().max_message(1024).connect(MemoryBroker::new()).await?;
    /// let hub = Hub::with_backplane(&backplane);
    /// let big = Event::comment(&"x".repeat(2000));
    /// assert!(matches!(hub.room("lobby").send(big), Err(SendError::TooLarge { .. })));
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn max_message(mut self, bytes: usize) -> Self {
        self.max_message = bytes;
        self
    }

    /// The most bytes of messages that wait for the broker while it is slow or away (16 MiB
    /// by default); past it new messages are dropped and counted ([`Backplane::dropped`]).
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let backplane = Backplane::builder().max_outbox(4 * 1024 * 1024).connect(MemoryBroker::new()).await?;
    /// assert_eq!(backplane.max_outbox(), 4 * 1024 * 1024);
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn max_outbox(mut self, bytes: usize) -> Self {
        self.max_outbox = bytes;
        self
    }

    /// The window heals are spread over (1 s by default): a heal runs at a random point of
    /// the window after it is requested (a reconnection, or a heal message from a process
    /// that lost messages), requests meanwhile join it, and the next heal starts a whole
    /// window after the last one. So processes that reconnect together do not reload every
    /// view in the same instant, and a broker that flaps causes at most one heal per window.
    ///
    /// ```
    /// use std::time::Duration;
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let backplane = Backplane::builder()
    ///     .heal_window(Duration::from_millis(50))
    ///     .connect(broker.clone())
    ///     .await?;
    /// broker.interrupt();
    /// assert_eq!(backplane.healed_after(0).await, 1);
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn heal_window(mut self, window: Duration) -> Self {
        self.heal_window = window;
        self
    }

    /// The secret every process of the app shares: each message is signed with it
    /// (HMAC-SHA256 over the channel name and the whole message), and a message without a valid
    /// signature is dropped and counted ([`Backplane::forged`]), never delivered. At least 16
    /// bytes; use 32 random ones (`openssl rand -hex 32`) from your secret store.
    ///
    /// Without it the backplane signs with the public [`DEVELOPMENT_SECRET`] and logs a
    /// warning: anyone who can publish on the broker can then write into every browser.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use livestar::backplane::{Backplane, MemoryBroker};
    /// use livestar::invalidate::Notifier;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let secret = "a7f3c9e2b1d04f8a9c6e5b3d2f1a0e9c";
    /// let web = Backplane::builder().channel("shop-prod").secret(secret).connect(broker.clone()).await?;
    /// let worker = Backplane::builder().channel("shop-prod").secret(secret).connect(broker).await?;
    /// let (shown, changed) = (Notifier::with_backplane(&web, "stock"), Notifier::with_backplane(&worker, "stock"));
    /// let mut view = shown.subscribe(&7u32);
    /// changed.notify(&7);
    /// assert_eq!(view.next().await, Some(()));
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secret = Some(Secret::new(secret.as_ref()));
        self
    }

    /// A second secret accepted (never used to sign) while the secret rotates: deploy every
    /// process with the new secret as `previous_secret`, then with it as `secret` and the old
    /// one as `previous_secret`, then without the old one. No message is refused on the way.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use livestar::backplane::{Backplane, MemoryBroker};
    /// use livestar::invalidate::Notifier;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let (old, new) = ("old-secret-0123456789abcdef", "new-secret-0123456789abcdef");
    /// let broker = MemoryBroker::new();
    /// // Halfway through a rotation: one process signs with the old secret, one with the new.
    /// let a = Backplane::builder().channel("shop").secret(old).previous_secret(new).connect(broker.clone()).await?;
    /// let b = Backplane::builder().channel("shop").secret(new).previous_secret(old).connect(broker).await?;
    /// let (on_a, on_b) = (Notifier::with_backplane(&a, "stock"), Notifier::with_backplane(&b, "stock"));
    /// let (mut view_a, mut view_b) = (on_a.subscribe(&1u32), on_b.subscribe(&1u32));
    /// on_a.notify(&1);
    /// on_b.notify(&1);
    /// assert_eq!(view_a.next().await, Some(()));
    /// assert_eq!(view_b.next().await, Some(()));
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn previous_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.previous_secret = Some(Secret::new(secret.as_ref()));
        self
    }

    /// Subscribes through `transport` and starts the backplane's tasks (needs a tokio runtime).
    ///
    /// Fails if the broker cannot be reached now, or if a secret is shorter than 16 bytes;
    /// later outages are healed (see the [module documentation](self)).
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// broker.set_down(true);
    /// assert!(Backplane::builder().connect(broker.clone()).await.is_err());
    /// broker.set_down(false);
    /// assert!(Backplane::builder().connect(broker).await?.is_connected());
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect(self, transport: impl Transport) -> Result<Backplane, BackplaneError> {
        let transport: Arc<dyn Transport> = Arc::new(transport);
        if let Some(warning) = default_channel_warning(&self.channel) {
            tracing::warn!(broker = transport.name(), "{warning}");
        }
        let keys = match &self.secret {
            Some(secret) => Keys::new(secret, self.previous_secret.as_ref()),
            None => {
                tracing::warn!(
                    broker = transport.name(),
                    channel = %self.channel,
                    "livestar backplane: NO SECRET CONFIGURED, messages are signed with the public \
                     development key: anyone who can publish on this broker can write into every \
                     browser. Call BackplaneBuilder::secret with a secret every process shares."
                );
                Keys::new(
                    &Secret::new(DEVELOPMENT_SECRET.as_bytes()),
                    self.previous_secret.as_ref(),
                )
            }
        }
        .map_err(|why| BackplaneError::new(transport.name(), why))?;
        let inbox = transport.subscribe(&self.channel).await?;
        let outbox = Arc::new(Outbox::new(self.max_outbox));
        let (status, _) = watch::channel(Status {
            connected: true,
            heals: 0,
        });
        let inner = Arc::new(Inner {
            origin: fastrand::u64(..),
            channel: self.channel.clone(),
            broker: transport.name(),
            max_payload: transport.max_payload(),
            max_message: self.max_message,
            keys,
            forged: AtomicUsize::new(0),
            warnings: Warnings::default(),
            listeners: Mutex::new(HashMap::new()),
            next_listener: AtomicU64::new(0),
            next_message: AtomicU64::new(0),
            outbox: outbox.clone(),
            dropped: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            pending_chunk_bytes: AtomicUsize::new(0),
            heal_schedule: HealSchedule::new(self.heal_window),
            status,
        });
        let stop = CancellationToken::new();
        let heal = message::encode(
            &inner.keys,
            &inner.channel,
            inner.origin,
            "",
            Kind::Heal,
            b"",
        );
        crate::metrics::backplane().connected.increment(1.0);
        let span = tracing::info_span!(
            "livestar_backplane",
            broker = inner.broker,
            channel = %inner.channel
        );
        tokio::spawn(
            publish_loop(
                transport.clone(),
                Arc::downgrade(&inner),
                self.clone(),
                outbox,
                heal,
                stop.clone(),
            )
            .instrument(span.clone()),
        );
        tokio::spawn(
            receive_loop(transport, Arc::downgrade(&inner), self, inbox, stop.clone())
                .instrument(span),
        );
        Ok(Backplane {
            inner,
            _tasks: Arc::new(stop.drop_guard()),
        })
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

    /// The size `body` would have on the wire.
    pub(crate) fn encoded_len(&self, topic: &str, body_len: usize) -> usize {
        message::encoded_len(topic, body_len)
    }

    /// Queues a message for every other process; never waits.
    pub(crate) fn publish(&self, topic: &str, kind: Kind, body: Bytes) {
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
        let payloads = message::split(inner.origin, id, encoded, inner.max_payload);
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

/// Publishes the outbox in order. A failed publish is retried with backoff (the outbox fills
/// meanwhile, and overflows into a heal); the backlog that went out late is followed by a
/// heal.
async fn publish_loop(
    transport: Arc<dyn Transport>,
    inner: Weak<Inner>,
    options: BackplaneBuilder,
    outbox: Arc<Outbox>,
    heal: Bytes,
    stop: CancellationToken,
) {
    let mut attempt: u32 = 0;
    loop {
        let entry = tokio::select! {
            _ = stop.cancelled() => return,
            next = outbox.next() => next,
        };
        let payloads = match &entry {
            Entry::Message(payloads) => payloads.as_slice(),
            Entry::Heal => std::slice::from_ref(&heal),
        };
        match transport.publish(&options.channel, payloads).await {
            Ok(()) => {
                attempt = 0;
                outbox.published();
                crate::metrics::backplane().out_delivered.increment(1);
            }
            Err(error) => {
                let covered = outbox.failed();
                if covered > 0
                    && let Some(inner) = inner.upgrade()
                {
                    inner.dropped.fetch_add(covered, Ordering::Relaxed);
                    crate::metrics::backplane()
                        .out_dropped
                        .increment(covered as u64);
                }
                tracing::warn!(%error, attempt, "livestar backplane: publish failed; retrying (messages wait in the outbox, up to max_outbox)");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    () = tokio::time::sleep(backoff(&options, attempt)) => {}
                }
                attempt = attempt.saturating_add(1);
            }
        }
    }
}

/// The delay before reconnection attempt `attempt`: doubling from the smallest to the largest
/// backoff, jittered (50 to 100 % of it), so processes that lost the broker together do not
/// all come back in the same instant.
fn backoff(options: &BackplaneBuilder, attempt: u32) -> Duration {
    let ceiling = options
        .min_backoff
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(options.max_backoff);
    ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
}

async fn receive_loop(
    transport: Arc<dyn Transport>,
    inner: Weak<Inner>,
    options: BackplaneBuilder,
    mut inbox: Inbox,
    stop: CancellationToken,
) {
    let mut chunks = chunks::Reassembly::new(options.max_message);
    loop {
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => return,
                next = inbox.next() => next,
            };
            let Some(inner) = inner.upgrade() else { return };
            match next {
                Some(Incoming::Message(payload)) => {
                    let dropped = chunks.dropped();
                    let accepted = chunks.accept(payload);
                    let newly_dropped = chunks.dropped() - dropped;
                    inner
                        .pending_chunk_bytes
                        .store(chunks.pending_bytes(), Ordering::Relaxed);
                    if newly_dropped > 0 {
                        inner.refused.fetch_add(newly_dropped, Ordering::Relaxed);
                    }
                    match accepted {
                        Ok(Some(whole)) => inner.dispatch(whole),
                        Ok(None) => {}
                        Err(message::Garbage(why)) => {
                            inner.refused.fetch_add(1, Ordering::Relaxed);
                            if let Some(count) = inner.warnings.bad_chunks.due() {
                                tracing::warn!(
                                    why,
                                    count,
                                    "livestar backplane: ignored bad chunks"
                                );
                            }
                        }
                    }
                }
                Some(Incoming::Resubscribed) => {
                    inner.set_connected(true);
                    inner.request_heal();
                }
                None => {
                    inner.set_connected(false);
                    tracing::warn!(
                        broker = inner.broker,
                        "livestar backplane: lost the broker, reconnecting"
                    );
                    break;
                }
            }
        }
        let mut attempt: u32 = 0;
        inbox = loop {
            let delay = backoff(&options, attempt);
            tokio::select! {
                _ = stop.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            match transport.subscribe(&options.channel).await {
                Ok(inbox) => break inbox,
                Err(error) => {
                    tracing::warn!(%error, attempt, "livestar backplane: reconnection failed");
                    attempt = attempt.saturating_add(1);
                }
            }
        };
        chunks = chunks::Reassembly::new(options.max_message);
        if let Some(inner) = inner.upgrade() {
            inner.pending_chunk_bytes.store(0, Ordering::Relaxed);
        }
        match inner.upgrade() {
            Some(inner) => {
                inner.set_connected(true);
                inner.request_heal();
            }
            None => return,
        }
    }
}

/// The warning logged when connecting on `channel`, if it is the built-in default.
fn default_channel_warning(channel: &str) -> Option<String> {
    (channel == DEFAULT_CHANNEL).then(|| {
        format!(
            "livestar backplane: connected on the default channel {DEFAULT_CHANNEL:?}, shared by \
             every app and environment that keeps it; name yours with \
             Backplane::builder().channel(\"<app>-<environment>\")"
        )
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_channel_is_warned_about_with_what_to_write_instead() {
        let warning = default_channel_warning(DEFAULT_CHANNEL).unwrap_or_default();
        assert!(warning.contains("default channel"), "{warning}");
        assert!(warning.contains(".channel("), "{warning}");
        assert_eq!(default_channel_warning("shop-prod"), None);
    }
}
