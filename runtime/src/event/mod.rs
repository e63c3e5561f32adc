//! Datastar v1 events and their encoding as Server-Sent Events.
//!
//! Build an event with one of the constructors on [`Event`], adjust it with the builder's
//! methods, and turn it into an [`Event`] (with `.into()`, or by handing the builder to anything
//! that takes `impl Into<Event>`). An [`Event`] is already encoded: its bytes are written once
//! and cloning it is a reference-count increment, so one event can be sent to any number of
//! clients without encoding it again.
//!
//! ```
//! use livestar::event::{Event, Mode};
//! use livestar::render::Html;
//!
//! let event: Event = Event::patch_elements(Html::from_trusted("<li>milk</li>".into()))
//!     .selector("#list")
//!     .mode(Mode::Append)
//!     .into();
//! assert_eq!(
//!     event.as_bytes(),
//!     "event: datastar-patch-elements\n\
//!      data: selector #list\n\
//!      data: mode append\n\
//!      data: elements <li>milk</li>\n\n"
//! );
//! ```
//!
//! Defaults are left out of the encoding (retry 1000 ms, mode `outer`, namespace `html`, false
//! booleans), as the Datastar SDK specification asks.
//!
//! # Line breaks
//! No value can inject an SSE field. Multi-line values (elements, signals, scripts, comments)
//! are written one line per `data:` line and reassembled by the client with `\n`, so CR and CRLF
//! arrive as LF. Single-line values (`id`, `selector`) have each CR, LF or CRLF replaced by a
//! space.

mod content_id;
pub(crate) mod morph_check;
mod patch_elements;
mod patch_signals;
mod script;
pub(crate) mod sse;

use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

pub use content_id::ContentId;
pub use patch_elements::{Mode, Namespace, PatchElements};
pub use patch_signals::PatchSignals;
pub use script::ExecuteScript;

use crate::render::Render;

/// The SSE event type of element patches.
///
/// ```
/// use livestar::event::{Event, PATCH_ELEMENTS};
///
/// let event: Event = Event::remove_elements("#a").into();
/// assert!(event.as_str().starts_with(&format!("event: {PATCH_ELEMENTS}\n")));
/// ```
pub const PATCH_ELEMENTS: &str = "datastar-patch-elements";
/// The SSE event type of signal patches.
///
/// ```
/// use livestar::event::{Event, PATCH_SIGNALS};
///
/// let event: Event = Event::patch_signals(serde_json::json!({ "n": 1 })).into();
/// assert!(event.as_str().starts_with(&format!("event: {PATCH_SIGNALS}\n")));
/// ```
pub const PATCH_SIGNALS: &str = "datastar-patch-signals";
/// The reconnection delay a client uses when the server names none.
///
/// ```
/// use livestar::event::{DEFAULT_RETRY, Event};
///
/// // The client would assume it anyway, so it is not written.
/// let event: Event = Event::remove_elements("#a").retry(DEFAULT_RETRY).into();
/// assert!(!event.as_str().contains("retry:"));
/// ```
pub const DEFAULT_RETRY: Duration = Duration::from_millis(1000);

/// One encoded Server-Sent Event (or comment), ready to be written to any number of streams.
///
/// ```
/// use livestar::event::Event;
///
/// let event = Event::comment("still here");
/// let copy = event.clone(); // shares the same bytes
/// assert_eq!(copy.as_bytes(), ": still here\n\n");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Event {
    bytes: Bytes,
}

impl Event {
    /// Patches elements into the DOM: by default each top-level element morphs the element of
    /// the page with the same `id` (mode [`Mode::Outer`]).
    ///
    /// ```
    /// use livestar::event::Event;
    /// use livestar::prelude::*;
    ///
    /// let event: Event = Event::patch_elements(html! { <p id="n">{2}</p> }).into();
    /// assert_eq!(event.as_str(), "event: datastar-patch-elements\ndata: elements <p id=\"n\">2</p>\n\n");
    /// ```
    pub fn patch_elements(elements: impl Render) -> PatchElements {
        PatchElements::new(elements)
    }

    /// Removes the elements that match a CSS `selector`.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let event: Event = Event::remove_elements("#todo-3").into();
    /// assert_eq!(
    ///     event.as_bytes(),
    ///     "event: datastar-patch-elements\ndata: selector #todo-3\ndata: mode remove\n\n"
    /// );
    /// ```
    pub fn remove_elements(selector: impl Into<String>) -> PatchElements {
        PatchElements::remove(selector)
    }

    /// Patches signals with a JSON merge patch made from any `Serialize` value (`null` values
    /// remove signals).
    ///
    /// A value whose serialisation fails (a map with non-string keys, a failing `Serialize`
    /// impl) is logged with `tracing::error!` and the event patches nothing (`{}`); use
    /// [`Event::try_patch_signals`] to handle that error yourself.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let event: Event = Event::patch_signals(serde_json::json!({ "unreadCount": 3 })).into();
    /// assert_eq!(
    ///     event.as_bytes(),
    ///     "event: datastar-patch-signals\ndata: signals {\"unreadCount\":3}\n\n"
    /// );
    /// ```
    pub fn patch_signals(signals: impl serde::Serialize) -> PatchSignals {
        PatchSignals::new(signals)
    }

    /// Like [`Event::patch_signals`], but returns the serialisation error.
    ///
    /// ```
    /// use livestar::event::Event;
    /// use std::collections::BTreeMap;
    ///
    /// let bad: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
    /// assert!(Event::try_patch_signals(&bad).is_err());
    /// ```
    pub fn try_patch_signals(
        signals: impl serde::Serialize,
    ) -> Result<PatchSignals, serde_json::Error> {
        PatchSignals::try_new(signals)
    }

    /// Patches signals with JSON text that is already serialised (used verbatim, so it may be
    /// a JavaScript object literal the client accepts, such as `{count: 1}`).
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let event: Event = Event::patch_signals_raw("{count: 1}").into();
    /// assert_eq!(event.as_bytes(), "event: datastar-patch-signals\ndata: signals {count: 1}\n\n");
    /// ```
    pub fn patch_signals_raw(json: impl Into<String>) -> PatchSignals {
        PatchSignals::raw(json)
    }

    /// Removes signals by their dotted paths (`"user.name"`), by patching them to `null`.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let event: Event = Event::remove_signals(["draft", "user.name"]).into();
    /// assert_eq!(
    ///     event.as_bytes(),
    ///     "event: datastar-patch-signals\ndata: signals {\"draft\":null,\"user\":{\"name\":null}}\n\n"
    /// );
    /// ```
    pub fn remove_signals<I, S>(paths: I) -> PatchSignals
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        PatchSignals::remove(paths)
    }

    /// Runs a script in the browser: a `<script>` appended to `body` that removes itself after
    /// running (see [`ExecuteScript::auto_remove`]). The script is sent verbatim; never build it
    /// from user input without escaping it for JavaScript.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let event: Event = Event::execute_script("console.log('hi')").into();
    /// assert!(event.as_str().contains(r#"<script data-effect="el.remove()">console.log('hi')</script>"#));
    /// ```
    pub fn execute_script(script: impl Into<String>) -> ExecuteScript {
        ExecuteScript::new(script)
    }

    /// An SSE comment (`: text`): ignored by the client, it keeps idle connections open and
    /// can mark points in a stream for debugging. Each line of `text` becomes its own comment
    /// line.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// assert_eq!(Event::comment("a\nb").as_bytes(), ": a\n: b\n\n");
    /// ```
    pub fn comment(text: &str) -> Event {
        let mut buf = BytesMut::with_capacity(text.len() + 4);
        sse::comment_lines(&mut buf, text);
        Event::finish(buf)
    }

    /// A frame that only sets the client's reconnection delay (`retry: millis`). Clients apply
    /// it at once; it dispatches no event.
    ///
    /// ```
    /// use livestar::event::Event;
    /// use std::time::Duration;
    ///
    /// assert_eq!(Event::retry(Duration::from_secs(3)).as_bytes(), "retry: 3000\n\n");
    /// ```
    pub fn retry(delay: Duration) -> Event {
        let mut buf = BytesMut::with_capacity(24);
        sse::retry_field(&mut buf, millis(delay));
        Event::finish(buf)
    }

    /// The encoded bytes, as written to the wire.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let event = Event::comment("x");
    /// assert_eq!(event.as_bytes().as_ref(), b": x\n\n");
    /// ```
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The encoded text (always UTF-8).
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// assert_eq!(Event::comment("x").as_str(), ": x\n\n");
    /// ```
    pub fn as_str(&self) -> &str {
        // Every byte was written from `&str` values and ASCII punctuation.
        std::str::from_utf8(&self.bytes).unwrap_or_default()
    }

    /// The encoded bytes, owned.
    ///
    /// ```
    /// use std::time::Duration;
    /// use livestar::event::Event;
    ///
    /// let bytes: bytes::Bytes = Event::retry(Duration::from_secs(1)).into_bytes();
    /// assert_eq!(bytes, "retry: 1000\n\n");
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// Wraps frames that are already encoded, for the hub: one batch of events sent together
    /// (their frames concatenated), or frames received from a backplane. The caller vouches
    /// that `bytes` is UTF-8 made of complete SSE frames.
    pub(crate) fn from_encoded(bytes: Bytes) -> Event {
        Event { bytes }
    }

    /// Ends the event with its blank line and freezes the buffer.
    fn finish(mut buf: BytesMut) -> Event {
        buf.extend_from_slice(b"\n");
        Event {
            bytes: buf.freeze(),
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Event").field(&self.as_str()).finish()
    }
}

impl From<Event> for Bytes {
    fn from(event: Event) -> Bytes {
        event.bytes
    }
}

/// The `id` and `retry` fields every Datastar event may carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Common {
    pub(crate) id: Option<EventId>,
    pub(crate) retry: Option<Duration>,
}

/// An event's `id`: the caller's text, or a live view's content hash, which is written as 16
/// hex digits straight into the event (no `String` per patch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EventId {
    Text(String),
    Content(ContentId),
}

impl Common {
    /// Starts an event: `event`, `id` and `retry` lines, in the canonical order.
    fn start(&self, event_type: &str, capacity: usize) -> BytesMut {
        let mut buf = BytesMut::with_capacity(capacity + 64);
        sse::single_line_field(&mut buf, "event", event_type);
        match &self.id {
            Some(EventId::Text(id)) => sse::single_line_field(&mut buf, "id", id),
            Some(EventId::Content(id)) => {
                let mut line = *b"id: 0123456789abcdef\n";
                line[4..20].copy_from_slice(&id.hex_digits());
                buf.extend_from_slice(&line);
            }
            None => {}
        }
        if let Some(retry) = self.retry
            && retry != DEFAULT_RETRY
        {
            sse::retry_field(&mut buf, millis(retry));
        }
        buf
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Adds the `id` and `retry` builder methods shared by every event builder.
macro_rules! common_builder_methods {
    () => {
        /// Sets the SSE `id`: the client sends it back as `Last-Event-ID` when it reconnects.
        /// Line breaks in it are replaced by spaces.
        ///
        /// ```
        /// use livestar::event::Event;
        ///
        /// let event: Event = Event::remove_elements("#a").id("v2").into();
        /// assert!(event.as_str().contains("\nid: v2\n"));
        /// ```
        pub fn id(mut self, id: impl Into<String>) -> Self {
            self.common.id = Some(crate::event::EventId::Text(id.into()));
            self
        }

        /// Sets the reconnection delay the client waits before reconnecting after this
        /// stream fails (1000 ms, the default, is not written).
        ///
        /// ```
        /// use livestar::event::Event;
        /// use std::time::Duration;
        ///
        /// let event: Event = Event::remove_elements("#a").retry(Duration::from_secs(2)).into();
        /// assert!(event.as_str().contains("\nretry: 2000\n"));
        /// ```
        pub fn retry(mut self, delay: std::time::Duration) -> Self {
            self.common.retry = Some(delay);
            self
        }
    };
}
pub(crate) use common_builder_methods;
