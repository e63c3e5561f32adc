use std::borrow::Cow;
use std::rc::Rc;
use std::sync::Arc;

use super::*;

fn rendered<T: Render + ?Sized>(value: &T) -> String {
    let mut buf = String::new();
    value.render_to(&mut buf);
    buf
}

#[test]
fn str_and_string_are_escaped_as_text() {
    assert_eq!(rendered("<i>"), "&lt;i&gt;");
    assert_eq!(rendered(&String::from("a&b")), "a&amp;b");
    assert_eq!(rendered(&Cow::Borrowed("<")), "&lt;");
}

#[test]
fn integers_render_as_decimal_digits() {
    assert_eq!(rendered(&0u8), "0");
    assert_eq!(rendered(&-42i32), "-42");
    assert_eq!(
        rendered(&u128::MAX),
        "340282366920938463463374607431768211455"
    );
    assert_eq!(rendered(&usize::MAX), usize::MAX.to_string());
    assert_eq!(rendered(&i64::MIN), i64::MIN.to_string());
}

#[test]
fn integers_at_every_digit_count_boundary_render_like_display() {
    for n in [
        0u64,
        9,
        10,
        99,
        100,
        999,
        1_000,
        9_999,
        10_000,
        123_456_789,
        u64::MAX,
    ] {
        assert_eq!(rendered(&n), n.to_string());
        let negative = -(n.min(i64::MAX as u64) as i64);
        assert_eq!(rendered(&negative), negative.to_string());
    }
}

#[test]
fn floats_render_as_display_writes_them() {
    assert_eq!(rendered(&1.5f64), "1.5");
}

#[test]
fn bool_renders_as_true_or_false() {
    assert_eq!(rendered(&true), "true");
    assert_eq!(rendered(&false), "false");
}

#[test]
fn char_is_escaped() {
    assert_eq!(rendered(&'<'), "&lt;");
}

#[test]
fn option_renders_nothing_for_none() {
    assert_eq!(rendered(&None::<&str>), "");
    assert_eq!(rendered(&Some("<")), "&lt;");
}

#[test]
fn sequences_render_every_item_in_order() {
    assert_eq!(rendered(&vec![1, 2, 3]), "123");
    assert_eq!(rendered(&["a", "<"]), "a&lt;");
    assert_eq!(rendered(&[1, 2][..]), "12");
}

#[test]
fn smart_pointers_and_references_render_their_target() {
    assert_eq!(rendered(&Box::new("<")), "&lt;");
    assert_eq!(rendered(&Rc::new(1)), "1");
    assert_eq!(rendered(&Arc::new("x")), "x");
    assert_eq!(rendered(&&&"y"), "y");
}

#[test]
fn raw_is_written_without_escaping() {
    assert_eq!(rendered(&Raw("<b>&</b>")), "<b>&</b>");
}

#[test]
fn html_is_copied_verbatim() {
    assert_eq!(rendered(&Html::from_trusted("<br>".into())), "<br>");
}

#[test]
fn format_arguments_are_escaped_as_they_are_written() {
    let who = "<you>";
    assert_eq!(rendered(&format_args!("hi {who}")), "hi &lt;you&gt;");
}

#[test]
fn each_renders_a_cloneable_iterator_every_time() {
    let items = each([1, 2].into_iter().map(|n| n * 10));
    assert_eq!(rendered(&items), "1020");
    assert_eq!(rendered(&items), "1020");
}

#[test]
fn lazy_calls_its_closure_with_the_callers_buffer() {
    let mut buf = String::from("<p>");
    Lazy(|b: &mut String| b.push('x')).render_to(&mut buf);
    assert_eq!(buf, "<p>x");
}

#[test]
fn render_reserves_the_size_hint() {
    let html = "hello".render();
    assert_eq!(html.as_str(), "hello");
    assert!(html.into_string().capacity() >= 5);
}

#[test]
fn html_converts_into_its_string() {
    let s: String = Html::from_trusted("x".into()).into();
    assert_eq!(s, "x");
}

#[test]
fn html_is_handed_over_without_a_copy() {
    let html = Html::from_trusted("<p>kept</p>".to_owned());
    let pointer = html.as_str().as_ptr();
    let owned = html.render_owned();
    assert_eq!(owned.as_ptr(), pointer);
    assert_eq!(owned, "<p>kept</p>");
}

#[test]
fn render_owned_renders_other_values_escaped() {
    assert_eq!("<i>".render_owned(), "&lt;i&gt;");
    assert_eq!(Some(7u8).render_owned(), "7");
}
