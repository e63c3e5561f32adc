//! Server-Sent Events, parsed into their fields.

use std::time::Duration;

/// One event of a stream, parsed into its fields.
///
/// ```
/// use livestar::testing::SseEvent;
///
/// let event = SseEvent::parse(
///     "event: datastar-patch-elements\nid: 7\ndata: selector #a\ndata: elements <b>1</b>\n\n",
/// ).expect("an event");
/// assert_eq!(event.id.as_deref(), Some("7"));
/// assert_eq!(event.selector().as_deref(), Some("#a"));
/// assert_eq!(event.elements().as_deref(), Some("<b>1</b>"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field: `datastar-patch-elements`, `datastar-patch-signals`, or `None` for
    /// a comment or a bare `retry:`.
    pub event: Option<String>,
    /// The `id:` field.
    pub id: Option<String>,
    /// The `retry:` field.
    pub retry: Option<Duration>,
    /// The `data:` lines, without `data: `.
    pub data: Vec<String>,
    /// The comment lines, without `: `.
    pub comments: Vec<String>,
}

impl SseEvent {
    /// Parses one event, with or without its final blank line; `None` when it has no field.
    ///
    /// ```
    /// use livestar::testing::SseEvent;
    ///
    /// let heartbeat = SseEvent::parse(": heartbeat").expect("a comment");
    /// assert_eq!(heartbeat.comments, ["heartbeat"]);
    /// assert_eq!(heartbeat.event, None);
    /// assert_eq!(SseEvent::parse("\n"), None);
    /// ```
    pub fn parse(block: &str) -> Option<SseEvent> {
        let mut event = SseEvent::default();
        let mut any = false;
        for line in block.lines() {
            if line.is_empty() {
                continue;
            }
            any = true;
            if let Some(comment) = line.strip_prefix(':') {
                event
                    .comments
                    .push(comment.strip_prefix(' ').unwrap_or(comment).to_owned());
                continue;
            }
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match name {
                "event" => event.event = Some(value.to_owned()),
                "id" => event.id = Some(value.to_owned()),
                "retry" => event.retry = value.parse().ok().map(Duration::from_millis),
                "data" => event.data.push(value.to_owned()),
                _ => {}
            }
        }
        any.then_some(event)
    }

    /// Every `data: <key> ...` line's value for `key`, joined by line breaks, as Datastar
    /// reads multi-line values.
    ///
    /// ```
    /// let event = livestar::testing::SseEvent::parse("data: signals {\"a\":1}\n").unwrap();
    /// assert_eq!(event.data_field("signals").as_deref(), Some("{\"a\":1}"));
    /// ```
    pub fn data_field(&self, key: &str) -> Option<String> {
        let mut values = self.data.iter().filter_map(|line| {
            let rest = line.strip_prefix(key)?;
            if rest.is_empty() {
                Some("")
            } else {
                rest.strip_prefix(' ')
            }
        });
        let first = values.next()?;
        Some(values.fold(first.to_owned(), |mut all, line| {
            all.push('\n');
            all.push_str(line);
            all
        }))
    }

    /// The HTML of a `datastar-patch-elements` event.
    ///
    /// ```
    /// let event = livestar::testing::SseEvent::parse("data: elements <i>x</i>\n").unwrap();
    /// assert_eq!(event.elements().as_deref(), Some("<i>x</i>"));
    /// ```
    pub fn elements(&self) -> Option<String> {
        self.data_field("elements")
    }

    /// The `selector` of a patch.
    ///
    /// ```
    /// let event = livestar::testing::SseEvent::parse("data: selector #list\n").unwrap();
    /// assert_eq!(event.selector().as_deref(), Some("#list"));
    /// ```
    pub fn selector(&self) -> Option<String> {
        self.data_field("selector")
    }

    /// The `mode` of a patch (`None` means the default, `outer`).
    ///
    /// ```
    /// let event = livestar::testing::SseEvent::parse("data: mode inner\n").unwrap();
    /// assert_eq!(event.mode().as_deref(), Some("inner"));
    /// ```
    pub fn mode(&self) -> Option<String> {
        self.data_field("mode")
    }

    /// Whether the event is only comments, such as a heartbeat.
    ///
    /// ```
    /// let event = livestar::testing::SseEvent::parse(": heartbeat\n").unwrap();
    /// assert!(event.is_comment());
    /// ```
    pub fn is_comment(&self) -> bool {
        self.event.is_none() && self.data.is_empty() && !self.comments.is_empty()
    }
}

/// The end (after the blank line) of the first complete event in `buffer`.
pub(crate) fn block_end(buffer: &[u8]) -> Option<usize> {
    // Line by line: an event has a handful of lines, so this beats setting up a substring
    // search for every event.
    memchr::memchr_iter(b'\n', buffer)
        .find(|&at| buffer.get(at + 1) == Some(&b'\n'))
        .map(|at| at + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_ends_after_its_blank_line() {
        assert_eq!(block_end(b"data: a\n\nevent: b\n\n"), Some(9));
        assert_eq!(block_end(b"\n\n"), Some(2));
        assert_eq!(block_end(b"data: a\ndata: b\n\n"), Some(17));
    }

    #[test]
    fn an_unfinished_event_has_no_end_yet() {
        assert_eq!(block_end(b""), None);
        assert_eq!(block_end(b"data: a\n"), None);
        assert_eq!(block_end(b"data: a\ndata: b\n"), None);
    }
}
