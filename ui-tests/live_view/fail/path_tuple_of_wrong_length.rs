#[allow(unused_imports)]
use axum::extract::{Path, State};
use livestar::prelude::*;

#[derive(Clone)]
struct App;

fn list(items: &[String]) -> Html {
    Html::from_trusted(format!("<ul id=\"l\">{}</ul>", items.len()))
}

#[live_view("/boards/{board}/items/{item}/live", view = list)]
async fn items(Path((_board, _item, _extra)): Path<(u32, u32, u32)>) -> Vec<String> {
    Vec::new()
}

fn main() {}
