use axum::extract::Path;
use livestar::prelude::*;

#[action(delete, "/rooms/{room}/messages/{id}")]
async fn remove(Path((room, id)): Path<(String, u64)>) -> String {
    format!("{room}/{id}")
}

fn main() {
    let _ = remove::delete(7);
}
