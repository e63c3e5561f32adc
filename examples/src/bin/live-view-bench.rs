//! `#[live_view]` against the same live view written by hand on the runtime, twice: as the
//! plainest stream (a patch per wake-up), and with what the macro adds to every patch (a
//! content id, and no patch when the view is unchanged). The second is the same live view by
//! hand, so it measures what the macro itself costs (the target); the first adds the cost of
//! content ids, which the plainest stream does not compute.
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
//! A run is five processes, each measuring every side, and reports the median of their
//! ratios. For a profiler, `LIVE_VIEW_BENCH_CHILD=1` measures in the one process, `ONLY=path`
//! runs one side (`/generated/live`, `/hand/live`, `/hand-ids/live`), `CLIENT=frames` or
//! `CLIENT=testclient` one client, and `PROCESSES=n` changes the number of processes.
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
use livestar::event::{ContentId, Event, PatchElements};
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

/// By hand with what `#[live_view]` adds to each patch: a content id, and no patch when the
/// view is what was sent last.
async fn hand_written_with_ids(State(app): State<App>) -> LiveStream {
    let mut wakeups = app.changed.clone().into_invalidation();
    livestar::stream(async_stream::stream! {
        let mut last = None;
        loop {
            let html = todo_list(&app.load()).into_string();
            let id = ContentId::of(&html);
            if last != Some(id) {
                last = Some(id);
                yield PatchElements::from_html(html).content_id(id);
            }
            if wakeups.next().await.is_none() {
                break;
            }
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

/// The sides compared, by path: the generated view first.
const SIDES: [(&str, &str); 3] = [
    (generated::PATH, "#[live_view]"),
    ("/hand/live", "hand-written async_stream"),
    ("/hand-ids/live", "hand-written + content ids"),
];

/// The processes a run is made of, unless `PROCESSES` says otherwise.
const PROCESSES: usize = 5;

/// Set in the processes the bench starts; each one measures and reports.
const CHILD: &str = "LIVE_VIEW_BENCH_CHILD";

/// Runs the measurement in `PROCESSES` processes, one after the other, and reports the median
/// of their ratios. Each process has its own memory layout (address-space randomisation), and
/// layout alone moved a process's ratio by about ±1.5% on a 2-core VM; the median of several
/// processes is steadier than any one of them.
fn main() {
    if std::env::var_os(CHILD).is_some() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(measure());
        return;
    }
    let processes = std::env::var("PROCESSES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(PROCESSES)
        .max(1);
    let exe = std::env::current_exe().expect("the bench's own path");
    // (client, compared side) -> the ratio of each process.
    let mut ratios: Vec<((String, String), Vec<f64>)> = Vec::new();
    for process in 1..=processes {
        println!("--- process {process} of {processes} ---");
        let output = std::process::Command::new(&exe)
            .env(CHILD, "1")
            .output()
            .expect("the bench runs itself");
        assert!(
            output.status.success(),
            "process {process} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            match line.strip_prefix("result\t") {
                Some(result) => {
                    let mut fields = result.split('\t');
                    let (Some(client), Some(side), Some(Ok(ratio))) =
                        (fields.next(), fields.next(), fields.next().map(str::parse))
                    else {
                        panic!("a malformed result line: {line}");
                    };
                    let key = (client.to_owned(), side.to_owned());
                    match ratios.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, values)) => values.push(ratio),
                        None => ratios.push((key, vec![ratio])),
                    }
                }
                None => println!("{line}"),
            }
        }
    }
    println!("\n--- median of {processes} processes (each a median of paired samples) ---");
    for ((client, side), mut values) in ratios {
        values.sort_by(f64::total_cmp);
        let listed: Vec<String> = values.iter().map(|r| format!("{r:.3}")).collect();
        println!(
            "{client:<22} #[live_view] / {side:<28} {:.3}x  (processes: {})",
            values[values.len() / 2],
            listed.join(" ")
        );
    }
    println!(
        "\ntarget: #[live_view] <= 1.05x the same live view by hand (+ content ids), server \
         cost (frames); the plainest stream shows what content ids cost"
    );
}

/// One process's measurement: prints its tables, and a `result` line per ratio for the
/// process that started it.
async fn measure() {
    let app = App::new();
    let router = Router::new()
        .merge(generated::route())
        .route("/hand/live", axum::routing::get(hand_written))
        .route("/hand-ids/live", axum::routing::get(hand_written_with_ids))
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
    // `CLIENT=frames` (or `CLIENT=testclient`) runs one client alone, for profiling.
    let only_client = std::env::var("CLIENT").ok();
    for (client_name, client) in &clients {
        if only_client
            .as_deref()
            .is_some_and(|only| !client_name.to_lowercase().starts_with(only))
        {
            continue;
        }
        // Warm up every side, then interleave the samples so drift hits all alike; the order
        // within a round alternates, so no side always runs first or last.
        for (path, _) in SIDES {
            sample(client, &app, path).await;
        }
        let mut samples = vec![Vec::with_capacity(SAMPLES); SIDES.len()];
        for round in 0..SAMPLES {
            for side in 0..SIDES.len() {
                let side = if round % 2 == 0 {
                    side
                } else {
                    SIDES.len() - 1 - side
                };
                samples[side].push(sample(client, &app, SIDES[side].0).await);
            }
        }
        println!(
            "\n{:<28} {:>14} {:>14} {:>16}",
            format!("client: {client_name}"),
            "median",
            "fastest",
            "median/update"
        );
        for ((_, name), side) in SIDES.iter().zip(&samples) {
            let (median, fastest) = summary(side.clone());
            println!(
                "{name:<28} {:>12.1}us {:>12.1}us {:>14.2}us",
                median.as_secs_f64() * 1e6,
                fastest.as_secs_f64() * 1e6,
                median.as_secs_f64() * 1e6 / (changes() + 1) as f64
            );
        }
        for (other, (_, name)) in SIDES.iter().enumerate().skip(1) {
            let ratio = paired_ratio(&samples[0], &samples[other]);
            println!("ratio #[live_view] / {name}: {ratio:.3}x (median of paired samples)");
            let client = client_name.split(' ').next().unwrap_or(client_name);
            println!("result\t{client}\t{name}\t{ratio}");
        }
    }
}

/// The median of the ratios of samples taken in the same round: the figure least moved by
/// the machine speeding up or slowing down during the run.
fn paired_ratio(a: &[Duration], b: &[Duration]) -> f64 {
    let mut paired: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
        .collect();
    paired.sort_by(f64::total_cmp);
    paired[paired.len() / 2]
}
