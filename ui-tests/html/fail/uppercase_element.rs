use livestar::html;

fn main() {
    let _ = html! { <DIV>"hello"</DIV> };
}
