//! # livestar
//!
//! Live, server-rendered HTML views for [axum](https://docs.rs/axum) and the
//! [Datastar](https://data-star.dev) v1 client.
//!
//! ```
//! use livestar::prelude::*;
//!
//! let name = "<Ada>";
//! let patch: Event = Event::patch_elements(html! { <p id="greeting">"Hello, " {name}</p> }).into();
//! assert!(patch.as_str().ends_with("data: elements <p id=\"greeting\">Hello, &lt;Ada&gt;</p>\n\n"));
//! ```

// `deny`, not `forbid`: one small module, `render::spare`, allows unsafe code (see there).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod action;
pub mod compress;
pub mod event;
pub mod invalidate;
mod lifecycle;
pub mod metrics;
pub mod origin;
pub mod render;
pub mod response;
pub mod signals;
pub mod stream;

pub use stream::stream;

#[doc = include_str!("render/html_macro.md")]
pub use livestar_macros::html;
/// A Datastar expression with Rust values in it, for the cases a typed action does not cover:
/// `js!("$count += {step}")`. The literal is code; each `{name}` is a value in scope written as
/// a JavaScript literal (its JSON, with `<`, `>`, `&`, U+2028 and U+2029 escaped), so no value
/// can end its literal; `{{` and `}}` are braces. Returns a [`render::Js`], an
/// [`Expression`](render::Expression) for `html!`'s Datastar attributes.
///
/// A value goes where code goes: a `{name}` inside a JavaScript string, template-literal
/// text, a comment or a regular expression is a compile error (JSON escaping does not hold
/// there); join it instead (`'/t/' + {id}`, or `` `/t/${{{id}}}` `` in a template literal).
/// `$name` signal references are checked as in `html!`.
///
/// ```compile_fail
/// let id = "7";
/// let _ = livestar::js!("@post('/t/{id}')");
/// ```
///
/// ```
/// use livestar::prelude::*;
///
/// let label = "x'),alert(1),('";
/// let html = html! { <button data-on:click={livestar::js!("$label = {label}")}>"set"</button> };
/// assert_eq!(
///     html.as_str(),
///     r#"<button data-on:click="$label = &quot;x&#39;),alert(1),(&#39;&quot;">set</button>"#
/// );
/// ```
pub use livestar_macros::js;
#[doc = include_str!("render/lazy_html_macro.md")]
pub use livestar_macros::lazy_html;

pub mod live;
pub mod testing;
#[doc(hidden)]
pub use live::private as __private;
/// Makes an axum handler a typed Datastar action: `#[action(post, "/todos/{id}/toggle")]` on
/// `async fn toggle(..)` generates `toggle::post(id)`, the [`Action`](action::Action) that
/// calls it (each path parameter typed from the handler's `Path` extractor and
/// percent-encoded), `toggle::PATH`, and `toggle::route()`, the router that serves it. See
/// [`mod@action`].
///
/// ```
/// use axum::extract::{Path, State};
/// use livestar::prelude::*;
///
/// #[derive(Clone)]
/// struct App;
///
/// #[action(delete, "/rooms/{room}/messages/{id}")]
/// async fn remove(State(_app): State<App>, Path((room, id)): Path<(String, u64)>) -> String {
///     format!("removed {id} from {room}")
/// }
///
/// fn main() {
///     assert_eq!(remove::delete("a b", 7).to_string(), r#"@delete("/rooms/a%20b/messages/7")"#);
///     let _router: axum::Router<App> = remove::route();
/// }
/// ```
pub use livestar_macros::action;
/// Turns an async load function into a live axum endpoint: the current view on connect, a
/// fresh one whenever an invalidation source wakes it. The options, the generated
/// `PATH`/`get()`/`route()` items and every rule are documented in [`live`].
///
/// ```
/// use axum::extract::State;
/// use livestar::prelude::*;
///
/// #[derive(Clone)]
/// struct App { changed: std::sync::Arc<tokio::sync::Notify> }
///
/// #[live_view("/count/live", invalidate = [app.changed.clone()], view = show, heartbeat = 15s)]
/// async fn count(State(app): State<App>) -> usize {
///     std::sync::Arc::strong_count(&app.changed)
/// }
///
/// fn show(n: &usize) -> Html {
///     Html::from_trusted(format!(r#"<b id="count">{n}</b>"#))
/// }
///
/// fn main() {
///     let _router: axum::Router<App> = count::route();
///     assert!(count::get().to_string().starts_with("@get('/count/live'"));
/// }
/// ```
pub use livestar_macros::live_view;

pub mod backplane;
pub mod hub;

/// The items most apps use, in one import: `use livestar::prelude::*;`.
///
/// ```
/// use livestar::prelude::*;
///
/// fn badge(count: usize) -> Html {
///     html! { <span id="badge">{count}</span> }
/// }
/// assert_eq!(badge(3).as_str(), r#"<span id="badge">3</span>"#);
/// ```
pub mod prelude {
    pub use crate::action;
    pub use crate::event::{Event, Mode};
    pub use crate::html;
    pub use crate::hub::Hub;
    pub use crate::invalidate::Notifier;
    pub use crate::invalidate::{IntoInvalidation, Invalidation};
    pub use crate::lazy_html;
    pub use crate::live::Action;
    pub use crate::live_view;
    pub use crate::render::Raw;
    pub use crate::render::{Html, Render};
    pub use crate::signals::ReadSignals;
    pub use crate::stream::{Heartbeat, LiveStream};
}

/// Compiles the README's examples as doctests, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
