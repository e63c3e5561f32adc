//! `#[action(method, "/path/{param}")]`: parse the attribute and the handler into a typed
//! model, check the route against the handler's `Path` extractor, then generate the typed
//! endpoint module (`PATH`, the action function named by the method, `route()`).

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, LitStr, Token, Type};

use crate::live_view::Errors;
use crate::live_view::expand::{extractor_bounds, link_arguments, link_path};
use crate::live_view::parse::{RoutePath, parse_route};
use crate::live_view::validate::{Extractor, LinkParameter, link_parameters, single_generic};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `post, "/todos/{id}/toggle"`.
struct ActionArgs {
    method: Ident,
    path: LitStr,
}

impl Parse for ActionArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let method: Ident = input.parse().map_err(|error| {
            syn::Error::new(
                error.span(),
                "#[action] needs the method and the route: `#[action(post, \"/todos/{id}/toggle\")]`",
            )
        })?;
        input.parse::<Token![,]>()?;
        let path: LitStr = input.parse()?;
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
        if !input.is_empty() {
            return Err(input.error(
                "#[action] takes the method and the route only; the Datastar options are \
                 builder methods of the action it returns (`.content_type(..)`, `.retry(..)`)",
            ));
        }
        Ok(ActionArgs { method, path })
    }
}

/// A checked action.
struct Action {
    method: Ident,
    path: RoutePath,
    extractors: Vec<Extractor>,
    link_parameters: Vec<LinkParameter>,
    router_state: Option<Type>,
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(error) => {
            let mut tokens = item;
            tokens.extend(
                syn::Error::new(
                    error.span(),
                    "#[action] goes on an `async fn` axum handler, e.g. \
                     `async fn toggle(Path(id): Path<u64>) -> Response`",
                )
                .to_compile_error(),
            );
            return tokens;
        }
    };
    let mut errors = Errors::default();
    let model = syn::parse2::<ActionArgs>(args)
        .map_err(|error| errors.add(error))
        .ok()
        .and_then(|args| validate(args, &function, &mut errors));
    match (errors.into_tokens(), model) {
        (None, Some(model)) => generate(&model, &function),
        (errors, _) => {
            let mut tokens = function.to_token_stream();
            tokens.extend(errors);
            tokens
        }
    }
}

fn validate(args: ActionArgs, function: &ItemFn, errors: &mut Errors) -> Option<Action> {
    let method = args.method.to_string();
    if !METHODS.contains(&method.as_str()) {
        let hint = crate::live_view::did_you_mean(&method.to_ascii_lowercase(), &METHODS)
            .map_or_else(String::new, |m| format!(" (did you mean `{m}`?)"));
        errors.push(
            args.method.span(),
            format!(
                "`{method}` is not a Datastar action method{hint}; write one of `get`, `post`, \
                 `put`, `patch`, `delete`"
            ),
        );
    }
    let signature = &function.sig;
    if signature.asyncness.is_none() {
        errors.push(
            signature.fn_token.span,
            format!(
                "#[action] needs an `async fn`: it is an axum handler; write `async fn {}(...)`",
                signature.ident
            ),
        );
    }
    if !signature.generics.params.is_empty() {
        errors.push(
            signature.generics.span(),
            "an action cannot be generic: axum needs one concrete handler",
        );
    }
    let mut extractors = Vec::new();
    for input in &signature.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.push(
                receiver.span(),
                "an action cannot take `self`: it is an axum handler",
            ),
            FnArg::Typed(typed) => extractors.push(Extractor {
                pattern: (*typed.pat).clone(),
                ty: (*typed.ty).clone(),
            }),
        }
    }
    let path = parse_route(args.path, errors)?;
    let link_parameters = link_parameters(&path, &extractors, "the handler", errors);
    let router_state = extractors
        .iter()
        .find_map(|extractor| single_generic(&extractor.ty, "State").cloned());
    Some(Action {
        method: Ident::new(&method, args.method.span()),
        path,
        extractors,
        link_parameters,
        router_state,
    })
}

fn generate(model: &Action, function: &ItemFn) -> TokenStream {
    let handler = &function.sig.ident;
    let vis = &function.vis;
    let path = &model.path.literal;
    let method = &model.method;
    let variant = format_ident!(
        "{}{}",
        method.to_string()[..1].to_uppercase(),
        &method.to_string()[1..],
        span = Span::call_site()
    );
    let parameters = link_arguments(&model.link_parameters);
    let link_path = link_path(&model.path.segments);
    let capacity = path.value().len() + 16 * model.link_parameters.len();
    let types: Vec<&Type> = model.extractors.iter().map(|e| &e.ty).collect();
    let bounds = extractor_bounds(&types);
    let route = match &model.router_state {
        Some(state) => quote! {
            pub fn route() -> ::livestar::__private::Router<#state> {
                ::livestar::__private::action_route(PATH, ::livestar::action::Method::#variant, super::#handler)
            }
        },
        None => quote! {
            pub fn route<S>() -> ::livestar::__private::Router<S>
            where
                S: ::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync + 'static,
                #( #bounds )*
            {
                ::livestar::__private::action_route(PATH, ::livestar::action::Method::#variant, super::#handler)
            }
        },
    };
    let module_doc = format!(
        "The endpoint of [`{handler}()`]: its route `{}`, the typed Datastar action that calls \
         it, and the router that serves it.",
        path.value()
    );
    let action_doc = format!(
        "The Datastar action that calls this endpoint: `@{method}(\"{}\")`, each path parameter \
         percent-encoded.",
        path.value()
    );
    quote! {
        #function

        #[doc = #module_doc]
        #[allow(dead_code, private_bounds, private_interfaces, unused_imports)]
        #vis mod #handler {
            use super::*;

            /// The route of this endpoint.
            pub const PATH: &str = #path;

            #[doc = #action_doc]
            pub fn #method(#( #parameters ),*) -> ::livestar::action::Action {
                let mut __livestar_path = ::std::string::String::with_capacity(#capacity);
                #( #link_path )*
                ::livestar::action::Action::new(::livestar::action::Method::#variant, __livestar_path)
            }

            /// A router serving this endpoint at [`PATH`]; merge it into the app's router.
            #route
        }
    }
}
