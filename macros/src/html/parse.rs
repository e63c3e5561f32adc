//! Tokens -> the typed model of a template.
//!
//! The parser recovers from every mistake it reports (a mismatched closing tag closes the
//! element anyway, an unknown token is skipped), so one compile lists every structural
//! error and the expansion still has something to show.

use proc_macro2::{Delimiter, Group, Ident, LineColumn, Literal, Span, TokenStream, TokenTree};
use quote::ToTokens;

use super::Diagnostics;
use super::elements;

/// A whole `html! { ... }`.
pub struct Template {
    pub nodes: Vec<Node>,
}

/// One piece of a template.
pub enum Node {
    /// `<!DOCTYPE html>`.
    Doctype,
    /// `<!-- ... -->`, with its text.
    Comment(Text),
    /// Literal text: `"quoted"` or bare words. Not escaped yet.
    Text(Text),
    /// `{expr}`.
    Interpolation(Interpolation),
    /// `<name ...>...</name>`.
    Element(Element),
    /// `@if`.
    If(If),
    /// `@for`.
    For(For),
    /// `@match`.
    Match(Match),
    /// `@let pattern = expr;`: the tokens after `@`.
    Let(TokenStream),
}

/// Literal text as the author wrote it, before escaping.
pub struct Text {
    pub value: String,
    pub span: Span,
}

/// `{expr}`: a value rendered through `Render`.
pub struct Interpolation {
    pub expr: TokenStream,
    /// The braces.
    pub span: Span,
    /// When the expression is itself `html! { ... }`, its template, rendered straight into
    /// the caller's buffer.
    pub inline: Option<Vec<Node>>,
}

/// A name as written, with its tokens for spanning diagnostics over all of it.
#[derive(Clone)]
pub struct Name {
    pub text: String,
    pub tokens: TokenStream,
}

impl Name {
    /// An error over the whole name.
    pub fn error(&self, message: impl std::fmt::Display) -> syn::Error {
        syn::Error::new_spanned(&self.tokens, message)
    }
}

/// `<name attributes...>children</name>`.
pub struct Element {
    pub name: Name,
    pub attributes: Vec<Attribute>,
    pub children: Vec<Node>,
}

impl Element {
    /// Whether this is a void element (`<br>`): no children, no closing tag.
    pub fn is_void(&self) -> bool {
        elements::is_void(&self.name.text)
    }
}

/// One attribute of an element.
pub struct Attribute {
    pub name: Name,
    /// Written as a string literal (`"odd:name"=...`): every check is skipped.
    pub quoted: bool,
    pub value: AttributeValue,
}

/// The value of an attribute.
pub enum AttributeValue {
    /// `disabled`.
    Bare,
    /// `class="a b"`, before escaping.
    Literal { text: String },
    /// `title={expr}`.
    Expr { expr: TokenStream, span: Span },
}

/// `@if cond { ... } @else if ... { ... } @else { ... }`.
pub struct If {
    pub condition: TokenStream,
    pub then: Vec<Node>,
    pub otherwise: Option<Else>,
}

/// The `@else` branch of an [`If`].
pub enum Else {
    If(Box<If>),
    Block(Vec<Node>),
}

/// `@for pattern in iterable { ... }`.
pub struct For {
    /// The tokens before the first top-level `in` (a pattern cannot contain `in`).
    pub pattern: TokenStream,
    /// The tokens after it.
    pub iterable: TokenStream,
    pub body: Vec<Node>,
}

/// `@match expr { pattern => { ... } ... }`.
pub struct Match {
    pub scrutinee: TokenStream,
    pub arms: Vec<Arm>,
    pub brace_span: Span,
}

/// `pattern [if guard] => { ... }` or `pattern => <element>`.
pub struct Arm {
    pub pattern: TokenStream,
    pub body: Vec<Node>,
}

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

    fn attributes(&mut self, element: &Name) -> Vec<Attribute> {
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
                        Ok(lit) => AttributeValue::Literal { text: lit.value() },
                        Err(error) => {
                            self.error(error);
                            AttributeValue::Bare
                        }
                    }
                } else {
                    let text = literal.to_string();
                    if text.starts_with(|c: char| c.is_ascii_digit()) {
                        AttributeValue::Literal { text }
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

    /// After `@`.
    fn control(&mut self, at: Span) -> Option<Node> {
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
