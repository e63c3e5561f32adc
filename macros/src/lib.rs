//! Procedural macros of [livestar](https://docs.rs/livestar).
//!
//! Depend on `livestar`, not on this crate: it re-exports every macro with the runtime items
//! the generated code calls.

mod action;
mod html;
mod js;
mod live_view;
mod signal;

/// Writes HTML with compile-time checks; see the documentation of `livestar::html!`.
#[proc_macro]
pub fn html(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    html::expand(input.into(), html::Form::Rendered).into()
}

/// `html!` that renders later, into the caller's buffer; see `livestar::lazy_html!`.
#[proc_macro]
pub fn lazy_html(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    html::expand(input.into(), html::Form::Lazy).into()
}

/// Turns an async load function into a live axum endpoint; see `livestar::live_view`.
#[proc_macro_attribute]
pub fn live_view(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    live_view::expand(args.into(), item.into()).into()
}

/// Makes an axum handler a typed Datastar action; see `livestar::action`.
#[proc_macro_attribute]
pub fn action(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    action::expand(args.into(), item.into()).into()
}

/// A Datastar expression with Rust values written in as JavaScript literals; see
/// `livestar::js!`.
#[proc_macro]
pub fn js(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    js::expand(input.into()).into()
}
