//! Values of dynamic attributes: `name={expr}` in `html!`.

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::Arc;

use super::{Html, Raw, escape::AttrEscaper, escape_attr};

/// Whether, and how, an attribute appears in the output.
///
/// ```
/// use livestar::render::{AttributeValue, Presence};
///
/// assert_eq!("x".presence(), Presence::Value);
/// assert_eq!(true.presence(), Presence::Bare);
/// assert_eq!(None::<&str>.presence(), Presence::Absent);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// `name="value"`.
    Value,
    /// `name` alone, as boolean attributes are written (`disabled`).
    Bare,
    /// Left out entirely.
    Absent,
}

/// A value that can follow `name=` in an `html!` attribute.
///
/// Strings, numbers and `char` are written escaped for a double-quoted attribute; `bool`
/// makes a boolean attribute (`true` writes `name`, `false` leaves it out); `Option` leaves
/// the attribute out when `None`.
///
/// ```
/// use livestar::prelude::*;
///
/// let (done, title): (bool, Option<&str>) = (true, None);
/// let html = html! { <input type="checkbox" checked={done} title={title} value={"a\"b"}> };
/// assert_eq!(html.as_str(), r#"<input type="checkbox" checked value="a&quot;b">"#);
/// ```
///
/// Implement it for your own types by writing the value with
/// [`escape_attr`](super::escape_attr):
///
/// ```
/// use livestar::prelude::*;
/// use livestar::render::{AttributeValue, escape_attr};
///
/// struct Url(String);
///
/// impl AttributeValue for Url {
///     fn render_value(&self, buf: &mut String) {
///         escape_attr(&self.0, buf);
///     }
/// }
///
/// let html = html! { <a href={Url("/a?b=1&c=2".into())}>"link"</a> };
/// assert_eq!(html.as_str(), r#"<a href="/a?b=1&amp;c=2">link</a>"#);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the value of an `html!` attribute",
    label = "`{Self}` does not implement `AttributeValue`",
    note = "attribute values are strings, numbers, `char`, `bool` (a boolean attribute, left out when `false`) and `Option<T>` (left out when `None`); convert the value, or implement `livestar::render::AttributeValue` for it"
)]
pub trait AttributeValue {
    /// Appends the value, escaped for a double-quoted attribute value. Only called when
    /// [`presence`](AttributeValue::presence) is [`Presence::Value`].
    ///
    /// ```
    /// use livestar::render::AttributeValue;
    ///
    /// let mut buf = String::new();
    /// "say \"hi\"".render_value(&mut buf);
    /// assert_eq!(buf, "say &quot;hi&quot;");
    /// ```
    fn render_value(&self, buf: &mut String);

    /// Whether the attribute is written; [`Presence::Value`] unless overridden.
    ///
    /// ```
    /// use livestar::render::{AttributeValue, Presence};
    ///
    /// assert_eq!("x".presence(), Presence::Value);
    /// assert_eq!(true.presence(), Presence::Bare);
    /// assert_eq!(None::<&str>.presence(), Presence::Absent);
    /// ```
    fn presence(&self) -> Presence {
        Presence::Value
    }
}

impl AttributeValue for str {
    #[inline]
    fn render_value(&self, buf: &mut String) {
        escape_attr(self, buf);
    }
}

impl AttributeValue for String {
    #[inline]
    fn render_value(&self, buf: &mut String) {
        escape_attr(self, buf);
    }
}

impl AttributeValue for Cow<'_, str> {
    #[inline]
    fn render_value(&self, buf: &mut String) {
        escape_attr(self, buf);
    }
}

impl AttributeValue for char {
    fn render_value(&self, buf: &mut String) {
        escape_attr(self.encode_utf8(&mut [0; 4]), buf);
    }
}

impl AttributeValue for bool {
    /// Never called: a boolean attribute has no value.
    fn render_value(&self, _buf: &mut String) {}

    fn presence(&self) -> Presence {
        if *self {
            Presence::Bare
        } else {
            Presence::Absent
        }
    }
}

impl<T: AttributeValue> AttributeValue for Option<T> {
    #[inline]
    fn render_value(&self, buf: &mut String) {
        if let Some(value) = self {
            value.render_value(buf);
        }
    }

    #[inline]
    fn presence(&self) -> Presence {
        match self {
            Some(value) => value.presence(),
            None => Presence::Absent,
        }
    }
}

impl AttributeValue for Html {
    /// The HTML text, escaped again so that it survives inside the quotes.
    fn render_value(&self, buf: &mut String) {
        escape_attr(self.as_str(), buf);
    }
}

impl<T: AsRef<str>> AttributeValue for Raw<T> {
    /// Written as is: the caller vouches that it contains no `"`.
    fn render_value(&self, buf: &mut String) {
        buf.push_str(self.0.as_ref());
    }
}

impl AttributeValue for std::fmt::Arguments<'_> {
    fn render_value(&self, buf: &mut String) {
        // Writing into a String cannot fail.
        let _ = std::fmt::write(&mut AttrEscaper(buf), *self);
    }
}

macro_rules! integer_attribute_values {
    ($($ty:ty)*) => {$(
        impl AttributeValue for $ty {
            #[inline]
            fn render_value(&self, buf: &mut String) {
                super::Render::render_to(self, buf);
            }
        }
    )*};
}

integer_attribute_values!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize);

macro_rules! float_attribute_values {
    ($($ty:ty)*) => {$(
        impl AttributeValue for $ty {
            fn render_value(&self, buf: &mut String) {
                use std::fmt::Write as _;
                let _ = write!(buf, "{self}");
            }
        }
    )*};
}

float_attribute_values!(f32 f64);

macro_rules! forward_attribute_value {
    ($($ty:ty)*) => {$(
        impl<T: AttributeValue + ?Sized> AttributeValue for $ty {
            #[inline]
            fn render_value(&self, buf: &mut String) {
                (**self).render_value(buf);
            }

            #[inline]
            fn presence(&self) -> Presence {
                (**self).presence()
            }
        }
    )*};
}

forward_attribute_value!(&T &mut T Box<T> Rc<T> Arc<T>);
