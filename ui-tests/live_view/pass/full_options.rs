use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use livestar::live::Failure;
use livestar::prelude::*;
use tokio::sync::{Notify, broadcast, watch};

#[derive(Clone)]
struct App {
    changed: Arc<Notify>,
    news: broadcast::Sender<u32>,
    config: watch::Receiver<u8>,
}

fn list(items: &[String]) -> Html {
    Html::from_trusted(format!("<ul id=\"l\">{}</ul>", items.len()))
}

fn oops(_: &Failure) -> Html {
    Html::from_trusted("<ul id=\"l\">sorry</ul>".into())
}

#[live_view(
    "/boards/{board}/items/{item}/live",
    invalidate = [
        app.changed.clone(),
        app.news.subscribe(),
        app.config.clone(),
        futures::stream::iter([1, 2, 3]),
    ],
    view = list,
    heartbeat = 2m,
    selector = "#l",
    mode = inner,
    retry = 500ms,
    error_view = oops,
)]
async fn items(
    State(app): State<App>,
    Path((board, item)): Path<(u32, String)>,
) -> Result<Vec<String>, (StatusCode, String)> {
    let _ = app;
    Ok(vec![board.to_string(), item])
}

#[live_view("/clock/live", view = |t: &u64| Html::from_trusted(format!("<p id=\"t\">{t}</p>")), heartbeat = off)]
async fn clock() -> u64 {
    0
}

fn main() {
    let _: livestar::live::Action = items::get(1, "a b".to_owned());
    let _: &str = items::PATH;
    let _: axum::Router<App> = items::route();
    let _: axum::Router<()> = clock::route();
    let page = format!("<main data-init=\"{}\"></main>", clock::get().render().as_str());
    assert!(page.contains("/clock/live"));
}
