use livestar::html;

fn main() {
    let _ = html! { <p>1 < 2</p> };
}
