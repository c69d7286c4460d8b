//! [`BucketAcc`]: the non-empty buckets of one series (or, after merges, of one
//! group) for one query, in columns: bucket starts ascending, one state per bucket.

use super::aggregation::Aggregation;
use super::buckets::Buckets;
use super::group::Group;
use super::kernels::{self, DecimalKernel, Kernel};
use super::quantile::ValueRuns;
use super::summary::{ChunkAction, ChunkSummary, chunk_action};
use super::value_filter::ValueFilter;
use crate::error::{Error, Result};

/// The buckets of one series, or of a group once the series' accumulators are merged,
/// for one query. Made by [`Aggregator::accumulator`](super::Aggregator::accumulator).
///
/// Feeding one series: [`push_columns`](BucketAcc::push_columns) (raw points) and
/// [`push_summary`](BucketAcc::push_summary) (whole chunks), in time order, each piece
/// starting after the previous one ended. Building a group: [`merge`](BucketAcc::merge)
/// the series' accumulators in ascending order of series key. Then
/// [`finish`](BucketAcc::finish). Nothing is allocated per point: a bucket costs one
/// start and one state, and a push of `n` points in `b` buckets does `b` appends.
#[derive(Debug, Clone)]
pub struct BucketAcc {
    aggregation: Option<Aggregation>,
    buckets: Buckets,
    filter: Option<ValueFilter>,
    /// The last timestamp pushed (`None` before the first push).
    last_ts: Option<i64>,
    store: Store,
}

#[derive(Debug, Clone)]
enum Store {
    Count(Runs<kernels::Count>),
    Sum(Runs<kernels::Sum>),
    Min(Runs<kernels::Min>),
    Max(Runs<kernels::Max>),
    Mean(Runs<kernels::Mean>),
    First(Runs<kernels::First>),
    Last(Runs<kernels::Last>),
    StdDev(Runs<kernels::StdDev>),
    Quantile(f64, ValueRuns),
    Raw(RawPoints),
}

/// Dispatches `$body` on the kernel store of `$store`, binding it to `$runs`.
macro_rules! with_runs {
    ($store:expr, $runs:ident => $body:expr, $other:pat => $fallback:expr) => {
        match $store {
            Store::Count($runs) => $body,
            Store::Sum($runs) => $body,
            Store::Min($runs) => $body,
            Store::Max($runs) => $body,
            Store::Mean($runs) => $body,
            Store::First($runs) => $body,
            Store::Last($runs) => $body,
            Store::StdDev($runs) => $body,
            $other => $fallback,
        }
    };
}

impl BucketAcc {
    pub(crate) fn new(
        aggregation: Option<Aggregation>,
        buckets: Buckets,
        filter: Option<ValueFilter>,
    ) -> BucketAcc {
        let store = match aggregation {
            None => Store::Raw(RawPoints::default()),
            Some(Aggregation::Count) => Store::Count(Runs::default()),
            Some(Aggregation::Sum) => Store::Sum(Runs::default()),
            Some(Aggregation::Min) => Store::Min(Runs::default()),
            Some(Aggregation::Max) => Store::Max(Runs::default()),
            Some(Aggregation::Mean) => Store::Mean(Runs::default()),
            Some(Aggregation::First) => Store::First(Runs::default()),
            Some(Aggregation::Last) => Store::Last(Runs::default()),
            Some(Aggregation::StdDev) => Store::StdDev(Runs::default()),
            Some(Aggregation::Quantile(q)) => Store::Quantile(q, ValueRuns::default()),
        };
        BucketAcc {
            aggregation,
            buckets,
            filter,
            last_ts: None,
            store,
        }
    }

    /// True when no bucket holds a point yet.
    pub fn is_empty(&self) -> bool {
        match &self.store {
            Store::Quantile(_, r) => r.is_empty(),
            Store::Raw(p) => p.ts.is_empty(),
            store => with_runs!(store, r => r.starts.is_empty(), _ => true),
        }
    }

    /// Forgets every bucket, keeping the allocations, to start another series.
    pub fn clear(&mut self) {
        self.last_ts = None;
        match &mut self.store {
            Store::Quantile(_, r) => r.clear(),
            Store::Raw(p) => p.clear(),
            store => with_runs!(store, r => r.clear(), _ => {}),
        }
    }

    /// Adds points of the series: `ts` strictly ascending and after every point pushed
    /// before, `values` as long. Points outside the query's range and points failing
    /// its value filter are ignored.
    ///
    /// [`Error::InvalidArgument`] (and nothing added) if the columns differ in length
    /// or the first timestamp is not after the last one pushed. Timestamps out of order
    /// *inside* `ts` are not detected and give unspecified (but memory-safe) buckets.
    pub fn push_columns(&mut self, ts: &[i64], values: &[f64]) -> Result<()> {
        let r = self.accept(ts, values.len())?;
        let (Some(ts), Some(values)) = (ts.get(r.clone()), values.get(r)) else {
            return Ok(());
        };
        if ts.is_empty() {
            return Ok(());
        }
        let (b, f) = (&self.buckets, self.filter.as_ref());
        match &mut self.store {
            Store::Quantile(_, runs) => for_each_run(b, ts, |from, to, start| {
                let v = values.get(from..to).unwrap_or_default();
                match f {
                    Some(f) => runs.push(start, v, |x| f.matches(x)),
                    None => runs.push(start, v, |_| true),
                }
            }),
            Store::Raw(points) => match f {
                Some(f) => f.select(ts, values, &mut points.ts, &mut points.values),
                None => {
                    points.ts.extend_from_slice(ts);
                    points.values.extend_from_slice(values);
                }
            },
            store => with_runs!(store, runs => runs.push_columns(b, f, ts, values), _ => {}),
        }
        Ok(())
    }

    /// Checks a push of `ts` and `values` values (as long, after every point pushed
    /// before) and records it; returns the indexes of the points in the range.
    #[inline]
    fn accept(&mut self, ts: &[i64], values: usize) -> Result<std::ops::Range<usize>> {
        if ts.len() != values {
            return Err(Error::invalid(format!(
                "{} timestamps but {values} values",
                ts.len(),
            )));
        }
        let (Some(&first), Some(&last)) = (ts.first(), ts.last()) else {
            return Ok(0..0);
        };
        self.check_order(first)?;
        self.last_ts = Some(last);
        Ok(self.buckets.clip(ts))
    }

    /// True when [`push_mantissas`](BucketAcc::push_mantissas) can take this
    /// accumulator's points: `Count`, `Min`, `Max`, `First` and `Last`, without a
    /// value filter (their answer is one of the values, which the mantissas order).
    pub fn takes_mantissas(&self) -> bool {
        self.filter.is_none()
            && matches!(
                self.store,
                Store::Count(_) | Store::Min(_) | Store::Max(_) | Store::First(_) | Store::Last(_)
            )
    }

    /// [`push_columns`](BucketAcc::push_columns) of decimal values given by their
    /// mantissas: value `i` is
    /// [`decimal_value`](crate::codec::float::decimal_value)`(mantissas[i], divisor)`.
    /// Only the runs' results are converted.
    ///
    /// [`Error::InvalidArgument`] (and nothing added) as for `push_columns`, or when
    /// the accumulator does not [take mantissas](BucketAcc::takes_mantissas).
    pub fn push_mantissas(&mut self, ts: &[i64], mantissas: &[i64], divisor: f64) -> Result<()> {
        if !self.takes_mantissas() {
            return Err(Error::invalid(
                "mantissas pushed to an accumulator that folds values",
            ));
        }
        let r = self.accept(ts, mantissas.len())?;
        let (Some(ts), Some(m)) = (ts.get(r.clone()), mantissas.get(r)) else {
            return Ok(());
        };
        if ts.is_empty() {
            return Ok(());
        }
        let b = &self.buckets;
        match &mut self.store {
            Store::Count(runs) => runs.push_mantissas(b, ts, m, divisor),
            Store::Min(runs) => runs.push_mantissas(b, ts, m, divisor),
            Store::Max(runs) => runs.push_mantissas(b, ts, m, divisor),
            Store::First(runs) => runs.push_mantissas(b, ts, m, divisor),
            Store::Last(runs) => runs.push_mantissas(b, ts, m, divisor),
            _ => {}
        }
        Ok(())
    }

    /// Offers a whole chunk of the series (after every point pushed before) by its
    /// summary. Returns what was done ([`ChunkAction`]): `Skip` (nothing in it counts),
    /// `Summary(bucket)` (absorbed), or `Decode` — nothing absorbed, the caller must
    /// decode the chunk and [`push_columns`](BucketAcc::push_columns) its points.
    ///
    /// [`Error::InvalidArgument`] if the chunk starts at or before the last timestamp
    /// pushed.
    pub fn push_summary(&mut self, s: &ChunkSummary) -> Result<ChunkAction> {
        let action = chunk_action(s, self.aggregation, &self.buckets, self.filter.as_ref());
        if action == ChunkAction::Skip {
            return Ok(action);
        }
        self.check_order(s.first.0)?;
        let ChunkAction::Summary(bucket) = action else {
            return Ok(action);
        };
        let absorbed =
            with_runs!(&mut self.store, runs => runs.push_summary(bucket, s), _ => false);
        if !absorbed {
            return Ok(ChunkAction::Decode);
        }
        self.last_ts = Some(s.last.0);
        Ok(action)
    }

    fn check_order(&self, first: i64) -> Result<()> {
        match self.last_ts {
            Some(last) if first <= last => Err(Error::invalid(format!(
                "points pushed out of time order: {first} after {last}"
            ))),
            _ => Ok(()),
        }
    }

    /// Folds in the accumulator of a *later* series of the same group (one whose key
    /// sorts after every series merged into `self` so far): bucket by bucket, with
    /// `First` keeping `self`'s point and `Last` taking `later`'s at equal timestamps,
    /// and `Sum` adding `later`'s sum to `self`'s. For raw queries, the points are
    /// merged by timestamp, `self`'s first at equal timestamps.
    ///
    /// [`Error::InvalidArgument`] if the two were made for different queries.
    pub fn merge(&mut self, later: &BucketAcc) -> Result<()> {
        if self.buckets != later.buckets || !same_filter(self.filter, later.filter) {
            return Err(Error::invalid("merging accumulators of different queries"));
        }
        match (&mut self.store, &later.store) {
            (Store::Count(a), Store::Count(b)) => a.merge(b),
            (Store::Sum(a), Store::Sum(b)) => a.merge(b),
            (Store::Min(a), Store::Min(b)) => a.merge(b),
            (Store::Max(a), Store::Max(b)) => a.merge(b),
            (Store::Mean(a), Store::Mean(b)) => a.merge(b),
            (Store::First(a), Store::First(b)) => a.merge(b),
            (Store::Last(a), Store::Last(b)) => a.merge(b),
            (Store::StdDev(a), Store::StdDev(b)) => a.merge(b),
            (Store::Quantile(qa, a), Store::Quantile(qb, b)) if qa.to_bits() == qb.to_bits() => {
                a.merge(b)
            }
            (Store::Raw(a), Store::Raw(b)) => a.merge(b),
            _ => return Err(Error::invalid("merging accumulators of different queries")),
        }
        self.last_ts = self.last_ts.max(later.last_ts);
        Ok(())
    }

    /// The result: the starts of the non-empty buckets, ascending, and each bucket's
    /// value (for raw queries, the points). Leaves `self` empty and reusable.
    pub fn finish(&mut self) -> (Vec<i64>, Vec<f64>) {
        self.last_ts = None;
        match &mut self.store {
            Store::Quantile(q, runs) => runs.finish(*q),
            Store::Raw(p) => (std::mem::take(&mut p.ts), std::mem::take(&mut p.values)),
            store => with_runs!(store, runs => runs.finish(), _ => (Vec::new(), Vec::new())),
        }
    }

    /// [`finish`](BucketAcc::finish) as a [`Group`] with `tags`; `None` when no bucket
    /// holds a point.
    pub fn finish_group(&mut self, tags: Vec<(String, String)>) -> Option<Group> {
        let (timestamps, values) = self.finish();
        (!timestamps.is_empty()).then_some(Group {
            tags,
            timestamps,
            values,
        })
    }
}

fn same_filter(a: Option<ValueFilter>, b: Option<ValueFilter>) -> bool {
    // Compared bound by bound: `==` on the bounds, which are never NaN in a valid
    // query.
    a == b
}

/// Calls `f(from, to, bucket)` for each maximal run `ts[from..to]` of one bucket
/// (`ts` ascending, inside the range).
#[inline]
fn for_each_run(b: &Buckets, ts: &[i64], mut f: impl FnMut(usize, usize, i64)) {
    let mut i = 0;
    let mut next = None;
    while let Some(&t) = ts.get(i) {
        let (bucket, last) = b.bucket_after(t, &mut next);
        let to = i + 1 + run_length(ts.get(i + 1..).unwrap_or_default(), last);
        f(i, to, bucket);
        i = to;
    }
}

/// Timestamps a run looks at one by one before it gallops.
const SHORT_RUN: usize = 8;

/// How many leading timestamps of `ts` (ascending) are `<= last`. The first
/// [`SHORT_RUN`] one by one (a minute of 10 s points is a run of 6, the same length
/// run after run: a branch the processor predicts); past them a galloping search, so
/// a run of `k` costs `O(log k)` when runs are long (an hour or a day).
#[inline]
fn run_length(ts: &[i64], last: i64) -> usize {
    let head = ts.get(..SHORT_RUN).unwrap_or(ts);
    if let Some(short) = head.iter().position(|&t| t > last) {
        return short;
    }
    let Some(rest) = ts.get(SHORT_RUN..) else {
        return ts.len();
    };
    let mut hi = 1;
    while rest.get(hi - 1).is_some_and(|&t| t <= last) {
        hi *= 2;
    }
    let lo = hi / 2;
    let window = rest.get(lo..hi.min(rest.len())).unwrap_or_default();
    SHORT_RUN + lo + window.partition_point(|&t| t <= last)
}

/// Bucket starts and one kernel state per bucket.
#[derive(Debug, Clone, PartialEq)]
struct Runs<K> {
    starts: Vec<i64>,
    states: Vec<K>,
}

impl<K> Default for Runs<K> {
    fn default() -> Self {
        Runs {
            starts: Vec::new(),
            states: Vec::new(),
        }
    }
}

impl<K: Kernel> Runs<K> {
    fn clear(&mut self) {
        self.starts.clear();
        self.states.clear();
    }

    /// Adds a state to bucket `start`, merging with the last bucket if it is the same.
    #[inline]
    fn add(&mut self, start: i64, state: K) {
        match (self.starts.last(), self.states.last_mut()) {
            (Some(&s), Some(last)) if s == start => last.merge(&state),
            _ => {
                self.starts.push(start);
                self.states.push(state);
            }
        }
    }

    /// Makes room, before the first push, for the buckets `ts` spans (at most one per
    /// point): no regrowth.
    fn reserve_for(&mut self, b: &Buckets, ts: &[i64]) {
        if self.starts.is_empty() {
            let spanned = match (b.width(), ts.first(), ts.last()) {
                (Some(w), Some(&first), Some(&last)) => {
                    usize::try_from((last.saturating_sub(first) / w).saturating_add(2))
                        .unwrap_or(usize::MAX)
                }
                _ => 1,
            };
            let n = spanned.min(ts.len());
            self.starts.reserve(n);
            self.states.reserve(n);
        }
    }

    fn push_columns(&mut self, b: &Buckets, f: Option<&ValueFilter>, ts: &[i64], values: &[f64]) {
        self.reserve_for(b, ts);
        for_each_run(b, ts, |from, to, start| {
            let (Some(t), Some(v)) = (ts.get(from..to), values.get(from..to)) else {
                return;
            };
            let state = match f {
                None => Some(K::run(t, v)),
                Some(f) => K::run_filtered(t, v, f),
            };
            if let Some(state) = state {
                self.add(start, state);
            }
        });
    }

    fn push_mantissas(&mut self, b: &Buckets, ts: &[i64], mantissas: &[i64], divisor: f64)
    where
        K: DecimalKernel,
    {
        self.reserve_for(b, ts);
        for_each_run(b, ts, |from, to, start| {
            if let (Some(t), Some(m)) = (ts.get(from..to), mantissas.get(from..to)) {
                self.add(start, K::run_mantissas(t, m, divisor));
            }
        });
    }

    fn push_summary(&mut self, bucket: i64, s: &ChunkSummary) -> bool {
        match K::summary(s) {
            Some(state) => {
                self.add(bucket, state);
                true
            }
            None => false,
        }
    }

    fn merge(&mut self, later: &Runs<K>) {
        if later.starts.is_empty() {
            return;
        }
        if self.starts.is_empty() {
            self.clone_from(later);
            return;
        }
        if self.starts == later.starts {
            for (a, b) in self.states.iter_mut().zip(&later.states) {
                a.merge(b);
            }
            return;
        }
        let n = self.starts.len() + later.starts.len();
        let mut starts = Vec::with_capacity(n);
        let mut states = Vec::with_capacity(n);
        let mut a = self.starts.iter().zip(&self.states).peekable();
        let mut b = later.starts.iter().zip(&later.states).peekable();
        loop {
            let next = match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some(&(&sa, &x)), Some(&(&sb, y))) => {
                    if sa < sb {
                        a.next();
                        (sa, x)
                    } else if sb < sa {
                        b.next();
                        (sb, *y)
                    } else {
                        let mut x = x;
                        x.merge(y);
                        a.next();
                        b.next();
                        (sa, x)
                    }
                }
                (Some(&(&sa, &x)), None) => {
                    a.next();
                    (sa, x)
                }
                (None, Some(&(&sb, &y))) => {
                    b.next();
                    (sb, y)
                }
            };
            starts.push(next.0);
            states.push(next.1);
        }
        self.starts = starts;
        self.states = states;
    }

    fn finish(&mut self) -> (Vec<i64>, Vec<f64>) {
        let values = self.states.iter().map(K::finish).collect();
        self.states.clear();
        (std::mem::take(&mut self.starts), values)
    }
}

/// The points of a raw query.
#[derive(Debug, Clone, Default, PartialEq)]
struct RawPoints {
    ts: Vec<i64>,
    values: Vec<f64>,
}

impl RawPoints {
    fn clear(&mut self) {
        self.ts.clear();
        self.values.clear();
    }

    /// Merges by timestamp; at equal timestamps `self`'s point comes first.
    fn merge(&mut self, later: &RawPoints) {
        if later.ts.is_empty() {
            return;
        }
        if self.ts.last() < later.ts.first() {
            self.ts.extend_from_slice(&later.ts);
            self.values.extend_from_slice(&later.values);
            return;
        }
        let n = self.ts.len() + later.ts.len();
        let mut ts = Vec::with_capacity(n);
        let mut values = Vec::with_capacity(n);
        let (mut i, mut j) = (0, 0);
        loop {
            let take_a = match (self.ts.get(i), later.ts.get(j)) {
                (None, None) => break,
                (Some(a), Some(b)) => a <= b,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            let (t, v) = if take_a {
                i += 1;
                (self.ts.get(i - 1), self.values.get(i - 1))
            } else {
                j += 1;
                (later.ts.get(j - 1), later.values.get(j - 1))
            };
            if let (Some(&t), Some(&v)) = (t, v) {
                ts.push(t);
                values.push(v);
            }
        }
        self.ts = ts;
        self.values = values;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The branch-free head and the gallop past it measure the same prefix as a
        /// plain count, for runs shorter than, equal to and longer than the head.
        #[test]
        fn run_length_is_the_prefix_at_or_below_last(
            steps in proptest::collection::vec(0i64..5, 0..80),
            last in -5i64..200,
        ) {
            let ts: Vec<i64> = steps
                .iter()
                .scan(0i64, |t, &d| {
                    *t += d;
                    Some(*t)
                })
                .collect();
            let want = ts.iter().take_while(|&&t| t <= last).count();
            prop_assert_eq!(run_length(&ts, last), want);
        }
    }
}
