use livestar::html;

fn main() {
    let _ = html! { <input data-bind:query="query"> };
}
