//! The PromQL-style series selector and its parser.
//!
//! ```text
//! selector := ws [metric] ws ["{" ws [element (ws "," ws element)* ws [","]] ws "}"] ws
//! metric   := name
//! element  := label ws op ws string       a tag matcher (`__name__` matches the metric)
//!           | string                      the metric name, quoted (`{"cpu usage"}`)
//! label    := name | string
//! name     := (letter | "_" | ":") (letter | digit | "_" | ":" | "." | "-")*
//! op       := "=" | "!=" | "=~" | "!~"
//! string   := '"' char* '"' | "'" char* "'"     with escapes \" \' \\ \n \t \r \0
//!                                               \xNN \uNNNN \UNNNNNNNN \u{N..}
//!           | "`" raw* "`"                    no escapes
//! ```
//!
//! Examples: `cpu_usage_user`, `cpu{hostname="host_1",region=~"eu-.*"}`,
//! `{__name__=~"cpu_.*", team!="NYC"}`, `{"name with spaces"}`.
//!
//! [`parse`] builds the CLI's own AST ([`Selector`]); errors name the column (counted
//! in characters from 1) and what was expected there. The matchers keep PromQL's
//! meaning: a missing tag reads as the empty string, and regular expressions match the
//! whole value. `crate::filter` applies a selector to series keys on the client side;
//! `crate::matchers` converts a [`Selector`] into the engine's matchers.

use std::fmt;

/// The label name that matches the metric name.
pub const METRIC_LABEL: &str = "__name__";

/// A matcher's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`: equal.
    Eq,
    /// `!=`: not equal.
    Ne,
    /// `=~`: the regular expression matches the whole value.
    Re,
    /// `!~`: the regular expression does not match the whole value.
    NotRe,
}

impl Op {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Re => "=~",
            Op::NotRe => "!~",
        }
    }
}

/// One `label op "value"` of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// The tag key, or [`METRIC_LABEL`].
    pub label: String,
    /// The operator.
    pub op: Op,
    /// The value or regular expression.
    pub value: String,
    /// The column (from 1, in characters) where the value starts, for error messages.
    pub value_column: usize,
}

/// A parsed selector: an optional metric name and the matchers in the order written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    /// The metric name, written bare (`cpu{...}`), quoted (`{"cpu"}`) or as
    /// `{__name__="cpu"}` (the first equality on `__name__` when no other form gave
    /// one).
    pub metric: Option<String>,
    /// Every other matcher.
    pub matchers: Vec<Matcher>,
}

/// Why a selector did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The column (from 1, in characters) of the problem.
    pub column: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a selector.
pub fn parse(input: &str) -> Result<Selector, ParseError> {
    let mut p = Parser {
        chars: input.chars().collect(),
        at: 0,
    };
    let sel = p.selector()?;
    Ok(sel)
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | ':' | '.' | '-')
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn peek2(&self) -> Option<char> {
        self.chars.get(self.at + 1).copied()
    }

    fn column(&self) -> usize {
        self.at + 1
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// An error at the current position: "expected X, found Y".
    fn expected(&self, what: &str) -> ParseError {
        let found = match self.peek() {
            Some(c) => format!("found {}", show_char(c)),
            None => "found the end of the selector".to_owned(),
        };
        ParseError {
            column: self.column(),
            message: format!("expected {what}, {found}"),
        }
    }

    fn selector(&mut self) -> Result<Selector, ParseError> {
        let mut sel = Selector::default();
        self.skip_ws();
        if self.peek().is_some_and(is_name_start) {
            sel.metric = Some(self.name());
            self.skip_ws();
        }
        let mut braces = false;
        if self.peek() == Some('{') {
            braces = true;
            self.braces(&mut sel)?;
            self.skip_ws();
        }
        if self.peek().is_some() {
            let what = match (sel.metric.is_some(), braces) {
                (_, true) => "the end of the selector",
                (true, false) => "'{' or the end of the selector",
                (false, false) => "a metric name or '{'",
            };
            return Err(self.expected(what));
        }
        if sel.metric.is_none() && !braces {
            return Err(self.expected("a metric name or '{'"));
        }
        Ok(sel)
    }

    fn name(&mut self) -> String {
        let start = self.at;
        while self.peek().is_some_and(is_name_char) {
            self.at += 1;
        }
        self.chars
            .get(start..self.at)
            .unwrap_or_default()
            .iter()
            .collect()
    }

    fn braces(&mut self, sel: &mut Selector) -> Result<(), ParseError> {
        self.at += 1; // '{'
        loop {
            self.skip_ws();
            if self.peek() == Some('}') {
                self.at += 1;
                return Ok(());
            }
            self.element(sel)?;
            self.skip_ws();
            match self.peek() {
                Some(',') => self.at += 1,
                Some('}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.expected("',' or '}'")),
            }
        }
    }

    fn element(&mut self, sel: &mut Selector) -> Result<(), ParseError> {
        let start_column = self.column();
        let label = match self.peek() {
            Some(c) if is_name_start(c) => self.name(),
            Some('"' | '\'' | '`') => {
                let s = self.string()?;
                self.skip_ws();
                if !matches!(self.peek(), Some('=' | '!')) {
                    // `{"metric name"}`: the metric, quoted.
                    if sel.metric.is_some() {
                        return Err(ParseError {
                            column: start_column,
                            message: "the metric name is given twice".into(),
                        });
                    }
                    sel.metric = Some(s);
                    return Ok(());
                }
                s
            }
            _ => return Err(self.expected("a label name or '}'")),
        };
        self.skip_ws();
        let op = self.op()?;
        self.skip_ws();
        let value_column = self.column();
        if !matches!(self.peek(), Some('"' | '\'' | '`')) {
            return Err(self.expected("a quoted string"));
        }
        let value = self.string()?;
        if label == METRIC_LABEL && op == Op::Eq && sel.metric.is_none() {
            sel.metric = Some(value);
        } else {
            sel.matchers.push(Matcher {
                label,
                op,
                value,
                value_column,
            });
        }
        Ok(())
    }

    fn op(&mut self) -> Result<Op, ParseError> {
        let op = match (self.peek(), self.peek2()) {
            (Some('='), Some('~')) => Op::Re,
            (Some('='), _) => Op::Eq,
            (Some('!'), Some('=')) => Op::Ne,
            (Some('!'), Some('~')) => Op::NotRe,
            (Some('!'), _) => {
                self.at += 1;
                return Err(self.expected("'=' or '~' after '!'"));
            }
            _ => return Err(self.expected("'=', '!=', '=~' or '!~'")),
        };
        self.at += op.as_str().len();
        Ok(op)
    }

    /// A quoted string; the cursor is on its opening quote.
    fn string(&mut self) -> Result<String, ParseError> {
        let open_column = self.column();
        let Some(quote) = self.peek() else {
            return Err(self.expected("a quoted string"));
        };
        self.at += 1;
        let mut bytes: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(ParseError {
                    column: self.column(),
                    message: format!(
                        "expected the closing {} of the string opened at column {open_column}, \
                         found the end of the selector",
                        show_char(quote)
                    ),
                });
            };
            self.at += 1;
            if c == quote {
                break;
            }
            if c == '\\' && quote != '`' {
                self.escape(&mut bytes)?;
            } else {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
        String::from_utf8(bytes).map_err(|_| ParseError {
            column: open_column,
            message: "the string is not valid UTF-8 (check its \\x escapes)".into(),
        })
    }

    /// One escape; the cursor is just past its backslash.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), ParseError> {
        let backslash_column = self.at; // the column of the backslash (1-based)
        let Some(c) = self.peek() else {
            return Err(self.expected("an escape after '\\'"));
        };
        self.at += 1;
        let simple = match c {
            '"' => Some(b'"'),
            '\'' => Some(b'\''),
            '\\' => Some(b'\\'),
            'n' => Some(b'\n'),
            't' => Some(b'\t'),
            'r' => Some(b'\r'),
            '0' => Some(0),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            return Ok(());
        }
        let code = match c {
            'x' => {
                let v = self.hex_digits(2, 2)?;
                // \xNN is one byte; the whole string must still be UTF-8.
                out.push(v as u8);
                return Ok(());
            }
            'u' if self.peek() == Some('{') => {
                self.at += 1;
                let v = self.hex_digits(1, 6)?;
                if self.peek() != Some('}') {
                    return Err(self.expected("'}' closing the \\u{...} escape"));
                }
                self.at += 1;
                v
            }
            'u' => self.hex_digits(4, 4)?,
            'U' => self.hex_digits(8, 8)?,
            other => {
                return Err(ParseError {
                    column: backslash_column,
                    message: format!(
                        "unknown escape '\\{other}' (expected \\\" \\' \\\\ \\n \\t \\r \\0 \
                         \\xNN \\uNNNN \\UNNNNNNNN or \\u{{N}})"
                    ),
                });
            }
        };
        let Some(ch) = char::from_u32(code) else {
            return Err(ParseError {
                column: backslash_column,
                message: format!("\\u escape {code:X} is not a Unicode scalar value"),
            });
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    /// Between `min` and `max` hex digits, as a number.
    fn hex_digits(&mut self, min: usize, max: usize) -> Result<u32, ParseError> {
        let mut v: u32 = 0;
        let mut n = 0;
        while n < max {
            let Some(d) = self.peek().and_then(|c| c.to_digit(16)) else {
                break;
            };
            v = v * 16 + d;
            n += 1;
            self.at += 1;
        }
        if n < min {
            return Err(self.expected(
                if min == 1 {
                    "a hex digit".into()
                } else {
                    format!("{min} hex digits")
                }
                .as_str(),
            ));
        }
        Ok(v)
    }
}

fn show_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("{:?}", c)
    } else {
        format!("'{c}'")
    }
}

/// Writes `s` as a double-quoted selector string.
fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

fn is_plain_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// The selector in a canonical form that [`parse`] reads back as the same selector.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bare_metric = self.metric.as_deref().filter(|m| is_plain_name(m));
        if let Some(m) = bare_metric {
            f.write_str(m)?;
            if self.matchers.is_empty() {
                return Ok(());
            }
        }
        f.write_str("{")?;
        let mut first = true;
        if let (Some(m), None) = (&self.metric, bare_metric) {
            write_quoted(f, m)?;
            first = false;
        }
        for m in &self.matchers {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if is_plain_name(&m.label) {
                f.write_str(&m.label)?;
            } else {
                write_quoted(f, &m.label)?;
            }
            f.write_str(m.op.as_str())?;
            write_quoted(f, &m.value)?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(label: &str, op: Op, value: &str) -> (String, Op, String) {
        (label.to_owned(), op, value.to_owned())
    }

    fn parts(s: &str) -> (Option<String>, Vec<(String, Op, String)>) {
        let sel = parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        (
            sel.metric,
            sel.matchers
                .into_iter()
                .map(|m| (m.label, m.op, m.value))
                .collect(),
        )
    }

    fn err(s: &str) -> String {
        parse(s).expect_err(s).to_string()
    }

    #[test]
    fn the_issue_example() {
        let (metric, ms) =
            parts(r#"cpu_usage_user{hostname="host_1",region=~"eu-.*",team!="NYC",x!~"a|b"}"#);
        assert_eq!(metric.as_deref(), Some("cpu_usage_user"));
        assert_eq!(
            ms,
            vec![
                m("hostname", Op::Eq, "host_1"),
                m("region", Op::Re, "eu-.*"),
                m("team", Op::Ne, "NYC"),
                m("x", Op::NotRe, "a|b"),
            ]
        );
    }

    #[test]
    fn bare_metrics_braces_and_spaces() {
        assert_eq!(parts("cpu"), (Some("cpu".into()), vec![]));
        assert_eq!(parts("  cpu  "), (Some("cpu".into()), vec![]));
        assert_eq!(parts("cpu{}"), (Some("cpu".into()), vec![]));
        assert_eq!(parts("cpu {  }"), (Some("cpu".into()), vec![]));
        assert_eq!(parts("{}"), (None, vec![]));
        assert_eq!(
            parts(" cpu { a = \"1\" , b !~ '2' , } "),
            (
                Some("cpu".into()),
                vec![m("a", Op::Eq, "1"), m("b", Op::NotRe, "2")]
            )
        );
        assert_eq!(parts("a:b_c.d-e9"), (Some("a:b_c.d-e9".into()), vec![]));
        assert_eq!(parts("température"), (Some("température".into()), vec![]));
        assert_eq!(parts("{host=\"a\"}"), (None, vec![m("host", Op::Eq, "a")]));
    }

    #[test]
    fn metric_name_forms() {
        assert_eq!(parts(r#"{__name__="cpu"}"#), (Some("cpu".into()), vec![]));
        assert_eq!(
            parts(r#"{__name__="cpu", a="1"}"#),
            (Some("cpu".into()), vec![m("a", Op::Eq, "1")])
        );
        // A second equality on the name stays a matcher (it can only narrow).
        assert_eq!(
            parts(r#"cpu{__name__="mem"}"#),
            (Some("cpu".into()), vec![m("__name__", Op::Eq, "mem")])
        );
        assert_eq!(
            parts(r#"{__name__=~"cpu_.*"}"#),
            (None, vec![m("__name__", Op::Re, "cpu_.*")])
        );
        assert_eq!(
            parts(r#"{"cpu usage", "host name"="a b"}"#),
            (
                Some("cpu usage".into()),
                vec![m("host name", Op::Eq, "a b")]
            )
        );
        assert!(err(r#"cpu{"mem"}"#).contains("column 5: the metric name is given twice"));
    }

    #[test]
    fn string_escapes() {
        let value = |s: &str| parts(s).1.remove(0).2;
        assert_eq!(value(r#"m{a="q\"uote"}"#), "q\"uote");
        assert_eq!(value(r#"m{a="back\\slash"}"#), "back\\slash");
        assert_eq!(value(r#"m{a="n\nt\tr\r0\0"}"#), "n\nt\tr\r0\0");
        assert_eq!(value(r#"m{a="\x41\x42"}"#), "AB");
        assert_eq!(value(r#"m{a="\xc3\xa9"}"#), "é");
        assert_eq!(value(r#"m{a="\u00e9\U0001F600\u{1F600}"}"#), "é😀😀");
        assert_eq!(value(r#"m{a='it\'s "fine"'}"#), "it's \"fine\"");
        assert_eq!(value(r#"m{a=`raw \d+ "x"`}"#), r#"raw \d+ "x""#);
        assert_eq!(value(r#"m{a=""}"#), "");
        assert_eq!(value("m{a=\"ü,}{=\"}"), "ü,}{=");
    }

    #[test]
    fn errors_name_the_column_and_what_was_expected() {
        // The brief's example: the operator is missing at column 27.
        assert_eq!(
            err(r#"cpu_usage_user{hostname="h" region="x"}"#),
            "column 29: expected ',' or '}', found 'r'"
        );
        assert_eq!(
            err(r#"cpu_usage_user{hostname~"h"}"#),
            "column 24: expected '=', '!=', '=~' or '!~', found '~'"
        );
        assert_eq!(
            err(r#"cpu{a!"x"}"#),
            "column 7: expected '=' or '~' after '!', found '\"'"
        );
        assert_eq!(
            err(r#"cpu{a=x}"#),
            "column 7: expected a quoted string, found 'x'"
        );
        assert_eq!(
            err(r#"cpu{a="x"#),
            "column 9: expected the closing '\"' of the string opened at column 7, found the \
             end of the selector"
        );
        assert_eq!(
            err(r#"cpu{a="x""#),
            "column 10: expected ',' or '}', found the end of the selector"
        );
        assert_eq!(
            err("cpu{,}"),
            "column 5: expected a label name or '}', found ','"
        );
        assert_eq!(
            err("cpu{1a=\"x\"}"),
            "column 5: expected a label name or '}', found '1'"
        );
        assert_eq!(
            err("cpu x"),
            "column 5: expected '{' or the end of the selector, found 'x'"
        );
        assert_eq!(
            err("cpu{} x"),
            "column 7: expected the end of the selector, found 'x'"
        );
        assert_eq!(
            err(""),
            "column 1: expected a metric name or '{', found the end of the selector"
        );
        assert_eq!(
            err("   "),
            "column 4: expected a metric name or '{', found the end of the selector"
        );
        assert_eq!(
            err("9cpu"),
            "column 1: expected a metric name or '{', found '9'"
        );
        assert_eq!(
            err(r#"m{a="\q"}"#),
            "column 6: unknown escape '\\q' (expected \\\" \\' \\\\ \\n \\t \\r \\0 \\xNN \
             \\uNNNN \\UNNNNNNNN or \\u{N})"
        );
        assert_eq!(
            err(r#"m{a="\x4"}"#),
            "column 9: expected 2 hex digits, found '\"'"
        );
        assert_eq!(
            err(r#"m{a="\xff"}"#),
            "column 5: the string is not valid UTF-8 (check its \\x escapes)"
        );
        assert_eq!(
            err(r#"m{a="\uD800"}"#),
            "column 6: \\u escape D800 is not a Unicode scalar value"
        );
        assert_eq!(
            err(r#"m{a="\u{110000}"}"#),
            "column 6: \\u escape 110000 is not a Unicode scalar value"
        );
        assert_eq!(
            err(r#"m{a="\u{41"}"#),
            "column 11: expected '}' closing the \\u{...} escape, found '\"'"
        );
        assert_eq!(
            err("m{a=\"x\"\t\u{1}}"),
            "column 9: expected ',' or '}', found '\\u{1}'"
        );
        // Columns count characters, not bytes.
        assert_eq!(
            err("é{a=b}"),
            "column 5: expected a quoted string, found 'b'"
        );
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "cpu",
            r#"cpu{a="1",b!="2",c=~"3.*",d!~"4|5"}"#,
            r#"{a="1"}"#,
            r#"{"cpu usage","host name"="a\"b\\c\n"}"#,
            r#"cpu{__name__=~"c.*"}"#,
            "{}",
        ] {
            let shown = parse(s).unwrap().to_string();
            assert_eq!(parts(&shown), parts(s), "{s} shown as {shown}");
        }
        assert_eq!(
            parse(r#" cpu { a = '1' } "#).unwrap().to_string(),
            r#"cpu{a="1"}"#
        );
    }
}
