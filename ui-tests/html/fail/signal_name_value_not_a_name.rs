use livestar::prelude::*;

fn main() {
    let _ = html! {
        <input data-bind="user-name">
        <div data-ref="my panel"></div>
    };
}
