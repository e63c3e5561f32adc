//! The attribute's tokens -> [`LiveViewArgs`].

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitStr, Token, Type};

use super::{Errors, did_you_mean};

/// The options of the attribute, each with the span of what the user wrote.
pub(crate) struct LiveViewArgs {
    pub(crate) path: Option<RoutePath>,
    pub(crate) invalidate: Vec<InvalidationSource>,
    pub(crate) view: Option<Expr>,
    pub(crate) heartbeat: Option<HeartbeatSetting>,
    pub(crate) selector: Option<LitStr>,
    pub(crate) mode: Option<(String, Span)>,
    pub(crate) retry: Option<Duration>,
    pub(crate) error_view: Option<Expr>,
    pub(crate) state: Option<Type>,
    /// `shared = key`: the connections of one key share one load and render.
    pub(crate) shared: Option<Expr>,
    /// `compress = false`: the stream is never compressed.
    pub(crate) compress: Option<syn::LitBool>,
    pub(crate) attribute_span: Span,
    /// A path was written, valid or not (an invalid one is reported where it is).
    pub(crate) path_written: bool,
}

/// The route, checked: `/todos/{id}/live`.
pub(crate) struct RoutePath {
    pub(crate) literal: LitStr,
    pub(crate) segments: Vec<PathPiece>,
}

pub(crate) enum PathPiece {
    Static(String),
    Parameter(String),
}

impl RoutePath {
    pub(crate) fn parameters(&self) -> Vec<&str> {
        self.segments
            .iter()
            .filter_map(|piece| match piece {
                PathPiece::Parameter(name) => Some(name.as_str()),
                PathPiece::Static(_) => None,
            })
            .collect()
    }
}

/// One expression of `invalidate = [...]`, evaluated once per connection.
pub(crate) struct InvalidationSource {
    pub(crate) expr: Expr,
}

/// `15s`, `500ms`, `2m`.
#[derive(Clone, Copy)]
pub(crate) struct Duration {
    pub(crate) millis: u64,
    pub(crate) span: Span,
}

pub(crate) enum HeartbeatSetting {
    Every(Duration),
    Off,
}

pub(crate) const OPTIONS: &[&str] = &[
    "path",
    "invalidate",
    "view",
    "heartbeat",
    "selector",
    "mode",
    "retry",
    "error_view",
    "state",
    "shared",
    "compress",
];

pub(crate) const MODES: &[&str] = &[
    "outer", "inner", "replace", "prepend", "append", "before", "after", "remove",
];

/// One `name = value`, or the leading path literal.
enum Arg {
    Path(LitStr),
    Named(Ident, TokenStream),
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Ok(Arg::Path(input.parse()?));
        }
        let name: Ident = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected `name = value` or the route path string, e.g. \
                 `#[live_view(\"/todos/live\", view = todo_list)]`",
            )
        })?;
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                name.span(),
                format!("expected `{name} = ...`: every option of #[live_view] has a value"),
            ));
        }
        input.parse::<Token![=]>()?;
        // The value runs to the next top-level comma.
        let mut value = TokenStream::new();
        while !input.is_empty() && !input.peek(Token![,]) {
            let tree: proc_macro2::TokenTree = input.parse()?;
            value.extend([tree]);
        }
        Ok(Arg::Named(name, value))
    }
}

pub(crate) fn parse_args(tokens: TokenStream, errors: &mut Errors) -> LiveViewArgs {
    let mut args = LiveViewArgs {
        path: None,
        invalidate: Vec::new(),
        view: None,
        heartbeat: None,
        selector: None,
        mode: None,
        retry: None,
        error_view: None,
        state: None,
        shared: None,
        compress: None,
        attribute_span: Span::call_site(),
        path_written: false,
    };
    let list = match Punctuated::<Arg, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(list) => list,
        Err(error) => {
            errors.add(error);
            return args;
        }
    };
    let mut seen: Vec<String> = Vec::new();
    for (index, arg) in list.into_iter().enumerate() {
        match arg {
            Arg::Path(literal) => {
                if index != 0 {
                    errors.push(
                        literal.span(),
                        "the route path comes first: `#[live_view(\"/todos/live\", ...)]`",
                    );
                } else if args.path.is_none() {
                    seen.push("path".into());
                    args.path_written = true;
                    args.path = parse_route(literal, errors);
                }
            }
            Arg::Named(name, value) => {
                let key = name.to_string();
                if seen.contains(&key) {
                    errors.push(name.span(), format!("`{key}` is set twice; keep one"));
                    continue;
                }
                seen.push(key.clone());
                if let Err(error) = parse_option(&mut args, &name, value, errors) {
                    errors.add(error);
                }
            }
        }
    }
    args
}

fn parse_option(
    args: &mut LiveViewArgs,
    name: &Ident,
    value: TokenStream,
    errors: &mut Errors,
) -> syn::Result<()> {
    let span = name.span();
    if value.is_empty() {
        return Err(syn::Error::new(span, format!("`{name} =` needs a value")));
    }
    match name.to_string().as_str() {
        "path" => {
            args.path_written = true;
            args.path = parse_route(syn::parse2(value)?, errors);
        }
        "invalidate" => {
            let list = syn::parse2::<syn::ExprArray>(value).map_err(|error| {
                syn::Error::new(
                    error.span(),
                    "`invalidate` takes a list in brackets: \
                     `invalidate = [app.changed.subscribe()]` (or `[]` for none)",
                )
            })?;
            args.invalidate = list
                .elems
                .into_iter()
                .map(|expr| InvalidationSource { expr })
                .collect();
        }
        "view" => args.view = Some(syn::parse2(value)?),
        "error_view" => args.error_view = Some(syn::parse2(value)?),
        "state" => args.state = Some(syn::parse2(value)?),
        "shared" => args.shared = Some(syn::parse2(value)?),
        "compress" => {
            args.compress = Some(syn::parse2(value).map_err(|error| {
                syn::Error::new(
                    error.span(),
                    "`compress` takes `true` or `false`: `compress = false` sends this live \
                     view uncompressed whatever the client accepts",
                )
            })?)
        }
        "heartbeat" => {
            args.heartbeat = Some(match syn::parse2::<Ident>(value.clone()) {
                Ok(ident) if ident == "off" => HeartbeatSetting::Off,
                _ => {
                    let duration = parse_duration(value, "heartbeat")?;
                    if duration.millis == 0 {
                        return Err(syn::Error::new(
                            duration.span,
                            "a heartbeat of zero would flood the connection; \
                             write `heartbeat = off` to send none",
                        ));
                    }
                    HeartbeatSetting::Every(duration)
                }
            })
        }
        "retry" => args.retry = Some(parse_duration(value, "retry")?),
        "selector" => {
            let literal: LitStr = syn::parse2(value).map_err(|error| {
                syn::Error::new(
                    error.span(),
                    "`selector` takes a CSS selector string: `selector = \"#todos\"`",
                )
            })?;
            if literal.value().trim().is_empty() {
                return Err(syn::Error::new(
                    literal.span(),
                    "the selector is empty; write a CSS selector such as `\"#todos\"`, \
                     or leave `selector` out to patch elements by their ids",
                ));
            }
            args.selector = Some(literal);
        }
        "mode" => {
            let ident: Ident = syn::parse2(value.clone()).map_err(|_| {
                syn::Error::new(
                    value.span(),
                    format!("`mode` takes one of {}: `mode = inner`", MODES.join(", ")),
                )
            })?;
            let mode = ident.to_string();
            if !MODES.contains(&mode.as_str()) {
                let hint = did_you_mean(&mode, MODES)
                    .map(|m| format!("did you mean `{m}`? "))
                    .unwrap_or_default();
                return Err(syn::Error::new(
                    ident.span(),
                    format!(
                        "unknown patch mode `{mode}`; {hint}the modes are {}",
                        MODES.join(", ")
                    ),
                ));
            }
            args.mode = Some((mode, ident.span()));
        }
        other => {
            let hint = match did_you_mean(other, OPTIONS) {
                Some(option) => format!("did you mean `{option}`? "),
                None => String::new(),
            };
            return Err(syn::Error::new(
                span,
                format!(
                    "unknown #[live_view] option `{other}`; {hint}the options are {}",
                    OPTIONS[1..].join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// `15s`, `500ms`, `2m`: an integer with a unit suffix.
fn parse_duration(value: TokenStream, option: &str) -> syn::Result<Duration> {
    let span = value.span();
    let help = format!(
        "`{option}` takes a whole number with a unit: `{option} = 15s`, `{option} = 500ms` or \
         `{option} = 2m`{}",
        if option == "heartbeat" {
            ", or `heartbeat = off`"
        } else {
            ""
        }
    );
    let literal = match syn::parse2::<syn::Lit>(value) {
        Ok(syn::Lit::Int(literal)) => literal,
        Ok(syn::Lit::Float(float)) => {
            return Err(syn::Error::new(
                float.span(),
                format!("`{float}` is not a whole number; {help}"),
            ));
        }
        _ => return Err(syn::Error::new(span, help)),
    };
    let factor = match literal.suffix() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "" => {
            return Err(syn::Error::new(
                literal.span(),
                format!("`{literal}` has no unit; {help}"),
            ));
        }
        other => {
            return Err(syn::Error::new(
                literal.span(),
                format!("unknown unit `{other}` in `{literal}`; {help}"),
            ));
        }
    };
    let number: u64 = literal.base10_parse()?;
    let millis = number
        .checked_mul(factor)
        .ok_or_else(|| syn::Error::new(literal.span(), "this duration is too long"))?;
    Ok(Duration {
        millis,
        span: literal.span(),
    })
}

pub(crate) fn parse_route(literal: LitStr, errors: &mut Errors) -> Option<RoutePath> {
    let text = literal.value();
    let span = literal.span();
    if !text.starts_with('/') {
        errors.push(
            span,
            format!("the route path must start with `/`: write \"/{text}\""),
        );
        return None;
    }
    if let Some(bad) = text
        .chars()
        .find(|c| matches!(c, '\'' | '"' | '\\' | '?' | '#' | '<' | '>' | '`') || c.is_whitespace())
    {
        errors.push(
            span,
            format!(
                "the route path contains {bad:?}, which cannot appear in a route; \
                 use letters, digits, `-`, `_`, `.`, `/` and `{{param}}`"
            ),
        );
        return None;
    }
    let mut segments = Vec::new();
    let mut rest = text.as_str();
    let mut names: Vec<String> = Vec::new();
    // Bounded: every turn consumes at least one character of `rest`.
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('{') {
            let Some(close) = after.find('}') else {
                errors.push(span, "a `{` in the route path is not closed: write `{id}`");
                return None;
            };
            let name = &after[..close];
            let ident = name.strip_prefix('*').unwrap_or(name);
            let valid = !ident.is_empty()
                && ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !ident.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                errors.push(
                    span,
                    format!("`{{{name}}}` is not a path parameter; write a name such as `{{id}}`"),
                );
                return None;
            }
            if names.iter().any(|n| n == ident) {
                errors.push(
                    span,
                    format!("the path parameter `{{{ident}}}` appears twice"),
                );
                return None;
            }
            names.push(ident.to_owned());
            segments.push(PathPiece::Parameter(ident.to_owned()));
            rest = &after[close + 1..];
        } else {
            let end = rest.find('{').unwrap_or(rest.len());
            let piece = &rest[..end];
            if piece.contains('}') {
                errors.push(span, "a `}` in the route path has no `{`: write `{id}`");
                return None;
            }
            if let Some(colon) = piece.split('/').find(|s| s.starts_with(':')) {
                errors.push(
                    span,
                    format!(
                        "`{colon}`: axum 0.8 writes path parameters in braces; write `{{{}}}`",
                        &colon[1..]
                    ),
                );
                return None;
            }
            segments.push(PathPiece::Static(piece.to_owned()));
            rest = &rest[end..];
        }
    }
    Some(RoutePath { literal, segments })
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn args(tokens: TokenStream) -> (LiveViewArgs, Vec<String>) {
        let mut errors = Errors::default();
        let args = parse_args(tokens, &mut errors);
        (args, errors.0.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn durations_take_ms_s_and_m() {
        for (tokens, millis) in [
            (quote!(500ms), 500),
            (quote!(15s), 15_000),
            (quote!(2m), 120_000),
        ] {
            assert_eq!(
                parse_duration(tokens, "retry").map(|d| d.millis).ok(),
                Some(millis)
            );
        }
    }

    #[test]
    fn a_duration_needs_a_unit() {
        let error = parse_duration(quote!(15), "heartbeat")
            .err()
            .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("has no unit")));
    }

    #[test]
    fn heartbeat_off_turns_heartbeats_off() {
        let (args, errors) = args(quote!("/a", heartbeat = off));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(matches!(args.heartbeat, Some(HeartbeatSetting::Off)));
    }

    #[test]
    fn route_parameters_are_read_in_order() {
        let (args, errors) = args(quote!("/boards/{board}/items/{item}/live"));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            args.path.map(|p| p.parameters().join(",")).as_deref(),
            Some("board,item")
        );
    }

    #[test]
    fn every_mistake_is_collected() {
        let (_, errors) = args(quote!("/a", hartbeat = 1s, mode = sideways, retry = 2));
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("did you mean `heartbeat`?"));
    }

    #[test]
    fn unbalanced_braces_are_rejected() {
        let (args, errors) = args(quote!("/a/{id/live"));
        assert!(args.path.is_none());
        assert!(errors[0].contains("is not closed"));
    }
}
