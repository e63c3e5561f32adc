use axum::extract::Path;
use livestar::prelude::*;

#[action(post, "/todos/{id}/toggle")]
async fn toggle(Path(id): Path<u64>) -> String {
    id.to_string()
}

fn main() {
    // The id is a number: a string, whatever it holds, is not a todo's id.
    let _ = toggle::post("7'); alert(1); ('");
}
