#[allow(unused_imports)]
use axum::extract::{Path, State};
use livestar::prelude::*;

#[derive(Clone)]
struct App;

fn list(items: &[String]) -> Html {
    Html::from_trusted(format!("<ul id=\"l\">{}</ul>", items.len()))
}

struct Session;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Session {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(_: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Session)
    }
}

#[live_view("/items/live", view = list)]
async fn items(_session: Session) -> Vec<String> {
    Vec::new()
}

fn main() {}
