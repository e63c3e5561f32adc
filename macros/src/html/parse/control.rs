//! Control flow in a template: `@if`, `@for`, `@match` and their blocks.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::ToTokens;

use super::{
    Arm, Cursor, Else, For, If, Match, Node, Parser, Stop, Text, is_string_literal, spanned_from,
};

impl Parser<'_> {
    /// After `@`.
    pub(super) fn control(&mut self, at: Span) -> Option<Node> {
        let keyword = match self.cursor.peek() {
            Some(TokenTree::Ident(ident)) => ident.clone(),
            _ => {
                self.error(syn::Error::new(
                    at,
                    "expected `@if`, `@for`, `@match` or `@let` after `@`; to write a literal `@`, put the text in quotes",
                ));
                return None;
            }
        };
        match keyword.to_string().as_str() {
            "if" => {
                self.cursor.next();
                Some(Node::If(self.if_rest(&keyword)))
            }
            "for" => {
                self.cursor.next();
                let (head, body) = self.head_and_block(&keyword, "@for item in items { ... }")?;
                let is_in = |t: &TokenTree| matches!(t, TokenTree::Ident(i) if i == "in");
                if !head.clone().into_iter().any(|t| is_in(&t)) {
                    self.error(syn::Error::new_spanned(
                        &head,
                        "expected `in` in `@for`; write `@for item in items { ... }`",
                    ));
                    return None;
                }
                let mut tokens = head.clone().into_iter();
                let pattern: TokenStream = tokens.by_ref().take_while(|t| !is_in(t)).collect();
                let iterable: TokenStream = tokens.collect();
                if pattern.is_empty() || iterable.is_empty() {
                    self.error(syn::Error::new_spanned(
                        &head,
                        "`@for` needs a pattern before `in` and an iterable after it; write `@for item in items { ... }`",
                    ));
                    return None;
                }
                Some(Node::For(For {
                    pattern,
                    iterable,
                    body,
                }))
            }
            "match" => {
                self.cursor.next();
                self.match_rest(&keyword)
            }
            "let" => {
                self.cursor.next();
                let mut tokens: TokenStream = keyword.to_token_stream();
                loop {
                    match self.cursor.next() {
                        Some(TokenTree::Punct(p)) if p.as_char() == ';' => {
                            tokens.extend([TokenTree::Punct(p)]);
                            return Some(Node::Let(tokens));
                        }
                        Some(token) => tokens.extend([token]),
                        None => {
                            self.error(syn::Error::new_spanned(
                                &tokens,
                                "`@let` needs a `;` at the end: `@let name = value;`",
                            ));
                            return None;
                        }
                    }
                }
            }
            "else" => {
                self.cursor.next();
                self.skip_through_block();
                self.error(syn::Error::new(
                    keyword.span(),
                    "`@else` without an `@if` before it; put it right after the `@if { ... }` block",
                ));
                None
            }
            other => {
                self.cursor.next();
                self.skip_through_block();
                self.error(syn::Error::new(
                    keyword.span(),
                    format!(
                        "unknown control keyword `@{other}`; write `@if`, `@for`, `@match` or `@let`, or quote the text to write a literal `@`"
                    ),
                ));
                None
            }
        }
    }

    /// The tokens up to the body's `{ ... }`, and the body parsed as nodes.
    ///
    /// A brace group followed by `=`, `in` or `|` belongs to a pattern
    /// (`@if let Point { x, y } = p { ... }`), not the body.
    fn head_and_block(
        &mut self,
        keyword: &Ident,
        example: &str,
    ) -> Option<(TokenStream, Vec<Node>)> {
        let mut head = TokenStream::new();
        loop {
            match self.cursor.peek().cloned() {
                Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => {
                    let in_pattern = self.cursor.is_punct(1, '=')
                        || self.cursor.is_ident(1, "in")
                        || self.cursor.is_punct(1, '|');
                    self.cursor.next();
                    if in_pattern || head.is_empty() {
                        if head.is_empty() {
                            self.error(syn::Error::new(
                                group.span(),
                                format!(
                                    "`@{keyword}` needs something before its block: `{example}`"
                                ),
                            ));
                            return None;
                        }
                        head.extend([TokenTree::Group(group)]);
                        continue;
                    }
                    let body = self.block(&group);
                    return Some((head, body));
                }
                Some(token) => {
                    self.cursor.next();
                    head.extend([token]);
                }
                None => {
                    self.error(syn::Error::new(
                        keyword.span(),
                        format!("`@{keyword}` needs a block in braces: `{example}`"),
                    ));
                    return None;
                }
            }
        }
    }

    /// The nodes inside a `{ ... }` block.
    fn block(&mut self, group: &Group) -> Vec<Node> {
        let mut parser = Parser {
            cursor: Cursor::new(group.stream()),
            diagnostics: self.diagnostics,
            open: self.open.clone(),
        };
        let (nodes, stop) = parser.nodes();
        if let Stop::ClosingTag = stop {
            let start = parser.cursor.span();
            parser.cursor.pos += 2;
            let close = parser.name("element");
            parser.skip_past_gt();
            if let Some(close) = close {
                parser.error(syn::Error::new_spanned(
                    spanned_from(start, &close.tokens),
                    format!(
                        "closing tag `</{}>` inside a block whose element was opened outside it; open and close each element in the same block",
                        close.text
                    ),
                ));
            }
            let rest = parser.nodes_until_end();
            let mut nodes = nodes;
            nodes.extend(rest);
            return nodes;
        }
        nodes
    }

    fn if_rest(&mut self, keyword: &Ident) -> If {
        let Some((condition, then)) = self.head_and_block(keyword, "@if condition { ... }") else {
            return If {
                condition: quote::quote!(false),
                then: Vec::new(),
                otherwise: None,
            };
        };
        let mut result = If {
            condition,
            then,
            otherwise: None,
        };
        if self.cursor.is_punct(0, '@') && self.cursor.is_ident(1, "else") {
            self.cursor.pos += 2;
            if let Some(TokenTree::Ident(next_if)) = self.cursor.peek().cloned()
                && next_if == "if"
            {
                self.cursor.next();
                result.otherwise = Some(Else::If(Box::new(self.if_rest(&next_if))));
                return result;
            }
            match self.cursor.next() {
                Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => {
                    result.otherwise = Some(Else::Block(self.block(&group)));
                }
                other => {
                    let span = other.map_or_else(|| keyword.span(), |t| t.span());
                    self.error(syn::Error::new(
                        span,
                        "expected `{ ... }` or `if` after `@else`: `@else { ... }` or `@else if condition { ... }`",
                    ));
                }
            }
        }
        result
    }

    fn match_rest(&mut self, keyword: &Ident) -> Option<Node> {
        let mut scrutinee = TokenStream::new();
        let group = loop {
            match self.cursor.next() {
                Some(TokenTree::Group(group))
                    if group.delimiter() == Delimiter::Brace && !scrutinee.is_empty() =>
                {
                    break group;
                }
                Some(token) => scrutinee.extend([token]),
                None => {
                    self.error(syn::Error::new(
                        keyword.span(),
                        "`@match` needs arms in braces: `@match value { Pattern => { ... } }`",
                    ));
                    return None;
                }
            }
        };
        let mut arms = Vec::new();
        let mut parser = Parser {
            cursor: Cursor::new(group.stream()),
            diagnostics: self.diagnostics,
            open: self.open.clone(),
        };
        while !parser.cursor.at_end() {
            let mut pattern = TokenStream::new();
            loop {
                if parser.cursor.is_punct(0, '=') && parser.cursor.is_punct(1, '>') {
                    parser.cursor.pos += 2;
                    break;
                }
                match parser.cursor.next() {
                    Some(token) => pattern.extend([token]),
                    None => {
                        let span = group.span_close();
                        parser.error(syn::Error::new(
                            span,
                            "expected `=>` after the pattern of a `@match` arm: `Pattern => { ... }`",
                        ));
                        return Some(Node::Match(Match {
                            scrutinee,
                            arms,
                            brace_span: group.span(),
                        }));
                    }
                }
            }
            let body = match parser.cursor.peek().cloned() {
                Some(TokenTree::Group(body)) if body.delimiter() == Delimiter::Brace => {
                    parser.cursor.next();
                    parser.block(&body)
                }
                Some(TokenTree::Punct(p)) if p.as_char() == '<' => {
                    parser.cursor.next();
                    parser.after_lt(p.span()).into_iter().collect()
                }
                Some(TokenTree::Literal(l)) if is_string_literal(&l) => {
                    parser.cursor.next();
                    let value = syn::parse2::<syn::LitStr>(l.to_token_stream())
                        .map(|lit| lit.value())
                        .unwrap_or_default();
                    vec![Node::Text(Text {
                        value,
                        span: l.span(),
                    })]
                }
                other => {
                    let span = other.map_or_else(|| group.span_close(), |t| t.span());
                    parser.error(syn::Error::new(
                        span,
                        "expected the arm's template after `=>`: `{ ... }`, an element or a quoted string",
                    ));
                    // Skip to the next arm.
                    while let Some(token) = parser.cursor.next() {
                        if matches!(&token, TokenTree::Punct(p) if p.as_char() == ',') {
                            break;
                        }
                    }
                    Vec::new()
                }
            };
            if parser.cursor.is_punct(0, ',') {
                parser.cursor.next();
            }
            arms.push(Arm { pattern, body });
        }
        Some(Node::Match(Match {
            scrutinee,
            arms,
            brace_span: group.span(),
        }))
    }
}
