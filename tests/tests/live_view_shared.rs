//! `#[live_view(.., shared = key)]`: the connections of one key share one load and render per
//! wake-up, and everything a live view promises still holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use http::StatusCode;
use livestar::invalidate::Notifier;
use livestar::prelude::*;
use livestar::testing::{TestClient, TestResponse};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);
/// From this version on a board is closed: its load answers 403.
const CLOSED: u32 = 100;

#[derive(Clone, Default)]
struct App {
    versions: Arc<Mutex<HashMap<String, u32>>>,
    loads: Arc<Mutex<HashMap<String, usize>>>,
    renders: Arc<Mutex<HashMap<String, usize>>>,
    changed: Notifier<String>,
}

impl App {
    fn bump(&self, board: &str) {
        *self
            .versions
            .lock()
            .expect("versions")
            .entry(board.to_owned())
            .or_default() += 1;
        self.changed.notify(&board.to_owned());
    }

    fn count(map: &Mutex<HashMap<String, usize>>, board: &str) -> usize {
        map.lock().expect("counts").get(board).copied().unwrap_or(0)
    }
}

struct Board {
    app: App,
    name: String,
    version: u32,
}

fn board_view(board: &Board) -> Html {
    *board
        .app
        .renders
        .lock()
        .expect("renders")
        .entry(board.name.clone())
        .or_default() += 1;
    Html::from_trusted(format!(
        "<p id=\"board\">{} v{}</p>",
        board.name, board.version
    ))
}

#[live_view(
    "/boards/{board}/live",
    shared = board,
    invalidate = [app.changed.subscribe(&board)],
    view = board_view
)]
async fn board(State(app): State<App>, Path(board): Path<String>) -> Result<Board, StatusCode> {
    if board == "missing" {
        return Err(StatusCode::NOT_FOUND);
    }
    *app.loads
        .lock()
        .expect("loads")
        .entry(board.clone())
        .or_default() += 1;
    let version = app
        .versions
        .lock()
        .expect("versions")
        .get(&board)
        .copied()
        .unwrap_or(0);
    if version >= CLOSED {
        return Err(StatusCode::FORBIDDEN);
    }
    Ok(Board {
        app,
        name: board,
        version,
    })
}

fn client(app: &App) -> TestClient {
    let router: Router = board::route().with_state(app.clone());
    TestClient::new(router)
}

async fn expect_patch(live: &mut TestResponse, wanted: &str) {
    let patch = timeout(WAIT, live.next_patch())
        .await
        .expect("a patch in time")
        .expect("the stream is open");
    assert_eq!(patch.elements().as_deref(), Some(wanted));
}

#[tokio::test]
async fn a_thousand_connections_on_three_keys_load_and_render_once_per_key_and_wakeup() {
    let app = App::default();
    let client = client(&app);
    let boards = ["a", "b", "c"];
    let mut connections = Vec::new();
    for n in 0..1000 {
        let name = boards[n % 3];
        let mut live = client
            .get(&format!("/boards/{name}/live"))
            .send()
            .await
            .expect("open");
        assert_eq!(live.status(), StatusCode::OK);
        expect_patch(&mut live, &format!("<p id=\"board\">{name} v0</p>")).await;
        connections.push((name, live));
    }
    for name in boards {
        assert_eq!(
            App::count(&app.loads, name),
            1,
            "loads of {name} on connect"
        );
        assert_eq!(
            App::count(&app.renders, name),
            1,
            "renders of {name} on connect"
        );
    }
    for round in 1..=50u32 {
        let name = boards[round as usize % 3];
        app.bump(name);
        let version = app.versions.lock().expect("versions")[name];
        for (_, live) in connections.iter_mut().filter(|(board, _)| *board == name) {
            expect_patch(live, &format!("<p id=\"board\">{name} v{version}</p>")).await;
        }
    }
    for name in boards {
        let wakeups = 1 + app.versions.lock().expect("versions")[name] as usize;
        assert_eq!(App::count(&app.loads, name), wakeups, "loads of {name}");
        assert_eq!(App::count(&app.renders, name), wakeups, "renders of {name}");
    }
    // Every subscription goes with the last connection of its key.
    assert_eq!(app.changed.subscriptions(), 3);
    drop(connections);
    timeout(WAIT, async {
        while app.changed.subscriptions() != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("subscriptions dropped");
    // A key whose connections all went loads afresh.
    let mut live = client.get("/boards/a/live").send().await.expect("open");
    let version = app.versions.lock().expect("versions")["a"];
    expect_patch(&mut live, &format!("<p id=\"board\">a v{version}</p>")).await;
    assert_eq!(App::count(&app.loads, "a"), 2 + version as usize);
}

#[tokio::test]
async fn an_identical_render_is_not_sent_and_a_current_tab_gets_no_first_patch() {
    let app = App::default();
    let client = client(&app);
    let mut first = client.get("/boards/x/live").send().await.expect("open");
    let patch = timeout(WAIT, first.next_patch())
        .await
        .expect("in time")
        .expect("open");
    let id = patch.id.clone().expect("a content id");
    // A notify without a change renders the same HTML: nothing is sent.
    app.changed.notify(&"x".to_owned());
    // A reconnecting tab that has the current view gets no patch, then the next change.
    let mut again = client
        .get("/boards/x/live")
        .last_event_id(&id)
        .send()
        .await
        .expect("open");
    app.bump("x");
    expect_patch(&mut first, "<p id=\"board\">x v1</p>").await;
    expect_patch(&mut again, "<p id=\"board\">x v1</p>").await;
}

#[tokio::test]
async fn an_err_from_the_first_load_is_each_connections_response() {
    let app = App::default();
    let client = client(&app);
    for _ in 0..3 {
        let live = client
            .get("/boards/missing/live")
            .send()
            .await
            .expect("answer");
        assert_eq!(live.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(app.changed.subscriptions(), 0);
}

#[tokio::test]
async fn a_reload_refused_with_403_ends_every_connection_of_the_key() {
    let app = App::default();
    let client = client(&app);
    let mut tabs = Vec::new();
    for _ in 0..5 {
        let mut live = client.get("/boards/z/live").send().await.expect("open");
        expect_patch(&mut live, "<p id=\"board\">z v0</p>").await;
        tabs.push(live);
    }
    app.versions
        .lock()
        .expect("versions")
        .insert("z".to_owned(), CLOSED);
    app.changed.notify(&"z".to_owned());
    for live in &mut tabs {
        let ended = timeout(WAIT, async {
            while let Some(event) = live.next_event().await {
                assert!(
                    event.event.as_deref() != Some("datastar-patch-elements"),
                    "no view after the 403: {event:?}"
                );
            }
        })
        .await;
        assert!(ended.is_ok(), "every tab of the key ends");
    }
    // The key is gone: a new connection loads afresh, and is refused itself.
    let refused = client.get("/boards/z/live").send().await.expect("answer");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}
