//! Metrics: livestar's figures (see [`livestar::metrics`]) at `GET /metrics` in the
//! Prometheus text format, and a sampler that turns them into the dashboard's chart.
//!
//! The recorder is `metrics-exporter-prometheus`'s, installed by [`install`] when the demo
//! starts, before the first connection (livestar registers each figure once). The dashboard
//! reads the same text a scraper would: what the chart shows is what `/metrics` says.

use std::collections::VecDeque;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::http::header;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;

/// The seconds of history the dashboard's chart keeps, one point a second.
pub const HISTORY: usize = 60;

/// The Prometheus recorder of the process, installed on the first call. `None` when another
/// recorder was installed first (then `/metrics` answers 404).
///
/// ```
/// let first = livestar_examples::demo::metrics::install();
/// let again = livestar_examples::demo::metrics::install();
/// assert_eq!(first.is_some(), again.is_some());
/// ```
pub fn install() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("livestar_live_render_seconds".to_owned()),
                    &[
                        0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1,
                    ],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            match ::metrics::set_global_recorder(recorder) {
                Ok(()) => {
                    livestar::metrics::describe();
                    Some(handle)
                }
                Err(_) => {
                    tracing::warn!("demo: another metrics recorder is installed; /metrics is off");
                    None
                }
            }
        })
        .as_ref()
}

/// `GET /metrics`: every figure of the process in the Prometheus text format.
pub async fn scrape() -> axum::response::Response {
    match install() {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            handle.render(),
        )
            .into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// The sum of every sample of metric `name` (over all its labels) in a Prometheus text
/// exposition; 0 when it has none.
///
/// ```
/// use livestar_examples::demo::metrics::sum;
///
/// let text = "# TYPE livestar_live_streams gauge\n\
///             livestar_live_streams{route=\"/a\"} 2\n\
///             livestar_live_streams{route=\"/b\"} 3\n\
///             livestar_live_streams_other 9\n";
/// assert_eq!(sum(text, "livestar_live_streams"), 5.0);
/// assert_eq!(sum(text, "livestar_hub_clients"), 0.0);
/// ```
pub fn sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            if !(rest.starts_with('{') || rest.starts_with(' ')) {
                return None;
            }
            line.rsplit(' ').next()?.parse::<f64>().ok()
        })
        .sum()
}

/// One second of the process, as the dashboard's chart draws it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Point {
    /// Live-view renders that produced a patch, per second.
    pub renders_per_second: f64,
    /// Live-view streams open.
    pub streams: f64,
    /// Event-stream bytes sent (after compression), per second.
    pub bytes_per_second: f64,
}

/// The last [`HISTORY`] points, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Traffic {
    /// One a second.
    pub points: VecDeque<Point>,
}

impl Traffic {
    /// The latest point, or zeros before the first.
    ///
    /// ```
    /// use livestar_examples::demo::metrics::Traffic;
    ///
    /// assert_eq!(Traffic::default().latest().streams, 0.0);
    /// ```
    pub fn latest(&self) -> Point {
        self.points.back().copied().unwrap_or_default()
    }
}

/// The running totals a point is computed from.
#[derive(Clone, Copy)]
struct Totals {
    at: Instant,
    renders: f64,
    bytes: f64,
}

fn totals(text: &str) -> Totals {
    Totals {
        at: Instant::now(),
        renders: sum(text, "livestar_live_renders_total"),
        bytes: sum(text, "livestar_sse_bytes_total"),
    }
}

/// Starts the sampler: every second, reads the process's figures and pushes the chart's
/// history. Without a recorder the history stays empty.
pub fn spawn_sampler() -> watch::Receiver<Traffic> {
    let (tx, rx) = watch::channel(Traffic::default());
    let Some(handle) = install() else {
        return rx;
    };
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last: Option<Totals> = None;
        let mut traffic = Traffic::default();
        loop {
            every.tick().await;
            // Histograms are folded into their buckets here, not on every record.
            handle.run_upkeep();
            let text = handle.render();
            let now = totals(&text);
            if let Some(before) = last {
                let seconds = now.at.duration_since(before.at).as_secs_f64().max(0.001);
                if traffic.points.len() == HISTORY {
                    traffic.points.pop_front();
                }
                traffic.points.push_back(Point {
                    renders_per_second: (now.renders - before.renders).max(0.0) / seconds,
                    streams: sum(&text, "livestar_live_streams"),
                    bytes_per_second: (now.bytes - before.bytes).max(0.0) / seconds,
                });
                if tx.send(traffic.clone()).is_err() {
                    return;
                }
            }
            last = Some(now);
        }
    });
    rx
}
