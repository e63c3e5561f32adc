//! Whether Datastar can apply an element patch as meant: the checks that
//! [`TestClient`](crate::testing::TestClient) fails a test on and that a live view logs in
//! debug builds.
//!
//! Datastar finds the element a patch replaces or morphs by the `id` of each top-level
//! element when no selector is given, and morphing matches elements by `id` inside the patch
//! too. So a root element without an `id` (in a mode that matches roots by `id`, with no
//! selector) patches nothing, and an `id` that appears twice makes the morph pick one of them.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use super::Mode;

/// One reason a patch would not apply as meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MorphProblem {
    /// Two elements of the patch have this `id`.
    DuplicateId(String),
    /// A top-level element (this tag) has no `id`, in a mode that needs one when no selector
    /// is given.
    RootWithoutId { tag: String, mode: Mode },
}

impl fmt::Display for MorphProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MorphProblem::DuplicateId(id) => write!(
                f,
                "the id `{id}` appears more than once in the patch; give every element a unique id"
            ),
            MorphProblem::RootWithoutId { tag, mode } => write!(
                f,
                "the top-level `<{tag}>` has no id and the patch (mode {}) has no selector, so \
                 Datastar cannot find what it replaces; give it an id or set a selector",
                mode.as_str()
            ),
        }
    }
}

/// Whether roots need an `id` in `mode` when no selector is given: the two morph modes, and
/// `replace`, which finds its target the same way.
fn matches_roots_by_id(mode: Mode) -> bool {
    matches!(mode, Mode::Outer | Mode::Inner | Mode::Replace)
}

/// Every problem of patching `html` in `mode`, with or without a selector.
pub(crate) fn problems(html: &str, mode: Mode, has_selector: bool) -> Vec<MorphProblem> {
    let roots_need_ids = !has_selector && matches_roots_by_id(mode);
    let mut seen = HashSet::new();
    let mut reported = HashSet::new();
    let mut problems = Vec::new();
    for tag in StartTags::new(html) {
        match tag.id {
            Some(id) if !id.is_empty() => {
                let first = seen.insert(id.clone());
                if !first && reported.insert(id.clone()) {
                    problems.push(MorphProblem::DuplicateId(id.into_owned()));
                }
            }
            _ if roots_need_ids && tag.depth == 0 => {
                problems.push(MorphProblem::RootWithoutId {
                    tag: tag.name.to_ascii_lowercase(),
                    mode,
                });
            }
            _ => {}
        }
    }
    problems
}

/// Debug builds: logs the problems of a live view's patch, the first time a route has any.
/// Release builds do not check.
#[cfg(debug_assertions)]
pub(crate) fn log_once_per_route(route: &'static str, html: &str, mode: Mode, has_selector: bool) {
    use std::sync::Mutex;

    static LOGGED: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let logged = |logged: &Vec<&'static str>| logged.contains(&route);
    if LOGGED.lock().map(|l| logged(&l)).unwrap_or(true) {
        return;
    }
    let problems = problems(html, mode, has_selector);
    if problems.is_empty() {
        return;
    }
    if let Ok(mut routes) = LOGGED.lock() {
        if logged(&routes) {
            return;
        }
        routes.push(route);
    }
    let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
    tracing::warn!(
        live_view = route,
        problems = %problems.join("; "),
        "live view patch would not morph safely (logged once per route, in debug builds)"
    );
}

/// A start tag of the scanned HTML.
struct StartTag<'a> {
    name: &'a str,
    id: Option<Cow<'a, str>>,
    /// How many elements it is inside: 0 for a root.
    depth: usize,
}

/// The start tags of an HTML fragment, in order, with their nesting depth. A scanner, not
/// a parser: comments, doctypes, end tags, quoted attribute values and the text of raw-text
/// elements are skipped, and void elements do not nest.
struct StartTags<'a> {
    html: &'a str,
    at: usize,
    depth: usize,
}

impl<'a> StartTags<'a> {
    fn new(html: &'a str) -> Self {
        StartTags {
            html,
            at: 0,
            depth: 0,
        }
    }

    /// Moves past the next `needle` (or to the end).
    fn skip_past(&mut self, needle: &str) {
        self.at = match self.html[self.at..].find(needle) {
            Some(offset) => self.at + offset + needle.len(),
            None => self.html.len(),
        };
    }

    /// Moves past the end tag of the raw-text element `name`.
    fn skip_raw_text(&mut self, name: &str) {
        let rest = &self.html.as_bytes()[self.at..];
        let end = (0..rest.len()).find(|&i| {
            rest[i..].starts_with(b"</")
                && rest[i + 2..]
                    .get(..name.len())
                    .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
        });
        match end {
            Some(offset) => {
                self.at += offset;
                self.skip_past(">");
            }
            None => self.at = self.html.len(),
        }
    }

    /// Reads the attributes after a tag's name: the `id`, and whether the tag ends in `/>`.
    fn attributes(&mut self) -> (Option<Cow<'a, str>>, bool) {
        let html = self.html;
        let bytes = html.as_bytes();
        let mut id = None;
        loop {
            while self.at < bytes.len() && bytes[self.at].is_ascii_whitespace() {
                self.at += 1;
            }
            match bytes.get(self.at) {
                None => return (id, false),
                Some(b'>') => {
                    self.at += 1;
                    return (id, false);
                }
                Some(b'/') if bytes.get(self.at + 1) == Some(&b'>') => {
                    self.at += 2;
                    return (id, true);
                }
                Some(_) => {}
            }
            let name_start = self.at;
            // A name ends at a space, `=`, `>` or a `/` after its first byte.
            let in_name = |at: usize| match bytes.get(at) {
                None | Some(b'=' | b'>') => false,
                Some(b'/') => at == name_start,
                Some(byte) => !byte.is_ascii_whitespace(),
            };
            while in_name(self.at) {
                self.at += 1;
            }
            let name = &html[name_start..self.at];
            while self.at < bytes.len() && bytes[self.at].is_ascii_whitespace() {
                self.at += 1;
            }
            let value = if bytes.get(self.at) == Some(&b'=') {
                self.at += 1;
                while self.at < bytes.len() && bytes[self.at].is_ascii_whitespace() {
                    self.at += 1;
                }
                let start = self.at;
                match bytes.get(self.at) {
                    Some(&quote @ (b'"' | b'\'')) => {
                        let end = html[start + 1..]
                            .find(quote as char)
                            .map_or(html.len(), |offset| start + 1 + offset);
                        self.at = (end + 1).min(html.len());
                        &html[start + 1..end]
                    }
                    _ => {
                        while self.at < bytes.len()
                            && !bytes[self.at].is_ascii_whitespace()
                            && bytes[self.at] != b'>'
                        {
                            self.at += 1;
                        }
                        &html[start..self.at]
                    }
                }
            } else {
                ""
            };
            if name.eq_ignore_ascii_case("id") && id.is_none() {
                id = Some(html_escape::decode_html_entities(value));
            }
        }
    }
}

impl<'a> Iterator for StartTags<'a> {
    type Item = StartTag<'a>;

    fn next(&mut self) -> Option<StartTag<'a>> {
        let html = self.html;
        loop {
            let offset = memchr::memchr(b'<', &html.as_bytes()[self.at..])?;
            self.at += offset;
            let rest = &html[self.at..];
            if rest.starts_with("<!--") {
                self.at += 4;
                self.skip_past("-->");
            } else if rest.starts_with("</") {
                self.depth = self.depth.saturating_sub(1);
                self.skip_past(">");
            } else if rest.starts_with("<!") || rest.starts_with("<?") {
                self.skip_past(">");
            } else if rest.as_bytes().get(1).is_some_and(u8::is_ascii_alphabetic) {
                let name_end = rest[1..]
                    .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
                    .map_or(rest.len(), |end| end + 1);
                let name = &rest[1..name_end];
                self.at += name_end;
                let (id, self_closing) = self.attributes();
                let depth = self.depth;
                if !self_closing && !is_void(name) {
                    if is_raw_text(name) {
                        self.skip_raw_text(name);
                    } else {
                        self.depth += 1;
                    }
                }
                return Some(StartTag { name, id, depth });
            } else {
                self.at += 1;
            }
        }
    }
}

fn is_void(name: &str) -> bool {
    const VOID: [&str; 13] = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr",
    ];
    VOID.iter().any(|void| name.eq_ignore_ascii_case(void))
}

/// Elements whose content is text up to their end tag, never tags.
fn is_raw_text(name: &str) -> bool {
    ["script", "style", "textarea", "title"]
        .iter()
        .any(|raw| name.eq_ignore_ascii_case(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outer(html: &str) -> Vec<MorphProblem> {
        problems(html, Mode::Outer, false)
    }

    fn duplicate(id: &str) -> MorphProblem {
        MorphProblem::DuplicateId(id.to_owned())
    }

    #[test]
    fn roots_with_unique_ids_are_safe() {
        assert_eq!(
            outer(r#"<ul id="a"><li id="b">x</li></ul><p id=c>y</p>"#),
            []
        );
    }

    #[test]
    fn an_id_used_twice_is_reported_once() {
        let html = r#"<ul id="list"><li id="x">1</li><li id='x'>2</li><li id="x">3</li></ul>"#;
        assert_eq!(outer(html), [duplicate("x")]);
    }

    #[test]
    fn duplicate_ids_are_reported_in_every_mode() {
        let html = r#"<li id="x">1</li><li id="x">2</li>"#;
        assert_eq!(problems(html, Mode::Append, true), [duplicate("x")]);
    }

    #[test]
    fn ids_are_compared_after_decoding_entities() {
        assert_eq!(
            outer(r#"<b id="a&amp;b"></b><i id="a&b"></i>"#),
            [duplicate("a&b")]
        );
    }

    #[test]
    fn a_root_without_an_id_needs_a_selector_in_morph_modes() {
        let root = |mode| MorphProblem::RootWithoutId {
            tag: "li".to_owned(),
            mode,
        };
        assert_eq!(outer("<li>x</li>"), [root(Mode::Outer)]);
        assert_eq!(
            problems("<li>x</li>", Mode::Inner, false),
            [root(Mode::Inner)]
        );
        assert_eq!(problems("<li>x</li>", Mode::Outer, true), []);
        assert_eq!(problems("<li>x</li>", Mode::Append, false), []);
    }

    #[test]
    fn nested_elements_need_no_id() {
        assert_eq!(
            outer(r#"<ul id="a"><li><b>x</b></li><br><img src="/i"></ul>"#),
            []
        );
    }

    #[test]
    fn void_and_self_closing_elements_do_not_nest() {
        let html = r#"<svg id="s"><circle r="1"/></svg><input id="i"><span>x</span>"#;
        assert_eq!(
            outer(html),
            [MorphProblem::RootWithoutId {
                tag: "span".to_owned(),
                mode: Mode::Outer
            }]
        );
    }

    #[test]
    fn comments_quoted_values_and_raw_text_hide_no_tags() {
        let html = r#"<div id="d" title="<p id='d'>"><!-- <p id="d"> --><script>"<p id='d'>"</script></div>"#;
        assert_eq!(outer(html), []);
    }

    #[test]
    fn an_empty_id_counts_as_none() {
        assert_eq!(
            outer(r#"<p id="">x</p>"#),
            [MorphProblem::RootWithoutId {
                tag: "p".to_owned(),
                mode: Mode::Outer
            }]
        );
    }

    #[test]
    fn problems_say_what_to_write_instead() {
        assert!(duplicate("x").to_string().contains("unique id"));
        let root = MorphProblem::RootWithoutId {
            tag: "li".to_owned(),
            mode: Mode::Outer,
        };
        assert!(root.to_string().contains("give it an id or set a selector"));
    }
}
