//! No value can inject an SSE field or end an event early: arbitrary strings, line breaks of
//! every kind included, are encoded, parsed back as a browser's EventSource parser does
//! (WHATWG HTML, "Interpreting an event stream"), then split into Datastar data lines as the
//! Datastar client does, and must come back as the same single event with the same content.

use std::collections::BTreeMap;

use livestar::event::{Event, Mode};
use livestar::render::Html;
use proptest::prelude::*;

/// One dispatched event as a browser sees it.
#[derive(Debug, Default, PartialEq)]
struct Parsed {
    event_type: String,
    id: Option<String>,
    retry: Option<u64>,
    data: String,
}

/// The WHATWG event-stream parser: lines end at CRLF, LF or CR; a blank line dispatches.
fn parse_stream(bytes: &[u8]) -> (Vec<Parsed>, Vec<String>) {
    let text = std::str::from_utf8(bytes).expect("UTF-8 stream");
    let mut events = Vec::new();
    let mut comments = Vec::new();
    let mut current = Parsed::default();
    let mut data_lines: Vec<String> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(['\r', '\n']).expect("every line is terminated");
        let line = &rest[..end];
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + skip..];
        if line.is_empty() {
            if !data_lines.is_empty() {
                current.data = data_lines.join("\n");
                events.push(std::mem::take(&mut current));
            }
            data_lines.clear();
            continue;
        }
        if let Some(comment) = line.strip_prefix(':') {
            comments.push(comment.strip_prefix(' ').unwrap_or(comment).to_owned());
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => current.event_type = value.to_owned(),
            "data" => data_lines.push(value.to_owned()),
            "id" if !value.contains('\0') => current.id = Some(value.to_owned()),
            "retry" => current.retry = value.parse().ok(),
            _ => {}
        }
    }
    (events, comments)
}

/// The Datastar client's reading of an event's data: one `key value` per line, lines of the
/// same key joined with `\n`.
fn datastar_fields(data: &str) -> BTreeMap<String, String> {
    let mut fields: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for line in data.split('\n') {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        fields.entry(key.to_owned()).or_default().push(value);
    }
    fields.into_iter().map(|(k, v)| (k, v.join("\n"))).collect()
}

/// What a multi-line value becomes on the wire: every line break is LF.
fn normalised(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// What a single-line value becomes on the wire: every line break is a space.
fn folded(text: &str) -> String {
    normalised(text).replace('\n', " ")
}

fn single_event(event: &Event) -> Parsed {
    let (mut events, comments) = parse_stream(event.as_bytes());
    assert!(comments.is_empty(), "unexpected comments {comments:?}");
    assert_eq!(events.len(), 1, "exactly one event in {:?}", event.as_str());
    events.remove(0)
}

/// Strings rich in the characters that matter: line breaks, colons, spaces and `data:`.
fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("\n".to_owned()),
            Just("\r".to_owned()),
            Just("\r\n".to_owned()),
            Just("\n\n".to_owned()),
            Just("data: ".to_owned()),
            Just("event: x".to_owned()),
            Just(": ".to_owned()),
            Just("id:".to_owned()),
            any::<String>(),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn elements_and_selector_arrive_as_sent(html in hostile(), selector in hostile()) {
        prop_assume!(!html.is_empty());
        let event: Event = Event::patch_elements(Html::from_trusted(html.clone()))
            .selector(selector.clone())
            .mode(Mode::Inner)
            .into();
        let parsed = single_event(&event);
        prop_assert_eq!(&parsed.event_type, "datastar-patch-elements");
        let fields = datastar_fields(&parsed.data);
        prop_assert_eq!(fields.get("elements"), Some(&normalised(&html)));
        prop_assert_eq!(fields.get("selector"), Some(&folded(&selector)));
        prop_assert_eq!(fields.get("mode").map(String::as_str), Some("inner"));
        prop_assert_eq!(fields.len(), 3);
    }

    #[test]
    fn id_is_one_field_whatever_it_contains(id in hostile(), html in hostile()) {
        prop_assume!(!id.contains('\0'));
        let event: Event = Event::patch_elements(Html::from_trusted(format!("<p>{html}</p>")))
            .id(id.clone())
            .into();
        let parsed = single_event(&event);
        prop_assert_eq!(parsed.id, Some(folded(&id)));
        prop_assert_eq!(parsed.retry, None);
    }

    #[test]
    fn raw_signals_arrive_as_sent(json in hostile()) {
        let event: Event = Event::patch_signals_raw(json.clone()).into();
        let parsed = single_event(&event);
        prop_assert_eq!(&parsed.event_type, "datastar-patch-signals");
        let fields = datastar_fields(&parsed.data);
        prop_assert_eq!(fields.get("signals"), Some(&normalised(&json)));
        prop_assert_eq!(fields.len(), 1);
    }

    #[test]
    fn serialised_signals_are_one_line(text in any::<String>()) {
        let event: Event = Event::patch_signals(serde_json::json!({ "text": text })).into();
        let parsed = single_event(&event);
        let fields = datastar_fields(&parsed.data);
        let value: serde_json::Value = serde_json::from_str(&fields["signals"]).expect("JSON");
        prop_assert_eq!(&value["text"], &serde_json::Value::String(text));
    }

    #[test]
    fn scripts_arrive_as_sent(script in hostile(), nonce in hostile()) {
        let event: Event = Event::execute_script(script.clone()).attribute("nonce", nonce).into();
        let parsed = single_event(&event);
        let fields = datastar_fields(&parsed.data);
        let elements = &fields["elements"];
        let expected_end = format!(">{}</script>", normalised(&script));
        prop_assert!(elements.ends_with(&expected_end), "{} does not end with {}", elements, expected_end);
        prop_assert_eq!(fields.get("selector").map(String::as_str), Some("body"));
    }

    #[test]
    fn comments_stay_comments(text in hostile()) {
        let event = Event::comment(&text);
        let (events, comments) = parse_stream(event.as_bytes());
        prop_assert!(events.is_empty());
        prop_assert_eq!(comments.join("\n"), normalised(&text));
    }
}
