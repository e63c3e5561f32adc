use livestar::html;

fn main() {
    let _ = html! { <form data-on:submit__prevnt="@post('/save')"></form> };
}
