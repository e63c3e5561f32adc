use livestar::html;

fn main() {
    let _ = html! { <p>"line"<br></br></p> };
}
