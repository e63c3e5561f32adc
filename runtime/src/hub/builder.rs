//! [`HubBuilder`]: the options of a hub: queue limits, presence interval, loaders, backplane.

#[allow(clippy::wildcard_imports)]
use super::*;

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
    pub(super) limits: Limits,
    pub(super) presence_interval: Duration,
    pub(super) presence_expiry: Duration,
    pub(super) room_loader: Option<Loader>,
    pub(super) session_loader: Option<Loader>,
    pub(super) backplane: Option<(Backplane, String)>,
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

    /// How long another process's count of a room's clients stands after it was last heard
    /// (default [`DEFAULT_PRESENCE_EXPIRY`], at least 300 ms). Every process on the backplane
    /// repeats its counts every third of its own expiry, so give every process the same.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let hub = livestar::hub::Hub::builder().presence_expiry(Duration::from_secs(10)).build();
    /// # drop(hub);
    /// ```
    pub fn presence_expiry(mut self, expiry: Duration) -> Self {
        self.presence_expiry = expiry.max(Duration::from_millis(300));
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
    /// let elsewhere = Backplane::connect(broker).await?;
    /// let there = Hub::builder().backplane(&elsewhere, "chat").build();
    /// let mut tab = there.join_room("lobby").into_frames();
    /// elsewhere.settled().await; // the broker routes the room to `there` from now on
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
                cluster: remote
                    .as_ref()
                    .map(|_| cluster::ClusterPresence::new(self.presence_expiry)),
                remote,
            }
        });
        if inner.remote.is_some() {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(cluster::run(
                        Arc::downgrade(&inner),
                        inner.presence_interval,
                    ));
                }
                Err(_) => tracing::warn!(
                    "livestar hub: built outside a tokio runtime, so its rooms' presence \
                     counts this process only"
                ),
            }
        }
        Hub { inner }
    }
}
