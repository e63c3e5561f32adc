//! Writing Server-Sent Events fields into a byte buffer.
//!
//! Every value that reaches the wire passes through here, so this is the one place that
//! guarantees a value can never start a new SSE field or end an event early: multi-line values
//! become one field line per line, and single-line values have their line breaks folded.

use bytes::{BufMut, BytesMut};

/// Writes `name: value\n`, with every CR, LF or CRLF inside `value` replaced by one space.
///
/// Used for fields that the protocol defines as a single line (`event`, `id`).
pub(crate) fn single_line_field(buf: &mut BytesMut, name: &str, value: &str) {
    buf.reserve(name.len() + value.len() + 3);
    buf.put_slice(name.as_bytes());
    buf.put_slice(b": ");
    folded(buf, value);
    buf.put_u8(b'\n');
}

/// Writes `data: {key} {value}\n` for a single-line value (`selector`), folding line breaks
/// into spaces.
pub(crate) fn single_line_data(buf: &mut BytesMut, key: &str, value: &str) {
    buf.reserve(key.len() + value.len() + 8);
    buf.put_slice(b"data: ");
    buf.put_slice(key.as_bytes());
    buf.put_u8(b' ');
    folded(buf, value);
    buf.put_u8(b'\n');
}

/// Writes `value` with each CR, LF or CRLF replaced by one space.
fn folded(buf: &mut BytesMut, value: &str) {
    for (index, line) in Lines::new(value).enumerate() {
        if index > 0 {
            buf.put_u8(b' ');
        }
        buf.put_slice(line.as_bytes());
    }
}

/// Writes one `data: {key} {line}\n` per line of `value` (split at CR, LF and CRLF).
///
/// An empty value still writes one line, so the key is present.
pub(crate) fn data_lines(buf: &mut BytesMut, key: &str, value: &str) {
    prefixed_lines(buf, "data: ", key, value);
}

/// Writes one `: {line}\n` comment per line of `text`.
pub(crate) fn comment_lines(buf: &mut BytesMut, text: &str) {
    prefixed_lines(buf, ":", "", text);
}

/// Writes `retry: {millis}\n`.
pub(crate) fn retry_field(buf: &mut BytesMut, millis: u64) {
    let mut digits = itoa::Buffer::new();
    buf.put_slice(b"retry: ");
    buf.put_slice(digits.format(millis).as_bytes());
    buf.put_u8(b'\n');
}

/// Writes `{prefix}{key} {line}\n` per line; with an empty key, `{prefix} {line}\n`.
fn prefixed_lines(buf: &mut BytesMut, prefix: &str, key: &str, value: &str) {
    // One pass over `value`: room for it as one line now; each further line's prefix
    // reserves what it needs as it is written.
    buf.reserve(value.len() + prefix.len() + key.len() + 2);
    for line in Lines::new(value) {
        buf.put_slice(prefix.as_bytes());
        buf.put_slice(key.as_bytes());
        buf.put_u8(b' ');
        buf.put_slice(line.as_bytes());
        buf.put_u8(b'\n');
    }
}

/// The lines of a string as an SSE parser sees them: split at CRLF, LF or CR, and a trailing
/// line break yields a final empty line (so `"a\n"` is `["a", ""]`), which keeps the content
/// exact when the lines are joined back with `\n`.
pub(crate) struct Lines<'a> {
    rest: Option<&'a str>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Lines { rest: Some(text) }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match memchr::memchr2(b'\n', b'\r', rest.as_bytes()) {
            None => {
                self.rest = None;
                Some(rest)
            }
            Some(at) => {
                let line = &rest[..at];
                let skip = if rest.as_bytes()[at] == b'\r'
                    && rest.as_bytes().get(at + 1) == Some(&b'\n')
                {
                    2
                } else {
                    1
                };
                self.rest = Some(&rest[at + skip..]);
                Some(line)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<&str> {
        Lines::new(text).collect()
    }

    #[test]
    fn lines_split_at_every_sse_line_terminator() {
        assert_eq!(lines("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(lines("a\n"), ["a", ""]);
        assert_eq!(lines(""), [""]);
        assert_eq!(lines("\r\n\r"), ["", "", ""]);
    }

    #[test]
    fn single_line_field_folds_line_breaks_into_spaces() {
        let mut buf = BytesMut::new();
        single_line_field(&mut buf, "id", "a\r\nb\nc");
        assert_eq!(&buf[..], b"id: a b c\n");
    }

    #[test]
    fn single_line_data_folds_line_breaks_into_spaces() {
        let mut buf = BytesMut::new();
        single_line_data(&mut buf, "selector", "#a\rdata: x");
        assert_eq!(&buf[..], b"data: selector #a data: x\n");
    }

    #[test]
    fn data_lines_prefix_every_line_with_the_key() {
        let mut buf = BytesMut::new();
        data_lines(&mut buf, "elements", "<a>\n</a>");
        assert_eq!(&buf[..], b"data: elements <a>\ndata: elements </a>\n");
    }

    #[test]
    fn data_lines_grow_the_buffer_for_as_many_lines_as_there_are() {
        // One line reserved up front; every further line reserves its own prefix.
        let value = "<li>x</li>\r\n".repeat(1000);
        let mut buf = BytesMut::new();
        data_lines(&mut buf, "elements", &value);
        let expected = "data: elements <li>x</li>\n".repeat(1000) + "data: elements \n";
        assert_eq!(&buf[..], expected.as_bytes());
    }

    #[test]
    fn comment_lines_start_every_line_with_a_colon() {
        let mut buf = BytesMut::new();
        comment_lines(&mut buf, "one\ntwo");
        assert_eq!(&buf[..], b": one\n: two\n");
    }
}
