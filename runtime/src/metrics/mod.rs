//! What livestar counts, through the [`metrics`](https://docs.rs/metrics) facade: install any
//! recorder (Prometheus, StatsD, OpenTelemetry...) and these figures appear in it.
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `livestar_live_streams` | gauge | `route` | live-view connections streaming now |
//! | `livestar_live_loads_total` | counter | `route` | load-function calls: one per connection (or shared key) on connect, one per coalesced burst of wake-ups |
//! | `livestar_live_renders_total` | counter | `route` | renders that produced a new patch (the first view, and each reload whose HTML changed) |
//! | `livestar_live_renders_skipped_total` | counter | `route` | reloads whose HTML was identical to the last patch: nothing sent |
//! | `livestar_live_wakeups_coalesced_total` | counter | `route` | wake-ups folded into a reload that another wake-up caused (sources that queue: channels and streams; a `Notify` folds its own) |
//! | `livestar_live_load_errors_total` | counter | `route` | loads that returned `Err` (the first load's error is the response) or panicked |
//! | `livestar_live_render_seconds` | histogram | `route` | time the view took to render, in seconds: the first render of each connection and one in 8 after it (reading the clock on every render would cost a few percent of an update) |
//! | `livestar_sse_bytes_total` | counter | `encoding` (`zstd`, `br`, `gzip`, `identity`) | bytes of event-stream bodies, as sent: after compression |
//! | `livestar_compressors` | gauge | | stream compressors alive (see [`crate::compress`]) |
//! | `livestar_hub_clients` | gauge | | hub clients connected |
//! | `livestar_hub_sends_total` | counter | `target` (`room`, `session`) | sends to a room or a session, each counted once however many clients it reaches |
//! | `livestar_hub_slow_disconnects_total` | counter | | hub clients disconnected because they stopped reading |
//! | `livestar_backplane_messages_total` | counter | `direction` (`in`, `out`), `outcome` | `out`: `delivered` to the broker or `dropped` (outbox full); `in`: `delivered` to this process's listeners, `own` (this process's message, ignored), `dropped` (too large, malformed) or `forged` (no valid signature) |
//! | `livestar_backplane_connected` | gauge | | backplanes connected to their broker |
//! | `livestar_backplane_routes` | gauge | | routes (keys, rooms, sessions) the brokers deliver to this process, with interest routing |
//! | `livestar_backplane_heals_total` | counter | | heals: every view invalidated after a reconnection or a lost message |
//!
//! Labels stay few: `route` is a live view's path pattern as written in its attribute
//! (`"/boards/{board}/live"`), never a key, a parameter or a user.
//!
//! Install the recorder before the server takes its first connection: livestar registers
//! each figure once (per route, on its first connection) and keeps the handle, so a
//! connection or an update costs an atomic add, not a lookup. Without a recorder every figure
//! is a no-op. [`describe`] gives each one its help text and unit.
//!
//! ```
//! use livestar::prelude::*;
//!
//! #[live_view("/hello/live", view = |name: &String| Html::from_trusted(format!("<p id=\"hi\">{name}</p>")))]
//! async fn hello() -> String {
//!     "world".to_owned()
//! }
//!
//! # fn main() {
//! // In `main`, before serving: e.g. `metrics_exporter_prometheus::PrometheusBuilder`'s
//! // `install_recorder()`, then
//! livestar::metrics::describe();
//! let _router: axum::Router = hello::route();
//! # }
//! ```
//!
//! Alongside, `tracing` gets one span per live connection (`live_view`, with `route` and a
//! `connection` id) whose debug events carry each load's and render's duration, one span per
//! hub client (`hub_client`) and one per backplane task (`livestar_backplane`).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use futures::Stream;
use metrics::{Counter, Histogram};

use crate::compress::Encoding;

/// Live views streaming in this process (see [`crate::live::open_views`]).
pub(crate) static OPEN_VIEWS: AtomicUsize = AtomicUsize::new(0);
/// Invalidation subscriptions held by live views (see [`crate::live::open_subscriptions`]).
pub(crate) static OPEN_SUBSCRIPTIONS: AtomicUsize = AtomicUsize::new(0);

const LIVE_STREAMS: &str = "livestar_live_streams";
const LIVE_LOADS: &str = "livestar_live_loads_total";
const LIVE_RENDERS: &str = "livestar_live_renders_total";
const LIVE_RENDERS_SKIPPED: &str = "livestar_live_renders_skipped_total";
const LIVE_WAKEUPS_COALESCED: &str = "livestar_live_wakeups_coalesced_total";
const LIVE_LOAD_ERRORS: &str = "livestar_live_load_errors_total";
const LIVE_RENDER_SECONDS: &str = "livestar_live_render_seconds";
const SSE_BYTES: &str = "livestar_sse_bytes_total";
const COMPRESSORS: &str = "livestar_compressors";
const HUB_CLIENTS: &str = "livestar_hub_clients";
const HUB_SENDS: &str = "livestar_hub_sends_total";
const HUB_SLOW_DISCONNECTS: &str = "livestar_hub_slow_disconnects_total";
const BACKPLANE_MESSAGES: &str = "livestar_backplane_messages_total";
const BACKPLANE_CONNECTED: &str = "livestar_backplane_connected";
const BACKPLANE_HEALS: &str = "livestar_backplane_heals_total";
const BACKPLANE_ROUTES: &str = "livestar_backplane_routes";

/// Gives every livestar metric its unit and help text in the installed recorder (the
/// `# HELP` lines of a Prometheus scrape). Call it once, after installing the recorder.
///
/// ```
/// // Without a recorder it does nothing, and costs nothing.
/// livestar::metrics::describe();
/// ```
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

    describe_gauge!(
        LIVE_STREAMS,
        "Live-view connections streaming now, by route."
    );
    describe_counter!(LIVE_LOADS, "Load-function calls of live views, by route.");
    describe_counter!(
        LIVE_RENDERS,
        "Live-view renders that produced a new patch, by route."
    );
    describe_counter!(
        LIVE_RENDERS_SKIPPED,
        "Live-view reloads whose HTML was identical to the last patch, by route."
    );
    describe_counter!(
        LIVE_WAKEUPS_COALESCED,
        "Live-view wake-ups folded into a reload another wake-up caused, by route."
    );
    describe_counter!(
        LIVE_LOAD_ERRORS,
        "Live-view loads that returned an error or panicked, by route."
    );
    describe_histogram!(
        LIVE_RENDER_SECONDS,
        Unit::Seconds,
        "Time a live view took to render, by route."
    );
    describe_counter!(
        SSE_BYTES,
        Unit::Bytes,
        "Bytes of event-stream bodies as sent (after compression), by encoding."
    );
    describe_gauge!(COMPRESSORS, "Event-stream compressors alive.");
    describe_gauge!(HUB_CLIENTS, "Hub clients connected.");
    describe_counter!(HUB_SENDS, "Hub sends to a room or a session.");
    describe_counter!(
        HUB_SLOW_DISCONNECTS,
        "Hub clients disconnected because they stopped reading."
    );
    describe_counter!(
        BACKPLANE_MESSAGES,
        "Backplane messages, by direction and outcome."
    );
    describe_gauge!(BACKPLANE_CONNECTED, "Backplanes connected to their broker.");
    describe_gauge!(
        BACKPLANE_ROUTES,
        "Routes (keys, rooms, sessions) the brokers deliver to this process."
    );
    describe_counter!(
        BACKPLANE_HEALS,
        "Backplane heals: every view invalidated after a reconnection or lost message."
    );
}

/// Adds one to a count for as long as it lives.
pub(crate) struct Gauge(&'static AtomicUsize);

impl Gauge {
    pub(crate) fn new(counter: &'static AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Gauge(counter)
    }
}

impl Drop for Gauge {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The figures of one live view's route, registered on its first connection.
pub(crate) struct Route {
    streams: metrics::Gauge,
    pub(crate) loads: Counter,
    pub(crate) renders: Counter,
    pub(crate) skipped: Counter,
    pub(crate) coalesced: Counter,
    pub(crate) load_errors: Counter,
    pub(crate) render_seconds: Histogram,
}

/// The figures of the live view at `path` (its pattern, as written in its attribute).
pub(crate) fn route(path: &'static str) -> Arc<Route> {
    static ROUTES: Mutex<Option<HashMap<&'static str, Arc<Route>>>> = Mutex::new(None);
    let mut routes = ROUTES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    routes
        .get_or_insert_with(HashMap::new)
        .entry(path)
        .or_insert_with(|| {
            let labels = [("route", path)];
            Arc::new(Route {
                streams: metrics::gauge!(LIVE_STREAMS, &labels),
                loads: metrics::counter!(LIVE_LOADS, &labels),
                renders: metrics::counter!(LIVE_RENDERS, &labels),
                skipped: metrics::counter!(LIVE_RENDERS_SKIPPED, &labels),
                coalesced: metrics::counter!(LIVE_WAKEUPS_COALESCED, &labels),
                load_errors: metrics::counter!(LIVE_LOAD_ERRORS, &labels),
                render_seconds: metrics::histogram!(LIVE_RENDER_SECONDS, &labels),
            })
        })
        .clone()
}

/// One live-view connection streaming: counted in [`crate::live::open_views`] and in its
/// route's `livestar_live_streams` while it lives.
pub(crate) struct OpenView {
    _open: Gauge,
    route: Arc<Route>,
}

impl OpenView {
    pub(crate) fn new(route: Arc<Route>) -> Self {
        route.streams.increment(1.0);
        OpenView {
            _open: Gauge::new(&OPEN_VIEWS),
            route,
        }
    }
}

impl Drop for OpenView {
    fn drop(&mut self) {
        self.route.streams.decrement(1.0);
    }
}

/// A new id for a connection's span.
pub(crate) fn connection_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The counter of event-stream bytes sent with `encoding`.
pub(crate) fn sse_bytes(encoding: Encoding) -> Counter {
    const ENCODINGS: [Encoding; 4] = [
        Encoding::Identity,
        Encoding::Zstd,
        Encoding::Brotli,
        Encoding::Gzip,
    ];
    static COUNTERS: OnceLock<[Counter; 4]> = OnceLock::new();
    let counters = COUNTERS.get_or_init(|| {
        ENCODINGS.map(|encoding| metrics::counter!(SSE_BYTES, "encoding" => encoding.as_str()))
    });
    let index = match encoding {
        Encoding::Identity => 0,
        Encoding::Zstd => 1,
        Encoding::Brotli => 2,
        Encoding::Gzip => 3,
    };
    counters[index].clone()
}

/// The `livestar_compressors` gauge.
pub(crate) fn compressors() -> &'static metrics::Gauge {
    static GAUGE: OnceLock<metrics::Gauge> = OnceLock::new();
    GAUGE.get_or_init(|| metrics::gauge!(COMPRESSORS))
}

/// The figures of the hubs of the process.
pub(crate) struct Hub {
    pub(crate) clients: metrics::Gauge,
    pub(crate) room_sends: Counter,
    pub(crate) session_sends: Counter,
    pub(crate) slow_disconnects: Counter,
}

pub(crate) fn hub() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    HUB.get_or_init(|| Hub {
        clients: metrics::gauge!(HUB_CLIENTS),
        room_sends: metrics::counter!(HUB_SENDS, "target" => "room"),
        session_sends: metrics::counter!(HUB_SENDS, "target" => "session"),
        slow_disconnects: metrics::counter!(HUB_SLOW_DISCONNECTS),
    })
}

/// The figures of the backplanes of the process.
pub(crate) struct Backplane {
    pub(crate) out_delivered: Counter,
    pub(crate) out_dropped: Counter,
    pub(crate) in_delivered: Counter,
    pub(crate) in_own: Counter,
    pub(crate) in_dropped: Counter,
    pub(crate) in_forged: Counter,
    pub(crate) connected: metrics::Gauge,
    pub(crate) routes: metrics::Gauge,
    pub(crate) heals: Counter,
}

pub(crate) fn backplane() -> &'static Backplane {
    static BACKPLANE: OnceLock<Backplane> = OnceLock::new();
    BACKPLANE.get_or_init(|| {
        let message = |direction: &'static str, outcome: &'static str| {
            metrics::counter!(BACKPLANE_MESSAGES, "direction" => direction, "outcome" => outcome)
        };
        Backplane {
            out_delivered: message("out", "delivered"),
            out_dropped: message("out", "dropped"),
            in_delivered: message("in", "delivered"),
            in_own: message("in", "own"),
            in_dropped: message("in", "dropped"),
            in_forged: message("in", "forged"),
            connected: metrics::gauge!(BACKPLANE_CONNECTED),
            routes: metrics::gauge!(BACKPLANE_ROUTES),
            heals: metrics::counter!(BACKPLANE_HEALS),
        }
    })
}

pin_project_lite::pin_project! {
    /// A stream polled inside a `tracing` span: what it logs while it works carries the span's
    /// fields (a connection's route and id).
    pub(crate) struct InSpan<S> {
        #[pin]
        stream: S,
        span: tracing::Span,
    }
}

impl<S> InSpan<S> {
    pub(crate) fn new(stream: S, span: tracing::Span) -> Self {
        InSpan { stream, span }
    }
}

impl<S: Stream> Stream for InSpan<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let _entered = this.span.enter();
        this.stream.poll_next(cx)
    }
}
