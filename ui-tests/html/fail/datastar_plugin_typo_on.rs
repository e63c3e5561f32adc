use livestar::html;

fn main() {
    let _ = html! { <button data-onn:click="@post('/save')">"Save"</button> };
}
