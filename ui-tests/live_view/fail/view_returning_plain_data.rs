#[allow(unused_imports)]
use axum::extract::{Path, State};
use livestar::prelude::*;

#[derive(Clone)]
struct App;

/// Data, not HTML: it does not implement `Render`.
struct Summary {
    count: usize,
}

fn summarise(items: &Vec<String>) -> Summary {
    Summary { count: items.len() }
}

#[live_view("/items/live", view = summarise)]
async fn items(State(_app): State<App>) -> Vec<String> {
    Vec::new()
}

fn main() {}
