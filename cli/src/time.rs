//! Times and durations on the command line, and timestamps in output.
//!
//! A tidestore database stores bare `i64` timestamps; only the user knows their unit.
//! So every time argument is an integer (taken as is), and the friendlier forms need
//! the unit (`--unit s|ms|us|ns`):
//!
//! - a time: an integer; `now`; a relative time `-1h`, `+30m`, `now-1h30m`; an
//!   RFC 3339 timestamp `2016-01-01T00:00:00Z` (any offset, any fraction) or a date
//!   `2016-01-01` (midnight UTC). Converted to the unit rounding down.
//! - a duration: a positive integer (in the unit, or in whatever unit the database
//!   uses when none is given), or a number with a suffix `ns us µs ms s m h d w`,
//!   possibly several (`1h30m`), which must be a whole number of the unit.
//!
//! Timestamps print as integers, or as RFC 3339 in UTC when the unit is known (with
//! as many fraction digits as the unit has; outside chrono's range they stay integers).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use clap::ValueEnum;

use crate::error::{CliError, CliResult};

/// Nanoseconds per second.
const NANOS_PER_SEC: i128 = 1_000_000_000;

/// The unit of a database's (or an output's) timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Unit {
    /// Seconds.
    S,
    /// Milliseconds.
    Ms,
    /// Microseconds.
    Us,
    /// Nanoseconds.
    Ns,
}

impl Unit {
    /// Nanoseconds in one tick of this unit.
    pub fn nanos(self) -> i128 {
        match self {
            Unit::S => 1_000_000_000,
            Unit::Ms => 1_000_000,
            Unit::Us => 1_000,
            Unit::Ns => 1,
        }
    }

    /// The suffix users write (`s`, `ms`, `us`, `ns`).
    pub fn name(self) -> &'static str {
        match self {
            Unit::S => "s",
            Unit::Ms => "ms",
            Unit::Us => "us",
            Unit::Ns => "ns",
        }
    }

    fn seconds_format(self) -> SecondsFormat {
        match self {
            Unit::S => SecondsFormat::Secs,
            Unit::Ms => SecondsFormat::Millis,
            Unit::Us => SecondsFormat::Micros,
            Unit::Ns => SecondsFormat::Nanos,
        }
    }
}

/// The current time in nanoseconds since the Unix epoch, read once per command so that
/// `--from -1h --to now` describe one instant.
#[derive(Debug, Clone, Copy)]
pub struct Now(pub i128);

impl Now {
    /// The system clock.
    pub fn system() -> Now {
        let nanos = match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        Now(nanos)
    }
}

/// Converts nanoseconds to `unit`, rounding down; an error if it leaves `i64`.
fn from_nanos(nanos: i128, unit: Unit, what: &str) -> CliResult<i64> {
    i64::try_from(nanos.div_euclid(unit.nanos())).map_err(|_| {
        CliError::usage(format!(
            "{what} is out of range for {} timestamps",
            unit.name()
        ))
    })
}

fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses a time argument (see the module docs). `unit` is the database's timestamp
/// unit, needed by every form but a plain integer.
pub fn parse_time(s: &str, unit: Option<Unit>, now: Now) -> CliResult<i64> {
    let s = s.trim();
    if let Some(v) = parse_int(s) {
        return Ok(v);
    }
    if s.is_empty() {
        return Err(CliError::usage("empty time"));
    }
    let Some(unit) = unit else {
        return Err(CliError::usage(format!(
            "'{s}' is not an integer timestamp; RFC 3339 and relative times need the \
             database's timestamp unit (--unit s|ms|us|ns)"
        )));
    };
    let nanos = parse_time_nanos(s, now)?;
    from_nanos(nanos, unit, &format!("'{s}'"))
}

/// A time other than an integer, as nanoseconds since the epoch.
fn parse_time_nanos(s: &str, now: Now) -> CliResult<i128> {
    let relative = s
        .strip_prefix("now")
        .map(str::trim_start)
        .or_else(|| s.starts_with(['-', '+']).then_some(s));
    if let Some(rest) = relative {
        if rest.is_empty() {
            return Ok(now.0);
        }
        let (sign, amount) = match rest.split_at(1) {
            ("-", a) => (-1, a.trim_start()),
            ("+", a) => (1, a.trim_start()),
            _ => {
                return Err(CliError::usage(format!(
                    "'{s}': expected 'now', 'now-DURATION' or 'now+DURATION'"
                )));
            }
        };
        let d = duration_nanos(amount).map_err(|e| CliError::usage(format!("'{s}': {e}")))?;
        return Ok(now.0 + sign * d);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(datetime_nanos(&t.with_timezone(&Utc)));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(datetime_nanos(&t.and_utc()));
    }
    Err(CliError::usage(format!(
        "'{s}' is not a time: expected an integer, 'now', a relative time like '-1h' or \
         'now-30m', an RFC 3339 timestamp like '2016-01-01T00:00:00Z', or a date like \
         '2016-01-01'"
    )))
}

fn datetime_nanos(t: &DateTime<Utc>) -> i128 {
    i128::from(t.timestamp()) * NANOS_PER_SEC + i128::from(t.timestamp_subsec_nanos())
}

/// Nanoseconds of a duration written with suffixes (`90s`, `1h30m`, `500ms`).
pub fn duration_nanos(s: &str) -> Result<i128, String> {
    let mut total: i128 = 0;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("'{s}': expected a number at '{rest}'"));
        }
        let (number, tail) = rest.split_at(digits);
        let suffix_len = tail
            .char_indices()
            .find(|(_, c)| !c.is_alphabetic())
            .map_or(tail.len(), |(i, _)| i);
        let (suffix, tail) = tail.split_at(suffix_len);
        let scale: i128 = match suffix {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SEC,
            "m" => 60 * NANOS_PER_SEC,
            "h" => 3_600 * NANOS_PER_SEC,
            "d" => 86_400 * NANOS_PER_SEC,
            "w" => 7 * 86_400 * NANOS_PER_SEC,
            "" => {
                return Err(format!(
                    "'{s}': '{number}' needs a unit (ns, us, ms, s, m, h, d, w)"
                ));
            }
            other => {
                return Err(format!(
                    "'{s}': unknown unit '{other}' (expected ns, us, ms, s, m, h, d or w)"
                ));
            }
        };
        let n: i128 = number
            .parse()
            .map_err(|_| format!("'{s}': {number} is too large"))?;
        total = n
            .checked_mul(scale)
            .and_then(|v| total.checked_add(v))
            .filter(|v| *v <= i128::from(i64::MAX) * NANOS_PER_SEC)
            .ok_or_else(|| format!("'{s}' is too long"))?;
        rest = tail;
    }
    Ok(total)
}

/// Parses a positive duration into ticks of `unit` (see the module docs): a plain
/// integer is taken as is (in the database's unit, `unit` or not).
pub fn parse_duration(s: &str, unit: Option<Unit>) -> CliResult<i64> {
    let s = s.trim();
    let ticks = if let Some(v) = parse_int(s) {
        v
    } else {
        let nanos = duration_nanos(s).map_err(CliError::usage)?;
        let Some(unit) = unit else {
            return Err(CliError::usage(format!(
                "'{s}' has a unit; give the database's timestamp unit (--unit s|ms|us|ns) \
                 or an integer number of its ticks"
            )));
        };
        if nanos % unit.nanos() != 0 {
            return Err(CliError::usage(format!(
                "'{s}' is not a whole number of {} (the timestamp unit)",
                unit.name()
            )));
        }
        from_nanos(nanos, unit, &format!("'{s}'"))?
    };
    if ticks <= 0 {
        return Err(CliError::usage(format!("duration '{s}' must be positive")));
    }
    Ok(ticks)
}

/// Renders a timestamp: RFC 3339 (UTC) when the unit is known and the instant is in
/// chrono's range, else the integer.
pub fn format_time(ts: i64, unit: Option<Unit>) -> String {
    match unit.and_then(|u| to_datetime(ts, u).map(|t| (t, u))) {
        Some((t, u)) => t.to_rfc3339_opts(u.seconds_format(), true),
        None => ts.to_string(),
    }
}

/// The instant of timestamp `ts` in `unit`, if chrono can represent it.
pub fn to_datetime(ts: i64, unit: Unit) -> Option<DateTime<Utc>> {
    let nanos = i128::from(ts) * unit.nanos();
    let secs = i64::try_from(nanos.div_euclid(NANOS_PER_SEC)).ok()?;
    let sub = u32::try_from(nanos.rem_euclid(NANOS_PER_SEC)).ok()?;
    DateTime::from_timestamp(secs, sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2016-01-01T00:00:00Z.
    const T2016: i128 = 1_451_606_400 * NANOS_PER_SEC;
    const NOW: Now = Now(T2016 + 3_600 * NANOS_PER_SEC);

    fn time(s: &str, unit: Option<Unit>) -> Result<i64, String> {
        parse_time(s, unit, NOW).map_err(|e| e.to_string())
    }

    #[test]
    fn integers_need_no_unit() {
        assert_eq!(time("0", None), Ok(0));
        assert_eq!(time("-5", None), Ok(-5));
        assert_eq!(time("+7", None), Ok(7));
        assert_eq!(time(" 1451606400 ", None), Ok(1_451_606_400));
        assert_eq!(time("9223372036854775807", None), Ok(i64::MAX));
        assert_eq!(time("-9223372036854775808", None), Ok(i64::MIN));
        assert!(time("9223372036854775808", None).is_err());
    }

    #[test]
    fn friendly_forms_without_a_unit_are_refused() {
        for s in ["now", "-1h", "2016-01-01T00:00:00Z", "2016-01-01"] {
            let e = time(s, None).unwrap_err();
            assert!(e.contains("--unit"), "{s}: {e}");
        }
    }

    #[test]
    fn rfc3339_and_dates() {
        assert_eq!(
            time("2016-01-01T00:00:00Z", Some(Unit::S)),
            Ok(1_451_606_400)
        );
        assert_eq!(
            time("2016-01-01T01:00:00+01:00", Some(Unit::S)),
            Ok(1_451_606_400)
        );
        assert_eq!(
            time("2016-01-01T00:00:00.123456789Z", Some(Unit::Ns)),
            Ok(1_451_606_400_123_456_789)
        );
        assert_eq!(
            time("2016-01-01T00:00:00.123456789Z", Some(Unit::Ms)),
            Ok(1_451_606_400_123)
        );
        assert_eq!(time("2016-01-01", Some(Unit::Ms)), Ok(1_451_606_400_000));
        // Before the epoch, rounding goes down (towards the past).
        assert_eq!(time("1969-12-31T23:59:59.5Z", Some(Unit::S)), Ok(-1));
        // Far outside nanosecond timestamps' range (1677..2262).
        let e = time("2300-01-01T00:00:00Z", Some(Unit::Ns)).unwrap_err();
        assert!(e.contains("out of range"), "{e}");
        assert!(time("2016-13-01", Some(Unit::S)).is_err());
        assert!(
            time("yesterday", Some(Unit::S))
                .unwrap_err()
                .contains("not a time")
        );
    }

    #[test]
    fn relative_times() {
        let now_s = 1_451_610_000;
        assert_eq!(time("now", Some(Unit::S)), Ok(now_s));
        assert_eq!(time("-1h", Some(Unit::S)), Ok(now_s - 3600));
        assert_eq!(time("now-1h", Some(Unit::S)), Ok(now_s - 3600));
        assert_eq!(time("now - 30m", Some(Unit::S)), Ok(now_s - 1800));
        assert_eq!(time("+90s", Some(Unit::S)), Ok(now_s + 90));
        assert_eq!(time("now+1h30m", Some(Unit::Ms)), Ok((now_s + 5400) * 1000));
        assert_eq!(time("-1500ms", Some(Unit::S)), Ok(now_s - 2), "rounds down");
        assert!(time("now*2", Some(Unit::S)).is_err());
        assert!(
            time("-1x", Some(Unit::S))
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(time("-h", Some(Unit::S)).is_err());
        assert!(time("", Some(Unit::S)).is_err());
        // Far past i64 in nanoseconds.
        assert!(time("-400w", Some(Unit::Ns)).is_ok());
        assert!(
            time("-20000w", Some(Unit::Ns))
                .unwrap_err()
                .contains("out of range")
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60", None).ok(), Some(60));
        assert_eq!(parse_duration("60s", Some(Unit::S)).ok(), Some(60));
        assert_eq!(parse_duration("1m", Some(Unit::S)).ok(), Some(60));
        assert_eq!(parse_duration("1h", Some(Unit::Ms)).ok(), Some(3_600_000));
        assert_eq!(parse_duration("1d", Some(Unit::S)).ok(), Some(86_400));
        assert_eq!(parse_duration("1w", Some(Unit::S)).ok(), Some(604_800));
        assert_eq!(parse_duration("1h30m", Some(Unit::S)).ok(), Some(5_400));
        assert_eq!(parse_duration("250us", Some(Unit::Ns)).ok(), Some(250_000));
        assert_eq!(parse_duration("250µs", Some(Unit::Us)).ok(), Some(250));
        assert_eq!(parse_duration("10", Some(Unit::S)).ok(), Some(10));
        let e = parse_duration("500ms", Some(Unit::S))
            .unwrap_err()
            .to_string();
        assert!(e.contains("whole number of s"), "{e}");
        let e = parse_duration("60s", None).unwrap_err().to_string();
        assert!(e.contains("--unit"), "{e}");
        for bad in ["0", "-5", "0s", "", "s", "5 parsecs", "1.5h", "5x"] {
            assert!(parse_duration(bad, Some(Unit::S)).is_err(), "{bad}");
        }
        assert!(parse_duration("99999999999999999999999999999h", Some(Unit::S)).is_err());
        assert!(parse_duration("300w", Some(Unit::Ns)).is_ok());
        assert!(parse_duration("30000w", Some(Unit::Ns)).is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(format_time(1_451_606_400, None), "1451606400");
        assert_eq!(
            format_time(1_451_606_400, Some(Unit::S)),
            "2016-01-01T00:00:00Z"
        );
        assert_eq!(
            format_time(1_451_606_400_250, Some(Unit::Ms)),
            "2016-01-01T00:00:00.250Z"
        );
        assert_eq!(
            format_time(1_451_606_400_000_000_001, Some(Unit::Ns)),
            "2016-01-01T00:00:00.000000001Z"
        );
        assert_eq!(format_time(-1, Some(Unit::S)), "1969-12-31T23:59:59Z");
        // Outside chrono's range: the integer.
        assert_eq!(format_time(i64::MAX, Some(Unit::S)), i64::MAX.to_string());
        assert_eq!(format_time(i64::MIN, Some(Unit::Ms)), i64::MIN.to_string());
        // Round trip through the parser.
        for (ts, unit) in [
            (1_451_606_400_123, Unit::Ms),
            (-7, Unit::Ns),
            (i64::MAX, Unit::Ns),
        ] {
            assert_eq!(
                parse_time(&format_time(ts, Some(unit)), Some(unit), NOW).ok(),
                Some(ts)
            );
        }
    }
}
