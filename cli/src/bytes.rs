//! Byte strings (key-value keys and values) on the command line and in output.
//!
//! Printing: a byte string that is valid UTF-8 with no control character and no
//! backslash prints as is; any other is escaped whole (`\\`, `\n`, `\t`, `\r`, `\0`,
//! `\xNN` for every other control byte and every byte that is not UTF-8). So a printed
//! string holds no tab or newline (safe in `KEY<TAB>VALUE` lines), and a backslash in
//! the output always starts an escape. `--hex` prints lowercase hex instead.
//!
//! Reading: arguments are taken literally, or as hex (`--hex`), or with the same
//! escapes (`--escapes`), so whatever `kv scan` printed can be given back.

use crate::error::{CliError, CliResult};

/// How byte strings are given on the command line and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Printable UTF-8 as is, else escaped; arguments are literal.
    #[default]
    Text,
    /// Printed as is or escaped, like `Text`; arguments are read with escapes.
    Escaped,
    /// Lowercase hex, both ways.
    Hex,
}

/// Whether `b` can print as is.
fn is_plain(b: &[u8]) -> bool {
    match std::str::from_utf8(b) {
        Ok(s) => !s.chars().any(|c| c.is_control() || c == '\\'),
        Err(_) => false,
    }
}

/// Appends `b` rendered as text: as is when plain, else escaped (module docs).
pub fn push_text(out: &mut String, b: &[u8]) {
    if is_plain(b) {
        // is_plain checked it is UTF-8.
        out.push_str(std::str::from_utf8(b).unwrap_or_default());
        return;
    }
    let mut rest = b;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, 0),
            Err(e) => {
                let valid = std::str::from_utf8(rest.get(..e.valid_up_to()).unwrap_or_default())
                    .unwrap_or_default();
                (valid, e.error_len().unwrap_or(rest.len() - e.valid_up_to()))
            }
        };
        for c in valid.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\0' => out.push_str("\\0"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for byte in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{byte:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        let after_valid = valid.len();
        for &byte in rest.get(after_valid..after_valid + bad).unwrap_or_default() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
        rest = rest.get(after_valid + bad..).unwrap_or_default();
    }
}

/// `b` as lowercase hex.
pub fn to_hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &byte in b {
        s.push(char::from(DIGITS[usize::from(byte >> 4)]));
        s.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    s
}

/// `b` rendered for output in `enc`.
pub fn render(b: &[u8], enc: Encoding) -> String {
    match enc {
        Encoding::Hex => to_hex(b),
        Encoding::Text | Encoding::Escaped => {
            let mut s = String::new();
            push_text(&mut s, b);
            s
        }
    }
}

/// Reads a command-line argument as bytes in `enc`; `what` names it in errors.
pub fn parse_arg(arg: &str, enc: Encoding, what: &str) -> CliResult<Vec<u8>> {
    match enc {
        Encoding::Text => Ok(arg.as_bytes().to_vec()),
        Encoding::Hex => from_hex(arg).map_err(|e| CliError::usage(format!("{what}: {e}"))),
        Encoding::Escaped => unescape(arg).map_err(|e| CliError::usage(format!("{what}: {e}"))),
    }
}

/// Decodes hex (either case; spaces, `:` and a leading `0x` are allowed).
pub fn from_hex(s: &str) -> Result<Vec<u8>, String> {
    let body = s.strip_prefix("0x").unwrap_or(s);
    let digits: Vec<(usize, char)> = body
        .char_indices()
        .filter(|(_, c)| !c.is_whitespace() && *c != ':')
        .collect();
    if let Some((i, c)) = digits.iter().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(format!("'{c}' at byte {i} is not a hex digit"));
    }
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    Ok(digits
        .chunks(2)
        .map(|pair| {
            let hi = pair.first().and_then(|(_, c)| c.to_digit(16)).unwrap_or(0);
            let lo = pair.get(1).and_then(|(_, c)| c.to_digit(16)).unwrap_or(0);
            (hi * 16 + lo) as u8
        })
        .collect())
}

/// Reads the escapes [`push_text`] writes (plus `\"` and `\'`).
pub fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some((_, '\\')) => out.push(b'\\'),
            Some((_, 'n')) => out.push(b'\n'),
            Some((_, 't')) => out.push(b'\t'),
            Some((_, 'r')) => out.push(b'\r'),
            Some((_, '0')) => out.push(0),
            Some((_, '"')) => out.push(b'"'),
            Some((_, '\'')) => out.push(b'\''),
            Some((_, 'x')) => {
                let hi = chars.next().and_then(|(_, c)| c.to_digit(16));
                let lo = chars.next().and_then(|(_, c)| c.to_digit(16));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                    _ => return Err(format!("\\x at byte {i} needs two hex digits")),
                }
            }
            Some((_, other)) => return Err(format!("unknown escape '\\{other}' at byte {i}")),
            None => return Err("a trailing '\\' escapes nothing".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_prints_as_is() {
        assert_eq!(render(b"user:42", Encoding::Text), "user:42");
        assert_eq!(render("clé é 😀".as_bytes(), Encoding::Text), "clé é 😀");
        assert_eq!(render(b"", Encoding::Text), "");
    }

    #[test]
    fn anything_else_is_escaped_whole() {
        assert_eq!(render(b"a\\b", Encoding::Text), "a\\\\b");
        assert_eq!(render(b"a\tb\nc\r\0", Encoding::Text), "a\\tb\\nc\\r\\0");
        assert_eq!(render(b"\x01\x7f", Encoding::Text), "\\x01\\x7f");
        assert_eq!(render(b"ok\xffok", Encoding::Text), "ok\\xffok");
        assert_eq!(render("é\u{85}".as_bytes(), Encoding::Text), "é\\xc2\\x85");
        // A truncated UTF-8 sequence at the end.
        assert_eq!(render(b"a\xc3", Encoding::Text), "a\\xc3");
        assert_eq!(render(b"\xe2\x82", Encoding::Text), "\\xe2\\x82");
    }

    #[test]
    fn hex_both_ways() {
        assert_eq!(to_hex(b"\x00\xffAZ"), "00ff415a");
        assert_eq!(from_hex("00ff415a").unwrap(), b"\x00\xffAZ");
        assert_eq!(from_hex("0x00FF 41:5a").unwrap(), b"\x00\xffAZ");
        assert_eq!(from_hex("").unwrap(), b"");
        assert!(from_hex("abc").unwrap_err().contains("odd"));
        assert!(from_hex("zz").unwrap_err().contains("not a hex digit"));
    }

    #[test]
    fn every_byte_string_round_trips_through_escapes_and_hex() {
        let mut samples: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"plain".to_vec(),
            b"\\x41".to_vec(),
            (0u8..=255).collect(),
            "é😀\u{7f}\u{9f}".as_bytes().to_vec(),
        ];
        // Every two-byte string.
        for a in 0u8..=255 {
            for b in [0u8, b'\\', b'x', 0x80, 0xc3, 0xa9, 0xff] {
                samples.push(vec![a, b]);
            }
        }
        for s in samples {
            let text = render(&s, Encoding::Text);
            assert!(!text.contains(['\t', '\n']), "{text}");
            assert_eq!(unescape(&text).unwrap(), s, "{text}");
            assert_eq!(from_hex(&render(&s, Encoding::Hex)).unwrap(), s);
        }
    }

    #[test]
    fn bad_escapes() {
        assert!(unescape("\\q").unwrap_err().contains("unknown escape"));
        assert!(unescape("\\x4").unwrap_err().contains("two hex digits"));
        assert!(unescape("abc\\").unwrap_err().contains("trailing"));
        assert_eq!(unescape("\\\"\\'").unwrap(), b"\"'");
    }

    #[test]
    fn arguments() {
        assert_eq!(parse_arg("a\\n", Encoding::Text, "KEY").unwrap(), b"a\\n");
        assert_eq!(parse_arg("a\\n", Encoding::Escaped, "KEY").unwrap(), b"a\n");
        assert_eq!(parse_arg("610a", Encoding::Hex, "KEY").unwrap(), b"a\n");
        let e = parse_arg("6", Encoding::Hex, "KEY").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().starts_with("KEY: "), "{e}");
    }
}
