//! The runtime side of `html!`'s generated code. Not for direct use: names and signatures
//! change with the macro.
//!
//! Generated code stays thin by calling these functions: each one is a few lines, unit
//! tested here, and marked `#[inline]` so the optimiser sees through it.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{AttributeValue, Html, Presence, Render, escape_attr};

/// The output size of the previous render at one `html!` call site, so the next render
/// reserves its buffer once instead of growing it step by step.
#[derive(Debug)]
pub struct SizeHint(AtomicUsize);

impl SizeHint {
    /// A hint that knows nothing yet.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        SizeHint(AtomicUsize::new(0))
    }

    /// A buffer with room for the larger of the static text and the last render's size.
    #[inline]
    pub fn buffer(&self, static_len: usize) -> String {
        String::with_capacity(static_len.max(self.0.load(Ordering::Relaxed)))
    }

    /// Remembers this render's size and wraps the buffer.
    #[inline]
    pub fn finish(&self, buf: String) -> Html {
        // A little slack so that a slightly longer next render does not reallocate.
        let len = buf.len();
        self.0.store(len + len / 32 + 64, Ordering::Relaxed);
        Html::from_trusted(buf)
    }
}

/// After a `@for` whose body text was merged across the loop's edges: removes the copy of
/// the body's opening text that the last iteration (or the code before an empty loop) wrote
/// ahead.
#[inline(always)]
pub fn cut_loop_lookahead(buf: &mut String, opening_len: usize) {
    buf.truncate(buf.len().saturating_sub(opening_len));
}

/// `{value}` in text position.
#[inline(always)]
pub fn text<T: Render + ?Sized>(buf: &mut String, value: &T) {
    value.render_to(buf);
}

/// `name={value}`; `name` carries its leading space (`" title"`).
#[inline(always)]
pub fn attribute<T: AttributeValue + ?Sized>(buf: &mut String, name: &str, value: &T) {
    match value.presence() {
        Presence::Value => {
            buf.push_str(name);
            buf.push_str("=\"");
            value.render_value(buf);
            buf.push('"');
        }
        Presence::Bare => buf.push_str(name),
        Presence::Absent => {}
    }
}

/// `data-signals={value}` and `data-signals:key={value}`: the value as JSON, which is also a
/// valid Datastar expression, escaped for the attribute.
pub fn signals<T: serde::Serialize + ?Sized>(buf: &mut String, name: &str, value: &T) {
    match serde_json::to_string(value) {
        Ok(json) => {
            buf.push_str(name);
            buf.push_str("=\"");
            escape_attr(&json, buf);
            buf.push('"');
        }
        // Only maps with non-string keys and failing Serialize impls get here; leaving the
        // attribute out beats sending broken JSON to the client.
        Err(error) => {
            tracing::error!(%error, attribute = name.trim_start(), "html!: signals value is not JSON; attribute left out")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr<T: AttributeValue + ?Sized>(value: &T) -> String {
        let mut buf = String::new();
        attribute(&mut buf, " title", value);
        buf
    }

    #[test]
    fn attribute_with_a_value_is_written_quoted_and_escaped() {
        assert_eq!(attr("a\"b"), " title=\"a&quot;b\"");
    }

    #[test]
    fn attribute_with_true_is_written_bare() {
        assert_eq!(attr(&true), " title");
    }

    #[test]
    fn attribute_with_false_is_left_out() {
        assert_eq!(attr(&false), "");
    }

    #[test]
    fn attribute_with_none_is_left_out() {
        assert_eq!(attr(&None::<String>), "");
    }

    #[test]
    fn attribute_with_some_is_written() {
        assert_eq!(attr(&Some(42)), " title=\"42\"");
    }

    #[test]
    fn signals_are_written_as_escaped_json() {
        let mut buf = String::new();
        signals(
            &mut buf,
            " data-signals",
            &serde_json::json!({"q": "a\"<b"}),
        );
        assert_eq!(
            buf,
            r#" data-signals="{&quot;q&quot;:&quot;a\&quot;&lt;b&quot;}""#
        );
    }

    #[test]
    fn signals_that_fail_to_serialize_leave_the_attribute_out() {
        let mut map = std::collections::HashMap::new();
        map.insert((1, 2), 3);
        let mut buf = String::new();
        signals(&mut buf, " data-signals", &map);
        assert_eq!(buf, "");
    }

    #[test]
    fn cut_loop_lookahead_removes_the_opening_written_ahead() {
        let mut buf = String::from("<tr><td>");
        cut_loop_lookahead(&mut buf, 4);
        assert_eq!(buf, "<tr>");
    }

    #[test]
    fn size_hint_reserves_the_last_render_size() {
        let hint = SizeHint::new();
        assert!(hint.buffer(10).capacity() >= 10);
        hint.finish("x".repeat(800));
        assert!(hint.buffer(10).capacity() >= 800);
    }
}
