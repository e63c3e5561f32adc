//! The rules of `#[live_view]`, one per test, driven in process with `livestar::testing`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use livestar::live::Failure;
use livestar::prelude::*;
use livestar::render::escape_text;
use livestar::testing::{SseEvent, TestClient, TestResponse};
use tokio::sync::{Notify, broadcast};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

#[derive(Clone, Default)]
struct App {
    items: Arc<Mutex<Vec<String>>>,
    changed: Arc<Notify>,
    loads: Arc<AtomicUsize>,
    deny: Arc<AtomicBool>,
    fail: Arc<AtomicBool>,
    panic_in_load: Arc<AtomicBool>,
    panic_in_view: Arc<AtomicBool>,
    load_delay: Arc<Mutex<Duration>>,
}

impl App {
    fn add(&self, item: &str) {
        self.items.lock().expect("items").push(item.to_owned());
    }

    fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

#[derive(Debug)]
enum AppError {
    Unauthorized,
    Database,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "sign in first").into_response(),
            AppError::Database => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
}

#[live_view(
    "/items/live",
    invalidate = [app.changed.clone()],
    view = item_list,
    heartbeat = 500ms,
)]
async fn items(State(app): State<App>) -> Result<Vec<String>, AppError> {
    app.loads.fetch_add(1, Ordering::SeqCst);
    let delay = *app.load_delay.lock().expect("delay");
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if app.deny.load(Ordering::SeqCst) {
        return Err(AppError::Unauthorized);
    }
    if app.fail.load(Ordering::SeqCst) {
        return Err(AppError::Database);
    }
    assert!(!app.panic_in_load.load(Ordering::SeqCst), "load exploded");
    let mut items = app.items.lock().expect("items").clone();
    if app.panic_in_view.load(Ordering::SeqCst) {
        items.push("PANIC".to_owned());
    }
    Ok(items)
}

fn item_list(items: &[String]) -> Html {
    let mut html = String::from("<ul id=\"items\">");
    for item in items {
        assert!(item != "PANIC", "view exploded");
        html.push_str("<li>");
        escape_text(item, &mut html);
        html.push_str("</li>");
    }
    html.push_str("</ul>");
    Html::from_trusted(html)
}

#[live_view(
    "/items/errors",
    invalidate = [app.changed.clone()],
    view = item_list,
    error_view = sorry,
    heartbeat = off,
)]
async fn items_or_sorry(State(app): State<App>) -> Result<Vec<String>, AppError> {
    if app.fail.load(Ordering::SeqCst) {
        return Err(AppError::Database);
    }
    Ok(app.items.lock().expect("items").clone())
}

fn sorry(failure: &Failure) -> Html {
    let mut text = String::new();
    escape_text(&failure.to_string(), &mut text);
    Html::from_trusted(format!(
        "<ul id=\"items\"><li class=\"error\">{text}</li></ul>"
    ))
}

fn client(app: &App) -> TestClient {
    TestClient::new(
        Router::new()
            .merge(items::route())
            .merge(items_or_sorry::route())
            .with_state(app.clone()),
    )
}

async fn connect(client: &TestClient, path: &str) -> TestResponse {
    let live = timeout(WAIT, client.get(path).send())
        .await
        .expect("the response head in time")
        .expect("a response");
    assert_eq!(live.status(), StatusCode::OK);
    live
}

async fn next_patch(live: &mut TestResponse) -> SseEvent {
    timeout(WAIT, live.next_patch())
        .await
        .expect("a patch in time")
        .expect("the stream is still open")
}

/// The next event that is not a bare `retry:` hint.
async fn next_event(live: &mut TestResponse) -> SseEvent {
    loop {
        let event = timeout(WAIT, live.next_event())
            .await
            .expect("an event in time")
            .expect("the stream is still open");
        if !(event.event.is_none() && event.retry.is_some() && event.comments.is_empty()) {
            return event;
        }
    }
}

#[tokio::test]
async fn first_event_is_the_current_state() {
    let app = App::default();
    app.add("milk");
    let mut live = connect(&client(&app), "/items/live").await;
    let patch = next_patch(&mut live).await;
    assert_eq!(patch.event.as_deref(), Some("datastar-patch-elements"));
    assert_eq!(
        patch.elements().as_deref(),
        Some("<ul id=\"items\"><li>milk</li></ul>")
    );
}

#[tokio::test]
async fn reconnect_gets_current_state_first() {
    let app = App::default();
    let client = client(&app);
    let mut first = connect(&client, "/items/live").await;
    next_patch(&mut first).await;
    drop(first);
    app.add("eggs"); // changed while no tab was connected, and nobody was notified
    let mut again = connect(&client, "/items/live").await;
    let patch = next_patch(&mut again).await;
    assert_eq!(
        patch.elements().as_deref(),
        Some("<ul id=\"items\"><li>eggs</li></ul>")
    );
}

#[tokio::test]
async fn err_on_first_load_is_the_http_response() {
    let app = App::default();
    app.deny.store(true, Ordering::SeqCst);
    let response = client(&app)
        .get("/items/live")
        .send()
        .await
        .expect("a response");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_ne!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(response.text().await, "sign in first");
}

#[tokio::test]
async fn invalidation_sends_the_new_state() {
    let app = App::default();
    let mut live = connect(&client(&app), "/items/live").await;
    next_patch(&mut live).await;
    app.add("bread");
    app.changed.notify_waiters();
    let patch = next_patch(&mut live).await;
    assert_eq!(
        patch.elements().as_deref(),
        Some("<ul id=\"items\"><li>bread</li></ul>")
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn burst_of_1000_notifies_renders_at_most_twice() {
    let app = App::default();
    *app.load_delay.lock().expect("delay") = Duration::from_millis(5);
    let mut live = connect(&client(&app), "/items/live").await;
    next_patch(&mut live).await;
    assert_eq!(app.loads(), 1);

    // The client reads concurrently, as a browser does.
    let reader = tokio::spawn(async move {
        let mut patches = Vec::new();
        for _ in 0..1000 {
            let patch = next_patch(&mut live).await;
            let done = patch
                .elements()
                .is_some_and(|html| html.contains("<li>999</li>"));
            patches.push(patch);
            if done {
                break;
            }
        }
        patches
    });
    for n in 0..1000 {
        app.add(&n.to_string());
        app.changed.notify_waiters();
        if n % 10 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let patches = timeout(WAIT, reader)
        .await
        .expect("in time")
        .expect("reader");
    assert!(
        app.loads() - 1 <= 2,
        "{} loads after the first",
        app.loads() - 1
    );
    assert!(
        patches.len() <= 2,
        "{} patches after the first",
        patches.len()
    );
    let last = patches
        .last()
        .and_then(SseEvent::elements)
        .expect("a last patch");
    assert!(
        last.ends_with("<li>999</li></ul>"),
        "ends on the latest state"
    );
}

#[tokio::test(start_paused = true)]
async fn identical_render_is_not_sent() {
    let app = App::default();
    let mut live = connect(&client(&app), "/items/live").await;
    next_patch(&mut live).await;
    app.changed.notify_waiters(); // nothing changed
    let next = next_event(&mut live).await;
    assert!(next.is_comment(), "a heartbeat, not a patch: {next:?}");
    assert_eq!(app.loads(), 2, "the view was reloaded");
}

#[tokio::test]
async fn each_patch_carries_an_id_derived_from_its_content() {
    let app = App::default();
    let client = client(&app);
    let mut one = connect(&client, "/items/live").await;
    let mut two = connect(&client, "/items/live").await;
    let (a, b) = (next_patch(&mut one).await, next_patch(&mut two).await);
    assert_eq!(a.id, b.id, "same content, same id");
    assert_eq!(a.id.as_deref().map(str::len), Some(16));
    app.add("tea");
    app.changed.notify_waiters();
    let changed = next_patch(&mut one).await;
    assert_ne!(changed.id, a.id);
}

#[tokio::test(start_paused = true)]
async fn reconnect_with_the_current_id_gets_no_initial_patch() {
    let app = App::default();
    let client = client(&app);
    let mut first = connect(&client, "/items/live").await;
    let id = next_patch(&mut first).await.id.expect("an id");
    drop(first);
    let mut again = timeout(WAIT, client.get("/items/live").last_event_id(&id).send())
        .await
        .expect("in time")
        .expect("a response");
    let event = next_event(&mut again).await;
    assert!(event.is_comment(), "only the heartbeat: {event:?}");
    app.add("jam");
    app.changed.notify_waiters();
    let patch = next_patch(&mut again).await;
    assert!(patch.elements().is_some_and(|html| html.contains("jam")));
}

#[tokio::test]
async fn reconnect_with_a_stale_id_gets_the_current_state() {
    let app = App::default();
    let client = client(&app);
    let mut live = timeout(
        WAIT,
        client
            .get("/items/live")
            .last_event_id("0000000000000000")
            .send(),
    )
    .await
    .expect("in time")
    .expect("a response");
    let patch = next_patch(&mut live).await;
    assert_eq!(patch.elements().as_deref(), Some("<ul id=\"items\"></ul>"));
}

#[tokio::test(start_paused = true)]
async fn later_load_error_keeps_the_stream_and_the_last_view() {
    let app = App::default();
    let mut live = connect(&client(&app), "/items/live").await;
    next_patch(&mut live).await;
    app.fail.store(true, Ordering::SeqCst);
    app.add("lost");
    app.changed.notify_waiters();
    let event = next_event(&mut live).await;
    assert!(event.is_comment(), "nothing sent on error: {event:?}");
    app.fail.store(false, Ordering::SeqCst);
    app.changed.notify_waiters();
    let patch = next_patch(&mut live).await;
    assert!(
        patch.elements().is_some_and(|html| html.contains("lost")),
        "retried on the next wake-up"
    );
}

#[tokio::test(start_paused = true)]
async fn panic_in_load_keeps_the_stream() {
    let app = App::default();
    let mut live = connect(&client(&app), "/items/live").await;
    next_patch(&mut live).await;
    app.panic_in_load.store(true, Ordering::SeqCst);
    app.changed.notify_waiters();
    assert!(next_event(&mut live).await.is_comment());
    app.panic_in_load.store(false, Ordering::SeqCst);
    app.add("after");
    app.changed.notify_waiters();
    assert!(
        next_patch(&mut live)
            .await
            .elements()
            .is_some_and(|h| h.contains("after"))
    );
}

#[tokio::test(start_paused = true)]
async fn panic_in_view_keeps_the_stream() {
    let app = App::default();
    let mut live = connect(&client(&app), "/items/live").await;
    next_patch(&mut live).await;
    app.panic_in_view.store(true, Ordering::SeqCst);
    app.changed.notify_waiters();
    assert!(next_event(&mut live).await.is_comment());
    app.panic_in_view.store(false, Ordering::SeqCst);
    app.add("fixed");
    app.changed.notify_waiters();
    assert!(
        next_patch(&mut live)
            .await
            .elements()
            .is_some_and(|h| h.contains("fixed"))
    );
}

#[tokio::test]
async fn error_view_is_sent_when_set() {
    let app = App::default();
    let mut live = connect(&client(&app), "/items/errors").await;
    next_patch(&mut live).await;
    app.fail.store(true, Ordering::SeqCst);
    app.changed.notify_waiters();
    let patch = next_patch(&mut live).await;
    assert_eq!(
        patch.elements().as_deref(),
        Some(
            "<ul id=\"items\"><li class=\"error\">the load function failed (503 Service Unavailable)</li></ul>"
        )
    );
}

#[tokio::test]
async fn first_frame_is_a_jittered_retry_hint() {
    let app = App::default();
    let mut live = connect(&client(&app), "/items/live").await;
    let first = timeout(WAIT, live.next_event())
        .await
        .expect("in time")
        .expect("an event");
    let retry = first.retry.expect("a retry hint");
    assert!(
        (Duration::from_secs(1)..=Duration::from_secs(2)).contains(&retry),
        "{retry:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn heartbeat_follows_the_attribute() {
    let app = App::default();
    let mut live = connect(&client(&app), "/items/live").await;
    next_patch(&mut live).await;
    let start = tokio::time::Instant::now();
    let heartbeat = next_event(&mut live).await;
    assert_eq!(heartbeat.comments, ["heartbeat"]);
    assert_eq!(start.elapsed(), Duration::from_millis(500));
}

// --- options, typed links and sources ---

#[live_view("/rooms/{room}/live", view = room_view, selector = "#room", mode = inner)]
async fn room(Path(room): Path<u32>) -> String {
    format!("room {room}")
}

fn room_view(name: &str) -> Html {
    let mut html = String::new();
    escape_text(name, &mut html);
    Html::from_trusted(html)
}

#[tokio::test]
async fn path_parameters_reach_the_load_and_options_reach_the_patch() {
    let client = TestClient::new(room::route());
    let mut live = connect(&client, room::get(7).path()).await;
    let patch = next_patch(&mut live).await;
    assert_eq!(patch.elements().as_deref(), Some("room 7"));
    assert_eq!(patch.selector().as_deref(), Some("#room"));
    assert_eq!(patch.mode().as_deref(), Some("inner"));
}

#[test]
fn typed_link_renders_the_live_action() {
    assert_eq!(room::PATH, "/rooms/{room}/live");
    assert_eq!(
        room::get(42).to_string(),
        "@get('/rooms/42/live', {retry: 'always', retryMaxCount: 1000})"
    );
    // As `Render` (in an attribute) the quotes are escaped; the browser decodes them.
    assert_eq!(
        items::get().render().as_str(),
        "@get(&#39;/items/live&#39;, {retry: &#39;always&#39;, retryMaxCount: 1000})"
    );
}

#[derive(Clone)]
struct Feeds {
    news: broadcast::Sender<String>,
    ticks: Arc<Mutex<Option<futures::channel::mpsc::UnboundedReceiver<u8>>>>,
    count: Arc<AtomicUsize>,
}

#[live_view(
    "/feeds/live",
    invalidate = [
        feeds.news.subscribe(),
        feeds.ticks.lock().expect("ticks").take().unwrap_or_else(|| futures::channel::mpsc::unbounded().1),
    ],
    view = |n: &usize| Html::from_trusted(format!("<b id=\"n\">{n}</b>")),
)]
async fn feed(State(feeds): State<Feeds>) -> usize {
    feeds.count.fetch_add(1, Ordering::SeqCst) + 1
}

#[tokio::test]
async fn broadcast_receivers_and_bare_streams_both_wake_the_view() {
    let (news, _) = broadcast::channel(8);
    let (ticks_tx, ticks_rx) = futures::channel::mpsc::unbounded();
    let feeds = Feeds {
        news,
        ticks: Arc::new(Mutex::new(Some(ticks_rx))),
        count: Arc::default(),
    };
    let client = TestClient::new(feed::route().with_state(feeds.clone()));
    let mut live = connect(&client, feed::PATH).await;
    assert_eq!(
        next_patch(&mut live).await.elements().as_deref(),
        Some("<b id=\"n\">1</b>")
    );
    feeds.news.send("hello".into()).expect("a subscriber");
    assert_eq!(
        next_patch(&mut live).await.elements().as_deref(),
        Some("<b id=\"n\">2</b>")
    );
    ticks_tx.unbounded_send(1).expect("a subscriber");
    assert_eq!(
        next_patch(&mut live).await.elements().as_deref(),
        Some("<b id=\"n\">3</b>")
    );
}

#[derive(Clone, serde::Deserialize)]
struct Search {
    query: String,
}

#[live_view(
    "/search/live",
    view = |hits: &Vec<String>| Html::from_trusted(format!("<ul id=\"hits\">{}</ul>", hits.join(""))),
)]
async fn search(ReadSignals(search): ReadSignals<Search>) -> Vec<String> {
    ["milk", "mint", "bread"]
        .iter()
        .filter(|word| word.starts_with(&search.query))
        .map(|word| format!("<li>{word}</li>"))
        .collect()
}

#[tokio::test]
async fn signals_reach_the_load_function() {
    let client = TestClient::new(search::route());
    let request = client
        .get(search::PATH)
        .signals(&serde_json::json!({"query": "mi"}));
    let mut live = timeout(WAIT, request.send())
        .await
        .expect("in time")
        .expect("a response");
    assert_eq!(
        next_patch(&mut live).await.elements().as_deref(),
        Some("<ul id=\"hits\"><li>milk</li><li>mint</li></ul>")
    );
}

#[tokio::test]
async fn a_stream_opened_by_a_page_on_another_site_is_refused_before_its_load() {
    let app = App::default();
    let client = client(&app);
    let refused = timeout(
        WAIT,
        client
            .get("/items/live")
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .header("sec-fetch-mode", "cors")
            .send(),
    )
    .await
    .expect("in time")
    .expect("a response");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.loads(), 0, "no load for a refused stream");
    // The page's own client is served.
    let mut live = timeout(
        WAIT,
        client
            .get("/items/live")
            .header("sec-fetch-site", "same-origin")
            .header("sec-fetch-mode", "cors")
            .send(),
    )
    .await
    .expect("in time")
    .expect("a response");
    assert_eq!(live.status(), StatusCode::OK);
    next_patch(&mut live).await;
    assert_eq!(app.loads(), 1);
}

#[tokio::test]
async fn a_reload_refused_with_401_ends_the_stream_instead_of_keeping_the_last_view() {
    let app = App::default();
    app.add("eggs");
    let client = client(&app);
    let mut live = connect(&client, "/items/live").await;
    next_patch(&mut live).await;
    // The viewer signed out elsewhere, or lost access: the next reload says so.
    app.deny.store(true, Ordering::SeqCst);
    app.add("milk");
    app.changed.notify_waiters();
    let ended = timeout(WAIT, async {
        while let Some(event) = live.next_event().await {
            assert!(
                event.event.as_deref() != Some("datastar-patch-elements"),
                "no view is sent to a viewer who may not see it: {event:?}"
            );
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ends");
}
