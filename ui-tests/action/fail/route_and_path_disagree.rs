use axum::extract::Path;
use livestar::prelude::*;

#[action(post, "/todos/{id}/toggle")]
async fn toggle(Path((list, id)): Path<(String, u64)>) -> String {
    format!("{list}/{id}")
}

fn main() {}
