use axum::extract::{Path, State};
use livestar::action::ContentType;
use livestar::prelude::*;

#[derive(Clone)]
struct App;

#[action(post, "/boards/{board}/cards/{card}/move")]
async fn move_card(State(_app): State<App>, Path((board, card)): Path<(String, u32)>) -> String {
    format!("{board}/{card}")
}

#[action(get, "/search")]
async fn search() -> &'static str {
    "results"
}

fn main() {
    let page = html! {
        <button data-on:click={move_card::post("todo's", 3).content_type(ContentType::Form)}>"move"</button>
        <input data-on:input={search::get()}>
    };
    assert!(page.as_str().contains("/boards/todo%27s/cards/3/move"));
    let _router: axum::Router<App> = move_card::route().merge(search::route());
}
