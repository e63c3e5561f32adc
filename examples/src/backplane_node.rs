//! A chat node sharing rooms and invalidations with other processes through a backplane; the
//! `backplane-node` binary serves it and the multi-process tests run two of them.

use std::io::Write;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use futures::StreamExt;
use livestar::backplane::{Backplane, BackplaneError, MemoryBroker, Nats, Postgres, Redis};
use livestar::event::{Event, Mode};
use livestar::hub::Hub;
use livestar::invalidate::Notifier;
use livestar::render::{Html, escape_text};
use livestar::stream::LiveStream;
use serde::Deserialize;

/// The broker a node connects to.
#[derive(Clone, Copy, Debug)]
pub enum Broker {
    /// Redis pub/sub.
    Redis,
    /// Core NATS.
    Nats,
    /// Postgres LISTEN/NOTIFY.
    Postgres,
    /// This process only.
    Memory,
}

impl Broker {
    /// `redis`, `nats`, `postgres` or `memory`.
    pub fn parse(name: &str) -> Option<Broker> {
        match name {
            "redis" => Some(Broker::Redis),
            "nats" => Some(Broker::Nats),
            "postgres" => Some(Broker::Postgres),
            "memory" => Some(Broker::Memory),
            _ => None,
        }
    }

    /// A backplane on `channel` of the broker at `url`.
    pub async fn connect(self, url: &str, channel: &str) -> Result<Backplane, BackplaneError> {
        let builder = Backplane::builder().channel(channel);
        match self {
            Broker::Redis => builder.connect(Redis::new(url)?).await,
            Broker::Nats => builder.connect(Nats::new(url).await?).await,
            Broker::Postgres => builder.connect(Postgres::new(url)?).await,
            Broker::Memory => builder.connect(MemoryBroker::new()).await,
        }
    }
}

/// The node's shared state.
#[derive(Clone)]
pub struct Node {
    hub: Hub,
    changed: Notifier<String>,
    backplane: livestar::backplane::Backplane,
}

/// The node's routes.
pub fn router(node: Node) -> Router {
    Router::new()
        .route("/rooms/{room}/connect", get(connect))
        .route("/rooms/{room}/messages", post(say))
        .route("/watch/{key}", get(watch))
        .route("/notify/{key}", post(notify))
        .with_state(node)
}

/// Connects to the broker, binds 127.0.0.1:`port` (0: any free port), prints
/// `listening on <addr>` and serves until killed.
pub async fn serve(
    broker: Broker,
    url: &str,
    channel: &str,
    port: u16,
) -> Result<(), BackplaneError> {
    let backplane = broker.connect(url, channel).await?;
    let node = Node {
        hub: Hub::with_backplane(&backplane),
        changed: Notifier::with_backplane(&backplane, "keys"),
        backplane: backplane.clone(),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| BackplaneError::new(backplane.broker(), format!("cannot bind: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| BackplaneError::new(backplane.broker(), e))?;
    println!("listening on {addr}");
    let _ = std::io::stdout().flush();
    axum::serve(listener, router(node))
        .await
        .map_err(|e| BackplaneError::new(backplane.broker(), format!("server stopped: {e}")))
}

/// Joins the room, and answers once the broker routes the room's sends to this process:
/// a send from another process after the response head is never missed.
async fn connect(Path(room): Path<String>, State(node): State<Node>) -> LiveStream {
    let stream = node.hub.join_room(&room);
    node.backplane.settled().await;
    stream
}

#[derive(Deserialize)]
struct Said {
    text: String,
}

async fn say(
    Path(room): Path<String>,
    Query(said): Query<Said>,
    State(node): State<Node>,
) -> Result<&'static str, (http::StatusCode, String)> {
    let mut html = String::from("<div class=\"message\">");
    escape_text(&said.text, &mut html);
    html.push_str("</div>");
    let message = Event::patch_elements(Html::from_trusted(html))
        .selector("#messages")
        .mode(Mode::Append);
    match node.hub.room(&room).send(message) {
        Ok(_) => Ok("sent"),
        Err(error) => Err((http::StatusCode::PAYLOAD_TOO_LARGE, error.to_string())),
    }
}

async fn watch(Path(key): Path<String>, State(node): State<Node>) -> LiveStream {
    let changes = node.changed.subscribe(&key);
    livestar::stream(changes.map(move |()| Event::comment(&format!("{key} changed"))))
}

async fn notify(Path(key): Path<String>, State(node): State<Node>) -> &'static str {
    node.changed.notify(&key);
    "notified"
}
