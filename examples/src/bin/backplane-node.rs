//! One node of a multi-process chat: run several on one broker and a message posted to any of
//! them reaches the clients of all.
//!
//! ```text
//! backplane-node <redis|nats|postgres|memory> <broker url> [channel] [port]
//! ```
//!
//! Prints `listening on 127.0.0.1:<port>` once it serves. Routes:
//! - `GET /rooms/{room}/connect`: the room's live stream (Datastar SSE);
//! - `POST /rooms/{room}/messages?text=...`: appends a message in every node's clients;
//! - `GET /watch/{key}`: a live stream with one comment per invalidation of `key`;
//! - `POST /notify/{key}`: invalidates `key` in every node.

use std::process::ExitCode;

use livestar_examples::backplane_node::{Broker, serve};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let (Some(broker), Some(url)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: backplane-node <redis|nats|postgres|memory> <broker url> [channel] [port]"
        );
        return ExitCode::from(64);
    };
    let Some(broker) = Broker::parse(&broker) else {
        eprintln!("unknown broker {broker:?}: write redis, nats, postgres or memory");
        return ExitCode::from(64);
    };
    let channel = args.next().unwrap_or_else(|| "livestar-chat".to_owned());
    let port: u16 = match args.next().map(|p| p.parse()) {
        None => 0,
        Some(Ok(port)) => port,
        Some(Err(_)) => {
            eprintln!("the port must be a number");
            return ExitCode::from(64);
        }
    };
    match serve(broker, &url, &channel, port).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("backplane-node: {error}");
            ExitCode::from(2)
        }
    }
}
