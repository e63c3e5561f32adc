//! A value followed by static text is written together with it (`Render::render_then`), and
//! static text after `@if`/`@match` goes to the end of each branch: the output is the same as
//! writing each piece on its own, whatever the value, the branch taken or an early exit.

use livestar::prelude::*;

macro_rules! skip {
    () => {
        continue
    };
}

#[test]
fn every_integer_width_is_written_with_the_text_after_it() {
    macro_rules! check {
        ($($ty:ty)*) => {$(
            for n in [<$ty>::MIN, <$ty>::MAX, 0 as $ty, 9 as $ty, 10 as $ty, 99 as $ty, 100 as $ty] {
                assert_eq!(html! { <td>{n}</td> }.as_str(), format!("<td>{n}</td>"));
                assert_eq!(html! { <td>{&n}"/"{Some(n)}</td> }.as_str(), format!("<td>{n}/{n}</td>"));
            }
        )*};
    }
    check!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize);
}

#[test]
fn strings_of_every_kind_are_escaped_before_the_text_after_them() {
    let long = "a<b & c>d ".repeat(10);
    for name in [
        "",
        "Ann",
        "Jiangsu <Suning>",
        "Beijing & Guoan",
        "日本 & 🚀",
        long.as_str(),
    ] {
        let expected = format!(
            "<b>{}</b>: ",
            name.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        );
        assert_eq!(html! { <b>{name}</b>": " }.as_str(), expected);
        assert_eq!(html! { <b>{name.to_owned()}</b>": " }.as_str(), expected);
        assert_eq!(html! { <b>{Some(name)}</b>": " }.as_str(), expected);
    }
    assert_eq!(html! { <b>{None::<&str>}</b> }.as_str(), "<b></b>");
}

#[test]
fn components_and_html_are_written_before_the_text_after_them() {
    let inner = html! { <i>"x"</i> };
    let lazy = lazy_html! { <u>{7}</u> };
    assert_eq!(
        html! { <p>{inner}</p><p>{lazy}</p> }.as_str(),
        "<p><i>x</i></p><p><u>7</u></p>"
    );
}

#[test]
fn text_after_an_if_without_else_is_written_when_the_condition_is_false() {
    for show in [true, false] {
        let html = html! { <p>@if show { "n=" {3} }"!"</p> };
        let expected = if show { "<p>n=3!</p>" } else { "<p>!</p>" };
        assert_eq!(html.as_str(), expected);
    }
}

#[test]
fn text_after_an_if_chain_follows_whichever_branch_ran() {
    for n in 0..3 {
        let html = html! {
            <p>
                @if n == 0 { {n} } @else if n == 1 { "one" } @else { <b>{n}</b>{n} }
                " end"
            </p>
        };
        let expected = ["<p>0 end</p>", "<p>one end</p>", "<p><b>2</b>2 end</p>"][n];
        assert_eq!(html.as_str(), expected);
    }
}

#[test]
fn text_after_a_match_follows_whichever_arm_ran() {
    for value in [Some(4), Some(40), None] {
        let html = html! {
            <p>
                @match value {
                    Some(n) if n > 10 => { "big " {n} }
                    Some(n) => { {n} }
                    None => { "none" }
                }
                "."
            </p>
        };
        let expected = match value {
            Some(40) => "<p>big 40.</p>",
            Some(_) => "<p>4.</p>",
            None => "<p>none.</p>",
        };
        assert_eq!(html.as_str(), expected);
    }
}

#[test]
fn text_after_nested_branches_reaches_the_innermost_value() {
    for (a, b) in [(true, true), (true, false), (false, true)] {
        let html = html! { <p>@if a { @if b { {1} } @else { {2} } } @else { "-" }"|"</p> };
        let expected = match (a, b) {
            (true, true) => "<p>1|</p>",
            (true, false) => "<p>2|</p>",
            _ => "<p>-|</p>",
        };
        assert_eq!(html.as_str(), expected);
    }
}

#[test]
fn a_branch_left_early_writes_none_of_the_text_after_it() {
    let items = [1, 20, 3];
    let html = html! {
        <ul>
            @for n in items {
                <li>@if n > 10 { "big " { if n == 20 { skip!() } }{n} } @else { {n} }</li>
            }
        </ul>
    };
    // The skipped iteration wrote `<li>big ` and nothing after it; the merged loop then
    // writes the next iteration's opening itself.
    assert_eq!(html.as_str(), "<ul><li>1</li><li>big <li>3</li></ul>");
}

#[test]
fn the_teams_page_renders_the_same_into_a_reused_buffer() {
    let teams = [
        ("Jiangsu <Suning>", 43u8),
        ("Beijing & Guoan", 27),
        ("Guangzhou", 22),
    ];
    let page = |year: u16| {
        lazy_html! {
            <ul>
                @for (i, (name, score)) in teams.iter().enumerate() {
                    @if i == 0 {
                        <li class="champion"><b>{name}</b>": " {score}</li>
                    } @else {
                        <li><b>{name}</b>": " {score}</li>
                    }
                }
            </ul>
            <p>{year}</p>
        }
    };
    let expected = "<ul><li class=\"champion\"><b>Jiangsu &lt;Suning&gt;</b>: 43</li>\
                    <li><b>Beijing &amp; Guoan</b>: 27</li><li><b>Guangzhou</b>: 22</li></ul>\
                    <p>2015</p>";
    let mut buf = String::new();
    for _ in 0..3 {
        page(2015).render_replacing(&mut buf);
        assert_eq!(buf, expected);
    }
    assert_eq!(page(2015).render().as_str(), expected);
}
