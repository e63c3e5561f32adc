use livestar::prelude::*;

fn main() {
    let _ = html! {
        <button data-on:click="$count = $count-1">"-1"</button>
        <span data-show="$user-name"></span>
    };
}
