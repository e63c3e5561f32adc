//! `#[live_view]` against the same live view written by hand on the runtime.
//!
//! Each run connects in process, receives the initial render, then makes 100 changes, each
//! followed by an invalidation and the patch it causes. Run with
//! `cargo run --release -p livestar-examples --bin live-view-bench`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use futures::StreamExt;
use livestar::event::Event;
use livestar::invalidate::IntoInvalidation;
use livestar::prelude::*;
use livestar::render::escape_text;
use livestar::stream::LiveStream;
use livestar::testing::TestClient;
use tokio::sync::Notify;

const CHANGES: usize = 100;
const CONNECTIONS_PER_SAMPLE: usize = 20;
const SAMPLES: usize = 41;

#[derive(Clone)]
struct Todo {
    title: String,
    done: bool,
}

#[derive(Clone)]
struct App {
    todos: Arc<Mutex<Vec<Todo>>>,
    changed: Arc<Notify>,
}

impl App {
    fn new() -> Self {
        let todos = (0..50)
            .map(|n| Todo {
                title: format!("Todo <{n}> & \"friends\""),
                done: n % 3 == 0,
            })
            .collect();
        App {
            todos: Arc::new(Mutex::new(todos)),
            changed: Arc::new(Notify::new()),
        }
    }

    fn load(&self) -> Vec<Todo> {
        self.todos
            .lock()
            .map(|todos| todos.clone())
            .unwrap_or_default()
    }

    fn change(&self, n: usize) {
        if let Ok(mut todos) = self.todos.lock() {
            let len = todos.len();
            let todo = &mut todos[n % len];
            todo.done = !todo.done;
            todo.title = format!("Todo {n}");
        }
        self.changed.notify_waiters();
    }
}

fn todo_list(todos: &[Todo]) -> Html {
    let mut html = String::with_capacity(64 * todos.len());
    html.push_str("<ul id=\"todos\">");
    for todo in todos {
        html.push_str(if todo.done {
            "<li class=\"done\">"
        } else {
            "<li class=\"open\">"
        });
        escape_text(&todo.title, &mut html);
        html.push_str("</li>");
    }
    html.push_str("</ul>");
    Html::from_trusted(html)
}

#[live_view("/generated/live", invalidate = [app.changed.clone()], view = todo_list)]
async fn generated(State(app): State<App>) -> Vec<Todo> {
    app.load()
}

async fn hand_written(State(app): State<App>) -> LiveStream {
    let mut wakeups = app.changed.clone().into_invalidation();
    livestar::stream(async_stream::stream! {
        yield Event::patch_elements(todo_list(&app.load()));
        while wakeups.next().await.is_some() {
            yield Event::patch_elements(todo_list(&app.load()));
        }
    })
}

/// One connection: initial render, then `CHANGES` changes and their patches.
async fn session(client: &TestClient, app: &App, path: &str) {
    let Ok(mut live) = client.get(path).send().await else {
        panic!("{path}: no response");
    };
    assert!(
        live.next_patch().await.is_some(),
        "{path}: no initial patch"
    );
    let changes = std::env::var("CHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CHANGES);
    for n in 0..changes {
        app.change(n);
        assert!(live.next_patch().await.is_some(), "{path}: no patch");
    }
}

async fn sample(client: &TestClient, app: &App, path: &str) -> Duration {
    // `ONLY=/hand/live` (or the generated path) profiles one side alone.
    if std::env::var("ONLY").is_ok_and(|only| only != path) {
        return Duration::from_nanos(1);
    }
    let start = Instant::now();
    for _ in 0..CONNECTIONS_PER_SAMPLE {
        session(client, app, path).await;
    }
    start.elapsed() / CONNECTIONS_PER_SAMPLE as u32
}

/// The median and the fastest sample: on a shared machine the fastest is the least disturbed.
fn summary(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (samples[samples.len() / 2], samples[0])
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = App::new();
    let router = Router::new()
        .merge(generated::route())
        .route("/hand/live", axum::routing::get(hand_written))
        .with_state(app.clone());
    let client = TestClient::new(router);

    // Warm up both, then interleave the samples so drift hits both alike.
    sample(&client, &app, generated::PATH).await;
    sample(&client, &app, "/hand/live").await;
    let (mut macro_samples, mut hand_samples) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        macro_samples.push(sample(&client, &app, generated::PATH).await);
        hand_samples.push(sample(&client, &app, "/hand/live").await);
    }
    let (by_macro, by_hand) = (summary(macro_samples), summary(hand_samples));
    println!(
        "live view: connect + initial render + {CHANGES} invalidations, in process; \
         {SAMPLES} interleaved samples of {CONNECTIONS_PER_SAMPLE} connections"
    );
    println!(
        "{:<28} {:>14} {:>14} {:>16}",
        "per session", "median", "fastest", "median/update"
    );
    for (name, (median, fastest)) in [
        ("#[live_view]", by_macro),
        ("hand-written async_stream", by_hand),
    ] {
        println!(
            "{name:<28} {:>12.1}us {:>12.1}us {:>14.2}us",
            median.as_secs_f64() * 1e6,
            fastest.as_secs_f64() * 1e6,
            median.as_secs_f64() * 1e6 / (CHANGES + 1) as f64
        );
    }
    println!(
        "ratio #[live_view] / hand-written: median {:.3}x, fastest {:.3}x (target <= 1.05x)",
        by_macro.0.as_secs_f64() / by_hand.0.as_secs_f64(),
        by_macro.1.as_secs_f64() / by_hand.1.as_secs_f64()
    );
}
