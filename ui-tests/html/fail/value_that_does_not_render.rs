use livestar::html;

#[allow(dead_code)]
struct User {
    name: String,
}

fn main() {
    let user = User { name: "ann".into() };
    let _ = html! { <p>{user}</p> };
}
