//! A cheap analysis of regex patterns: the ones that are a set of literal strings
//! (`a|b|c`) or a literal prefix followed by `.*` (`eu-.*`), so that a regex matcher
//! can be answered from tag postings by lookups instead of testing every tag value.
//!
//! The analysis is conservative: anything it does not recognise is
//! [`Shape::Opaque`], and the regex itself decides. It only runs on patterns that the
//! `regex` crate already compiled.

/// What a (fully anchored, valid) pattern matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Exactly these strings (sorted, without duplicates).
    Literals(Vec<String>),
    /// Every string without a `'\n'` that starts with this prefix: true of every tag
    /// value, since tag values contain no control character.
    Prefix(String),
    /// Anything else.
    Opaque,
}

/// The shape of `pattern` (as given by the user, before anchoring).
pub(crate) fn analyze(pattern: &str) -> Shape {
    let inner = strip_group(pattern).unwrap_or(pattern);
    let mut literals = Vec::new();
    for alternative in split_alternatives(inner) {
        match literal(alternative) {
            Some(s) => literals.push(s),
            None => {
                // Only a single alternative may be a prefix pattern.
                if inner.len() == alternative.len()
                    && let Some(p) = alternative.strip_suffix(".*")
                    && let Some(prefix) = literal(p)
                {
                    return Shape::Prefix(prefix);
                }
                return Shape::Opaque;
            }
        }
    }
    literals.sort_unstable();
    literals.dedup();
    Shape::Literals(literals)
}

/// `X` from `(X)` or `(?:X)` when that group spans the whole pattern and `X` holds no
/// other parenthesis.
fn strip_group(pattern: &str) -> Option<&str> {
    let body = pattern.strip_suffix(')')?;
    let body = body
        .strip_prefix("(?:")
        .or_else(|| body.strip_prefix('('))?;
    if body.starts_with('?') || has_unescaped(body, |c| c == '(' || c == ')') {
        return None;
    }
    if body.ends_with('\\') && !ends_with_escaped_backslash(body) {
        return None;
    }
    Some(body)
}

/// True when `s` ends in an even run of backslashes (so its last one is escaped).
fn ends_with_escaped_backslash(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 0
}

/// Splits at the `|`s that are not escaped.
fn split_alternatives(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut from = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '|' => {
                parts.push(s.get(from..i).unwrap_or_default());
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(s.get(from..).unwrap_or_default());
    parts
}

fn has_unescaped(s: &str, pred: impl Fn(char) -> bool) -> bool {
    let mut escaped = false;
    for c in s.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if pred(c) => return true,
            _ => {}
        }
    }
    false
}

/// The string `s` matches if it is a plain literal: no unescaped meta character, and
/// escapes only of ASCII punctuation (which the `regex` crate reads as the character).
fn literal(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars.next()?;
                if !e.is_ascii_punctuation() {
                    return None;
                }
                out.push(e);
            }
            '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' => {
                return None;
            }
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(v: &[&str]) -> Shape {
        Shape::Literals(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn shapes() {
        assert_eq!(analyze("a"), lits(&["a"]));
        assert_eq!(analyze(""), lits(&[""]));
        assert_eq!(analyze("b|a|b"), lits(&["a", "b"]));
        assert_eq!(
            analyze("eu-west-1|eu-east-1"),
            lits(&["eu-east-1", "eu-west-1"])
        );
        assert_eq!(analyze("a|"), lits(&["", "a"]));
        assert_eq!(analyze("(?:x|y)"), lits(&["x", "y"]));
        assert_eq!(analyze("(x|y)"), lits(&["x", "y"]));
        assert_eq!(analyze(r"a\.b|c\|d"), lits(&["a.b", "c|d"]));
        assert_eq!(analyze("eu-.*"), Shape::Prefix("eu-".into()));
        assert_eq!(analyze(".*"), Shape::Prefix(String::new()));
        assert_eq!(analyze(r"a\..*"), Shape::Prefix("a.".into()));
        assert_eq!(analyze(r"a\\.*"), Shape::Prefix("a\\".into()));
        assert_eq!(analyze("(?:eu-.*)"), Shape::Prefix("eu-".into()));
        for opaque in [
            "a.*|b", "a.", "a+", "[ab]", "(?i)a", r"\d", r"a\.*", "(a)(b)", "(a|b)c", "a.*b",
            "^a$", "(?s:a)",
        ] {
            assert_eq!(analyze(opaque), Shape::Opaque, "{opaque}");
        }
    }
}
