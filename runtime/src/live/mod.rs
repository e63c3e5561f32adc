//! Live views: `#[live_view]` and the runtime its expansions call.
//!
//! A live view is a current-state stream. On connect its **load function** runs and its
//! **view** of the result is sent; then, whenever one of its **invalidation sources** says
//! something changed, it loads and renders again and patches the page when the HTML differs.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use axum::{Router, extract::State, http::StatusCode};
//! use livestar::prelude::*;
//! use livestar::render::escape_text;
//! use tokio::sync::Notify;
//!
//! #[derive(Clone, Default)]
//! struct App {
//!     todos: Arc<Mutex<Vec<String>>>,
//!     changed: Arc<Notify>, // or a broadcast channel, a watch, any Stream...
//! }
//!
//! /// The todo list, kept live in every open tab.
//! #[live_view("/todos/live", invalidate = [app.changed.clone()], view = todo_list)]
//! async fn todos(State(app): State<App>) -> Result<Vec<String>, StatusCode> {
//!     app.todos.lock().map(|todos| todos.clone()).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
//! }
//!
//! fn todo_list(todos: &[String]) -> Html {
//!     let mut html = String::from(r#"<ul id="todos">"#);
//!     for todo in todos {
//!         html.push_str("<li>");
//!         escape_text(todo, &mut html);
//!         html.push_str("</li>");
//!     }
//!     html.push_str("</ul>");
//!     Html::from_trusted(html)
//! }
//!
//! /// The page that hosts it: `todos::get()` is checked by the compiler.
//! fn page() -> Html {
//!     Html::from_trusted(format!(
//!         r#"<main data-init="{}"><ul id="todos"></ul></main>"#,
//!         todos::get().render().as_str(),
//!     ))
//! }
//!
//! fn main() {
//!     let app = App::default();
//!     let router: Router = Router::new().merge(todos::route()).with_state(app.clone());
//!     // After a write, wake every tab showing the list:
//!     app.todos.lock().unwrap().push("milk".into());
//!     app.changed.notify_waiters();
//!     # let _ = (router, page());
//!     assert_eq!(todos::PATH, "/todos/live");
//! }
//! ```
//!
//! # The attribute
//!
//! `#[live_view("/path", option = value, ...)]` on an `async fn`:
//!
//! | option | value | default |
//! |---|---|---|
//! | (first) | the route, axum 0.8 syntax: `"/boards/{board}/live"` | required |
//! | `view` | a function of `&T` (`T` the load's `Ok` type; deref coercions apply, so `Vec<Todo>` renders with `fn(&[Todo])`) or a closure `\|t: &T\| ...`, returning `Html` or any `Render` | required |
//! | `invalidate` | `[expr, ...]`, evaluated once per connection with the extractors' bindings in scope; each a `Stream` of anything, a tokio `broadcast`/`watch`/`mpsc` receiver, an `Arc<Notify>`, or any [`IntoInvalidation`](crate::invalidate::IntoInvalidation) | `[]`: the view is sent once and stays open |
//! | `heartbeat` | `15s`, `500ms`, `2m` or `off` | `15s`, first one after one interval of silence |
//! | `selector` | a CSS selector string the patch targets | none: elements are matched by `id` |
//! | `mode` | `outer`, `inner`, `replace`, `prepend`, `append`, `before`, `after`, `remove` | `outer` |
//! | `retry` | the base reconnect delay sent as `retry:` (jittered up to twice as long) | `1s` |
//! | `error_view` | a function of `&`[`Failure`] returning `Html`, sent when a reload fails | none: keep the last view |
//! | `state` | the router state type of `route()`, when no `State<S>` argument names it | from `State<S>`, else generic |
//! | `compress` | `false` to send this route uncompressed whatever the client accepts (see [`crate::compress`]) | `true`: `zstd`, `br` or `gzip` as negotiated |
//! | `shared` | a key, evaluated per connection with the extractors' bindings in scope (`shared = user.0`, `shared = board`, `shared = ()` for one view of everyone): the connections of one key share one load and render (see [Shared live views](#shared-live-views)) | none: each connection loads and renders for itself |
//!
//! The function keeps axum's handler signature: every argument is an extractor (`State`,
//! `Path`, `Query`, [`ReadSignals`](crate::signals::ReadSignals), your auth extractor), so
//! authorization runs before anything is subscribed. The extractors are kept for the life of
//! the connection and the load function is called again with clones of their bindings (a
//! `Path(id)` is rebuilt as `Path(id.clone())`), so what they bind must be `Clone`.
//! Declare live views at module level: the generated module refers to the types in the
//! function's signature by their names in the enclosing module. The load function may return
//! `Result<T, E>` with `E: IntoResponse` (also through aliases such as `AppResult<T>`) or a
//! plain `T`.
//!
//! Beside the function (which stays callable as written) the macro generates a module of the
//! same name:
//! - `todos::PATH`: the route;
//! - `todos::get(..)`: the [`Action`] that opens the view, one typed argument per path
//!   parameter (`boards::get(7)` for `"/boards/{board}/live"` with `Path(board): Path<u32>`),
//!   so a link to a live view that does not exist, or with the wrong parameters, does not
//!   compile;
//! - `todos::route()`: an `axum::Router` serving the view at its path, to `merge`.
//!
//! Mistakes are compile errors that point at what to fix: a missing or malformed route, an
//! unknown option (with a suggestion), a bad duration, a view of the wrong type, an
//! `invalidate` expression that cannot wake a view, path parameters that do not match the
//! `Path` extractor, a load that is not `async` or returns nothing.
//!
//! # The rules
//!
//! Each is tested in `tests/tests/live_view_*.rs`.
//!
//! 1. **The first event is the current state.** A reconnecting tab needs no missed events:
//!    it loads what is true now.
//! 2. **An `Err` from the first load is the HTTP response**, so 401 and 404 stay real
//!    statuses, and no stream opens. The sources are subscribed just before that first load,
//!    after every extractor has run, so a change made while the first load runs is not lost.
//! 3. **Bursts coalesce.** At most one load+render is in flight per connection; every wake-up
//!    that arrives meanwhile is folded into one more, which reads the latest state. A thousand
//!    notifications in a few milliseconds cause at most two reloads.
//! 4. **Identical renders are not sent.** Each patch carries an `id` hashed from its HTML
//!    (a [`ContentId`](crate::event::ContentId), which hand-written streams can send too). A
//!    render identical to the last one sent sends nothing, and a reconnecting client whose
//!    `Last-Event-ID` equals the id of the current render gets no initial patch: its page is
//!    already current. The hash takes 40-60 ns per KiB of HTML (XXH3, measured on a 2-core
//!    AMD EPYC VM).
//! 5. **Failures keep the stream.** A later load `Err`, or a panic in the load or the view, is
//!    logged with `tracing` (target `livestar::live::runner`, field `live_view` = the route);
//!    the page keeps the last good view and the next wake-up tries again. One exception: a
//!    reload that answers `401` or `403` (the viewer signed out, or lost access) ends the
//!    stream, for every connection of the key of a shared view; a reconnect runs the
//!    extractors and the first load again, whose error is then the response. With
//!    `error_view = sorry` the page gets `sorry(&failure)` instead (and the good view again as
//!    soon as a reload succeeds):
//!    ```
//!    # use axum::extract::State;
//!    # use livestar::prelude::*;
//!    # use livestar::live::Failure;
//!    # #[derive(Clone)] struct App;
//!    # fn list(n: &u32) -> Html { Html::from_trusted(format!("<p id=\"n\">{n}</p>")) }
//!    fn sorry(failure: &Failure) -> Html {
//!        Html::from_trusted(r#"<p id="n" class="stale">Could not refresh, retrying…</p>"#.into())
//!    }
//!
//!    #[live_view("/count/live", view = list, error_view = sorry)]
//!    async fn count(State(_app): State<App>) -> Result<u32, axum::http::StatusCode> {
//!        Ok(1)
//!    }
//!    # fn main() {}
//!    ```
//! 6. **A disconnect drops everything at once**: the stream, its heartbeat timer and every
//!    subscription. [`open_views`] and [`open_subscriptions`] count what is alive; loads,
//!    renders, skipped renders, coalesced wake-ups and open streams per route are metrics
//!    (see [`crate::metrics`]), and each connection has a `tracing` span (`live_view`, with
//!    `route` and `connection`) whose debug events time its loads and renders.
//! 7. **Heartbeats** keep idle connections open through proxies: a comment after every 15 s
//!    of silence by default (`heartbeat = 500ms`, `heartbeat = off`).
//! 8. **Reconnects and deploys.** The Datastar client does not reconnect after a stream ends
//!    cleanly unless asked, and gives up after 10 failed tries. So `todos::get()` renders
//!    `@get('/todos/live', {retry: 'always', retryMaxCount: 1000})`; the first frame of every
//!    live view is a `retry:` of one to two times the `retry` option, random per connection,
//!    so that a restart does not make every tab reconnect in the same millisecond; and
//!    [`graceful`] ends every live view when the server shuts down, each at its own moment
//!    within [`DEFAULT_SHUTDOWN_SPREAD`] (choose another with [`graceful_within`]), so the tabs
//!    reconnect to the next instance spread out while axum drains:
//!    ```no_run
//!    # async fn run(router: axum::Router) -> std::io::Result<()> {
//!    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//!    let ctrl_c = async { let _ = tokio::signal::ctrl_c().await; };
//!    axum::serve(listener, router)
//!        .with_graceful_shutdown(livestar::live::graceful(ctrl_c))
//!        .await
//!    # }
//!    ```
//!
//! # Shared live views
//!
//! A live view whose state depends only on a key (a user, a board, a document, or nothing,
//! like a dashboard) says so with `shared = key`. All connections of one key in a process
//! then share one load and one render per wake-up, and receive the same encoded bytes: a
//! thousand tabs of one board cost one load per change, not a thousand.
//!
//! ```
//! # use axum::extract::{Path, State};
//! # use livestar::prelude::*;
//! # use livestar::invalidate::Notifier;
//! # #[derive(Clone, Default)] struct App { changed: Notifier<u32> }
//! # fn board_view(cards: &Vec<String>) -> Html { Html::from_trusted(format!("<ul id=\"cards\">{}</ul>", cards.len())) }
//! #[live_view(
//!     "/boards/{board}/live",
//!     shared = board,
//!     invalidate = [app.changed.subscribe(&board)],
//!     view = board_view,
//! )]
//! async fn board(State(app): State<App>, Path(board): Path<u32>) -> Vec<String> {
//!     vec![format!("card of board {board}")]
//! }
//! # fn main() {}
//! ```
//!
//! Each connection still runs every extractor first, so authorization happens per connection
//! before it joins its key. The first connection of a key runs the first load itself (its
//! `Err` is its response, and each connection waiting on that first load then loads for
//! itself); later connections get the key's current patch at once, or nothing when their
//! `Last-Event-ID` shows the page has it. The invalidation sources of the key's first
//! connection wake the key; those of the others are dropped at once, so a key holds one
//! subscription per `invalidate` expression however many connections it has, and they are
//! dropped with the key's last connection. Every other rule holds per key: coalescing,
//! identical renders not sent, failures keeping the last view. A connection that falls
//! behind gets the newest patch, never a backlog. The key must be `Hash + Eq + Clone + Send +
//! Sync + 'static`; the load must read nothing but the key from its extractors (a view that
//! depends on who is asking is not shared).
//!
//! # Testing
//!
//! [`crate::testing::TestClient`] connects to a live view without a browser, in process or
//! over TCP, and reads its events one by one:
//!
//! ```
//! # use livestar::prelude::*;
//! #[live_view("/hello/live", view = |name: &String| Html::from_trusted(format!("<p id=\"hi\">{name}</p>")))]
//! async fn hello() -> String {
//!     "world".to_owned()
//! }
//!
//! # fn main() {
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let client = livestar::testing::TestClient::new(hello::route());
//! let mut live = client.get(hello::PATH).send().await.unwrap();
//! let patch = live.next_patch().await.unwrap();
//! assert_eq!(patch.elements().as_deref(), Some("<p id=\"hi\">world</p>"));
//! # });
//! # }
//! ```

mod action;
mod config;
#[doc(hidden)]
pub mod private;
mod runner;
mod shared;

use std::sync::atomic::Ordering;

pub use crate::lifecycle::{
    DEFAULT_SHUTDOWN_SPREAD, graceful, graceful_within, is_shutting_down, shutdown, shutdown_within,
};
use crate::metrics::{OPEN_SUBSCRIPTIONS, OPEN_VIEWS};
pub use action::{Action, DEFAULT_RETRY_MAX_COUNT};
pub use runner::Failure;

/// The number of live views streaming in this process: connected and not yet gone.
///
/// ```
/// assert_eq!(livestar::live::open_views(), 0);
/// ```
pub fn open_views() -> usize {
    OPEN_VIEWS.load(Ordering::Relaxed)
}

/// The number of invalidation subscriptions held by live views in this process. Each
/// `invalidate` expression of a connected live view counts one; they are dropped with the
/// connection.
///
/// ```
/// assert_eq!(livestar::live::open_subscriptions(), 0);
/// ```
pub fn open_subscriptions() -> usize {
    OPEN_SUBSCRIPTIONS.load(Ordering::Relaxed)
}
