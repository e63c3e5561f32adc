//! `@for` merges its body's opening and closing text across the loop's edges; these check
//! that the output is the same as writing every iteration in full, whatever the body does.

use livestar::prelude::*;

/// `continue` where the template cannot see it.
macro_rules! skip {
    () => {
        continue
    };
}

/// `break` where the template cannot see it.
macro_rules! stop {
    () => {
        break
    };
}

fn skipping(names: &[&str]) -> Html {
    html! { <ul> @for n in names { <li>{n}{ if n.len() > 1 { skip!() } }</li> } </ul> }
}

#[test]
fn continue_from_a_macro_in_the_last_iteration_keeps_multibyte_text_whole() {
    assert_eq!(
        skipping(&["a", "日本"]).as_str(),
        "<ul><li>a</li><li>日本</ul>"
    );
}

#[test]
fn continue_from_a_macro_keeps_the_next_iterations_opening_tag() {
    assert_eq!(
        skipping(&["a", "日本", "b"]).as_str(),
        "<ul><li>a</li><li>日本<li>b</li></ul>"
    );
}

#[test]
fn continue_before_anything_is_written_keeps_the_opening_tag() {
    let names = ["a", "", "b"];
    let html = html! { <p> @for n in names { <i>{ if n.is_empty() { skip!() } }{n}</i> } </p> };
    assert_eq!(html.as_str(), "<p><i>a</i><i><i>b</i></p>");
}

#[test]
fn break_from_a_macro_keeps_what_the_iteration_wrote() {
    let names = ["a", "日本", "b"];
    let html = html! { <ul> @for n in names { <li>{n}{ if n.len() > 1 { stop!() } }</li> } </ul> };
    assert_eq!(html.as_str(), "<ul><li>a</li><li>日本</ul>");
}

#[test]
fn break_before_anything_is_written_keeps_the_opening_tag() {
    let html = html! { <ol> @for n in [1, 2, 3] { <li>{ if n == 2 { stop!() } }{n}</li> } </ol> };
    assert_eq!(html.as_str(), "<ol><li>1</li><li></ol>");
}

#[test]
fn continue_leaving_an_inner_loop_keeps_the_outer_loop_exact() {
    let rows = [vec![1, 2], vec![], vec![3]];
    let html = html! {
        <table>
            @for row in &rows {
                <tr>
                    @for n in row { <td>{ if *n == 2 { skip!() } }{n}</td> }
                    { if row.is_empty() { skip!() } }
                </tr>
            }
        </table>
    };
    assert_eq!(
        html.as_str(),
        "<table><tr><td>1</td><td></tr><tr><tr><td>3</td></tr></table>"
    );
}

#[test]
// Without the parentheses the `match`'s braces would be read as the loop's body.
#[allow(unused_parens)]
fn continue_in_an_inner_loops_iterable_leaves_no_opening_behind() {
    let rows = [Some(vec![1]), None, Some(vec![2])];
    let html = html! {
        <div>
            @for row in &rows {
                <p>
                    @for n in (match row { Some(row) => row, None => skip!() }) { <b>{n}</b> }
                </p>
            }
        </div>
    };
    assert_eq!(
        html.as_str(),
        "<div><p><b>1</b></p><p><p><b>2</b></p></div>"
    );
}

#[test]
fn an_empty_loop_writes_no_opening() {
    let none: [u8; 0] = [];
    assert_eq!(
        html! { <ul> @for n in none { <li>{n}</li> } </ul> }.as_str(),
        "<ul></ul>"
    );
}

#[test]
fn a_loop_over_a_temporary_keeps_it_alive() {
    let words = "a b";
    let html =
        html! { <p> @for w in words.split(' ').collect::<Vec<_>>().iter() { <i>{w}</i> } </p> };
    assert_eq!(html.as_str(), "<p><i>a</i><i>b</i></p>");
}
