use livestar::html;

fn main() {
    let _ = html! { <div data-on-interval__duration.fast="@get('/poll')"></div> };
}
