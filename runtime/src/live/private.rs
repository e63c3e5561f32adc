//! What `#[live_view]` expansions call. Not a public API: it changes with the macro.
#![allow(missing_docs)]

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

pub use axum::extract::{FromRequest, FromRequestParts};
use axum::response::{IntoResponse, Response};
use futures::Stream;

use super::runner::Runner;
use crate::invalidate::{IntoInvalidation, Invalidation};
use crate::metrics::OPEN_SUBSCRIPTIONS;
use crate::render::{Html, Render};
use crate::stream::Heartbeat;

pub use super::config::{Config, Connect};
pub use super::shared::{SharedKey, SharedViews};

pub use super::action::push_segment;
pub use axum::Router;
pub use axum::response::Response as HttpResponse;
pub use core::convert::Infallible as Never;

/// `Heartbeat::every(ms)` for the literal of the attribute.
pub fn heartbeat_millis(ms: u64) -> Heartbeat {
    Heartbeat::every(Duration::from_millis(ms))
}

/// Serves one connection of a live view.
pub async fn serve<T, E, L, Fut, V>(
    config: Config,
    connect: Connect,
    wakeups: Invalidation,
    load: L,
    view: V,
) -> Response
where
    L: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    E: IntoResponse,
    T: Send + 'static,
    V: Fn(&T, &mut String) + Send + Sync + 'static,
{
    if let Some(busy) = crate::stream::refusal() {
        return busy;
    }
    Runner::new(load, view, config)
        .serve(connect, wakeups)
        .await
}

/// Serves one connection of a live view whose state depends only on `key`: the connections
/// of one key share one load and render per wake-up (see the `shared` module of `live`).
#[allow(clippy::too_many_arguments)]
pub async fn serve_shared<K, T, E, L, Fut, V>(
    views: &'static SharedViews,
    key: K,
    config: Config,
    connect: Connect,
    wakeups: Invalidation,
    load: L,
    view: V,
) -> Response
where
    K: SharedKey,
    L: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    E: IntoResponse,
    T: Send + 'static,
    V: Fn(&T, &mut String) + Send + Sync + 'static,
{
    if let Some(busy) = crate::stream::refusal() {
        return busy;
    }
    super::shared::serve(views, key, config, connect, wakeups, load, view).await
}

/// The value of a `shared = key` expression, checked.
pub fn shared_key<K: SharedKey>(key: K) -> K {
    key
}

/// The wake-ups of every `invalidate` expression of one connection.
pub fn merge<const N: usize>(sources: [Invalidation; N]) -> Invalidation {
    if N == 0 {
        return Invalidation::never();
    }
    Invalidation::merge(sources)
}

/// One `invalidate` expression, on its way to an [`Invalidation`]. Method resolution picks
/// [`ViaIntoInvalidation`] when the value implements `IntoInvalidation`, else [`ViaStream`]
/// for any `Stream`, else [`ViaNothing`], whose bound reports the expression as not a source.
pub struct Source<T>(Cell<Option<T>>);

impl<T> Source<T> {
    pub fn new(value: T) -> Self {
        Source(Cell::new(Some(value)))
    }
}

pub trait ViaIntoInvalidation {
    fn livestar_invalidation(&self) -> Invalidation;
}

impl<T: IntoInvalidation> ViaIntoInvalidation for &Source<T> {
    fn livestar_invalidation(&self) -> Invalidation {
        self.0.take().map_or_else(Invalidation::never, |value| {
            value.into_invalidation().counted(&OPEN_SUBSCRIPTIONS)
        })
    }
}

pub trait ViaStream {
    fn livestar_invalidation(&self) -> Invalidation;
}

impl<T: Stream + Send + 'static> ViaStream for &&Source<T> {
    fn livestar_invalidation(&self) -> Invalidation {
        self.0.take().map_or_else(Invalidation::never, |value| {
            Invalidation::from_stream(value).counted(&OPEN_SUBSCRIPTIONS)
        })
    }
}

pub trait ViaNothing<T> {
    fn livestar_invalidation(&self) -> Invalidation
    where
        T: InvalidationSource;
}

impl<T> ViaNothing<T> for Source<T> {
    fn livestar_invalidation(&self) -> Invalidation
    where
        T: InvalidationSource,
    {
        Invalidation::never()
    }
}

/// Only for the error message of an `invalidate` expression that cannot wake a live view.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot wake a live view: it is not an invalidation source",
    label = "not an invalidation source",
    note = "`invalidate = [...]` takes a `futures::Stream` of anything, a tokio `broadcast`, `watch` or `mpsc` receiver, an `Arc<tokio::sync::Notify>`, or any type implementing `livestar::invalidate::IntoInvalidation`"
)]
pub trait InvalidationSource {}

/// Checks that an extractor can be handed to the load function again on every wake-up.
#[diagnostic::on_unimplemented(
    message = "the live view argument `{Self}` must implement `Clone`",
    label = "a live view calls its load function again on every wake-up, with a clone of this argument",
    note = "derive `Clone` on the extractor, or extract something cloneable (for example `State<Arc<..>>`)"
)]
pub trait ReloadArgument: Clone + Send + Sync + 'static {}

impl<T: Clone + Send + Sync + 'static> ReloadArgument for T {}

/// Checks the error type of a `Result` returned by the load function.
#[diagnostic::on_unimplemented(
    message = "the load function's error type `{Self}` cannot become an HTTP response",
    label = "an `Err` of the first load is sent as the response, so it must implement `axum::response::IntoResponse`",
    note = "return `Result<T, E>` with `E: IntoResponse` (for example `(StatusCode, String)`), or implement `IntoResponse` for your error type"
)]
pub trait LoadError: IntoResponse {}

impl<E: IntoResponse> LoadError for E {}

/// The `Ok` and `Err` types of what a load function returns.
pub trait LoadResult {
    type Ok;
    type Err: LoadError;
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E: LoadError> LoadResult for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_result(self) -> Result<T, E> {
        self
    }
}

/// A load function that cannot fail.
pub fn infallible<T>(value: T) -> Result<T, Infallible> {
    Ok(value)
}

/// The router with `handler` at `path`.
pub fn route<H, T, S>(path: &str, handler: H) -> axum::Router<S>
where
    H: axum::handler::Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    axum::Router::new().route(path, axum::routing::get(handler))
}

/// The router with `handler` at `path` for `method`, as `#[action]` generates it.
pub fn action_route<H, T, S>(
    path: &str,
    method: crate::action::Method,
    handler: H,
) -> axum::Router<S>
where
    H: axum::handler::Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    use crate::action::Method;
    let method_router = match method {
        Method::Get => axum::routing::get(handler),
        Method::Post => axum::routing::post(handler),
        Method::Put => axum::routing::put(handler),
        Method::Patch => axum::routing::patch(handler),
        Method::Delete => axum::routing::delete(handler),
    };
    axum::Router::new().route(path, method_router)
}

/// The HTTP response of an expansion that failed to compile; never called at run time.
pub fn unreachable_response() -> Response {
    http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// Checks the error type of a `Result<T, E>` load function and turns an error into its
/// response at once, so a wrong error type is reported here only.
#[allow(clippy::result_large_err)] // the response is what the handler returns anyway
pub fn load_result<T, E: LoadError>(result: Result<T, E>) -> Result<T, Response> {
    result.map_err(IntoResponse::into_response)
}

/// Checks what a view returns.
#[diagnostic::on_unimplemented(
    message = "a live view's view must return `Html` (or another `livestar::render::Render`), not `{Self}`",
    label = "this view returns `{Self}`",
    note = "write the view as `fn view(state: &State) -> Html`"
)]
pub trait ViewOutput: Render {}

impl<T: Render> ViewOutput for T {}

/// What a view returned, written over the connection's buffer of the last render. The bound
/// is checked here, so a view of the wrong type is reported once, at the `view` option; a
/// `lazy_html!` renders into the buffer, an `Html` is handed over without a copy
/// ([`Render::render_replacing`]).
pub fn view_output<H: ViewOutput>(html: H, buf: &mut String) {
    html.render_replacing(buf)
}

/// What an `error_view` returns, as the `Html` the runtime sends.
pub fn error_view_output<H: ViewOutput>(html: H) -> Html {
    Html::from_trusted(html.render_owned())
}

/// A clone of an extractor (or of a binding of its pattern) for one more load.
pub fn reload_clone<T: ReloadArgument>(value: &T) -> T {
    value.clone()
}
