use livestar::html;

fn main() {
    let _ = html! { <p>{}</p> };
}
