//! Heartbeats: comments that keep an idle connection open through proxies.

use std::time::Duration;

use super::DEFAULT_HEARTBEAT;

/// How a stream keeps an idle connection open.
///
/// A heartbeat is an SSE comment sent after `initial_delay` of silence, then after every
/// `interval` of silence: a stream that sends events often sends no heartbeats.
///
/// ```
/// use std::time::Duration;
/// use livestar::stream::Heartbeat;
///
/// let default = Heartbeat::default(); // every 15 s, first after 15 s, comment "heartbeat"
/// let fast = Heartbeat::every(Duration::from_millis(500)).comment("todos");
/// let none = Heartbeat::off();
/// assert_eq!(default.interval(), Some(Duration::from_secs(15)));
/// assert_eq!(fast.interval(), Some(Duration::from_millis(500)));
/// assert_eq!(none.interval(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    pub(super) settings: Option<HeartbeatSettings>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct HeartbeatSettings {
    pub(super) interval: Duration,
    pub(super) initial_delay: Duration,
    pub(super) comment: String,
}

impl Heartbeat {
    /// A heartbeat every `interval` of silence, the first one after `interval` too.
    ///
    /// A zero interval would flood the connection; it is raised to one millisecond.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures::StreamExt;
    /// use livestar::stream::Heartbeat;
    ///
    /// // Paused time skips ahead to the heartbeat instead of waiting 5 s.
    /// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap().block_on(async {
    /// let start = tokio::time::Instant::now();
    /// let mut frames = livestar::stream(futures::stream::pending::<livestar::event::Event>())
    ///     .heartbeat(Heartbeat::every(Duration::from_secs(5)))
    ///     .into_frames();
    /// assert_eq!(frames.next().await.unwrap(), ": heartbeat\n\n");
    /// assert_eq!(start.elapsed(), Duration::from_secs(5));
    /// # });
    /// assert_eq!(Heartbeat::every(Duration::ZERO).interval(), Some(Duration::from_millis(1)));
    /// ```
    pub fn every(interval: Duration) -> Self {
        let interval = interval.max(Duration::from_millis(1));
        Heartbeat {
            settings: Some(HeartbeatSettings {
                interval,
                initial_delay: interval,
                comment: "heartbeat".to_owned(),
            }),
        }
    }

    /// No heartbeats.
    ///
    /// ```
    /// use livestar::stream::Heartbeat;
    ///
    /// assert_eq!(Heartbeat::off().interval(), None);
    /// ```
    pub fn off() -> Self {
        Heartbeat { settings: None }
    }

    /// Waits `delay` of silence before the first heartbeat (by default, one interval).
    /// Has no effect on [`Heartbeat::off`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures::StreamExt;
    /// use livestar::stream::Heartbeat;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// // A zero delay shows the client at once that the stream is open.
    /// let heartbeat = Heartbeat::every(Duration::from_secs(30)).initial_delay(Duration::ZERO);
    /// let mut frames = livestar::stream(futures::stream::pending::<livestar::event::Event>())
    ///     .heartbeat(heartbeat)
    ///     .into_frames();
    /// assert_eq!(frames.next().await.unwrap(), ": heartbeat\n\n");
    /// # });
    /// assert_eq!(Heartbeat::off().initial_delay(Duration::ZERO), Heartbeat::off());
    /// ```
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        if let Some(settings) = &mut self.settings {
            settings.initial_delay = delay;
        }
        self
    }

    /// The comment text of each heartbeat (by default `heartbeat`).
    /// Has no effect on [`Heartbeat::off`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures::StreamExt;
    /// use livestar::stream::Heartbeat;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let heartbeat = Heartbeat::every(Duration::from_secs(30))
    ///     .initial_delay(Duration::ZERO)
    ///     .comment("todos");
    /// let mut frames = livestar::stream(futures::stream::pending::<livestar::event::Event>())
    ///     .heartbeat(heartbeat)
    ///     .into_frames();
    /// assert_eq!(frames.next().await.unwrap(), ": todos\n\n");
    /// # });
    /// ```
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        if let Some(settings) = &mut self.settings {
            settings.comment = text.into();
        }
        self
    }

    /// The interval between heartbeats, or `None` when they are off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use livestar::stream::Heartbeat;
    ///
    /// assert_eq!(Heartbeat::default().interval(), Some(Duration::from_secs(15)));
    /// assert_eq!(Heartbeat::off().interval(), None);
    /// ```
    pub fn interval(&self) -> Option<Duration> {
        self.settings.as_ref().map(|s| s.interval)
    }
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat::every(DEFAULT_HEARTBEAT)
    }
}
