//! [`Room`] and [`Session`]: the targets of a send, and what they count.

#[allow(clippy::wildcard_imports)]
use super::*;

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
    pub(super) hub: &'a Hub,
    pub(super) id: &'a str,
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

    /// The number of clients in the room: in this process, and on a backplane in every
    /// process as each last said (they publish their counts as they change, at most once per
    /// presence interval, and every 10 s; a process silent for 30 s no longer counts: see
    /// [`HubBuilder::presence_expiry`](super::HubBuilder::presence_expiry)). On a backplane
    /// that routes by interest, the other processes' counts reach this one while the room has
    /// a client here or a [`Room::presence_changes`] subscription: elsewhere this counts only
    /// what was heard before.
    ///
    /// ```
    /// let hub = livestar::hub::Hub::new();
    /// let (a, b) = (hub.join_room("lobby"), hub.join_room("lobby"));
    /// assert_eq!(hub.room("lobby").presence(), 2);
    /// # drop((a, b));
    /// ```
    pub fn presence(&self) -> usize {
        let inner = &self.hub.inner;
        let remote = inner
            .cluster
            .as_ref()
            .map_or(0, |cluster| cluster.remote(self.id));
        self.local_presence() + remote
    }

    /// The number of clients in the room in this process.
    ///
    /// ```
    /// let hub = livestar::hub::Hub::new();
    /// let tab = hub.join_room("lobby");
    /// assert_eq!(hub.room("lobby").local_presence(), 1);
    /// # drop(tab);
    /// ```
    pub fn local_presence(&self) -> usize {
        lock(&self.hub.inner.members)
            .rooms
            .get(self.id)
            .map_or(0, |clients| clients.len())
    }

    /// The sessions of the room's clients in this process (only), sorted, each once (clients that
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
        let inner = &self.hub.inner;
        let counts = match &inner.remote {
            Some(remote) => remote
                .backplane
                .interest(&remote.topic, Scope::Room(self.id)),
            None => Interest::none(),
        };
        PresenceChanges::new(
            inner.presence.subscribe(&self.id.to_owned()),
            inner.presence_interval,
            counts,
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
    pub(super) hub: &'a Hub,
    pub(super) id: &'a str,
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

    /// Closes every tab of the session now (on logout, or an account whose access was
    /// revoked): each stream ends, events still queued are dropped, and the tabs leave their
    /// rooms. A tab that reconnects goes through its endpoint's extractors again, so a
    /// signed-out user is refused there. Returns the number of tabs closed in this process.
    ///
    /// With a [`Backplane`](crate::backplane::Backplane), the end is also published, signed
    /// like every backplane message: every other process on the channel closes its tabs of the
    /// session when the message arrives (a message without a valid signature closes nothing).
    /// Like a send, it is not delivered to a process that is disconnected from the broker at
    /// that moment, and a heal does not replay it; a tab there stays open until it reconnects
    /// or the session is ended again.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use futures::StreamExt;
    ///
    /// let hub = livestar::hub::Hub::new();
    /// let mut tab = hub.client().room("lobby").session("user-7").connect().into_frames();
    /// assert_eq!(hub.session("user-7").end(), 1);
    /// assert_eq!(tab.next().await, None);
    /// assert_eq!(hub.room("lobby").presence(), 0);
    /// # });
    /// ```
    pub fn end(&self) -> usize {
        let inner = &self.hub.inner;
        let closed = inner.end_session(self.id);
        // On the channel, not the session's route: rare, and it must reach even a tab that
        // connected an instant ago, before its route was confirmed.
        if let Some(remote) = &inner.remote {
            let body = message::encode_addressed(self.id, b"");
            remote
                .backplane
                .publish(&remote.topic, Scope::Everyone, Kind::EndSession, body);
        }
        closed
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
