//! [`Aggregation`]: what a query computes per bucket, its names (for command lines and
//! configuration) and what each one needs from the data.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// What a query computes over the points of one bucket of one group.
///
/// NaN and infinities (see `docs/analytics.md`):
///
/// - [`Count`](Aggregation::Count) counts every point, NaN included, as an `f64`.
/// - [`Sum`](Aggregation::Sum) and [`Mean`](Aggregation::Mean) propagate NaN (one NaN
///   point makes the bucket NaN), and `+inf` with `-inf` gives NaN, as IEEE addition
///   does. A sum starts from `+0.0`, so it is never `-0.0`. `Mean` is `Sum / Count`.
/// - [`Min`](Aggregation::Min) and [`Max`](Aggregation::Max) skip NaN (NaN only when
///   every point of the bucket is NaN) and order `-0.0` below `+0.0`
///   ([`f64::total_cmp`] on the non-NaN values), exactly as the chunk index does.
/// - [`First`](Aggregation::First) and [`Last`](Aggregation::Last) take the value at
///   the smallest / largest timestamp as it is, NaN included. Between series of one
///   group at the same timestamp, `First` takes the series whose key sorts first and
///   `Last` the one that sorts last.
/// - [`StdDev`](Aggregation::StdDev) is the *population* standard deviation
///   `sqrt(sum((x - mean)^2) / n)` (0 for a single point, as Prometheus'
///   `stddev_over_time`); NaN if any point is NaN or infinite.
/// - [`Quantile(q)`](Aggregation::Quantile) skips NaN and interpolates linearly
///   between the two closest ranks of the sorted values (rank `q * (n - 1)`, the
///   default of numpy and of Prometheus' `quantile_over_time`); NaN when every point is
///   NaN. `q` must lie in `0.0..=1.0` ([`Query::validate`](super::Query::validate)
///   says so otherwise); [`Aggregation::MEDIAN`] is `Quantile(0.5)`.
///
/// Names ([`FromStr`] and [`Display`](fmt::Display)), case-insensitive: `count`,
/// `sum`, `min`, `max`, `mean` (or `avg`), `first`, `last`, `stddev`, `median`, and
/// `pNN` for a quantile given in percent (`p50`, `p99`, `p99.9`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Aggregation {
    /// The number of points.
    Count,
    /// The sum of the values.
    Sum,
    /// The smallest value (NaN skipped).
    Min,
    /// The largest value (NaN skipped).
    Max,
    /// `Sum / Count`.
    Mean,
    /// The value at the smallest timestamp.
    First,
    /// The value at the largest timestamp.
    Last,
    /// The population standard deviation.
    StdDev,
    /// The `q`-quantile, `0.0 <= q <= 1.0`, linearly interpolated (NaN skipped).
    Quantile(f64),
}

impl Aggregation {
    /// The median: `Quantile(0.5)`.
    pub const MEDIAN: Aggregation = Aggregation::Quantile(0.5);

    /// A validated [`Aggregation::Quantile`]: [`Error::InvalidArgument`] unless
    /// `0.0 <= q <= 1.0`.
    pub fn quantile(q: f64) -> Result<Aggregation> {
        let a = Aggregation::Quantile(q);
        a.validate()?;
        Ok(a)
    }

    /// [`Error::InvalidArgument`] for a quantile outside `0.0..=1.0` (or NaN); every
    /// other aggregation is valid.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Aggregation::Quantile(q) if !(0.0..=1.0).contains(&q) => {
                Err(Error::invalid(format!("quantile {q} is outside 0.0..=1.0")))
            }
            _ => Ok(()),
        }
    }

    /// True when a bucket's result can be built from chunk summaries (count, sum, min,
    /// max and, for `First`/`Last`, the first and last points) without the raw values:
    /// every aggregation but `StdDev` and the quantiles.
    pub fn can_use_summary(&self) -> bool {
        !matches!(self, Aggregation::StdDev | Aggregation::Quantile(_))
    }

    /// True for `First` and `Last`: a chunk summary answers them only if it carries the
    /// values of its first and last points ([`super::ChunkSummary::first`]).
    pub fn uses_endpoints(&self) -> bool {
        matches!(self, Aggregation::First | Aggregation::Last)
    }
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Aggregation::Count => "count",
            Aggregation::Sum => "sum",
            Aggregation::Min => "min",
            Aggregation::Max => "max",
            Aggregation::Mean => "mean",
            Aggregation::First => "first",
            Aggregation::Last => "last",
            Aggregation::StdDev => "stddev",
            Aggregation::Quantile(q) => {
                return match percent_of(q) {
                    Some(p) => write!(f, "p{p}"),
                    None => write!(f, "quantile({q})"),
                };
            }
        };
        f.write_str(name)
    }
}

impl FromStr for Aggregation {
    type Err = Error;

    /// Parses a name (see [`Aggregation`]); an unknown name or a percentile outside
    /// `p0..=p100` is [`Error::InvalidArgument`].
    fn from_str(s: &str) -> Result<Aggregation> {
        let lower = s.trim().to_ascii_lowercase();
        let a = match lower.as_str() {
            "count" => Aggregation::Count,
            "sum" => Aggregation::Sum,
            "min" => Aggregation::Min,
            "max" => Aggregation::Max,
            "mean" | "avg" => Aggregation::Mean,
            "first" => Aggregation::First,
            "last" => Aggregation::Last,
            "stddev" => Aggregation::StdDev,
            "median" => Aggregation::MEDIAN,
            other => {
                let q = other
                    .strip_prefix('p')
                    .and_then(fraction_of_percent)
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "unknown aggregation {s:?} (expected count, sum, min, max, \
                             mean, first, last, stddev, median or pNN)"
                        ))
                    })?;
                Aggregation::quantile(q)?
            }
        };
        Ok(a)
    }
}

/// `"99.9"` (a percent in plain decimal digits) as the fraction `0.999`, moving the
/// decimal point in the text so that the result is the double nearest to the exact
/// decimal (`99.9 / 100.0` would not be).
fn fraction_of_percent(p: &str) -> Option<f64> {
    let (int, frac) = p.split_once('.').unwrap_or((p, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || (p.contains('.') && frac.is_empty()) {
        return None;
    }
    let padded = format!("{int:0>3}");
    let cut = padded.len() - 2;
    let text = format!("{}.{}{}", padded.get(..cut)?, padded.get(cut..)?, frac);
    text.parse().ok()
}

/// The inverse of [`fraction_of_percent`]: `0.999` as `"99.9"`, when the text parses
/// back to exactly `q`.
fn percent_of(q: f64) -> Option<String> {
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    // `Display` of an f64 is the shortest decimal that parses back, never exponential.
    let text = q.to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let frac = format!("{frac:0<2}");
    let (moved, rest) = frac.split_at(2);
    let int = format!("{int}{moved}");
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let p = if rest.is_empty() {
        int.to_owned()
    } else {
        format!("{int}.{rest}")
    };
    (fraction_of_percent(&p) == Some(q)).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in [
            Aggregation::Count,
            Aggregation::Sum,
            Aggregation::Min,
            Aggregation::Max,
            Aggregation::Mean,
            Aggregation::First,
            Aggregation::Last,
            Aggregation::StdDev,
            Aggregation::MEDIAN,
            Aggregation::Quantile(0.0),
            Aggregation::Quantile(1.0),
            Aggregation::Quantile(0.99),
            Aggregation::Quantile(0.999),
            Aggregation::Quantile(0.05),
            Aggregation::Quantile(0.001),
            Aggregation::Quantile(1.0 / 3.0),
        ] {
            let name = a.to_string();
            assert_eq!(name.parse::<Aggregation>().unwrap(), a, "{name}");
        }
    }

    #[test]
    fn percent_names() {
        let q = |s: &str| match s.parse::<Aggregation>().unwrap() {
            Aggregation::Quantile(q) => q,
            other => panic!("{other:?}"),
        };
        assert_eq!(q("p99"), 0.99);
        assert_eq!(q("P99.9"), 0.999);
        assert_eq!(q("p50"), 0.5);
        assert_eq!(q("median"), 0.5);
        assert_eq!(q("p0"), 0.0);
        assert_eq!(q("p100"), 1.0);
        assert_eq!(q("p5"), 0.05);
        assert_eq!(Aggregation::Quantile(0.999).to_string(), "p99.9");
        assert_eq!(Aggregation::Quantile(0.5).to_string(), "p50");
        assert_eq!("avg".parse::<Aggregation>().unwrap(), Aggregation::Mean);
        assert_eq!(" Max ".parse::<Aggregation>().unwrap(), Aggregation::Max);
    }

    #[test]
    fn bad_names() {
        for s in [
            "", "p", "p-1", "p101", "p1e2", "p.5", "p5.", "maximum", "p 5", "q0.5",
        ] {
            assert!(
                matches!(s.parse::<Aggregation>(), Err(Error::InvalidArgument(_))),
                "{s:?}"
            );
        }
    }

    #[test]
    fn quantile_is_validated() {
        assert!(Aggregation::quantile(0.5).is_ok());
        for q in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Aggregation::quantile(q),
                Err(Error::InvalidArgument(_))
            ));
            assert!(Aggregation::Quantile(q).validate().is_err());
        }
    }

    #[test]
    fn pushdown_capabilities() {
        assert!(Aggregation::Max.can_use_summary());
        assert!(Aggregation::First.can_use_summary() && Aggregation::First.uses_endpoints());
        assert!(!Aggregation::Sum.uses_endpoints());
        assert!(!Aggregation::StdDev.can_use_summary());
        assert!(!Aggregation::MEDIAN.can_use_summary());
    }
}
