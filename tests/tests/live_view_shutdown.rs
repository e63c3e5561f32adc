//! Graceful shutdown ends every live stream promptly (live views, hand-written streams, hub
//! clients), so clients reconnect to the next instance and the server can stop.
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
        let hub = livestar::hub::Hub::new();
        let router = Router::new()
            .merge(status::route())
            .route(
                "/by-hand",
                axum::routing::get(|| async {
                    livestar::stream(futures::stream::pending::<Event>())
                }),
            )
            .route(
                "/room",
                axum::routing::get(move || {
                    let hub = hub.clone();
                    async move { hub.join_room("lobby") }
                }),
            );
        axum::serve(listener, router)
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
    // Streams that never end by themselves: one written by hand, one hub client.
    let mut by_hand = TestClient::at(address)
        .get("/by-hand")
        .send()
        .await
        .expect("connected");
    let mut in_room = TestClient::at(address)
        .get("/room")
        .send()
        .await
        .expect("connected");

    stop.send(()).expect("the server is running");
    for (name, stream) in [
        ("live view", &mut live),
        ("by hand", &mut by_hand),
        ("hub room", &mut in_room),
    ] {
        let end = timeout(Duration::from_secs(1), async {
            // Skip what was in flight (a retry hint, a heartbeat) up to the end.
            while stream.next_event().await.is_some() {}
        })
        .await;
        assert!(
            end.is_ok(),
            "the {name} stream ends within 1 s of the shutdown signal"
        );
    }
    timeout(Duration::from_secs(1), server)
        .await
        .expect("the server stops within 1 s")
        .expect("the server task")
        .expect("the server");
    assert!(livestar::live::is_shutting_down());
}
