#[allow(unused_imports)]
use axum::extract::{Path, State};
use livestar::prelude::*;

#[derive(Clone)]
struct App;

fn list(items: &[String]) -> Html {
    Html::from_trusted(format!("<ul id=\"l\">{}</ul>", items.len()))
}

struct DbError;

#[live_view("/items/live", view = list)]
async fn items(State(_app): State<App>) -> Result<Vec<String>, DbError> {
    Err(DbError)
}

fn main() {}
