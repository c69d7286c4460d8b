//! Escaping in line protocol: which bytes end a name, which a backslash escapes, and
//! the two directions (reading a name into a [`Span`], writing one escaped).
//!
//! - a measurement ends at an unescaped `,`, space or tab; `\,`, `\ ` and `\\` stand
//!   for `,`, space and `\`;
//! - a tag key, tag value or field key ends at an unescaped `,`, `=`, space or tab;
//!   `\,`, `\=`, `\ ` and `\\` stand for `,`, `=`, space and `\`;
//! - in a string field value, `\"` and `\\` stand for `"` and `\`;
//! - everywhere, a backslash before any other character (or at the end of the line) is
//!   an ordinary character.
//!
//! A name without escapes is a slice of the line (no copy); one with escapes is
//! unescaped into the parser's scratch buffer.

/// Where a name or string value is: a byte range of the line, or of the scratch buffer
/// when it had escapes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) in_scratch: bool,
}

impl Span {
    pub(crate) fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The text, from `line` or `scratch`.
    pub(crate) fn get<'a>(self, line: &'a str, scratch: &'a str) -> &'a str {
        let from = if self.in_scratch { scratch } else { line };
        from.get(self.start..self.end).unwrap_or_default()
    }
}

/// The kinds of names, by their delimiters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Name {
    /// A measurement: ends at `,`, space or tab.
    Measurement,
    /// A tag key, tag value or field key: ends at `,`, `=`, space or tab.
    Key,
}

const STOP_MEASUREMENT: u8 = 1;
const STOP_KEY: u8 = 2;
const BACKSLASH: u8 = 4;

/// Byte classes: which bytes end which names, and the backslash.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b',' as usize] = STOP_MEASUREMENT | STOP_KEY;
    t[b' ' as usize] = STOP_MEASUREMENT | STOP_KEY;
    t[b'\t' as usize] = STOP_MEASUREMENT | STOP_KEY;
    t[b'=' as usize] = STOP_KEY;
    t[b'\\' as usize] = BACKSLASH;
    t
};

impl Name {
    fn stop(self) -> u8 {
        match self {
            Name::Measurement => STOP_MEASUREMENT,
            Name::Key => STOP_KEY,
        }
    }

    /// True when `\` followed by `b` stands for `b` in this kind of name (and so `b`
    /// is written escaped).
    pub(crate) fn escapes(self, b: u8) -> bool {
        match self {
            Name::Measurement => matches!(b, b',' | b' ' | b'\\'),
            Name::Key => matches!(b, b',' | b'=' | b' ' | b'\\'),
        }
    }
}

/// Reads the name of kind `kind` that starts at byte `i` of `line`; returns where it
/// is and the offset of the byte that ended it (`line.len()` at the end of the line).
/// Unescapes into `scratch` only when the name has an escape.
pub(crate) fn scan_name(line: &str, i: usize, kind: Name, scratch: &mut String) -> (Span, usize) {
    let b = line.as_bytes();
    let start = i;
    // The common case: no escape, the name is a slice of the line.
    let (mut i, escaped) = run(b, i, kind);
    if !escaped {
        let span = Span {
            start,
            end: i,
            in_scratch: false,
        };
        return (span, i);
    }
    // An escape at `i`: copy the name into the scratch buffer, unescaped.
    let from = scratch.len();
    let mut piece = start;
    loop {
        // b[i] is a backslash and b[i + 1] a byte it escapes (ASCII).
        scratch.push_str(line.get(piece..i).unwrap_or_default());
        if let Some(&e) = b.get(i + 1) {
            scratch.push(char::from(e));
        }
        piece = i + 2;
        let (end, escaped) = run(b, piece, kind);
        i = end;
        if !escaped {
            scratch.push_str(line.get(piece..i).unwrap_or_default());
            let span = Span {
                start: from,
                end: scratch.len(),
                in_scratch: true,
            };
            return (span, i);
        }
    }
}

/// Skips the bytes of a name of kind `kind` from `i` up to the byte that ends it or
/// to a backslash that escapes the next byte (then `true`); a backslash that escapes
/// nothing is skipped as an ordinary byte.
fn run(b: &[u8], mut i: usize, kind: Name) -> (usize, bool) {
    let mask = kind.stop() | BACKSLASH;
    loop {
        while let Some(&c) = b.get(i) {
            if CLASS[usize::from(c)] & mask != 0 {
                break;
            }
            i += 1;
        }
        match b.get(i) {
            Some(b'\\') => match b.get(i + 1) {
                Some(&e) if kind.escapes(e) => return (i, true),
                _ => i += 1, // a literal backslash
            },
            _ => return (i, false),
        }
    }
}

/// Writes `name` escaped for its kind.
pub(crate) fn write_name(out: &mut String, name: &str, kind: Name) {
    write_escaped(out, name, |b| kind.escapes(b));
}

/// Writes a string field value between double quotes, escaping `"` and `\`.
pub(crate) fn write_string_value(out: &mut String, value: &str) {
    out.push('"');
    write_escaped(out, value, |b| b == b'"' || b == b'\\');
    out.push('"');
}

fn write_escaped(out: &mut String, s: &str, special: impl Fn(u8) -> bool) {
    let mut piece = 0;
    for (i, b) in s.bytes().enumerate() {
        if special(b) {
            out.push_str(s.get(piece..i).unwrap_or_default());
            out.push('\\');
            out.push(char::from(b));
            piece = i + 1;
        }
    }
    out.push_str(s.get(piece..).unwrap_or_default());
}

/// The index of the first byte at or after `i` that is not a space or a tab (the
/// separators between a line's sections).
pub(crate) fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str, kind: Name) -> (String, usize, bool) {
        let mut scratch = String::from("junk");
        let (span, end) = scan_name(line, 0, kind, &mut scratch);
        (span.get(line, &scratch).to_owned(), end, span.in_scratch)
    }

    #[test]
    fn names_end_at_their_delimiters() {
        assert_eq!(
            read("cpu,host=a", Name::Measurement),
            ("cpu".into(), 3, false)
        );
        assert_eq!(
            read("cpu value=1", Name::Measurement),
            ("cpu".into(), 3, false)
        );
        assert_eq!(
            read("cpu\tvalue=1", Name::Measurement),
            ("cpu".into(), 3, false)
        );
        // '=' is an ordinary character in a measurement
        assert_eq!(read("a=b c=1", Name::Measurement), ("a=b".into(), 3, false));
        assert_eq!(read("host=a", Name::Key), ("host".into(), 4, false));
        assert_eq!(read("a,b", Name::Key), ("a".into(), 1, false));
        assert_eq!(read("ab", Name::Key), ("ab".into(), 2, false));
        assert_eq!(read("", Name::Key), ("".into(), 0, false));
    }

    #[test]
    fn escapes_are_undone_into_the_scratch_buffer() {
        assert_eq!(
            read(r"a\,b\ c d", Name::Measurement),
            ("a,b c".into(), 7, true)
        );
        assert_eq!(read(r"a\\b,", Name::Measurement), (r"a\b".into(), 4, true));
        // '\=' is not an escape in a measurement
        assert_eq!(
            read(r"a\=b ", Name::Measurement),
            (r"a\=b".into(), 4, false)
        );
        assert_eq!(
            read(r"k\=1\,2\ 3\\=v", Name::Key),
            (r"k=1,2 3\".into(), 12, true)
        );
        // a backslash before anything else, or at the end, is literal
        assert_eq!(read(r"a\b\", Name::Key), (r"a\b\".into(), 4, false));
        assert_eq!(read(r"x\,y\q=", Name::Key), (r"x,y\q".into(), 6, true));
        assert_eq!(read("\\é=", Name::Key), ("\\é".into(), 3, false));
        // a trailing backslash written as '\\' ends the name at the next delimiter
        assert_eq!(read(r"a\\ b", Name::Key), (r"a\".into(), 3, true));
    }

    #[test]
    fn writing_escapes_what_reading_unescapes() {
        for (name, kind) in [
            (r"a, b=c\d", Name::Measurement),
            (r"a, b=c\d", Name::Key),
            (r"\\,,  ==", Name::Key),
            ("é\u{1}x", Name::Key),
        ] {
            let mut out = String::new();
            write_name(&mut out, name, kind);
            out.push(' ');
            let (back, end, _) = read(&out, kind);
            assert_eq!(back, name, "{out}");
            assert_eq!(end, out.len() - 1);
        }
        let mut out = String::new();
        write_string_value(&mut out, r#"say "hi" \o/"#);
        assert_eq!(out, r#""say \"hi\" \\o/""#);
    }
}
