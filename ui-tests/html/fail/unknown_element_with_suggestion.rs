use livestar::html;

fn main() {
    let _ = html! { <dvi>"hello"</dvi> };
}
