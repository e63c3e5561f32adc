//! The runtime side of `html!`'s generated code. Not for direct use: names and signatures
//! change with the macro.
//!
//! Generated code stays thin by calling these functions: each one is a few lines, unit
//! tested here, and marked `#[inline]` so the optimiser sees through it.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{AttributeValue, Expression, Html, LazyHtml, Presence, Render, escape_attr};

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

    /// The larger of the static text and the last render's size.
    #[inline]
    pub fn get(&self, static_len: usize) -> usize {
        static_len.max(self.0.load(Ordering::Relaxed))
    }

    /// A buffer with room for [`get`](Self::get) bytes.
    #[inline]
    pub fn buffer(&self, static_len: usize) -> String {
        String::with_capacity(self.get(static_len))
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

/// What `lazy_html!` evaluates to: `write` is the template's code, a closure of the buffer.
#[inline(always)]
pub fn lazy_html<F: Fn(&mut String)>(
    hint: &'static SizeHint,
    static_len: usize,
    write: F,
) -> LazyHtml<F> {
    LazyHtml::new(hint, static_len, write)
}

/// A `@for` whose body's opening text is merged across the loop's edges: each iteration
/// writes its closing text and, ahead, the next iteration's opening in one write (together
/// with the body's last value, when it ends with one).
///
/// `ahead` says whether the buffer ends with an opening written ahead that no iteration has
/// claimed yet. An iteration claims it on entry, or writes its own if the previous one left
/// early (`continue`, `break`, a `?`-like macro); after the loop an unclaimed one is cut. So
/// the output is the same as writing the opening at the top of every iteration, whatever
/// the body does. When the body cannot leave early, `ahead` is always true on entry and the
/// optimiser removes it.
#[derive(Debug)]
pub struct MergedLoop {
    opening: &'static str,
    ahead: bool,
}

impl MergedLoop {
    /// Writes the first iteration's opening ahead.
    #[inline(always)]
    pub fn start(buf: &mut String, opening: &'static str) -> Self {
        buf.push_str(opening);
        MergedLoop {
            opening,
            ahead: true,
        }
    }

    /// At the top of an iteration: claims the opening written ahead, or writes it if the
    /// previous iteration left before writing it.
    #[inline(always)]
    pub fn enter(&mut self, buf: &mut String) {
        if !self.ahead {
            buf.push_str(self.opening);
        }
        self.ahead = false;
    }

    /// At the end of an iteration, once its closing text followed by the next opening is
    /// written (by the generated code, so that it merges with the body's last value).
    #[inline(always)]
    pub fn close(&mut self) {
        self.ahead = true;
    }

    /// After the loop: removes the opening written ahead of an iteration that did not come.
    #[inline(always)]
    pub fn finish(self, buf: &mut String) {
        if self.ahead {
            // The last write was `start`'s or the one before `close`, both ending with the
            // opening.
            debug_assert!(buf.ends_with(self.opening));
            buf.truncate(buf.len() - self.opening.len());
        }
    }
}

/// `{value}` in text position.
#[inline(always)]
pub fn text<T: Render + ?Sized>(buf: &mut String, value: &T) {
    value.render_to(buf);
}

/// `{value}` in text position followed by static text, written together where the type can
/// (numbers and short strings: one capacity check for both).
#[inline(always)]
pub fn text_then<T: Render + ?Sized>(buf: &mut String, value: &T, then: &'static str) {
    value.render_then(buf, then);
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

/// Writes ` name="expression"` for a Datastar attribute whose value is code.
pub fn expression<T: Expression + ?Sized>(buf: &mut String, name: &str, value: &T) {
    buf.push_str(name);
    buf.push_str("=\"");
    value.render_expression(buf);
    buf.push('"');
}

/// `data-signals={value}` and `data-signals:key={value}`: the value as JSON, which is also a
/// valid Datastar expression, written as `js!` writes a value (the client rewrites `$name` and
/// `@name(` even inside strings before it compiles the expression), escaped for the attribute.
pub fn signals<T: serde::Serialize + ?Sized>(buf: &mut String, name: &str, value: &T) {
    match serde_json::to_string(value) {
        Ok(json) => {
            let mut literal = String::with_capacity(json.len() + 8);
            super::expression::push_js_literal(&json, &mut literal);
            buf.push_str(name);
            buf.push_str("=\"");
            escape_attr(&literal, buf);
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
            r#" data-signals="{&quot;q&quot;:&quot;a\&quot;\u003cb&quot;}""#
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

    /// Runs a merged `<li>`..`</li>` loop over `items`; `exit` says where an iteration leaves.
    fn merged_loop(items: &[&str], exit: impl Fn(&str) -> Option<bool>) -> String {
        let mut buf = String::from("<ul>");
        let mut edge = MergedLoop::start(&mut buf, "<li>");
        for item in items {
            edge.enter(&mut buf);
            buf.push_str(item);
            match exit(item) {
                Some(true) => break,
                Some(false) => continue,
                None => {}
            }
            buf.push_str("</li><li>");
            edge.close();
        }
        edge.finish(&mut buf);
        buf.push_str("</ul>");
        buf
    }

    #[test]
    fn merged_loop_writes_each_opening_once() {
        assert_eq!(
            merged_loop(&["a", "b"], |_| None),
            "<ul><li>a</li><li>b</li></ul>"
        );
    }

    #[test]
    fn merged_loop_over_nothing_writes_no_opening() {
        assert_eq!(merged_loop(&[], |_| None), "<ul></ul>");
    }

    #[test]
    fn merged_loop_after_continue_writes_the_next_opening() {
        let html = merged_loop(&["a", "日本", "b"], |item| {
            (item.len() > 1).then_some(false)
        });
        assert_eq!(html, "<ul><li>a</li><li>日本<li>b</li></ul>");
    }

    #[test]
    fn merged_loop_ending_in_continue_cuts_nothing() {
        let html = merged_loop(&["a", "日本"], |item| (item.len() > 1).then_some(false));
        assert_eq!(html, "<ul><li>a</li><li>日本</ul>");
    }

    #[test]
    fn merged_loop_after_break_cuts_nothing() {
        let html = merged_loop(&["a", "日本", "b"], |item| {
            (item.len() > 1).then_some(true)
        });
        assert_eq!(html, "<ul><li>a</li><li>日本</ul>");
    }

    #[test]
    fn size_hint_reserves_the_last_render_size() {
        let hint = SizeHint::new();
        assert!(hint.buffer(10).capacity() >= 10);
        hint.finish("x".repeat(800));
        assert!(hint.buffer(10).capacity() >= 800);
    }
}
