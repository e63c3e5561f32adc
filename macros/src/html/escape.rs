//! Compile-time escaping of the literal text in a template, so the generated code pushes
//! finished HTML.

/// Escapes text for a text node (`&`, `<`, `>`), as `livestar::render::escape_text` does at
/// run time.
pub fn text(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes a literal attribute value for double quotes. Only `&` and `"` matter there; the
/// author's own `'`, `<` and `>` stay readable (`data-on:click="@get('/x')"`).
pub fn attribute(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_markup_characters() {
        assert_eq!(text("a < b && c > d"), "a &lt; b &amp;&amp; c &gt; d");
    }

    #[test]
    fn attribute_escapes_quotes_and_ampersands_only() {
        assert_eq!(
            attribute(r#"@get('/x?a=1&b="2"')"#),
            "@get('/x?a=1&amp;b=&quot;2&quot;')"
        );
    }
}
