use livestar::prelude::*;

fn main() {
    let id = String::from("x'),alert(document.domain),('");
    let label: &str = "it's";
    let _ = html! {
        <button data-on:click={format!("@post('/t/{id}')")}>"x"</button>
        <span data-text={label}></span>
        <div data-show={id.clone()}></div>
    };
}
