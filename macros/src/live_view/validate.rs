//! Checks the attribute against the load function; builds the model `expand` generates from.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, FnArg, GenericArgument, Ident, ItemFn, Pat, PathArguments, ReturnType, Type};

use super::Errors;
use super::parse::{LiveViewArgs, RoutePath};

/// A checked live view: everything `expand` needs.
pub(crate) struct LiveView {
    pub(crate) path: RoutePath,
    pub(crate) args: LiveViewArgs,
    pub(crate) view: Expr,
    pub(crate) extractors: Vec<Extractor>,
    pub(crate) output: LoadOutput,
    pub(crate) link_parameters: Vec<LinkParameter>,
    pub(crate) router_state: Option<Type>,
}

/// One argument of the load function: an axum extractor.
pub(crate) struct Extractor {
    pub(crate) pattern: Pat,
    pub(crate) ty: Type,
}

/// What the load function returns.
pub(crate) enum LoadOutput {
    /// `Result<T, E>`, written out.
    Result { ok: Box<Type>, err: Box<Type> },
    /// A `Result` alias such as `anyhow::Result<T>` or `AppResult<T>`.
    ResultAlias(Type),
    /// Any other type: a load that cannot fail.
    Plain(Type),
}

/// One argument of the generated `get(...)`: a path parameter.
pub(crate) struct LinkParameter {
    pub(crate) name: Ident,
    /// The type from the `Path` extractor, or `None` for `impl Display`.
    pub(crate) ty: Option<Type>,
}

pub(crate) fn validate(
    mut args: LiveViewArgs,
    function: &ItemFn,
    errors: &mut Errors,
) -> Option<LiveView> {
    let signature = &function.sig;
    if signature.asyncness.is_none() {
        errors.push(
            signature.fn_token.span,
            format!(
                "#[live_view] needs an `async fn`: the load function runs on connect and on \
                 every wake-up; write `async fn {}(...)`",
                signature.ident
            ),
        );
    }
    if !signature.generics.params.is_empty() {
        errors.push(
            signature.generics.span(),
            "a live view's load function cannot be generic: axum needs one concrete handler; \
             write the concrete types",
        );
    }
    if !args.path_written {
        errors.push(
            args.attribute_span,
            format!(
                "#[live_view] needs the route path first: \
                 `#[live_view(\"/{}/live\", view = ...)]`",
                signature.ident
            ),
        );
    }
    if args.view.is_none() {
        errors.push(
            args.attribute_span,
            format!(
                "#[live_view] needs a view: `view = render_{0}` where \
                 `fn render_{0}(state: &State) -> Html`, or an inline closure \
                 `view = |state| ...`",
                signature.ident
            ),
        );
    }
    let mut extractors = Vec::new();
    for input in &signature.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.push(
                receiver.span(),
                "a live view's load function cannot take `self`: it is an axum handler; \
                 take the state as `State(app): State<App>`",
            ),
            FnArg::Typed(typed) => {
                if matches!(*typed.ty, Type::ImplTrait(_)) {
                    errors.push(
                        typed.ty.span(),
                        "an extractor cannot be `impl Trait`: name its type",
                    );
                    continue;
                }
                extractors.push(Extractor {
                    pattern: (*typed.pat).clone(),
                    ty: (*typed.ty).clone(),
                });
            }
        }
    }
    if extractors.len() > 15 {
        errors.push(
            signature.inputs.span(),
            "axum handlers take at most 16 extractors and a live view uses one; \
             group some into a struct extractor",
        );
    }

    let output = match &signature.output {
        ReturnType::Default => {
            errors.push(
                signature.ident.span(),
                format!(
                    "the load function returns nothing, so there is nothing to render; \
                     return the view's state: `async fn {}(...) -> Result<State, AppError>` \
                     (or `-> State` when it cannot fail)",
                    signature.ident
                ),
            );
            None
        }
        ReturnType::Type(_, ty) => load_output(ty, errors),
    };

    let router_state = args.state.clone().or_else(|| {
        extractors
            .iter()
            .find_map(|extractor| single_generic(&extractor.ty, "State").cloned())
    });

    let link_parameters = match &args.path {
        Some(path) => link_parameters(path, &extractors, "the load function", errors),
        None => Vec::new(),
    };

    let path = args.path.take()?;
    let view = args.view.take()?;
    Some(LiveView {
        path,
        args,
        view,
        extractors,
        output: output?,
        link_parameters,
        router_state,
    })
}

fn load_output(ty: &Type, errors: &mut Errors) -> Option<LoadOutput> {
    match ty {
        Type::Tuple(tuple) if tuple.elems.is_empty() => {
            errors.push(
                ty.span(),
                "the load function returns `()`, so there is nothing to render; return the \
                 view's state: `-> Result<State, AppError>` (or `-> State`)",
            );
            None
        }
        Type::ImplTrait(_) | Type::Infer(_) => {
            errors.push(
                ty.span(),
                "name the load function's return type: the view takes a reference to it; \
                 write `-> Result<State, AppError>` or `-> State`",
            );
            None
        }
        Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else {
                return Some(LoadOutput::Plain(ty.clone()));
            };
            if last.ident != "Result" {
                return Some(LoadOutput::Plain(ty.clone()));
            }
            match &last.arguments {
                PathArguments::AngleBracketed(generic) => {
                    let types: Vec<&Type> = generic
                        .args
                        .iter()
                        .filter_map(|arg| match arg {
                            GenericArgument::Type(ty) => Some(ty),
                            _ => None,
                        })
                        .collect();
                    match types.as_slice() {
                        [ok, err] => Some(LoadOutput::Result {
                            ok: Box::new((*ok).clone()),
                            err: Box::new((*err).clone()),
                        }),
                        _ => Some(LoadOutput::ResultAlias(ty.clone())),
                    }
                }
                _ => {
                    errors.push(
                        ty.span(),
                        "write the `Ok` type of the result: `-> Result<State, AppError>`",
                    );
                    None
                }
            }
        }
        _ => Some(LoadOutput::Plain(ty.clone())),
    }
}

/// `Some(T)` when `ty` is `Name<T>` (any path ending in `Name`).
pub(crate) fn single_generic<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(generic) = &last.arguments else {
        return None;
    };
    match generic.args.first()? {
        GenericArgument::Type(inner) if generic.args.len() == 1 => Some(inner),
        _ => None,
    }
}

/// The typed parameters of the link to `path`, read from the `Path` extractor among
/// `extractors` of `function` (how messages name it: "the load function", "the handler").
pub(crate) fn link_parameters(
    path: &RoutePath,
    extractors: &[Extractor],
    function: &str,
    errors: &mut Errors,
) -> Vec<LinkParameter> {
    let names = path.parameters();
    let path_extractors: Vec<(&Extractor, &Type)> = extractors
        .iter()
        .filter_map(|extractor| Some((extractor, single_generic(&extractor.ty, "Path")?)))
        .collect();
    let ident = |name: &str| Ident::new(name, Span::call_site());
    match (names.as_slice(), path_extractors.as_slice()) {
        ([], []) => Vec::new(),
        ([], [(extractor, _), ..]) => {
            errors.push(
                extractor.ty.span(),
                format!(
                    "this `Path` extractor has nothing to extract: the route \"{}\" has no \
                     parameters; add one to the route (`\"/todos/{{id}}/live\"`) or remove the \
                     `Path` argument",
                    path.literal.value()
                ),
            );
            Vec::new()
        }
        (names, []) => {
            errors.push(
                path.literal.span(),
                format!(
                    "the route has the path parameter{} {}, but {function} has no `Path` \
                     extractor to read {}; add an argument such as `Path({}): Path<{}>`",
                    if names.len() == 1 { "" } else { "s" },
                    names
                        .iter()
                        .map(|n| format!("`{{{n}}}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if names.len() == 1 { "it" } else { "them" },
                    if names.len() == 1 {
                        names[0].to_owned()
                    } else {
                        format!("({})", names.join(", "))
                    },
                    if names.len() == 1 {
                        "String".to_owned()
                    } else {
                        format!("({})", vec!["String"; names.len()].join(", "))
                    },
                ),
            );
            Vec::new()
        }
        (names, [(_, inner), rest @ ..]) => {
            if let Some((extra, _)) = rest.first() {
                errors.push(
                    extra.ty.span(),
                    format!(
                        "{function} takes one `Path` extractor; read every parameter with \
                         it, as a tuple: `Path((a, b)): Path<(A, B)>`"
                    ),
                );
            }
            match inner {
                Type::Tuple(tuple) => {
                    if tuple.elems.len() != names.len() {
                        errors.push(
                            inner.span(),
                            format!(
                                "this `Path` extracts {} value{} but the route \"{}\" has {} \
                                 parameter{} ({}); make them match",
                                tuple.elems.len(),
                                if tuple.elems.len() == 1 { "" } else { "s" },
                                path.literal.value(),
                                names.len(),
                                if names.len() == 1 { "" } else { "s" },
                                names
                                    .iter()
                                    .map(|n| format!("`{{{n}}}`"))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            ),
                        );
                        return Vec::new();
                    }
                    names
                        .iter()
                        .zip(&tuple.elems)
                        .map(|(name, ty)| LinkParameter {
                            name: ident(name),
                            ty: Some(ty.clone()),
                        })
                        .collect()
                }
                _ if names.len() == 1 => vec![LinkParameter {
                    name: ident(names[0]),
                    ty: Some((*inner).clone()),
                }],
                // A struct of parameters: each link argument is anything displayable.
                _ => names
                    .iter()
                    .map(|name| LinkParameter {
                        name: ident(name),
                        ty: None,
                    })
                    .collect(),
            }
        }
    }
}
