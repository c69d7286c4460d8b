//! Reading the cells of a CSV row: values and timestamps.

use crate::ts::ingest::number::parse_i64;
use crate::ts::ingest::precision::Precision;
use crate::ts::ingest::rfc3339::parse_rfc3339;

/// A value cell: `Ok(None)` when empty (no point), the number otherwise (Rust's float
/// syntax: `1`, `-2.5`, `1e-3`, `inf`, `NaN`...; `true` and `false` in any case are
/// 1 and 0). Spaces around the text are ignored. The error is the message.
pub(crate) fn parse_value(cell: &str) -> Result<Option<f64>, String> {
    let text = cell.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.eq_ignore_ascii_case("true") {
        return Ok(Some(1.0));
    }
    if text.eq_ignore_ascii_case("false") {
        return Ok(Some(0.0));
    }
    text.parse::<f64>()
        .map(Some)
        .map_err(|_| format!("expected a number, found {text:?}"))
}

/// A timestamp cell: an integer taken as it is, or an RFC 3339 time in `precision`.
pub(crate) fn parse_timestamp(cell: &str, precision: Precision) -> Result<i64, String> {
    let text = cell.trim();
    if text.is_empty() {
        return Err("the timestamp is empty".to_owned());
    }
    if let Some(t) = parse_i64(text.as_bytes()) {
        return Ok(t);
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("timestamp {text} is out of range for i64"));
    }
    match parse_rfc3339(text) {
        Some(nanos) => precision
            .from_unix_nanos(nanos)
            .ok_or_else(|| format!("time {text:?} is out of range for i64 in {precision}")),
        None => Err(format!(
            "expected an integer timestamp or an RFC 3339 time, found {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse_value(""), Ok(None));
        assert_eq!(parse_value("  "), Ok(None));
        assert_eq!(parse_value(" 1.5 "), Ok(Some(1.5)));
        assert_eq!(parse_value("-1e-3"), Ok(Some(-0.001)));
        assert_eq!(parse_value("TRUE"), Ok(Some(1.0)));
        assert_eq!(parse_value("false"), Ok(Some(0.0)));
        assert_eq!(parse_value("inf"), Ok(Some(f64::INFINITY)));
        assert!(parse_value("NaN").unwrap().unwrap().is_nan());
        assert!(
            parse_value("12a")
                .unwrap_err()
                .contains("expected a number, found \"12a\"")
        );
        assert!(parse_value("1,5").is_err());
    }

    #[test]
    fn timestamps() {
        let ms = Precision::Milliseconds;
        assert_eq!(parse_timestamp("1704067200000", ms), Ok(1_704_067_200_000));
        assert_eq!(parse_timestamp(" -5 ", ms), Ok(-5));
        assert_eq!(
            parse_timestamp("2024-01-01T00:00:00.5Z", ms),
            Ok(1_704_067_200_500)
        );
        assert_eq!(
            parse_timestamp("2024-01-01T00:00:00Z", Precision::Seconds),
            Ok(1_704_067_200)
        );
        assert_eq!(
            parse_timestamp("1969-12-31T23:59:59.9Z", Precision::Seconds),
            Ok(-1)
        );
        assert!(parse_timestamp("", ms).unwrap_err().contains("empty"));
        assert!(
            parse_timestamp("99999999999999999999", ms)
                .unwrap_err()
                .contains("out of range")
        );
        assert!(
            parse_timestamp("9999-12-31T23:59:59Z", Precision::Nanoseconds)
                .unwrap_err()
                .contains("out of range")
        );
        assert!(parse_timestamp("1.5", ms).unwrap_err().contains("RFC 3339"));
    }
}
