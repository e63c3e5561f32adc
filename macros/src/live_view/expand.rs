//! The checked model -> the handler, the typed endpoint module and the spanned checks.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, ItemFn, Pat};

use super::parse::{HeartbeatSetting, PathPiece};
use super::validate::{LinkParameter, LiveView, LoadOutput};

pub(crate) fn expand(model: &LiveView, function: &ItemFn) -> TokenStream {
    let load = &function.sig.ident;
    let vis = &function.vis;
    let handler = format_ident!("__livestar_live_{}", load);
    let path = &model.path.literal;

    let arguments: Vec<_> = (0..model.extractors.len())
        .map(|index| format_ident!("__livestar_arg{}", index))
        .collect();
    let types: Vec<_> = model.extractors.iter().map(|e| &e.ty).collect();
    let patterns: Vec<_> = model.extractors.iter().map(|e| &e.pattern).collect();

    // Each extractor is handed to the load function again on every wake-up: rebuilt from the
    // bindings of its pattern (`Path(id)` -> `Path(id.clone())`), or cloned whole when the
    // pattern cannot be turned back into an expression.
    let mut destructure = Vec::new();
    let mut shadow = Vec::new();
    let mut capture = Vec::new();
    let mut call_args = Vec::new();
    for ((argument, ty), pattern) in arguments.iter().zip(&types).zip(&patterns) {
        let mut bindings = Vec::new();
        let whole = matches!(pattern, Pat::Ident(_));
        match rebuild(pattern, &mut bindings) {
            Some(rebuilt) => {
                destructure.push(quote! { let #pattern: #ty = #argument; });
                for binding in &bindings {
                    // Errors about cloning point at the argument's type, or at the binding.
                    let span = if whole { ty.span() } else { binding.span() };
                    let clone =
                        quote_spanned! {span=> ::livestar::__private::reload_clone(&#binding) };
                    shadow.push(quote! { let #binding = #clone; });
                    capture.push(quote! { let #binding = #clone; });
                }
                call_args.push(rebuilt);
            }
            None => {
                let clone =
                    quote_spanned! {ty.span()=> ::livestar::__private::reload_clone(&#argument) };
                shadow.push(quote! { let #pattern: #ty = #clone; });
                capture.push(quote! { let #argument = #clone; });
                call_args.push(quote!(#argument));
            }
        }
    }

    let sources = model.args.invalidate.iter().map(|source| {
        let expr = &source.expr;
        quote_spanned! {expr.span()=>
            (&&::livestar::__private::Source::new(#expr)).livestar_invalidation()
        }
    });
    let bindings = if model.args.invalidate.is_empty() {
        quote!()
    } else {
        quote! { #( #shadow )* }
    };

    let call = quote! { __livestar_load(#( #call_args ),*).await };
    let (load_body, state_type, output_check) = match &model.output {
        LoadOutput::Result { ok, err } => (
            quote_spanned! {err.span()=> {
                let __livestar_result = #call;
                ::livestar::__private::load_result(__livestar_result)
            }},
            quote!(#ok),
            quote!(),
        ),
        LoadOutput::ResultAlias(ty) => (
            quote_spanned! {ty.span()=> {
                let __livestar_result = #call;
                ::livestar::__private::load_result(__livestar_result)
            }},
            quote_spanned! {ty.span()=> <#ty as ::livestar::__private::LoadResult>::Ok },
            quote!(),
        ),
        LoadOutput::Plain(ty) => (
            quote!(::livestar::__private::infallible(#call)),
            quote!(#ty),
            quote!(),
        ),
    };

    let view = &model.view;
    let view_call = quote_spanned! {view.span()=>
        ::livestar::__private::view_output((#view)(__livestar_state), __livestar_html)
    };

    let config = config(model);

    // A shared live view keys its connections: the key is evaluated with the extractors'
    // bindings in scope (clones of them, so `shared = user` moves nothing the load needs).
    let (shared_key, serve, key_args) = match &model.args.shared {
        Some(key) => (
            quote_spanned! {key.span()=>
                static __LIVESTAR_SHARED: ::livestar::__private::SharedViews =
                    ::livestar::__private::SharedViews::new();
                let __livestar_key = {
                    #( #shadow )*
                    ::livestar::__private::shared_key(#key)
                };
            },
            quote!(::livestar::__private::serve_shared),
            quote!(&__LIVESTAR_SHARED, __livestar_key,),
        ),
        None => (quote!(), quote!(::livestar::__private::serve), quote!()),
    };

    let link_parameters = link_arguments(&model.link_parameters);
    let link_path = link_path(&model.path.segments);
    let link_capacity = path.value().len() + 16 * model.link_parameters.len();
    let bounds = extractor_bounds(&types);
    let route = match &model.router_state {
        Some(state) => quote! {
            pub fn route() -> ::livestar::__private::Router<#state> {
                ::livestar::__private::route(PATH, super::#handler)
            }
        },
        None => quote! {
            pub fn route<S>() -> ::livestar::__private::Router<S>
            where
                S: ::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync + 'static,
                #( #bounds )*
            {
                ::livestar::__private::route(PATH, super::#handler)
            }
        },
    };

    let module_doc = format!(
        "The live endpoint of [`{load}()`]: its route `{}`, the Datastar action that opens \
         it, and the router that serves it.",
        path.value()
    );
    let get_doc = format!(
        "The Datastar action that opens this live view: `@get('{}', {{retry: 'always', ...}})`.",
        path.value()
    );

    quote! {
        #function

        #[doc(hidden)]
        #[allow(non_snake_case, unused_variables, unused_mut, clippy::all)]
        async fn #handler(
            __livestar_connect: ::livestar::__private::Connect,
            #( #arguments: #types ),*
        ) -> ::livestar::__private::HttpResponse {
            // Named before the patterns bind anything that could shadow it.
            let __livestar_load = #load;
            #( #destructure )*
            #output_check
            let __livestar_wakeups = {
                #[allow(unused_imports)]
                use ::livestar::__private::{ViaIntoInvalidation as _, ViaStream as _, ViaNothing as _};
                #bindings
                ::livestar::__private::merge([ #( #sources ),* ])
            };
            #shared_key
            #serve(
                #key_args
                #config,
                __livestar_connect,
                __livestar_wakeups,
                move || {
                    #( #capture )*
                    async move { #load_body }
                },
                move |__livestar_state: &#state_type, __livestar_html: &mut ::std::string::String| #view_call,
            )
            .await
        }

        #[doc = #module_doc]
        #[allow(dead_code, private_bounds, private_interfaces, unused_imports)]
        #vis mod #load {
            use super::*;

            /// The route of this live view.
            pub const PATH: &str = #path;

            #[doc = #get_doc]
            #[must_use]
            pub fn get(#( #link_parameters ),*) -> ::livestar::live::Action {
                let mut __livestar_path = ::std::string::String::with_capacity(#link_capacity);
                #( #link_path )*
                ::livestar::live::Action::get(__livestar_path)
            }

            /// A router serving this live view at [`PATH`]; merge it into the app's router.
            #route
        }
    }
}

fn config(model: &LiveView) -> TokenStream {
    let path = &model.path.literal;
    let mut settings = Vec::new();
    match &model.args.heartbeat {
        Some(HeartbeatSetting::Every(duration)) => {
            let millis = duration.millis;
            settings.push(quote! {
                __livestar_config.heartbeat = ::livestar::__private::heartbeat_millis(#millis);
            });
        }
        Some(HeartbeatSetting::Off) => settings.push(quote! {
            __livestar_config.heartbeat = ::livestar::stream::Heartbeat::off();
        }),
        None => {}
    }
    if let Some(selector) = &model.args.selector {
        settings
            .push(quote! { __livestar_config.selector = ::core::option::Option::Some(#selector); });
    }
    if let Some((mode, span)) = &model.args.mode {
        let variant = format_ident!("{}{}", mode[..1].to_uppercase(), &mode[1..], span = *span);
        settings.push(quote! { __livestar_config.mode = ::livestar::event::Mode::#variant; });
    }
    if let Some(retry) = &model.args.retry {
        let millis = retry.millis;
        settings.push(quote! {
            __livestar_config.retry = ::core::time::Duration::from_millis(#millis);
        });
    }
    if let Some(compress) = &model.args.compress {
        settings.push(quote! { __livestar_config.compress = #compress; });
    }
    if let Some(error_view) = &model.args.error_view {
        let call = quote_spanned! {error_view.span()=>
            ::livestar::__private::error_view_output((#error_view)(__livestar_failure))
        };
        settings.push(quote! {
            __livestar_config.error_view = ::core::option::Option::Some(
                |__livestar_failure: &::livestar::live::Failure| #call
            );
        });
    }
    quote! {{
        let mut __livestar_config = ::livestar::__private::Config::new(#path);
        #( #settings )*
        __livestar_config
    }}
}

/// The expression that rebuilds what `pattern` matched from its bindings, collecting them;
/// `None` when the pattern loses information (`_`, `..`, literals, references).
fn rebuild(pattern: &Pat, bindings: &mut Vec<Ident>) -> Option<TokenStream> {
    match pattern {
        Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
            let name = &ident.ident;
            bindings.push(name.clone());
            Some(quote!(#name))
        }
        Pat::TupleStruct(tuple) => {
            let path = &tuple.path;
            let elems = tuple
                .elems
                .iter()
                .map(|elem| rebuild(elem, bindings))
                .collect::<Option<Vec<_>>>()?;
            Some(quote!(#path(#( #elems ),*)))
        }
        Pat::Tuple(tuple) => {
            let elems = tuple
                .elems
                .iter()
                .map(|elem| rebuild(elem, bindings))
                .collect::<Option<Vec<_>>>()?;
            Some(quote!((#( #elems, )*)))
        }
        Pat::Struct(structure) if structure.rest.is_none() => {
            let path = &structure.path;
            let fields = structure
                .fields
                .iter()
                .map(|field| {
                    let member = &field.member;
                    let value = rebuild(&field.pat, bindings)?;
                    Some(quote!(#member: #value))
                })
                .collect::<Option<Vec<_>>>()?;
            Some(quote!(#path { #( #fields ),* }))
        }
        Pat::Paren(paren) => rebuild(&paren.pat, bindings),
        _ => None,
    }
}

/// Whether an extractor is one of the common ones that read the request body.
/// The arguments of a typed link (`todos::get(..)`, `toggle::post(..)`): one per path
/// parameter, of the type the `Path` extractor reads it as; a `String` one takes anything
/// displayable (`room::post("lobby")`).
pub(crate) fn link_arguments(parameters: &[LinkParameter]) -> Vec<TokenStream> {
    parameters
        .iter()
        .map(|parameter| {
            let name = &parameter.name;
            match &parameter.ty {
                Some(ty) if !is_string(ty) => quote!(#name: #ty),
                _ => quote!(#name: impl ::core::fmt::Display),
            }
        })
        .collect()
}

/// Whether `ty` is `String` (or a path ending in it).
fn is_string(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(path) if path.qself.is_none()
        && path.path.segments.last().is_some_and(|last| last.ident == "String" && last.arguments.is_empty()))
}

/// The statements that build a typed link's path in `__livestar_path`, each parameter
/// percent-encoded.
pub(crate) fn link_path(segments: &[PathPiece]) -> Vec<TokenStream> {
    segments
        .iter()
        .map(|piece| match piece {
            PathPiece::Static(text) => quote! { __livestar_path.push_str(#text); },
            PathPiece::Parameter(name) => {
                let name = format_ident!("{}", name);
                quote! {
                    ::livestar::__private::push_segment(
                        &mut __livestar_path,
                        &::std::string::ToString::to_string(&#name),
                    );
                }
            }
        })
        .collect()
}

/// The bounds of a generic `route<S>()` on the handler's extractors. Every extractor reads
/// the request head, but the last may read the body (signals of a POST, JSON): as in axum,
/// only the last one may be a `FromRequest`.
pub(crate) fn extractor_bounds(types: &[&syn::Type]) -> Vec<TokenStream> {
    types
        .iter()
        .enumerate()
        .map(|(index, ty)| {
            if index + 1 == types.len() && reads_body(ty) {
                quote! { #ty: ::livestar::__private::FromRequest<S> + ::core::marker::Send, }
            } else {
                quote! { #ty: ::livestar::__private::FromRequestParts<S> + ::core::marker::Send, }
            }
        })
        .collect()
}

fn reads_body(ty: &syn::Type) -> bool {
    let syn::Type::Path(path) = ty else {
        return false;
    };
    path.path.segments.last().is_some_and(|last| {
        [
            "ReadSignals",
            "Json",
            "Form",
            "Bytes",
            "String",
            "Request",
            "Multipart",
        ]
        .iter()
        .any(|name| last.ident == name)
    })
}
