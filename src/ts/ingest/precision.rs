//! [`Precision`]: the unit of the timestamps in a text being imported.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// The unit of the integer timestamps in line protocol or CSV.
///
/// Timestamps are stored as written: the precision does not scale them. It says what
/// "now" is for a line without a timestamp, and how an RFC 3339 time in a CSV cell is
/// converted.
///
/// Parsed from the names a command line would use (ASCII case ignored): `s`, `sec`,
/// `second`, `seconds`; `ms`, `millisecond(s)`; `us`, `u`, `µs`, `microsecond(s)`;
/// `ns`, `n`, `nanosecond(s)` (`u` and `n` are InfluxDB 1.x's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// Seconds since the Unix epoch.
    Seconds,
    /// Milliseconds since the Unix epoch.
    Milliseconds,
    /// Microseconds since the Unix epoch.
    Microseconds,
    /// Nanoseconds since the Unix epoch (InfluxDB's default).
    Nanoseconds,
}

impl Precision {
    /// Every precision, coarsest first.
    pub const ALL: [Precision; 4] = [
        Precision::Seconds,
        Precision::Milliseconds,
        Precision::Microseconds,
        Precision::Nanoseconds,
    ];

    /// The short name: `s`, `ms`, `us` or `ns`.
    pub const fn name(self) -> &'static str {
        match self {
            Precision::Seconds => "s",
            Precision::Milliseconds => "ms",
            Precision::Microseconds => "us",
            Precision::Nanoseconds => "ns",
        }
    }

    /// How many nanoseconds one unit is.
    pub const fn nanos_per_unit(self) -> i64 {
        match self {
            Precision::Seconds => 1_000_000_000,
            Precision::Milliseconds => 1_000_000,
            Precision::Microseconds => 1_000,
            Precision::Nanoseconds => 1,
        }
    }

    /// `nanos` nanoseconds since the epoch in this unit, rounded down (towards the
    /// past, also before 1970); `None` when that does not fit an `i64`.
    pub fn from_unix_nanos(self, nanos: i128) -> Option<i64> {
        i64::try_from(nanos.div_euclid(i128::from(self.nanos_per_unit()))).ok()
    }

    /// The current time in this unit, from the system clock. A clock set before 1970
    /// gives a negative time; one beyond what an `i64` holds saturates.
    pub fn now(self) -> i64 {
        let nanos = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
            Err(before) => i128::try_from(before.duration().as_nanos())
                .map(|n| -n)
                .unwrap_or(i128::MIN),
        };
        self.from_unix_nanos(nanos)
            .unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Precision {
    type Err = Error;

    fn from_str(s: &str) -> Result<Precision> {
        let lower = s.trim().to_ascii_lowercase();
        Ok(match lower.as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => Precision::Seconds,
            "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => Precision::Milliseconds,
            "us" | "u" | "µs" | "micro" | "micros" | "microsecond" | "microseconds" => {
                Precision::Microseconds
            }
            "ns" | "n" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => Precision::Nanoseconds,
            _ => {
                return Err(Error::invalid(format!(
                    "unknown precision {s:?}: expected s, ms, us or ns"
                )));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_long_names_parse() {
        for p in Precision::ALL {
            assert_eq!(p.name().parse::<Precision>().unwrap(), p);
            assert_eq!(p.to_string(), p.name());
        }
        let cases = [
            ("seconds", Precision::Seconds),
            ("Second", Precision::Seconds),
            ("MS", Precision::Milliseconds),
            ("milliseconds", Precision::Milliseconds),
            ("µs", Precision::Microseconds),
            ("u", Precision::Microseconds),
            ("Microseconds", Precision::Microseconds),
            ("n", Precision::Nanoseconds),
            (" nanoseconds ", Precision::Nanoseconds),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<Precision>().unwrap(), want, "{text}");
        }
        for bad in ["", "m", "h", "minutes", "nss", "1s"] {
            let err = bad.parse::<Precision>().unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn now_is_consistent_across_units() {
        let s = Precision::Seconds.now();
        let ms = Precision::Milliseconds.now();
        let us = Precision::Microseconds.now();
        let ns = Precision::Nanoseconds.now();
        // after 2020-01-01 and within a minute of each other
        assert!(s > 1_577_836_800, "{s}");
        assert!((ms / 1_000 - s).abs() < 60);
        assert!((us / 1_000_000 - s).abs() < 60);
        assert!((ns / 1_000_000_000 - s).abs() < 60);
    }

    #[test]
    fn from_unix_nanos_rounds_down_and_checks_range() {
        let p = Precision::Seconds;
        assert_eq!(p.from_unix_nanos(1_999_999_999), Some(1));
        assert_eq!(p.from_unix_nanos(-1), Some(-1));
        assert_eq!(p.from_unix_nanos(-1_000_000_000), Some(-1));
        assert_eq!(
            Precision::Nanoseconds.from_unix_nanos(i128::from(i64::MAX) + 1),
            None
        );
        assert_eq!(
            Precision::Nanoseconds.from_unix_nanos(i128::from(i64::MIN)),
            Some(i64::MIN)
        );
    }
}
