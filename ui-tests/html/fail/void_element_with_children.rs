use livestar::html;

fn main() {
    let _ = html! { <input>"text"</input> };
}
