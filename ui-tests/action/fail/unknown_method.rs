use livestar::prelude::*;

#[action(pots, "/todos")]
async fn add() -> &'static str {
    "added"
}

fn main() {}
