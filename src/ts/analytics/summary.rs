//! [`ChunkSummary`]: what a chunk index entry tells about a run of points, and
//! [`ChunkAction`]: whether that answers a query without decoding the points.

use super::aggregation::Aggregation;
use super::buckets::Buckets;
use super::value_filter::ValueFilter;

/// Statistics of a non-empty run of consecutive points of one series (a chunk), as a
/// chunk index keeps them. Each field is defined exactly as the kernels compute it
/// from the raw points, so that a bucket answered from summaries equals the one
/// computed from the points (for `Sum` and `Mean`, up to the rounding of a
/// different summation order, see `docs/analytics.md`):
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkSummary {
    /// Number of points (at least 1).
    pub count: u64,
    /// `(timestamp, value)` of the first point; the value may be unknown (an index
    /// that keeps only the time range), then `First` cannot use the summary.
    pub first: (i64, Option<f64>),
    /// `(timestamp, value)` of the last point; the value may be unknown.
    pub last: (i64, Option<f64>),
    /// Smallest non-NaN value by [`f64::total_cmp`] (`-0.0` below `+0.0`); NaN when
    /// every value is NaN.
    pub min: f64,
    /// Largest non-NaN value by [`f64::total_cmp`]; NaN when every value is NaN.
    pub max: f64,
    /// Sum of the values in time order, starting from `+0.0`.
    pub sum: f64,
}

/// What to do with a chunk for a query ([`super::Aggregator::chunk_action`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkAction {
    /// No point of the chunk can count: it lies outside the range, or no value can pass
    /// the value filter. Neither decode nor summary.
    Skip,
    /// The summary answers it: the chunk lies inside the range and inside the one
    /// bucket given, and every point passes the value filter.
    Summary(i64),
    /// Decode the chunk and push its points.
    Decode,
}

/// The action for a chunk summarised by `s`, for `aggregation` (`None`: raw points)
/// over `buckets` with an optional value filter.
pub(crate) fn chunk_action(
    s: &ChunkSummary,
    aggregation: Option<Aggregation>,
    buckets: &Buckets,
    filter: Option<&ValueFilter>,
) -> ChunkAction {
    let (first, last) = (s.first.0, s.last.0);
    if s.count == 0 || last < buckets.start() || first > buckets.end() || first > last {
        return ChunkAction::Skip;
    }
    if let Some(f) = filter {
        match f.covers(s.min, s.max, s.sum) {
            Some(false) => return ChunkAction::Skip,
            None => return ChunkAction::Decode,
            Some(true) => {}
        }
    }
    let Some(a) = aggregation else {
        return ChunkAction::Decode;
    };
    if !a.can_use_summary() || (a.uses_endpoints() && (s.first.1.is_none() || s.last.1.is_none())) {
        return ChunkAction::Decode;
    }
    match buckets.single_bucket(first, last) {
        Some(b) => ChunkAction::Summary(b),
        None => ChunkAction::Decode,
    }
}
