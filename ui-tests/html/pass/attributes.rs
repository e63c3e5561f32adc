use livestar::prelude::*;

fn main() {
    let done = true;
    let hidden = false;
    let title: Option<String> = None;
    let label = Some("close \"now\"");
    let count = 42_u64;
    let html = html! {
        <input type="checkbox" checked={done} hidden={hidden} title={title} aria-label={label}
            value={count} "@click.odd"="raw name" disabled>
    };
    assert_eq!(
        html.as_str(),
        r#"<input type="checkbox" checked aria-label="close &quot;now&quot;" value="42" @click.odd="raw name" disabled>"#
    );
}
