use livestar::html;

fn main() {
    let _ = html! { <script>"document.write('</script>')"</script> };
}
