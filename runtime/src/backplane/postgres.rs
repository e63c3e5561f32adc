//! The Postgres backplane: `LISTEN`/`NOTIFY` through `tokio-postgres`.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use tokio::sync::{Mutex, mpsc};
use tokio_postgres::config::SslMode;
use tokio_postgres::{AsyncMessage, Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{Backplane, BackplaneError, BatchFailed, Inbox, Incoming, Transport};

mod tls;

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
/// reconnects once and, if that fails too, is dropped and logged. The application name is
/// `livestar` unless the URL sets `application_name`.
///
/// TLS (rustls), for both connections, by the URL's `sslmode` (see
/// [TLS](super#tls-to-the-broker)):
/// - `sslmode=require`: TLS or no connection. The server's certificate must chain to the
///   system's root certificates (or to the CA of [`Postgres::with_root_certificate`]) and name
///   the URL's host, as libpq's `verify-full` checks; tokio-postgres parses neither
///   `verify-ca` nor `verify-full`, so write `require`.
/// - `sslmode=prefer`, the default: TLS if the server offers it, plain text if not. As with
///   libpq, the certificate is not checked: someone on the path could ask for plain text
///   anyway, so this hides the messages from eavesdroppers only.
/// - `sslmode=disable`: plain text.
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
    tls: MakeRustlsConnect,
    notifier: Mutex<Option<Arc<Client>>>,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres").finish_non_exhaustive()
    }
}

/// `e` and its causes: tokio-postgres names only the kind of failure ("error performing TLS
/// handshake"), its cause says what happened ("invalid peer certificate: UnknownIssuer").
fn error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> BackplaneError {
    let e = e.into();
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(inner) = cause {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        cause = inner.source();
    }
    BackplaneError::new("postgres", message)
}

/// The connection settings of `url`, with livestar's application name and a connect timeout
/// unless it sets them.
fn parse(url: &str) -> Result<Config, BackplaneError> {
    let mut config = Config::from_str(url).map_err(error)?;
    if config.get_application_name().is_none() {
        config.application_name("livestar");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    Ok(config)
}

/// `"name"`, with inner quotes doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Postgres {
    /// A transport for the database at `url` (a URL or `key=value` pairs, as libpq takes),
    /// TLS by its `sslmode` as described on [`Postgres`]; connects nothing yet.
    ///
    /// # Errors
    /// The URL does not parse.
    ///
    /// ```
    /// use livestar::backplane::Postgres;
    ///
    /// // Nothing is connected yet, so this needs no server.
    /// assert!(Postgres::new("postgres://app@127.0.0.1:5432/app").is_ok());
    /// assert!(Postgres::new("postgres://app@db.internal/app?sslmode=require").is_ok());
    /// assert!(Postgres::new("host=db.internal user=app sslmode=require").is_ok());
    /// assert!(Postgres::new("postgres://app@127.0.0.1:port/app").is_err());
    /// // tokio-postgres knows no `verify-full`: `require` checks what it would.
    /// assert!(Postgres::new("postgres://app@db.internal/app?sslmode=verify-full").is_err());
    /// ```
    pub fn new(url: &str) -> Result<Postgres, BackplaneError> {
        let config = parse(url)?;
        let tls = tls::connector(config.get_ssl_mode(), tls::Trust::System)?;
        Ok(Postgres {
            config,
            tls,
            notifier: Mutex::new(None),
        })
    }

    /// A transport that requires TLS, the server's certificate signed by the root certificate
    /// `root_pem` (PEM: a private CA) instead of one the system trusts, and naming the URL's
    /// host. The default `sslmode=prefer` is taken as `require`; connects nothing yet.
    ///
    /// # Errors
    /// The URL does not parse or says `sslmode=disable`, or `root_pem` holds no certificate.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use livestar::backplane::{Backplane, Postgres};
    ///
    /// let ca = std::fs::read("/etc/postgresql/tls/ca.pem")?;
    /// let postgres = Postgres::with_root_certificate(
    ///     "postgres://app@db.internal:5432/app?sslmode=require",
    ///     &ca,
    /// )?;
    /// let backplane = Backplane::builder().channel("shop-production").connect(postgres).await?;
    /// # drop(backplane);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_root_certificate(url: &str, root_pem: &[u8]) -> Result<Postgres, BackplaneError> {
        let mut config = parse(url)?;
        if config.get_ssl_mode() == SslMode::Disable {
            return Err(error(
                "with_root_certificate needs TLS but the URL says sslmode=disable: write sslmode=require, or use Postgres::new for plain text",
            ));
        }
        config.ssl_mode(SslMode::Require);
        let tls = tls::connector(SslMode::Require, tls::Trust::Pem(root_pem))?;
        Ok(Postgres {
            config,
            tls,
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
        let (client, mut connection) =
            self.config.connect(self.tls.clone()).await.map_err(error)?;
        tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(n)) => {
                        let Some(tx) = &notifications else { continue };
                        match tx.try_send(Bytes::from(unescape(n.payload()).into_owned())) {
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

    /// The notifying connection, opened again if it closed.
    async fn notifier(&self) -> Result<Arc<Client>, BackplaneError> {
        let mut cached = self.notifier.lock().await;
        match cached.as_ref() {
            Some(client) if !client.is_closed() => Ok(client.clone()),
            _ => {
                let client = Arc::new(self.open(None).await?);
                *cached = Some(client.clone());
                Ok(client)
            }
        }
    }

    /// Notifies `messages` in order; on failure, how many of the first went out.
    async fn notify_all(&self, messages: &[(&str, &[Bytes])]) -> Result<(), BatchFailed> {
        let client = self.notifier().await.map_err(|error| BatchFailed {
            published: 0,
            error,
        })?;
        let sent = notify_batch(&client, messages).await;
        if sent.is_err() {
            *self.notifier.lock().await = None;
        }
        sent
    }

    /// [`Postgres::notify_all`], and what did not go out once more on a fresh connection.
    async fn notify_retrying(&self, messages: &[(&str, &[Bytes])]) -> Result<(), BatchFailed> {
        match self.notify_all(messages).await {
            Ok(()) => Ok(()),
            Err(first) => {
                let rest = &messages[first.published.min(messages.len())..];
                self.notify_all(rest).await.map_err(|again| BatchFailed {
                    published: first.published + again.published,
                    error: again.error,
                })
            }
        }
    }
}

/// Marks a payload written with [`escape`]: Postgres text cannot hold NUL.
const ESCAPED: char = '\u{1}';

/// The largest payload `NOTIFY` takes, in bytes.
const NOTIFY_LIMIT: usize = 7999;

/// `text` as `NOTIFY` can carry it: as it is, or, if it holds a NUL (or starts like an escaped
/// payload), after [`ESCAPED`] with NUL written `\u{1}0` and `\u{1}` written `\u{1}1`.
fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains('\0') && !text.starts_with(ESCAPED) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    escaped.push(ESCAPED);
    for c in text.chars() {
        match c {
            '\0' => escaped.push_str("\u{1}0"),
            ESCAPED => escaped.push_str("\u{1}1"),
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// The payload [`escape`] wrote; anything else as it is (a bad escape is left for the
/// backplane to refuse as garbage).
fn unescape(text: &str) -> Cow<'_, str> {
    let Some(rest) = text.strip_prefix(ESCAPED) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(rest.len());
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if c != ESCAPED {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('\0'),
            Some('1') => out.push(ESCAPED),
            _ => return Cow::Borrowed(text),
        }
    }
    Cow::Owned(out)
}

/// Notifies one message: a lone payload, or chunks in one transaction.
async fn notify(client: &Client, channel: &str, payloads: &[Bytes]) -> Result<(), BackplaneError> {
    let texts = payloads
        .iter()
        .map(|p| std::str::from_utf8(p).map_err(|_| error("payload is not UTF-8")))
        .map(|text| text.map(escape))
        .collect::<Result<Vec<_>, _>>()?;
    if texts.iter().any(|text| text.len() > NOTIFY_LIMIT) {
        // Retrying cannot help, and would hold up every message after it: dropped.
        tracing::warn!(
            channel,
            "livestar backplane: dropped a message whose NUL characters, escaped, make it too large for NOTIFY"
        );
        return Ok(());
    }
    if let [text] = texts.as_slice() {
        client
            .execute("SELECT pg_notify($1, $2)", &[&channel, &text.as_ref()])
            .await
            .map_err(error)?;
        return Ok(());
    }
    // Chunks in one transaction: delivered together, in order, or not at all.
    client.batch_execute("BEGIN").await.map_err(error)?;
    for text in texts {
        if let Err(e) = client
            .execute("SELECT pg_notify($1, $2)", &[&channel, &text.as_ref()])
            .await
        {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(error(e));
        }
    }
    client.batch_execute("COMMIT").await.map_err(error)
}

/// Notifies `messages` in order: runs of lone payloads pipelined on the connection (each its
/// own statement, so that Postgres does not fold identical payloads into one as it does within
/// a transaction), chunked messages each in a transaction of their own.
async fn notify_batch(client: &Client, messages: &[(&str, &[Bytes])]) -> Result<(), BatchFailed> {
    let mut published = 0;
    while published < messages.len() {
        let run: Vec<(&str, Cow<'_, str>)> = messages[published..]
            .iter()
            .map_while(|(channel, payloads)| match payloads {
                [payload] => std::str::from_utf8(payload)
                    .ok()
                    .map(|text| (*channel, escape(text)))
                    .filter(|(_, text)| text.len() <= NOTIFY_LIMIT),
                _ => None,
            })
            .collect();
        if run.len() < 2 {
            // A chunked message, one that needs a look, or a run of one: on its own.
            let (channel, payloads) = messages[published];
            notify(client, channel, payloads)
                .await
                .map_err(|error| BatchFailed { published, error })?;
            published += 1;
            continue;
        }
        // Sent one after the other without waiting for each answer: one round trip for all.
        let results = futures::future::join_all(run.iter().map(|(channel, text)| async move {
            let text: &str = text;
            client
                .execute("SELECT pg_notify($1, $2)", &[channel, &text])
                .await
        }))
        .await;
        for result in results {
            result.map_err(|e| BatchFailed {
                published,
                error: error(e),
            })?;
            published += 1;
        }
    }
    Ok(())
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
            self.notify_retrying(&[(channel, payloads)])
                .await
                .map_err(|failed| failed.error)
        })
    }

    fn publish_batch<'a>(
        &'a self,
        messages: &'a [(&'a str, &'a [Bytes])],
    ) -> BoxFuture<'a, Result<(), BatchFailed>> {
        Box::pin(self.notify_retrying(messages))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_travels_escaped_and_everything_else_as_it_is() {
        for text in [
            "ls1\nplain",
            "",
            "a\0b",
            "\0",
            "\u{1}",
            "\u{1}0\0\u{1}1",
            "é\0日本",
        ] {
            let escaped = escape(text);
            assert!(!escaped.contains('\0'), "{escaped:?}");
            assert_eq!(unescape(&escaped), text, "{text:?}");
        }
        assert!(matches!(escape("ls1\nplain"), Cow::Borrowed(_)));
        // A bad escape from someone else is left as it came.
        assert_eq!(unescape("\u{1}\u{1}x"), "\u{1}\u{1}x");
    }

    #[test]
    fn a_root_certificate_with_sslmode_disable_is_refused() {
        let refused = Postgres::with_root_certificate("postgres://app@db/app?sslmode=disable", b"")
            .expect_err("TLS was turned off");
        assert!(refused.to_string().contains("sslmode=require"), "{refused}");
    }
}
