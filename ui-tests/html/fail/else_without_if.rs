use livestar::html;

fn main() {
    let _ = html! { <p>"a"</p> @else { <p>"b"</p> } };
}
