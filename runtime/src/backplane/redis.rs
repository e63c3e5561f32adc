//! The Redis backplane: Redis pub/sub through the `redis` crate (tokio, multiplexed).

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use redis::aio::MultiplexedConnection;

use super::{
    Backplane, BackplaneError, BatchFailed, Inbox, Incoming, RoutedInbox, Routes, Transport, lock,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Makes `ring` the process's TLS provider unless one is set: the `redis` client asks rustls
/// for the process default, which is ambiguous when the application's dependencies compile
/// in more than one provider.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed one meanwhile; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Redis pub/sub as a [`Transport`]: one connection subscribed to the backplane's channel, one
/// multiplexed connection to publish.
///
/// Failures: when the subscription connection drops (a Redis restart, `CLIENT KILL TYPE
/// pubsub`, a network cut) the backplane reconnects with backoff and heals; a publish that
/// fails reconnects once and, if that fails too, is dropped and logged. Redis pub/sub keeps no
/// history: what is published while a process is disconnected is not replayed to it, which is
/// why the backplane heals by invalidating instead.
///
/// ```no_run
/// # async fn run() -> Result<(), livestar::backplane::BackplaneError> {
/// use livestar::backplane::{Backplane, Redis};
/// use livestar::hub::Hub;
/// use livestar::invalidate::Notifier;
///
/// let backplane = Redis::connect("redis://127.0.0.1:6379").await?;
/// let hub = Hub::with_backplane(&backplane);
/// let changed: Notifier<u64> = Notifier::with_backplane(&backplane, "todos");
///
/// // Or with options:
/// let backplane = Backplane::builder().channel("shop").connect(Redis::new("redis://127.0.0.1")?).await?;
/// # let _ = (hub, changed, backplane);
/// # Ok(())
/// # }
/// ```
pub struct Redis {
    client: redis::Client,
    publisher: Mutex<Option<MultiplexedConnection>>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").finish_non_exhaustive()
    }
}

fn error(e: impl std::fmt::Display) -> BackplaneError {
    BackplaneError::new("redis", e)
}

impl Redis {
    /// A transport for the server at `url` (`redis://host:port/db`, or `rediss://` for TLS,
    /// the server's certificate checked against the system's root certificates); connects
    /// nothing yet.
    ///
    /// # Errors
    /// The URL does not parse.
    ///
    /// ```
    /// use livestar::backplane::Redis;
    ///
    /// // Nothing is connected yet, so this needs no server.
    /// assert!(Redis::new("redis://127.0.0.1:6379/0").is_ok());
    /// assert!(Redis::new("rediss://redis.internal:6380").is_ok());
    /// assert!(Redis::new("http://127.0.0.1").is_err());
    /// ```
    pub fn new(url: &str) -> Result<Redis, BackplaneError> {
        install_crypto_provider();
        Ok(Redis {
            client: redis::Client::open(url).map_err(error)?,
            publisher: Mutex::new(None),
        })
    }

    /// A transport for a `rediss://` server whose certificate is signed by the root
    /// certificate `root_pem` (PEM: a private CA) instead of one the system trusts.
    ///
    /// # Errors
    /// The URL does not parse, or `root_pem` holds no certificate.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use livestar::backplane::{Backplane, Redis};
    ///
    /// let ca = std::fs::read("/etc/redis/tls/ca.pem")?;
    /// let redis = Redis::with_root_certificate("rediss://redis.internal:6380", &ca)?;
    /// let backplane = Backplane::builder().channel("shop-production").connect(redis).await?;
    /// # drop(backplane);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_root_certificate(url: &str, root_pem: &[u8]) -> Result<Redis, BackplaneError> {
        install_crypto_provider();
        let certificates = redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(root_pem.to_vec()),
        };
        Ok(Redis {
            client: redis::Client::build_with_tls(url, certificates).map_err(error)?,
            publisher: Mutex::new(None),
        })
    }

    /// Connects a backplane on the default channel; see [`Backplane::builder`] for options.
    ///
    /// # Errors
    /// The URL does not parse or the server cannot be reached now.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), livestar::backplane::BackplaneError> {
    /// let backplane = livestar::backplane::Redis::connect("redis://127.0.0.1:6379").await?;
    /// assert_eq!(backplane.broker(), "redis");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Backplane, BackplaneError> {
        Backplane::connect(Redis::new(url)?).await
    }

    async fn publisher(&self) -> Result<MultiplexedConnection, BackplaneError> {
        if let Some(connection) = lock(&self.publisher).clone() {
            return Ok(connection);
        }
        let connection = tokio::time::timeout(
            CONNECT_TIMEOUT,
            self.client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| error("connection timed out"))?
        .map_err(error)?;
        *lock(&self.publisher) = Some(connection.clone());
        Ok(connection)
    }

    /// Publishes every message in one pipeline: one round trip for all of them.
    async fn publish_all(&self, messages: &[(&str, &[Bytes])]) -> Result<(), BackplaneError> {
        let mut connection = self.publisher().await?;
        let mut pipe = redis::pipe();
        for (channel, payloads) in messages {
            for payload in *payloads {
                pipe.cmd("PUBLISH")
                    .arg(*channel)
                    .arg(payload.as_ref())
                    .ignore();
            }
        }
        let sent: Result<(), _> = pipe.query_async(&mut connection).await;
        if sent.is_err() {
            *lock(&self.publisher) = None;
        }
        sent.map_err(error)
    }

    /// [`Redis::publish_all`], once more on a fresh connection if it fails: the cached one may
    /// have died with the server.
    async fn publish_retrying(&self, messages: &[(&str, &[Bytes])]) -> Result<(), BackplaneError> {
        match self.publish_all(messages).await {
            Ok(()) => Ok(()),
            Err(_) => self.publish_all(messages).await,
        }
    }
}

impl Transport for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn max_payload(&self) -> usize {
        // Redis takes up to 512 MB; a bound keeps one message from stalling the connection.
        8 * 1024 * 1024
    }

    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Inbox, BackplaneError>> {
        Box::pin(async move { Ok(self.subscribe_routed(channel).await?.0) })
    }

    fn subscribe_routed<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<RoutedInbox, BackplaneError>> {
        Box::pin(async move {
            let mut pubsub = tokio::time::timeout(CONNECT_TIMEOUT, self.client.get_async_pubsub())
                .await
                .map_err(|_| error("connection timed out"))?
                .map_err(error)?;
            pubsub.subscribe(channel).await.map_err(error)?;
            let (sink, messages) = pubsub.split();
            // A sink is kept with the stream: dropping every one could close the connection.
            let keep = sink.clone();
            let inbox = messages
                .map(move |message| {
                    let _keep = &keep;
                    Incoming::Message(Bytes::copy_from_slice(message.get_payload_bytes()))
                })
                .boxed();
            Ok((
                inbox,
                Some(Box::new(RedisRoutes { sink }) as Box<dyn Routes>),
            ))
        })
    }

    fn publish<'a>(
        &'a self,
        channel: &'a str,
        payloads: &'a [Bytes],
    ) -> BoxFuture<'a, Result<(), BackplaneError>> {
        Box::pin(async move { self.publish_retrying(&[(channel, payloads)]).await })
    }

    fn publish_batch<'a>(
        &'a self,
        messages: &'a [(&'a str, &'a [Bytes])],
    ) -> BoxFuture<'a, Result<(), BatchFailed>> {
        // A pipeline that failed may have been carried out in part; which part is unknown, so
        // none counts as published (as a lone publish whose answer was lost).
        Box::pin(async move {
            self.publish_retrying(messages)
                .await
                .map_err(|error| BatchFailed {
                    published: 0,
                    error,
                })
        })
    }
}

/// The routes of one Redis pub/sub connection: `SUBSCRIBE`/`UNSUBSCRIBE` of more channels on
/// it, each answered by the server before the call returns.
struct RedisRoutes {
    sink: redis::aio::PubSubSink,
}

impl Routes for RedisRoutes {
    fn add<'a>(&'a self, routes: &'a [String]) -> BoxFuture<'a, Result<(), BackplaneError>> {
        Box::pin(async move {
            let mut sink = self.sink.clone();
            tokio::time::timeout(CONNECT_TIMEOUT, sink.subscribe(routes))
                .await
                .map_err(|_| error("SUBSCRIBE timed out"))?
                .map_err(error)
        })
    }

    fn remove<'a>(&'a self, routes: &'a [String]) -> BoxFuture<'a, Result<(), BackplaneError>> {
        Box::pin(async move {
            let mut sink = self.sink.clone();
            tokio::time::timeout(CONNECT_TIMEOUT, sink.unsubscribe(routes))
                .await
                .map_err(|_| error("UNSUBSCRIBE timed out"))?
                .map_err(error)
        })
    }
}
