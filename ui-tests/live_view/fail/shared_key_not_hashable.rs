use axum::extract::Path;
use livestar::prelude::*;

// A float is not `Eq + Hash`: it cannot name the key a render is shared by.
#[live_view("/charts/{scale}/live", view = chart, shared = scale)]
async fn charts(Path(scale): Path<f64>) -> f64 {
    scale
}

fn chart(scale: &f64) -> Html {
    Html::from_trusted(format!("<p id=\"scale\">{scale}</p>"))
}

fn main() {}
