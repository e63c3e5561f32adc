use livestar::html;

fn main() {
    let _ = html! { <ul><li>"one"</ul> };
}
