//! Graceful shutdown ends live streams promptly, so clients reconnect to the next instance.
//! Its own test binary: shutdown is per process.

use std::time::Duration;

use axum::Router;
use livestar::prelude::*;
use livestar::testing::TestClient;
use tokio::sync::oneshot;
use tokio::time::timeout;

#[live_view("/status/live", view = |s: &&str| Html::from_trusted(format!("<p id=\"s\">{s}</p>")))]
async fn status() -> &'static str {
    "up"
}

#[tokio::test]
async fn graceful_shutdown_ends_live_streams_and_the_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, Router::new().merge(status::route()))
            .with_graceful_shutdown(livestar::live::graceful(async {
                let _ = stopped.await;
            }))
            .await
    });

    let mut live = TestClient::at(address)
        .get(status::PATH)
        .send()
        .await
        .expect("connected");
    let patch = timeout(Duration::from_secs(5), live.next_patch())
        .await
        .expect("in time");
    assert!(patch.is_some_and(|p| p.elements().is_some_and(|h| h.contains("up"))));

    stop.send(()).expect("the server is running");
    let end = timeout(Duration::from_secs(1), live.next_event())
        .await
        .expect("the stream ends within 1 s");
    assert_eq!(end, None, "the stream ended cleanly");
    timeout(Duration::from_secs(1), server)
        .await
        .expect("the server stops within 1 s")
        .expect("the server task")
        .expect("the server");
    assert!(livestar::live::is_shutting_down());
}
