//! [`Render`] for the standard types a template interpolates.

use std::borrow::Cow;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use super::escape::TextEscaper;
use super::{Raw, Render, escape_text};

impl Render for str {
    #[inline]
    fn render_to(&self, buf: &mut String) {
        escape_text(self, buf);
    }

    fn size_hint(&self) -> usize {
        self.len()
    }
}

impl Render for String {
    #[inline]
    fn render_to(&self, buf: &mut String) {
        escape_text(self, buf);
    }

    fn size_hint(&self) -> usize {
        self.len()
    }
}

impl Render for Cow<'_, str> {
    #[inline]
    fn render_to(&self, buf: &mut String) {
        escape_text(self, buf);
    }

    fn size_hint(&self) -> usize {
        self.len()
    }
}

impl Render for char {
    fn render_to(&self, buf: &mut String) {
        escape_text(self.encode_utf8(&mut [0; 4]), buf);
    }
}

/// `true` or `false`, as text.
impl Render for bool {
    fn render_to(&self, buf: &mut String) {
        buf.push_str(if *self { "true" } else { "false" });
    }
}

/// Nothing for `None`.
impl<T: Render> Render for Option<T> {
    #[inline]
    fn render_to(&self, buf: &mut String) {
        if let Some(value) = self {
            value.render_to(buf);
        }
    }

    fn size_hint(&self) -> usize {
        self.as_ref().map_or(0, Render::size_hint)
    }
}

/// Every item, in order.
impl<T: Render> Render for [T] {
    fn render_to(&self, buf: &mut String) {
        for item in self {
            item.render_to(buf);
        }
    }
}

/// Every item, in order.
impl<T: Render, const N: usize> Render for [T; N] {
    fn render_to(&self, buf: &mut String) {
        self.as_slice().render_to(buf);
    }
}

/// Every item, in order.
impl<T: Render> Render for Vec<T> {
    fn render_to(&self, buf: &mut String) {
        self.as_slice().render_to(buf);
    }
}

/// Written as is, without escaping.
impl<T: AsRef<str>> Render for Raw<T> {
    #[inline]
    fn render_to(&self, buf: &mut String) {
        buf.push_str(self.0.as_ref());
    }

    fn size_hint(&self) -> usize {
        self.0.as_ref().len()
    }
}

/// The formatted text, escaped as it is written: `{format_args!("{n} items")}`.
impl Render for fmt::Arguments<'_> {
    fn render_to(&self, buf: &mut String) {
        // Writing into a String cannot fail.
        let _ = fmt::write(&mut TextEscaper(buf), *self);
    }
}

/// Nothing.
impl Render for () {
    fn render_to(&self, _buf: &mut String) {}
}

macro_rules! integer_renders {
    ($($ty:ty => $via:ident),* $(,)?) => {$(
        /// Decimal digits, written without `core::fmt`.
        impl Render for $ty {
            #[inline]
            fn render_to(&self, buf: &mut String) {
                $via(buf, *self as _);
            }
        }
    )*};
}

/// Writes `n` in decimal. Small numbers (the common case in pages: counts, ids, scores, years)
/// are written a pair of digits at a time from a table, inlined at the call site: one or two
/// short copies beat formatting into a stack buffer and copying it with `memcpy`.
#[inline(always)]
pub(crate) fn write_u64(buf: &mut String, n: u64) {
    if n < 10 {
        buf.push(char::from(b'0' + n as u8));
    } else if n < 100 {
        buf.push_str(digit_pair(n));
    } else if n < 1_000 {
        buf.push(char::from(b'0' + (n / 100) as u8));
        buf.push_str(digit_pair(n % 100));
    } else if n < 10_000 {
        buf.push_str(digit_pair(n / 100));
        buf.push_str(digit_pair(n % 100));
    } else {
        write_u64_large(buf, n);
    }
}

/// The two digits of `n` (below 100), leading zero included.
#[inline(always)]
fn digit_pair(n: u64) -> &'static str {
    const PAIRS: &str = "0001020304050607080910111213141516171819\
                         2021222324252627282930313233343536373839\
                         4041424344454647484950515253545556575859\
                         6061626364656667686970717273747576777879\
                         8081828384858687888990919293949596979899";
    let at = n as usize * 2;
    &PAIRS[at..at + 2]
}

fn write_u64_large(buf: &mut String, n: u64) {
    buf.push_str(itoa::Buffer::new().format(n));
}

#[inline(always)]
pub(crate) fn write_i64(buf: &mut String, n: i64) {
    if n < 0 {
        buf.push('-');
    }
    write_u64(buf, n.unsigned_abs());
}

#[inline]
fn write_u128(buf: &mut String, n: u128) {
    buf.push_str(itoa::Buffer::new().format(n));
}

#[inline]
fn write_i128(buf: &mut String, n: i128) {
    buf.push_str(itoa::Buffer::new().format(n));
}

integer_renders!(
    u8 => write_u64, u16 => write_u64, u32 => write_u64, u64 => write_u64, usize => write_u64,
    i8 => write_i64, i16 => write_i64, i32 => write_i64, i64 => write_i64, isize => write_i64,
    u128 => write_u128, i128 => write_i128,
);

macro_rules! float_renders {
    ($($ty:ty)*) => {$(
        /// As `Display` writes it.
        impl Render for $ty {
            fn render_to(&self, buf: &mut String) {
                use fmt::Write as _;
                let _ = write!(buf, "{self}");
            }
        }
    )*};
}

float_renders!(f32 f64);

macro_rules! forward_render {
    ($($ty:ty)*) => {$(
        impl<T: Render + ?Sized> Render for $ty {
            #[inline]
            fn render_to(&self, buf: &mut String) {
                (**self).render_to(buf);
            }

            #[inline]
            fn size_hint(&self) -> usize {
                (**self).size_hint()
            }
        }
    )*};
}

forward_render!(&T &mut T Box<T> Rc<T> Arc<T>);
