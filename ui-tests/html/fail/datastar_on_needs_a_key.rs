use livestar::html;

fn main() {
    let _ = html! { <button data-on="@post('/save')">"Save"</button> };
}
