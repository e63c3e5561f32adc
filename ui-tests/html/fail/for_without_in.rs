use livestar::html;

fn main() {
    let items = [1, 2];
    let _ = html! { <ul> @for items { <li>"x"</li> } </ul> };
    let _ = items;
}
