//! Escaping for the two contexts `html!` writes user data into: text nodes and double-quoted
//! attribute values.
//!
//! Both find every byte that needs an entity and copy the run before it in one go, so a
//! string without special characters costs one scan and one copy. Strings up to 32 bytes
//! (names, labels, ids: most of what a page interpolates) are checked in one go, with a bit
//! mask of their special bytes computed sixteen bytes at a time, and written through the
//! buffer's spare capacity (`spare`); long text is searched with `memchr`'s SIMD, long
//! attribute values 32 bytes at a time.

use super::spare;

/// Appends `text` to `buf`, escaped for an HTML text node (`&`, `<`, `>`).
///
/// ```
/// let mut buf = String::new();
/// livestar::render::escape_text("a < b & c", &mut buf);
/// assert_eq!(buf, "a &lt; b &amp; c");
/// ```
#[inline]
pub fn escape_text(text: &str, buf: &mut String) {
    escape_text_then(text, buf, "");
}

/// [`escape_text`], then `then` (HTML already, such as a template's static text) as it is.
/// A short text without special characters and `then` are appended after one capacity check.
#[inline(always)]
pub(crate) fn escape_text_then(text: &str, buf: &mut String, then: &str) {
    if text.len() <= BLOCK {
        return escape_short::<TEXT>(text, buf, then);
    }
    escape_long_text(text, buf);
    buf.push_str(then);
}

/// Text longer than a block, searched with `memchr`.
#[inline(never)]
fn escape_long_text(text: &str, buf: &mut String) {
    let bytes = text.as_bytes();
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
    if value.len() <= BLOCK {
        return escape_short::<ATTR>(value, buf, "");
    }
    escape_long_attr(value, buf);
}

/// An attribute value longer than a block.
#[inline(never)]
fn escape_long_attr(value: &str, buf: &mut String) {
    escape_blocks::<ATTR>(value, buf);
}

/// The two sets of special bytes, as the const parameter of the scanners.
const TEXT: bool = false;
const ATTR: bool = true;

/// How many bytes one mask covers.
const BLOCK: usize = 32;

/// A value of one block (most names, labels and ids), inlined where it is written: one mask
/// and, without special bytes, one capacity check for the value and `then`, copied with
/// fixed-size moves (no `memcpy` call). Values with special bytes are escaped out of line.
#[inline(always)]
fn escape_short<const QUOTES: bool>(value: &str, buf: &mut String, then: &str) {
    if value.is_empty() {
        return buf.push_str(then);
    }
    let specials = mask::specials::<QUOTES>(value.as_bytes());
    if specials == 0 {
        return spare::push_short_then(buf, value, then);
    }
    spare::push_escaped(buf, value, specials);
    buf.push_str(then);
}

/// Escapes `value` block by block: one mask per block, then a copy per special byte.
#[inline(always)]
fn escape_blocks<const QUOTES: bool>(value: &str, buf: &mut String) {
    let bytes = value.as_bytes();
    // The first byte not copied yet, and the first byte of the block being scanned.
    let mut start = 0;
    let mut block = 0;
    while block < bytes.len() {
        let end = bytes.len().min(block + BLOCK);
        let specials = mask::specials::<QUOTES>(&bytes[block..end]);
        start = copy_escaping(value, start, block, specials, buf);
        block = end;
    }
    buf.push_str(&value[start..]);
}

/// Copies `value` from `start` up to each special byte of the block at `block` (bit `i` of
/// `specials` for byte `block + i`) followed by its entity; the first byte not copied yet.
#[inline(always)]
fn copy_escaping(
    value: &str,
    mut start: usize,
    block: usize,
    mut specials: u32,
    buf: &mut String,
) -> usize {
    let bytes = value.as_bytes();
    while specials != 0 {
        let at = block + specials.trailing_zeros() as usize;
        buf.push_str(&value[start..at]);
        push_entity(bytes[at], buf);
        start = at + 1;
        specials &= specials - 1;
    }
    start
}

/// Bit masks of the special bytes in up to 32 bytes: bit `i` is set when byte `i` needs an
/// entity. Every byte is compared exactly, sixteen at a time (SSE2 on x86-64, NEON on
/// AArch64, through `wide`), so the scanner walks the set bits without scanning again.
mod mask {
    use wide::u8x16;

    /// The special bytes of `block` (1 to 32 bytes; `QUOTES` adds `"` and `'`). A block
    /// shorter than a vector is read as two overlapping halves whose mask bits are then moved
    /// back to their byte's position; lanes past the end read as zero, never special.
    #[inline(always)]
    pub(super) fn specials<const QUOTES: bool>(block: &[u8]) -> u32 {
        let n = block.len();
        debug_assert!((1..=super::BLOCK).contains(&n));
        if n >= 16 {
            let head = lanes::<QUOTES>(bytes(block, 0, 16, 0, 0));
            let tail = lanes::<QUOTES>(bytes(block, n - 16, 16, 0, 0));
            head | tail << (n - 16)
        } else if n >= 8 {
            let both = lanes::<QUOTES>(bytes(block, 0, 8, n - 8, 8));
            (both & 0xFF) | (both >> 8) << (n - 8)
        } else if n >= 4 {
            let both = lanes::<QUOTES>(bytes(block, 0, 4, n - 4, 4));
            (both & 0xF) | (both >> 4) << (n - 4)
        } else {
            lanes::<QUOTES>(bytes(block, 0, n, 0, 0))
        }
    }

    /// Sixteen lanes: `len` bytes of `block` from `at`, then `len2` bytes from `at2`, then
    /// zeros. Above three bytes the lengths are constants, so each copy is a single load.
    #[inline(always)]
    fn bytes(block: &[u8], at: usize, len: usize, at2: usize, len2: usize) -> [u8; 16] {
        let mut lanes = [0; 16];
        lanes[..len].copy_from_slice(&block[at..at + len]);
        lanes[len..len + len2].copy_from_slice(&block[at2..at2 + len2]);
        lanes
    }

    /// Bit `i` set when lane `i` is special.
    #[inline(always)]
    fn lanes<const QUOTES: bool>(lanes: [u8; 16]) -> u32 {
        let v = u8x16::new(lanes);
        let is = |v: u8x16, byte: u8| v.simd_eq(u8x16::splat(byte));
        // `<` (0x3C) and `>` (0x3E) are the only bytes that become 0x3E with bit 1 set;
        // `&` (0x26) and `'` (0x27) the only ones that become 0x27 with bit 0 set.
        let angles = is(v | u8x16::splat(0x02), b'>');
        let found = if QUOTES {
            angles | is(v | u8x16::splat(0x01), b'\'') | is(v, b'"')
        } else {
            angles | is(v, b'&')
        };
        found.to_bitmask()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn expected(bytes: &[u8], quotes: bool) -> u32 {
            bytes.iter().enumerate().fold(0, |mask, (i, b)| {
                let special =
                    matches!(b, b'&' | b'<' | b'>') || (quotes && matches!(b, b'"' | b'\''));
                mask | u32::from(special) << i
            })
        }

        #[test]
        fn lanes_flag_exactly_the_special_bytes() {
            // Every byte value in every lane, beside every special byte.
            for byte in 0..=255u8 {
                for special in *b"&<>\"'" {
                    for at in 0..16 {
                        let mut bytes = [byte; 16];
                        bytes[at] = special;
                        assert_eq!(
                            lanes::<false>(bytes),
                            expected(&bytes, false),
                            "{byte} {at}"
                        );
                        assert_eq!(lanes::<true>(bytes), expected(&bytes, true), "{byte} {at}");
                    }
                }
            }
        }

        #[test]
        fn every_block_length_maps_bits_to_their_bytes() {
            for n in 1..=32 {
                for at in 0..n {
                    for special in *b"&<>\"'" {
                        let mut bytes = vec![b'a'; n];
                        bytes[at] = special;
                        bytes[n - 1] = b'>';
                        assert_eq!(
                            specials::<false>(&bytes),
                            expected(&bytes, false),
                            "{n} {at}"
                        );
                        assert_eq!(specials::<true>(&bytes), expected(&bytes, true), "{n} {at}");
                    }
                }
            }
        }
    }
}

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
pub(super) mod tests {
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

    /// One character at a time, the obvious way: what both escapers must match.
    pub(crate) fn reference(value: &str, quotes: bool) -> String {
        let mut out = String::new();
        for c in value.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' if quotes => out.push_str("&quot;"),
                '\'' if quotes => out.push_str("&#39;"),
                c => out.push(c),
            }
        }
        out
    }

    #[test]
    fn every_length_and_position_matches_the_reference() {
        // Lengths across the short, word and SIMD paths; specials at every position, alone,
        // in pairs and at both ends, between ASCII and multi-byte characters.
        for len in 0..70usize {
            for filler in ["a", "é", "🚀"] {
                let base: Vec<&str> = (0..len).map(|_| filler).collect();
                for at in 0..len {
                    for special in ["&", "<", ">", "\"", "'"] {
                        for also in [None, Some(len - 1), Some(at.saturating_sub(1))] {
                            let mut parts = base.clone();
                            parts[at] = special;
                            if let Some(other) = also {
                                parts[other] = "<";
                            }
                            let value = parts.concat();
                            assert_eq!(text(&value), reference(&value, false), "{value:?}");
                            assert_eq!(attr(&value), reference(&value, true), "{value:?}");
                        }
                    }
                }
                let plain = base.concat();
                assert_eq!(text(&plain), plain);
                assert_eq!(attr(&plain), plain);
            }
        }
    }
}
