//! [`ValueFilter`]: a predicate on point values (`>`, `>=`, `<`, `<=`, between),
//! applied to points before they are aggregated, and what it says about a whole chunk
//! from the chunk's min and max.

use std::ops::Bound;

use crate::error::{Error, Result};

/// A predicate on values: an interval with inclusive, exclusive or no bounds.
///
/// Points whose value fails it are dropped before aggregation (a bucket whose every
/// point fails is empty, so left out). A NaN value never passes; infinities compare
/// as usual. Filters combine with [`ValueFilter::and`] (the intersection), which is
/// what repeated [`Query::where_value`](super::Query::where_value) calls do.
///
/// The constructors take any `f64` so that queries chain; a NaN bound, or
/// [`between`](ValueFilter::between) with `lo > hi`, is reported as
/// [`Error::InvalidArgument`] by [`ValueFilter::validate`] (and so by
/// [`Query::validate`](super::Query::validate)).
///
/// The same type is meant for row filters on scans: [`ValueFilter::matches`] tests one
/// value and [`ValueFilter::select`] copies the passing points of two columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueFilter {
    lo: Bound<f64>,
    hi: Bound<f64>,
    error: Option<&'static str>,
}

impl ValueFilter {
    /// Every value (but NaN) passes.
    pub const ANY: ValueFilter = ValueFilter {
        lo: Bound::Unbounded,
        hi: Bound::Unbounded,
        error: None,
    };

    /// `value > x`.
    pub fn gt(x: f64) -> ValueFilter {
        ValueFilter::ANY.lower(Bound::Excluded(x))
    }

    /// `value >= x`.
    pub fn ge(x: f64) -> ValueFilter {
        ValueFilter::ANY.lower(Bound::Included(x))
    }

    /// `value < x`.
    pub fn lt(x: f64) -> ValueFilter {
        ValueFilter::ANY.upper(Bound::Excluded(x))
    }

    /// `value <= x`.
    pub fn le(x: f64) -> ValueFilter {
        ValueFilter::ANY.upper(Bound::Included(x))
    }

    /// `lo <= value <= hi`; `lo > hi` is invalid (see [`ValueFilter::validate`]).
    pub fn between(lo: f64, hi: f64) -> ValueFilter {
        let f = ValueFilter::ge(lo).and(ValueFilter::le(hi));
        if lo > hi {
            return ValueFilter {
                error: Some("between: the lower bound is above the upper bound"),
                ..f
            };
        }
        f
    }

    /// Values passing both `self` and `other`. An intersection may be empty (`gt(5)`
    /// and `lt(3)`): then no value passes, which is not an error.
    pub fn and(self, other: ValueFilter) -> ValueFilter {
        let lo = match (self.lo, other.lo) {
            (Bound::Unbounded, b) | (b, Bound::Unbounded) => b,
            (a, b) => {
                if bound_value(a) > bound_value(b)
                    || (bound_value(a) == bound_value(b) && matches!(a, Bound::Excluded(_)))
                {
                    a
                } else {
                    b
                }
            }
        };
        let hi = match (self.hi, other.hi) {
            (Bound::Unbounded, b) | (b, Bound::Unbounded) => b,
            (a, b) => {
                if bound_value(a) < bound_value(b)
                    || (bound_value(a) == bound_value(b) && matches!(a, Bound::Excluded(_)))
                {
                    a
                } else {
                    b
                }
            }
        };
        ValueFilter {
            lo,
            hi,
            error: self.error.or(other.error).or(nan_bound(lo, hi)),
        }
    }

    /// [`Error::InvalidArgument`] if a bound is NaN or a `between` was reversed.
    pub fn validate(&self) -> Result<()> {
        match self.error {
            Some(what) => Err(Error::invalid(format!("value filter: {what}"))),
            None => Ok(()),
        }
    }

    /// The lower bound.
    pub fn lower_bound(&self) -> Bound<f64> {
        self.lo
    }

    /// The upper bound.
    pub fn upper_bound(&self) -> Bound<f64> {
        self.hi
    }

    /// True when `v` passes (never for NaN).
    #[inline]
    pub fn matches(&self, v: f64) -> bool {
        let above = match self.lo {
            Bound::Unbounded => !v.is_nan(),
            Bound::Included(x) => v >= x,
            Bound::Excluded(x) => v > x,
        };
        let below = match self.hi {
            Bound::Unbounded => true,
            Bound::Included(x) => v <= x,
            Bound::Excluded(x) => v < x,
        };
        above && below
    }

    /// Appends the points of `(ts, values)` whose value passes to `out_ts` and
    /// `out_values` (pairs beyond the shorter column are ignored).
    pub fn select(
        &self,
        ts: &[i64],
        values: &[f64],
        out_ts: &mut Vec<i64>,
        out_values: &mut Vec<f64>,
    ) {
        for (&t, &v) in ts.iter().zip(values) {
            if self.matches(v) {
                out_ts.push(t);
                out_values.push(v);
            }
        }
    }

    /// What the filter says about a chunk whose non-NaN values lie in `[min, max]`
    /// (both NaN when every value is NaN) and whose sum is `sum`:
    /// `Some(false)` — no point can pass; `Some(true)` — every point passes (the range
    /// is inside the filter and the sum is not NaN, so no value is NaN);
    /// `None` — some may pass, decode the chunk.
    pub fn covers(&self, min: f64, max: f64, sum: f64) -> Option<bool> {
        if min.is_nan() || max.is_nan() {
            return Some(false);
        }
        // The interval is convex: every value of [min, max] passes iff both ends do.
        // A NaN sum means a NaN value may hide behind min and max (which skip NaN).
        if self.matches(min) && self.matches(max) {
            return if sum.is_nan() { None } else { Some(true) };
        }
        let below_lo = match self.lo {
            Bound::Unbounded => false,
            Bound::Included(x) => max < x,
            Bound::Excluded(x) => max <= x,
        };
        let above_hi = match self.hi {
            Bound::Unbounded => false,
            Bound::Included(x) => min > x,
            Bound::Excluded(x) => min >= x,
        };
        if below_lo || above_hi || self.is_empty() {
            Some(false)
        } else {
            None
        }
    }

    /// True when no value at all can pass (an empty intersection).
    fn is_empty(&self) -> bool {
        match (self.lo, self.hi) {
            (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
            (Bound::Included(a), Bound::Included(b)) => a > b,
            (a, b) => bound_value(a) >= bound_value(b),
        }
    }

    fn lower(self, b: Bound<f64>) -> ValueFilter {
        ValueFilter {
            lo: b,
            error: self.error.or(nan_bound(b, self.hi)),
            ..self
        }
    }

    fn upper(self, b: Bound<f64>) -> ValueFilter {
        ValueFilter {
            hi: b,
            error: self.error.or(nan_bound(self.lo, b)),
            ..self
        }
    }
}

fn bound_value(b: Bound<f64>) -> f64 {
    match b {
        Bound::Included(x) | Bound::Excluded(x) => x,
        Bound::Unbounded => f64::NAN,
    }
}

fn nan_bound(lo: Bound<f64>, hi: Bound<f64>) -> Option<&'static str> {
    let nan = |b: Bound<f64>| !matches!(b, Bound::Unbounded) && bound_value(b).is_nan();
    (nan(lo) || nan(hi)).then_some("a bound is NaN")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons() {
        assert!(ValueFilter::gt(90.0).matches(90.5));
        assert!(!ValueFilter::gt(90.0).matches(90.0));
        assert!(ValueFilter::ge(90.0).matches(90.0));
        assert!(ValueFilter::lt(1.0).matches(f64::NEG_INFINITY));
        assert!(!ValueFilter::le(1.0).matches(1.5));
        assert!(ValueFilter::between(1.0, 2.0).matches(1.0));
        assert!(ValueFilter::between(1.0, 2.0).matches(2.0));
        assert!(!ValueFilter::between(1.0, 2.0).matches(2.5));
        assert!(ValueFilter::ANY.matches(f64::INFINITY));
        for f in [ValueFilter::ANY, ValueFilter::gt(0.0), ValueFilter::le(0.0)] {
            assert!(!f.matches(f64::NAN));
        }
    }

    #[test]
    fn intersection() {
        let f = ValueFilter::gt(1.0)
            .and(ValueFilter::ge(1.0))
            .and(ValueFilter::lt(3.0));
        assert_eq!(f.lower_bound(), Bound::Excluded(1.0));
        assert_eq!(f.upper_bound(), Bound::Excluded(3.0));
        assert!(!f.matches(1.0) && f.matches(2.0) && !f.matches(3.0));
        let empty = ValueFilter::gt(5.0).and(ValueFilter::lt(3.0));
        assert!(empty.validate().is_ok());
        assert!(!empty.matches(4.0));
        assert_eq!(empty.covers(4.0, 4.0, 4.0), Some(false));
    }

    #[test]
    fn bad_bounds() {
        assert!(ValueFilter::gt(f64::NAN).validate().is_err());
        assert!(ValueFilter::between(0.0, f64::NAN).validate().is_err());
        assert!(ValueFilter::between(2.0, 1.0).validate().is_err());
        assert!(
            ValueFilter::ANY
                .and(ValueFilter::le(f64::NAN))
                .validate()
                .is_err()
        );
        assert!(ValueFilter::between(1.0, 1.0).validate().is_ok());
        assert!(ValueFilter::gt(f64::INFINITY).validate().is_ok());
    }

    #[test]
    fn chunk_verdicts() {
        let f = ValueFilter::gt(90.0);
        assert_eq!(f.covers(10.0, 80.0, 100.0), Some(false));
        assert_eq!(f.covers(10.0, 90.0, 100.0), Some(false));
        assert_eq!(f.covers(91.0, 99.0, 200.0), Some(true));
        assert_eq!(f.covers(91.0, 99.0, f64::NAN), None);
        assert_eq!(f.covers(80.0, 99.0, 200.0), None);
        assert_eq!(f.covers(f64::NAN, f64::NAN, f64::NAN), Some(false));
        let b = ValueFilter::between(1.0, 2.0);
        assert_eq!(b.covers(2.5, 3.0, 5.0), Some(false));
        assert_eq!(b.covers(1.0, 2.0, 3.0), Some(true));
    }

    #[test]
    fn select_copies_passing_points() {
        let (mut t, mut v) = (Vec::new(), Vec::new());
        ValueFilter::ge(2.0).select(&[1, 2, 3, 4], &[1.0, 2.0, f64::NAN, 5.0], &mut t, &mut v);
        assert_eq!(t, [2, 4]);
        assert_eq!(v, [2.0, 5.0]);
    }
}
