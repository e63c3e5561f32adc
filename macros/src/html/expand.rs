//! Model -> tokens: flat `push_str` calls into one buffer, adjacent static text merged and
//! escaped at compile time, and a call into `livestar::render::__private` for every dynamic
//! piece.

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
    Code(TokenStream),
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

    fn strip_leading(&mut self, len: usize) {
        if let Some(Piece::Static(text)) = self.pieces.first_mut() {
            text.drain(..len);
            self.static_len -= len;
        }
    }

    fn strip_trailing(&mut self, len: usize) {
        if let Some(Piece::Static(text)) = self.pieces.last_mut() {
            text.truncate(text.len() - len);
            self.static_len -= len;
        }
    }

    /// A nested block (`@match` arm) sharing this output's static size count.
    fn block(&mut self, nodes: &[Node], raw_text: bool) -> TokenStream {
        let mut inner = Output::default();
        self::nodes(nodes, raw_text, &mut inner);
        self.static_len += inner.static_len;
        inner.into_tokens(&buffer_ident())
    }

    fn into_tokens(self, buf: &Ident) -> TokenStream {
        self.pieces
            .into_iter()
            .filter(|piece| !matches!(piece, Piece::Static(text) if text.is_empty()))
            .map(|piece| match piece {
                Piece::Static(text) => quote!(#buf.push_str(#text);),
                Piece::Code(code) => code,
            })
            .collect()
    }
}

fn nodes(nodes: &[Node], raw_text: bool, out: &mut Output) {
    for node in nodes {
        self::node(node, raw_text, out);
    }
}

fn node(node: &Node, raw_text: bool, out: &mut Output) {
    let buf = buffer_ident();
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
                out.code(quote_spanned! {interpolation.span=>
                    ::livestar::render::__private::text(#buf, &(#expr));
                });
            }
        },
        Node::Element(element) => self::element(element, out),
        Node::If(branch) => if_chain(branch, raw_text, out),
        Node::For(each) => for_loop(each, raw_text, out),
        Node::Match(each) => {
            let scrutinee = &each.scrutinee;
            let arms: Vec<TokenStream> = each
                .arms
                .iter()
                .map(|arm| {
                    let pattern = &arm.pattern;
                    let body = out.block(&arm.body, raw_text);
                    quote!(#pattern => { #body })
                })
                .collect();
            let brace = each.brace_span;
            out.code(quote_spanned!(brace=> match #scrutinee { #(#arms)* }));
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
    inner.pieces.remove(0);
    inner.pieces.pop();
    let body = inner.into_tokens(&buf);
    let iter = Ident::new("__livestar_iter", Span::mixed_site());
    let edge = Ident::new("__livestar_edge", Span::mixed_site());
    let closing = last + &first;
    out.code(quote! {
        match ::core::iter::IntoIterator::into_iter(#iterable) {
            mut #iter => {
                let mut #edge = ::livestar::render::__private::MergedLoop::start(#buf, #first);
                for #pattern in #iter {
                    #edge.enter(#buf);
                    #body
                    #edge.close(#buf, #closing);
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

    let buf = buffer_ident();
    let mut bodies = bodies.into_iter().map(|body| {
        out.static_len += body.static_len;
        body.into_tokens(&buf)
    });
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
    out.text(&prefix);
    out.code(code);
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
