use livestar::html;

fn main() {
    let _ = html! { <div data-class:font-bold__case.kebap="$bold"></div> };
}
