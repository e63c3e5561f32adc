use livestar::html;

fn main() {
    let _ = html! { <button data-on-click="@post('/save')">"Save"</button> };
}
