//! Model -> diagnostics: element names, duplicate attributes, raw-text elements and Datastar
//! attributes. Every message says what is wrong and what to write instead.

use proc_macro2::{TokenStream, TokenTree};

use super::Diagnostics;
use super::datastar::{self, CASE_TAGS, DatastarName, PLUGINS, Plugin, Requirement, Tags};
use super::elements;
use super::parse::{Attribute, AttributeValue, Element, Else, Name, Node, Template};
use super::suggest::{closest, typo_budget};
use crate::signal::{self, Case, Scanner};

/// Checks a parsed template.
pub fn template(template: &Template, diagnostics: &mut Diagnostics) {
    nodes(&template.nodes, None, diagnostics);
}

fn nodes(nodes: &[Node], raw_text: Option<&str>, diagnostics: &mut Diagnostics) {
    for node in nodes {
        match node {
            Node::Doctype | Node::Let(_) | Node::Comment(_) => {}
            Node::Text(text) => {
                if let Some(element) = raw_text
                    && text
                        .value
                        .to_ascii_lowercase()
                        .contains(&format!("</{element}"))
                {
                    diagnostics.push(syn::Error::new(
                        text.span,
                        format!("text inside `<{element}>` cannot contain `</{element}`: it would end the element early; split the string (e.g. `<\\/{element}>`)"),
                    ));
                }
            }
            Node::Interpolation(interpolation) => match (&interpolation.inline, raw_text) {
                (Some(inline), _) => self::nodes(inline, raw_text, diagnostics),
                (None, Some(element)) if !is_raw_call(&interpolation.expr) => {
                    diagnostics.push(syn::Error::new(
                        interpolation.span,
                        format!(
                            "`{{...}}` inside `<{element}>` is not escaped safely: HTML escaping does not protect {}; pass data through an attribute (e.g. `data-signals={{value}}`) or, for trusted text you built yourself, write `{{Raw(text)}}`",
                            if element == "style" { "CSS" } else { "JavaScript" }
                        ),
                    ));
                }
                _ => {}
            },
            Node::Element(element) => self::element(element, raw_text, diagnostics),
            Node::If(first) => {
                let mut branch = first;
                loop {
                    self::nodes(&branch.then, raw_text, diagnostics);
                    match &branch.otherwise {
                        None => break,
                        Some(Else::Block(block)) => {
                            self::nodes(block, raw_text, diagnostics);
                            break;
                        }
                        Some(Else::If(next)) => branch = next,
                    }
                }
            }
            Node::For(each) => self::nodes(&each.body, raw_text, diagnostics),
            Node::Match(each) => {
                for arm in &each.arms {
                    self::nodes(&arm.body, raw_text, diagnostics);
                }
            }
        }
    }
}

fn element(element: &Element, parent_raw_text: Option<&str>, diagnostics: &mut Diagnostics) {
    let name = &element.name.text;
    if let Some(parent) = parent_raw_text {
        diagnostics.push(element.name.error(format!(
            "`<{name}>` inside `<{parent}>` would be raw text, not an element; move it out of `<{parent}>` or write it as a quoted string"
        )));
    }
    if !elements::is_known(name) {
        let lower = name.to_ascii_lowercase();
        let message = if elements::is_known(&lower) {
            format!("element names are lowercase: write `<{lower}>` instead of `<{name}>`")
        } else if let Some(suggestion) = closest(name, elements::all(), 2) {
            format!(
                "unknown element `<{name}>`; did you mean `<{suggestion}>`? (a custom element needs a `-` in its name, e.g. `<{name}-element>`)"
            )
        } else {
            format!(
                "unknown element `<{name}>`; use a standard HTML element, or give a custom element a `-` in its name (e.g. `<my-{name}>`)"
            )
        };
        diagnostics.push(element.name.error(message));
    }

    let mut seen: Vec<&Attribute> = Vec::new();
    for attribute in &element.attributes {
        let lower = attribute.name.text.to_ascii_lowercase();
        if seen
            .iter()
            .any(|earlier| earlier.name.text.to_ascii_lowercase() == lower)
        {
            diagnostics.push(attribute.name.error(format!(
                "duplicate attribute `{}` on `<{name}>`; keep one (for several classes, write them in one value: `class=\"a b\"`)",
                attribute.name.text
            )));
        } else {
            seen.push(attribute);
        }
        if !attribute.quoted {
            datastar_attribute(attribute, diagnostics);
        }
    }

    let raw_text = elements::is_raw_text(name).then_some(name.as_str());
    nodes(&element.children, raw_text, diagnostics);
}

/// Whether `expr` is `Raw(...)` (or `path::Raw(...)`): the author opted out of escaping.
fn is_raw_call(expr: &TokenStream) -> bool {
    let tokens: Vec<TokenTree> = expr.clone().into_iter().collect();
    matches!(
        tokens.as_slice(),
        [.., TokenTree::Ident(name), TokenTree::Group(args)]
            if name == "Raw" && args.delimiter() == proc_macro2::Delimiter::Parenthesis
    )
}

fn datastar_attribute(attribute: &Attribute, diagnostics: &mut Diagnostics) {
    let Some(parts) = DatastarName::split(&attribute.name.text) else {
        return;
    };
    let name = &attribute.name;
    match datastar::plugin_named(&parts.plugin) {
        Some(plugin) => known_plugin(plugin, &parts, attribute, diagnostics),
        None => unknown_plugin(&parts, name, diagnostics),
    }
}

fn unknown_plugin(parts: &DatastarName, name: &Name, diagnostics: &mut Diagnostics) {
    let written = &name.text;
    let quoted_hint =
        format!("(to keep `{written}` as it is, quote the name: `\"{written}\"=...`)");
    let datastar_shaped = parts.key.is_some() || !parts.modifiers.is_empty();

    // A typo of a plugin name. Without a key or modifiers the name only counts as a typo
    // when it is long and one edit away, so `data-id` or `data-test` stay plain attributes.
    let typo = PLUGINS
        .iter()
        .filter_map(|plugin| {
            let distance = super::suggest::edit_distance(&parts.plugin, plugin.name);
            let budget = if datastar_shaped {
                typo_budget(plugin.name.len())
            } else if parts.plugin.len() >= 5 {
                1
            } else {
                0
            };
            (distance > 0 && distance <= budget).then_some((distance, plugin))
        })
        .min_by_key(|(distance, _)| *distance);
    if let Some((_, plugin)) = typo {
        let fixed = written.replacen(
            &format!("data-{}", parts.plugin),
            &format!("data-{}", plugin.name),
            1,
        );
        diagnostics.push(name.error(format!(
            "unknown Datastar attribute `data-{}`; did you mean `{fixed}`? {quoted_hint}",
            parts.plugin
        )));
        return;
    }

    // The pre-v1 spelling with `-` before the key: `data-on-click`.
    if parts.key.is_none() {
        let keyed = PLUGINS
            .iter()
            .filter(|plugin| plugin.key != Requirement::Denied)
            .filter_map(|plugin| {
                let key = parts.plugin.strip_prefix(plugin.name)?.strip_prefix('-')?;
                (!key.is_empty()).then_some((plugin, key))
            })
            .max_by_key(|(plugin, _)| plugin.name.len());
        if let Some((plugin, key)) = keyed {
            let fixed = written.replacen(
                &format!("data-{}-{key}", plugin.name),
                &format!("data-{}:{key}", plugin.name),
                1,
            );
            diagnostics.push(name.error(format!(
                "`{written}` is not a Datastar v1 attribute: v1 separates the key with `:`; write `{fixed}` {quoted_hint}"
            )));
        }
    }
}

fn known_plugin(
    plugin: &Plugin,
    parts: &DatastarName,
    attribute: &Attribute,
    diagnostics: &mut Diagnostics,
) {
    let name = &attribute.name;
    let p = plugin.name;
    let has_value = !matches!(attribute.value, AttributeValue::Bare);
    let has_key = parts.key.is_some();

    if !plugin.pro {
        let key_example = key_example(p);
        match plugin.key {
            Requirement::Must if !has_key => diagnostics.push(name.error(format!(
                "`data-{p}` needs a key after `:`, e.g. `data-{p}:{key_example}`"
            ))),
            Requirement::Denied if has_key => diagnostics.push(name.error(format!(
                "`data-{p}` takes no key; remove `:{}` and write `data-{p}=\"...\"`",
                parts.key.as_deref().unwrap_or_default()
            ))),
            Requirement::Exclusive if has_key && has_value => diagnostics.push(name.error(format!(
                "`data-{p}` takes its signal name either as the key (`data-{p}:{key_example}`) or as the value (`data-{p}=\"{key_example}\"`), not both; remove the value"
            ))),
            Requirement::Exclusive if !has_key && !has_value => diagnostics.push(name.error(format!(
                "`data-{p}` needs a signal name: `data-{p}:{key_example}` or `data-{p}=\"{key_example}\"`"
            ))),
            _ => {}
        }
        if plugin.value == Requirement::Must && !has_value {
            diagnostics.push(name.error(format!(
                "`{}` needs a value, e.g. `{}=\"{}\"`",
                name.text,
                name.text,
                value_example(p)
            )));
        }
        signal_names(p, parts, attribute, diagnostics);
    }

    let Some(specs) = plugin.modifiers else {
        return;
    };
    for modifier in &parts.modifiers {
        let Some(spec) = specs.iter().find(|spec| spec.name == modifier.name) else {
            let suggestion = closest(
                &modifier.name,
                specs.iter().map(|s| s.name),
                typo_budget(modifier.name.len()),
            );
            let message = match (suggestion, specs.is_empty()) {
                (Some(suggestion), _) => format!(
                    "unknown modifier `__{}` on `data-{p}`; did you mean `__{suggestion}`?",
                    modifier.name
                ),
                (None, true) => format!(
                    "`data-{p}` takes no modifiers; remove `__{}`",
                    modifier.name
                ),
                (None, false) => format!(
                    "unknown modifier `__{}` on `data-{p}`; it accepts {}",
                    modifier.name,
                    specs
                        .iter()
                        .map(|s| format!("`__{}`", s.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            // Pro plugins are only checked for near misses: their docs may be newer than this
            // table.
            if !plugin.pro || suggestion.is_some() {
                diagnostics.push(name.error(message));
            }
            continue;
        };
        if let Some(message) = tag_problem(spec.name, spec.tags, &modifier.tags) {
            diagnostics.push(name.error(message));
        }
    }
}

/// Checks the signal names the template spells out: a key that names a signal
/// (`data-bind:name`), a value that names one (`data-bind="name"`), and the `$name` references
/// in an expression written as a literal.
fn signal_names(
    plugin: &str,
    parts: &DatastarName,
    attribute: &Attribute,
    diagnostics: &mut Diagnostics,
) {
    if let Some(key) = &parts.key
        && matches!(
            plugin,
            "bind" | "signals" | "computed" | "ref" | "indicator"
        )
    {
        let case = parts
            .modifiers
            .iter()
            .find(|modifier| modifier.name == "case")
            .and_then(|modifier| modifier.tags.first())
            .and_then(|tag| Case::from_tag(tag))
            .unwrap_or(Case::Camel);
        for problem in signal::key_problems(plugin, key, case) {
            diagnostics.push(attribute.name.error(problem));
        }
    }
    let AttributeValue::Literal { text, span } = &attribute.value else {
        return;
    };
    let problems = if matches!(plugin, "bind" | "ref" | "indicator") {
        signal::value_problems(plugin, text)
    } else if datastar::takes_expression(plugin) || plugin == "signals" {
        signal::reference_problems(&Scanner::default().blank(text))
    } else {
        Vec::new()
    };
    for problem in problems {
        diagnostics.push(syn::Error::new(*span, problem));
    }
}

/// What is wrong with the tags of modifier `__{name}`, if anything.
fn tag_problem(name: &str, tags: Tags, given: &[String]) -> Option<String> {
    match tags {
        Tags::Any => None,
        Tags::None => (!given.is_empty()).then(|| {
            format!(
                "`__{name}` takes no arguments; remove `.{}`",
                given.join(".")
            )
        }),
        Tags::Case => match given {
            [one] if CASE_TAGS.contains(&one.as_str()) => None,
            _ => Some(format!(
                "`__case` takes one of `.camel`, `.kebab`, `.snake`, `.pascal`, e.g. `__case.camel`{}",
                given
                    .iter()
                    .find(|tag| !CASE_TAGS.contains(&tag.as_str()))
                    .and_then(|tag| closest(tag, CASE_TAGS.iter().copied(), 2))
                    .map(|s| format!(" (did you mean `.{s}`?)"))
                    .unwrap_or_default()
            )),
        },
        Tags::Number => given
            .iter()
            .find(|tag| !datastar::is_number(tag))
            .map(|tag| {
                format!("`__{name}` takes a number, e.g. `__{name}.25`; `.{tag}` is not one")
            }),
        Tags::Timing(flags) => given
            .iter()
            .find(|tag| !datastar::is_duration(tag) && !flags.contains(&tag.as_str()))
            .map(|tag| {
                let accepted = std::iter::once("a duration (`.500ms`, `.1s`)".to_owned())
                    .chain(flags.iter().map(|f| format!("`.{f}`")))
                    .collect::<Vec<_>>()
                    .join(", ");
                match closest(tag, flags.iter().copied(), typo_budget(tag.len())) {
                    Some(s) => {
                        format!("unknown argument `.{tag}` of `__{name}`; did you mean `.{s}`?")
                    }
                    None => {
                        format!("unknown argument `.{tag}` of `__{name}`; it accepts {accepted}")
                    }
                }
            }),
    }
}

fn key_example(plugin: &str) -> &'static str {
    match plugin {
        "on" => "click",
        "class" => "active",
        "attr" => "aria-label",
        "style" => "display",
        _ => "name",
    }
}

fn value_example(plugin: &str) -> &'static str {
    match plugin {
        "on" => "@post('/endpoint')",
        "init" | "on-interval" | "on-intersect" => "@get('/endpoint')",
        "signals" => "{count: 0}",
        "computed" => "$price * $quantity",
        "text" => "$message",
        "show" | "class" => "$visible",
        "preserve-attr" => "open",
        "effect" | "on-signal-patch" => "console.log($count)",
        "on-signal-patch-filter" => "{include: /^count$/}",
        _ => "$signal",
    }
}
