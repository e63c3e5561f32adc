use livestar::prelude::*;

fn main() {
    let step = 2;
    let _ = html! {
        <button data-on:click={livestar::js!("$count = $count-{step}")}>"-"</button>
        <button data-on:click={livestar::js!("$total = $1 + {step}")}>"+"</button>
        <button data-on:click={livestar::js!("$picked = $items.{step}")}>"pick"</button>
    };
}
