//! `#[live_view]` against the same live view written by hand on the runtime.
//!
//! Each session connects in process, receives the initial render, then makes 100 changes,
//! each followed by an invalidation and the patch it causes. Two in-process clients drive the
//! sessions: one reads the response's frames as they come (what the server costs, and the
//! figure the target is about), and `livestar::testing::TestClient`, which also parses every
//! event into its fields (what a test pays).
//!
//! Run with `taskset -c 0 cargo run --release -p livestar-examples --bin live-view-bench`:
//! pinned to one core, the samples of a run agree within a few percent; unpinned, the
//! scheduler moving the process between cores adds more noise than the difference measured.
//!
//! The binary allocates with mimalloc. With glibc's allocator, allocation is ~40% of each
//! update and its free-list upkeep (`malloc_consolidate`, `unlink_chunk`) varies by several
//! percent with the order of allocations, which moved the ratio between 1.05x and 1.09x from
//! one build to the next while the code under test did not change.

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
use tower::ServiceExt;

const CHANGES: usize = 100;
const CONNECTIONS_PER_SAMPLE: usize = 20;
const SAMPLES: usize = 101;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// How a session reads its stream.
enum Client {
    /// The response body's frames, checked to be patches: the server's cost alone.
    Frames(Router),
    /// `TestClient`, which parses every event into its fields.
    Parsed(TestClient),
}

/// The number of changes per session (`CHANGES=10` for a quick look), read once: sessions
/// are timed, and reading the environment takes a lock.
fn changes() -> usize {
    static CHANGES_PER_SESSION: std::sync::LazyLock<usize> = std::sync::LazyLock::new(|| {
        std::env::var("CHANGES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(CHANGES)
    });
    *CHANGES_PER_SESSION
}

/// One connection: initial render, then `changes()` changes and their patches.
async fn session(client: &Client, app: &App, path: &str) {
    match client {
        Client::Frames(router) => {
            let request = http::Request::get(path)
                .body(axum::body::Body::empty())
                .expect("a valid request");
            let Ok(response) = router.clone().oneshot(request).await;
            let mut frames = response.into_body().into_data_stream();
            let mut next_patch = async || loop {
                match frames.next().await {
                    Some(Ok(frame)) if frame.starts_with(b"event: datastar-patch-elements") => {
                        return;
                    }
                    Some(Ok(_)) => {}
                    _ => panic!("{path}: the stream ended"),
                }
            };
            next_patch().await;
            for n in 0..changes() {
                app.change(n);
                next_patch().await;
            }
        }
        Client::Parsed(client) => {
            let Ok(mut live) = client.get(path).send().await else {
                panic!("{path}: no response");
            };
            assert!(
                live.next_patch().await.is_some(),
                "{path}: no initial patch"
            );
            for n in 0..changes() {
                app.change(n);
                assert!(live.next_patch().await.is_some(), "{path}: no patch");
            }
        }
    }
}

async fn sample(client: &Client, app: &App, path: &str) -> Duration {
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
    println!(
        "live view: connect + initial render + {} invalidations, in process; \
         {SAMPLES} interleaved samples of {CONNECTIONS_PER_SAMPLE} connections",
        changes()
    );
    let clients = [
        ("frames (server cost)", Client::Frames(router.clone())),
        (
            "TestClient (parses events)",
            Client::Parsed(TestClient::new(router)),
        ),
    ];
    for (client_name, client) in &clients {
        // Warm up both, then interleave the samples so drift hits both alike.
        sample(client, &app, generated::PATH).await;
        sample(client, &app, "/hand/live").await;
        let (mut macro_samples, mut hand_samples) = (Vec::new(), Vec::new());
        for _ in 0..SAMPLES {
            macro_samples.push(sample(client, &app, generated::PATH).await);
            hand_samples.push(sample(client, &app, "/hand/live").await);
        }
        // Each pair of samples ran back to back: the median of their ratios is the figure
        // least moved by the machine speeding up or slowing down during the run.
        let mut paired: Vec<f64> = macro_samples
            .iter()
            .zip(&hand_samples)
            .map(|(by_macro, by_hand)| by_macro.as_secs_f64() / by_hand.as_secs_f64())
            .collect();
        paired.sort_by(f64::total_cmp);
        let paired = paired[paired.len() / 2];
        let (by_macro, by_hand) = (summary(macro_samples), summary(hand_samples));
        println!(
            "\n{:<28} {:>14} {:>14} {:>16}",
            format!("client: {client_name}"),
            "median",
            "fastest",
            "median/update"
        );
        for (name, (median, fastest)) in [
            ("#[live_view]", by_macro),
            ("hand-written async_stream", by_hand),
        ] {
            println!(
                "{name:<28} {:>12.1}us {:>12.1}us {:>14.2}us",
                median.as_secs_f64() * 1e6,
                fastest.as_secs_f64() * 1e6,
                median.as_secs_f64() * 1e6 / (changes() + 1) as f64
            );
        }
        println!(
            "ratio #[live_view] / hand-written: {paired:.3}x (median of paired samples); \
             medians {:.3}x, fastest {:.3}x",
            by_macro.0.as_secs_f64() / by_hand.0.as_secs_f64(),
            by_macro.1.as_secs_f64() / by_hand.1.as_secs_f64()
        );
    }
    println!("\ntarget: #[live_view] <= 1.05x hand-written, server cost (frames)");
}
