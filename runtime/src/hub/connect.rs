//! [`ClientBuilder`]: a client joins its rooms and session, and leaves when its stream is dropped.

#[allow(clippy::wildcard_imports)]
use super::*;

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
    pub(super) hub: &'a Hub,
    pub(super) rooms: Vec<String>,
    pub(super) session: Option<String>,
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
            let remote = inner.remote.as_ref();
            for room in &client.rooms {
                members.add(Target::Room, room, &client, remote);
            }
            if let Some(session) = &client.session {
                members.add(Target::Session, session, &client, remote);
            }
        }
        for room in &client.rooms {
            inner.presence_changed(room);
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
            .filter(|event| futures::future::ready(!event.as_bytes().is_empty()))
            .boxed();
        let span = tracing::debug_span!(
            "hub_client",
            client = id,
            rooms = client.rooms.len(),
            session = client.session.is_some()
        );
        let events = crate::metrics::InSpan::new(client.events(current), span);
        crate::metrics::hub().clients.increment(1.0);
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
        crate::metrics::hub().clients.decrement(1.0);
        self.client.disconnect();
        if let Some(hub) = self.hub.upgrade() {
            hub.leave(&self.client);
        }
    }
}
