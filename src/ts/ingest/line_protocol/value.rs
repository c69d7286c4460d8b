//! Field values: [`FieldValue`], and reading the number and boolean forms of line
//! protocol.
//!
//! - integer: `-?[0-9]+i`, in `i64` range;
//! - unsigned: `[0-9]+u`, in `u64` range;
//! - float: `-?` then digits with at most one `.` (`1`, `1.5`, `1.`, `.5`), then an
//!   optional exponent `[eE][+-]?[0-9]+`; finite (`1e400` is out of range). No `+`
//!   sign, no `inf` or `NaN`: InfluxDB rejects those too;
//! - boolean: `t`, `T`, `true`, `True`, `TRUE`, `f`, `F`, `false`, `False`, `FALSE`.

use crate::ts::ingest::number::{parse_float, parse_i64, parse_u64, well_formed_float};

/// A field's value as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// A float (no suffix).
    Float(f64),
    /// A signed integer (`i` suffix).
    Integer(i64),
    /// An unsigned integer (`u` suffix).
    Unsigned(u64),
    /// A boolean.
    Boolean(bool),
    /// A string (double-quoted), unescaped. Counted, not stored.
    String(&'a str),
}

impl FieldValue<'_> {
    /// The value stored for this field: the number (integers rounded to the nearest
    /// `f64` beyond 2^53), 1.0 / 0.0 for a boolean, `None` for a string.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            FieldValue::Float(v) => Some(v),
            FieldValue::Integer(v) => Some(v as f64),
            FieldValue::Unsigned(v) => Some(v as f64),
            FieldValue::Boolean(v) => Some(if v { 1.0 } else { 0.0 }),
            FieldValue::String(_) => None,
        }
    }
}

/// Reads a value token (everything up to the next `,`, space, tab or the end of the
/// line) that does not start with `"`. The error says what the token should have been.
pub(crate) fn parse_token(tok: &str) -> Result<FieldValue<'static>, String> {
    let b = tok.as_bytes();
    match b.first() {
        Some(b'-' | b'0'..=b'9' | b'.') => match b.last() {
            Some(b'i') => parse_i64(b.get(..b.len() - 1).unwrap_or_default())
                .map(FieldValue::Integer)
                .ok_or_else(|| number_error(tok, "integer", "i64")),
            Some(b'u') => parse_u64(b.get(..b.len() - 1).unwrap_or_default())
                .map(FieldValue::Unsigned)
                .ok_or_else(|| number_error(tok, "unsigned integer", "u64")),
            _ => parse_float(tok)
                .map(FieldValue::Float)
                .ok_or_else(|| number_error(tok, "float", "f64")),
        },
        Some(b't' | b'T' | b'f' | b'F') => match tok {
            "t" | "T" | "true" | "True" | "TRUE" => Ok(FieldValue::Boolean(true)),
            "f" | "F" | "false" | "False" | "FALSE" => Ok(FieldValue::Boolean(false)),
            _ => Err(format!(
                "invalid boolean {tok:?}: expected t, T, true, True, TRUE, f, F, false, False or FALSE"
            )),
        },
        _ => Err(format!(
            "invalid field value {tok:?}: expected a number, a boolean or a double-quoted string"
        )),
    }
}

fn number_error(tok: &str, what: &str, range: &str) -> String {
    let b = tok.as_bytes();
    let in_form = match what {
        "integer" => {
            let body = b.get(..b.len().saturating_sub(1)).unwrap_or_default();
            let digits = body.strip_prefix(b"-").unwrap_or(body);
            !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
        }
        "unsigned integer" => {
            let digits = b.get(..b.len().saturating_sub(1)).unwrap_or_default();
            !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
        }
        _ => well_formed_float(b),
    };
    if in_form {
        format!("{what} {tok:?} is out of range for {range}")
    } else {
        format!("invalid {what} {tok:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_type() {
        let cases: &[(&str, FieldValue<'_>)] = &[
            ("58i", FieldValue::Integer(58)),
            ("-0i", FieldValue::Integer(0)),
            ("9223372036854775807i", FieldValue::Integer(i64::MAX)),
            ("-9223372036854775808i", FieldValue::Integer(i64::MIN)),
            ("0u", FieldValue::Unsigned(0)),
            ("18446744073709551615u", FieldValue::Unsigned(u64::MAX)),
            ("1", FieldValue::Float(1.0)),
            ("1.5", FieldValue::Float(1.5)),
            ("-24.25", FieldValue::Float(-24.25)),
            ("1.", FieldValue::Float(1.0)),
            (".5", FieldValue::Float(0.5)),
            ("-.5", FieldValue::Float(-0.5)),
            ("-1e-3", FieldValue::Float(-0.001)),
            ("1E3", FieldValue::Float(1000.0)),
            ("1.5e+10", FieldValue::Float(1.5e10)),
            ("-1.234456e+78", FieldValue::Float(-1.234456e78)),
            ("0.1", FieldValue::Float(0.1)),
            (
                "123456789012345.6",
                FieldValue::Float(123_456_789_012_345.6),
            ),
            ("0.000000000000000000001", FieldValue::Float(1e-21)),
            ("t", FieldValue::Boolean(true)),
            ("T", FieldValue::Boolean(true)),
            ("true", FieldValue::Boolean(true)),
            ("True", FieldValue::Boolean(true)),
            ("TRUE", FieldValue::Boolean(true)),
            ("f", FieldValue::Boolean(false)),
            ("F", FieldValue::Boolean(false)),
            ("false", FieldValue::Boolean(false)),
            ("False", FieldValue::Boolean(false)),
            ("FALSE", FieldValue::Boolean(false)),
        ];
        for &(tok, want) in cases {
            assert_eq!(parse_token(tok), Ok(want), "{tok}");
        }
        let neg_zero = parse_float("-0.0").unwrap();
        assert!(neg_zero == 0.0 && neg_zero.is_sign_negative());
    }

    #[test]
    fn malformed_and_out_of_range_values() {
        let cases: &[(&str, &str)] = &[
            ("9223372036854775808i", "out of range for i64"),
            ("-9223372036854775809i", "out of range for i64"),
            ("18446744073709551616u", "out of range for u64"),
            ("-1u", "invalid unsigned integer"),
            ("1.5i", "invalid integer"),
            ("1e3i", "invalid integer"),
            ("i", "expected a number"),
            ("-i", "invalid integer"),
            ("1e400", "out of range for f64"),
            ("1.2.3", "invalid float"),
            ("1e", "invalid float"),
            ("1e+", "invalid float"),
            ("-", "invalid float"),
            (".", "invalid float"),
            ("1x", "invalid float"),
            ("+1", "expected a number"),
            ("+inf", "expected a number"),
            ("inf", "expected a number"),
            ("NaN", "expected a number"),
            ("nan", "expected a number"),
            ("-inf", "invalid float"),
            ("tru", "invalid boolean"),
            ("yes", "expected a number"),
            ("tRUE", "invalid boolean"),
            ("Fals", "invalid boolean"),
        ];
        for &(tok, want) in cases {
            let err = parse_token(tok).unwrap_err();
            assert!(err.contains(want), "{tok}: {err}");
        }
    }
}
