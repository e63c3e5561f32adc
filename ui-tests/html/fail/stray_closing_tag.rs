use livestar::html;

fn main() {
    let _ = html! { "text" </div> };
}
