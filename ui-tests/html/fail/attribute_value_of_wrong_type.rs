use livestar::html;

fn main() {
    let ids = vec![1, 2];
    let _ = html! { <div id={ids}></div> };
}
