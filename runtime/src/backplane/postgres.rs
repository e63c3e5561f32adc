//! The Postgres backplane: `LISTEN`/`NOTIFY` through `tokio-postgres`.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use tokio::sync::{Mutex, mpsc};
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};

use super::{Backplane, BackplaneError, Inbox, Incoming, Transport};

/// The largest `NOTIFY` payload Postgres takes is 7999 bytes; chunks stay under it.
const MAX_NOTIFY: usize = 7900;

/// Notifications received but not yet handled; past it the listening connection is closed
/// (the backplane reconnects and heals) rather than buffering without bound.
const MAX_BACKLOG: usize = 4096;

/// Postgres `LISTEN`/`NOTIFY` as a [`Transport`]: one connection listening on the backplane's
/// channel, one to notify. No table is created.
///
/// `NOTIFY` payloads are limited to 8000 bytes: invalidations carry only keys and fit;
/// larger hub sends are split into chunks sent in one transaction (so they arrive together
/// and in order, and not at all if it fails) and reassembled by the receivers, up to the
/// backplane's `max_message` (1 MiB by default); a larger send is refused with
/// [`SendError::TooLarge`](crate::hub::SendError).
///
/// Failures: when the listening connection drops (a restart, `pg_terminate_backend`, a
/// network cut) the backplane reconnects with backoff and heals; a notify that fails
/// reconnects once and, if that fails too, is dropped and logged. Connections use TLS-less
/// transport (`NoTls`): `sslmode=require` fails to connect and `sslmode=prefer` stays plain
/// text, so use a local socket or a private network (see [TLS](super#tls-to-the-broker)). The application name is
/// `livestar` unless the URL sets `application_name`.
///
/// ```no_run
/// # async fn run() -> Result<(), livestar::backplane::BackplaneError> {
/// use livestar::backplane::Postgres;
/// use livestar::invalidate::Notifier;
///
/// let backplane = Postgres::connect("postgres://postgres@127.0.0.1:5432/app").await?;
/// let changed: Notifier<String> = Notifier::with_backplane(&backplane, "documents");
/// changed.notify(&"doc-1".to_owned());
/// # Ok(())
/// # }
/// ```
pub struct Postgres {
    config: Config,
    notifier: Mutex<Option<Arc<Client>>>,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres").finish_non_exhaustive()
    }
}

fn error(e: impl std::fmt::Display) -> BackplaneError {
    BackplaneError::new("postgres", e)
}

/// `"name"`, with inner quotes doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Postgres {
    /// A transport for the database at `url`; connects nothing yet.
    ///
    /// # Errors
    /// The URL does not parse.
    ///
    /// ```
    /// use livestar::backplane::Postgres;
    ///
    /// // Nothing is connected yet, so this needs no server.
    /// assert!(Postgres::new("postgres://app@127.0.0.1:5432/app").is_ok());
    /// assert!(Postgres::new("postgres://app@127.0.0.1:port/app").is_err());
    /// ```
    pub fn new(url: &str) -> Result<Postgres, BackplaneError> {
        let mut config = Config::from_str(url).map_err(error)?;
        if config.get_application_name().is_none() {
            config.application_name("livestar");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        Ok(Postgres {
            config,
            notifier: Mutex::new(None),
        })
    }

    /// Connects a backplane on the default channel; see [`Backplane::builder`] for options.
    ///
    /// # Errors
    /// The URL does not parse or the database cannot be reached now.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), livestar::backplane::BackplaneError> {
    /// let backplane = livestar::backplane::Postgres::connect("postgres://postgres@127.0.0.1/app").await?;
    /// assert_eq!(backplane.broker(), "postgres");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<Backplane, BackplaneError> {
        Backplane::connect(Postgres::new(url)?).await
    }

    /// A connection whose notifications (and errors) go to `notifications`; ends with it.
    async fn open(
        &self,
        notifications: Option<mpsc::Sender<Bytes>>,
    ) -> Result<Client, BackplaneError> {
        let (client, mut connection) = self.config.connect(NoTls).await.map_err(error)?;
        tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(n)) => {
                        let Some(tx) = &notifications else { continue };
                        match tx.try_send(Bytes::copy_from_slice(n.payload().as_bytes())) {
                            Ok(()) => {}
                            Err(mpsc::error::TrySendError::Full(_)) => {
                                tracing::warn!(
                                    backlog = MAX_BACKLOG,
                                    "livestar backplane: postgres notifications arrive faster than they are handled; closing the connection (the backplane reconnects and heals)"
                                );
                                return;
                            }
                            Err(mpsc::error::TrySendError::Closed(_)) => return,
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "livestar backplane: postgres connection lost");
                        return;
                    }
                }
            }
        });
        Ok(client)
    }

    async fn notify_all(&self, channel: &str, payloads: &[Bytes]) -> Result<(), BackplaneError> {
        let mut cached = self.notifier.lock().await;
        let client = match cached.as_ref() {
            Some(client) if !client.is_closed() => client.clone(),
            _ => {
                let client = Arc::new(self.open(None).await?);
                *cached = Some(client.clone());
                client
            }
        };
        let sent = notify(&client, channel, payloads).await;
        if sent.is_err() {
            *cached = None;
        }
        sent
    }
}

async fn notify(client: &Client, channel: &str, payloads: &[Bytes]) -> Result<(), BackplaneError> {
    let texts = payloads
        .iter()
        .map(|p| std::str::from_utf8(p).map_err(|_| error("payload is not UTF-8")))
        .collect::<Result<Vec<_>, _>>()?;
    if let [text] = texts.as_slice() {
        client
            .execute("SELECT pg_notify($1, $2)", &[&channel, text])
            .await
            .map_err(error)?;
        return Ok(());
    }
    // Chunks in one transaction: delivered together, in order, or not at all.
    client.batch_execute("BEGIN").await.map_err(error)?;
    for text in texts {
        if let Err(e) = client
            .execute("SELECT pg_notify($1, $2)", &[&channel, &text])
            .await
        {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(error(e));
        }
    }
    client.batch_execute("COMMIT").await.map_err(error)
}

impl Transport for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn max_payload(&self) -> usize {
        MAX_NOTIFY
    }

    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Inbox, BackplaneError>> {
        Box::pin(async move {
            let (tx, rx) = mpsc::channel(MAX_BACKLOG);
            let client = self.open(Some(tx)).await?;
            client
                .batch_execute(&format!("LISTEN {}", quote_ident(channel)))
                .await
                .map_err(error)?;
            // The client is kept with the stream: dropping it closes the connection.
            let inbox = futures::stream::unfold((rx, client), |(mut rx, client)| async move {
                let payload = rx.recv().await?;
                Some((Incoming::Message(payload), (rx, client)))
            });
            Ok(inbox.boxed())
        })
    }

    fn publish<'a>(
        &'a self,
        channel: &'a str,
        payloads: &'a [Bytes],
    ) -> BoxFuture<'a, Result<(), BackplaneError>> {
        Box::pin(async move {
            match self.notify_all(channel, payloads).await {
                Ok(()) => Ok(()),
                Err(_) => self.notify_all(channel, payloads).await,
            }
        })
    }
}
