//! The per-connection loop of a live view: load, render, skip what the client has, repeat on
//! wake-ups, survive failures.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::response::{IntoResponse, Response};
use futures::future::CatchUnwind;
use futures::stream::Fuse;
use futures::{FutureExt, Stream, StreamExt};
use http::StatusCode;
use pin_project_lite::pin_project;
use tracing::Instrument;

use super::config::{Config, Connect};
use crate::event::{ContentId, Event, PatchElements};
use crate::invalidate::Invalidation;
use crate::metrics::{InSpan, OpenView, Route};

/// At most this many wake-ups that are ready at once are folded into one reload; a source that
/// is always ready cannot keep the loop from rendering.
const MAX_COALESCED: usize = 65_536;

/// One render in this many is timed for `livestar_live_render_seconds` (the first of each
/// connection always).
const RENDER_SAMPLE: u8 = 8;

/// Why a reload after the first one produced no view. Passed to an `error_view`.
///
/// ```
/// use livestar::live::Failure;
/// use livestar::render::{Html, escape_text};
///
/// fn sorry(failure: &Failure) -> Html {
///     let mut text = String::new();
///     escape_text(&failure.to_string(), &mut text);
///     Html::from_trusted(format!("<ul id=\"todos\"><li class=\"error\">{text}</li></ul>"))
/// }
/// # let _ = sorry;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The load function returned `Err`; `status` is the status of that error as a response.
    Load {
        /// The status the error would have answered a request with.
        status: StatusCode,
    },
    /// The load function or the view panicked.
    Panic {
        /// The panic's message, when it was a string.
        message: String,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Load { status } => write!(f, "the load function failed ({status})"),
            Failure::Panic { message } => write!(f, "the live view panicked: {message}"),
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic without a message)".to_owned()
    }
}

/// `base` plus up to `base` again, so that tabs dropped together reconnect spread out.
pub(crate) fn jittered(base: Duration) -> Duration {
    // RandomState is seeded per instance from the OS: enough randomness for spreading
    // reconnects, without a dependency.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let base_ms = u64::try_from(base.as_millis()).unwrap_or(u64::MAX / 2);
    let extra = if base_ms == 0 {
        0
    } else {
        random % (base_ms + 1)
    };
    Duration::from_millis(base_ms.saturating_add(extra))
}

/// `base` plus `k / steps` of `base` again, `k` random from 0 to `steps`: spread like
/// [`jittered`], in a few values that connections can have in common.
pub(crate) fn jittered_in_steps(base: Duration, steps: u64) -> Duration {
    let step = base / u32::try_from(steps.max(1)).unwrap_or(u32::MAX);
    base + step * u32::try_from(fastrand::u64(0..=steps)).unwrap_or(0)
}

/// One connection's live view.
pub(crate) struct Runner<L, V> {
    load: L,
    view: V,
    config: Config,
    /// The content id and length of the last patch sent.
    last: Option<(ContentId, usize)>,
    /// A reload answered 401 or 403: the viewer may no longer see this view, and its stream
    /// ends.
    revoked: bool,
    /// What the view rendered last: the next render replaces it in place, so a view that
    /// writes into the buffer (`lazy_html!`) reuses its allocation from one render to the next.
    html: String,
    /// The figures of the route, registered on its first connection.
    metrics: Arc<Route>,
    /// The connection's span (`live_view`, with its route and id).
    span: tracing::Span,
    /// Renders since the last one timed for `livestar_live_render_seconds`.
    unsampled: u8,
}

impl<T, E, L, Fut, V> Runner<L, V>
where
    L: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    E: IntoResponse,
    T: Send + 'static,
    V: Fn(&T, &mut String) + Send + Sync + 'static,
{
    pub(crate) fn new(load: L, view: V, config: Config) -> Self {
        let span = tracing::debug_span!(
            "live_view",
            route = config.path,
            connection = crate::metrics::connection_id()
        );
        Runner {
            load,
            view,
            metrics: crate::metrics::route(config.path),
            config,
            last: None,
            revoked: false,
            html: String::new(),
            span,
            unsampled: 0,
        }
    }

    /// The figures of the route.
    pub(crate) fn metrics(&self) -> &Arc<Route> {
        &self.metrics
    }

    /// The connection's span.
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// When a load starts, if its duration is logged (the span is enabled).
    fn load_started(&self) -> Option<Instant> {
        self.metrics.loads.increment(1);
        (!self.span.is_disabled()).then(Instant::now)
    }

    /// Runs the first load: its state, or the response that ends the request.
    async fn first_load(&mut self) -> Result<T, Response> {
        let started = self.load_started();
        let loaded = AssertUnwindSafe((self.load)()).catch_unwind().await;
        log_load(started, &loaded);
        match loaded {
            Ok(Ok(state)) => Ok(state),
            Ok(Err(error)) => {
                self.metrics.load_errors.increment(1);
                Err(error.into_response())
            }
            Err(panic) => {
                self.metrics.load_errors.increment(1);
                tracing::error!(
                    live_view = self.config.path,
                    panic = %panic_message(&*panic),
                    "live view load panicked on connect"
                );
                Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
            }
        }
    }

    /// Renders `state` into `self.html`; `Err` with the failure when the view panicked.
    fn render(&mut self, state: &T) -> Result<(), Failure> {
        // Reading the clock twice costs a few percent of an update: the histogram takes one
        // render in RENDER_SAMPLE, the span's debug events (when enabled) every one.
        let sampled = self.unsampled == 0;
        self.unsampled = (self.unsampled + 1) % RENDER_SAMPLE;
        let started = (sampled || !self.span.is_disabled()).then(Instant::now);
        let (view, html) = (&self.view, &mut self.html);
        let rendered = std::panic::catch_unwind(AssertUnwindSafe(|| view(state, html)));
        if let Some(started) = started {
            let took = started.elapsed();
            if sampled {
                self.metrics.render_seconds.record(took);
            }
            tracing::debug!(
                render_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
                bytes = html.len(),
                "live view rendered"
            );
        }
        rendered.map_err(|panic| Failure::Panic {
            message: panic_message(&*panic),
        })
    }

    /// The patch of `self.html`, unless it is what was sent last.
    fn patch(&mut self) -> Option<Event> {
        let id = ContentId::of(&self.html);
        if self.last == Some((id, self.html.len())) {
            return None;
        }
        self.last = Some((id, self.html.len()));
        Some(self.encode(id))
    }

    fn encode(&self, id: ContentId) -> Event {
        #[cfg(debug_assertions)]
        crate::event::morph_check::log_once_per_route(
            self.config.path,
            &self.html,
            self.config.mode,
            self.config.selector.is_some(),
        );
        PatchElements::encode_live(&self.html, id, self.config.mode, self.config.selector)
    }

    /// Starts a reload after a wake-up; a panic in the load function is caught by the future.
    fn load(&mut self) -> (Loading<Fut>, Option<Instant>) {
        let started = self.load_started();
        (AssertUnwindSafe((self.load)()).catch_unwind(), started)
    }

    /// Renders what a reload loaded: the patch to send, if any.
    fn reloaded(
        &mut self,
        loaded: std::thread::Result<Result<T, E>>,
        started: Option<Instant>,
    ) -> Option<Event> {
        log_load(started, &loaded);
        let failure = match loaded {
            Ok(Ok(state)) => match self.render(&state) {
                Ok(()) => {
                    let patch = self.patch();
                    if patch.is_some() {
                        self.metrics.renders.increment(1);
                    } else {
                        self.metrics.skipped.increment(1);
                    }
                    return patch;
                }
                Err(failure) => failure,
            },
            Ok(Err(error)) => {
                self.metrics.load_errors.increment(1);
                let status = error.into_response().status();
                if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                    tracing::info!(
                        live_view = self.config.path,
                        %status,
                        "live view reload refused; ending the stream"
                    );
                    self.revoked = true;
                    return None;
                }
                Failure::Load { status }
            }
            Err(panic) => {
                self.metrics.load_errors.increment(1);
                Failure::Panic {
                    message: panic_message(&*panic),
                }
            }
        };
        self.failed(failure)
    }

    /// Reports a failed reload and sends the error view, if there is one. Out of line: the
    /// loop that runs on every wake-up stays small.
    #[cold]
    #[inline(never)]
    fn failed(&mut self, failure: Failure) -> Option<Event> {
        tracing::error!(
            live_view = self.config.path,
            %failure,
            "live view reload failed; keeping the last view and retrying on the next wake-up"
        );
        let error_view = self.config.error_view?;
        match std::panic::catch_unwind(|| error_view(&failure)) {
            Ok(html) => {
                self.html = html.into_string();
                self.patch()
            }
            Err(panic) => {
                tracing::error!(
                    live_view = self.config.path,
                    panic = %panic_message(&*panic),
                    "live view error_view panicked"
                );
                None
            }
        }
    }

    /// The first load and render: the first patch and its content id, or the response that
    /// ends the request. What it sends is remembered as the last patch sent.
    pub(crate) async fn first_patch(&mut self) -> Result<(ContentId, Event), Response> {
        let state = self.first_load().await?;
        match self.render(&state) {
            Ok(()) => {}
            Err(failure) => {
                tracing::error!(live_view = self.config.path, %failure, "live view failed on connect");
                return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
            }
        };
        drop(state);
        self.metrics.renders.increment(1);
        let id = ContentId::of(&self.html);
        self.last = Some((id, self.html.len()));
        Ok((id, self.encode(id)))
    }

    /// The whole response of one connection.
    pub(crate) async fn serve(mut self, connect: Connect, wakeups: Invalidation) -> Response {
        let span = self.span.clone();
        let (id, patch) = match self.first_patch().instrument(span).await {
            Ok(first) => first,
            Err(response) => return response,
        };
        let page_has_it = connect.last_event_id.is_some_and(|last| id.matches(&last));
        let first = (!page_has_it).then_some(patch);
        let heartbeat = self.config.heartbeat.clone();
        let retry = jittered(self.config.retry);
        let compress = self.config.compress;
        let open = OpenView::new(self.metrics.clone());
        let span = self.span.clone();
        let live = crate::stream(InSpan::new(self.updates(first, wakeups), span))
            .heartbeat(heartbeat)
            .retry(retry)
            .owning(open);
        if compress {
            live.compress(&connect.accept).into_response()
        } else {
            live.into_response()
        }
    }

    /// The stream of `first`, then one patch per coalesced burst of `wakeups` that changed
    /// the view.
    pub(crate) fn updates(self, first: Option<Event>, wakeups: Invalidation) -> Updates<L, Fut, V> {
        Updates {
            first,
            drain: wakeups.queues(),
            // Fused: a source that ended is never polled again.
            wakeups: wakeups.fuse(),
            runner: self,
            loading: None,
            load_started: None,
        }
    }
}

/// Logs how long a load took, when its start was taken (the connection's span is enabled).
fn log_load<T, E>(started: Option<Instant>, loaded: &std::thread::Result<Result<T, E>>) {
    if let Some(started) = started {
        tracing::debug!(
            load_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            ok = matches!(loaded, Ok(Ok(_))),
            "live view loaded"
        );
    }
}

/// A reload in flight: the load function's future, with its panic caught.
type Loading<Fut> = CatchUnwind<AssertUnwindSafe<Fut>>;

pin_project! {
    /// The events of one connection: the first patch (unless the client has it), then one per
    /// coalesced burst of wake-ups that changed the view. The response body ends it on
    /// shutdown or disconnect; it ends itself when a reload answers 401 or 403.
    ///
    /// A stream of its own rather than `unfold` over an `async` block: the reload in flight
    /// stays in place, and nothing is moved or rebuilt between updates.
    pub(crate) struct Updates<L, Fut, V> {
        first: Option<Event>,
        runner: Runner<L, V>,
        wakeups: Fuse<Invalidation>,
        drain: bool,
        #[pin]
        loading: Option<Loading<Fut>>,
        load_started: Option<Instant>,
    }
}

impl<L, Fut, V> super::shared::LastSent for Updates<L, Fut, V> {
    fn last_sent(self: Pin<&mut Self>) -> Option<ContentId> {
        self.project().runner.last.map(|(id, _)| id)
    }
}

impl<T, E, L, Fut, V> Stream for Updates<L, Fut, V>
where
    L: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    E: IntoResponse,
    T: Send + 'static,
    V: Fn(&T, &mut String) + Send + Sync + 'static,
{
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut this = self.project();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(first));
        }
        loop {
            if let Some(loading) = this.loading.as_mut().as_pin_mut() {
                let loaded = ready!(loading.poll(cx));
                this.loading.set(None);
                if let Some(event) = this.runner.reloaded(loaded, this.load_started.take()) {
                    return Poll::Ready(Some(event));
                }
                if this.runner.revoked {
                    return Poll::Ready(None);
                }
            }
            match next_burst(this.wakeups, *this.drain, cx) {
                Poll::Ready(Some(wakeups)) => {
                    if wakeups > 1 {
                        this.runner.metrics.coalesced.increment(wakeups as u64 - 1);
                    }
                    let (loading, started) = this.runner.load();
                    this.loading.set(Some(loading));
                    *this.load_started = started;
                }
                // `None`: nothing can wake this view again. It stays open, with its
                // heartbeats, until the client goes away or the server shuts down.
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Waits for a wake-up and, when wake-ups can queue (`drain`), takes every one already
/// waiting with it: latest wins, so one reload covers the burst. A source whose wake-ups
/// collapse into a flag has nothing more to take. The number of wake-ups taken; `None` once
/// the source has ended without waking.
fn next_burst(
    wakeups: &mut (impl Stream<Item = ()> + Unpin),
    drain: bool,
    cx: &mut Context<'_>,
) -> Poll<Option<usize>> {
    if !drain {
        return wakeups.poll_next_unpin(cx).map(|woke| woke.map(|()| 1));
    }
    let mut woke = 0;
    // Bounded, so that a source that is always ready cannot keep the view from rendering.
    for _ in 0..MAX_COALESCED {
        match wakeups.poll_next_unpin(cx) {
            Poll::Ready(Some(())) => woke += 1,
            Poll::Ready(None) => return Poll::Ready((woke > 0).then_some(woke)),
            Poll::Pending => break,
        }
    }
    if woke > 0 {
        Poll::Ready(Some(woke))
    } else {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use futures::stream;

    use super::*;

    fn burst(wakeups: &mut (impl Stream<Item = ()> + Unpin)) -> Poll<Option<usize>> {
        next_burst(
            wakeups,
            true,
            &mut Context::from_waker(futures::task::noop_waker_ref()),
        )
    }

    #[test]
    fn a_flag_source_is_polled_once_per_wakeup() {
        let mut polls = 0;
        let mut wakeups = stream::poll_fn(|_| {
            polls += 1;
            Poll::Ready(Some(()))
        });
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        assert_eq!(
            next_burst(&mut wakeups, false, &mut cx),
            Poll::Ready(Some(1))
        );
        drop(wakeups);
        assert_eq!(polls, 1);
    }

    #[test]
    fn a_burst_takes_every_waiting_wakeup() {
        let mut wakeups = stream::iter([(), (), ()]).chain(stream::pending());
        assert_eq!(burst(&mut wakeups), Poll::Ready(Some(3)));
        assert_eq!(burst(&mut wakeups), Poll::Pending);
    }

    #[test]
    fn a_source_that_ends_after_waking_reloads_once_then_ends() {
        let mut wakeups = stream::iter([(), ()]).fuse();
        assert_eq!(burst(&mut wakeups), Poll::Ready(Some(2)));
        assert_eq!(burst(&mut wakeups), Poll::Ready(None));
    }

    #[test]
    fn a_source_that_is_always_ready_still_lets_the_view_render() {
        let mut wakeups = stream::repeat(());
        assert_eq!(burst(&mut wakeups), Poll::Ready(Some(MAX_COALESCED)));
    }

    #[test]
    fn the_view_renders_into_the_same_buffer_every_time() {
        use crate::render::{Lazy, Render};

        let view = |items: &usize, buf: &mut String| {
            Lazy(|b: &mut String| (0..*items).for_each(|_| b.push_str("<li>x</li>")))
                .render_replacing(buf)
        };
        let load = || futures::future::ready(Ok::<usize, std::convert::Infallible>(0));
        let mut runner = Runner::new(load, view, Config::new("/list"));
        assert!(runner.render(&100).is_ok());
        let buffer = (runner.html.as_ptr(), runner.html.capacity());
        for items in [3, 50, 0, 100, 99] {
            assert!(runner.render(&items).is_ok());
            assert_eq!(runner.html, "<li>x</li>".repeat(items));
            assert_eq!((runner.html.as_ptr(), runner.html.capacity()), buffer);
            let patch = runner.patch().expect("a changed view is sent");
            assert!(patch.as_str().contains(runner.html.as_str()));
        }
    }

    /// Counts the warnings logged while it is the thread's subscriber.
    struct CountWarnings(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl tracing::Subscriber for CountWarnings {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            if *event.metadata().level() == tracing::Level::WARN {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    #[test]
    #[cfg(debug_assertions)]
    fn a_patch_that_would_not_morph_is_logged_once_per_route() {
        let warnings = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let subscriber = CountWarnings(warnings.clone());
        tracing::subscriber::with_default(subscriber, || {
            let view = |html: &&'static str, buf: &mut String| {
                buf.clear();
                buf.push_str(html);
            };
            let load = || futures::future::ready(Ok::<_, std::convert::Infallible>(""));
            for route in ["/morph/a", "/morph/b"] {
                let mut runner = Runner::new(load, view, Config::new(route));
                for html in [
                    r#"<p id="x">1</p>"#,
                    "<p>2</p>",
                    "<p>3</p>",
                    r#"<p id="x">4</p>"#,
                ] {
                    assert!(runner.render(&html).is_ok());
                    assert!(runner.patch().is_some(), "the check only logs");
                }
            }
        });
        assert_eq!(warnings.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn jitter_stays_between_one_and_two_bases() {
        for _ in 0..100 {
            let retry = jittered(Duration::from_millis(1000));
            assert!(retry >= Duration::from_millis(1000) && retry <= Duration::from_millis(2000));
        }
    }

    #[test]
    fn jitter_spreads_reconnects() {
        let delays: std::collections::HashSet<_> =
            (0..20).map(|_| jittered(Duration::from_secs(1))).collect();
        assert!(delays.len() > 1);
    }
}
