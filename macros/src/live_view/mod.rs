//! `#[live_view]`: parse the attribute and the load function into a typed model, validate it,
//! then generate the handler and the typed endpoint module.

pub(crate) mod expand;
pub(crate) mod parse;
pub(crate) mod validate;

use proc_macro2::TokenStream;
use quote::ToTokens;

/// Collects every error of one expansion, so one compile shows all of them.
#[derive(Default)]
pub(crate) struct Errors(Vec<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, span: impl Into<SpanOf>, message: impl std::fmt::Display) {
        self.0.push(syn::Error::new(span.into().0, message));
    }

    pub(crate) fn add(&mut self, error: syn::Error) {
        self.0.push(error);
    }

    pub(crate) fn into_tokens(self) -> Option<TokenStream> {
        let mut errors = self.0.into_iter();
        let mut first = errors.next()?;
        for error in errors {
            first.combine(error);
        }
        Some(first.to_compile_error())
    }
}

/// A span, from a span or anything with tokens.
pub(crate) struct SpanOf(proc_macro2::Span);

impl From<proc_macro2::Span> for SpanOf {
    fn from(span: proc_macro2::Span) -> Self {
        SpanOf(span)
    }
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let function: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(error) => {
            let mut tokens = item;
            tokens.extend(
                syn::Error::new(
                    error.span(),
                    "#[live_view] goes on an `async fn` whose arguments are axum extractors, \
                     e.g. `async fn todos(State(app): State<App>) -> Vec<Todo>`",
                )
                .to_compile_error(),
            );
            return tokens;
        }
    };
    let args = parse::parse_args(args, &mut errors);
    let model = validate::validate(args, &function, &mut errors);
    match (errors.into_tokens(), model) {
        (None, Some(model)) => expand::expand(&model, &function),
        (errors, _) => {
            // Re-emit the function unchanged so rust-analyzer keeps working inside it.
            let mut tokens = function.to_token_stream();
            tokens.extend(errors);
            tokens
        }
    }
}

/// The closest of `candidates` to `word`, when it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (levenshtein(word, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= candidate.len().max(3) / 3 + 1)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(row[j]).min(current)
            };
            previous = current;
        }
    }
    row[b.len()]
}
