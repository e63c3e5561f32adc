use livestar::html;

fn main() {
    let _ = html! { <input data-on:keydown__debounce.500ms.leadin="@get('/search')"> };
}
