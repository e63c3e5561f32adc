use livestar::prelude::*;

fn main() {
    let _ = html! {
        <span data-text="$user."></span>
        <span data-text="$café"></span>
        <div data-signals="{total: $price * $qty-2}"></div>
    };
}
