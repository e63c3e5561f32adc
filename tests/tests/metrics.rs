//! What livestar reports through the `metrics` facade, counted by a recorder installed for
//! this test binary (livestar registers each figure once, so the recorder is global and comes
//! first). Each test reads its own labels, or the change in a figure only it moves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use bytes::Bytes;
use futures::StreamExt;
use livestar::backplane::{Backplane, MemoryBroker, Transport};
use livestar::event::Event;
use livestar::hub::Hub;
use livestar::invalidate::Notifier;
use livestar::prelude::*;
use livestar::testing::TestClient;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tokio::sync::Notify;
use tokio::time::timeout;
use tower::ServiceExt;

/// The recorder of this binary, installed before anything registers a figure.
fn snapshotter() -> &'static Snapshotter {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("the only recorder of this test binary");
        snapshotter
    })
}

/// A figure with its labels, written the same whatever their order.
fn key(name: &str, labels: impl Iterator<Item = (String, String)>) -> String {
    let mut labels: Vec<_> = labels.collect();
    labels.sort();
    format!("{name}{labels:?}")
}

/// The total of figure `name` with exactly `labels` since the recorder was installed: a
/// counter's count, a gauge's value, a histogram's number of samples; `None` when it was
/// never registered. The debugging recorder hands out what changed since its last snapshot,
/// so every read adds that to the totals of every figure.
fn value(name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    static TOTALS: Mutex<Option<HashMap<String, f64>>> = Mutex::new(None);
    let mut totals = TOTALS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let totals = totals.get_or_insert_with(HashMap::new);
    for (composite, _, _, value) in snapshotter().snapshot().into_vec() {
        let held = composite.key();
        let labels = held
            .labels()
            .map(|label| (label.key().to_owned(), label.value().to_owned()));
        let change = match value {
            DebugValue::Counter(count) => count as f64,
            DebugValue::Gauge(gauge) => gauge.into_inner(),
            DebugValue::Histogram(samples) => samples.len() as f64,
        };
        *totals.entry(key(held.name(), labels)).or_insert(0.0) += change;
    }
    let wanted = labels
        .iter()
        .map(|(label, value)| ((*label).to_owned(), (*value).to_owned()));
    totals.get(&key(name, wanted)).copied()
}

/// The count of counter `name` with exactly `labels`; 0 when it was never registered.
fn counter(name: &str, labels: &[(&str, &str)]) -> u64 {
    value(name, labels).unwrap_or(0.0) as u64
}

/// The value of gauge `name` with exactly `labels`.
fn gauge(name: &str, labels: &[(&str, &str)]) -> f64 {
    value(name, labels).unwrap_or(0.0)
}

/// Waits until `condition` holds, yielding to the server's tasks in between.
async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    timeout(Duration::from_secs(5), async {
        while !condition() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

#[derive(Clone, Default)]
struct Counter {
    value: Arc<Mutex<u32>>,
    changed: Arc<Notify>,
}

impl Counter {
    fn set(&self, value: u32) {
        *self.value.lock().expect("counter lock") = value;
        self.changed.notify_waiters();
    }
}

#[live_view("/metrics/count/live", invalidate = [app.changed.clone()], view = count_view)]
async fn count(State(app): State<Counter>) -> u32 {
    *app.value.lock().expect("counter lock")
}

fn count_view(value: &u32) -> Html {
    html! { <b id="count">{*value}</b> }
}

const COUNT_ROUTE: [(&str, &str); 1] = [("route", "/metrics/count/live")];

#[tokio::test]
async fn a_connect_and_three_notifies_one_unchanged_count_four_loads_three_renders_one_skipped() {
    snapshotter();
    let app = Counter::default();
    app.set(1);
    let client = TestClient::new(count::route().with_state(app.clone()));
    let mut live = client.get(count::PATH).send().await.expect("connected");
    let first = live.next_patch().await.expect("the first view");
    assert_eq!(first.elements().as_deref(), Some(r#"<b id="count">1</b>"#));
    assert_eq!(gauge("livestar_live_streams", &COUNT_ROUTE), 1.0);

    app.set(2);
    let second = live.next_patch().await.expect("the changed view");
    assert_eq!(second.elements().as_deref(), Some(r#"<b id="count">2</b>"#));
    app.set(2);
    // Reading drives the in-process stream; the unchanged reload sends nothing.
    tokio::select! {
        patch = live.next_patch() => panic!("an unchanged view was sent: {patch:?}"),
        () = until("the unchanged reload", || {
            counter("livestar_live_renders_skipped_total", &COUNT_ROUTE) == 1
        }) => {}
    }
    app.set(3);
    let third = live.next_patch().await.expect("the changed view");
    assert_eq!(third.elements().as_deref(), Some(r#"<b id="count">3</b>"#));

    assert_eq!(counter("livestar_live_loads_total", &COUNT_ROUTE), 4);
    assert_eq!(counter("livestar_live_renders_total", &COUNT_ROUTE), 3);
    assert_eq!(
        counter("livestar_live_renders_skipped_total", &COUNT_ROUTE),
        1
    );
    assert_eq!(counter("livestar_live_load_errors_total", &COUNT_ROUTE), 0);
    // The first render of a connection is always timed, then one in eight.
    assert_eq!(
        value("livestar_live_render_seconds", &COUNT_ROUTE),
        Some(1.0)
    );
    drop(live);
    until("the stream to close", || {
        gauge("livestar_live_streams", &COUNT_ROUTE) == 0.0
    })
    .await;
}

#[derive(Clone)]
struct Burst {
    changed: tokio::sync::broadcast::Sender<()>,
}

#[live_view(
    "/metrics/burst/live",
    invalidate = [app.changed.subscribe()],
    view = |n: &u32| Html::from_trusted(format!("<b id=\"n\">{n}</b>"))
)]
async fn burst(State(app): State<Burst>) -> u32 {
    let _ = &app;
    1
}

#[tokio::test]
async fn wakeups_waiting_together_are_counted_as_coalesced_into_one_reload() {
    snapshotter();
    let route = [("route", "/metrics/burst/live")];
    let app = Burst {
        changed: tokio::sync::broadcast::channel(64).0,
    };
    let client = TestClient::new(burst::route().with_state(app.clone()));
    let mut live = client.get(burst::PATH).send().await.expect("connected");
    live.next_patch().await.expect("the first view");
    for _ in 0..5 {
        app.changed.send(()).expect("a subscriber");
    }
    tokio::select! {
        patch = live.next_patch() => panic!("an unchanged view was sent: {patch:?}"),
        () = until("the reload", || {
            counter("livestar_live_renders_skipped_total", &route) == 1
        }) => {}
    }
    assert_eq!(counter("livestar_live_loads_total", &route), 2);
    assert_eq!(counter("livestar_live_wakeups_coalesced_total", &route), 4);
}

#[tokio::test]
async fn a_slow_hub_client_disconnected_is_counted() {
    snapshotter();
    let before = counter("livestar_hub_slow_disconnects_total", &[]);
    let sends_before = counter("livestar_hub_sends_total", &[("target", "room")]);
    let hub = Hub::builder().queue_limit(2).build();
    let slow = hub.join_room("metrics").into_frames(); // never read
    for n in 0..3 {
        hub.room("metrics")
            .send(Event::comment(&n.to_string()))
            .expect("sent");
    }
    assert_eq!(hub.slow_disconnects(), 1);
    assert_eq!(
        counter("livestar_hub_slow_disconnects_total", &[]) - before,
        1
    );
    assert!(counter("livestar_hub_sends_total", &[("target", "room")]) - sends_before >= 3);
    drop(slow);
}

#[tokio::test]
async fn a_forged_backplane_message_is_counted() {
    snapshotter();
    let forged = [("direction", "in"), ("outcome", "forged")];
    let before = counter("livestar_backplane_messages_total", &forged);
    let broker = MemoryBroker::new();
    let backplane = Backplane::builder()
        .channel("metrics-forged")
        .secret("metrics-test-secret-0123456789")
        .connect(broker.clone())
        .await
        .expect("connected");
    assert!(gauge("livestar_backplane_connected", &[]) >= 1.0);
    let forged_payload = "ls1\n0000000000000001\nh:hub\nr\n1:revent: datastar-patch-elements\n\
                          data: elements <script>alert(1)</script>\n\n";
    broker
        .publish("metrics-forged", &[Bytes::from(forged_payload)])
        .await
        .expect("published");
    until("the forged message", || backplane.forged() == 1).await;
    assert_eq!(
        counter("livestar_backplane_messages_total", &forged) - before,
        1
    );
}

#[tokio::test]
async fn bytes_are_counted_as_sent_after_compression() {
    snapshotter();
    let zstd = [("encoding", "zstd")];
    let before = counter("livestar_sse_bytes_total", &zstd);
    let page = "<ul id=\"list\">".to_owned() + &"<li>the same item</li>".repeat(200) + "</ul>";
    let router: Router = Router::new().route(
        "/metrics/bytes",
        axum::routing::get(move |headers: http::HeaderMap| {
            let page = page.clone();
            async move {
                let accept = livestar::compress::AcceptEncoding::from_headers(&headers);
                let events = (0..3)
                    .map(move |_| Event::patch_elements(Html::from_trusted(page.clone())).into());
                livestar::stream(futures::stream::iter(events.collect::<Vec<Event>>()))
                    .compress(&accept)
            }
        }),
    );
    let request = http::Request::get("/metrics/bytes")
        .header("accept-encoding", "zstd")
        .body(axum::body::Body::empty())
        .expect("request");
    let response = router.oneshot(request).await.expect("response");
    assert_eq!(response.headers()["content-encoding"], "zstd");
    let mut body = response.into_body().into_data_stream();
    let mut wire = 0;
    while let Some(chunk) = body.next().await {
        wire += chunk.expect("chunk").len() as u64;
    }
    let sent = counter("livestar_sse_bytes_total", &zstd) - before;
    assert_eq!(sent, wire);
    assert!(
        wire < 3 * 4400 / 4,
        "compressed: {wire} bytes for three 4 KiB views"
    );
}

#[tokio::test]
async fn the_routes_a_backplane_subscribed_are_a_gauge() {
    snapshotter();
    let backplane = Backplane::builder()
        .channel("metrics-routes")
        .secret("metrics-test-secret-0123456789")
        .connect(MemoryBroker::new())
        .await
        .expect("connected");
    let before = gauge("livestar_backplane_routes", &[]);
    let changed: Notifier<u32> = Notifier::with_backplane(&backplane, "todos");
    let subscriptions: Vec<_> = (0..3).map(|key| changed.subscribe(&key)).collect();
    backplane.settled().await;
    assert_eq!(gauge("livestar_backplane_routes", &[]) - before, 3.0);
    drop(subscriptions);
    backplane.settled().await;
    assert_eq!(gauge("livestar_backplane_routes", &[]), before);
    let again = changed.subscribe(&7);
    backplane.settled().await;
    // A backplane that goes away takes its routes with it.
    drop((again, changed, backplane));
    until("the routes of a dropped backplane", || {
        gauge("livestar_backplane_routes", &[]) == before
    })
    .await;
}
