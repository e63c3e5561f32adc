//! A disconnect drops the live view, its subscriptions and its timers at once, measured over
//! real TCP connections. Its own test binary: the gauges count the whole process.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use livestar::prelude::*;
use livestar::testing::TestClient;
use tokio::sync::{Notify, broadcast};
use tokio::time::timeout;

#[derive(Clone)]
struct App {
    changed: Arc<Notify>,
    news: broadcast::Sender<()>,
}

#[live_view(
    "/count/live",
    invalidate = [app.changed.clone(), app.news.subscribe()],
    view = |n: &usize| Html::from_trusted(format!("<b id=\"n\">{n}</b>")),
)]
async fn count(State(app): State<App>) -> usize {
    app.news.receiver_count()
}

/// The gauges are per process: the tests of this file take turns.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn serve() -> (std::net::SocketAddr, App) {
    let app = App {
        changed: Arc::new(Notify::new()),
        news: broadcast::channel(1).0,
    };
    let router = Router::new().merge(count::route()).with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    (address, app)
}

/// Waits until `gauge()` is `expected`, for at most one second.
async fn settles(gauge: fn() -> usize, expected: usize) -> bool {
    timeout(Duration::from_secs(1), async {
        while gauge() != expected {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gauges_count_what_connected_clients_hold_and_return_to_zero() {
    let _turn = SERIAL.lock().await;
    let (address, app) = serve().await;
    let client = TestClient::at(address);

    let mut tabs = Vec::new();
    for _ in 0..10 {
        let mut live = client.get(count::PATH).send().await.expect("connected");
        timeout(Duration::from_secs(5), live.next_patch())
            .await
            .expect("in time")
            .expect("a patch");
        tabs.push(live);
    }
    assert_eq!(livestar::live::open_views(), 10);
    assert_eq!(livestar::live::open_subscriptions(), 20);
    assert_eq!(app.news.receiver_count(), 10);

    drop(tabs);
    assert!(
        settles(livestar::live::open_views, 0).await,
        "views: {}",
        livestar::live::open_views()
    );
    assert!(settles(livestar::live::open_subscriptions, 0).await);
    assert_eq!(app.news.receiver_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connects_and_disconnects_leave_nothing_behind() {
    let _turn = SERIAL.lock().await;
    let (address, app) = serve().await;
    let client = TestClient::at(address);
    // 1000 connections, 50 at a time.
    for _ in 0..20 {
        let batch = (0..50).map(|_| {
            let client = client.clone();
            async move {
                let mut live = client.get(count::PATH).send().await.expect("connected");
                timeout(Duration::from_secs(5), live.next_patch())
                    .await
                    .expect("in time")
                    .expect("a patch");
            }
        });
        futures::future::join_all(batch).await;
    }
    assert!(
        settles(livestar::live::open_views, 0).await,
        "live views still open 1 s after the last disconnect: {}",
        livestar::live::open_views()
    );
    assert!(settles(livestar::live::open_subscriptions, 0).await);
    assert!(settles(livestar::stream::open_streams, 0).await);
    assert_eq!(app.news.receiver_count(), 0);
}
