//! `js!("$count + {step}")`: a Datastar expression with Rust values in it. The literal is
//! parsed into code and `{name}` placeholders (`{{` and `}}` for braces), each name a value in
//! scope; the generated code writes the code as it is and each value as a JavaScript literal.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Ident, LitStr};

use crate::signal::{self, Context, Scanner};

/// One piece of the literal.
enum Piece {
    Code(String),
    Value(Ident),
}

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let literal: LitStr = match syn::parse2(input) {
        Ok(literal) => literal,
        Err(error) => {
            return syn::Error::new(
                error.span(),
                "js! takes one string literal: `js!(\"$count + {step}\")`, where `{step}` is a \
                 value in scope that serializes to JSON",
            )
            .to_compile_error();
        }
    };
    match parse(&literal) {
        Ok(pieces) => {
            let errors: TokenStream = check(&literal, &pieces)
                .iter()
                .map(syn::Error::to_compile_error)
                .collect();
            let expansion = generate(&literal, &pieces);
            if errors.is_empty() {
                expansion
            } else {
                quote!({ #errors #expansion })
            }
        }
        Err(error) => error.to_compile_error(),
    }
}

/// Checks where each placeholder falls in the JavaScript, and the `$name` references.
///
/// A value is written as a JavaScript literal with its own quotes, so it belongs where code
/// goes. Inside a string it would show its quotes; inside template-literal text, a comment or
/// a regular expression, JSON escaping does not keep it from ending them (`${...}`, `*/`).
fn check(literal: &LitStr, pieces: &[Piece]) -> Vec<syn::Error> {
    let mut scanner = Scanner::default();
    let mut code = String::new();
    let mut errors = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Code(text) => code.push_str(&scanner.blank(text)),
            Piece::Value(name) => {
                let place = match scanner.context() {
                    Context::Code => None,
                    Context::SingleQuoted | Context::DoubleQuoted => Some("a JavaScript string"),
                    Context::Template => Some("the text of a template literal"),
                    Context::LineComment | Context::BlockComment => Some("a comment"),
                    Context::Regex | Context::RegexClass => Some("a regular expression"),
                };
                if let Some(place) = place {
                    errors.push(syn::Error::new(
                        literal.span(),
                        format!(
                            "`{{{name}}}` is inside {place} in js!: the value is written as a JavaScript literal with its own quotes and escaping, which only holds in code; write it outside the quotes and join it, e.g. `js!(\"@post('/t/' + {{{name}}})\")`, or in a template literal as `${{{{{{{name}}}}}}}`"
                        ),
                    ));
                }
                scanner.value_written();
                code.push(signal::VALUE);
            }
        }
    }
    errors.extend(
        signal::reference_problems(&code)
            .into_iter()
            .map(|problem| syn::Error::new(literal.span(), problem)),
    );
    errors
}

fn parse(literal: &LitStr) -> syn::Result<Vec<Piece>> {
    let text = literal.value();
    let mut pieces = Vec::new();
    let mut code = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                code.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                code.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => {
                            return Err(syn::Error::new(
                                literal.span(),
                                "a `{` in js! is not closed: write `{name}` for a value, `{{` for a brace",
                            ));
                        }
                    }
                }
                let name = name.trim();
                let ident = syn::parse_str::<Ident>(name).map_err(|_| {
                    syn::Error::new(
                        literal.span(),
                        format!(
                            "`{{{name}}}` in js! is not a name: write `{{step}}` for a value in \
                             scope (bind an expression to a name first), `{{{{` for a brace"
                        ),
                    )
                })?;
                if !code.is_empty() {
                    pieces.push(Piece::Code(std::mem::take(&mut code)));
                }
                pieces.push(Piece::Value(Ident::new(&ident.to_string(), literal.span())));
            }
            '}' => {
                return Err(syn::Error::new(
                    literal.span(),
                    "a `}` in js! has no `{`: write `}}` for a brace",
                ));
            }
            c => code.push(c),
        }
    }
    if !code.is_empty() {
        pieces.push(Piece::Code(code));
    }
    Ok(pieces)
}

fn generate(literal: &LitStr, pieces: &[Piece]) -> TokenStream {
    let capacity = literal.value().len() + 16;
    let steps = pieces.iter().map(|piece| match piece {
        Piece::Code(code) => quote! { __livestar_js.code(#code); },
        Piece::Value(name) => quote! { __livestar_js.value(&#name); },
    });
    quote! {{
        let mut __livestar_js = ::livestar::render::JsBuilder::new(#capacity);
        #( #steps )*
        __livestar_js.finish()
    }}
}
