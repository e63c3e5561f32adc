//! The hub: push Datastar events to rooms and sessions (chat, notifications, dashboards).
//!
//! A client joins rooms, and optionally a session (a user: every tab of theirs), through a
//! live endpoint that returns [`Hub::join_room`] or [`Hub::client`]`...connect()`. Anything
//! sent to a room or session afterwards reaches it. An optional loader sends a room's (or
//! session's) current state first, so a reconnect is safe.
//!
//! ```
//! use axum::extract::{Path, State};
//! use livestar::event::{Event, Mode};
//! use livestar::hub::Hub;
//! use livestar::render::{Html, escape_text};
//! use livestar::stream::LiveStream;
//!
//! async fn connect(Path(room): Path<String>, State(hub): State<Hub>) -> LiveStream {
//!     hub.join_room(&room)
//! }
//!
//! fn say(hub: &Hub, room: &str, text: &str) {
//!     let mut html = String::from("<p>");
//!     escape_text(text, &mut html);
//!     html.push_str("</p>");
//!     let html = Html::from_trusted(html);
//!     let sent = hub.room(room).send(Event::patch_elements(html).selector("#messages").mode(Mode::Append));
//!     if let Err(error) = sent {
//!         tracing::error!(%error, "message not sent");
//!     }
//! }
//! # let _ = connect;
//! ```
//!
//! # Encoding once
//! A send encodes its events once into one shared buffer; every recipient's queue holds a
//! reference to the same bytes.
//!
//! # Latest wins
//! A client that falls behind is sent the newest view, never a backlog of superseded ones: a
//! queued patch that a newer send replaces whole (one `datastar-patch-elements` event in mode
//! `outer`, `inner` or `replace`, of the same selector, or without one of the same top-level
//! element ids) is dropped from the client's queue. Appends, signals, scripts and batches of
//! several events are never dropped: they queue.
//!
//! # Slow clients
//! A client is disconnected as slow only when its own connection has taken nothing for
//! [`DEFAULT_STALL_TIMEOUT`] while sends waited for it, or when its queue holds more than
//! [`DEFAULT_QUEUE_BYTES`]. A server that is merely busy (every queue filling at once because
//! the core is saturated) still sees each client take something, and disconnects nobody. The
//! disconnected client's stream ends (events still queued are dropped), and the Datastar
//! client reconnects by itself later, getting current state from the loader. A send never
//! waits for any client, so a slow client never delays the others. Disconnects are logged at
//! `warn` as one line per [`SLOW_LOG_INTERVAL`] with their count, and counted by
//! [`Hub::slow_disconnects`]. The limits are set with [`HubBuilder`].
//!
//! # Presence
//! [`Room::presence_changes`] wakes at most once per [`DEFAULT_PRESENCE_INTERVAL`] (the first
//! change at once, the rest of a burst folded into one wake-up at the end of the interval), so
//! a storm of N joins costs O(N) work, not a count sent to the room per join.
//!
//! # Across processes
//! With a [`Backplane`], each send is delivered locally and published; other processes deliver
//! it to their own clients. [`Session::end`] travels the same way: every process closes its
//! tabs of the session. [`Room::presence`] counts every process's clients: each process
//! publishes a room's local count when it changes (at most once per presence interval) and
//! repeats it every third of [`HubBuilder::presence_expiry`]; a process not heard from for the
//! expiry (30 s) no longer counts, and a change elsewhere wakes [`Room::presence_changes`]
//! here. [`Room::members`] lists this process's sessions only. See
//! [`backplane`](crate::backplane) for what each broker failure does; after a reconnection,
//! every room and session with a loader sends its current state again.

mod batch;
mod builder;
mod client;
mod cluster;
mod connect;
mod latest;
mod presence;
mod remote;
mod room;
mod slow;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

pub use batch::Batch;
pub use builder::HubBuilder;
use client::{Client, Limits, Offer};
pub use connect::ClientBuilder;
use latest::Supersedes;
pub use presence::PresenceChanges;
use remote::HubListener;
pub use room::{Room, Session};
use slow::SlowLog;

use crate::backplane::{Backplane, Interest, Kind, Listener, Registration, Scope, message};
use crate::event::Event;
use crate::invalidate::Notifier;
use crate::stream::LiveStream;

/// The bytes a client's queue holds before the client is disconnected as too slow (each send
/// counts its encoded size plus 64 bytes).
///
/// ```
/// assert_eq!(livestar::hub::DEFAULT_QUEUE_BYTES, 1024 * 1024);
/// ```
pub const DEFAULT_QUEUE_BYTES: usize = 1024 * 1024;
/// How long a hub on a backplane counts another process's clients of a room after it last
/// heard from that process ([`HubBuilder::presence_expiry`]); processes repeat their counts
/// every third of it.
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(livestar::hub::DEFAULT_PRESENCE_EXPIRY, Duration::from_secs(30));
/// ```
pub const DEFAULT_PRESENCE_EXPIRY: Duration = Duration::from_secs(30);

/// How often presence changes of one room wake a [`Room::presence_changes`] subscriber at most.
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(livestar::hub::DEFAULT_PRESENCE_INTERVAL, Duration::from_millis(250));
/// ```
pub const DEFAULT_PRESENCE_INTERVAL: Duration = Duration::from_millis(250);
/// Slow-client disconnects are logged as one line per interval, with their count.
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(livestar::hub::SLOW_LOG_INTERVAL, Duration::from_secs(10));
/// ```
pub const SLOW_LOG_INTERVAL: Duration = Duration::from_secs(10);
/// How long a client may take nothing while sends wait for it before it is disconnected.
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(livestar::hub::DEFAULT_STALL_TIMEOUT, Duration::from_secs(5));
/// ```
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(5);

type Loader = Arc<dyn Fn(String) -> BoxFuture<'static, Event> + Send + Sync>;

/// Rooms and sessions of connected clients; cheap to clone, share it in axum state.
///
/// ```
/// use futures::StreamExt;
/// use livestar::event::Event;
/// use livestar::hub::Hub;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let hub = Hub::new();
/// let mut tab = hub.join_room("lobby").into_frames();
/// assert_eq!(hub.room("lobby").send(Event::comment("hi")), Ok(1));
/// assert_eq!(tab.next().await.unwrap(), ": hi\n\n");
/// # });
/// ```
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

struct HubInner {
    members: Mutex<Members>,
    next_client: AtomicU64,
    limits: Limits,
    presence_interval: Duration,
    slow: SlowLog,
    room_loader: Option<Loader>,
    session_loader: Option<Loader>,
    presence: Notifier<String>,
    remote: Option<Remote>,
    /// Presence across processes, when the hub is on a backplane.
    cluster: Option<cluster::ClusterPresence>,
}

struct Remote {
    backplane: Backplane,
    topic: String,
    _registration: Registration,
}

#[derive(Default)]
/// The clients of each room and session, by id. Ids grow with each connection, so a send
/// visits a room's clients in the order they joined: the order their connections' memory
/// was allocated in, which the caches (ours and the kernel's) handle far better at 10,000
/// clients than a hash order.
struct Members {
    rooms: HashMap<String, BTreeMap<u64, Arc<Client>>>,
    sessions: HashMap<String, BTreeMap<u64, Arc<Client>>>,
    /// What keeps this process subscribed to each room's and session's messages on a
    /// backplane that routes by interest: held while the room or session has clients here.
    interests: HashMap<(Target, String), Interest>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    Room,
    Session,
}

impl Target {
    /// Room or session `id` as the backplane routes it.
    fn scope(self, id: &str) -> Scope<'_> {
        match self {
            Target::Room => Scope::Room(id),
            Target::Session => Scope::Session(id),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Target::Room => "room",
            Target::Session => "session",
        }
    }
}

impl Members {
    fn of(&mut self, target: Target) -> &mut HashMap<String, BTreeMap<u64, Arc<Client>>> {
        match target {
            Target::Room => &mut self.rooms,
            Target::Session => &mut self.sessions,
        }
    }

    /// Adds `client` to room or session `id`; the first client of one takes an interest in
    /// its messages on the backplane.
    fn add(&mut self, target: Target, id: &str, client: &Arc<Client>, remote: Option<&Remote>) {
        let clients = self.of(target).entry(id.to_owned()).or_default();
        let first = clients.is_empty();
        clients.insert(client.id, client.clone());
        if first && let Some(remote) = remote {
            let interest = remote.backplane.interest(&remote.topic, target.scope(id));
            self.interests.insert((target, id.to_owned()), interest);
        }
    }

    fn remove(&mut self, client: &Client) {
        for room in &client.rooms {
            self.remove_member(Target::Room, room, client.id);
        }
        if let Some(session) = &client.session {
            self.remove_member(Target::Session, session, client.id);
        }
    }

    fn remove_member(&mut self, target: Target, key: &str, id: u64) {
        let map = self.of(target);
        if let Some(clients) = map.get_mut(key) {
            clients.remove(&id);
            if clients.is_empty() {
                map.remove(key);
                self.interests.remove(&(target, key.to_owned()));
            }
        }
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("clients", &self.clients())
            .finish_non_exhaustive()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

/// A hub send that was refused; nothing was delivered.
///
/// ```
/// let error = livestar::hub::SendError::TooLarge { size: 2_000_000, limit: 1_048_576 };
/// assert!(error.to_string().contains("2000000"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The events are larger than the backplane takes ([`Backplane::max_message`]).
    TooLarge {
        /// The encoded size of the send, in bytes.
        size: usize,
        /// The backplane's limit, in bytes.
        limit: usize,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::TooLarge { size, limit } => write!(
                f,
                "hub send of {size} bytes is larger than the backplane's limit of {limit} bytes; \
                 nothing was sent (send less, e.g. a signal that makes clients fetch the rest)"
            ),
        }
    }
}

impl std::error::Error for SendError {}

impl Hub {
    /// A hub for this process only.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let hub = livestar::hub::Hub::new();
    /// let tab = hub.join_room("lobby");
    /// assert_eq!(hub.room("lobby").send(Event::comment("hi")), Ok(1));
    /// # drop(tab);
    /// ```
    pub fn new() -> Self {
        Hub::builder().build()
    }

    /// A hub whose sends reach the clients of every process on `backplane` (hub name `hub`).
    ///
    /// ```no_run
    /// # #[cfg(feature = "nats")]
    /// # async fn run() -> Result<(), livestar::backplane::BackplaneError> {
    /// let backplane = livestar::backplane::Nats::connect("nats://127.0.0.1:4222").await?;
    /// let hub = livestar::hub::Hub::with_backplane(&backplane);
    /// # drop(hub);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_backplane(backplane: &Backplane) -> Self {
        Hub::builder().backplane(backplane, "hub").build()
    }

    /// Options: queue limit, stall timeout, loaders, backplane.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let hub = livestar::hub::Hub::builder().stall_timeout(Duration::from_secs(1)).build();
    /// assert_eq!(hub.clients(), 0);
    /// ```
    pub fn builder() -> HubBuilder {
        HubBuilder {
            limits: Limits {
                bytes: DEFAULT_QUEUE_BYTES,
                sends: usize::MAX,
                stall: DEFAULT_STALL_TIMEOUT,
            },
            presence_interval: DEFAULT_PRESENCE_INTERVAL,
            presence_expiry: DEFAULT_PRESENCE_EXPIRY,
            room_loader: None,
            session_loader: None,
            backplane: None,
        }
    }

    /// A live stream for a client of room `room`.
    ///
    /// ```
    /// let hub = livestar::hub::Hub::new();
    /// let live = hub.join_room("lobby");
    /// assert_eq!(hub.room("lobby").presence(), 1);
    /// # drop(live);
    /// ```
    pub fn join_room(&self, room: &str) -> LiveStream {
        self.client().room(room).connect()
    }

    /// A live stream for one tab of session `session` (a user).
    ///
    /// ```
    /// let hub = livestar::hub::Hub::new();
    /// let tab = hub.join_session("user-7");
    /// assert_eq!(hub.session("user-7").tabs(), 1);
    /// # drop(tab);
    /// ```
    pub fn join_session(&self, session: &str) -> LiveStream {
        self.client().session(session).connect()
    }

    /// A client joining several rooms and a session.
    ///
    /// ```
    /// let hub = livestar::hub::Hub::new();
    /// let live = hub.client().room("lobby").room("news").session("user-7").connect();
    /// assert_eq!(hub.room("news").presence(), 1);
    /// assert_eq!(hub.room("lobby").members(), ["user-7"]);
    /// drop(live);
    /// assert_eq!(hub.room("news").presence(), 0);
    /// ```
    pub fn client(&self) -> ClientBuilder<'_> {
        ClientBuilder {
            hub: self,
            rooms: Vec::new(),
            session: None,
        }
    }

    /// A room, to send to or count.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let hub = livestar::hub::Hub::new();
    /// // Rooms need no creating: one nobody joined just has no clients.
    /// assert_eq!(hub.room("empty").presence(), 0);
    /// assert_eq!(hub.room("empty").send(Event::comment("hi")), Ok(0));
    /// ```
    pub fn room<'a>(&'a self, id: &'a str) -> Room<'a> {
        Room { hub: self, id }
    }

    /// A session (every tab of one user), to send to.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let hub = livestar::hub::Hub::new();
    /// let (laptop, phone) = (hub.join_session("user-7"), hub.join_session("user-7"));
    /// assert_eq!(hub.session("user-7").send(Event::comment("ping")), Ok(2));
    /// # drop((laptop, phone));
    /// ```
    pub fn session<'a>(&'a self, id: &'a str) -> Session<'a> {
        Session { hub: self, id }
    }

    /// Connected clients of this process.
    ///
    /// ```
    /// let hub = livestar::hub::Hub::new();
    /// let client = hub.client().room("a").room("b").session("u").connect();
    /// assert_eq!(hub.clients(), 1);
    /// # drop(client);
    /// ```
    pub fn clients(&self) -> usize {
        let members = lock(&self.inner.members);
        let mut ids: Vec<u64> = members
            .rooms
            .values()
            .chain(members.sessions.values())
            .flat_map(|clients| clients.keys().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// The clients disconnected as too slow since the hub was built.
    ///
    /// ```
    /// assert_eq!(livestar::hub::Hub::new().slow_disconnects(), 0);
    /// ```
    pub fn slow_disconnects(&self) -> u64 {
        self.inner.slow.total.load(Ordering::Relaxed)
    }

    fn send(&self, target: Target, id: &str, events: Event) -> Result<usize, SendError> {
        let kind = match target {
            Target::Room => Kind::Room,
            Target::Session => Kind::Session,
        };
        let remote = self.inner.remote.as_ref().map(|remote| {
            let body = message::encode_addressed(id, events.as_bytes());
            (remote, body)
        });
        if let Some((remote, body)) = &remote {
            let size = remote.backplane.encoded_len(&remote.topic, body.len());
            let limit = remote.backplane.max_message();
            if size > limit {
                return Err(SendError::TooLarge { size, limit });
            }
        }
        let metrics = crate::metrics::hub();
        match target {
            Target::Room => metrics.room_sends.increment(1),
            Target::Session => metrics.session_sends.increment(1),
        }
        let delivered = self.inner.deliver(target, id, &events);
        if let Some((remote, body)) = remote {
            remote
                .backplane
                .publish(&remote.topic, target.scope(id), kind, body);
        }
        Ok(delivered)
    }
}

impl HubInner {
    /// Offers `events` to every local client of the target; disconnects the slow ones.
    fn deliver(&self, target: Target, id: &str, events: &Event) -> usize {
        if events.as_bytes().is_empty() {
            return 0;
        }
        let supersedes = Supersedes::of(events);
        let now = tokio::time::Instant::now();
        let mut members = lock(&self.members);
        let mut delivered = 0;
        let mut slow = Vec::new();
        if let Some(clients) = members.of(target).get(id) {
            for client in clients.values() {
                match client.offer(events, supersedes, now) {
                    Offer::Queued => delivered += 1,
                    Offer::TooSlow => slow.push(client.clone()),
                    Offer::Gone => {}
                }
            }
        }
        tracing::debug!(
            to = target.as_str(),
            delivered,
            slow = slow.len(),
            "livestar hub: sent"
        );
        let mut changed_rooms = Vec::new();
        if !slow.is_empty() {
            self.slow.record(slow.len());
        }
        for client in slow {
            client.disconnect();
            members.remove(&client);
            changed_rooms.extend(client.rooms.iter().cloned());
        }
        drop(members);
        for room in changed_rooms {
            self.presence_changed(&room);
        }
        delivered
    }

    /// Closes every local tab of session `id`; returns how many.
    fn end_session(&self, id: &str) -> usize {
        let mut members = lock(&self.members);
        let clients: Vec<_> = members
            .sessions
            .get(id)
            .map(|clients| clients.values().cloned().collect())
            .unwrap_or_default();
        for client in &clients {
            client.disconnect();
            members.remove(client);
        }
        drop(members);
        for client in &clients {
            for room in &client.rooms {
                self.presence_changed(room);
            }
        }
        clients.len()
    }

    fn leave(&self, client: &Client) {
        lock(&self.members).remove(client);
        for room in &client.rooms {
            self.presence_changed(room);
        }
    }

    /// Clients joined or left `room` here: wakes its presence subscribers, and tells the
    /// other processes (see [`cluster`]).
    fn presence_changed(&self, room: &str) {
        if let Some(cluster) = &self.cluster {
            cluster.changed(room);
        }
        self.presence.notify(&room.to_owned());
    }

    /// Loads the current state of room or session `id` with its loader, if it has one, and
    /// sends it to its clients here when it is ready.
    fn reload(self: &Arc<Self>, target: Target, id: String) {
        let Some(loader) = self.loader(target) else {
            return;
        };
        let load = loader(id.clone());
        let hub = Arc::downgrade(self);
        tokio::spawn(async move {
            let events = load.await;
            if let Some(hub) = hub.upgrade() {
                hub.deliver(target, &id, &events);
            }
        });
    }

    fn loader(&self, target: Target) -> Option<&Loader> {
        match target {
            Target::Room => self.room_loader.as_ref(),
            Target::Session => self.session_loader.as_ref(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
