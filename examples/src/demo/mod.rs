//! The livestar demo: the apps of the seeds (todos, chat rooms, notifications, a dashboard)
//! as one axum server, each example a module to read as a tutorial.
//!
//! | module | pattern it teaches |
//! |---|---|
//! | [`todos`] | a `#[live_view]`: load + view, re-run whenever a [`Notifier`] key is notified; actions that write and notify |
//! | [`chat`] | hub rooms: a room loader for the current state, messages appended, input cleared by patching signals, presence |
//! | [`notifications`] | hub sessions: one user's every tab, a patched signal driving `data-show` |
//! | [`dashboard`] | push (a background task wakes a live view through a `watch` channel) next to polling (`data-on-interval`), and a live chart of the process's own metrics |
//! | [`metrics`] | livestar's metrics at `GET /metrics` in the Prometheus text format |
//! | [`session`] | a cookie login and an extractor for the signed-in user |
//! | [`layout`], [`index`] | the page around them |
//! | [`store`] | the state, in memory or shared through Redis, Postgres or NATS |
//! | [`tls`] | `--tls`: HTTPS with HTTP/2, so many tabs share one connection |
//!
//! Run it with `cargo run -p livestar-examples --bin demo` and open <http://127.0.0.1:3000>.
//! With `--redis URL` (or `--postgres URL`, `--nats URL`) several demo processes share their
//! state and their invalidations: a todo added through one is shown by the others.
//! With `--tls` it serves <https://127.0.0.1:3000> with HTTP/2 (a self-signed certificate
//! unless `--cert PATH --key PATH` name one).

pub mod chat;
pub mod dashboard;
pub mod index;
pub mod layout;
pub mod metrics;
pub mod notifications;
pub mod session;
pub mod store;
mod store_nats;
mod store_postgres;
mod store_redis;
pub mod tls;
pub mod todos;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use livestar::backplane::{Backplane, Nats, Postgres, Redis};
use livestar::compress::{Compression, Encoding};
use livestar::hub::Hub;
use livestar::invalidate::Notifier;

use tls::{Tls, TlsListener};

use store::{Memory, NatsStore, PostgresStore, RedisStore, SharedStore, StoreError};

/// The Datastar client the pages load unless `--datastar-js` names a local file.
pub const DATASTAR_CDN: &str =
    "https://cdn.jsdelivr.net/gh/starfederation/datastar@v1.0.1/bundles/datastar.js";

/// Where the demo keeps its state and shares its invalidations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// This process only (the default).
    Memory,
    /// Redis at this URL: data structures for the state, pub/sub for invalidations.
    Redis(String),
    /// NATS at this URL: a JetStream key-value bucket for the state, core NATS for invalidations.
    Nats(String),
    /// Postgres at this URL: tables for the state, `LISTEN`/`NOTIFY` for invalidations.
    Postgres(String),
}

/// The command line of the `demo` binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The port on 127.0.0.1 (`--port`, default 3000; 0 picks a free one).
    pub port: u16,
    /// The state's backend (`--redis URL`, `--nats URL`, `--postgres URL`).
    pub backend: Backend,
    /// The prefix of every key, table and channel (`--namespace`, default `livestar-demo`).
    pub namespace: String,
    /// A local Datastar client to serve at `/datastar.js` instead of the CDN (`--datastar-js`).
    pub datastar_js: Option<PathBuf>,
    /// The most live streams the process keeps open (`--max-streams N`; none by default).
    /// Past it a new stream gets `503` with a jittered `Retry-After`.
    pub max_streams: Option<usize>,
    /// The encodings event streams are compressed with, in order of preference (`--compress
    /// zstd,br,gzip`, the default; `--compress off` for none).
    pub compression: Compression,
    /// Plain HTTP/1.1 (the default), or HTTPS with HTTP/2 (`--tls`, with `--cert PATH --key
    /// PATH` or a self-signed certificate made at start).
    pub tls: Tls,
}

/// The usage text of the `demo` binary.
pub const USAGE: &str = "usage: demo [--port N] [--redis URL | --nats URL | --postgres URL] \
                         [--namespace NAME] [--datastar-js PATH] [--max-streams N] \
                         [--compress off|zstd,br,gzip] [--tls [--cert PATH --key PATH]]";

impl Config {
    /// Reads the arguments (without the program name).
    ///
    /// # Errors
    /// An unknown option, a missing value, a bad port, or `--cert`/`--key` alone or without
    /// `--tls`, with what to write instead.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Config, String> {
        let mut config = Config {
            port: 3000,
            backend: Backend::Memory,
            namespace: "livestar-demo".to_owned(),
            datastar_js: None,
            max_streams: None,
            compression: Compression::default(),
            tls: Tls::Off,
        };
        let (mut tls, mut cert, mut key) = (false, None, None);
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
            };
            match flag.as_str() {
                "--port" => {
                    let port = value("--port")?;
                    config.port = port
                        .parse()
                        .map_err(|_| format!("--port {port:?} is not a port number (0-65535)"))?;
                }
                "--redis" => config.backend = Backend::Redis(value("--redis")?),
                "--nats" => config.backend = Backend::Nats(value("--nats")?),
                "--postgres" => config.backend = Backend::Postgres(value("--postgres")?),
                "--namespace" => config.namespace = value("--namespace")?,
                "--datastar-js" => config.datastar_js = Some(value("--datastar-js")?.into()),
                "--max-streams" => {
                    let limit = value("--max-streams")?;
                    config.max_streams =
                        Some(limit.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                            format!("--max-streams {limit:?} is not a positive number\n{USAGE}")
                        })?);
                }
                "--compress" => config.compression = compression(&value("--compress")?)?,
                "--tls" => tls = true,
                "--cert" => cert = Some(PathBuf::from(value("--cert")?)),
                "--key" => key = Some(PathBuf::from(value("--key")?)),
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown option {other:?}\n{USAGE}")),
            }
        }
        config.tls = match (tls, cert, key) {
            (false, None, None) => Tls::Off,
            (true, None, None) => Tls::SelfSigned,
            (true, Some(cert), Some(key)) => Tls::Files { cert, key },
            (false, _, _) => {
                return Err(format!(
                    "--cert and --key are for HTTPS: add --tls\n{USAGE}"
                ));
            }
            (true, Some(_), None) => {
                return Err(format!(
                    "--cert needs --key PATH, the certificate's private key in PEM\n{USAGE}"
                ));
            }
            (true, None, Some(_)) => {
                return Err(format!(
                    "--key needs --cert PATH, its certificate chain in PEM\n{USAGE}"
                ));
            }
        };
        Ok(config)
    }
}

/// The compression of `--compress`: `off`, or encodings in order of preference.
fn compression(list: &str) -> Result<Compression, String> {
    if list == "off" {
        return Ok(Compression::off());
    }
    let encodings = list
        .split(',')
        .map(|name| match name.trim() {
            "br" => Ok(Encoding::Brotli),
            "zstd" => Ok(Encoding::Zstd),
            "gzip" => Ok(Encoding::Gzip),
            other => Err(format!(
                "--compress: {other:?} is not br, zstd or gzip (or write off)\n{USAGE}"
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Compression::default().prefer(encodings))
}

/// Where pages load the Datastar client from.
#[derive(Clone)]
pub struct Assets {
    /// The `src` of the page's `<script type="module">`.
    pub datastar_src: String,
    /// The client served at `/datastar.js`, when given with `--datastar-js`.
    pub datastar_js: Option<Arc<str>>,
}

/// Everything the handlers share, in axum state.
#[derive(Clone)]
pub struct App {
    /// Todos, chat history, notifications.
    pub store: SharedStore,
    /// Chat rooms and notification sessions.
    pub hub: Hub,
    /// Wakes the todo views of a user (the key), in every process.
    pub todos_changed: Notifier<String>,
    /// The dashboard's numbers, replaced every second by a background task.
    pub stats: tokio::sync::watch::Receiver<dashboard::Stats>,
    /// The last minute of livestar's own metrics, for the dashboard's chart.
    pub traffic: tokio::sync::watch::Receiver<metrics::Traffic>,
    /// The Datastar client.
    pub assets: Assets,
}

/// A failure while starting the demo.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

impl From<StoreError> for StartError {
    fn from(e: StoreError) -> Self {
        StartError(e.to_string())
    }
}

impl From<livestar::backplane::BackplaneError> for StartError {
    fn from(e: livestar::backplane::BackplaneError) -> Self {
        StartError(e.to_string())
    }
}

/// The secret the demo's backplane signs its messages with: `LIVESTAR_BACKPLANE_SECRET`
/// (`from_env`), or, when it is unset or empty, the public development secret, announced with
/// a loud warning on stderr. Every demo process sharing a broker must have the same one.
///
/// ```
/// use livestar_examples::demo::backplane_secret;
///
/// assert_eq!(backplane_secret(Some("s3cr3t-from-the-vault".into())), "s3cr3t-from-the-vault");
/// assert_eq!(backplane_secret(None), livestar::backplane::DEVELOPMENT_SECRET);
/// ```
pub fn backplane_secret(from_env: Option<String>) -> String {
    match from_env.filter(|s| !s.is_empty()) {
        Some(secret) => secret,
        None => {
            eprintln!(
                "WARNING: LIVESTAR_BACKPLANE_SECRET is not set: the backplane signs with the public \
                 development secret, so anyone who can publish on the broker can write into every \
                 browser. Set it (the same in every process) to at least 16 random bytes, e.g. \
                 `export LIVESTAR_BACKPLANE_SECRET=$(openssl rand -hex 32)`."
            );
            livestar::backplane::DEVELOPMENT_SECRET.to_owned()
        }
    }
}

/// Connects the store and the backplane of `config` and builds the app state.
///
/// # Errors
/// The broker cannot be reached, or the Datastar file cannot be read.
pub async fn app(config: &Config) -> Result<App, StartError> {
    // First: livestar registers each figure on first use, with the recorder installed then.
    metrics::install();
    let channel = config.namespace.clone();
    // Read only when a broker is configured: the in-memory demo has no backplane to sign for.
    let secret = || backplane_secret(std::env::var("LIVESTAR_BACKPLANE_SECRET").ok());
    let (store, backplane): (SharedStore, Option<Backplane>) = match &config.backend {
        Backend::Memory => (Arc::new(Memory::new()), None),
        Backend::Redis(url) => (
            Arc::new(RedisStore::connect(url, &config.namespace).await?),
            Some(
                Backplane::builder()
                    .channel(channel)
                    .secret(secret())
                    .connect(Redis::new(url)?)
                    .await?,
            ),
        ),
        Backend::Nats(url) => (
            Arc::new(NatsStore::connect(url, &config.namespace).await?),
            Some(
                Backplane::builder()
                    .channel(channel)
                    .secret(secret())
                    .connect(Nats::new(url).await?)
                    .await?,
            ),
        ),
        Backend::Postgres(url) => (
            Arc::new(PostgresStore::connect(url, &config.namespace).await?),
            Some(
                Backplane::builder()
                    .channel(store::sanitize(&channel))
                    .secret(secret())
                    .connect(Postgres::new(url)?)
                    .await?,
            ),
        ),
    };
    let hub = {
        let builder = Hub::builder()
            .room_loader(chat::room_loader(store.clone()))
            .session_loader(notifications::session_loader(store.clone()));
        match &backplane {
            Some(backplane) => builder.backplane(backplane, "hub").build(),
            None => builder.build(),
        }
    };
    let todos_changed = match &backplane {
        Some(backplane) => Notifier::with_backplane(backplane, "todos"),
        None => Notifier::new(),
    };
    let assets = match &config.datastar_js {
        Some(path) => {
            let js = std::fs::read_to_string(path).map_err(|e| {
                StartError(format!("cannot read --datastar-js {}: {e}", path.display()))
            })?;
            Assets {
                datastar_src: "/datastar.js".to_owned(),
                datastar_js: Some(js.into()),
            }
        }
        None => Assets {
            datastar_src: DATASTAR_CDN.to_owned(),
            datastar_js: None,
        },
    };
    let stats = dashboard::spawn_sampler(hub.clone());
    let traffic = metrics::spawn_sampler();
    chat::spawn_presence(hub.clone());
    Ok(App {
        store,
        hub,
        todos_changed,
        stats,
        traffic,
        assets,
    })
}

/// Every route of the demo. `same_origin` refuses what another site's page sends as the
/// signed-in user (a hidden form, a script): the sign-in form, the chat and notification
/// streams and every action; `ReadSignals` and the live views check the same by themselves.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(index::page))
        .route("/datastar.js", get(datastar_js))
        .route("/metrics", get(metrics::scrape))
        .merge(session::routes())
        .merge(todos::routes())
        .merge(chat::routes())
        .merge(notifications::routes())
        .merge(dashboard::routes())
        .layer(axum::middleware::from_fn(livestar::origin::same_origin))
        .with_state(app)
}

async fn datastar_js(State(app): State<App>) -> Response {
    match &app.assets.datastar_js {
        Some(js) => (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            js.to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Serves the demo until Ctrl-C or SIGTERM: binds 127.0.0.1:`port`, prints
/// `listening on http://<addr>` (`https://` with `--tls`), then ends every live view so tabs
/// reconnect elsewhere.
///
/// # Errors
/// The store, the backplane or the port is unavailable, or the certificate cannot be used.
pub async fn serve(config: Config) -> Result<(), StartError> {
    let tls = tls::server_config(&config.tls)?;
    livestar::stream::limit_open_streams(config.max_streams);
    livestar::compress::set_default(config.compression.clone());
    let app = app(&config).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|e| StartError(format!("cannot bind 127.0.0.1:{}: {e}", config.port)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError(e.to_string()))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://{addr}");
    let _ = std::io::stdout().flush();
    // `graceful` ends every live stream (live views, chat rooms, notifications) once the
    // signal comes, so axum's drain finishes and open tabs reconnect to the next instance.
    let shutdown = livestar::live::graceful(stop_signal());
    let served = match tls {
        None => {
            axum::serve(listener, router(app))
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(tls) => {
            let listener =
                TlsListener::new(listener, tls).map_err(|e| StartError(e.to_string()))?;
            axum::serve(listener, router(app))
                .with_graceful_shutdown(shutdown)
                .await
        }
    };
    served.map_err(|e| StartError(format!("server stopped: {e}")))
}

async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// A store failure as a response: logged, and a 500 that says only that it failed.
#[derive(Debug)]
pub struct AppError(pub StoreError);

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError(e)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "demo: a store operation failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the store failed; see the server log",
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        Config::parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn no_arguments_serve_port_3000_in_memory_from_the_cdn() {
        let config = parse(&[]).expect("defaults");
        assert_eq!(config.port, 3000);
        assert_eq!(config.backend, Backend::Memory);
        assert_eq!(config.namespace, "livestar-demo");
        assert_eq!(config.datastar_js, None);
    }

    #[test]
    fn every_option_is_read() {
        let config = parse(&[
            "--port",
            "0",
            "--redis",
            "redis://r",
            "--namespace",
            "t1",
            "--datastar-js",
            "d.js",
        ])
        .expect("options");
        assert_eq!(config.port, 0);
        assert_eq!(config.backend, Backend::Redis("redis://r".into()));
        assert_eq!(config.namespace, "t1");
        assert_eq!(config.datastar_js, Some(PathBuf::from("d.js")));
    }

    #[test]
    fn compress_takes_off_or_a_list_of_encodings() {
        assert_eq!(
            parse(&[]).expect("parses").compression,
            Compression::default()
        );
        let off = parse(&["--compress", "off"]).expect("parses");
        assert_eq!(off.compression, Compression::off());
        let list = parse(&["--compress", "gzip, br"]).expect("parses");
        assert_eq!(
            list.compression.preference(),
            [Encoding::Gzip, Encoding::Brotli]
        );
        for bad in ["deflate", "br,,gzip", "", "identity"] {
            let error = parse(&["--compress", bad]).expect_err(bad);
            assert!(error.contains("is not br, zstd or gzip"), "{bad}: {error}");
        }
    }

    #[test]
    fn max_streams_takes_a_positive_number() {
        assert_eq!(parse(&[]).expect("parses").max_streams, None);
        let config = parse(&["--max-streams", "10000"]).expect("parses");
        assert_eq!(config.max_streams, Some(10_000));
        for bad in ["0", "-1", "many"] {
            assert!(
                parse(&["--max-streams", bad])
                    .expect_err("rejected")
                    .contains("is not a positive number")
            );
        }
    }

    /// `POST /todos` as the signed-in user "ada", with `headers`.
    fn add_todo_as_ada(headers: &[(&str, &str)]) -> http::Request<axum::body::Body> {
        let mut request = http::Request::post("/todos")
            .header("host", "127.0.0.1:3000")
            .header("cookie", format!("{}=ada", session::COOKIE));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
            .body(axum::body::Body::from(r#"{"title":"added"}"#))
            .expect("a request")
    }

    #[tokio::test]
    async fn a_cross_site_form_cannot_add_a_todo_and_the_page_can() {
        use tower::ServiceExt;

        let app = super::app(&parse(&[]).expect("defaults"))
            .await
            .expect("an in-memory app");
        let router = router(app.clone());
        // The form another site can make: text/plain, the user's cookie, no custom header.
        let forged = add_todo_as_ada(&[
            ("origin", "http://evil.example"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-mode", "navigate"),
            ("content-type", "text/plain"),
        ]);
        let Ok(response) = router.clone().oneshot(forged).await;
        assert_eq!(response.status(), http::StatusCode::FORBIDDEN);
        assert!(app.store.todos("ada").await.expect("todos").is_empty());
        // What the Datastar client on the demo's own page sends.
        let from_page = add_todo_as_ada(&[
            ("origin", "http://127.0.0.1:3000"),
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "cors"),
            ("datastar-request", "true"),
            ("content-type", "application/json"),
        ]);
        let Ok(response) = router.oneshot(from_page).await;
        assert_eq!(response.status(), http::StatusCode::OK);
        let titles: Vec<String> = app
            .store
            .todos("ada")
            .await
            .expect("todos")
            .into_iter()
            .map(|todo| todo.title)
            .collect();
        assert_eq!(titles, ["added"]);
    }

    #[test]
    fn tls_is_off_by_default_and_self_signed_without_cert_and_key() {
        assert_eq!(parse(&[]).expect("parses").tls, Tls::Off);
        assert_eq!(parse(&["--tls"]).expect("parses").tls, Tls::SelfSigned);
        let files = parse(&["--tls", "--cert", "c.pem", "--key", "k.pem"]).expect("parses");
        assert_eq!(
            files.tls,
            Tls::Files {
                cert: "c.pem".into(),
                key: "k.pem".into()
            }
        );
    }

    #[test]
    fn cert_and_key_come_together_and_with_tls() {
        let error = parse(&["--tls", "--cert", "c.pem"]).expect_err("no key");
        assert!(error.starts_with("--cert needs --key PATH"), "{error}");
        let error = parse(&["--tls", "--key", "k.pem"]).expect_err("no cert");
        assert!(error.starts_with("--key needs --cert PATH"), "{error}");
        let error = parse(&["--cert", "c.pem", "--key", "k.pem"]).expect_err("no --tls");
        assert!(
            error.starts_with("--cert and --key are for HTTPS: add --tls"),
            "{error}"
        );
        let error = parse(&["--tls", "--cert"]).expect_err("no value");
        assert!(error.starts_with("--cert needs a value"), "{error}");
    }

    #[tokio::test]
    async fn serving_with_missing_certificate_files_fails_before_listening() {
        let config = parse(&[
            "--port",
            "0",
            "--tls",
            "--cert",
            "/nonexistent/c.pem",
            "--key",
            "k.pem",
        ])
        .expect("parses");
        let error = serve(config).await.expect_err("no certificate");
        assert_eq!(
            error.0,
            "cannot read --cert /nonexistent/c.pem: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn a_bad_port_or_unknown_option_says_what_is_wrong() {
        assert!(
            parse(&["--port", "http"])
                .unwrap_err()
                .contains("not a port")
        );
        assert!(
            parse(&["--prot", "1"])
                .unwrap_err()
                .contains("unknown option \"--prot\"")
        );
        assert!(
            parse(&["--redis"])
                .unwrap_err()
                .contains("--redis needs a value")
        );
    }
}
