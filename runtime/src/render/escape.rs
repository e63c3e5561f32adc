//! Escaping for the two contexts `html!` writes user data into: text nodes and double-quoted
//! attribute values.
//!
//! Both functions scan for the next byte that needs an entity and copy the run before it in
//! one `push_str`, so a string without special characters costs one scan and one copy.

/// Appends `text` to `buf`, escaped for an HTML text node (`&`, `<`, `>`).
///
/// ```
/// let mut buf = String::new();
/// livestar::render::escape_text("a < b & c", &mut buf);
/// assert_eq!(buf, "a &lt; b &amp; c");
/// ```
#[inline]
pub fn escape_text(text: &str, buf: &mut String) {
    let bytes = text.as_bytes();
    // Short strings (names, labels) are scanned byte by byte: the SIMD search costs more to
    // set up than it saves on them.
    if bytes.len() < 32 {
        if !swar::any_text_special(bytes) {
            buf.push_str(text);
            return;
        }
        return escape_with_table(text, &NEEDS_TEXT_ESCAPE, buf);
    }
    // Three needles is exactly what memchr3 searches with SIMD.
    let mut start = 0;
    while let Some(offset) = memchr::memchr3(b'&', b'<', b'>', &bytes[start..]) {
        let at = start + offset;
        buf.push_str(&text[start..at]);
        push_entity(bytes[at], buf);
        start = at + 1;
    }
    buf.push_str(&text[start..]);
}

/// Appends `value` to `buf`, escaped for a double-quoted attribute value (`&`, `<`, `>`, `"`,
/// `'`).
///
/// ```
/// let mut buf = String::new();
/// livestar::render::escape_attr(r#"say "hi""#, &mut buf);
/// assert_eq!(buf, "say &quot;hi&quot;");
/// ```
#[inline]
pub fn escape_attr(value: &str, buf: &mut String) {
    if !swar::any_attr_special(value.as_bytes()) {
        buf.push_str(value);
        return;
    }
    escape_with_table(value, &NEEDS_ATTR_ESCAPE, buf);
}

/// Eight bytes at a time: whether a string holds any byte that needs an entity, so the
/// common string without one is copied in a single `push_str`.
mod swar {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;

    /// Whether any byte of `word` is zero (exact as a yes/no answer).
    #[inline(always)]
    fn has_zero(word: u64) -> bool {
        word.wrapping_sub(ONES) & !word & HIGHS != 0
    }

    #[inline(always)]
    fn has_byte(word: u64, byte: u8) -> bool {
        has_zero(word ^ (ONES * byte as u64))
    }

    /// `<` (0x3C) and `>` (0x3E) are the only bytes that become 0x3E when bit 1 is set.
    #[inline(always)]
    fn has_angle(word: u64) -> bool {
        has_byte(word | (ONES * 0x02), b'>')
    }

    #[inline(always)]
    fn words(bytes: &[u8], mut test: impl FnMut(u64) -> bool, table: &[bool; 256]) -> bool {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default());
            if test(word) {
                return true;
            }
        }
        chunks.remainder().iter().any(|&byte| table[byte as usize])
    }

    #[inline]
    pub(super) fn any_text_special(bytes: &[u8]) -> bool {
        words(
            bytes,
            |w| has_angle(w) || has_byte(w, b'&'),
            &super::NEEDS_TEXT_ESCAPE,
        )
    }

    /// `&` (0x26) and `'` (0x27) are the only bytes that become 0x27 when bit 0 is set.
    #[inline]
    pub(super) fn any_attr_special(bytes: &[u8]) -> bool {
        words(
            bytes,
            |w| has_angle(w) || has_byte(w | ONES, b'\'') || has_byte(w, b'"'),
            &super::NEEDS_ATTR_ESCAPE,
        )
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn finds_each_special_byte_at_every_position() {
            for special in [b'&', b'<', b'>'] {
                for at in 0..20 {
                    let mut bytes = vec![b'a'; 20];
                    bytes[at] = special;
                    assert!(any_text_special(&bytes), "{special} at {at}");
                    assert!(any_attr_special(&bytes), "{special} at {at}");
                }
            }
            for special in [b'"', b'\''] {
                let mut bytes = vec![b'a'; 20];
                bytes[11] = special;
                assert!(any_attr_special(&bytes));
                assert!(!any_text_special(&bytes));
            }
        }

        #[test]
        fn ignores_every_other_byte() {
            for byte in 0..=255u8 {
                let bytes = vec![byte; 16];
                let text = matches!(byte, b'&' | b'<' | b'>');
                let attr = text || matches!(byte, b'"' | b'\'');
                assert_eq!(any_text_special(&bytes), text, "{byte}");
                assert_eq!(any_attr_special(&bytes), attr, "{byte}");
            }
        }
    }
}

#[inline(always)]
fn escape_with_table(value: &str, table: &[bool; 256], buf: &mut String) {
    let bytes = value.as_bytes();
    let mut start = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        if table[byte as usize] {
            buf.push_str(&value[start..at]);
            push_entity(byte, buf);
            start = at + 1;
        }
    }
    buf.push_str(&value[start..]);
}

const NEEDS_TEXT_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table
};

const NEEDS_ATTR_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[b'"' as usize] = true;
    table[b'\'' as usize] = true;
    table
};

/// Each arm pushes a literal, so the copy is a few inlined moves rather than a `memcpy`.
#[inline(always)]
fn push_entity(byte: u8, buf: &mut String) {
    match byte {
        b'&' => buf.push_str("&amp;"),
        b'<' => buf.push_str("&lt;"),
        b'>' => buf.push_str("&gt;"),
        b'"' => buf.push_str("&quot;"),
        // The tables above only ever hand us one of the five special bytes.
        _ => buf.push_str("&#39;"),
    }
}

/// A `fmt::Write` that escapes everything written through it for a text node, so
/// `format_args!` output can be rendered without an intermediate `String`.
pub(crate) struct TextEscaper<'a>(pub(crate) &'a mut String);

impl std::fmt::Write for TextEscaper<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        escape_text(s, self.0);
        Ok(())
    }
}

/// The attribute-context sibling of [`TextEscaper`].
pub(crate) struct AttrEscaper<'a>(pub(crate) &'a mut String);

impl std::fmt::Write for AttrEscaper<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        escape_attr(s, self.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> String {
        let mut buf = String::new();
        escape_text(s, &mut buf);
        buf
    }

    fn attr(s: &str) -> String {
        let mut buf = String::new();
        escape_attr(s, &mut buf);
        buf
    }

    #[test]
    fn text_without_special_characters_is_copied_unchanged() {
        assert_eq!(text("plain text, ünïcödé 🚀"), "plain text, ünïcödé 🚀");
    }

    #[test]
    fn text_escapes_ampersand_and_angle_brackets() {
        assert_eq!(text("<a href=x>&</a>"), "&lt;a href=x&gt;&amp;&lt;/a&gt;");
    }

    #[test]
    fn text_keeps_quotes_because_they_are_harmless_in_text_nodes() {
        assert_eq!(text(r#"say "hi" it's"#), r#"say "hi" it's"#);
    }

    #[test]
    fn text_escapes_special_characters_at_both_ends() {
        assert_eq!(text("&middle<"), "&amp;middle&lt;");
    }

    #[test]
    fn long_text_is_escaped_like_short_text() {
        let long = "a<b&c>d".repeat(20);
        assert_eq!(text(&long), "a&lt;b&amp;c&gt;d".repeat(20));
    }

    #[test]
    fn attribute_escapes_both_quote_kinds() {
        assert_eq!(attr(r#"a"b'c"#), "a&quot;b&#39;c");
    }

    #[test]
    fn attribute_escapes_ampersand_and_angle_brackets() {
        assert_eq!(attr("<&>"), "&lt;&amp;&gt;");
    }

    #[test]
    fn attribute_keeps_multibyte_characters_intact() {
        assert_eq!(attr("é\"ü"), "é&quot;ü");
    }
}
