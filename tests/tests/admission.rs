//! The cap on open live streams: past it, `503` with a jittered `Retry-After`, never a hang.
//! One test in its own process: the cap is process-wide.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use http::StatusCode;
use livestar::hub::Hub;
use livestar::prelude::*;
use livestar::stream::LiveStream;
use livestar::testing::TestClient;
use tokio::time::timeout;

#[live_view("/count/live", view = |n: &u32| Html::from_trusted(format!("<p id=\"n\">{n}</p>")))]
async fn count() -> u32 {
    7
}

async fn join(State(hub): State<Hub>) -> LiveStream {
    hub.join_room("lobby")
}

#[tokio::test]
async fn past_the_cap_new_streams_get_503_with_retry_after_and_the_open_ones_keep_going() {
    let hub = Hub::new();
    let router: Router = Router::new()
        .merge(count::route())
        .route("/lobby", axum::routing::get(join))
        .with_state(hub.clone());
    let client = TestClient::new(router);
    livestar::stream::limit_open_streams(Some(2));
    let mut first = client.get(count::PATH).send().await.expect("open");
    let second = client.get("/lobby").send().await.expect("open");
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    for path in [count::PATH, "/lobby"] {
        let refused = timeout(Duration::from_secs(5), client.get(path).send())
            .await
            .expect("answered at once")
            .expect("answer");
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        let retry_after: u64 = refused
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!((1..=5).contains(&retry_after));
    }
    // A refused hub client leaves its room at once.
    assert_eq!(hub.room("lobby").presence(), 1);
    let patch = first
        .next_patch()
        .await
        .expect("the open view still streams");
    assert_eq!(patch.elements().as_deref(), Some("<p id=\"n\">7</p>"));
    // Under the cap again, streams open.
    drop(second);
    let third = client.get("/lobby").send().await.expect("open");
    assert_eq!(third.status(), StatusCode::OK);
    livestar::stream::limit_open_streams(None);
}
