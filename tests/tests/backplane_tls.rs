//! TLS to the brokers: a `redis-server` and a `nats-server` started here with TLS on and a
//! certificate from a private CA made for the test. A backplane that trusts the CA delivers
//! across processes; one that checks the system's roots refuses the server, and a plain-text
//! client gets nowhere.

mod support_services;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use livestar::backplane::{Backplane, BackplaneError, Nats, Redis};
use livestar::invalidate::Notifier;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use support_services::{unique, within};

/// A private CA and a certificate it signed for 127.0.0.1, as PEM files.
struct Certificates {
    dir: tempfile::TempDir,
}

impl Certificates {
    fn new() -> Certificates {
        let mut ca_params = CertificateParams::new(Vec::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("CA");
        let server_key = KeyPair::generate().expect("server key");
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("server params")
            .signed_by(&server_key, &ca)
            .expect("server certificate");
        let dir = tempfile::tempdir().expect("a folder for the certificates");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write");
        std::fs::write(dir.path().join("server.pem"), server.pem()).expect("write");
        std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).expect("write");
        Certificates { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A broker process of the test, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Starts `program` with `args` (the port filled in), or says why not: a missing binary
/// skips the test unless services are required.
async fn start(program: &str, args: impl Fn(u16) -> Vec<String>) -> Option<Server> {
    let port = free_port();
    let child = match Command::new(program)
        .args(args(port))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => {
            let message = format!("{program} could not start: {error}");
            if std::env::var("LIVESTAR_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
                panic!("{message}");
            }
            eprintln!("skipped: {message}");
            return None;
        }
    };
    let server = Server { child, port };
    within(&format!("{program} to listen"), async {
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    Some(server)
}

async fn redis_with_tls(certificates: &Certificates) -> Option<Server> {
    let path = |name: &str| certificates.path(name).display().to_string();
    start("redis-server", |port| {
        [
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            &path("server.pem"),
            "--tls-key-file",
            &path("server.key"),
            "--tls-ca-cert-file",
            &path("ca.pem"),
            "--tls-auth-clients",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .map(str::to_owned)
        .to_vec()
    })
    .await
}

async fn nats_with_tls(certificates: &Certificates) -> Option<Server> {
    let path = |name: &str| certificates.path(name).display().to_string();
    start("nats-server", |port| {
        [
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--tls",
            "--tlscert",
            &path("server.pem"),
            "--tlskey",
            &path("server.key"),
        ]
        .map(str::to_owned)
        .to_vec()
    })
    .await
}

/// Two backplanes on one channel: a notify through `a` wakes a subscriber of `b`.
async fn delivers_across(a: Backplane, b: Backplane) {
    let shown: Notifier<u32> = Notifier::with_backplane(&b, "stock");
    let changed: Notifier<u32> = Notifier::with_backplane(&a, "stock");
    let mut view = shown.subscribe(&7);
    changed.notify(&7);
    assert_eq!(within("a notify over TLS", view.next()).await, Some(()));
}

async fn connect(transport: impl livestar::backplane::Transport, channel: &str) -> Backplane {
    Backplane::builder()
        .channel(channel)
        .connect(transport)
        .await
        .expect("a backplane over TLS")
}

fn refused(result: Result<Backplane, BackplaneError>, what: &str, because: &str) {
    match result {
        Ok(_) => panic!("{what}: connected"),
        Err(error) => assert!(error.to_string().contains(because), "{what}: {error}"),
    }
}

#[tokio::test]
async fn redis_over_tls_with_a_private_ca() {
    let certificates = Certificates::new();
    let Some(server) = redis_with_tls(&certificates).await else {
        return;
    };
    let url = format!("rediss://127.0.0.1:{}", server.port);
    let ca = std::fs::read(certificates.path("ca.pem")).expect("the CA");
    let channel = unique("tls");
    let a = connect(
        Redis::with_root_certificate(&url, &ca).expect("url"),
        &channel,
    )
    .await;
    let b = connect(
        Redis::with_root_certificate(&url, &ca).expect("url"),
        &channel,
    )
    .await;
    delivers_across(a, b).await;

    // The system's roots do not include the test's CA; plain text is not TLS.
    let system_roots = Backplane::builder()
        .channel(&channel)
        .connect(Redis::new(&url).expect("url"))
        .await;
    refused(
        system_roots,
        "rediss:// checked against the system's roots",
        "certificate",
    );
    let plain = Backplane::builder()
        .channel(&channel)
        .connect(Redis::new(&format!("redis://127.0.0.1:{}", server.port)).expect("url"))
        .await;
    refused(plain, "redis:// to a TLS port", "redis backplane");
}

#[tokio::test]
async fn nats_over_tls_with_a_private_ca() {
    let certificates = Certificates::new();
    let Some(server) = nats_with_tls(&certificates).await else {
        return;
    };
    let url = format!("tls://127.0.0.1:{}", server.port);
    let ca: &Path = &certificates.path("ca.pem");
    let channel = unique("tls");
    let a = connect(
        Nats::with_root_certificate(&url, ca).await.expect("TLS"),
        &channel,
    )
    .await;
    let b = connect(
        Nats::with_root_certificate(&url, ca).await.expect("TLS"),
        &channel,
    )
    .await;
    delivers_across(a, b).await;

    let system_roots = Nats::new(&url).await;
    assert!(
        system_roots.is_err(),
        "tls:// checked against the system's roots connected"
    );
}
