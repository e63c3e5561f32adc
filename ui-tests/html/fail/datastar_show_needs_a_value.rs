use livestar::html;

fn main() {
    let _ = html! { <div data-show>"Loading"</div> };
}
