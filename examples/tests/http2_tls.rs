//! The demo with `--tls` serves HTTP/2, and a live view's events flush over it as over
//! HTTP/1.1: an HTTP/2 client that trusts the demo's certificate reads the first event of
//! `/todos/live`, then the update a todo added on the same connection causes, as they happen.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use livestar_examples::demo::session::COOKIE;
use support::demo::Demo;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// How long one event may take to arrive.
const WAIT: Duration = Duration::from_secs(10);

/// A demo on HTTPS with a certificate written for it, and the certificate (PEM) to trust.
fn demo_with_certificate(dir: &std::path::Path) -> Result<(Demo, String), String> {
    let (cert, key) = livestar_examples::demo::tls::self_signed().map_err(|e| e.0)?;
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, &cert).map_err(|e| e.to_string())?;
    std::fs::write(&key_path, &key).map_err(|e| e.to_string())?;
    let (cert_arg, key_arg) = (
        cert_path.display().to_string(),
        key_path.display().to_string(),
    );
    let demo = Demo::start(&["--tls", "--cert", &cert_arg, "--key", &key_arg])?;
    Ok((demo, cert))
}

/// A TLS connection to `addr` offering `alpn` and trusting `cert` only; returns the protocol
/// the server chose with the stream.
async fn connect(
    addr: &str,
    cert: &str,
    alpn: &[&[u8]],
) -> Result<
    (
        Option<Vec<u8>>,
        tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    ),
    String,
> {
    let mut roots = RootCertStore::empty();
    let cert = CertificateDer::from_pem_slice(cert.as_bytes()).map_err(|e| e.to_string())?;
    roots.add(cert).map_err(|e| e.to_string())?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let name = ServerName::try_from("127.0.0.1").map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake with {addr}: {e}"))?;
    let protocol = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    Ok((protocol, tls))
}

/// An HTTP/2 connection over `tls`: its request sender, and the task that drives it.
async fn http2(
    tls: tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
) -> (
    hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    tokio::task::JoinHandle<Result<(), hyper::Error>>,
) {
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .expect("an HTTP/2 connection");
    (sender, tokio::spawn(connection))
}

/// A request from the demo's own page, signed in as `user`.
fn request(
    method: &str,
    demo: &Demo,
    path: &str,
    user: &str,
    body: &str,
) -> Result<http::Request<Full<Bytes>>, String> {
    http::Request::builder()
        .method(method)
        .uri(demo.url(path))
        .header("cookie", format!("{COOKIE}={user}"))
        .header("origin", demo.url(""))
        .header("sec-fetch-site", "same-origin")
        .header("datastar-request", "true")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .map_err(|e| e.to_string())
}

/// Reads the stream until its text so far contains `needle`, for at most [`WAIT`].
async fn read_until(body: &mut Incoming, seen: &mut String, needle: &str) -> Result<(), String> {
    tokio::time::timeout(WAIT, async {
        while !seen.contains(needle) {
            let frame = body
                .frame()
                .await
                .ok_or_else(|| format!("the stream ended before {needle:?}: {seen}"))?
                .map_err(|e| format!("reading the stream: {e}"))?;
            if let Ok(data) = frame.into_data() {
                seen.push_str(&String::from_utf8_lossy(&data));
            }
        }
        Ok(())
    })
    .await
    .map_err(|_| format!("{needle:?} did not arrive within {WAIT:?}; got: {seen}"))?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_view_sends_its_first_event_and_each_update_as_they_happen_over_http2() {
    let dir = tempfile::tempdir().expect("a folder");
    let (demo, cert) = demo_with_certificate(dir.path()).expect("the demo starts with --tls");
    assert_eq!(demo.scheme, "https");
    let (protocol, tls) = connect(&demo.addr, &cert, &[b"h2", b"http/1.1"])
        .await
        .expect("a TLS connection");
    assert_eq!(protocol.as_deref(), Some(&b"h2"[..]), "ALPN chose h2");
    let (mut sender, driver) = http2(tls).await;

    let live = request("GET", &demo, "/todos/live", "ada", "").expect("a request");
    let response = sender
        .send_request(live)
        .await
        .expect("the live view answers");
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(
        response.headers()[http::header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut body = response.into_body();
    let mut seen = String::new();
    read_until(&mut body, &mut seen, r#"<p id="empty""#)
        .await
        .expect("the current (empty) list first");

    // On the same connection, a second stream: HTTP/2 multiplexes it beside the live view.
    let add = request(
        "POST",
        &demo,
        "/todos",
        "ada",
        r#"{"title":"sent over h2"}"#,
    )
    .expect("a request");
    let added = sender.send_request(add).await.expect("the action answers");
    assert_eq!(added.status(), http::StatusCode::OK);
    assert_eq!(added.version(), http::Version::HTTP_2);
    read_until(&mut body, &mut seen, "sent over h2")
        .await
        .expect("the new list while the stream stays open");

    drop((body, sender));
    driver.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_an_open_http2_stream_and_the_demo_exits() {
    let dir = tempfile::tempdir().expect("a folder");
    let (mut demo, cert) = demo_with_certificate(dir.path()).expect("the demo starts with --tls");
    let (_, tls) = connect(&demo.addr, &cert, &[b"h2"])
        .await
        .expect("a TLS connection");
    let (mut sender, driver) = http2(tls).await;
    let live = request("GET", &demo, "/todos/live", "ada", "").expect("a request");
    let response = sender
        .send_request(live)
        .await
        .expect("the live view answers");
    let mut body = response.into_body();
    read_until(&mut body, &mut String::new(), r#"<p id="empty""#)
        .await
        .expect("the first event");

    let status = tokio::task::spawn_blocking(move || demo.terminate())
        .await
        .expect("the wait ran")
        .expect("the demo exits");
    assert!(status.success(), "the demo exited with {status}");
    // The stream ended cleanly (its last frame, then the end), not with a reset.
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match body.frame().await {
                None => return Ok(()),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.to_string()),
            }
        }
    })
    .await
    .expect("the stream ends");
    assert_eq!(ended, Ok(()));
    driver.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_offering_only_http1_gets_http1_over_tls() {
    let dir = tempfile::tempdir().expect("a folder");
    let (demo, cert) = demo_with_certificate(dir.path()).expect("the demo starts with --tls");
    let (protocol, tls) = connect(&demo.addr, &cert, &[b"http/1.1"])
        .await
        .expect("a TLS connection");
    assert_eq!(protocol.as_deref(), Some(&b"http/1.1"[..]));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("an HTTP/1.1 connection");
    let driver = tokio::spawn(connection);
    let mut live = request("GET", &demo, "/todos/live", "bob", "").expect("a request");
    live.headers_mut().insert(
        http::header::HOST,
        http::HeaderValue::from_str(&demo.addr).expect("a host"),
    );
    let response = sender
        .send_request(live)
        .await
        .expect("the live view answers");
    assert_eq!(response.version(), http::Version::HTTP_11);
    let mut body = response.into_body();
    read_until(&mut body, &mut String::new(), r#"<p id="empty""#)
        .await
        .expect("the current (empty) list");
    drop(body);
    driver.abort();
}
