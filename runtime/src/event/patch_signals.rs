//! The `datastar-patch-signals` event.

use super::{Common, Event, PATCH_SIGNALS, sse};

/// A `datastar-patch-signals` event being built; see [`Event::patch_signals`].
///
/// ```
/// use livestar::event::Event;
///
/// let event: Event = Event::patch_signals(serde_json::json!({ "draft": "" }))
///     .only_if_missing(true)
///     .into();
/// assert_eq!(
///     event.as_str(),
///     "event: datastar-patch-signals\ndata: onlyIfMissing true\ndata: signals {\"draft\":\"\"}\n\n"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "an event does nothing until it is sent"]
pub struct PatchSignals {
    common: Common,
    json: String,
    only_if_missing: bool,
}

impl PatchSignals {
    /// Patches signals from a `Serialize` value; see [`Event::patch_signals`] for what a
    /// serialisation error does.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use livestar::event::PatchSignals;
    ///
    /// assert_eq!(PatchSignals::new(serde_json::json!({ "count": 1 })).json(), r#"{"count":1}"#);
    /// // JSON object keys must be strings: this is logged and patches nothing.
    /// let bad: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
    /// assert_eq!(PatchSignals::new(&bad).json(), "{}");
    /// ```
    pub fn new(signals: impl serde::Serialize) -> Self {
        Self::try_new(signals).unwrap_or_else(|error| {
            tracing::error!(%error, "signals could not be serialised as JSON; patching nothing");
            Self::raw("{}")
        })
    }

    /// Patches signals from a `Serialize` value, or returns why it cannot be serialised.
    ///
    /// ```
    /// use livestar::event::PatchSignals;
    ///
    /// let patch = PatchSignals::try_new(serde_json::json!({ "a": 1 })).unwrap();
    /// assert_eq!(patch.json(), r#"{"a":1}"#);
    /// ```
    pub fn try_new(signals: impl serde::Serialize) -> Result<Self, serde_json::Error> {
        serde_json::to_string(&signals).map(Self::raw)
    }

    /// Patches signals with JSON text used verbatim.
    ///
    /// ```
    /// use livestar::event::PatchSignals;
    ///
    /// assert_eq!(PatchSignals::raw("{a: 1}").json(), "{a: 1}");
    /// ```
    pub fn raw(json: impl Into<String>) -> Self {
        PatchSignals {
            common: Common::default(),
            json: json.into(),
            only_if_missing: false,
        }
    }

    /// Removes the signals at the given dotted paths, by patching them to `null`.
    ///
    /// ```
    /// use livestar::event::PatchSignals;
    ///
    /// assert_eq!(PatchSignals::remove(["a.b", "c"]).json(), r#"{"a":{"b":null},"c":null}"#);
    /// ```
    pub fn remove<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut root = serde_json::Map::new();
        for path in paths {
            let mut node = &mut root;
            let mut segments = path.as_ref().split('.').peekable();
            while let Some(segment) = segments.next() {
                if segments.peek().is_none() {
                    node.insert(segment.to_owned(), serde_json::Value::Null);
                    break;
                }
                let child = node
                    .entry(segment.to_owned())
                    .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
                if !child.is_object() {
                    // A parent removed by an earlier path stays removed as a whole.
                    break;
                }
                node = match child {
                    serde_json::Value::Object(map) => map,
                    _ => break,
                };
            }
        }
        Self::new(serde_json::Value::Object(root))
    }

    /// Only sets signals the client does not have yet (for defaults).
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let event: Event = Event::patch_signals_raw("{a:1}").only_if_missing(true).into();
    /// assert!(event.as_str().contains("data: onlyIfMissing true\n"));
    /// ```
    pub fn only_if_missing(mut self, on: bool) -> Self {
        self.only_if_missing = on;
        self
    }

    /// Whether only missing signals are set.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// assert!(Event::patch_signals_raw("{}").only_if_missing(true).is_only_if_missing());
    /// ```
    pub fn is_only_if_missing(&self) -> bool {
        self.only_if_missing
    }

    /// The JSON this event patches with.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// assert_eq!(Event::patch_signals(serde_json::json!({"n": 1})).json(), r#"{"n":1}"#);
    /// ```
    pub fn json(&self) -> &str {
        &self.json
    }

    super::common_builder_methods!();

    /// Encodes the event.
    ///
    /// ```
    /// use livestar::event::Event;
    ///
    /// let event = Event::patch_signals_raw("{}").encode();
    /// assert_eq!(event.as_str(), "event: datastar-patch-signals\ndata: signals {}\n\n");
    /// ```
    pub fn encode(&self) -> Event {
        let mut buf = self.common.start(PATCH_SIGNALS, self.json.len() + 16);
        if self.only_if_missing {
            buf.extend_from_slice(b"data: onlyIfMissing true\n");
        }
        sse::data_lines(&mut buf, "signals", &self.json);
        Event::finish(buf)
    }
}

impl From<PatchSignals> for Event {
    fn from(patch: PatchSignals) -> Event {
        patch.encode()
    }
}
