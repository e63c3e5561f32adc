//! Model -> tokens: flat `push_str` calls into one buffer, adjacent static text merged and
//! escaped at compile time, and a call into `livestar::render::__private` for every dynamic
//! piece, which also takes the static text right after it (`text_then`).

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};

use super::Form;
use super::datastar::{self, DatastarName};
use super::elements;
use super::escape;
use super::parse::{Attribute, AttributeValue, Element, Else, For, If, Node, Template};

/// The expression a template expands to: for `html!` a block evaluating to
/// `livestar::render::Html`, for `lazy_html!` a `livestar::render::LazyHtml` around a `move`
/// closure that writes the same statements into the buffer it is given.
pub fn template(template: &Template, form: Form) -> TokenStream {
    let buf = buffer_ident();
    let mut out = Output::default();
    nodes(&template.nodes, false, &mut out);
    let static_len = out.static_len;
    let body = out.into_tokens(&buf);
    let hint = quote! {
        static __LIVESTAR_SIZE_HINT: ::livestar::render::__private::SizeHint =
            ::livestar::render::__private::SizeHint::new();
    };
    match form {
        Form::Rendered => quote! {
            {
                #hint
                let mut __livestar_html = __LIVESTAR_SIZE_HINT.buffer(#static_len);
                {
                    let #buf: &mut ::std::string::String = &mut __livestar_html;
                    #body
                }
                __LIVESTAR_SIZE_HINT.finish(__livestar_html)
            }
        },
        Form::Lazy => quote! {
            {
                #hint
                ::livestar::render::__private::lazy_html(
                    &__LIVESTAR_SIZE_HINT,
                    #static_len,
                    move |#buf: &mut ::std::string::String| { #body },
                )
            }
        },
    }
}

/// The buffer every statement writes to; mixed-site so user code can neither see nor shadow
/// it.
fn buffer_ident() -> Ident {
    Ident::new("__livestar_buf", Span::mixed_site())
}

enum Piece {
    Static(String),
    /// `{value}` in text position, spanned on the interpolation: written by
    /// `__private::text`, or by `__private::text_then` together with the static text after it.
    Text(Span, TokenStream),
    /// `@if` or `@match`, its bodies kept apart until the end, so that static text after it
    /// can be written at the end of each body (see `into_tokens`).
    Branches(Branches),
    Code(TokenStream),
}

struct Branches {
    kind: BranchKind,
    bodies: Vec<Output>,
}

enum BranchKind {
    /// The conditions of `@if` and each `@else if`; a body after them is the `@else`.
    If(Vec<TokenStream>),
    /// `@match`: the scrutinee, one pattern (with its guard) per body, the braces' span.
    Match(TokenStream, Vec<TokenStream>, Span),
}

impl Branches {
    /// Whether writing static text after this at the end of each body saves a write: some
    /// body ends with a value (here or in a nested branch) that can take it.
    fn ends_with_value(&self) -> bool {
        self.bodies.iter().any(|body| match body.pieces.last() {
            Some(Piece::Text(..)) => true,
            Some(Piece::Branches(inner)) => inner.ends_with_value(),
            _ => false,
        })
    }

    /// The code, with `then` written at the end of every body (an `@if` without `@else` gets
    /// one that writes only `then`). Control reaches the text after the branches exactly
    /// when it leaves one of the bodies at its end, so the output is the same.
    fn into_tokens(self, then: Option<&str>, buf: &Ident) -> TokenStream {
        let Branches { kind, mut bodies } = self;
        if let Some(then) = then {
            if matches!(&kind, BranchKind::If(conditions) if conditions.len() == bodies.len()) {
                bodies.push(Output::default());
            }
            for body in &mut bodies {
                body.text(then);
            }
        }
        let mut bodies = bodies.into_iter().map(|body| body.into_tokens(buf));
        match kind {
            BranchKind::If(conditions) => {
                let mut code = TokenStream::new();
                for (i, condition) in conditions.iter().enumerate() {
                    let body = bodies.next().unwrap_or_default();
                    if i > 0 {
                        code.extend(quote!(else));
                    }
                    code.extend(quote!(if #condition { #body }));
                }
                if let Some(body) = bodies.next() {
                    code.extend(quote!(else { #body }));
                }
                code
            }
            BranchKind::Match(scrutinee, patterns, brace) => {
                let arms = patterns
                    .iter()
                    .zip(bodies)
                    .map(|(pattern, body)| quote!(#pattern => { #body }));
                quote_spanned!(brace=> match #scrutinee { #(#arms)* })
            }
        }
    }
}

#[derive(Default)]
struct Output {
    pieces: Vec<Piece>,
    /// Bytes of static text, counting loop bodies once.
    static_len: usize,
}

impl Output {
    fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.static_len += text.len();
        match self.pieces.last_mut() {
            Some(Piece::Static(last)) => last.push_str(text),
            _ => self.pieces.push(Piece::Static(text.to_owned())),
        }
    }

    fn code(&mut self, code: TokenStream) {
        self.pieces.push(Piece::Code(code));
    }

    /// The output of `nodes` on their own.
    fn of(nodes: &[Node], raw_text: bool) -> Output {
        let mut output = Output::default();
        self::nodes(nodes, raw_text, &mut output);
        output
    }

    /// The static text this output starts with ("" if it starts with code).
    fn leading_static(&self) -> &str {
        match self.pieces.first() {
            Some(Piece::Static(text)) => text,
            _ => "",
        }
    }

    /// The static text this output ends with ("" if it ends with code).
    fn trailing_static(&self) -> &str {
        match self.pieces.last() {
            Some(Piece::Static(text)) => text,
            _ => "",
        }
    }

    /// Cuts `len` bytes off the leading static text; a piece left empty goes.
    fn strip_leading(&mut self, len: usize) {
        if let Some(Piece::Static(text)) = self.pieces.first_mut() {
            text.drain(..len);
            self.static_len -= len;
            if text.is_empty() {
                self.pieces.remove(0);
            }
        }
    }

    /// Cuts `len` bytes off the trailing static text; a piece left empty goes, so that what
    /// was before it is last (see `Branches::ends_with_value`).
    fn strip_trailing(&mut self, len: usize) {
        if let Some(Piece::Static(text)) = self.pieces.last_mut() {
            text.truncate(text.len() - len);
            self.static_len -= len;
            if text.is_empty() {
                self.pieces.pop();
            }
        }
    }

    /// One statement per piece, except that a value followed by static text is written with
    /// it (`text_then`), so that numbers and short strings need one capacity check for both;
    /// static text after branches that end with a value goes to the end of each branch, to
    /// be written with that value.
    fn into_tokens(self, buf: &Ident) -> TokenStream {
        let mut pieces = self
            .pieces
            .into_iter()
            .filter(|piece| !matches!(piece, Piece::Static(text) if text.is_empty()))
            .peekable();
        let mut tokens = TokenStream::new();
        while let Some(piece) = pieces.next() {
            tokens.extend(match piece {
                Piece::Static(text) => quote!(#buf.push_str(#text);),
                Piece::Text(span, expr) => {
                    match pieces.next_if(|next| matches!(next, Piece::Static(_))) {
                        Some(Piece::Static(then)) => quote_spanned! {span=>
                            ::livestar::render::__private::text_then(#buf, &(#expr), #then);
                        },
                        _ => quote_spanned! {span=>
                            ::livestar::render::__private::text(#buf, &(#expr));
                        },
                    }
                }
                Piece::Branches(branches) => {
                    let then = match pieces.peek() {
                        Some(Piece::Static(then)) if branches.ends_with_value() => {
                            Some(then.clone())
                        }
                        _ => None,
                    };
                    if then.is_some() {
                        pieces.next();
                    }
                    branches.into_tokens(then.as_deref(), buf)
                }
                Piece::Code(code) => code,
            });
        }
        tokens
    }
}

fn nodes(nodes: &[Node], raw_text: bool, out: &mut Output) {
    for node in nodes {
        self::node(node, raw_text, out);
    }
}

fn node(node: &Node, raw_text: bool, out: &mut Output) {
    match node {
        Node::Doctype => out.text("<!DOCTYPE html>"),
        Node::Comment(comment) => {
            out.text("<!--");
            out.text(&comment.value);
            out.text("-->");
        }
        Node::Text(text) if raw_text => out.text(&text.value),
        Node::Text(text) => out.text(&escape::text(&text.value)),
        Node::Interpolation(interpolation) => match &interpolation.inline {
            Some(inline) => nodes(inline, raw_text, out),
            None => {
                let expr = &interpolation.expr;
                out.pieces
                    .push(Piece::Text(interpolation.span, quote!(#expr)));
            }
        },
        Node::Element(element) => self::element(element, out),
        Node::If(branch) => if_chain(branch, raw_text, out),
        Node::For(each) => for_loop(each, raw_text, out),
        Node::Match(each) => {
            let bodies: Vec<Output> = each
                .arms
                .iter()
                .map(|arm| Output::of(&arm.body, raw_text))
                .collect();
            out.static_len += bodies.iter().map(|body| body.static_len).sum::<usize>();
            let patterns = each.arms.iter().map(|arm| arm.pattern.clone()).collect();
            out.pieces.push(Piece::Branches(Branches {
                kind: BranchKind::Match(each.scrutinee.clone(), patterns, each.brace_span),
                bodies,
            }));
        }
        Node::Let(tokens) => out.code(tokens.clone()),
    }
}

/// `@for`. When the body starts and ends with static text, that text is merged across the
/// loop's edges (as sailfish does): the body's opening text `A` is written ahead, each
/// iteration ends with its closing text and the next iteration's opening (`B` then `A`),
/// and the `A` written ahead of an iteration that never comes is cut off after the loop.
/// One `push_str` per iteration instead of two.
///
/// `__private::MergedLoop` remembers whether the buffer ends with an opening written ahead,
/// so the merge stays exact whatever the body does: an iteration left early (a `continue`
/// or `break`, also from a macro) writes its own opening next time, and the cut removes only
/// text written ahead. Without early exits the flag is constant and the optimiser drops it.
/// The opening is written after the iterable is evaluated, so an exit there leaves nothing
/// behind either.
fn for_loop(each: &For, raw_text: bool, out: &mut Output) {
    let buf = buffer_ident();
    let pattern = &each.pattern;
    let iterable = &each.iterable;
    let mut inner = Output::default();
    nodes(&each.body, raw_text, &mut inner);
    out.static_len += inner.static_len;

    let edges = match (inner.pieces.first(), inner.pieces.last()) {
        (Some(Piece::Static(first)), Some(Piece::Static(last)))
            if inner.pieces.len() >= 2 && !first.is_empty() && !last.is_empty() =>
        {
            Some((first.clone(), last.clone()))
        }
        _ => None,
    };
    let Some((first, last)) = edges else {
        let body = inner.into_tokens(&buf);
        out.code(quote!(for #pattern in #iterable { #body }));
        return;
    };
    let iter = Ident::new("__livestar_iter", Span::mixed_site());
    let edge = Ident::new("__livestar_edge", Span::mixed_site());
    // The body's own edges go; its end writes the closing and the next opening (merged with
    // its last value if it ends with one), then tells the edge.
    inner.pieces.remove(0);
    inner.pieces.pop();
    inner.pieces.push(Piece::Static(last + &first));
    inner.pieces.push(Piece::Code(quote!(#edge.close();)));
    let body = inner.into_tokens(&buf);
    out.code(quote! {
        match ::core::iter::IntoIterator::into_iter(#iterable) {
            mut #iter => {
                let mut #edge = ::livestar::render::__private::MergedLoop::start(#buf, #first);
                for #pattern in #iter {
                    #edge.enter(#buf);
                    #body
                }
                #edge.finish(#buf);
            }
        }
    });
}

/// `@if` / `@else if` / `@else`. When every branch (an `@else` included) starts or ends
/// with the same static text, that text is written outside the `if`, where it merges with
/// the text around it.
fn if_chain(first: &If, raw_text: bool, out: &mut Output) {
    let mut conditions = Vec::new();
    let mut bodies = Vec::new();
    let mut complete = false;
    let mut branch = first;
    loop {
        conditions.push(&branch.condition);
        bodies.push(Output::of(&branch.then, raw_text));
        match &branch.otherwise {
            None => break,
            Some(Else::Block(block)) => {
                bodies.push(Output::of(block, raw_text));
                complete = true;
                break;
            }
            Some(Else::If(next)) => branch = next,
        }
    }

    let (prefix, suffix) = if complete {
        let prefix = common_affix(bodies.iter_mut().map(|body| body.leading_static()), false);
        for body in &mut bodies {
            body.strip_leading(prefix.len());
        }
        let suffix = common_affix(bodies.iter_mut().map(|body| body.trailing_static()), true);
        for body in &mut bodies {
            body.strip_trailing(suffix.len());
        }
        (prefix, suffix)
    } else {
        (String::new(), String::new())
    };

    out.static_len += bodies.iter().map(|body| body.static_len).sum::<usize>();
    let conditions = conditions.into_iter().cloned().collect();
    out.text(&prefix);
    out.pieces.push(Piece::Branches(Branches {
        kind: BranchKind::If(conditions),
        bodies,
    }));
    out.text(&suffix);
}

/// The longest text every item starts with (or ends with, for `suffix`), cut at a char
/// boundary.
fn common_affix<'a>(mut texts: impl Iterator<Item = &'a str>, suffix: bool) -> String {
    let Some(first) = texts.next() else {
        return String::new();
    };
    let mut common: Vec<char> = first.chars().collect();
    if suffix {
        common.reverse();
    }
    for text in texts {
        let chars: Vec<char> = if suffix {
            text.chars().rev().collect()
        } else {
            text.chars().collect()
        };
        let same = common
            .iter()
            .zip(&chars)
            .take_while(|(a, b)| a == b)
            .count();
        common.truncate(same);
    }
    if suffix {
        common.reverse();
    }
    common.into_iter().collect()
}

fn element(element: &Element, out: &mut Output) {
    let name = &element.name.text;
    out.text("<");
    out.text(name);
    for attribute in &element.attributes {
        self::attribute(attribute, out);
    }
    out.text(">");
    if element.is_void() {
        return;
    }
    nodes(&element.children, elements::is_raw_text(name), out);
    out.text("</");
    out.text(name);
    out.text(">");
}

fn attribute(attribute: &Attribute, out: &mut Output) {
    let name = &attribute.name.text;
    match &attribute.value {
        AttributeValue::Bare => {
            out.text(" ");
            out.text(name);
        }
        AttributeValue::Literal { text, .. } => {
            out.text(&format!(" {name}=\"{}\"", escape::attribute(text)));
        }
        AttributeValue::Expr { expr, span } => {
            let buf = buffer_ident();
            let spaced = format!(" {name}");
            let plugin = if attribute.quoted {
                None
            } else {
                DatastarName::split(name).map(|parts| parts.plugin)
            };
            let helper = match plugin.as_deref() {
                Some("signals") => quote!(signals),
                Some(plugin) if datastar::takes_expression(plugin) => quote!(expression),
                _ => quote!(attribute),
            };
            out.code(quote_spanned! {*span=>
                ::livestar::render::__private::#helper(#buf, #spaced, &(#expr));
            });
        }
    }
}
