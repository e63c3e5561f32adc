//! Serves the Datastar SDK test endpoint (`/test`) on 127.0.0.1, for the official test runner:
//!
//! ```text
//! cargo run -p livestar-examples --bin sdk-test-server -- --port 7331
//! ```

use std::net::{Ipv4Addr, SocketAddr};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = port_from_args(std::env::args().skip(1))?;
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    println!(
        "sdk-test-server listening on http://{}/test",
        listener.local_addr()?
    );
    axum::serve(listener, livestar_examples::sdk_test::router()).await
}

fn port_from_args(mut args: impl Iterator<Item = String>) -> std::io::Result<u16> {
    let mut port = 7331;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--port" => args.next(),
            other => other.strip_prefix("--port=").map(str::to_owned),
        };
        port = value.and_then(|v| v.parse().ok()).ok_or_else(|| {
            std::io::Error::other(format!("usage: sdk-test-server [--port N] (got `{arg}`)"))
        })?;
    }
    Ok(port)
}
