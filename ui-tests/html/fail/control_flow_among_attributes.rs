use livestar::html;

fn main() {
    let active = true;
    let _ = html! { <div @if active { class="active" }></div> };
}
