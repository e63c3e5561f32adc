//! What a broker must do for a backplane: the [`Transport`] trait, and what its connections
//! yield.

use std::fmt;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

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

    /// Publishes several messages, each `(channel, payloads)` as [`Transport::publish`] would,
    /// in order. The backplane hands its outbox over in batches like this; the default
    /// publishes them one after the other, and a broker that can pipeline (Redis) sends them
    /// in one round trip.
    ///
    /// On failure, [`BatchFailed::published`] says how many of the messages (the first ones)
    /// surely went out: the backplane publishes the rest again.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures::StreamExt;
    /// use livestar::backplane::{Incoming, MemoryBroker, Transport};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let inbox = broker.subscribe("chat").await?;
    /// let (one, two) = ([Bytes::from("1")], [Bytes::from("2")]);
    /// broker.publish_batch(&[("chat", &one[..]), ("elsewhere", &two[..]), ("chat", &two[..])]).await
    ///     .map_err(|failed| failed.error)?;
    /// let got: Vec<_> = inbox.take(2).collect().await;
    /// assert!(matches!(&got[..], [Incoming::Message(a), Incoming::Message(b)] if a == "1" && b == "2"));
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    fn publish_batch<'a>(
        &'a self,
        messages: &'a [(&'a str, &'a [Bytes])],
    ) -> BoxFuture<'a, Result<(), BatchFailed>> {
        Box::pin(async move {
            for (published, (channel, payloads)) in messages.iter().enumerate() {
                if let Err(error) = self.publish(channel, payloads).await {
                    return Err(BatchFailed { published, error });
                }
            }
            Ok(())
        })
    }

    /// Subscribes to `channel` like [`Transport::subscribe`], and returns with the inbox a
    /// way to subscribe the same connection to more channels (routes): brokers that filter
    /// by channel at the server (Redis, NATS) then deliver each process only the keys, rooms
    /// and sessions it has local subscribers for (see
    /// [interest routing](super#interest-routing)). Messages of every route arrive in the
    /// returned inbox.
    ///
    /// The default returns no [`Routes`]: every message travels on `channel` and every
    /// process receives all of them (Postgres `LISTEN`, and a broker that cannot add
    /// subscriptions to a connection).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures::StreamExt;
    /// use livestar::backplane::{Incoming, MemoryBroker, Transport};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let (mut inbox, routes) = broker.subscribe_routed("shop").await?;
    /// let routes = routes.expect("the memory broker routes");
    /// routes.add(&["shop.1".to_owned()]).await?;
    /// broker.publish("shop.1", &[Bytes::from("for 1")]).await?;
    /// broker.publish("shop.2", &[Bytes::from("for 2: not here")]).await?;
    /// broker.publish("shop", &[Bytes::from("for all")]).await?;
    /// let got: Vec<_> = inbox.take(2).collect().await;
    /// assert!(matches!(&got[..], [Incoming::Message(a), Incoming::Message(b)] if a == "for 1" && b == "for all"));
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    fn subscribe_routed<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<RoutedInbox, BackplaneError>> {
        Box::pin(async move { Ok((self.subscribe(channel).await?, None)) })
    }
}

/// What [`Transport::subscribe_routed`] returns: the connection's inbox, and its routes when
/// the broker can add channels to it.
///
/// ```
/// use futures::StreamExt;
/// use livestar::backplane::{Inbox, RoutedInbox};
///
/// // A broker without routes: every message on the one channel.
/// let routed: RoutedInbox = (futures::stream::empty().boxed() as Inbox, None);
/// assert!(routed.1.is_none());
/// ```
pub type RoutedInbox = (Inbox, Option<Box<dyn Routes>>);

/// The routes of one broker connection (from [`Transport::subscribe_routed`]): more channels
/// whose messages arrive in that connection's inbox. When the connection is lost its routes
/// go with it; the backplane subscribes them again on the next one.
///
/// ```
/// use futures::future::BoxFuture;
/// use livestar::backplane::{BackplaneError, Routes};
///
/// /// Routes of a broker that delivers everything to everyone anyway.
/// struct Everything;
///
/// impl Routes for Everything {
///     fn add<'a>(&'a self, _routes: &'a [String]) -> BoxFuture<'a, Result<(), BackplaneError>> {
///         Box::pin(async { Ok(()) })
///     }
///     fn remove<'a>(&'a self, _routes: &'a [String]) -> BoxFuture<'a, Result<(), BackplaneError>> {
///         Box::pin(async { Ok(()) })
///     }
/// }
/// ```
pub trait Routes: Send + Sync {
    /// Subscribes the connection to `routes`, returning once the broker has confirmed them
    /// (a message published on one of them afterwards reaches the inbox).
    ///
    /// ```
    /// use futures::StreamExt;
    /// use livestar::backplane::{MemoryBroker, Transport};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let (_inbox, routes) = broker.subscribe_routed("shop").await?;
    /// routes.unwrap().add(&["shop.a".to_owned(), "shop.b".to_owned()]).await?;
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    fn add<'a>(&'a self, routes: &'a [String]) -> BoxFuture<'a, Result<(), BackplaneError>>;
    /// Unsubscribes the connection from `routes`.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures::{FutureExt, StreamExt};
    /// use livestar::backplane::{MemoryBroker, Transport};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let (mut inbox, routes) = broker.subscribe_routed("shop").await?;
    /// let routes = routes.unwrap();
    /// routes.add(&["shop.a".to_owned()]).await?;
    /// routes.remove(&["shop.a".to_owned()]).await?;
    /// broker.publish("shop.a", &[Bytes::from("gone")]).await?;
    /// tokio::task::yield_now().await;
    /// assert!(inbox.next().now_or_never().is_none());
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    fn remove<'a>(&'a self, routes: &'a [String]) -> BoxFuture<'a, Result<(), BackplaneError>>;
}

/// A batch of messages that did not all go out (see [`Transport::publish_batch`]).
///
/// ```
/// use livestar::backplane::{BackplaneError, BatchFailed};
///
/// let failed = BatchFailed { published: 2, error: BackplaneError::new("redis", "connection reset") };
/// assert_eq!(failed.to_string(), "redis backplane: connection reset (after 2 messages)");
/// ```
#[derive(Debug, Clone)]
pub struct BatchFailed {
    /// How many of the first messages surely went out.
    pub published: usize,
    /// What went wrong.
    pub error: BackplaneError,
}

impl fmt::Display for BatchFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (after {} messages)", self.error, self.published)
    }
}

impl std::error::Error for BatchFailed {}

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
