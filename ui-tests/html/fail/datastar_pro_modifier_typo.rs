use livestar::html;

fn main() {
    let _ = html! { <div data-persist__sesion></div> };
}
