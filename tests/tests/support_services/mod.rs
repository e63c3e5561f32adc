//! Real brokers for tests: URLs from the environment, skipping (or failing, with
//! `LIVESTAR_REQUIRE_SERVICES=1`) when a server is unreachable, a random channel per test, and
//! a way to cut each broker's connections to test healing.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use livestar::backplane::{
    Backplane, BackplaneBuilder, BackplaneError, Incoming, MemoryBroker, Nats, Postgres, Redis,
    Transport,
};

/// How long a test waits for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test with `what` if it takes longer than [`PATIENCE`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(PATIENCE, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {PATIENCE:?} waiting for {what}"),
    }
}

/// A channel name no other test run uses.
pub fn unique(prefix: &str) -> String {
    format!("lstest_{prefix}_{:016x}", fastrand::u64(..))
}

fn required() -> bool {
    std::env::var("LIVESTAR_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// `None` (after printing that the test skipped) when the service is unreachable, unless
/// services are required.
pub fn or_skip<T>(service: &str, result: Result<T, BackplaneError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) if !required() => {
            eprintln!(
                "SKIPPED: {service} is unreachable ({error}); set LIVESTAR_REQUIRE_SERVICES=1 to fail instead"
            );
            None
        }
        Err(error) => {
            panic!("{service} is required (LIVESTAR_REQUIRE_SERVICES=1) but unreachable: {error}")
        }
    }
}

pub fn redis_url() -> String {
    std::env::var("LIVESTAR_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn nats_url() -> String {
    std::env::var("LIVESTAR_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

pub fn postgres_url() -> String {
    std::env::var("LIVESTAR_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn with_param(url: &str, param: &str) -> String {
    let join = if url.contains('?') { '&' } else { '?' };
    format!("{url}{join}{param}")
}

/// Which broker a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Broker {
    Memory,
    Redis,
    Nats,
    Postgres,
}

/// Two backplanes on one channel (two "processes"), a raw publisher on that channel, and a
/// way to cut the broker connections.
pub struct Rig {
    pub a: Backplane,
    pub b: Backplane,
    pub raw: Box<dyn Transport>,
    pub channel: String,
    outage: Outage,
    /// Redis rigs hold a read lock; the Redis outage takes it for writing, since `CLIENT KILL
    /// TYPE pubsub` cuts every test's subscriptions, not only this rig's.
    redis_guard: Option<tokio::sync::OwnedRwLockReadGuard<()>>,
}

static REDIS_KILL: std::sync::LazyLock<std::sync::Arc<tokio::sync::RwLock<()>>> =
    std::sync::LazyLock::new(Default::default);

enum Outage {
    Memory(MemoryBroker),
    Redis,
    Postgres { url: String, application: String },
    Nats(NatsServer),
    None,
}

/// The secret the backplanes of a rig share.
pub const SECRET: &str = "livestar-tests-secret-0123456789";

/// The options of a rig's backplanes: its channel, short backoff, [`SECRET`].
pub fn options(channel: &str) -> BackplaneBuilder {
    Backplane::builder()
        .channel(channel)
        .secret(SECRET)
        .backoff(Duration::from_millis(20), Duration::from_millis(500))
}

async fn connect(channel: &str, transport: impl Transport) -> Result<Backplane, BackplaneError> {
    options(channel).connect(transport).await
}

/// One more backplane ("process") with `options` on the broker of `broker` (memory: a new,
/// unshared broker, so use [`Rig::connect_another`] there).
pub async fn connect_to(
    broker: Broker,
    options: BackplaneBuilder,
) -> Result<Backplane, BackplaneError> {
    match broker {
        Broker::Memory => options.connect(MemoryBroker::new()).await,
        Broker::Redis => options.connect(Redis::new(&redis_url())?).await,
        Broker::Nats => options.connect(Nats::new(&nats_url()).await?).await,
        Broker::Postgres => options.connect(Postgres::new(&postgres_url())?).await,
    }
}

impl Rig {
    /// A rig on `broker`, or `None` if it is unreachable (and not required). With `own_server`,
    /// NATS runs on a server this rig starts (so the test may stop it).
    pub async fn new(broker: Broker) -> Option<Rig> {
        let channel = unique("ch");
        let result: Result<Rig, BackplaneError> = async {
            Ok(match broker {
                Broker::Memory => {
                    let memory = MemoryBroker::new();
                    Rig {
                        a: connect(&channel, memory.clone()).await?,
                        b: connect(&channel, memory.clone()).await?,
                        raw: Box::new(memory.clone()),
                        channel,
                        outage: Outage::Memory(memory),
                        redis_guard: None,
                    }
                }
                Broker::Redis => {
                    let url = redis_url();
                    Rig {
                        a: connect(&channel, Redis::new(&url)?).await?,
                        b: connect(&channel, Redis::new(&url)?).await?,
                        raw: Box::new(Redis::new(&url)?),
                        channel,
                        outage: Outage::Redis,
                        redis_guard: Some(REDIS_KILL.clone().read_owned().await),
                    }
                }
                Broker::Postgres => {
                    let application = unique("app");
                    let url =
                        with_param(&postgres_url(), &format!("application_name={application}"));
                    Rig {
                        a: connect(&channel, Postgres::new(&url)?).await?,
                        b: connect(&channel, Postgres::new(&url)?).await?,
                        raw: Box::new(Postgres::new(&postgres_url())?),
                        channel,
                        outage: Outage::Postgres {
                            url: postgres_url(),
                            application,
                        },
                        redis_guard: None,
                    }
                }
                Broker::Nats => {
                    let url = nats_url();
                    Rig {
                        a: connect(&channel, Nats::new(&url).await?).await?,
                        b: connect(&channel, Nats::new(&url).await?).await?,
                        raw: Box::new(Nats::new(&url).await?),
                        channel,
                        outage: Outage::None,
                        redis_guard: None,
                    }
                }
            })
        }
        .await;
        or_skip(&format!("{broker:?}"), result)
    }

    /// A NATS rig on a server of its own, which [`Rig::interrupt`] restarts.
    pub async fn nats_with_own_server() -> Option<Rig> {
        let server = match NatsServer::start().await {
            Ok(server) => server,
            Err(error) => return or_skip("nats-server", Err(error)),
        };
        let channel = unique("ch");
        let url = server.url();
        let rig = async {
            Ok::<_, BackplaneError>(Rig {
                a: connect(&channel, Nats::new(&url).await?).await?,
                b: connect(&channel, Nats::new(&url).await?).await?,
                raw: Box::new(Nats::new(&url).await?),
                channel: channel.clone(),
                outage: Outage::Nats(server),
                redis_guard: None,
            })
        }
        .await;
        or_skip("nats-server", rig)
    }

    /// One more backplane with `options` on the rig's broker (the memory broker included).
    pub async fn connect_another(&self, broker: Broker, options: BackplaneBuilder) -> Backplane {
        let connected = match &self.outage {
            Outage::Memory(memory) => options.connect(memory.clone()).await,
            _ => connect_to(broker, options).await,
        };
        connected.expect("another backplane on the rig's broker")
    }

    /// Publishes raw payloads on the rig's channel, as someone else would.
    pub async fn publish_bytes(&self, payloads: &[Bytes]) {
        within("a raw publish", self.raw.publish(&self.channel, payloads))
            .await
            .expect("raw publish");
    }

    /// Publishes a raw payload on the rig's channel, as someone else would.
    pub async fn publish_raw(&self, payload: &'static str) {
        within(
            "a raw publish",
            self.raw
                .publish(&self.channel, &[Bytes::from_static(payload.as_bytes())]),
        )
        .await
        .expect("raw publish");
    }

    /// Cuts the broker connections of both backplanes (the NATS server is stopped and started
    /// again on the same port).
    pub async fn interrupt(&mut self) {
        match &mut self.outage {
            Outage::Memory(memory) => memory.interrupt(),
            Outage::Redis => {
                self.redis_guard = None;
                let _exclusive = REDIS_KILL.write().await;
                let client = redis::Client::open(redis_url()).expect("redis url");
                let mut connection = within("redis", client.get_multiplexed_async_connection())
                    .await
                    .expect("redis connection");
                let killed: i64 = redis::cmd("CLIENT")
                    .arg("KILL")
                    .arg("TYPE")
                    .arg("pubsub")
                    .query_async(&mut connection)
                    .await
                    .expect("CLIENT KILL");
                assert!(killed >= 2, "killed {killed} pubsub clients");
            }
            Outage::Postgres { url, application } => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .expect("postgres connection");
                tokio::spawn(connection);
                let rows = client
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                        &[&application.as_str()],
                    )
                    .await
                    .expect("pg_terminate_backend");
                assert!(rows.len() >= 2, "terminated {} backends", rows.len());
            }
            Outage::Nats(server) => server.restart().await,
            Outage::None => panic!("this rig cannot interrupt its broker"),
        }
    }

    /// Makes the broker unreachable until the rig is dropped (memory: down; NATS: the rig's own
    /// server stopped).
    pub async fn take_down(&mut self) {
        match &mut self.outage {
            Outage::Memory(memory) => memory.set_down(true),
            Outage::Nats(server) => server.stop().await,
            _ => panic!("this rig cannot take its broker down"),
        }
    }

    /// Whether the broker's outage can be simulated while processes keep running (memory).
    pub fn memory(&self) -> Option<&MemoryBroker> {
        match &self.outage {
            Outage::Memory(memory) => Some(memory),
            _ => None,
        }
    }
}

/// A `nats-server` child process on a free port of 127.0.0.1, killed on drop.
pub struct NatsServer {
    port: u16,
    child: Option<tokio::process::Child>,
}

impl NatsServer {
    pub async fn start() -> Result<NatsServer, BackplaneError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| BackplaneError::new("nats", e))?
            .port();
        let mut server = NatsServer { port, child: None };
        server.spawn().await?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) -> Result<(), BackplaneError> {
        let child = tokio::process::Command::new("/usr/sbin/nats-server")
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BackplaneError::new("nats", format!("cannot start nats-server: {e}")))?;
        self.child = Some(child);
        // Bounded: 200 tries, 25 ms apart.
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(BackplaneError::new(
            "nats",
            "nats-server did not start within 5 s",
        ))
    }

    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    pub async fn restart(&mut self) {
        self.stop().await;
        self.spawn().await.expect("nats-server restarts");
    }
}

/// The next frame of a client's stream, as text, within [`PATIENCE`].
pub async fn next_frame(frames: &mut (impl Stream<Item = Bytes> + Unpin)) -> String {
    let frame = within("a frame", frames.next())
        .await
        .expect("stream is open");
    String::from_utf8(frame.to_vec()).expect("UTF-8 frame")
}

/// The next message a raw subscription of the broker sees, as published (resubscriptions
/// skipped), within [`PATIENCE`].
pub async fn next_captured(wiretap: &mut (impl Stream<Item = Incoming> + Unpin)) -> Bytes {
    loop {
        match within("the captured message", wiretap.next()).await {
            Some(Incoming::Message(payload)) => return payload,
            Some(Incoming::Resubscribed) => {}
            None => panic!("the wiretap ended"),
        }
    }
}

/// Waits (bounded) until `backplane` has counted `count` forged payloads.
pub async fn forged_reaches(backplane: &Backplane, count: usize) {
    within("the forged count", async {
        while backplane.forged() < count {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(backplane.forged(), count);
}
