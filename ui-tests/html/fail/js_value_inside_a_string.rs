use livestar::prelude::*;

fn main() {
    let id = "x'),alert(1),('";
    let _ = html! {
        <button data-on:click={livestar::js!("@post('/t/{id}')")}>"x"</button>
        <button data-on:click={livestar::js!("@post(`/t/{id}`)")}>"y"</button>
        <button data-on:click={livestar::js!("$picked = {id} /* was {id} */")}>"z"</button>
    };
}
