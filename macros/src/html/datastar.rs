//! Datastar v1 attribute plugins: names, whether they take a key and a value, and their
//! modifiers with the tags each modifier accepts.
//!
//! Source: the Datastar v1 attribute reference (data-star.dev/reference/attributes) and the
//! plugin sources (`keyReq`/`valReq` of each plugin). A Datastar attribute is written
//! `data-{plugin}[:{key}][__{modifier}[.{tag}]*]*`.

/// Whether a plugin takes a key (`data-on:click`) or a value (`="..."`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Must be there.
    Must,
    /// May be there.
    Allowed,
    /// Must not be there.
    Denied,
    /// Exactly one of key and value (`data-bind:foo` or `data-bind="foo"`).
    Exclusive,
}

/// Whether the value of `plugin` is an expression the client runs as JavaScript: in `html!`
/// such a value must be an `Expression` (a literal, a typed action, `js!`, `Raw`), never a
/// string. `signals` takes JSON; `bind`, `ref` and `indicator` take signal names.
pub fn takes_expression(plugin: &str) -> bool {
    matches!(
        plugin,
        "on" | "on-intersect"
            | "on-interval"
            | "on-signal-patch"
            | "on-signal-patch-filter"
            | "text"
            | "show"
            | "effect"
            | "init"
            | "attr"
            | "class"
            | "style"
            | "computed"
    )
}

/// The tags (`.500ms`, `.leading`) a modifier accepts.
#[derive(Clone, Copy, Debug)]
pub enum Tags {
    /// No tags.
    None,
    /// A case conversion: `.camel`, `.kebab`, `.snake`, `.pascal`.
    Case,
    /// A duration (`.500ms`, `.1s`, `.250`) plus the listed flags.
    Timing(&'static [&'static str]),
    /// A number (`.25`).
    Number,
    /// Anything (a property or event name).
    Any,
}

/// One documented modifier of a plugin.
#[derive(Clone, Copy, Debug)]
pub struct ModifierSpec {
    pub name: &'static str,
    pub tags: Tags,
}

/// One attribute plugin.
#[derive(Clone, Copy, Debug)]
pub struct Plugin {
    pub name: &'static str,
    /// Part of Datastar Pro: checked only for near-miss modifier typos, so a Pro user is never
    /// blocked by a modifier these tables do not know yet.
    pub pro: bool,
    pub key: Requirement,
    pub value: Requirement,
    /// `None`: modifiers are not checked at all.
    pub modifiers: Option<&'static [ModifierSpec]>,
}

pub const CASE_TAGS: &[&str] = &["camel", "kebab", "snake", "pascal"];

const fn m(name: &'static str, tags: Tags) -> ModifierSpec {
    ModifierSpec { name, tags }
}

const CASE: ModifierSpec = m("case", Tags::Case);
const DELAY: ModifierSpec = m("delay", Tags::Timing(&[]));
const DEBOUNCE: ModifierSpec = m("debounce", Tags::Timing(&["leading", "notrailing"]));
const THROTTLE: ModifierSpec = m("throttle", Tags::Timing(&["noleading", "trailing"]));
const VIEW_TRANSITION: ModifierSpec = m("viewtransition", Tags::None);

const fn plugin(
    name: &'static str,
    key: Requirement,
    value: Requirement,
    modifiers: &'static [ModifierSpec],
) -> Plugin {
    Plugin {
        name,
        pro: false,
        key,
        value,
        modifiers: Some(modifiers),
    }
}

const fn pro(
    name: &'static str,
    key: Requirement,
    value: Requirement,
    modifiers: Option<&'static [ModifierSpec]>,
) -> Plugin {
    Plugin {
        name,
        pro: true,
        key,
        value,
        modifiers,
    }
}

use Requirement::{Allowed, Denied, Exclusive, Must};

/// Every Datastar v1 attribute plugin, free then Pro.
pub const PLUGINS: &[Plugin] = &[
    plugin("attr", Allowed, Must, &[]),
    plugin(
        "bind",
        Exclusive,
        Exclusive,
        &[CASE, m("prop", Tags::Any), m("event", Tags::Any)],
    ),
    plugin("class", Allowed, Must, &[CASE]),
    plugin("computed", Allowed, Must, &[CASE]),
    plugin("effect", Denied, Must, &[]),
    plugin("ignore", Denied, Allowed, &[m("self", Tags::None)]),
    plugin("ignore-morph", Denied, Allowed, &[]),
    plugin("indicator", Exclusive, Exclusive, &[CASE]),
    plugin("init", Denied, Must, &[DELAY, VIEW_TRANSITION]),
    plugin("json-signals", Denied, Allowed, &[m("terse", Tags::None)]),
    plugin(
        "on",
        Must,
        Must,
        &[
            m("once", Tags::None),
            m("passive", Tags::None),
            m("capture", Tags::None),
            CASE,
            DELAY,
            DEBOUNCE,
            THROTTLE,
            VIEW_TRANSITION,
            m("window", Tags::None),
            m("document", Tags::None),
            m("outside", Tags::None),
            m("prevent", Tags::None),
            m("stop", Tags::None),
            m("trusted", Tags::None),
        ],
    ),
    plugin(
        "on-intersect",
        Denied,
        Must,
        &[
            m("once", Tags::None),
            m("exit", Tags::None),
            m("half", Tags::None),
            m("full", Tags::None),
            m("threshold", Tags::Number),
            DELAY,
            DEBOUNCE,
            THROTTLE,
            VIEW_TRANSITION,
        ],
    ),
    plugin(
        "on-interval",
        Denied,
        Must,
        &[m("duration", Tags::Timing(&["leading"])), VIEW_TRANSITION],
    ),
    plugin(
        "on-signal-patch",
        Denied,
        Must,
        &[DELAY, DEBOUNCE, THROTTLE],
    ),
    plugin("on-signal-patch-filter", Denied, Must, &[]),
    plugin("preserve-attr", Denied, Must, &[]),
    plugin("ref", Exclusive, Exclusive, &[CASE]),
    plugin("show", Denied, Must, &[]),
    plugin(
        "signals",
        Allowed,
        Must,
        &[m("ifmissing", Tags::None), CASE],
    ),
    plugin("style", Allowed, Must, &[]),
    plugin("text", Denied, Must, &[]),
    // Datastar Pro
    pro("animate", Allowed, Allowed, None),
    pro("custom-validity", Allowed, Allowed, Some(&[])),
    pro("match-media", Allowed, Allowed, None),
    pro("on-raf", Allowed, Allowed, Some(&[THROTTLE])),
    pro("on-resize", Allowed, Allowed, Some(&[DEBOUNCE, THROTTLE])),
    pro(
        "persist",
        Allowed,
        Allowed,
        Some(&[m("session", Tags::None)]),
    ),
    pro(
        "query-string",
        Allowed,
        Allowed,
        Some(&[m("filter", Tags::None), m("history", Tags::None)]),
    ),
    pro("replace-url", Allowed, Allowed, Some(&[])),
    pro("rocket", Allowed, Allowed, None),
    pro(
        "scroll-into-view",
        Allowed,
        Allowed,
        Some(&[
            m("smooth", Tags::None),
            m("instant", Tags::None),
            m("auto", Tags::None),
            m("hstart", Tags::None),
            m("hcenter", Tags::None),
            m("hend", Tags::None),
            m("hnearest", Tags::None),
            m("vstart", Tags::None),
            m("vcenter", Tags::None),
            m("vend", Tags::None),
            m("vnearest", Tags::None),
            m("focus", Tags::None),
        ]),
    ),
    pro("view-transition", Allowed, Allowed, Some(&[])),
];

/// The plugin named `name`, if Datastar has one.
pub fn plugin_named(name: &str) -> Option<&'static Plugin> {
    PLUGINS.iter().find(|plugin| plugin.name == name)
}

/// A `data-*` attribute name split into its Datastar parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatastarName {
    /// `on` in `data-on:click__prevent`.
    pub plugin: String,
    /// `click` in `data-on:click__prevent`.
    pub key: Option<String>,
    /// `prevent` in `data-on:click__prevent`.
    pub modifiers: Vec<ModifierUse>,
}

/// A modifier as written: `__debounce.500ms.leading`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModifierUse {
    pub name: String,
    pub tags: Vec<String>,
}

impl DatastarName {
    /// Splits `data-{plugin}[:{key}][__{modifier}[.{tag}]*]*`; `None` if `name` is not a
    /// `data-` attribute.
    pub fn split(name: &str) -> Option<DatastarName> {
        let rest = name.strip_prefix("data-")?;
        let mut parts = rest.split("__");
        let head = parts.next().unwrap_or_default();
        let (plugin, key) = match head.split_once(':') {
            Some((plugin, key)) => (plugin.to_owned(), Some(key.to_owned())),
            None => (head.to_owned(), None),
        };
        let modifiers = parts
            .map(|modifier| {
                let mut pieces = modifier.split('.');
                ModifierUse {
                    name: pieces.next().unwrap_or_default().to_owned(),
                    tags: pieces.map(str::to_owned).collect(),
                }
            })
            .collect();
        Some(DatastarName {
            plugin,
            key,
            modifiers,
        })
    }
}

/// Whether `tag` is a Datastar duration: `500ms`, `1s` or a bare number of milliseconds.
pub fn is_duration(tag: &str) -> bool {
    let digits = tag
        .strip_suffix("ms")
        .or_else(|| tag.strip_suffix('s'))
        .unwrap_or(tag);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// Whether `tag` is a number such as `25` or `0.5`.
pub fn is_number(tag: &str) -> bool {
    !tag.is_empty() && tag.chars().all(|c| c.is_ascii_digit() || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_reads_plugin_key_modifiers_and_tags() {
        let name = DatastarName::split("data-on:keydown__debounce.500ms.leading__window").unwrap();
        assert_eq!(name.plugin, "on");
        assert_eq!(name.key.as_deref(), Some("keydown"));
        assert_eq!(name.modifiers[0].name, "debounce");
        assert_eq!(name.modifiers[0].tags, ["500ms", "leading"]);
        assert_eq!(name.modifiers[1].name, "window");
    }

    #[test]
    fn split_keeps_hyphenated_plugin_names_whole() {
        let name = DatastarName::split("data-on-interval__duration.5s").unwrap();
        assert_eq!(name.plugin, "on-interval");
        assert_eq!(name.key, None);
    }

    #[test]
    fn split_ignores_attributes_that_are_not_data() {
        assert_eq!(DatastarName::split("class"), None);
    }

    #[test]
    fn durations_are_numbers_with_an_optional_unit() {
        assert!(is_duration("500ms") && is_duration("1s") && is_duration("250"));
        assert!(!is_duration("fast") && !is_duration("ms"));
    }

    #[test]
    fn every_plugin_name_is_unique() {
        for (i, a) in PLUGINS.iter().enumerate() {
            assert!(
                PLUGINS[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
        }
    }
}
