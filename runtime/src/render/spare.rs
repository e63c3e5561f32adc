//! Appending to a `String` through its spare capacity: the only `unsafe` code in the crate.
//!
//! `String::push_str` checks the capacity, calls `memcpy` for a length it does not know at
//! compile time, and stores the new length, on every call. What a template writes most is a
//! number or a short string followed by the template's next static text; written with two
//! `push_str`, that is two capacity checks and a `memcpy` call for a few bytes. The functions
//! here append such a pair after one capacity check, copying with fixed-size moves.
//!
//! Every function is safe to call with any arguments, and follows the same three steps:
//! 1. `reserve` room for the most bytes it can append;
//! 2. write into that room only ASCII bytes and whole `&str`s, byte for byte, so what it
//!    appends is UTF-8;
//! 3. set the length over exactly the bytes written.
//!
//! A panic between the steps (there is none to be had, bar `reserve`'s) would leave the
//! length as it was: the bytes written past it are spare capacity again.

#![deny(clippy::undocumented_unsafe_blocks)]

use std::ptr;

/// The most decimal digits of a `u64` (`18446744073709551615`).
pub(crate) const U64_DIGITS: usize = 20;

/// Appends `n` in decimal, then `then`.
#[inline(always)]
pub(crate) fn push_u64_then(buf: &mut String, n: u64, then: &str) {
    // `then` is a `&str`, so its length is at most `isize::MAX`: the sum cannot overflow.
    buf.reserve(U64_DIGITS + then.len());
    // SAFETY: only ASCII digits and the bytes of the `&str` `then` are appended below, so
    // the `String` stays UTF-8, as `as_mut_vec` requires.
    let vec = unsafe { buf.as_mut_vec() };
    let len = vec.len();
    let dst = vec.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    // SAFETY: `reserve` left room for `U64_DIGITS + then.len()` bytes at `dst`. The digits
    // take at most `U64_DIGITS` of them and `then` follows, so both stay in the room, and
    // `then` (borrowed elsewhere) cannot overlap the `String`'s spare capacity.
    let digits = unsafe { write_u64(dst, n) };
    // SAFETY: as above.
    unsafe { ptr::copy_nonoverlapping(then.as_ptr(), dst.add(digits), then.len()) };
    // SAFETY: the `digits + then.len()` bytes after `len` were just written (initialised),
    // within the capacity, and are UTF-8.
    unsafe { vec.set_len(len + digits + then.len()) };
}

/// Appends `value` then `then`. Meant for a short `value` (32 bytes or fewer), copied with
/// two fixed-size moves; a longer one is copied with `memcpy`.
#[inline(always)]
pub(crate) fn push_short_then(buf: &mut String, value: &str, then: &str) {
    // Both are `&str`s in memory, so their lengths add up to at most `isize::MAX`.
    buf.reserve(value.len() + then.len());
    // SAFETY: only the bytes of the `&str`s `value` and `then` are appended, whole, so the
    // `String` stays UTF-8.
    let vec = unsafe { buf.as_mut_vec() };
    let len = vec.len();
    let dst = vec.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    // SAFETY: `reserve` left room for `value.len() + then.len()` bytes at `dst`; `value`
    // fills the first `value.len()` and `then` the rest. Neither is borrowed from the
    // `String`'s spare capacity, so they do not overlap it.
    unsafe {
        copy_short(value.as_bytes(), dst);
        ptr::copy_nonoverlapping(then.as_ptr(), dst.add(value.len()), then.len());
    }
    // SAFETY: the `value.len() + then.len()` bytes after `len` were just written, within the
    // capacity, and are UTF-8.
    unsafe { vec.set_len(len + value.len() + then.len()) };
}

/// Appends `value` with the byte at each set bit `i` of `specials` (byte `i` of `value`)
/// replaced by its entity: `&amp;` `&lt;` `&gt;` `&quot;` `&#39;`. The caller's `specials`
/// says which bytes need one; a bit at any other byte copies the byte as it is, and bits past
/// the end are ignored, so whatever the mask the output is `value` with some of its ASCII
/// special bytes spelled as entities.
#[inline(never)]
pub(crate) fn push_escaped(buf: &mut String, value: &str, mut specials: u32) {
    let bytes = value.as_bytes();
    let n = bytes.len();
    if n < 32 {
        specials &= (1 << n) - 1;
    }
    // Each set bit replaces one byte by at most six (`&quot;`); every other byte is copied.
    // Entities are written eight bytes at a time, up to seven of them past the entity (and
    // overwritten by what follows, or left in the spare capacity after the end).
    let room = n + 5 * bits(specials) + 7;
    buf.reserve(room);
    // SAFETY: what is appended is `value` byte for byte, except that some bytes that are one
    // of the five ASCII special characters are replaced by ASCII entities (`write_entity` keeps
    // every other byte). Replacing an ASCII byte, which is never part of a multi-byte
    // character, by ASCII keeps the text UTF-8.
    let vec = unsafe { buf.as_mut_vec() };
    let len = vec.len();
    let dst = vec.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    // The bytes written so far, and the first byte of `value` not copied yet.
    let mut out = 0;
    let mut start = 0;
    while specials != 0 {
        let at = specials.trailing_zeros() as usize;
        specials &= specials - 1;
        // Bits are visited in increasing order and are below `n`: `start <= at < n`.
        let run = &bytes[start..at];
        // SAFETY: `out` counts the bytes written so far, at most `start` copied bytes plus
        // five more per bit visited; this run (`at - start` bytes) and one entity (at most six
        // bytes, stored as eight) follow, ending within `n + 5 * bits + 7`, the room `reserve`
        // left. `value` is not in the `String`'s spare capacity, so the copy does not overlap it.
        unsafe {
            copy_short(run, dst.add(out));
            out += run.len();
            out += write_entity(bytes[at], dst.add(out));
        }
        start = at + 1;
    }
    let rest = &bytes[start..];
    // SAFETY: the last run, within the room as above.
    unsafe { copy_short(rest, dst.add(out)) };
    out += rest.len();
    // SAFETY: the `out` bytes after `len` were just written, within the capacity, and are
    // UTF-8 (see `as_mut_vec` above).
    unsafe { vec.set_len(len + out) };
}

/// How many bits of `mask` are set. A loop of one step per bit, for the few special bytes of
/// a name or label: without the POPCNT instruction (not in the x86-64 baseline) `count_ones`
/// is a dozen and a half instructions whatever the mask.
#[inline(always)]
fn bits(mut mask: u32) -> usize {
    let mut count = 0;
    while mask != 0 {
        mask &= mask - 1;
        count += 1;
    }
    count
}

/// Writes the entity of `byte` at `dst` (or `byte` itself if it needs none) as one
/// eight-byte store, padded with zeros; how many bytes of it count.
///
/// # Safety
/// `dst` must be valid for writing 8 bytes.
#[inline(always)]
unsafe fn write_entity(byte: u8, dst: *mut u8) -> usize {
    let (entity, len): (&[u8; 8], usize) = match byte {
        b'&' => (b"&amp;\0\0\0", 5),
        b'<' => (b"&lt;\0\0\0\0", 4),
        b'>' => (b"&gt;\0\0\0\0", 4),
        b'"' => (b"&quot;\0\0", 6),
        b'\'' => (b"&#39;\0\0\0", 5),
        _ => {
            // SAFETY: one byte, within the caller's eight.
            unsafe { dst.write(byte) };
            return 1;
        }
    };
    // SAFETY: eight bytes, the caller's promise; `write_unaligned` needs no alignment.
    unsafe { dst.cast::<[u8; 8]>().write_unaligned(*entity) };
    len
}

/// Copies `src` to `dst`. Up to 32 bytes this is two fixed-size moves that overlap in the
/// middle (16 + 16, 8 + 8, 4 + 4, or bytes), instead of a call to `memcpy`.
///
/// # Safety
/// `dst` must be valid for writing `src.len()` bytes and must not overlap `src`.
#[inline(always)]
unsafe fn copy_short(src: &[u8], dst: *mut u8) {
    let n = src.len();
    // SAFETY: in every arm the two moves write `dst[..k]` and `dst[n - k..n]` with `k <= n`,
    // so they stay within the caller's `n` bytes, and read the same ranges of `src`.
    unsafe {
        if n > 32 {
            ptr::copy_nonoverlapping(src.as_ptr(), dst, n);
        } else if n >= 16 {
            move_fixed::<16>(src, 0, dst);
            move_fixed::<16>(src, n - 16, dst);
        } else if n >= 8 {
            move_fixed::<8>(src, 0, dst);
            move_fixed::<8>(src, n - 8, dst);
        } else if n >= 4 {
            move_fixed::<4>(src, 0, dst);
            move_fixed::<4>(src, n - 4, dst);
        } else if n > 0 {
            // 1 to 3 bytes: the first, the middle and the last (some of them the same).
            dst.write(src[0]);
            dst.add(n / 2).write(src[n / 2]);
            dst.add(n - 1).write(src[n - 1]);
        }
    }
}

/// Copies `src[at..at + K]` to `dst + at` with one unaligned move.
///
/// # Safety
/// `dst + at` must be valid for writing `K` bytes. `src[at..at + K]` is bounds-checked.
#[inline(always)]
unsafe fn move_fixed<const K: usize>(src: &[u8], at: usize, dst: *mut u8) {
    let mut chunk = [0; K];
    chunk.copy_from_slice(&src[at..at + K]);
    // SAFETY: the caller's promise; `write_unaligned` needs no alignment.
    unsafe { dst.add(at).cast::<[u8; K]>().write_unaligned(chunk) };
}

/// The digits of 00 to 99, two bytes each.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
                            2021222324252627282930313233343536373839\
                            4041424344454647484950515253545556575859\
                            6061626364656667686970717273747576777879\
                            8081828384858687888990919293949596979899";

/// Writes `n` in decimal at `dst`; how many digits (1 to 20). Below 10,000 (counts, ids,
/// scores, years: most numbers in pages) this is inlined: a compare or four and a move or
/// two, with no buffer on the stack and no copy of it.
///
/// # Safety
/// `dst` must be valid for writing [`U64_DIGITS`] bytes.
#[inline(always)]
unsafe fn write_u64(dst: *mut u8, n: u64) -> usize {
    // SAFETY: every arm writes at most four bytes, within the caller's twenty.
    unsafe {
        if n < 10 {
            dst.write(b'0' + n as u8);
            1
        } else if n < 100 {
            write_pair(dst, n);
            2
        } else if n < 1_000 {
            dst.write(b'0' + (n / 100) as u8);
            write_pair(dst.add(1), n % 100);
            3
        } else if n < 10_000 {
            write_pair(dst, n / 100);
            write_pair(dst.add(2), n % 100);
            4
        } else {
            write_u64_large(dst, n)
        }
    }
}

/// [`write_u64`] for 10,000 and up, out of line: the digits written from the last pair back.
///
/// # Safety
/// `dst` must be valid for writing [`U64_DIGITS`] bytes.
#[inline(never)]
unsafe fn write_u64_large(dst: *mut u8, mut n: u64) -> usize {
    let count = n.checked_ilog10().unwrap_or(0) as usize + 1;
    let mut end = count;
    // SAFETY: `end` starts at `count <= U64_DIGITS` and goes down by the size of each write,
    // ending at 0 (one digit is written per power of ten), so every write is within the
    // caller's room.
    unsafe {
        while n >= 100 {
            end -= 2;
            write_pair(dst.add(end), n % 100);
            n /= 100;
        }
        if n >= 10 {
            end -= 2;
            write_pair(dst.add(end), n);
        } else {
            end -= 1;
            dst.add(end).write(b'0' + n as u8);
        }
    }
    debug_assert_eq!(end, 0);
    count
}

/// Writes the two digits of `n % 100` at `dst`.
///
/// # Safety
/// `dst` must be valid for writing 2 bytes.
#[inline(always)]
unsafe fn write_pair(dst: *mut u8, n: u64) {
    let at = (n % 100) as usize * 2;
    let pair = [PAIRS[at], PAIRS[at + 1]];
    // SAFETY: the caller's promise.
    unsafe { dst.cast::<[u8; 2]>().write_unaligned(pair) };
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The escaping `push_escaped` must match when its mask is right: every special byte.
    fn reference(value: &str) -> String {
        crate::render::escape::tests::reference(value, true)
    }

    /// `value` cut to at most `max` bytes, at a character boundary.
    fn cut(mut value: String, max: usize) -> String {
        while value.len() > max {
            value.pop();
        }
        value
    }

    /// Bit `i` set where byte `i` of `value` is special (bytes 0 to 31).
    fn mask(value: &str) -> u32 {
        value.bytes().take(32).enumerate().fold(0, |mask, (i, b)| {
            mask | u32::from(matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'')) << i
        })
    }

    /// A buffer of `len` bytes whose capacity is exactly `capacity`, so that a write past
    /// the reserved room would land outside the allocation (and Miri or a sanitizer would
    /// see it), and a `reserve` that is too small shows as a wrong result.
    fn tight(prefix: &str, capacity: usize) -> String {
        let mut buf = String::with_capacity(capacity.max(prefix.len()));
        buf.push_str(prefix);
        buf.shrink_to(capacity.max(prefix.len()));
        buf
    }

    /// Every width's limits and the powers of ten around which the digit count changes.
    fn interesting_u64s() -> Vec<u64> {
        let mut values = vec![
            0,
            u64::from(u8::MAX),
            u64::from(u16::MAX),
            u64::from(u32::MAX),
            u64::MAX,
            u64::MAX - 1,
            i64::MAX as u64,
            i64::MIN.unsigned_abs(),
        ];
        let mut power = 1u64;
        loop {
            values.extend([power - 1, power, power + 1]);
            match power.checked_mul(10) {
                Some(next) => power = next,
                None => break,
            }
        }
        values
    }

    #[test]
    fn every_digit_count_is_written_like_display() {
        for n in interesting_u64s() {
            for capacity in [0, 1, 20, 21, 64] {
                let mut buf = tight("x", capacity);
                push_u64_then(&mut buf, n, "</td>");
                assert_eq!(buf, format!("x{n}</td>"), "{n} at capacity {capacity}");
            }
        }
    }

    #[test]
    fn numbers_below_ten_thousand_are_written_like_display() {
        for n in 0..12_000u64 {
            let mut buf = String::new();
            push_u64_then(&mut buf, n, "");
            assert_eq!(buf, n.to_string());
        }
    }

    #[test]
    fn a_number_after_multibyte_text_keeps_it_intact() {
        let mut buf = tight("日本", 6);
        push_u64_then(&mut buf, 7, "é");
        assert_eq!(buf, "日本7é");
    }

    #[test]
    fn every_short_length_is_copied_whole() {
        let text = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";
        for n in 0..=text.len() {
            for then in ["", ">", "</b>: ", "</td></tr><tr><td>"] {
                for capacity in [0, n, n + then.len() + 1] {
                    let mut buf = tight("<b>", capacity);
                    push_short_then(&mut buf, &text[..n], then);
                    assert_eq!(buf, format!("<b>{}{then}", &text[..n]), "{n} {capacity}");
                }
            }
        }
    }

    #[test]
    fn every_entity_is_written_at_every_position() {
        // Up to the 32 bytes a mask covers, between one- and two-byte characters.
        for (filler, chars) in [("a", 32), ("é", 16)] {
            for n in 1..=chars {
                for at in 0..n {
                    for special in ["&", "<", ">", "\"", "'"] {
                        let mut parts = vec![filler; n];
                        parts[at] = special;
                        let value = parts.concat();
                        let mut buf = tight("", 0);
                        push_escaped(&mut buf, &value, mask(&value));
                        assert_eq!(buf, reference(&value), "{value:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_value_of_only_special_bytes_fits_the_room() {
        for n in 0..=32 {
            for special in ["&", "<", ">", "\"", "'"] {
                let value = special.repeat(n);
                let mut buf = tight("", 0);
                push_escaped(&mut buf, &value, mask(&value));
                assert_eq!(buf, reference(&value));
            }
        }
    }

    proptest! {
        #[test]
        fn numbers_and_text_match_format(n: u64, prefix in ".{0,8}", then in ".{0,40}", capacity in 0usize..80) {
            let mut buf = tight(&prefix, capacity);
            push_u64_then(&mut buf, n, &then);
            prop_assert_eq!(buf, format!("{prefix}{n}{then}"));
        }

        #[test]
        fn short_values_are_copied_exactly(value in ".{0,40}", then in ".{0,40}", capacity in 0usize..120) {
            let mut buf = tight("", capacity);
            push_short_then(&mut buf, &value, &then);
            prop_assert_eq!(buf, format!("{value}{then}"));
        }

        #[test]
        fn escaping_with_the_right_mask_matches_the_reference(value in "[<>&\"'a-zé日🚀]{0,32}", capacity in 0usize..64) {
            let value = cut(value, 32);
            let mut buf = tight("", capacity);
            push_escaped(&mut buf, &value, mask(&value));
            prop_assert_eq!(buf, reference(&value));
        }

        /// Whatever the mask, the output is `value` with the special bytes at its set bits
        /// spelled as entities: every other byte is copied, so the output stays UTF-8.
        #[test]
        fn any_mask_escapes_exactly_the_special_bytes_it_marks(value in "[<>&\"'a-zé日🚀]{0,40}|.{0,40}", specials: u32) {
            let mut expected = Vec::new();
            for (i, byte) in value.bytes().enumerate() {
                let marked = i < 32 && specials & (1 << i) != 0;
                match (marked, byte) {
                    (true, b'&') => expected.extend_from_slice(b"&amp;"),
                    (true, b'<') => expected.extend_from_slice(b"&lt;"),
                    (true, b'>') => expected.extend_from_slice(b"&gt;"),
                    (true, b'"') => expected.extend_from_slice(b"&quot;"),
                    (true, b'\'') => expected.extend_from_slice(b"&#39;"),
                    (_, byte) => expected.push(byte),
                }
            }
            let mut buf = tight("", 0);
            push_escaped(&mut buf, &value, specials);
            prop_assert!(std::str::from_utf8(buf.as_bytes()).is_ok());
            prop_assert_eq!(buf.as_bytes(), &expected[..]);
        }
    }
}
