use livestar::html;

fn main() {
    let _ = html! { <frobnicator>"hello"</frobnicator> };
}
