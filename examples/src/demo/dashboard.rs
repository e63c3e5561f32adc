//! Dashboard: the two ways a page stays current, side by side.
//!
//! - **Push**: a background task ([`spawn_sampler`]) samples this process every second into
//!   a `tokio::sync::watch` channel. The [`dashboard_stats`] live view takes the channel's
//!   receiver as its invalidation source: each new sample wakes every open dashboard, which
//!   loads the latest numbers and is patched. Nobody polls; a burst of samples while a tab is
//!   slow is coalesced into one render of the latest.
//! - **Polling**: the status badge is fetched by the page itself, every two seconds, with
//!   Datastar's interval attribute: `data-on-interval__duration.2s={status::get()}`, a typed action.
//!   Each answer is one ordinary patch; no connection stays open. Good for numbers that are
//!   cheap to compute and fine to be a little late.
//!
//! - **Its own metrics**: [`traffic`] is a live view of livestar's figures as `/metrics`
//!   reports them (see [`super::metrics`]): renders and bytes per second and open streams
//!   over the last minute, drawn as inline SVG built with `html!`, with no chart library.
//!
//! The numbers are this process's own: with several demo processes, each tab shows the
//! process it is connected to.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use livestar::hub::Hub;
use livestar::prelude::*;
use tokio::sync::watch;

use super::metrics::Traffic;
use super::session::CurrentUser;
use super::{App, layout};

/// One sample of this process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Samples taken since start (one a second).
    pub tick: u64,
    /// The process id, which changes on restart.
    pub pid: u32,
    /// Live views streaming now (todo lists, this dashboard).
    pub live_views: usize,
    /// Hub clients connected now (chat and notification tabs).
    pub hub_clients: usize,
    /// A made-up load figure, in percent, so that something moves.
    pub load: u32,
}

/// Starts the sampler: a new [`Stats`] every second, for as long as the process runs.
pub fn spawn_sampler(hub: Hub) -> watch::Receiver<Stats> {
    let (tx, rx) = watch::channel(Stats {
        pid: std::process::id(),
        ..Stats::default()
    });
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut tick = 0;
        loop {
            every.tick().await;
            tick += 1;
            let stats = Stats {
                tick,
                pid: std::process::id(),
                live_views: livestar::live::open_views(),
                hub_clients: hub.clients(),
                load: fastrand::u32(20..95),
            };
            if tx.send(stats).is_err() {
                return;
            }
        }
    });
    rx
}

/// The latest sample, pushed to every open dashboard whenever the sampler takes a new one.
/// Everyone sees the same numbers (`shared = ()`): one render per sample, whatever the number
/// of open dashboards.
#[live_view(
    "/dashboard/live",
    shared = (),
    invalidate = [app.stats.clone()],
    view = stats_view
)]
pub async fn dashboard_stats(State(app): State<App>) -> Stats {
    app.stats.borrow().clone()
}

/// The numbers, as patched into the page.
pub fn stats_view(stats: &Stats) -> Html {
    html! {
        <div id="stats" class="stats">
            <div class="stat"><b id="tick">{stats.tick}</b>"samples"</div>
            <div class="stat"><b id="load">{stats.load} "%"</b>"load"</div>
            <div class="stat"><b id="live-views">{stats.live_views}</b>"live views"</div>
            <div class="stat"><b id="hub-clients">{stats.hub_clients}</b>"hub clients"</div>
        </div>
        <p id="pid" class="muted">"process " {stats.pid}</p>
    }
}

/// livestar's figures over the last minute, one point a second (see [`super::metrics`]).
/// Shared like the numbers above: one render a second for every open dashboard.
#[live_view(
    "/dashboard/traffic/live",
    shared = (),
    invalidate = [app.traffic.clone()],
    view = traffic_view
)]
pub async fn traffic(State(app): State<App>) -> Traffic {
    app.traffic.borrow().clone()
}

/// The chart: one sparkline per figure, each scaled to its own largest value, with the
/// latest value beside it.
pub fn traffic_view(traffic: &Traffic) -> Html {
    let latest = traffic.latest();
    let renders: Vec<f64> = traffic
        .points
        .iter()
        .map(|p| p.renders_per_second)
        .collect();
    let streams: Vec<f64> = traffic.points.iter().map(|p| p.streams).collect();
    let bytes: Vec<f64> = traffic.points.iter().map(|p| p.bytes_per_second).collect();
    html! {
        <div id="traffic" class="traffic">
            {sparkline("renders-chart", "renders / s", &renders, format!("{:.1}", latest.renders_per_second))}
            {sparkline("streams-chart", "open streams", &streams, format!("{}", latest.streams))}
            {sparkline("bytes-chart", "bytes / s sent", &bytes, format!("{:.0}", latest.bytes_per_second))}
        </div>
    }
}

/// The width and height of a sparkline, in SVG user units.
const CHART: (f64, f64) = (240.0, 48.0);

/// The `points` of a polyline through `values`, one x step per second of history, scaled so
/// the largest value touches the top.
fn polyline(values: &[f64]) -> String {
    let (width, height) = CHART;
    let top = values.iter().copied().fold(0.0_f64, f64::max).max(1.0);
    let step = width / (super::metrics::HISTORY.max(2) - 1) as f64;
    let offset = width - step * values.len().saturating_sub(1) as f64;
    let mut points = String::with_capacity(values.len() * 12);
    for (i, value) in values.iter().enumerate() {
        let x = offset + step * i as f64;
        let y = height - 2.0 - (value / top) * (height - 4.0);
        points.push_str(&format!("{x:.1},{y:.1} "));
    }
    points
}

fn sparkline(id: &str, label: &str, values: &[f64], latest: String) -> Html {
    let view_box = format!("0 0 {} {}", CHART.0, CHART.1);
    html! {
        <figure id={id} class="sparkline">
            <svg viewBox={view_box} width="240" height="48" role="img" aria-label={label}>
                <rect x="0" y="0" width="240" height="48" fill="none" stroke="#ddd"></rect>
                <polyline points={polyline(values)} fill="none" stroke="#4a6cf7" stroke-width="2"></polyline>
            </svg>
            <figcaption><b>{latest}</b> " " {label}</figcaption>
        </figure>
    }
}

static CHECKS: AtomicU64 = AtomicU64::new(0);

/// The polled status badge: one patch per request.
#[action(get, "/dashboard/status")]
async fn status(State(app): State<App>) -> Event {
    let check = CHECKS.fetch_add(1, Ordering::Relaxed) + 1;
    let degraded = app.stats.borrow().load > 85;
    let (class, label) = if degraded {
        ("pill status-degraded", "Degraded")
    } else {
        ("pill status-ok", "Operational")
    };
    Event::patch_elements(html! {
        <span id="status" class={class} data-check={check}>{label} " · check #" {check}</span>
    })
    .into()
}

async fn page(State(app): State<App>, user: Option<CurrentUser>) -> Html {
    let body = html! {
        <section class="card">
            <h1>"Dashboard"</h1>
            <p class="muted">"Pushed: the numbers below, by a background task waking a live view every second."</p>
            <div data-init={dashboard_stats::get()}>
                <div id="stats" class="stats"><p class="muted">"Loading…"</p></div>
                <p id="pid" class="muted"></p>
            </div>
        </section>
        <section class="card">
            <h2>"Traffic " <small class="muted">"(livestar's own metrics, as at /metrics)"</small></h2>
            <div data-init={traffic::get()}>
                <div id="traffic" class="traffic"><p class="muted">"Loading…"</p></div>
            </div>
        </section>
        <section class="card">
            <h2>"Status " <small class="muted">"(polled every 2 s)"</small></h2>
            <div data-init={status::get()}
                data-on-interval__duration.2s={status::get()}>
                <span id="status" class="pill">"checking…"</span>
            </div>
        </section>
    };
    layout::page("Dashboard", user.as_ref(), &app.assets, body)
}

/// `/dashboard` (the page), its live view and the polled status.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/dashboard", get(page))
        .merge(status::route())
        .merge(dashboard_stats::route())
        .merge(traffic::route())
}
