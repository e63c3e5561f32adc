//! The `demo` binary as a child process for the browser scenarios: started on a free port of
//! 127.0.0.1 with the local Datastar client (when there is one), ready once it printed its
//! `listening` line (`http://`, or `https://` with `--tls`), and always killed (and reaped)
//! when dropped, even if the test fails.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use super::browser::{self, PATIENCE};

/// A running demo process.
pub struct Demo {
    child: Option<Child>,
    args: Vec<String>,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    /// `http` or `https`, as the demo said it listens.
    pub scheme: String,
}

impl Demo {
    /// Starts the demo with `args` (besides `--port` and `--datastar-js`) on a free port.
    pub fn start(args: &[&str]) -> Result<Demo, String> {
        let mut demo = Demo {
            child: None,
            args: args.iter().map(|a| a.to_string()).collect(),
            addr: String::new(),
            scheme: String::new(),
        };
        demo.spawn("0")?;
        Ok(demo)
    }

    /// The URL of `path` on this demo.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    /// Kills the process and starts it again on the same port, with the same arguments.
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        let port = self.addr.rsplit(':').next().unwrap_or_default().to_owned();
        self.spawn(&port)
    }

    fn spawn(&mut self, port: &str) -> Result<(), String> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_demo"));
        command.args(["--port", port]);
        // Without it the pages load the client from the CDN: enough for a test without browser.
        if let Some(js) = browser::datastar_js() {
            command.arg("--datastar-js").arg(js);
        }
        let mut child = command
            .args(&self.args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the demo: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        self.child = Some(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep reading, so the demo never writes into a full or closed pipe.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(PATIENCE)
            .map_err(|_| format!("the demo did not print `listening on` within {PATIENCE:?}"))?;
        let (scheme, addr) = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|url| url.split_once("://"))
            .ok_or_else(|| format!("unexpected first line of the demo: {line:?}"))?;
        (self.scheme, self.addr) = (scheme.to_owned(), addr.to_owned());
        Ok(())
    }

    /// Sends SIGTERM, as a deployment stopping the process does, and waits (at most
    /// [`PATIENCE`]) for it to exit.
    pub fn terminate(&mut self) -> Result<std::process::ExitStatus, String> {
        let child = self.child.as_mut().ok_or("the demo is not running")?;
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .map_err(|e| format!("cannot run kill: {e}"))?;
        if !sent.success() {
            return Err(format!("kill -TERM failed: {sent}"));
        }
        let deadline = std::time::Instant::now() + PATIENCE;
        while std::time::Instant::now() < deadline {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                self.child = None;
                return Ok(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Err(format!(
            "the demo did not exit within {PATIENCE:?} of SIGTERM"
        ))
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A namespace no other test run uses, so runs sharing a broker never see each other's state.
pub fn unique_namespace() -> String {
    format!("lstest-demo-{:016x}", fastrand::u64(..))
}

fn services_required() -> bool {
    std::env::var("LIVESTAR_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// A broker the demo can share its state through.
#[derive(Clone, Copy, Debug)]
pub enum Service {
    /// `--redis`, `LIVESTAR_REDIS_URL`.
    Redis,
    /// `--postgres`, `LIVESTAR_POSTGRES_URL`.
    Postgres,
    /// `--nats`, `LIVESTAR_NATS_URL` (with JetStream).
    Nats,
}

impl Service {
    /// The demo's option naming this broker.
    pub fn flag(self) -> &'static str {
        match self {
            Service::Redis => "--redis",
            Service::Postgres => "--postgres",
            Service::Nats => "--nats",
        }
    }
}

/// The URL of `service` on the test machine (from the environment, as the other service
/// tests read it), or `None` (after saying the scenario skipped) when it is unreachable and
/// not required (`LIVESTAR_REQUIRE_SERVICES=1`).
pub async fn service_url(scenario: &str, service: Service) -> Option<String> {
    use livestar_examples::demo::store::{NatsStore, PostgresStore, RedisStore};
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let probe = "lstest-probe";
    let (url, reached) = match service {
        Service::Redis => {
            let url = env("LIVESTAR_REDIS_URL", "redis://127.0.0.1:6379");
            let reached = RedisStore::connect(&url, probe).await.map(drop);
            (url, reached)
        }
        Service::Postgres => {
            let url = env(
                "LIVESTAR_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            );
            let reached = PostgresStore::connect(&url, probe).await.map(drop);
            (url, reached)
        }
        Service::Nats => {
            let url = env("LIVESTAR_NATS_URL", "nats://127.0.0.1:4222");
            let reached = NatsStore::connect(&url, probe).await.map(drop);
            (url, reached)
        }
    };
    match reached {
        Ok(()) => Some(url),
        Err(error) if !services_required() => {
            eprintln!("SKIPPED browser scenario {scenario}: {service:?} is unreachable ({error})");
            None
        }
        Err(error) => panic!("{scenario}: {service:?} is required but unreachable: {error}"),
    }
}

/// Deletes what the demo stored under `namespace` in `service` (keys, tables or bucket).
pub async fn drop_namespace(service: Service, url: &str, namespace: &str) -> Result<(), String> {
    use livestar_examples::demo::store::{NatsStore, PostgresStore, RedisStore};
    let dropped = match service {
        Service::Redis => match RedisStore::connect(url, namespace).await {
            Ok(store) => store.drop_namespace().await,
            Err(error) => Err(error),
        },
        Service::Postgres => match PostgresStore::connect(url, namespace).await {
            Ok(store) => store.drop_namespace().await,
            Err(error) => Err(error),
        },
        Service::Nats => match NatsStore::connect(url, namespace).await {
            Ok(store) => store.drop_namespace().await,
            Err(error) => Err(error),
        },
    };
    dropped.map_err(|e| format!("cleaning up {namespace}: {e}"))
}

/// Types `title` in the demo's todo form of `page` and submits it.
pub async fn add_todo(page: &chromiumoxide::Page, title: &str) -> Result<(), String> {
    browser::type_into(page, "#new-todo", title).await?;
    browser::click(page, "#add").await?;
    browser::wait_until(
        page,
        "the todo input was cleared",
        "document.querySelector('#new-todo').value === ''",
    )
    .await
}
