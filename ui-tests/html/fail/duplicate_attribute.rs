use livestar::html;

fn main() {
    let _ = html! { <div class="a" id="x" class="b"></div> };
}
