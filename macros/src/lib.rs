//! Procedural macros of [livestar](https://docs.rs/livestar).
//!
//! Depend on `livestar`, not on this crate: it re-exports every macro with the runtime items
//! the generated code calls.

mod html;

/// Writes HTML with compile-time checks; see the documentation of `livestar::html!`.
#[proc_macro]
pub fn html(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    html::expand(input.into()).into()
}
