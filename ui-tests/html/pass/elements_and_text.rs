use livestar::prelude::*;

fn main() {
    let name = "<Ann & Bob>";
    let page = html! {
        <!DOCTYPE html>
        <html>
            <body>
                <h1>Hello, world!</h1>
                <p>"Dear " {name} ", welcome."</p>
                <my-widget>"custom elements pass"</my-widget>
                <svg viewBox="0 0 10 10"><circle cx="5" cy="5" r="4"></circle></svg>
                <hr/>
                <img src="/a.png" alt="a">
            </body>
        </html>
    };
    assert_eq!(
        page.as_str(),
        "<!DOCTYPE html><html><body><h1>Hello, world!</h1>\
         <p>Dear &lt;Ann &amp; Bob&gt;, welcome.</p>\
         <my-widget>custom elements pass</my-widget>\
         <svg viewBox=\"0 0 10 10\"><circle cx=\"5\" cy=\"5\" r=\"4\"></circle></svg>\
         <hr><img src=\"/a.png\" alt=\"a\"></body></html>"
    );
}
