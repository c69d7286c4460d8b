//! The per-bucket states of the aggregations that fit in a few words (all but the
//! quantiles, see `quantile.rs`): how each folds a run of raw points, absorbs a chunk
//! summary, merges with the state of a later run or a later series, and finishes.
//!
//! The merge order contract: `a.merge(&b)` is called with `b` *later* than `a`,
//! either later in time within one series, or a series whose key sorts after `a`'s
//! within a group. That is what makes `First` keep the first series and `Last` take
//! the last one at equal timestamps, and fixes the order of floating-point sums.

use super::summary::ChunkSummary;
use super::value_filter::ValueFilter;
use crate::codec::float::{decimal_value, max_mantissa, min_mantissa};

/// One bucket's state for one aggregation.
pub(crate) trait Kernel: Copy + Send + Sync + 'static {
    /// The state of a run of points (`ts` ascending, as long as `values`, non-empty).
    fn run(ts: &[i64], values: &[f64]) -> Self;

    /// The state of the points of a run that pass `filter`; `None` if none passes.
    fn run_filtered(ts: &[i64], values: &[f64], filter: &ValueFilter) -> Option<Self> {
        let mut state: Option<Self> = None;
        for (&t, &v) in ts.iter().zip(values) {
            if filter.matches(v) {
                let one = Self::run(&[t], &[v]);
                match &mut state {
                    Some(s) => s.merge(&one),
                    None => state = Some(one),
                }
            }
        }
        state
    }

    /// The state of a chunk given by its summary; `None` if the summary lacks what the
    /// aggregation needs.
    fn summary(s: &ChunkSummary) -> Option<Self>;

    /// Folds in the state of a later run or a later series (see the module docs).
    fn merge(&mut self, later: &Self);

    /// The bucket's result.
    fn finish(&self) -> f64;
}

/// A kernel that can fold a run of decimal values from their mantissas
/// ([`crate::codec::float::decode_window_mantissas`]), converting only its result:
/// the aggregations whose answer is one of the values (or none of them), since the
/// correctly rounded quotient preserves order. A decimal run holds no NaN and no
/// `-0.0` (those are exceptions), so the order of the mantissas is that of
/// [`f64::total_cmp`] on the values.
pub(crate) trait DecimalKernel: Kernel {
    /// [`Kernel::run`] of the values `decimal_value(m, divisor)` of `mantissas`.
    fn run_mantissas(ts: &[i64], mantissas: &[i64], divisor: f64) -> Self;
}

/// The value of an optional mantissa: NaN for none (an empty run).
fn value_of(mantissa: Option<i64>, divisor: f64) -> f64 {
    mantissa.map_or(f64::NAN, |m| decimal_value(m, divisor))
}

impl DecimalKernel for Count {
    fn run_mantissas(ts: &[i64], _mantissas: &[i64], _divisor: f64) -> Self {
        Count(ts.len() as u64)
    }
}

impl DecimalKernel for Min {
    fn run_mantissas(_ts: &[i64], mantissas: &[i64], divisor: f64) -> Self {
        Min(value_of(min_mantissa(mantissas), divisor))
    }
}

impl DecimalKernel for Max {
    fn run_mantissas(_ts: &[i64], mantissas: &[i64], divisor: f64) -> Self {
        Max(value_of(max_mantissa(mantissas), divisor))
    }
}

impl DecimalKernel for First {
    fn run_mantissas(ts: &[i64], mantissas: &[i64], divisor: f64) -> Self {
        First {
            t: ts.first().copied().unwrap_or(i64::MAX),
            v: value_of(mantissas.first().copied(), divisor),
        }
    }
}

impl DecimalKernel for Last {
    fn run_mantissas(ts: &[i64], mantissas: &[i64], divisor: f64) -> Self {
        Last {
            t: ts.last().copied().unwrap_or(i64::MIN),
            v: value_of(mantissas.last().copied(), divisor),
        }
    }
}

/// `v < m` in the order of [`f64::total_cmp`], for non-NaN `v` and `m`: the usual
/// order, with `-0.0` below `+0.0`.
#[inline]
fn below(v: f64, m: f64) -> bool {
    v < m || (v == m && v.is_sign_negative() && m.is_sign_positive())
}

/// Lanes of the min/max folds: independent running extremes, so the loop is bound by
/// throughput (vector compares), not by the latency of one chain of selections.
const LANES: usize = 8;

/// Folds `values` with `pick` from `none`, in [`LANES`] lanes. `pick(m, v)` keeps `m`
/// unless `v` compares strictly better: a NaN never does, so the lanes never hold one,
/// and a plain float comparison is all a step costs (no branch: a random walk's new
/// highs are unpredictable).
#[inline]
fn fold_lanes(values: &[f64], none: f64, pick: impl Fn(f64, f64) -> f64) -> f64 {
    if values.len() < 2 * LANES {
        // a minute of 10 s points: lanes would cost more than they save
        return values.iter().fold(none, |m, &v| pick(m, v));
    }
    let mut acc = [none; LANES];
    let mut blocks = values.chunks_exact(LANES);
    for block in &mut blocks {
        for (a, &v) in acc.iter_mut().zip(block) {
            *a = pick(*a, v);
        }
    }
    let m = acc.into_iter().fold(none, &pick);
    blocks.remainder().iter().fold(m, |m, &v| pick(m, v))
}

/// Turns the result `m` of a [`fold_lanes`] from `none` into the answer of
/// [`f64::total_cmp`], which the float comparison cannot tell in two cases, both rare
/// and settled by one more pass: a zero (`total_cmp` puts `-0.0` below `+0.0`: the
/// answer is `zero` if any value is that zero) and `none` itself (a real value only if
/// some value is it, else there was no value but NaN: NaN).
#[inline]
fn settle(values: &[f64], m: f64, none: f64, zero: f64) -> f64 {
    if m == 0.0 {
        let other = -zero;
        return if values.iter().any(|v| v.to_bits() == zero.to_bits()) {
            zero
        } else {
            other
        };
    }
    if m == none && !values.contains(&none) {
        return f64::NAN;
    }
    m
}

/// The smallest non-NaN value (by `total_cmp`), NaN if there is none.
#[inline]
pub(crate) fn min_of(values: &[f64]) -> f64 {
    let m = fold_lanes(values, f64::INFINITY, |m, v| if v < m { v } else { m });
    settle(values, m, f64::INFINITY, -0.0)
}

/// The largest non-NaN value (by `total_cmp`), NaN if there is none.
#[inline]
pub(crate) fn max_of(values: &[f64]) -> f64 {
    let m = fold_lanes(values, f64::NEG_INFINITY, |m, v| if v > m { v } else { m });
    settle(values, m, f64::NEG_INFINITY, 0.0)
}

/// The sum from `+0.0`, in order.
#[inline]
pub(crate) fn sum_of(values: &[f64]) -> f64 {
    values.iter().fold(0.0, |s, &v| s + v)
}

/// The `min` of two NaN-skipping minimums.
#[inline]
fn min2(a: f64, b: f64) -> f64 {
    if a.is_nan() || (!b.is_nan() && below(b, a)) {
        b
    } else {
        a
    }
}

#[inline]
fn max2(a: f64, b: f64) -> f64 {
    if a.is_nan() || (!b.is_nan() && below(a, b)) {
        b
    } else {
        a
    }
}

/// `Count`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Count(u64);

impl Kernel for Count {
    fn run(ts: &[i64], _values: &[f64]) -> Self {
        Count(ts.len() as u64)
    }
    fn run_filtered(_ts: &[i64], values: &[f64], filter: &ValueFilter) -> Option<Self> {
        let n = values.iter().filter(|&&v| filter.matches(v)).count();
        (n > 0).then_some(Count(n as u64))
    }
    fn summary(s: &ChunkSummary) -> Option<Self> {
        Some(Count(s.count))
    }
    fn merge(&mut self, later: &Self) {
        self.0 += later.0;
    }
    fn finish(&self) -> f64 {
        self.0 as f64
    }
}

/// `Sum`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sum(f64);

impl Kernel for Sum {
    fn run(_ts: &[i64], values: &[f64]) -> Self {
        Sum(sum_of(values))
    }
    fn run_filtered(_ts: &[i64], values: &[f64], filter: &ValueFilter) -> Option<Self> {
        let mut any = false;
        let mut s = 0.0;
        for &v in values {
            if filter.matches(v) {
                any = true;
                s += v;
            }
        }
        any.then_some(Sum(s))
    }
    fn summary(s: &ChunkSummary) -> Option<Self> {
        Some(Sum(s.sum))
    }
    fn merge(&mut self, later: &Self) {
        self.0 += later.0;
    }
    fn finish(&self) -> f64 {
        self.0
    }
}

/// `Min`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Min(f64);

impl Kernel for Min {
    fn run(_ts: &[i64], values: &[f64]) -> Self {
        Min(min_of(values))
    }
    fn summary(s: &ChunkSummary) -> Option<Self> {
        Some(Min(s.min))
    }
    fn merge(&mut self, later: &Self) {
        self.0 = min2(self.0, later.0);
    }
    fn finish(&self) -> f64 {
        self.0
    }
}

/// `Max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Max(f64);

impl Kernel for Max {
    fn run(_ts: &[i64], values: &[f64]) -> Self {
        Max(max_of(values))
    }
    fn summary(s: &ChunkSummary) -> Option<Self> {
        Some(Max(s.max))
    }
    fn merge(&mut self, later: &Self) {
        self.0 = max2(self.0, later.0);
    }
    fn finish(&self) -> f64 {
        self.0
    }
}

/// `Mean`: sum and count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Mean {
    sum: f64,
    count: u64,
}

impl Kernel for Mean {
    fn run(_ts: &[i64], values: &[f64]) -> Self {
        Mean {
            sum: sum_of(values),
            count: values.len() as u64,
        }
    }
    fn run_filtered(_ts: &[i64], values: &[f64], filter: &ValueFilter) -> Option<Self> {
        let mut m = Mean { sum: 0.0, count: 0 };
        for &v in values {
            if filter.matches(v) {
                m.sum += v;
                m.count += 1;
            }
        }
        (m.count > 0).then_some(m)
    }
    fn summary(s: &ChunkSummary) -> Option<Self> {
        Some(Mean {
            sum: s.sum,
            count: s.count,
        })
    }
    fn merge(&mut self, later: &Self) {
        self.sum += later.sum;
        self.count += later.count;
    }
    fn finish(&self) -> f64 {
        self.sum / self.count as f64
    }
}

/// `First`: the point with the smallest timestamp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct First {
    t: i64,
    v: f64,
}

impl Kernel for First {
    fn run(ts: &[i64], values: &[f64]) -> Self {
        First {
            t: ts.first().copied().unwrap_or(i64::MAX),
            v: values.first().copied().unwrap_or(f64::NAN),
        }
    }
    fn run_filtered(ts: &[i64], values: &[f64], filter: &ValueFilter) -> Option<Self> {
        let i = values.iter().position(|&v| filter.matches(v))?;
        Some(First {
            t: *ts.get(i)?,
            v: *values.get(i)?,
        })
    }
    fn summary(s: &ChunkSummary) -> Option<Self> {
        Some(First {
            t: s.first.0,
            v: s.first.1?,
        })
    }
    fn merge(&mut self, later: &Self) {
        // Equal timestamps keep the earlier series.
        if later.t < self.t {
            *self = *later;
        }
    }
    fn finish(&self) -> f64 {
        self.v
    }
}

/// `Last`: the point with the largest timestamp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Last {
    t: i64,
    v: f64,
}

impl Kernel for Last {
    fn run(ts: &[i64], values: &[f64]) -> Self {
        Last {
            t: ts.last().copied().unwrap_or(i64::MIN),
            v: values.last().copied().unwrap_or(f64::NAN),
        }
    }
    fn run_filtered(ts: &[i64], values: &[f64], filter: &ValueFilter) -> Option<Self> {
        let i = values.iter().rposition(|&v| filter.matches(v))?;
        Some(Last {
            t: *ts.get(i)?,
            v: *values.get(i)?,
        })
    }
    fn summary(s: &ChunkSummary) -> Option<Self> {
        Some(Last {
            t: s.last.0,
            v: s.last.1?,
        })
    }
    fn merge(&mut self, later: &Self) {
        // Equal timestamps take the later series.
        if later.t >= self.t {
            *self = *later;
        }
    }
    fn finish(&self) -> f64 {
        self.v
    }
}

/// `StdDev`: Welford's running mean and sum of squared deviations, merged with the
/// pairwise formula of Chan, Golub and LeVeque.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StdDev {
    n: u64,
    mean: f64,
    m2: f64,
}

impl StdDev {
    fn one(v: f64) -> StdDev {
        StdDev {
            n: 1,
            mean: v,
            // NaN for an infinite value: its deviation from the mean is inf - inf.
            m2: if v.is_finite() { 0.0 } else { f64::NAN },
        }
    }

    fn push(&mut self, v: f64) {
        self.n += 1;
        let d = v - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (v - self.mean);
        if !v.is_finite() {
            self.m2 = f64::NAN;
        }
    }
}

impl Kernel for StdDev {
    fn run(_ts: &[i64], values: &[f64]) -> Self {
        let mut s = StdDev::one(values.first().copied().unwrap_or(f64::NAN));
        for &v in values.get(1..).unwrap_or_default() {
            s.push(v);
        }
        s
    }
    fn run_filtered(_ts: &[i64], values: &[f64], filter: &ValueFilter) -> Option<Self> {
        let mut s: Option<StdDev> = None;
        for &v in values {
            if filter.matches(v) {
                match &mut s {
                    Some(s) => s.push(v),
                    None => s = Some(StdDev::one(v)),
                }
            }
        }
        s
    }
    fn summary(_s: &ChunkSummary) -> Option<Self> {
        None
    }
    fn merge(&mut self, later: &Self) {
        let n = self.n + later.n;
        let (na, nb, nn) = (self.n as f64, later.n as f64, n as f64);
        let d = later.mean - self.mean;
        self.mean += d * (nb / nn);
        self.m2 += later.m2 + d * d * (na * nb / nn);
        self.n = n;
    }
    fn finish(&self) -> f64 {
        // Rounding can leave m2 a hair below zero; NaN must stay NaN.
        let variance = self.m2 / self.n as f64;
        if variance < 0.0 { 0.0 } else { variance.sqrt() }
    }
}

impl ChunkSummary {
    /// The summary of the points `(ts, values)` (timestamps ascending; pairs past the
    /// shorter column ignored), with known first and last values; `None` if empty.
    pub fn of_columns(ts: &[i64], values: &[f64]) -> Option<ChunkSummary> {
        let n = ts.len().min(values.len());
        let (ts, values) = (ts.get(..n)?, values.get(..n)?);
        Some(ChunkSummary {
            count: n as u64,
            first: (*ts.first()?, values.first().copied()),
            last: (*ts.last()?, values.last().copied()),
            min: min_of(values),
            max: max_of(values),
            sum: sum_of(values),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_max_order_zeros_and_skip_nan() {
        assert_eq!(min_of(&[0.0, -0.0]).to_bits(), (-0.0f64).to_bits());
        assert_eq!(max_of(&[-0.0, 0.0]).to_bits(), 0.0f64.to_bits());
        assert_eq!(max_of(&[0.0, -0.0]).to_bits(), 0.0f64.to_bits());
        assert_eq!(min_of(&[f64::NAN, 3.0, f64::NAN, 1.0]), 1.0);
        assert!(min_of(&[f64::NAN]).is_nan() && max_of(&[]).is_nan());
        assert_eq!(max_of(&[f64::NEG_INFINITY, f64::NAN]), f64::NEG_INFINITY);
        let mut m = Min(f64::NAN);
        m.merge(&Min(2.0));
        m.merge(&Min(f64::NAN));
        assert_eq!(m.finish(), 2.0);
    }

    proptest::proptest! {
        /// The branch-free folds equal the plain definition on any bits: NaN payloads
        /// of both signs, zeros, infinities, subnormals, every length around the lanes.
        #[test]
        fn min_max_equal_a_total_cmp_reference(
            bits in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::num::u64::ANY,
                    proptest::sample::select(vec![
                        0u64, 1 << 63, 0x7ff0_0000_0000_0000, 0xfff0_0000_0000_0000,
                        0x7ff8_0000_0000_0000, 0xffff_ffff_ffff_ffff,
                        0x7fff_ffff_ffff_ffff, 1, 0x8000_0000_0000_0001,
                    ]),
                ],
                0..40,
            )
        ) {
            let values: Vec<f64> = bits.iter().map(|&b| f64::from_bits(b)).collect();
            let real = values.iter().copied().filter(|v| !v.is_nan());
            let want_min = real.clone().min_by(f64::total_cmp);
            let want_max = real.max_by(f64::total_cmp);
            let same = |got: f64, want: Option<f64>| match want {
                Some(w) => got.to_bits() == w.to_bits(),
                None => got.is_nan(),
            };
            proptest::prop_assert!(same(min_of(&values), want_min));
            proptest::prop_assert!(same(max_of(&values), want_max));
        }
    }

    #[test]
    fn sum_never_negative_zero() {
        assert_eq!(sum_of(&[-0.0, -0.0]).to_bits(), 0.0f64.to_bits());
        assert!(sum_of(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
    }

    #[test]
    fn first_last_ties() {
        let mut f = First::run(&[5], &[1.0]);
        f.merge(&First::run(&[5], &[2.0]));
        assert_eq!(f.finish(), 1.0);
        f.merge(&First::run(&[4], &[3.0]));
        assert_eq!(f.finish(), 3.0);
        let mut l = Last::run(&[5], &[1.0]);
        l.merge(&Last::run(&[5], &[2.0]));
        assert_eq!(l.finish(), 2.0);
        l.merge(&Last::run(&[4], &[3.0]));
        assert_eq!(l.finish(), 2.0);
    }

    #[test]
    fn stddev_population() {
        let s = StdDev::run(&[0; 4], &[2.0, 4.0, 4.0, 6.0]);
        assert_eq!(s.finish(), 2.0f64.sqrt());
        let mut a = StdDev::run(&[0; 2], &[2.0, 4.0]);
        a.merge(&StdDev::run(&[0; 2], &[4.0, 6.0]));
        assert!((a.finish() - 2.0f64.sqrt()).abs() < 1e-15);
        assert_eq!(StdDev::run(&[0], &[7.0]).finish(), 0.0);
        assert!(StdDev::run(&[0], &[f64::INFINITY]).finish().is_nan());
        assert!(StdDev::run(&[0; 2], &[1.0, f64::NAN]).finish().is_nan());
    }
}
