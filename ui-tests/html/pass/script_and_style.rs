use livestar::prelude::*;

fn main() {
    let trusted_js = "console.log('built by the app')";
    let html = html! {
        <head>
            <style>"a > b { color: red }"</style>
            <script type="module">"if (1 < 2 && true) {}"</script>
            <script>{Raw(trusted_js)}</script>
        </head>
    };
    assert_eq!(
        html.as_str(),
        "<head><style>a > b { color: red }</style>\
         <script type=\"module\">if (1 < 2 && true) {}</script>\
         <script>console.log('built by the app')</script></head>"
    );
}
