use livestar::html;

fn main() {
    let _ = html! { <a data-on:click__prevent.now="@get('/x')">"x"</a> };
}
