use livestar::html;

fn main() {
    let user_name = "alert(1)";
    let _ = html! { <script>"const name = " {user_name}</script> };
}
