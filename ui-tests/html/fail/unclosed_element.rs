use livestar::html;

fn main() {
    let _ = html! { <main><p>"hello"</p> };
}
