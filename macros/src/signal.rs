//! Datastar signal names, checked where a template or a `js!` literal spells them out.
//!
//! What the Datastar v1 client (1.0.1) does with them, and so what is checked here:
//! - An attribute key (`data-bind:user-name`) reaches the client lowercased by the HTML parser,
//!   then camelCased: a `-` before a letter becomes that letter in upper case (`userName`);
//!   `__case.snake`, `__case.kebab` and `__case.pascal` pick another conversion. A `.` nests
//!   (`data-signals:form.email` is `$form.email`).
//! - A name written as the value (`data-bind="userName"`) is used as it is.
//! - In an expression, `$` followed by `[a-zA-Z_\d]\w*(?:[.-]\w+)*` is a signal reference,
//!   except inside `'...'`, `"..."` and the text of a template literal.
//!
//! A signal name that works everywhere, and the one accepted here: ASCII letters, digits and
//! `_`, starting with a letter or `_`, then `.`-separated segments of letters, digits and `_`
//! (`count`, `_private`, `user.name`, `todos.0`). A `-` inside a reference is where the client
//! and a reader part ways (`$count-1` reads one signal named `count-1`), so it is refused.

/// The case conversion a `__case` modifier asks for; camel when there is none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// `user-name` -> `userName` (the default).
    Camel,
    /// `user-name` -> `user_name`.
    Snake,
    /// `user-name` stays `user-name`.
    Kebab,
    /// `user-name` -> `UserName`.
    Pascal,
}

impl Case {
    /// The conversion named by a `__case.{tag}` tag; `None` for a tag that is not one.
    pub fn from_tag(tag: &str) -> Option<Case> {
        match tag {
            "camel" => Some(Case::Camel),
            "snake" => Some(Case::Snake),
            "kebab" => Some(Case::Kebab),
            "pascal" => Some(Case::Pascal),
            _ => None,
        }
    }
}

/// Problems with a signal name written as an attribute key, after `data-{plugin}:`.
pub fn key_problems(plugin: &str, key: &str, case: Case) -> Vec<String> {
    let written = format!("data-{plugin}:{key}");
    let mut problems = Vec::new();
    if let Some(upper) = key.chars().find(char::is_ascii_uppercase) {
        let kebab = to_kebab(key);
        problems.push(format!(
            "`{written}`: HTML lowercases attribute names, so this signal would be `{}`, not `{}` (`{upper}` is lost); write the key in kebab case, `data-{plugin}:{kebab}`, for the signal `${}`",
            key.to_ascii_lowercase(),
            key,
            camel(&kebab),
        ));
    }
    if let Some(bad) = key
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        problems.push(format!(
            "`{bad}` cannot be in a signal name (`{written}`): write the key with letters, digits, `_` and `-` (which camelCases: `data-{plugin}:user-name` is `$userName`), and `.` for a nested signal (`data-{plugin}:form.email`)"
        ));
        return problems;
    }
    if key.split('.').any(str::is_empty) {
        problems.push(format!(
            "`{written}` has an empty signal name around a `.`: write a name between the dots, e.g. `data-{plugin}:form.email`"
        ));
        return problems;
    }
    if key.starts_with(|c: char| c.is_ascii_digit()) {
        problems.push(format!(
            "the signal name in `{written}` starts with a digit, so `${key}` cannot read it; start it with a letter or `_` (e.g. `data-{plugin}:item{key}`)"
        ));
    }
    if matches!(case, Case::Camel | Case::Pascal) {
        let chars: Vec<char> = key.chars().collect();
        let stuck = chars
            .windows(2)
            .any(|pair| pair[0] == '-' && !pair[1].is_ascii_alphabetic());
        if stuck {
            let joined = key.replace('-', "_");
            problems.push(format!(
                "`{written}`: only a `-` before a letter is camelCased, so this signal would be named `{key}`, which an expression cannot read as `${key}`; write `data-{plugin}:{joined}` (`${joined}`)"
            ));
        }
    }
    problems
}

/// Problems with a signal name written as the value (`data-bind="name"`).
pub fn value_problems(plugin: &str, name: &str) -> Vec<String> {
    if is_signal_path(name) {
        return Vec::new();
    }
    let message = if name.contains('-') && is_signal_path(&name.replace('-', "_")) {
        format!(
            "`data-{plugin}=\"{name}\"`: a signal name written as the value is used as it is (only keys are camelCased), so this signal would be named `{name}`, which an expression cannot read as `${name}`; write `data-{plugin}=\"{}\"` or the key form `data-{plugin}:{name}`",
            camel(name)
        )
    } else {
        format!(
            "`{name}` is not a signal name (in `data-{plugin}=\"{name}\"`): write ASCII letters, digits and `_`, starting with a letter or `_`, and `.` for a nested signal (`data-{plugin}=\"form.email\"`)"
        )
    };
    vec![message]
}

/// Stands for a `js!` placeholder's value in the code given to [`reference_problems`].
pub const VALUE: char = '\u{1}';

/// Problems with the `$name` references in JavaScript code whose strings, template-literal
/// text and comments were blanked by [`Scanner::blank`], with each `js!` value as [`VALUE`].
pub fn reference_problems(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let run = |from: usize| {
        let mut end = from;
        while end < chars.len() && word(chars[end]) {
            end += 1;
        }
        end
    };
    let at = |i: usize| chars.get(i).copied();
    let mut problems = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '$' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = run(start);
        if end == start {
            // A bare `$` is the client's signal root (`Object.keys($)`), and `${` its
            // interpolation; neither is a name.
            if let Some(c) = at(start).filter(|c| c.is_alphabetic()) {
                problems.push(format!(
                    "`${c}` is not a signal name: signal names are ASCII letters, digits and `_`, e.g. `$count`"
                ));
            }
            i = start;
            continue;
        }
        let mut hyphen = false;
        let mut trailing_dot = false;
        let mut value_after = None;
        loop {
            match (at(end), at(end + 1)) {
                (Some('.'), Some(next)) if word(next) => end = run(end + 1),
                (Some('-'), Some(next)) if word(next) => {
                    hyphen = true;
                    end = run(end + 1);
                }
                (Some(joint @ ('-' | '.')), Some(VALUE)) => {
                    value_after = Some(joint);
                    break;
                }
                (Some('.'), next) if next.is_none_or(|c| c != '.') => {
                    trailing_dot = true;
                    break;
                }
                _ => break,
            }
        }
        let name: String = chars[start..end].iter().collect();
        if chars[start].is_ascii_digit() {
            problems.push(format!(
                "`${name}` is not a signal name: a signal name starts with a letter or `_` (`$count`, `$user.name`); for a dollar sign in text, put it inside a JavaScript string (`'${name}'`)"
            ));
        } else if hyphen {
            let camel = camel(&name);
            let signal_hint = if camel != name {
                format!(", and to read the signal `data-bind:{name}` creates, write `${camel}`")
            } else {
                String::new()
            };
            problems.push(format!(
                "`${name}` reads one signal named `{name}`: the client takes `-` as part of a signal name. To subtract, put spaces around the minus (`${}`){signal_hint}",
                name.replacen('-', " - ", 1)
            ));
        } else if value_after == Some('-') {
            problems.push(format!(
                "`${name}-{{value}}`: a number written right after the `-` would join the signal name (`${name}-2` reads a signal named `{name}-2`); put spaces around the minus: `${name} - {{value}}`"
            ));
        } else if value_after == Some('.') {
            problems.push(format!(
                "`${name}.{{value}}`: a value is not a path segment after `.`; index with it instead: `${name}[{{value}}]`"
            ));
        } else if trailing_dot {
            problems.push(format!(
                "`${name}.` ends with `.`: a nested signal's name comes after the dot, e.g. `${name}.value`"
            ));
        } else if let Some(c) = at(end).filter(|c| !c.is_ascii() && c.is_alphabetic()) {
            problems.push(format!(
                "`${name}{c}` is not a signal name: signal names are ASCII letters, digits and `_`, e.g. `$count`"
            ));
        }
        i = end.max(start);
    }
    problems
}

/// Whether `name` is `segment(.segment)*`, the first starting with a letter or `_`.
fn is_signal_path(name: &str) -> bool {
    let mut segments = name.split('.');
    let first_ok = segments.next().is_some_and(|first| {
        first.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && first.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    first_ok
        && segments.all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// The client's default conversion: a `-` before a lowercase letter becomes the letter in
/// upper case.
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(next) if c == '-' && next.is_ascii_lowercase() => {
                out.push(next.to_ascii_uppercase());
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

fn to_kebab(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() && !out.ends_with(['-', '.']) {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The lexical context of the next character of JavaScript code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// Code, where `$name` is a reference and a value can be written.
    Code,
    /// Inside `'...'`.
    SingleQuoted,
    /// Inside `"..."`.
    DoubleQuoted,
    /// The text of a template literal (outside its `${...}`).
    Template,
    /// After `//`, to the end of the line.
    LineComment,
    /// Inside `/* ... */`.
    BlockComment,
    /// Inside a regular expression literal.
    Regex,
    /// Inside a `[...]` class of a regular expression literal.
    RegexClass,
}

/// A lexical scanner for the JavaScript of a Datastar expression, fed in pieces (the pieces
/// of a `js!` literal between its placeholders), so it knows where each placeholder falls.
///
/// It tells strings, template literals (nested through `${...}`), comments and regular
/// expression literals from code; it does not parse. A `/` is taken for a regular expression
/// where no value comes before it, as JavaScript's own grammar decides in the common cases.
#[derive(Debug)]
pub struct Scanner {
    context: Context,
    /// The brace depth to return to for each `${` of a template literal we are inside.
    templates: Vec<usize>,
    depth: usize,
    /// The previous character was a `\` inside a string, template or regex.
    escaped: bool,
    /// The last character of code that was not whitespace ends a value (`x`, `1`, `)`), so a
    /// `/` after it divides.
    after_value: bool,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            context: Context::Code,
            templates: Vec::new(),
            depth: 0,
            escaped: false,
            after_value: false,
        }
    }
}

impl Scanner {
    /// Where the next character falls.
    pub fn context(&self) -> Context {
        self.context
    }

    /// Notes that a value (a placeholder's JavaScript literal) was written here in code.
    pub fn value_written(&mut self) {
        self.after_value = true;
    }

    /// Scans `text` and returns it with every character that is not code (strings, template
    /// text, comments, regular expressions and their delimiters) replaced by a space.
    pub fn blank(&mut self, text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < chars.len() {
            let next = chars.get(i + 1).copied();
            let (code, pair) = self.step(chars[i], next);
            let taken = if pair { 2 } else { 1 };
            for &c in &chars[i..(i + taken).min(chars.len())] {
                out.push(if code { c } else { ' ' });
            }
            i += taken;
        }
        out
    }

    /// Advances past `c`, and past `next` too when the second answer is true (`//`, `/*`,
    /// `*/`, `${`). The first answer says whether what was passed is code.
    fn step(&mut self, c: char, next: Option<char>) -> (bool, bool) {
        match self.context {
            Context::Code => self.code(c, next),
            Context::SingleQuoted | Context::DoubleQuoted => {
                let quote = if self.context == Context::SingleQuoted {
                    '\''
                } else {
                    '"'
                };
                if self.escaped {
                    self.escaped = false;
                } else if c == '\\' {
                    self.escaped = true;
                } else if c == quote {
                    self.context = Context::Code;
                    self.after_value = true;
                }
                (false, false)
            }
            Context::Template => {
                if self.escaped {
                    self.escaped = false;
                } else if c == '\\' {
                    self.escaped = true;
                } else if c == '`' {
                    self.context = Context::Code;
                    self.after_value = true;
                } else if c == '$' && next == Some('{') {
                    self.templates.push(self.depth);
                    self.depth = 0;
                    self.context = Context::Code;
                    self.after_value = false;
                    return (false, true);
                }
                (false, false)
            }
            Context::LineComment => {
                if matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}') {
                    self.context = Context::Code;
                }
                (false, false)
            }
            Context::BlockComment => {
                if c == '*' && next == Some('/') {
                    self.context = Context::Code;
                    return (false, true);
                }
                (false, false)
            }
            Context::Regex | Context::RegexClass => {
                if self.escaped {
                    self.escaped = false;
                } else if c == '\\' {
                    self.escaped = true;
                } else if self.context == Context::RegexClass {
                    if c == ']' {
                        self.context = Context::Regex;
                    }
                } else if c == '[' {
                    self.context = Context::RegexClass;
                } else if c == '/' {
                    self.context = Context::Code;
                    self.after_value = true;
                }
                (false, false)
            }
        }
    }

    fn code(&mut self, c: char, next: Option<char>) -> (bool, bool) {
        match c {
            '\'' => self.context = Context::SingleQuoted,
            '"' => self.context = Context::DoubleQuoted,
            '`' => self.context = Context::Template,
            '/' if next == Some('/') => {
                self.context = Context::LineComment;
                return (false, true);
            }
            '/' if next == Some('*') => {
                self.context = Context::BlockComment;
                return (false, true);
            }
            '/' if !self.after_value => self.context = Context::Regex,
            '{' => {
                self.depth += 1;
                self.after_value = false;
                return (true, false);
            }
            '}' => {
                match (self.depth, self.templates.last()) {
                    (0, Some(_)) => {
                        self.depth = self.templates.pop().unwrap_or_default();
                        self.context = Context::Template;
                        return (false, false);
                    }
                    _ => self.depth = self.depth.saturating_sub(1),
                }
                self.after_value = true;
                return (true, false);
            }
            c if c.is_whitespace() => return (true, false),
            c => {
                self.after_value = c.is_alphanumeric() || matches!(c, '_' | '$' | ')' | ']');
                return (true, false);
            }
        }
        // A quote, a template or a regex starts here: its opening delimiter is not code.
        self.escaped = false;
        (false, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(code: &str) -> Vec<String> {
        reference_problems(&Scanner::default().blank(code))
    }

    #[test]
    fn plain_references_and_paths_pass() {
        for code in [
            "$count++",
            "$user.name",
            "$todos.0.title",
            "$_private + $a1",
            "$count - 1",
            "Object.keys($).length",
            "$user?.name",
            "@post('/t/1')",
        ] {
            assert!(refs(code).is_empty(), "{code}: {:?}", refs(code));
        }
    }

    #[test]
    fn dollars_inside_strings_templates_comments_and_regexes_are_not_references() {
        for code in [
            "'$5'",
            "\"$5 \\\" $6\"",
            "`costs $5`",
            "`a ${$count} $1`",
            "$x /* $1 */",
            "$x // $1",
            "$s.replace(/\\$1/g, '')",
            "$s.replace(/[$1']/g, '')",
        ] {
            assert!(refs(code).is_empty(), "{code}: {:?}", refs(code));
        }
    }

    #[test]
    fn references_inside_template_interpolations_are_checked() {
        assert_eq!(refs("`a ${$1}`").len(), 1);
        assert_eq!(refs("`a ${ {x: $1}.x }`").len(), 1);
    }

    #[test]
    fn division_after_a_value_is_not_a_regex() {
        assert_eq!(refs("$a / $b + '$5' / $1").len(), 1);
    }

    #[test]
    fn a_digit_a_hyphen_a_trailing_dot_or_a_non_ascii_letter_is_flagged() {
        for code in ["$5", "$count-1", "$user-name", "$user.", "$café", "$é"] {
            assert_eq!(refs(code).len(), 1, "{code}");
        }
        assert!(refs("$user-name")[0].contains("`$userName`"));
        assert!(refs("$count-1")[0].contains("`$count - 1`"));
    }

    #[test]
    fn a_value_joined_to_a_reference_by_a_minus_or_a_dot_is_flagged() {
        let value = |code: &str| reference_problems(&code.replace('#', &VALUE.to_string()));
        assert!(value("$count-#")[0].contains("`$count - {value}`"));
        assert!(value("$items.#")[0].contains("`$items[{value}]`"));
        assert!(value("$count - # + $items[#]").is_empty());
    }

    #[test]
    fn keys_are_kebab_case_letters_digits_and_underscores() {
        assert!(key_problems("bind", "user-name", Case::Camel).is_empty());
        assert!(key_problems("signals", "form.email", Case::Camel).is_empty());
        assert!(key_problems("bind", "item_1", Case::Camel).is_empty());
        assert!(key_problems("bind", "item-1", Case::Snake).is_empty());
        assert!(key_problems("bind", "userName", Case::Camel)[0].contains("data-bind:user-name"));
        assert_eq!(key_problems("bind", "item-1", Case::Camel).len(), 1);
        assert_eq!(key_problems("bind", "1st", Case::Camel).len(), 1);
        assert_eq!(key_problems("bind", "\"a b\"", Case::Camel).len(), 1);
        assert_eq!(key_problems("bind", "a..b", Case::Camel).len(), 1);
    }

    #[test]
    fn value_names_are_used_as_written() {
        assert!(value_problems("bind", "userName").is_empty());
        assert!(value_problems("ref", "form.email").is_empty());
        assert!(value_problems("bind", "user-name")[0].contains("\"userName\""));
        assert_eq!(value_problems("bind", "a b").len(), 1);
        assert_eq!(value_problems("bind", "1a").len(), 1);
    }

    #[test]
    fn the_scanner_knows_where_a_placeholder_falls() {
        let mut scanner = Scanner::default();
        scanner.blank("@post('/t/");
        assert_eq!(scanner.context(), Context::SingleQuoted);
        let mut scanner = Scanner::default();
        scanner.blank("@post('/t/' + ");
        assert_eq!(scanner.context(), Context::Code);
        let mut scanner = Scanner::default();
        scanner.blank("`/t/${");
        assert_eq!(scanner.context(), Context::Code);
        scanner.blank("} and ");
        assert_eq!(scanner.context(), Context::Template);
        let mut scanner = Scanner::default();
        scanner.blank("/* ");
        assert_eq!(scanner.context(), Context::BlockComment);
    }
}
