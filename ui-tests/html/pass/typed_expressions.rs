use livestar::action::{Action, Method};
use livestar::prelude::*;

fn main() {
    let step = 2;
    let name = "O'Brien";
    let html = html! {
        <button data-on:click="$count++">"+1"</button>
        <button data-on:click={Action::new(Method::Post, "/count")}>"save"</button>
        <button data-on:click={livestar::js!("$count += {step}")}>"+2"</button>
        <span data-text={livestar::js!("'Hi ' + {name}")}></span>
        <div data-init={livestar::live::Action::get("/count/live")}></div>
        <div data-show={Raw("$count > 0")}></div>
    };
    assert!(html.as_str().contains(r#"data-on:click="$count += 2""#));
    assert!(html.as_str().contains(r#"data-text="&#39;Hi &#39; + &quot;O&#39;Brien&quot;""#));
}
