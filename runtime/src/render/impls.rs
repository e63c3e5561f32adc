//! [`Render`] for the standard types a template interpolates.

use std::borrow::Cow;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use super::escape::{TextEscaper, escape_text_then};
use super::{Raw, Render, escape_text, spare};

impl Render for str {
    #[inline]
    fn render_to(&self, buf: &mut String) {
        escape_text(self, buf);
    }

    #[inline]
    fn render_then(&self, buf: &mut String, then: &str) {
        escape_text_then(self, buf, then);
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

    #[inline]
    fn render_then(&self, buf: &mut String, then: &str) {
        escape_text_then(self, buf, then);
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

    #[inline]
    fn render_then(&self, buf: &mut String, then: &str) {
        escape_text_then(self, buf, then);
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

    #[inline]
    fn render_then(&self, buf: &mut String, then: &str) {
        match self {
            Some(value) => value.render_then(buf, then),
            None => buf.push_str(then),
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
                $via(buf, *self as _, "");
            }

            #[inline]
            fn render_then(&self, buf: &mut String, then: &str) {
                $via(buf, *self as _, then);
            }
        }
    )*};
}

/// Writes `n` in decimal, then `then`: digits straight into the buffer's spare capacity, after
/// one capacity check for both (see `spare`).
#[inline(always)]
fn write_u64(buf: &mut String, n: u64, then: &str) {
    spare::push_u64_then(buf, n, then);
}

#[inline(always)]
fn write_i64(buf: &mut String, n: i64, then: &str) {
    if n < 0 {
        buf.push('-');
    }
    spare::push_u64_then(buf, n.unsigned_abs(), then);
}

#[inline]
fn write_u128(buf: &mut String, n: u128, then: &str) {
    buf.push_str(itoa::Buffer::new().format(n));
    buf.push_str(then);
}

#[inline]
fn write_i128(buf: &mut String, n: i128, then: &str) {
    buf.push_str(itoa::Buffer::new().format(n));
    buf.push_str(then);
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
            fn render_then(&self, buf: &mut String, then: &str) {
                (**self).render_then(buf, then);
            }

            #[inline]
            fn size_hint(&self) -> usize {
                (**self).size_hint()
            }
        }
    )*};
}

forward_render!(&T &mut T Box<T> Rc<T> Arc<T>);
