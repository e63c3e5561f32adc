use livestar::html;

fn main() {
    let color = "red";
    let _ = html! { <style>"body { color: " {color} " }"</style> };
}
