use livestar::html;

fn main() {
    let _ = html! { @let total = 1 + 2 <p>{total}</p> };
}
