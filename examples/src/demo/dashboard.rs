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
}
