use livestar::html;

fn main() {
    let _ = html! {
        <section>
            <dvi data-onn:click="@get('/a')">"one"</dvi>
            <p class="a" class="b" data-on:click__prevnt="@get('/b')">"two"</p>
        </section>
    };
}
