#[allow(unused_imports)]
use axum::extract::{Path, State};
use livestar::prelude::*;

#[derive(Clone)]
struct App;

fn list(items: &[String]) -> Html {
    Html::from_trusted(format!("<ul id=\"l\">{}</ul>", items.len()))
}

#[live_view("/items/live", view = list, compress = "off")]
async fn items(State(_app): State<App>) -> Vec<String> {
    Vec::new()
}

fn main() {}
