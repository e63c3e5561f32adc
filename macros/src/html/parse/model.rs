//! The typed model of a template: what the parser produces and the checks and the expansion read.

use proc_macro2::{Span, TokenStream};

use super::super::elements;

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
    /// `class="a b"`, before escaping; `span` is the literal's, for diagnostics on its text.
    Literal { text: String, span: Span },
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
