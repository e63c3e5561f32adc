//! Tokens -> the typed model of a template.
//!
//! The parser recovers from every mistake it reports (a mismatched closing tag closes the
//! element anyway, an unknown token is skipped), so one compile lists every structural
//! error and the expansion still has something to show.

use proc_macro2::{Delimiter, Group, Ident, LineColumn, Literal, Span, TokenStream, TokenTree};
use quote::ToTokens;

mod attributes;
mod control;
mod model;

pub use model::{
    Arm, Attribute, AttributeValue, Element, Else, For, If, Interpolation, Match, Name, Node,
    Template, Text,
};

use super::Diagnostics;
use super::elements;

/// Parses a template, reporting problems to `diagnostics`.
pub fn template(input: TokenStream, diagnostics: &mut Diagnostics) -> Template {
    let mut parser = Parser {
        cursor: Cursor::new(input),
        diagnostics,
        open: Vec::new(),
    };
    let nodes = parser.nodes_until_end();
    Template { nodes }
}

struct Cursor {
    tokens: Vec<TokenTree>,
    pos: usize,
}

impl Cursor {
    fn new(input: TokenStream) -> Self {
        Cursor {
            tokens: input.into_iter().collect(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<&TokenTree> {
        self.tokens.get(self.pos)
    }

    fn peek_nth(&self, n: usize) -> Option<&TokenTree> {
        self.tokens.get(self.pos + n)
    }

    fn next(&mut self) -> Option<TokenTree> {
        let token = self.tokens.get(self.pos).cloned();
        if token.is_some() {
            self.pos += 1;
        }
        token
    }

    fn is_punct(&self, n: usize, ch: char) -> bool {
        matches!(self.peek_nth(n), Some(TokenTree::Punct(p)) if p.as_char() == ch)
    }

    fn is_ident(&self, n: usize, name: &str) -> bool {
        matches!(self.peek_nth(n), Some(TokenTree::Ident(i)) if i == name)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    /// The span of the current token, or of the last one at the end.
    fn span(&self) -> Span {
        self.peek()
            .or_else(|| self.tokens.last())
            .map_or_else(Span::call_site, TokenTree::span)
    }
}

struct Parser<'d> {
    cursor: Cursor,
    diagnostics: &'d mut Diagnostics,
    /// Names of the elements currently open, outermost first, to recover from a missing
    /// closing tag.
    open: Vec<String>,
}

/// Why [`Parser::nodes`] stopped.
enum Stop {
    End,
    /// At `</`, not consumed.
    ClosingTag,
}

impl Parser<'_> {
    fn error(&mut self, error: syn::Error) {
        self.diagnostics.push(error);
    }

    fn nodes_until_end(&mut self) -> Vec<Node> {
        let mut nodes = Vec::new();
        loop {
            let (mut more, stop) = self.nodes();
            nodes.append(&mut more);
            match stop {
                Stop::End => return nodes,
                Stop::ClosingTag => {
                    // A closing tag with nothing open.
                    let start = self.cursor.span();
                    self.cursor.next();
                    self.cursor.next();
                    let name = self.name("element");
                    self.expect_gt();
                    if let Some(name) = name {
                        let message = if elements::is_void(&name.text) {
                            void_closing_message(&name.text)
                        } else {
                            format!(
                                "closing tag `</{0}>` has no matching `<{0}>`; remove it or open the element before it",
                                name.text
                            )
                        };
                        self.error(syn::Error::new_spanned(
                            spanned_from(start, &name.tokens),
                            message,
                        ));
                    }
                }
            }
        }
    }

    /// Parses nodes until the end of input or a closing tag.
    fn nodes(&mut self) -> (Vec<Node>, Stop) {
        let mut nodes = Vec::new();
        loop {
            let Some(token) = self.cursor.peek().cloned() else {
                return (nodes, Stop::End);
            };
            match token {
                TokenTree::Punct(p) if p.as_char() == '<' => {
                    if self.cursor.is_punct(1, '/') {
                        // A closing tag of a void element is never a match: skip it here.
                        if let Some(TokenTree::Ident(name)) = self.cursor.peek_nth(2).cloned()
                            && elements::is_void(&name.to_string())
                            && self.cursor.is_punct(3, '>')
                        {
                            let tokens: TokenStream = self.cursor.tokens
                                [self.cursor.pos..self.cursor.pos + 4]
                                .iter()
                                .cloned()
                                .collect();
                            self.cursor.pos += 4;
                            let message = void_closing_message(&name.to_string());
                            self.error(syn::Error::new_spanned(tokens, message));
                            continue;
                        }
                        return (nodes, Stop::ClosingTag);
                    }
                    self.cursor.next();
                    if let Some(node) = self.after_lt(p.span()) {
                        nodes.push(node);
                    }
                }
                TokenTree::Punct(p) if p.as_char() == '@' => {
                    self.cursor.next();
                    if let Some(node) = self.control(p.span()) {
                        nodes.push(node);
                    }
                }
                TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => {
                    self.cursor.next();
                    nodes.push(self.interpolation(&group));
                }
                TokenTree::Literal(literal) if is_string_literal(&literal) => {
                    self.cursor.next();
                    match syn::parse2::<syn::LitStr>(literal.to_token_stream()) {
                        Ok(lit) => nodes.push(Node::Text(Text {
                            value: lit.value(),
                            span: lit.span(),
                        })),
                        Err(error) => self.error(error),
                    }
                }
                _ => nodes.push(Node::Text(self.bare_text())),
            }
        }
    }

    /// Bare words up to the next `<`, `@`, `{...}` or quoted literal, with their original
    /// spacing collapsed to single spaces.
    fn bare_text(&mut self) -> Text {
        let mut value = String::new();
        let mut span = None;
        let mut previous_end: Option<LineColumn> = None;
        while let Some(token) = self.cursor.peek() {
            let stop = match token {
                TokenTree::Punct(p) => p.as_char() == '<' || p.as_char() == '@',
                TokenTree::Group(g) => g.delimiter() == Delimiter::Brace,
                TokenTree::Literal(l) => is_string_literal(l),
                TokenTree::Ident(_) => false,
            };
            if stop {
                break;
            }
            let token = self.cursor.tokens[self.cursor.pos].clone();
            self.cursor.pos += 1;
            let token_span = token.span();
            span.get_or_insert(token_span);
            if let Some(end) = previous_end
                && (end != token_span.start() || end.line == 0)
            {
                value.push(' ');
            }
            previous_end = Some(token_span.end());
            value.push_str(
                &token_span
                    .source_text()
                    .unwrap_or_else(|| token.to_string()),
            );
        }
        Text {
            value,
            span: span.unwrap_or_else(Span::call_site),
        }
    }

    fn interpolation(&mut self, group: &Group) -> Node {
        let expr = group.stream();
        if expr.is_empty() {
            self.error(syn::Error::new(
                group.span(),
                "empty `{}` in a template; write an expression to render inside the braces, e.g. `{name}`",
            ));
        }
        let inline = nested_html(&expr).map(|inner| {
            let mut parser = Parser {
                cursor: Cursor::new(inner),
                diagnostics: self.diagnostics,
                open: Vec::new(),
            };
            parser.nodes_until_end()
        });
        Node::Interpolation(Interpolation {
            expr,
            span: group.span(),
            inline,
        })
    }

    /// After `<`: an element, `<!DOCTYPE html>` or a comment.
    fn after_lt(&mut self, lt: Span) -> Option<Node> {
        if self.cursor.is_punct(0, '!') {
            self.cursor.next();
            if self.cursor.is_punct(0, '-') && self.cursor.is_punct(1, '-') {
                self.cursor.pos += 2;
                return self.comment(lt);
            }
            let doctype_ok = matches!(self.cursor.peek(), Some(TokenTree::Ident(i)) if i.to_string().eq_ignore_ascii_case("doctype"))
                && self.cursor.is_ident(1, "html")
                && self.cursor.is_punct(2, '>');
            if doctype_ok {
                self.cursor.pos += 3;
                return Some(Node::Doctype);
            }
            self.error(syn::Error::new(
                lt,
                "expected `<!DOCTYPE html>` or a comment `<!-- \"text\" -->` after `<!`",
            ));
            self.skip_past_gt();
            return None;
        }
        match self.cursor.peek() {
            Some(TokenTree::Ident(_)) => {
                let name = self.name("element")?;
                Some(Node::Element(self.element(lt, name)))
            }
            _ => {
                let span = self.cursor.span();
                self.error(syn::Error::new(
                    span,
                    "expected an element name after `<`; to write a literal `<` in text, put the text in quotes: `\"a < b\"`",
                ));
                None
            }
        }
    }

    fn comment(&mut self, lt: Span) -> Option<Node> {
        let start = self.cursor.pos;
        while !self.cursor.at_end() {
            if self.cursor.is_punct(0, '-')
                && self.cursor.is_punct(1, '-')
                && self.cursor.is_punct(2, '>')
            {
                let inner: TokenStream = self.cursor.tokens[start..self.cursor.pos]
                    .iter()
                    .cloned()
                    .collect();
                self.cursor.pos += 3;
                let mut text = String::new();
                let mut sub = Parser {
                    cursor: Cursor::new(inner),
                    diagnostics: self.diagnostics,
                    open: Vec::new(),
                };
                while let Some(token) = sub.cursor.peek().cloned() {
                    match token {
                        TokenTree::Literal(l) if is_string_literal(&l) => {
                            sub.cursor.next();
                            if let Ok(lit) = syn::parse2::<syn::LitStr>(l.to_token_stream()) {
                                text.push_str(&lit.value());
                            }
                        }
                        _ => {
                            let bare = sub.bare_text();
                            if bare.value.is_empty() {
                                sub.cursor.next();
                            }
                            text.push_str(&bare.value);
                        }
                    }
                }
                if text.contains("--") || text.starts_with('>') {
                    self.error(syn::Error::new(
                        lt,
                        "an HTML comment cannot contain `--` or start with `>`; reword the comment",
                    ));
                }
                return Some(Node::Comment(Text {
                    value: text,
                    span: lt,
                }));
            }
            self.cursor.next();
        }
        self.error(syn::Error::new(
            lt,
            "this comment is never closed; end it with `-->`",
        ));
        None
    }

    /// Skips the head and `{ ... }` block of a construct already reported as an error, so
    /// its contents do not cause follow-on errors.
    fn skip_through_block(&mut self) {
        while let Some(token) = self.cursor.peek() {
            match token {
                TokenTree::Punct(p) if p.as_char() == '<' || p.as_char() == '@' => return,
                TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => {
                    self.cursor.next();
                    return;
                }
                _ => {
                    self.cursor.next();
                }
            }
        }
    }

    fn skip_past_gt(&mut self) {
        while let Some(token) = self.cursor.next() {
            if matches!(&token, TokenTree::Punct(p) if p.as_char() == '>') {
                return;
            }
        }
    }

    /// A name: an identifier or literal, continued by `-`, `:` or `.` and more identifiers
    /// or literals (`data-on:keydown__debounce.500ms`).
    fn name(&mut self, what: &str) -> Option<Name> {
        let mut text = String::new();
        let mut tokens = TokenStream::new();
        match self.cursor.peek() {
            Some(TokenTree::Ident(ident)) => {
                text.push_str(&ident_text(ident));
            }
            _ => {
                let span = self.cursor.span();
                self.error(syn::Error::new(span, format!("expected {what} name")));
                return None;
            }
        }
        tokens.extend(self.cursor.next());
        while let Some(TokenTree::Punct(p)) = self.cursor.peek() {
            let ch = p.as_char();
            let continues = matches!(ch, '-' | ':' | '.')
                && matches!(
                    self.cursor.peek_nth(1),
                    Some(TokenTree::Ident(_) | TokenTree::Literal(_))
                );
            if !continues {
                break;
            }
            text.push(ch);
            tokens.extend(self.cursor.next());
            match self.cursor.next() {
                Some(TokenTree::Ident(ident)) => {
                    text.push_str(&ident_text(&ident));
                    tokens.extend([TokenTree::Ident(ident)]);
                }
                Some(other) => {
                    text.push_str(&other.to_string());
                    tokens.extend([other]);
                }
                None => {}
            }
        }
        Some(Name { text, tokens })
    }

    fn expect_gt(&mut self) {
        if self.cursor.is_punct(0, '>') {
            self.cursor.next();
        } else {
            let span = self.cursor.span();
            self.error(syn::Error::new(span, "expected `>` to end the tag"));
            self.skip_past_gt();
        }
    }

    /// After `<name`.
    fn element(&mut self, lt: Span, name: Name) -> Element {
        let attributes = self.attributes(&name);
        let mut element = Element {
            name,
            attributes,
            children: Vec::new(),
        };

        // `/>`: no children, whatever the element.
        if self.cursor.is_punct(0, '/') && self.cursor.is_punct(1, '>') {
            self.cursor.pos += 2;
            return element;
        }
        self.expect_gt();
        if element.is_void() {
            return element;
        }

        self.open.push(element.name.text.clone());
        let (children, stop) = self.nodes();
        self.open.pop();
        element.children = children;

        match stop {
            Stop::End => {
                let message = format!(
                    "`<{0}>` is never closed; add `</{0}>` after its content",
                    element.name.text
                );
                self.error(syn::Error::new_spanned(
                    spanned_from(lt, &element.name.tokens),
                    message,
                ));
            }
            Stop::ClosingTag => {
                let close_start = self.cursor.span();
                let save = self.cursor.pos;
                self.cursor.pos += 2;
                let close = self.name("element");
                let Some(close) = close else {
                    self.skip_past_gt();
                    return element;
                };
                if close.text == element.name.text {
                    self.expect_gt();
                } else if self.open.contains(&close.text) {
                    // Closes an outer element: this one was left open. Leave the closing tag
                    // for the element it belongs to.
                    self.cursor.pos = save;
                    let message = format!(
                        "`<{0}>` is not closed before `</{1}>`; add `</{0}>` before `</{1}>`",
                        element.name.text, close.text
                    );
                    self.error(syn::Error::new_spanned(
                        spanned_from(lt, &element.name.tokens),
                        message,
                    ));
                } else {
                    self.expect_gt();
                    let message = format!(
                        "closing tag `</{}>` does not match the open `<{}>`; write `</{}>`",
                        close.text, element.name.text, element.name.text
                    );
                    self.error(syn::Error::new_spanned(
                        spanned_from(close_start, &close.tokens),
                        message,
                    ));
                    let message = format!(
                        "`<{}>` is opened here and closed by `</{}>`",
                        element.name.text, close.text
                    );
                    self.error(syn::Error::new_spanned(
                        spanned_from(lt, &element.name.tokens),
                        message,
                    ));
                }
            }
        }
        element
    }
}

fn void_closing_message(name: &str) -> String {
    format!(
        "`<{name}>` is a void element: it has no closing tag and no content; remove `</{name}>` (write `<{name}>` or `<{name}/>`)"
    )
}

/// The text of an identifier without a raw `r#` prefix.
fn ident_text(ident: &Ident) -> String {
    let text = ident.to_string();
    match text.strip_prefix("r#") {
        Some(stripped) => stripped.to_owned(),
        None => text,
    }
}

fn is_string_literal(literal: &Literal) -> bool {
    let text = literal.to_string();
    text.starts_with('"') || text.starts_with("r\"") || text.starts_with("r#")
}

/// Tokens that span from `start` to the end of `rest`, for diagnostics over a whole tag.
fn spanned_from(start: Span, rest: &TokenStream) -> TokenStream {
    let mut tokens: TokenStream =
        TokenTree::Punct(proc_macro2::Punct::new('<', proc_macro2::Spacing::Alone))
            .into_token_stream()
            .into_iter()
            .map(|mut t| {
                t.set_span(start);
                t
            })
            .collect();
    tokens.extend(rest.clone());
    tokens
}

/// When `expr` is exactly `html! { ... }` (or a path ending in `html!`), its inner tokens.
fn nested_html(expr: &TokenStream) -> Option<TokenStream> {
    let tokens: Vec<TokenTree> = expr.clone().into_iter().collect();
    let [
        path @ ..,
        TokenTree::Ident(name),
        TokenTree::Punct(bang),
        TokenTree::Group(group),
    ] = tokens.as_slice()
    else {
        return None;
    };
    let path_ok = path.iter().all(|t| match t {
        TokenTree::Ident(_) => true,
        TokenTree::Punct(p) => p.as_char() == ':',
        _ => false,
    });
    (name == "html" && bang.as_char() == '!' && path_ok).then(|| group.stream())
}
