use livestar::html;

fn main() {
    let _ = html! { <a href=>"home"</a> };
}
