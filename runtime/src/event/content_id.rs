//! Content ids: the hash of a rendered view, sent as its patch's event `id`.

use std::fmt;

/// The content hash of rendered HTML: what a live view sends as each patch's `id`.
///
/// A client that reconnects sends the id of the last event it got as `Last-Event-ID`. When that
/// is the id of the view the server would send now, the client has it already and the patch can
/// be left out. Live views do this for you; a stream written by hand can do the same:
///
/// ```
/// use livestar::event::{ContentId, Event, PatchElements};
///
/// let html = "<ul id=\"todos\"><li>milk</li></ul>".to_string();
/// let id = ContentId::of(&html);
/// let last_event_id = Some("ffffffffffffffff"); // from the request's `Last-Event-ID` header
/// if !last_event_id.is_some_and(|last| id.matches(last)) {
///     let event: Event = PatchElements::from_html(html).content_id(id).into();
///     assert!(event.as_str().contains(&format!("\nid: {id}\n")));
/// }
/// ```
///
/// The hash is XXH3-64 (seed 0), which is specified and unseeded: every process and every
/// version of livestar gives the same HTML the same id, so a tab that reconnects to another
/// instance after a deploy is recognised too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContentId(u64);

impl ContentId {
    /// The id of `html`.
    ///
    /// ```
    /// use livestar::event::ContentId;
    ///
    /// assert_eq!(ContentId::of("<p id=\"a\">1</p>"), ContentId::of("<p id=\"a\">1</p>"));
    /// assert_ne!(ContentId::of("<p id=\"a\">1</p>"), ContentId::of("<p id=\"a\">2</p>"));
    /// ```
    pub fn of(html: &str) -> Self {
        ContentId(twox_hash::XxHash3_64::oneshot(html.as_bytes()))
    }

    /// The hash as a number.
    ///
    /// ```
    /// use livestar::event::ContentId;
    ///
    /// assert_eq!(ContentId::of("").as_u64(), 0x2d06_8005_38d3_94c2);
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// Whether a client's `Last-Event-ID` is this id, as it was sent: 16 lowercase hex digits.
    ///
    /// ```
    /// use livestar::event::ContentId;
    ///
    /// let id = ContentId::of("<p id=\"a\">1</p>");
    /// assert!(id.matches("80393d064091595c"));
    /// assert!(!id.matches("80393D064091595C"));
    /// ```
    pub fn matches(self, last_event_id: &str) -> bool {
        last_event_id.as_bytes() == self.hex_digits()
    }

    /// The 16 lowercase hex digits the id is sent as, most significant first.
    pub(crate) fn hex_digits(self) -> [u8; 16] {
        let mut digits = [0; 16];
        digits[..8].copy_from_slice(&hex_word((self.0 >> 32) as u32));
        digits[8..].copy_from_slice(&hex_word(self.0 as u32));
        digits
    }
}

/// Writes the id as it is sent: 16 lowercase hex digits.
///
/// ```
/// use livestar::event::ContentId;
///
/// assert_eq!(ContentId::of("").to_string(), "2d06800538d394c2");
/// ```
impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.hex_digits();
        // Hex digits are ASCII.
        f.write_str(std::str::from_utf8(&digits).map_err(|_| fmt::Error)?)
    }
}

/// The eight hex digits of `n`, computed on all eight at once: each nibble is spread into its
/// own byte, then becomes `'0'..'9'` or `'a'..'f'` by adding `'0'`, plus 39 where it is 10 or
/// more.
fn hex_word(n: u32) -> [u8; 8] {
    const LOW_NIBBLES: u64 = 0x0F0F_0F0F_0F0F_0F0F;
    let mut x = u64::from(n);
    x = (x | x << 16) & 0x0000_FFFF_0000_FFFF;
    x = (x | x << 8) & 0x00FF_00FF_00FF_00FF;
    x = (x | x << 4) & LOW_NIBBLES;
    // The bytes now hold the nibbles, least significant in the lowest byte.
    let letters = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    let ascii = x + 0x3030_3030_3030_3030 + letters * 39;
    ascii.to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, PatchElements};

    #[test]
    fn content_ids_are_xxh3_of_the_html() {
        // The reference values of XXH3-64 (seed 0), as xxhsum and the Python binding give
        // them: every process and every version of livestar agrees on a view's id.
        assert_eq!(ContentId::of("").as_u64(), 0x2d06_8005_38d3_94c2);
        assert_eq!(
            ContentId::of("<p id=\"a\">1</p>").as_u64(),
            0x8039_3d06_4091_595c
        );
        // Long enough for the SIMD path.
        assert_eq!(
            ContentId::of(&"<li>x</li>".repeat(500)).as_u64(),
            0x3831_5eea_e515_8605
        );
    }

    #[test]
    fn content_ids_are_sent_as_16_hex_digits() {
        let id = ContentId::of("<p id=\"a\">1</p>");
        let event: Event = PatchElements::from_html("<p id=\"a\">1</p>".into())
            .content_id(id)
            .into();
        assert!(
            event.as_str().contains("\nid: 80393d064091595c\n"),
            "{event:?}"
        );
        assert!(id.matches("80393d064091595c"));
        assert!(!id.matches("80393d064091595d"));
        assert!(!id.matches("80393D064091595C"));
        assert!(!id.matches(""));
        assert!(!id.matches("80393d064091595c "));
        assert_eq!(
            &ContentId(0x0123_4567_89ab_cdef).hex_digits(),
            b"0123456789abcdef"
        );
    }

    #[test]
    fn hex_digits_match_format_for_every_nibble_in_every_place() {
        let mut values = vec![0, u64::MAX, 0xfedc_ba98_7654_3210];
        for place in 0..16 {
            for nibble in 0..16u64 {
                values.push(nibble << (place * 4));
                values.push(!(nibble << (place * 4)));
            }
        }
        // And a spread of arbitrary ids.
        values.extend((0..1000u64).map(|n| n.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        for id in values {
            assert_eq!(ContentId(id).to_string(), format!("{id:016x}"), "{id:x}");
        }
    }
}
