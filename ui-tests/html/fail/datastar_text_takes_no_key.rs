use livestar::html;

fn main() {
    let _ = html! { <span data-text:count="$count"></span> };
}
