use livestar::prelude::*;

fn main() {
    let _ = html! {
        <input data-bind:userName>
        <span data-computed:total-2="$a + $b"></span>
    };
}
