//! Attributes of an element: their names and their values.

use proc_macro2::{Delimiter, TokenTree};
use quote::ToTokens;

use super::{Attribute, AttributeValue, Name, Parser, is_string_literal};

impl Parser<'_> {
    pub(super) fn attributes(&mut self, element: &Name) -> Vec<Attribute> {
        let mut attributes = Vec::new();
        loop {
            let Some(token) = self.cursor.peek().cloned() else {
                let message = format!(
                    "the tag `<{}` is never finished; end it with `>`",
                    element.text
                );
                self.error(element.error(message));
                return attributes;
            };
            match token {
                TokenTree::Punct(p) if p.as_char() == '>' => return attributes,
                TokenTree::Punct(p) if p.as_char() == '/' && self.cursor.is_punct(1, '>') => {
                    return attributes;
                }
                TokenTree::Ident(_) => {
                    if let Some(name) = self.name("attribute") {
                        let value = self.attribute_value(&name);
                        attributes.push(Attribute {
                            name,
                            quoted: false,
                            value,
                        });
                    }
                }
                TokenTree::Literal(literal) if is_string_literal(&literal) => {
                    self.cursor.next();
                    let text = syn::parse2::<syn::LitStr>(literal.to_token_stream())
                        .map(|lit| lit.value())
                        .unwrap_or_default();
                    let name = Name {
                        text,
                        tokens: literal.to_token_stream(),
                    };
                    if name.text.is_empty()
                        || name
                            .text
                            .chars()
                            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '>' | '/' | '='))
                    {
                        self.error(name.error(
                            "an attribute name cannot be empty or contain spaces, quotes, `>`, `/` or `=`",
                        ));
                    }
                    let value = self.attribute_value(&name);
                    attributes.push(Attribute {
                        name,
                        quoted: true,
                        value,
                    });
                }
                TokenTree::Punct(p) if p.as_char() == '@' => {
                    self.cursor.next();
                    self.skip_through_block();
                    self.error(syn::Error::new(
                        p.span(),
                        "control flow is not allowed among attributes; for an optional attribute write `name={option}` (left out when `None`) or `name={bool}` (left out when `false`)",
                    ));
                }
                other => {
                    self.cursor.next();
                    self.error(syn::Error::new(
                        other.span(),
                        format!(
                            "expected an attribute or `>` in `<{}>`; attributes are written `name`, `name=\"text\"` or `name={{expression}}`",
                            element.text
                        ),
                    ));
                }
            }
        }
    }

    fn attribute_value(&mut self, name: &Name) -> AttributeValue {
        if !self.cursor.is_punct(0, '=') {
            return AttributeValue::Bare;
        }
        self.cursor.next();
        if self.cursor.is_punct(0, '>') || self.cursor.is_punct(0, '/') {
            let span = self.cursor.span();
            self.error(syn::Error::new(
                span,
                format!(
                    "expected a value after `{0}=`: write `{0}=\"text\"` or `{0}={{expression}}`",
                    name.text
                ),
            ));
            return AttributeValue::Bare;
        }
        match self.cursor.next() {
            Some(TokenTree::Literal(literal)) => {
                if is_string_literal(&literal) {
                    match syn::parse2::<syn::LitStr>(literal.to_token_stream()) {
                        Ok(lit) => AttributeValue::Literal {
                            text: lit.value(),
                            span: literal.span(),
                        },
                        Err(error) => {
                            self.error(error);
                            AttributeValue::Bare
                        }
                    }
                } else {
                    let text = literal.to_string();
                    if text.starts_with(|c: char| c.is_ascii_digit()) {
                        AttributeValue::Literal {
                            text,
                            span: literal.span(),
                        }
                    } else {
                        self.error(syn::Error::new(
                            literal.span(),
                            format!(
                                "write the value of `{}` as a string: `{}=\"...\"`",
                                name.text, name.text
                            ),
                        ));
                        AttributeValue::Bare
                    }
                }
            }
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => {
                if group.stream().is_empty() {
                    self.error(syn::Error::new(
                        group.span(),
                        format!("empty `{{}}` as the value of `{}`; write an expression inside the braces", name.text),
                    ));
                }
                AttributeValue::Expr {
                    expr: group.stream(),
                    span: group.span(),
                }
            }
            other => {
                let span = other
                    .as_ref()
                    .map_or_else(|| self.cursor.span(), TokenTree::span);
                self.error(syn::Error::new(
                    span,
                    format!(
                        "expected a value after `{}=`: write `{}=\"text\"` or `{}={{expression}}`",
                        name.text, name.text, name.text
                    ),
                ));
                AttributeValue::Bare
            }
        }
    }
}
