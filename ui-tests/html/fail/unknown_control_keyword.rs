use livestar::html;

fn main() {
    let mut n = 3;
    let _ = html! { <ul> @while n > 0 { <li>{n}</li> } </ul> };
    n -= 1;
    let _ = n;
}
