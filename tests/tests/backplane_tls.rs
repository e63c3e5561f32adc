//! TLS to the brokers: a `redis-server`, a `nats-server` and a PostgreSQL server started here
//! with TLS on and a certificate from a private CA made for the test. A backplane that trusts
//! the CA delivers across processes; one that checks the system's roots refuses the server, and
//! a plain-text client gets nowhere. Postgres is also run with TLS off, for `sslmode=require`
//! to fail closed and `prefer` to fall back.

mod support_services;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use livestar::backplane::{Backplane, BackplaneError, Nats, Postgres, Redis};
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
async fn delivers_across(a: &Backplane, b: &Backplane) {
    let shown: Notifier<u32> = Notifier::with_backplane(b, "stock");
    let changed: Notifier<u32> = Notifier::with_backplane(a, "stock");
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
    delivers_across(&a, &b).await;

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
    delivers_across(&a, &b).await;

    let system_roots = Nats::new(&url).await;
    assert!(
        system_roots.is_err(),
        "tls:// checked against the system's roots connected"
    );
}

/// How long `initdb` and the server's start may take on a loaded machine.
const POSTGRES_START: Duration = Duration::from_secs(60);

/// Where `program` is: on the `PATH`, else in the newest `/usr/lib/postgresql/<version>/bin`,
/// where Debian's server package puts it without linking it onto the `PATH`.
fn postgres_binary(program: &str) -> Option<PathBuf> {
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect())
        .unwrap_or_default();
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let version = entry.file_name().to_str()?.parse().ok()?;
                    Some((version, entry.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    on_path
        .into_iter()
        .chain(versions.into_iter().map(|(_, dir)| dir))
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// The output of `id args`, as a number.
fn id(args: &[&str]) -> Option<u32> {
    let output = Command::new("id").args(args).output().ok()?;
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}

/// Who runs the server: this process's user, or `postgres` (else `nobody`) when this is root,
/// as which PostgreSQL refuses to run.
struct ServerUser {
    /// `None`: this process's user.
    name: Option<&'static str>,
    uid: u32,
    gid: u32,
}

impl ServerUser {
    fn find() -> ServerUser {
        if id(&["-u"]) != Some(0) {
            return ServerUser {
                name: None,
                uid: 0,
                gid: 0,
            };
        }
        ["postgres", "nobody"]
            .into_iter()
            .find_map(|name| {
                Some(ServerUser {
                    name: Some(name),
                    uid: id(&["-u", name])?,
                    gid: id(&["-g", name])?,
                })
            })
            .expect("a user other than root (postgres or nobody) to run PostgreSQL")
    }

    /// `program` run as this user: `setpriv` replaces itself with it, so the child's id is the
    /// server's own and killing the child stops the server.
    fn command(&self, program: &Path) -> Command {
        let Some(name) = self.name else {
            return Command::new(program);
        };
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid", name, "--regid", name, "--init-groups", "--"])
            .arg(program);
        command
    }

    fn owns(&self, path: &Path) {
        if self.name.is_some() {
            std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)).expect("chown");
        }
    }
}

/// The postmaster of a test, stopped when dropped.
struct PostgresProcess(Child);

impl Drop for PostgresProcess {
    fn drop(&mut self) {
        // SIGQUIT, PostgreSQL's immediate shutdown: the postmaster stops its backends and
        // removes its shared memory, which SIGKILL would leave behind.
        let _ = Command::new("kill")
            .args(["-QUIT", &self.0.id().to_string()])
            .status();
        // Bounded: 250 looks, 20 ms apart; then SIGKILL.
        for _ in 0..250 {
            if !matches!(self.0.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A throwaway PostgreSQL server on a free port of 127.0.0.1: `initdb` into a temporary
/// folder, trust authentication (initdb's `host` lines take TLS and plain text alike), TLS
/// with the test CA's certificate or off.
struct PostgresServer {
    port: u16,
    /// A plain-text connection, to see how the backplanes connected.
    admin: tokio_postgres::Client,
    // Dropped in this order: the server stops before its folder is removed.
    _process: PostgresProcess,
    _dir: tempfile::TempDir,
}

impl PostgresServer {
    /// `None` (after saying why) when PostgreSQL is not installed, unless services are
    /// required.
    async fn start(tls: Option<&Certificates>) -> Option<PostgresServer> {
        let (Some(initdb), Some(postgres)) =
            (postgres_binary("initdb"), postgres_binary("postgres"))
        else {
            let message = "initdb or postgres is not installed (PATH, /usr/lib/postgresql/*/bin)";
            if std::env::var("LIVESTAR_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
                panic!("{message}");
            }
            eprintln!("skipped: {message}");
            return None;
        };
        let user = ServerUser::find();
        let dir = tempfile::tempdir().expect("a folder for the server");
        user.owns(dir.path());
        let data = dir.path().join("data");
        let mut initdb = tokio::process::Command::from(user.command(&initdb));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "--no-instructions",
            ])
            .kill_on_drop(true);
        let made = tokio::time::timeout(POSTGRES_START, initdb.output())
            .await
            .expect("initdb within a minute")
            .expect("initdb runs");
        assert!(
            made.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&made.stderr)
        );

        let port = free_port();
        let mut server = user.command(&postgres);
        server.arg("-D").arg(&data).args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            &format!("port={port}"),
            "-c",
            "unix_socket_directories=",
            "-c",
            "fsync=off",
        ]);
        match tls {
            Some(certificates) => {
                let certificate = dir.path().join("server.pem");
                let key = dir.path().join("server.key");
                std::fs::copy(certificates.path("server.pem"), &certificate).expect("copy");
                std::fs::copy(certificates.path("server.key"), &key).expect("copy");
                // PostgreSQL refuses a key that others can read.
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
                    .expect("chmod");
                user.owns(&certificate);
                user.owns(&key);
                server
                    .args(["-c", "ssl=on", "-c"])
                    .arg(format!("ssl_cert_file={}", certificate.display()))
                    .arg("-c")
                    .arg(format!("ssl_key_file={}", key.display()));
            }
            None => {
                server.args(["-c", "ssl=off"]);
            }
        }
        let log_path = dir.path().join("server.log");
        let log = std::fs::File::create(&log_path).expect("a log file");
        let child = server
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("postgres starts");
        let mut process = PostgresProcess(child);

        let admin_url =
            format!("host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=disable");
        let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let deadline = tokio::time::Instant::now() + POSTGRES_START;
        let admin = loop {
            if let Ok((client, connection)) =
                tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await
            {
                tokio::spawn(connection);
                break client;
            }
            if let Ok(Some(status)) = process.0.try_wait() {
                panic!("postgres exited ({status}):\n{}", log());
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "postgres did not accept connections within {POSTGRES_START:?}:\n{}",
                log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        Some(PostgresServer {
            port,
            admin,
            _process: process,
            _dir: dir,
        })
    }

    /// A URL of the server's `postgres` database with the query `params`.
    fn url(&self, params: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?{params}",
            self.port
        )
    }

    /// Whether each connection named `application` came over TLS, as the server saw it.
    async fn tls_of(&self, application: &str) -> Vec<bool> {
        self.admin
            .query(
                "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
                &[&application],
            )
            .await
            .expect("pg_stat_ssl")
            .iter()
            .map(|row| row.get(0))
            .collect()
    }
}

/// Two Postgres backplanes from `transport`, on a URL with `sslmode` (none: the default),
/// deliver across; returns how each connection of theirs (both listeners, `a`'s notifier)
/// came, TLS or not.
async fn postgres_delivers(
    server: &PostgresServer,
    transport: impl Fn(&str) -> Postgres,
    sslmode: Option<&str>,
) -> Vec<bool> {
    let application = unique("app");
    let mut params = format!("application_name={application}");
    if let Some(mode) = sslmode {
        params.push_str(&format!("&sslmode={mode}"));
    }
    let url = server.url(&params);
    let channel = unique("tls");
    let a = connect(transport(&url), &channel).await;
    let b = connect(transport(&url), &channel).await;
    delivers_across(&a, &b).await;
    let connections = server.tls_of(&application).await;
    assert!(connections.len() >= 3, "connections: {connections:?}");
    connections
}

#[tokio::test]
async fn postgres_require_with_a_private_ca_delivers_over_tls() {
    let certificates = Certificates::new();
    let Some(server) = PostgresServer::start(Some(&certificates)).await else {
        return;
    };
    let ca = std::fs::read(certificates.path("ca.pem")).expect("the CA");
    let connections = postgres_delivers(
        &server,
        |url| Postgres::with_root_certificate(url, &ca).expect("url"),
        Some("require"),
    )
    .await;
    assert!(connections.iter().all(|&tls| tls), "TLS: {connections:?}");
}

#[tokio::test]
async fn postgres_require_refuses_a_certificate_the_system_does_not_trust() {
    let certificates = Certificates::new();
    let Some(server) = PostgresServer::start(Some(&certificates)).await else {
        return;
    };
    let system_roots = Backplane::builder()
        .channel(unique("tls"))
        .connect(Postgres::new(&server.url("sslmode=require")).expect("url"))
        .await;
    refused(
        system_roots,
        "sslmode=require checked against the system's roots",
        "UnknownIssuer",
    );
}

#[tokio::test]
async fn postgres_require_refuses_a_certificate_for_another_host() {
    let certificates = Certificates::new();
    let Some(server) = PostgresServer::start(Some(&certificates)).await else {
        return;
    };
    let ca = std::fs::read(certificates.path("ca.pem")).expect("the CA");
    // The certificate names 127.0.0.1 and localhost; `hostaddr` reaches the same server under
    // another name.
    let url = format!(
        "postgres://postgres@db.example:{}/postgres?hostaddr=127.0.0.1&sslmode=require",
        server.port
    );
    let another_host = Backplane::builder()
        .channel(unique("tls"))
        .connect(Postgres::with_root_certificate(&url, &ca).expect("url"))
        .await;
    refused(
        another_host,
        "a certificate for 127.0.0.1 presented as db.example",
        "not valid for name",
    );
}

#[tokio::test]
async fn postgres_require_fails_closed_when_the_server_has_no_tls() {
    let certificates = Certificates::new();
    let Some(server) = PostgresServer::start(None).await else {
        return;
    };
    let require = Backplane::builder()
        .channel(unique("tls"))
        .connect(Postgres::new(&server.url("sslmode=require")).expect("url"))
        .await;
    refused(
        require,
        "sslmode=require to a server without TLS",
        "does not support TLS",
    );
    // A private CA means TLS, whatever the (default) sslmode.
    let ca = std::fs::read(certificates.path("ca.pem")).expect("the CA");
    let with_ca = Backplane::builder()
        .channel(unique("tls"))
        .connect(Postgres::with_root_certificate(&server.url("sslmode=prefer"), &ca).expect("url"))
        .await;
    refused(
        with_ca,
        "with_root_certificate to a server without TLS",
        "does not support TLS",
    );
}

#[tokio::test]
async fn postgres_prefer_falls_back_to_plain_text_when_the_server_has_no_tls() {
    let Some(server) = PostgresServer::start(None).await else {
        return;
    };
    let connections = postgres_delivers(
        &server,
        |url| Postgres::new(url).expect("url"),
        Some("prefer"),
    )
    .await;
    assert!(connections.iter().all(|&tls| !tls), "TLS: {connections:?}");
}

#[tokio::test]
async fn postgres_prefer_encrypts_without_checking_the_certificate() {
    let certificates = Certificates::new();
    let Some(server) = PostgresServer::start(Some(&certificates)).await else {
        return;
    };
    // No sslmode: `prefer` is the default.
    let connections =
        postgres_delivers(&server, |url| Postgres::new(url).expect("url"), None).await;
    assert!(connections.iter().all(|&tls| tls), "TLS: {connections:?}");
}

#[tokio::test]
async fn postgres_disable_stays_plain_text_on_a_server_with_tls() {
    let certificates = Certificates::new();
    let Some(server) = PostgresServer::start(Some(&certificates)).await else {
        return;
    };
    let connections = postgres_delivers(
        &server,
        |url| Postgres::new(url).expect("url"),
        Some("disable"),
    )
    .await;
    assert!(connections.iter().all(|&tls| !tls), "TLS: {connections:?}");
}
