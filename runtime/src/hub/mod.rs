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
//! it to their own clients. Presence counts are per process. See
//! [`backplane`](crate::backplane) for what each broker failure does; after a reconnection,
//! every room and session with a loader sends its current state again.

mod batch;
mod client;
mod latest;
mod presence;
mod slow;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

pub use batch::Batch;
use client::{Client, Limits, Offer};
use latest::Supersedes;
pub use presence::PresenceChanges;
use slow::SlowLog;

use crate::backplane::{Backplane, Kind, Listener, Registration, message};
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
}

struct Remote {
    backplane: Backplane,
    topic: String,
    _registration: Registration,
}

#[derive(Default)]
struct Members {
    rooms: HashMap<String, HashMap<u64, Arc<Client>>>,
    sessions: HashMap<String, HashMap<u64, Arc<Client>>>,
}

#[derive(Clone, Copy)]
enum Target {
    Room,
    Session,
}

impl Members {
    fn of(&mut self, target: Target) -> &mut HashMap<String, HashMap<u64, Arc<Client>>> {
        match target {
            Target::Room => &mut self.rooms,
            Target::Session => &mut self.sessions,
        }
    }

    fn remove(&mut self, client: &Client) {
        for room in &client.rooms {
            remove_member(&mut self.rooms, room, client.id);
        }
        if let Some(session) = &client.session {
            remove_member(&mut self.sessions, session, client.id);
        }
    }
}

fn remove_member(map: &mut HashMap<String, HashMap<u64, Arc<Client>>>, key: &str, id: u64) {
    if let Some(clients) = map.get_mut(key) {
        clients.remove(&id);
        if clients.is_empty() {
            map.remove(key);
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

/// Options of a [`Hub`]; see [`Hub::builder`].
///
/// ```
/// use std::time::Duration;
/// use livestar::event::Event;
/// use livestar::hub::Hub;
///
/// let hub = Hub::builder()
///     .queue_limit(100)
///     .stall_timeout(Duration::from_secs(2))
///     .room_loader(|room: String| async move { Event::comment(&format!("welcome to {room}")) })
///     .build();
/// assert_eq!(hub.clients(), 0);
/// ```
#[must_use]
pub struct HubBuilder {
    limits: Limits,
    presence_interval: Duration,
    room_loader: Option<Loader>,
    session_loader: Option<Loader>,
    backplane: Option<(Backplane, String)>,
}

impl HubBuilder {
    /// The bytes a client's queue holds before it is disconnected (default
    /// [`DEFAULT_QUEUE_BYTES`]; each send counts its encoded size plus 64 bytes). Values
    /// below 1 KiB are raised to 1 KiB.
    ///
    /// ```
    /// use livestar::event::Event;
    /// use livestar::hub::Hub;
    ///
    /// let hub = Hub::builder().queue_bytes(4096).build();
    /// let tab = hub.join_room("lobby"); // never read
    /// let message = Event::comment(&"x".repeat(3000));
    /// assert_eq!(hub.room("lobby").send(message.clone()), Ok(1));
    /// // Over the budget: the tab is disconnected rather than the send waiting.
    /// assert_eq!(hub.room("lobby").send(message), Ok(0));
    /// assert_eq!(hub.room("lobby").presence(), 0);
    /// assert_eq!(hub.slow_disconnects(), 1);
    /// # drop(tab);
    /// ```
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.limits.bytes = bytes.max(1024);
        self
    }

    /// The sends a client's queue holds before it is disconnected, on top of the byte budget
    /// (default: no limit but the bytes). Any value is accepted; 0 is raised to 1.
    ///
    /// ```
    /// use livestar::event::Event;
    /// use livestar::hub::Hub;
    ///
    /// let hub = Hub::builder().queue_limit(1).build();
    /// let tab = hub.join_room("lobby"); // never read
    /// assert_eq!(hub.room("lobby").send(Event::comment("1")), Ok(1));
    /// // The queue is full: the tab is disconnected rather than the send waiting.
    /// assert_eq!(hub.room("lobby").send(Event::comment("2")), Ok(0));
    /// assert_eq!(hub.room("lobby").presence(), 0);
    /// # drop(tab);
    /// // No value makes connecting panic.
    /// let _ = Hub::builder().queue_limit(usize::MAX).build().join_room("lobby");
    /// ```
    pub fn queue_limit(mut self, sends: usize) -> Self {
        self.limits.sends = sends.max(1);
        self
    }

    /// How often [`Room::presence_changes`] wakes at most (default
    /// [`DEFAULT_PRESENCE_INTERVAL`]; `Duration::ZERO` wakes on every change).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let hub = livestar::hub::Hub::builder().presence_interval(Duration::from_secs(1)).build();
    /// # drop(hub);
    /// ```
    pub fn presence_interval(mut self, interval: Duration) -> Self {
        self.presence_interval = interval;
        self
    }

    /// How long a client may take nothing while sends wait before it is disconnected
    /// (default 5 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// use livestar::event::Event;
    /// use livestar::hub::Hub;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap().block_on(async {
    /// let hub = Hub::builder().stall_timeout(Duration::from_secs(2)).build();
    /// let tab = hub.join_room("lobby"); // never read
    /// assert_eq!(hub.room("lobby").send(Event::comment("1")), Ok(1));
    /// tokio::time::sleep(Duration::from_secs(3)).await;
    /// assert_eq!(hub.room("lobby").send(Event::comment("2")), Ok(0));
    /// assert_eq!(hub.room("lobby").presence(), 0);
    /// # drop(tab);
    /// # });
    /// ```
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.limits.stall = timeout;
        self
    }

    /// Loads a room's current state (e.g. its last 50 messages), sent to each client that
    /// joins the room before anything else, and to every client of the room again after a
    /// backplane reconnection.
    ///
    /// A send that happens while the loader runs is delivered after the loaded state, so it
    /// may show twice: give appended elements an `id`, so the second copy morphs the first.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use livestar::event::Event;
    /// use livestar::hub::Hub;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let hub = Hub::builder()
    ///     .room_loader(|room: String| async move { Event::comment(&format!("history of {room}")) })
    ///     .build();
    /// let mut tab = hub.join_room("lobby").into_frames();
    /// assert_eq!(tab.next().await.unwrap(), ": history of lobby\n\n");
    /// # });
    /// ```
    pub fn room_loader<F, Fut, B>(mut self, loader: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = B> + Send + 'static,
        B: Batch + 'static,
    {
        self.room_loader = Some(Arc::new(move |id| {
            loader(id).map(Batch::into_event).boxed()
        }));
        self
    }

    /// Loads a session's current state (e.g. the unread count), like
    /// [`room_loader`](Self::room_loader).
    ///
    /// ```
    /// use futures::StreamExt;
    /// use livestar::event::Event;
    /// use livestar::hub::Hub;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let hub = Hub::builder()
    ///     .session_loader(|_user: String| async { Event::patch_signals(serde_json::json!({ "unread": 3 })) })
    ///     .build();
    /// let mut tab = hub.join_session("user-7").into_frames();
    /// assert_eq!(tab.next().await.unwrap(), "event: datastar-patch-signals\ndata: signals {\"unread\":3}\n\n");
    /// # });
    /// ```
    pub fn session_loader<F, Fut, B>(mut self, loader: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = B> + Send + 'static,
        B: Batch + 'static,
    {
        self.session_loader = Some(Arc::new(move |id| {
            loader(id).map(Batch::into_event).boxed()
        }));
        self
    }

    /// Shares sends with every process whose hub uses the same backplane and `name`.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use livestar::backplane::{Backplane, MemoryBroker};
    /// use livestar::event::Event;
    /// use livestar::hub::Hub;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let here = Hub::builder().backplane(&Backplane::connect(broker.clone()).await?, "chat").build();
    /// let there = Hub::builder().backplane(&Backplane::connect(broker).await?, "chat").build();
    /// let mut tab = there.join_room("lobby").into_frames();
    /// // No local client, yet the other process delivers it.
    /// assert_eq!(here.room("lobby").send(Event::comment("hi")), Ok(0));
    /// assert_eq!(tab.next().await.unwrap(), ": hi\n\n");
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn backplane(mut self, backplane: &Backplane, name: &str) -> Self {
        self.backplane = Some((backplane.clone(), format!("h:{name}")));
        self
    }

    /// The hub.
    ///
    /// ```
    /// let hub = livestar::hub::Hub::builder().queue_limit(100).build();
    /// let tab = hub.join_room("lobby");
    /// assert_eq!(hub.clients(), 1);
    /// # drop(tab);
    /// ```
    pub fn build(self) -> Hub {
        let inner = Arc::new_cyclic(|weak: &Weak<HubInner>| {
            let remote = self.backplane.map(|(backplane, topic)| {
                let listener: Arc<dyn Listener> = Arc::new(HubListener { hub: weak.clone() });
                let registration = backplane.register(&topic, listener);
                Remote {
                    backplane,
                    topic,
                    _registration: registration,
                }
            });
            HubInner {
                members: Mutex::new(Members::default()),
                next_client: AtomicU64::new(0),
                limits: self.limits,
                presence_interval: self.presence_interval,
                slow: SlowLog::default(),
                room_loader: self.room_loader,
                session_loader: self.session_loader,
                presence: Notifier::new(),
                remote,
            }
        });
        Hub { inner }
    }
}

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
        let delivered = self.inner.deliver(target, id, &events);
        if let Some((remote, body)) = remote {
            remote.backplane.publish(&remote.topic, kind, body);
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
        let mut members = lock(&self.members);
        let mut delivered = 0;
        let mut slow = Vec::new();
        if let Some(clients) = members.of(target).get(id) {
            for client in clients.values() {
                match client.offer(events, supersedes) {
                    Offer::Queued => delivered += 1,
                    Offer::TooSlow => slow.push(client.clone()),
                    Offer::Gone => {}
                }
            }
        }
        let mut changed_rooms = Vec::new();
        if !slow.is_empty() {
            self.slow.record(slow.len());
        }
        for client in slow {
            client.disconnect.cancel();
            members.remove(&client);
            changed_rooms.extend(client.rooms.iter().cloned());
        }
        drop(members);
        for room in changed_rooms {
            self.presence.notify(&room);
        }
        delivered
    }

    fn leave(&self, client: &Client) {
        lock(&self.members).remove(client);
        for room in &client.rooms {
            self.presence.notify(room);
        }
    }

    fn loader(&self, target: Target) -> Option<&Loader> {
        match target {
            Target::Room => self.room_loader.as_ref(),
            Target::Session => self.session_loader.as_ref(),
        }
    }
}

/// Chooses the rooms and session of a new client; see [`Hub::client`].
///
/// ```
/// let hub = livestar::hub::Hub::new();
/// let live = hub.client().room("lobby").session("user-7").connect();
/// assert_eq!(hub.room("lobby").presence(), 1);
/// assert_eq!(hub.session("user-7").tabs(), 1);
/// # drop(live);
/// ```
#[must_use = "call .connect() to get the client's live stream"]
pub struct ClientBuilder<'a> {
    hub: &'a Hub,
    rooms: Vec<String>,
    session: Option<String>,
}

impl ClientBuilder<'_> {
    /// Joins room `id` too.
    ///
    /// ```
    /// let hub = livestar::hub::Hub::new();
    /// let live = hub.client().room("lobby").room("news").room("lobby").connect();
    /// // A room named twice is joined once.
    /// assert_eq!(hub.room("lobby").presence(), 1);
    /// assert_eq!(hub.room("news").presence(), 1);
    /// # drop(live);
    /// ```
    pub fn room(mut self, id: &str) -> Self {
        if !self.rooms.iter().any(|r| r == id) {
            self.rooms.push(id.to_owned());
        }
        self
    }

    /// Joins session `id` (one session per client).
    ///
    /// ```
    /// let hub = livestar::hub::Hub::new();
    /// let live = hub.client().session("guest").session("user-7").connect();
    /// // The last one wins.
    /// assert_eq!(hub.session("guest").tabs(), 0);
    /// assert_eq!(hub.session("user-7").tabs(), 1);
    /// # drop(live);
    /// ```
    pub fn session(mut self, id: &str) -> Self {
        self.session = Some(id.to_owned());
        self
    }

    /// Registers the client and returns its live stream: the loaders' current state first,
    /// then every send to its rooms and session. The client leaves when the stream is dropped
    /// (the HTTP client went away) or disconnected as too slow.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use livestar::event::Event;
    /// use livestar::hub::Hub;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let hub = Hub::new();
    /// let mut tab = hub.client().room("lobby").connect().into_frames();
    /// hub.room("lobby").send(Event::comment("hi")).unwrap();
    /// assert_eq!(tab.next().await.unwrap(), ": hi\n\n");
    /// drop(tab);
    /// assert_eq!(hub.clients(), 0);
    /// # });
    /// ```
    pub fn connect(self) -> LiveStream {
        let inner = &self.hub.inner;
        let id = inner.next_client.fetch_add(1, Ordering::Relaxed);
        let client = Client::new(id, self.rooms, self.session, inner.limits);
        {
            let mut members = lock(&inner.members);
            for room in &client.rooms {
                members
                    .rooms
                    .entry(room.clone())
                    .or_default()
                    .insert(id, client.clone());
            }
            if let Some(session) = &client.session {
                members
                    .sessions
                    .entry(session.clone())
                    .or_default()
                    .insert(id, client.clone());
            }
        }
        for room in &client.rooms {
            inner.presence.notify(room);
        }
        let mut loads: Vec<BoxFuture<'static, Event>> = Vec::new();
        if let Some(loader) = &inner.room_loader {
            loads.extend(client.rooms.iter().map(|room| loader(room.clone())));
        }
        if let (Some(loader), Some(session)) = (&inner.session_loader, &client.session) {
            loads.push(loader(session.clone()));
        }
        let current = futures::stream::iter(loads)
            .then(|load| load)
            .filter(|event| futures::future::ready(!event.as_bytes().is_empty()));
        let events = current
            .chain(client.events())
            .take_until(client.disconnect.clone().cancelled_owned());
        LiveStream::new(events).owning(Leave {
            hub: Arc::downgrade(inner),
            client,
        })
    }
}

/// Removes the client from its rooms and session when its stream is dropped.
struct Leave {
    hub: Weak<HubInner>,
    client: Arc<Client>,
}

impl Drop for Leave {
    fn drop(&mut self) {
        self.client.disconnect.cancel();
        if let Some(hub) = self.hub.upgrade() {
            hub.leave(&self.client);
        }
    }
}

/// A room of a [`Hub`]; see [`Hub::room`].
///
/// ```
/// use livestar::event::Event;
///
/// let hub = livestar::hub::Hub::new();
/// let tab = hub.join_room("lobby");
/// let lobby = hub.room("lobby");
/// assert_eq!(lobby.presence(), 1);
/// assert_eq!(lobby.send(Event::comment("hi")), Ok(1));
/// # drop(tab);
/// ```
#[derive(Clone, Copy)]
pub struct Room<'a> {
    hub: &'a Hub,
    id: &'a str,
}

impl Room<'_> {
    /// Sends `events` to every client of the room, here and (with a backplane) in every process.
    /// Returns the number of local clients it was queued for.
    ///
    /// ```
    /// use livestar::event::Event;
    /// let hub = livestar::hub::Hub::new();
    /// assert_eq!(hub.room("empty").send([Event::comment("a"), Event::comment("b")]), Ok(0));
    /// ```
    ///
    /// # Errors
    /// [`SendError::TooLarge`] when the events do not fit the backplane; nothing is sent.
    pub fn send(&self, events: impl Batch) -> Result<usize, SendError> {
        self.hub.send(Target::Room, self.id, events.into_event())
    }

    /// The number of clients in the room, in this process.
    ///
    /// ```
    /// let hub = livestar::hub::Hub::new();
    /// let (a, b) = (hub.join_room("lobby"), hub.join_room("lobby"));
    /// assert_eq!(hub.room("lobby").presence(), 2);
    /// # drop((a, b));
    /// ```
    pub fn presence(&self) -> usize {
        lock(&self.hub.inner.members)
            .rooms
            .get(self.id)
            .map_or(0, |clients| clients.len())
    }

    /// The sessions of the room's clients in this process, sorted, each once (clients that
    /// joined without a session are counted by [`presence`](Self::presence) only).
    ///
    /// ```
    /// let hub = livestar::hub::Hub::new();
    /// let tabs = [
    ///     hub.client().room("lobby").session("bob").connect(),
    ///     hub.client().room("lobby").session("alice").connect(),
    ///     hub.client().room("lobby").session("bob").connect(),
    ///     hub.join_room("lobby"),
    /// ];
    /// assert_eq!(hub.room("lobby").members(), ["alice", "bob"]);
    /// assert_eq!(hub.room("lobby").presence(), 4);
    /// # drop(tabs);
    /// ```
    pub fn members(&self) -> Vec<String> {
        let mut sessions: Vec<String> = lock(&self.hub.inner.members)
            .rooms
            .get(self.id)
            .map(|clients| clients.values().filter_map(|c| c.session.clone()).collect())
            .unwrap_or_default();
        sessions.sort_unstable();
        sessions.dedup();
        sessions
    }

    /// An invalidation source that wakes when clients join or leave the room, e.g. to
    /// broadcast the new count: at once for the first change, then at most once per
    /// presence interval ([`HubBuilder::presence_interval`]), however many joined.
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let hub = livestar::hub::Hub::new();
    /// let mut changes = hub.room("lobby").presence_changes();
    /// let tab = hub.join_room("lobby");
    /// assert_eq!(changes.next().await, Some(()));
    /// assert_eq!(hub.room("lobby").presence(), 1);
    /// # drop(tab);
    /// # });
    /// ```
    pub fn presence_changes(&self) -> PresenceChanges {
        PresenceChanges::new(
            self.hub.inner.presence.subscribe(&self.id.to_owned()),
            self.hub.inner.presence_interval,
        )
    }
}

/// A session of a [`Hub`] (every tab of one user); see [`Hub::session`].
///
/// ```
/// use livestar::event::Event;
///
/// let hub = livestar::hub::Hub::new();
/// let tab = hub.join_session("user-7");
/// let user = hub.session("user-7");
/// assert_eq!(user.tabs(), 1);
/// assert_eq!(user.send(Event::comment("ping")), Ok(1));
/// # drop(tab);
/// ```
#[derive(Clone, Copy)]
pub struct Session<'a> {
    hub: &'a Hub,
    id: &'a str,
}

impl Session<'_> {
    /// Sends `events` to every tab of the session, here and (with a backplane) in every
    /// process. Returns the number of local tabs it was queued for.
    ///
    /// ```
    /// use livestar::event::Event;
    /// use livestar::render::Html;
    /// use serde_json::json;
    ///
    /// let hub = livestar::hub::Hub::new();
    /// let note = Html::from_trusted("<div id=\"notification-list\">New reply</div>".into());
    /// let sent = hub.session("user-7").send([
    ///     Event::patch_elements(note).into(),
    ///     Event::patch_signals(json!({ "unreadCount": 3 })).into(),
    /// ] as [Event; 2]);
    /// assert_eq!(sent, Ok(0));
    /// ```
    ///
    /// # Errors
    /// [`SendError::TooLarge`] when the events do not fit the backplane; nothing is sent.
    pub fn send(&self, events: impl Batch) -> Result<usize, SendError> {
        self.hub.send(Target::Session, self.id, events.into_event())
    }

    /// The number of connected tabs of the session, in this process.
    ///
    /// ```
    /// let hub = livestar::hub::Hub::new();
    /// assert_eq!(hub.session("nobody").tabs(), 0);
    /// ```
    pub fn tabs(&self) -> usize {
        lock(&self.hub.inner.members)
            .sessions
            .get(self.id)
            .map_or(0, |clients| clients.len())
    }
}

/// Sends from other processes reach local clients; a reconnection resends current state.
struct HubListener {
    hub: Weak<HubInner>,
}

impl Listener for HubListener {
    fn deliver(&self, kind: Kind, body: &Bytes) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        let target = match kind {
            Kind::Room => Target::Room,
            Kind::Session => Target::Session,
            other => {
                tracing::warn!(
                    ?other,
                    "livestar backplane: ignored a notifier message sent to a hub"
                );
                return;
            }
        };
        match message::decode_addressed(body) {
            Ok((id, frames)) if frames.is_empty() || frames.ends_with(b"\n\n") => {
                hub.deliver(target, &id, &Event::from_encoded(frames));
            }
            Ok(_) => {
                tracing::warn!("livestar backplane: ignored a hub send whose events are cut short")
            }
            Err(message::Garbage(why)) => {
                tracing::warn!(why, "livestar backplane: ignored a bad hub send")
            }
        }
    }

    fn healed(&self) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        for target in [Target::Room, Target::Session] {
            let Some(loader) = hub.loader(target).cloned() else {
                continue;
            };
            let ids: Vec<String> = lock(&hub.members).of(target).keys().cloned().collect();
            for id in ids {
                let hub = Arc::downgrade(&hub);
                let load = loader(id.clone());
                tokio::spawn(async move {
                    let events = load.await;
                    if let Some(hub) = hub.upgrade() {
                        hub.deliver(target, &id, &events);
                    }
                });
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
