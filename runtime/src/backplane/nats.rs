//! The NATS backplane: core NATS publish/subscribe through `async-nats`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use tokio::sync::{broadcast, mpsc};

use super::{Backplane, BackplaneError, Inbox, Incoming, RoutedInbox, Routes, Transport};

/// Core NATS as a [`Transport`]: one client, subscribed to the backplane's channel as a subject.
///
/// The NATS client reconnects by itself (with jittered backoff, up to 4 s apart) and
/// re-subscribes; the backplane heals once the client reports it is connected again and a
/// round trip confirms the subscription. Messages published while disconnected wait in the
/// client's buffer and are sent on reconnection (up to the client's limit; beyond that they
/// are dropped and logged). Core NATS keeps no history for a disconnected subscriber, hence the
/// heal.
///
/// ```no_run
/// # async fn run() -> Result<(), livestar::backplane::BackplaneError> {
/// use livestar::backplane::Nats;
/// use livestar::hub::Hub;
///
/// let backplane = Nats::connect("nats://127.0.0.1:4222").await?;
/// let hub = Hub::with_backplane(&backplane);
/// # drop(hub);
/// # Ok(())
/// # }
/// ```
pub struct Nats {
    client: async_nats::Client,
    reconnected: broadcast::Sender<()>,
}

impl std::fmt::Debug for Nats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nats").finish_non_exhaustive()
    }
}

fn error(e: impl std::fmt::Display) -> BackplaneError {
    BackplaneError::new("nats", e)
}

impl Nats {
    /// Connects a client to `url` (`nats://host:port`, several separated by commas;
    /// `tls://host:port` requires TLS, checked against the system's root certificates; see
    /// [TLS](super#tls-to-the-broker)).
    ///
    /// # Errors
    /// The server cannot be reached now.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), livestar::backplane::BackplaneError> {
    /// use livestar::backplane::{Backplane, Nats};
    ///
    /// let nats = Nats::new("nats://10.0.0.1:4222,nats://10.0.0.2:4222").await?;
    /// let backplane = Backplane::builder().channel("shop").connect(nats).await?;
    /// assert_eq!(backplane.broker(), "nats");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn new(url: &str) -> Result<Nats, BackplaneError> {
        Nats::connect_with(url, async_nats::ConnectOptions::new()).await
    }

    /// Connects a client to a server that requires TLS, its certificate checked against the
    /// root certificate in the PEM file `root_pem` (a private CA) as well as the system's.
    ///
    /// # Errors
    /// The server cannot be reached now, the file cannot be read, or the server's certificate
    /// is not signed by that root.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), livestar::backplane::BackplaneError> {
    /// use livestar::backplane::{Backplane, Nats};
    ///
    /// let nats = Nats::with_root_certificate("tls://nats.internal:4222", "/etc/nats/ca.pem").await?;
    /// let backplane = Backplane::builder().channel("shop-production").connect(nats).await?;
    /// # drop(backplane);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn with_root_certificate(
        url: &str,
        root_pem: impl AsRef<std::path::Path>,
    ) -> Result<Nats, BackplaneError> {
        let options = async_nats::ConnectOptions::new()
            .add_root_certificates(root_pem.as_ref().to_path_buf())
            .require_tls(true);
        Nats::connect_with(url, options).await
    }

    async fn connect_with(
        url: &str,
        options: async_nats::ConnectOptions,
    ) -> Result<Nats, BackplaneError> {
        let (reconnected, _) = broadcast::channel(16);
        let events = reconnected.clone();
        let disconnected = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let client = options
            .connection_timeout(Duration::from_secs(5))
            .reconnect_delay_callback(|attempt| {
                let ceiling = Duration::from_millis(50)
                    .saturating_mul(2u32.saturating_pow(attempt.min(16) as u32))
                    .min(Duration::from_secs(4));
                ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
            })
            .event_callback(move |event| {
                let events = events.clone();
                let disconnected = disconnected.clone();
                async move {
                    use std::sync::atomic::Ordering;
                    match event {
                        async_nats::Event::Disconnected => {
                            tracing::warn!(
                                "livestar backplane: lost the NATS server, reconnecting"
                            );
                            disconnected.store(true, Ordering::SeqCst);
                        }
                        async_nats::Event::Connected => {
                            if disconnected.swap(false, Ordering::SeqCst) {
                                let _ = events.send(());
                            }
                        }
                        other => tracing::debug!(%other, "nats client event"),
                    }
                }
            })
            .connect(url)
            .await
            .map_err(error)?;
        Ok(Nats {
            client,
            reconnected,
        })
    }

    /// Connects a backplane on the default channel; see [`Backplane::builder`] for options.
    ///
    /// # Errors
    /// The server cannot be reached now.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), livestar::backplane::BackplaneError> {
    /// let backplane = livestar::backplane::Nats::connect("nats://127.0.0.1:4222").await?;
    /// assert!(backplane.is_connected());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Backplane, BackplaneError> {
        Backplane::connect(Nats::new(url).await?).await
    }
}

/// Returns once the server has processed everything this client sent before (a `flush` only
/// writes to the socket): a message to a private subject comes back after the server has
/// handled the earlier `SUB`s.
async fn round_trip(client: &async_nats::Client) -> Result<(), BackplaneError> {
    let subject = format!("_livestar.probe.{:016x}", fastrand::u64(..));
    let mut probe = client.subscribe(subject.clone()).await.map_err(error)?;
    client.publish(subject, Bytes::new()).await.map_err(error)?;
    match tokio::time::timeout(Duration::from_secs(5), probe.next()).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(error("the connection closed during the subscription")),
        Err(_) => Err(error(
            "the server did not confirm the subscription within 5 s",
        )),
    }
}

impl Transport for Nats {
    fn name(&self) -> &'static str {
        "nats"
    }

    fn max_payload(&self) -> usize {
        // The server's limit (1 MiB by default), less room for headers.
        self.client
            .server_info()
            .max_payload
            .saturating_sub(1024)
            .max(4096)
    }

    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Inbox, BackplaneError>> {
        Box::pin(async move { Ok(self.subscribe_routed(channel).await?.0) })
    }

    fn subscribe_routed<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<RoutedInbox, BackplaneError>> {
        Box::pin(async move {
            let subscriber = self
                .client
                .subscribe(channel.to_owned())
                .await
                .map_err(error)?;
            round_trip(&self.client).await?;
            let (routed, routed_rx) = mpsc::channel::<Bytes>(ROUTED_QUEUE);
            let routed_messages = futures::stream::unfold(routed_rx, |mut rx| async move {
                let payload = rx.recv().await?;
                Some((Incoming::Message(payload), rx))
            });
            let messages = futures::stream::select(
                subscriber.map(|message| Incoming::Message(message.payload)),
                routed_messages,
            );
            let client = self.client.clone();
            let heals = futures::stream::unfold(
                (self.reconnected.subscribe(), client),
                |(mut rx, client)| async move {
                    loop {
                        match rx.recv().await {
                            Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => {
                                // The client re-sent its subscriptions before the round trip.
                                if round_trip(&client).await.is_ok() {
                                    return Some((Incoming::Resubscribed, (rx, client)));
                                }
                            }
                            Err(broadcast::error::RecvError::Closed) => return None,
                        }
                    }
                },
            );
            let routes = NatsRoutes {
                client: self.client.clone(),
                routed,
                subscriptions: std::sync::Mutex::new(HashMap::new()),
            };
            Ok((
                futures::stream::select(messages, heals).boxed(),
                Some(Box::new(routes) as Box<dyn Routes>),
            ))
        })
    }

    fn publish<'a>(
        &'a self,
        channel: &'a str,
        payloads: &'a [Bytes],
    ) -> BoxFuture<'a, Result<(), BackplaneError>> {
        Box::pin(async move {
            for payload in payloads {
                self.client
                    .publish(channel.to_owned(), payload.clone())
                    .await
                    .map_err(error)?;
            }
            Ok(())
        })
    }
}

/// Route messages waiting for the receive loop, over all routes of a connection; a full queue
/// holds the route subscriptions back (their own buffers fill, then the server drops messages
/// to a slow consumer, as it would for one subscription).
const ROUTED_QUEUE: usize = 4096;

/// The routes of one NATS connection: one subscription per route subject, each forwarding into
/// the connection's inbox; unsubscribed when its forwarding task ends.
struct NatsRoutes {
    client: async_nats::Client,
    routed: mpsc::Sender<Bytes>,
    subscriptions: std::sync::Mutex<HashMap<String, AbortOnDrop>>,
}

/// Ends a route's forwarding task (and so its subscription) when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Routes for NatsRoutes {
    fn add<'a>(&'a self, routes: &'a [String]) -> BoxFuture<'a, Result<(), BackplaneError>> {
        Box::pin(async move {
            for route in routes {
                if super::lock(&self.subscriptions).contains_key(route) {
                    continue;
                }
                let mut subscriber = self.client.subscribe(route.clone()).await.map_err(error)?;
                let routed = self.routed.clone();
                let task = tokio::spawn(async move {
                    while let Some(message) = subscriber.next().await {
                        if routed.send(message.payload).await.is_err() {
                            return; // The inbox is gone.
                        }
                    }
                });
                super::lock(&self.subscriptions)
                    .insert(route.clone(), AbortOnDrop(task.abort_handle()));
            }
            // The server has handled the SUBs once a message sent after them comes back.
            round_trip(&self.client).await
        })
    }

    fn remove<'a>(&'a self, routes: &'a [String]) -> BoxFuture<'a, Result<(), BackplaneError>> {
        Box::pin(async move {
            let mut subscriptions = super::lock(&self.subscriptions);
            for route in routes {
                subscriptions.remove(route);
            }
            Ok(())
        })
    }
}
