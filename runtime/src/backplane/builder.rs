//! The options of a backplane, and connecting it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::auth::{Keys, Secret};
use super::heal::HealSchedule;
use super::outbox::Outbox;
use super::routes::Router;
use super::{
    Backplane, BackplaneError, DEFAULT_CHANNEL, DEVELOPMENT_SECRET, Inner, Kind, Status, Transport,
    Warnings, loops, message,
};

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
    pub(super) channel: String,
    pub(super) min_backoff: Duration,
    pub(super) max_backoff: Duration,
    pub(super) max_message: usize,
    pub(super) max_outbox: usize,
    pub(super) heal_window: Duration,
    pub(super) route_by_interest: bool,
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
            route_by_interest: true,
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

    /// Whether messages for one key, room or session travel on a route of their own, so that
    /// each process receives only those it has local subscribers for (default: on, where the
    /// broker can: Redis and NATS; Postgres always sends everything to everyone). See
    /// [interest routing](super#interest-routing). Every process on a channel must agree:
    /// one that routes does not hear the keys sent by one that does not, and the other way
    /// round.
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let backplane = Backplane::builder().route_by_interest(false).connect(MemoryBroker::new()).await?;
    /// assert!(!backplane.routes_by_interest());
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn route_by_interest(mut self, route: bool) -> Self {
        self.route_by_interest = route;
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
        let (inbox, routes) = if self.route_by_interest {
            transport.subscribe_routed(&self.channel).await?
        } else {
            (transport.subscribe(&self.channel).await?, None)
        };
        let router = Router::new();
        let routing = routes.is_some();
        *router
            .control
            .try_lock()
            .expect("a new router is not locked") = routes;
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
            listeners: std::sync::Mutex::new(HashMap::new()),
            next_listener: AtomicU64::new(0),
            next_message: AtomicU64::new(0),
            outbox: outbox.clone(),
            dropped: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            pending_chunk_bytes: AtomicUsize::new(0),
            heal_schedule: HealSchedule::new(self.heal_window),
            status,
            received: AtomicU64::new(0),
            routing,
            router,
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
        if routing {
            tokio::spawn(
                loops::route_loop(Arc::downgrade(&inner), self.clone(), stop.clone())
                    .instrument(span.clone()),
            );
        }
        tokio::spawn(
            loops::publish_loop(
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
            loops::receive_loop(transport, Arc::downgrade(&inner), self, inbox, stop.clone())
                .instrument(span),
        );
        Ok(Backplane {
            inner,
            _tasks: Arc::new(stop.drop_guard()),
        })
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
