//! Latest wins: which queued send a newer one makes obsolete.
//!
//! A send that is one `datastar-patch-elements` event in a replacing mode (`outer`, `inner`,
//! `replace`) rewrites its target whole, so an older queued patch of the same target shows
//! nothing the newer one does not: it is dropped from the queue. The target is the selector
//! when there is one, else the `id`s of the top-level elements, in order (Datastar matches
//! elements by id). Anything else (appends, signals, scripts, several events, an element
//! without an id) has no target and is never dropped.

use std::hash::{DefaultHasher, Hash, Hasher};

use crate::event::Event;

/// The target of a send that supersedes earlier sends of the same target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Supersedes(u64);

impl Supersedes {
    /// The target of `event`, computed once per send (not per client).
    pub(crate) fn of(event: &Event) -> Option<Supersedes> {
        let text = event.as_str();
        let body = text.strip_prefix("event: datastar-patch-elements\n")?;
        let body = body.strip_suffix("\n\n")?;
        if body.contains("\n\n") {
            return None; // several events
        }
        let mut selector = None;
        let mut mode = "outer";
        let mut namespace = "html";
        let mut elements = String::new();
        for line in body.split('\n') {
            if line.starts_with("id:") || line.starts_with("retry:") {
                continue;
            }
            let data = line.strip_prefix("data: ")?;
            let (key, value) = data.split_once(' ').unwrap_or((data, ""));
            match key {
                "selector" => selector = Some(value),
                "mode" => mode = value,
                "namespace" => namespace = value,
                "elements" => {
                    if !elements.is_empty() {
                        elements.push('\n');
                    }
                    elements.push_str(value);
                }
                _ => {}
            }
        }
        if !matches!(mode, "outer" | "inner" | "replace") {
            return None;
        }
        let mut hasher = DefaultHasher::new();
        (mode, namespace).hash(&mut hasher);
        match selector {
            Some(selector) => ("selector", selector).hash(&mut hasher),
            None => {
                let ids = top_level_ids(&elements)?;
                ("ids", ids).hash(&mut hasher);
            }
        }
        Some(Supersedes(hasher.finish()))
    }

    #[cfg(test)]
    pub(crate) fn for_test(key: u64) -> Supersedes {
        Supersedes(key)
    }
}

/// Elements whose content is text up to their end tag.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title"];
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// The `id`s of the top-level elements of `html`; `None` when one has none, when there is
/// top-level text, or when the markup cannot be followed.
fn top_level_ids(html: &str) -> Option<Vec<&str>> {
    let mut ids = Vec::new();
    let mut depth = 0usize;
    let mut rest = html;
    loop {
        let Some(open) = rest.find('<') else {
            return (depth == 0 && rest.trim().is_empty() && !ids.is_empty()).then_some(ids);
        };
        if depth == 0 && !rest[..open].trim().is_empty() {
            return None;
        }
        rest = &rest[open..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = &after[after.find("-->")? + 3..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("</") {
            depth = depth.checked_sub(1)?;
            rest = &after[after.find('>')? + 1..];
            continue;
        }
        let (name, attributes, self_closing, after) = start_tag(&rest[1..])?;
        rest = after;
        if depth == 0 {
            ids.push(attribute(attributes, "id")?);
        }
        let lower = name.to_ascii_lowercase();
        if RAW_TEXT.contains(&lower.as_str()) {
            let end = rest.to_ascii_lowercase().find(&format!("</{lower}"))?;
            rest = &rest[end..];
            depth += 1;
        } else if !self_closing && !VOID.contains(&lower.as_str()) {
            depth += 1;
        }
    }
}

/// A start tag after its `<`: the name, the attribute text, whether it ends in `/>`, and what
/// follows the tag.
fn start_tag(tag: &str) -> Option<(&str, &str, bool, &str)> {
    let name_end = tag
        .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
        .unwrap_or(tag.len());
    let name = &tag[..name_end];
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut quote = None;
    for (index, c) in tag[name_end..].char_indices() {
        let at = name_end + index;
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => {
                let attributes = &tag[name_end..at];
                let self_closing = attributes.ends_with('/');
                return Some((name, attributes, self_closing, &tag[at + 1..]));
            }
            (None, _) => {}
        }
    }
    None
}

/// The value of attribute `wanted` in a start tag's attribute text (quoted or not).
fn attribute<'a>(mut attributes: &'a str, wanted: &str) -> Option<&'a str> {
    loop {
        attributes = attributes.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if attributes.is_empty() {
            return None;
        }
        let name_end = attributes
            .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '/')
            .unwrap_or(attributes.len());
        let name = &attributes[..name_end];
        let rest = attributes[name_end..].trim_start();
        let (value, after) = match rest.strip_prefix('=') {
            Some(value) => {
                let value = value.trim_start();
                match value.chars().next() {
                    Some(q @ ('"' | '\'')) => {
                        let end = value[1..].find(q)? + 1;
                        (&value[1..end], &value[end + 1..])
                    }
                    _ => {
                        let end = value
                            .find(|c: char| c.is_ascii_whitespace())
                            .unwrap_or(value.len());
                        (&value[..end], &value[end..])
                    }
                }
            }
            None => ("", rest),
        };
        if name.eq_ignore_ascii_case(wanted) {
            return (!value.is_empty()).then_some(value);
        }
        attributes = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Mode;
    use crate::render::Html;

    fn patch(html: &str) -> crate::event::PatchElements {
        Event::patch_elements(Html::from_trusted(html.to_owned()))
    }

    fn key(event: impl Into<Event>) -> Option<Supersedes> {
        Supersedes::of(&event.into())
    }

    #[test]
    fn patches_of_the_same_element_share_a_target() {
        let a = key(patch(r#"<ul id="todos"><li>a</li></ul>"#));
        let b = key(patch(
            "<ul class='x' id=todos>\n<li>b</li><br><img src=x></ul>",
        ));
        assert!(a.is_some());
        assert_eq!(a, b);
    }

    #[test]
    fn the_selector_and_mode_are_part_of_the_target() {
        let inner = key(patch("<li>a</li>").selector("#list").mode(Mode::Inner));
        assert_eq!(
            inner,
            key(patch("<li>b</li><li>c</li>")
                .selector("#list")
                .mode(Mode::Inner))
        );
        assert_ne!(
            inner,
            key(patch("<li>b</li>").selector("#other").mode(Mode::Inner))
        );
        assert_ne!(inner, key(patch("<li>b</li>").selector("#list")));
    }

    #[test]
    fn appends_signals_and_batches_have_no_target() {
        assert_eq!(
            key(patch(r#"<li id="m1">hi</li>"#).mode(Mode::Append)),
            None
        );
        assert_eq!(key(Event::patch_signals(serde_json::json!({"a": 1}))), None);
        let batch = crate::hub::Batch::into_event([
            Event::from(patch(r#"<p id="a"></p>"#)),
            Event::from(patch(r#"<p id="a"></p>"#)),
        ]);
        assert_eq!(Supersedes::of(&batch), None);
        assert_eq!(key(Event::comment("x")), None);
    }

    #[test]
    fn every_top_level_element_needs_an_id() {
        assert_eq!(key(patch(r#"<p id="a"></p><p>no id</p>"#)), None);
        assert_eq!(key(patch(r#"text<p id="a"></p>"#)), None);
        assert_ne!(
            key(patch(r#"<p id="a"></p><p id="b"></p>"#)),
            key(patch(r#"<p id="a"></p>"#))
        );
    }

    #[test]
    fn nested_and_raw_text_elements_are_followed() {
        let a = key(patch(
            r#"<div id="x"><script>if (a < b) "</div><p id='y'>"</script><!-- <p> --></div>"#,
        ));
        assert_eq!(a, key(patch(r#"<div id="x"></div>"#)));
        assert_eq!(
            top_level_ids(r#"<div id="x" title="a>b"><br/></div>"#),
            Some(vec!["x"])
        );
        assert_eq!(top_level_ids("<div id=x>"), None);
        assert_eq!(top_level_ids("</div>"), None);
    }
}
