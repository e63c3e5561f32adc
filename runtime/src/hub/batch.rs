//! [`Batch`]: the events of one send, encoded once.

use bytes::BytesMut;

use crate::event::{Event, ExecuteScript, PatchElements, PatchSignals};

/// One or more events sent together: an [`Event`], an event builder, an array or a `Vec`.
///
/// The batch is turned into one shared buffer (the frames one after the other), so a send to a
/// thousand clients encodes once and copies no event bytes.
///
/// ```
/// use livestar::event::Event;
/// use livestar::hub::Batch;
/// use livestar::render::Html;
///
/// let one = Event::comment("a").into_event();
/// let two = [Event::comment("a"), Event::comment("b")].into_event();
/// assert_eq!(two.as_str(), ": a\n\n: b\n\n");
/// let built = Event::patch_elements(Html::from_trusted("<p id=\"x\"></p>".into())).into_event();
/// assert_eq!(one.as_str(), ": a\n\n");
/// assert!(built.as_str().starts_with("event: datastar-patch-elements\n"));
/// ```
pub trait Batch {
    /// The frames of the batch as one event.
    ///
    /// ```
    /// use livestar::event::Event;
    /// use livestar::hub::Batch;
    ///
    /// let batch = vec![Event::comment("a"), Event::remove_elements("#b").into()].into_event();
    /// assert_eq!(batch.as_str(), ": a\n\nevent: datastar-patch-elements\ndata: selector #b\ndata: mode remove\n\n");
    /// ```
    fn into_event(self) -> Event;
}

impl Batch for Event {
    fn into_event(self) -> Event {
        self
    }
}

macro_rules! builder_batch {
    ($($builder:ty),*) => {$(
        impl Batch for $builder {
            fn into_event(self) -> Event {
                self.into()
            }
        }
    )*};
}

builder_batch!(PatchElements, PatchSignals, ExecuteScript);

impl<E: Into<Event>, const N: usize> Batch for [E; N] {
    fn into_event(self) -> Event {
        concat(self)
    }
}

impl<E: Into<Event>> Batch for Vec<E> {
    fn into_event(self) -> Event {
        concat(self)
    }
}

fn concat(events: impl IntoIterator<Item = impl Into<Event>>) -> Event {
    let mut events = events.into_iter().map(Into::into);
    let Some(first) = events.next() else {
        return Event::from_encoded(bytes::Bytes::new());
    };
    let Some(second) = events.next() else {
        return first;
    };
    let mut buf = BytesMut::from(first.as_bytes().as_ref());
    buf.extend_from_slice(second.as_bytes());
    for event in events {
        buf.extend_from_slice(event.as_bytes());
    }
    Event::from_encoded(buf.freeze())
}
