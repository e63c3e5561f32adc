use livestar::html;

fn main() {
    let _ = html! { <div>"hello"</span> };
}
