//! HTTPS for the demo (`--tls`): rustls offering HTTP/2 and HTTP/1.1 (ALPN `h2`, `http/1.1`),
//! served by the same `axum::serve` as plain HTTP through a [`TlsListener`].
//!
//! Over HTTP/1.1 a browser opens at most six connections per host and every open live view
//! holds one, so a seventh tab waits. Over HTTP/2 every tab's stream shares one connection.
//! Browsers speak HTTP/2 only over TLS, hence a certificate: the PEM files of `--cert` and
//! `--key`, or one made at start for `127.0.0.1` and `localhost` (a browser warns about it
//! once; for local use only).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

use super::StartError;

/// How the demo serves: plain HTTP/1.1 (the default) or HTTPS with HTTP/2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tls {
    /// Plain HTTP/1.1 (no `--tls`).
    Off,
    /// `--tls` alone: a self-signed certificate for `127.0.0.1` and `localhost`, made at start.
    SelfSigned,
    /// `--tls --cert PATH --key PATH`: a certificate chain and its private key, in PEM.
    Files {
        /// The certificate chain, leaf first.
        cert: PathBuf,
        /// The private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
}

/// A self-signed certificate for `127.0.0.1` and `localhost`, in PEM: `(certificate, key)`.
///
/// ```
/// let (cert, key) = livestar_examples::demo::tls::self_signed().expect("a certificate");
/// assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
/// assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
/// ```
///
/// # Errors
/// rcgen could not make the key or sign the certificate.
pub fn self_signed() -> Result<(String, String), StartError> {
    let made = rcgen::generate_simple_self_signed(["127.0.0.1".to_owned(), "localhost".to_owned()])
        .map_err(|e| StartError(format!("cannot make a self-signed certificate: {e}")))?;
    Ok((made.cert.pem(), made.signing_key.serialize_pem()))
}

/// The rustls configuration of `tls` (`None` for [`Tls::Off`]), offering `h2` then `http/1.1`.
///
/// ```
/// use livestar_examples::demo::tls::{Tls, server_config};
///
/// let config = server_config(&Tls::SelfSigned).expect("a config").expect("TLS is on");
/// assert_eq!(config.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
/// ```
///
/// # Errors
/// A file is missing or unreadable, holds no certificate or key in PEM, or the key does not
/// belong to the certificate: the message names the file and says which.
pub fn server_config(tls: &Tls) -> Result<Option<Arc<ServerConfig>>, StartError> {
    let (certs, key) = match tls {
        Tls::Off => return Ok(None),
        Tls::SelfSigned => {
            let (cert, key) = self_signed()?;
            (
                certificates(cert.as_bytes(), "the self-signed certificate")?,
                private_key(key.as_bytes(), "the self-signed key")?,
            )
        }
        Tls::Files { cert, key } => (
            certificates(
                &read("--cert", cert)?,
                &format!("--cert {}", cert.display()),
            )?,
            private_key(&read("--key", key)?, &format!("--key {}", key.display()))?,
        ),
    };
    // ring explicitly: the process may link another provider too, and then rustls cannot pick.
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| match tls {
            Tls::Files { cert, key } => StartError(format!(
                "--key {} does not go with --cert {}: {e}",
                key.display(),
                cert.display()
            )),
            _ => StartError(format!("the self-signed certificate is unusable: {e}")),
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

fn read(flag: &str, path: &Path) -> Result<Vec<u8>, StartError> {
    std::fs::read(path)
        .map_err(|e| StartError(format!("cannot read {flag} {}: {e}", path.display())))
}

/// The certificates of `pem`; `what` names it in errors (`--cert PATH`).
fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, StartError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StartError(format!("{what}: not PEM ({e})")))?;
    if certs.is_empty() {
        return Err(StartError(format!(
            "{what}: no `BEGIN CERTIFICATE` block; give the certificate chain in PEM"
        )));
    }
    Ok(certs)
}

/// The private key of `pem`; `what` names it in errors (`--key PATH`).
fn private_key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, StartError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        StartError(format!(
            "{what}: no private key in PEM ({e}); give a `BEGIN PRIVATE KEY` block"
        ))
    })
}

/// How long a client may take to finish the TLS handshake before it is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TCP listener whose connections come out TLS-terminated, for `axum::serve`.
///
/// A background task accepts and runs each handshake in a task of its own, so a slow or
/// silent client never holds up the next one; the connections that completed it are handed
/// to axum, which serves HTTP/2 or HTTP/1.1 on each as the client chose (its own
/// `with_graceful_shutdown` included). Dropping the listener stops accepting.
pub struct TlsListener {
    addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Terminates TLS with `config` on the connections of `tcp`.
    ///
    /// ```no_run
    /// use livestar_examples::demo::tls::{Tls, TlsListener, server_config};
    ///
    /// # async fn run(app: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
    /// let config = server_config(&Tls::SelfSigned)?.expect("TLS is on");
    /// let tcp = tokio::net::TcpListener::bind("127.0.0.1:3443").await?;
    /// let ctrl_c = async { let _ = tokio::signal::ctrl_c().await; };
    /// axum::serve(TlsListener::new(tcp, config)?, app)
    ///     .with_graceful_shutdown(livestar::live::graceful(ctrl_c))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The listener has no local address.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<TlsListener> {
        let addr = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (tx, ready) = mpsc::channel(64);
        let accepting = tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: let some close first.
                        tracing::debug!(%error, "demo: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                // Every event is a small TLS record: send it now, not after Nagle's wait.
                let _ = stream.set_nodelay(true);
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(%error, %peer, "demo: TLS handshake failed");
                        }
                        Err(_) => tracing::debug!(%peer, "demo: TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            addr,
            ready,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task holds a sender until it is aborted, which only `drop` does.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(tls: &Tls) -> String {
        match server_config(tls) {
            Ok(_) => panic!("{tls:?} was accepted"),
            Err(e) => e.0,
        }
    }

    #[test]
    fn a_missing_certificate_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().expect("a folder");
        let message = error(&Tls::Files {
            cert: dir.path().join("absent.pem"),
            key: dir.path().join("absent-key.pem"),
        });
        assert!(message.starts_with("cannot read --cert "), "{message}");
        assert!(message.contains("absent.pem"), "{message}");
    }

    #[test]
    fn a_file_without_pem_blocks_says_what_to_give() {
        let dir = tempfile::tempdir().expect("a folder");
        let (cert, key) = self_signed().expect("a certificate");
        let (cert_path, key_path, junk) = (
            dir.path().join("cert.pem"),
            dir.path().join("key.pem"),
            dir.path().join("junk.txt"),
        );
        std::fs::write(&cert_path, cert).expect("written");
        std::fs::write(&key_path, key).expect("written");
        std::fs::write(&junk, "not a certificate").expect("written");
        let message = error(&Tls::Files {
            cert: junk.clone(),
            key: key_path.clone(),
        });
        assert!(
            message.contains("no `BEGIN CERTIFICATE` block"),
            "{message}"
        );
        let message = error(&Tls::Files {
            cert: cert_path,
            key: junk,
        });
        assert!(message.contains("no private key in PEM"), "{message}");
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let dir = tempfile::tempdir().expect("a folder");
        let (cert, _) = self_signed().expect("a certificate");
        let (_, other_key) = self_signed().expect("another certificate");
        let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert_path, cert).expect("written");
        std::fs::write(&key_path, other_key).expect("written");
        let message = error(&Tls::Files {
            cert: cert_path,
            key: key_path,
        });
        assert!(message.contains("does not go with --cert"), "{message}");
    }

    #[test]
    fn certificate_files_in_pem_make_a_config_offering_h2_first() {
        let dir = tempfile::tempdir().expect("a folder");
        let (cert, key) = self_signed().expect("a certificate");
        let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert_path, cert).expect("written");
        std::fs::write(&key_path, key).expect("written");
        let config = server_config(&Tls::Files {
            cert: cert_path,
            key: key_path,
        })
        .expect("a config")
        .expect("TLS is on");
        assert_eq!(config.alpn_protocols[0], b"h2");
        assert!(server_config(&Tls::Off).expect("no TLS").is_none());
    }
}
