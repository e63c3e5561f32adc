//! `html!`: tokens -> [`parse::Template`] -> checks -> generated code.
//!
//! The syntax and its checks are documented on the `livestar::html` re-export.

mod datastar;
mod elements;
mod escape;
mod expand;
mod parse;
mod suggest;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

/// What a template evaluates to.
#[derive(Clone, Copy)]
pub enum Form {
    /// `html!`: rendered where it is written, into an `Html`.
    Rendered,
    /// `lazy_html!`: a `LazyHtml` that writes into whatever buffer renders it.
    Lazy,
}

/// Every problem found in one template, reported together.
#[derive(Default)]
pub struct Diagnostics {
    errors: Vec<syn::Error>,
}

impl Diagnostics {
    /// Records one problem.
    pub fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// All problems as `compile_error!` invocations.
    fn to_compile_errors(&self) -> TokenStream {
        self.errors
            .iter()
            .map(syn::Error::to_compile_error)
            .collect()
    }
}

/// Expands `html! { ... }` or `lazy_html! { ... }`. On errors the expansion is still emitted next to them, so the
/// user sees the template's own mistakes and not a cascade of type errors.
pub fn expand(input: TokenStream, form: Form) -> TokenStream {
    let mut diagnostics = Diagnostics::default();
    let template = parse::template(input, &mut diagnostics);
    validate::template(&template, &mut diagnostics);
    let expansion = expand::template(&template, form);
    if diagnostics.errors.is_empty() {
        expansion
    } else {
        let errors = diagnostics.to_compile_errors();
        quote!({ #errors #expansion })
    }
}
