//! Properties of `html!` escaping, for arbitrary strings: user data never breaks out of its
//! text node or attribute, and an HTML parser reads back exactly the original string.

use livestar::html;
use proptest::prelude::*;
use scraper::{Html as Document, Selector};

/// Arbitrary text, without the two characters an HTML parser rewrites on purpose
/// (`\r` is normalised to `\n`, NUL to U+FFFD): they say nothing about escaping.
fn user_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[<>&\"' a-z;#=/]{0,40}",
        Just("&amp;".to_owned()),
        Just("</p><script>alert(1)</script>".to_owned()),
        Just("\" onmouseover=\"alert(1)".to_owned()),
    ]
    .prop_map(|s| s.replace(['\r', '\0'], ""))
}

/// The part of `rendered` between `prefix` and `suffix`: what the user's data became.
fn between<'a>(rendered: &'a str, prefix: &str, suffix: &str) -> &'a str {
    let start = rendered.find(prefix).map_or(0, |i| i + prefix.len());
    let end = rendered.rfind(suffix).unwrap_or(rendered.len());
    &rendered[start..end]
}

/// Every `&` starts one of the entities the escaper writes.
fn ampersands_are_entities(escaped: &str) -> bool {
    escaped.match_indices('&').all(|(i, _)| {
        ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
            .iter()
            .any(|entity| escaped[i..].starts_with(entity))
    })
}

proptest! {
    #[test]
    fn text_interpolation_never_emits_raw_markup_characters(text in user_text()) {
        let rendered = html! { <p>{&text}</p> }.into_string();
        let inner = between(&rendered, "<p>", "</p>");
        prop_assert!(!inner.contains('<') && !inner.contains('>'), "{inner}");
        prop_assert!(ampersands_are_entities(inner), "{inner}");
    }

    #[test]
    fn attribute_interpolation_never_emits_a_raw_quote(value in user_text()) {
        let rendered = html! { <div title={&value}></div> }.into_string();
        let inner = between(&rendered, "<div title=\"", "\"></div>");
        prop_assert!(!inner.contains('"'), "{inner}");
        prop_assert!(!inner.contains('<') && !inner.contains('>'), "{inner}");
        prop_assert!(ampersands_are_entities(inner), "{inner}");
    }

    #[test]
    fn text_round_trips_through_an_html_parser(text in user_text()) {
        let rendered = html! { <p id="t">{&text}</p> }.into_string();
        let document = Document::parse_fragment(&rendered);
        let selector = Selector::parse("p#t").expect("valid selector");
        let parsed: String = document
            .select(&selector)
            .next()
            .map(|p| p.text().collect())
            .unwrap_or_default();
        prop_assert_eq!(parsed, text);
    }

    #[test]
    fn attribute_round_trips_through_an_html_parser(value in user_text()) {
        let rendered = html! { <div id="t" title={&value}></div> }.into_string();
        let document = Document::parse_fragment(&rendered);
        let selector = Selector::parse("div#t").expect("valid selector");
        let parsed = document
            .select(&selector)
            .next()
            .and_then(|div| div.value().attr("title"))
            .map(str::to_owned);
        prop_assert_eq!(parsed, Some(value));
    }

    #[test]
    fn datastar_signals_round_trip_as_json(value in user_text()) {
        let rendered = html! { <div id="t" data-signals:name={&value}></div> }.into_string();
        let document = Document::parse_fragment(&rendered);
        let selector = Selector::parse("div#t").expect("valid selector");
        let json = document
            .select(&selector)
            .next()
            .and_then(|div| div.value().attr("data-signals:name"))
            .map(str::to_owned)
            .unwrap_or_default();
        let decoded: String = serde_json::from_str(&json).expect("the attribute holds JSON");
        prop_assert_eq!(decoded, value);
    }
}
