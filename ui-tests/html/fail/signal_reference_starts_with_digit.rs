use livestar::prelude::*;

fn main() {
    let _ = html! {
        <span data-text="'Price: ' + $5"></span>
    };
}
