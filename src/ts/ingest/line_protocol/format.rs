//! Writing points as line protocol: the inverse of the parser, for exports, tests and
//! tools that feed other systems.
//!
//! What the parser reads back from [`format_line`]'s output is exactly what was
//! written: names unescape to the same strings, floats are written in Rust's shortest
//! round-trip form, timestamps as integers. What line protocol cannot express is an
//! error, and nothing is written: an empty name, a name with a newline or a tab, a
//! measurement starting with `#` (the line would be a comment), a string value with a
//! newline, NaN or an infinity, a line without fields.

use crate::error::{Error, Result};
use crate::ts::ingest::line_protocol::escape::{Name, write_name, write_string_value};
use crate::ts::ingest::line_protocol::value::FieldValue;
use crate::ts::ingest::point::PointRef;

/// Appends one line (ending in `\n`) to `out`: `measurement`, its tags in the order
/// given, `fields`, and the timestamp if any. On error `out` is left as it was.
pub fn format_line(
    out: &mut String,
    measurement: &str,
    tags: &[(&str, &str)],
    fields: &[(&str, FieldValue<'_>)],
    timestamp: Option<i64>,
) -> Result<()> {
    check_line(measurement, tags, fields)?;
    write_name(out, measurement, Name::Measurement);
    for &(k, v) in tags {
        out.push(',');
        write_name(out, k, Name::Key);
        out.push('=');
        write_name(out, v, Name::Key);
    }
    let mut sep = ' ';
    for &(k, v) in fields {
        out.push(sep);
        sep = ',';
        write_name(out, k, Name::Key);
        out.push('=');
        write_value(out, v);
    }
    if let Some(t) = timestamp {
        out.push(' ');
        push_display(out, t);
    }
    out.push('\n');
    Ok(())
}

/// Appends `point` as one line with a single field named `value` (so the parser gives
/// back the same metric), its tags and its timestamp.
pub fn format_point(out: &mut String, point: &PointRef<'_>) -> Result<()> {
    format_line(
        out,
        point.metric,
        point.tags,
        &[("value", FieldValue::Float(point.value))],
        Some(point.timestamp),
    )
}

fn check_line(
    measurement: &str,
    tags: &[(&str, &str)],
    fields: &[(&str, FieldValue<'_>)],
) -> Result<()> {
    check_name("measurement", measurement)?;
    if measurement.starts_with('#') {
        return Err(Error::invalid(format!(
            "measurement {measurement:?} starts with '#': the line would be a comment"
        )));
    }
    for &(k, v) in tags {
        check_name("tag key", k)?;
        check_name("tag value", v)?;
    }
    if fields.is_empty() {
        return Err(Error::invalid("a line of line protocol needs a field"));
    }
    for &(k, v) in fields {
        check_name("field key", k)?;
        match v {
            FieldValue::Float(x) if !x.is_finite() => {
                return Err(Error::invalid(format!(
                    "field {k:?} is {x}: line protocol has no NaN or infinity"
                )));
            }
            FieldValue::String(s) if s.contains('\n') => {
                return Err(Error::invalid(format!(
                    "the string value of field {k:?} has a newline, which line protocol cannot carry"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid(format!("{what} is empty")));
    }
    if name.contains(['\n', '\t']) {
        return Err(Error::invalid(format!(
            "{what} {name:?} has a newline or a tab, which line protocol cannot carry"
        )));
    }
    Ok(())
}

fn write_value(out: &mut String, v: FieldValue<'_>) {
    match v {
        // Debug is the shortest text that parses back to the same bits ("1.0", "1e-7").
        FieldValue::Float(x) => {
            use std::fmt::Write;
            let _ = write!(out, "{x:?}");
        }
        FieldValue::Integer(x) => {
            push_display(out, x);
            out.push('i');
        }
        FieldValue::Unsigned(x) => {
            push_display(out, x);
            out.push('u');
        }
        FieldValue::Boolean(x) => out.push_str(if x { "true" } else { "false" }),
        FieldValue::String(s) => write_string_value(out, s),
    }
}

fn push_display(out: &mut String, x: impl std::fmt::Display) {
    use std::fmt::Write;
    let _ = write!(out, "{x}");
}
