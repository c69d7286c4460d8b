//! [`Aggregator`]: the kernels configured for one validated query, and [`evaluate`],
//! a whole query over columns already in memory.

use std::sync::Arc;

use super::accumulator::BucketAcc;
use super::aggregation::Aggregation;
use super::answer::{GroupKey, QueryColumns};
use super::buckets::Buckets;
use super::group::{Group, GroupPlan};
use super::query::Query;
use super::summary::{ChunkAction, ChunkSummary, chunk_action};
use super::value_filter::ValueFilter;
use crate::error::{Error, Result};
use crate::ts::series::key::SeriesKey;

/// What the kernels need to know of a query (its aggregation, range, buckets and
/// value filter), checked once. Cheap to copy, `Send + Sync`: share it across the
/// workers of a parallel query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aggregator {
    aggregation: Option<Aggregation>,
    buckets: Buckets,
    filter: Option<ValueFilter>,
}

impl Aggregator {
    /// The aggregator of `q`, after [`Query::validate`] (whose error it returns).
    pub fn new(q: &Query) -> Result<Aggregator> {
        q.validate()?;
        Ok(Aggregator {
            aggregation: q.aggregation(),
            buckets: q.buckets()?,
            filter: q.value_filter(),
        })
    }

    /// The aggregation (`None`: raw points).
    pub fn aggregation(&self) -> Option<Aggregation> {
        self.aggregation
    }

    /// The range and buckets.
    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    /// The value filter.
    pub fn value_filter(&self) -> Option<ValueFilter> {
        self.filter
    }

    /// An empty accumulator for one series (or group) of this query.
    pub fn accumulator(&self) -> BucketAcc {
        BucketAcc::new(self.aggregation, self.buckets, self.filter)
    }

    /// What to do with a chunk (see [`ChunkAction`]): skip it when it lies outside the
    /// range or no value can pass the filter; answer it from `s` when it lies inside
    /// the range and one bucket, every point passes the filter and the aggregation can
    /// use a summary (with the first/last values for `First`/`Last`); else decode it.
    /// [`BucketAcc::push_summary`] makes the same decision.
    pub fn chunk_action(&self, s: &ChunkSummary) -> ChunkAction {
        chunk_action(s, self.aggregation, &self.buckets, self.filter.as_ref())
    }

    /// The answer: for each group of `plan` in order, the accumulators of its series
    /// (`accs[s]` for series `s` of the plan) merged in key order and finished; groups
    /// without any point are left out.
    ///
    /// [`Error::InvalidArgument`] if `accs` does not have one accumulator per series of
    /// the plan, or they were made for another query.
    pub fn collect(&self, mut plan: GroupPlan, mut accs: Vec<BucketAcc>) -> Result<Vec<Group>> {
        let mut out = Vec::with_capacity(plan.len());
        let mut tags = take_tags(&mut plan);
        each_group(Some(&plan), &mut accs, |g, acc| {
            let tags = tags.get_mut(g).map(std::mem::take).unwrap_or_default();
            if let Some(answer) = acc.finish_group(tags) {
                out.push(answer);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// [`collect`](Self::collect) as columns. `series` are the ids and keys of the
    /// series the accumulators read; without a plan each series is its own group, whose tags are
    /// its key, shared rather than copied.
    ///
    /// [`Error::InvalidArgument`] as for [`collect`](Self::collect).
    pub(crate) fn collect_columns(
        &self,
        mut plan: Option<GroupPlan>,
        series: &[(u32, Arc<SeriesKey>)],
        mut accs: Vec<BucketAcc>,
    ) -> Result<QueryColumns> {
        if accs.len() != series.len() {
            return Err(mismatch(accs.len(), series.len()));
        }
        let mut out = QueryColumns::default();
        let mut tags = plan.as_mut().map(take_tags);
        each_group(plan.as_ref(), &mut accs, |g, acc| {
            let (ts, values) = acc.finish();
            let key = match &mut tags {
                Some(tags) => {
                    GroupKey::pairs(tags.get_mut(g).map(std::mem::take).unwrap_or_default())
                }
                None => match series.get(g) {
                    Some((_, key)) => GroupKey::series(key),
                    None => return Ok(()),
                },
            };
            if !ts.is_empty() {
                out.push(key, &ts, &values);
            }
            Ok(())
        })?;
        Ok(out)
    }
}

/// Hands `f` the accumulator of each group: those of its series (indexes into
/// `accs`, ascending, which is key order) merged in place into the first, later
/// series into earlier. Without a plan, each series is a group. Nothing is moved: an
/// accumulator is a few hundred bytes, and a query over a thousand series would move
/// each of them twice.
fn each_group(
    plan: Option<&GroupPlan>,
    accs: &mut [BucketAcc],
    mut f: impl FnMut(usize, &mut BucketAcc) -> Result<()>,
) -> Result<()> {
    let Some(plan) = plan else {
        for (g, acc) in accs.iter_mut().enumerate() {
            f(g, acc)?;
        }
        return Ok(());
    };
    if accs.len() != plan.series_count() {
        return Err(mismatch(accs.len(), plan.series_count()));
    }
    for g in 0..plan.len() {
        let Some((&first, later)) = plan.members(g).split_first() else {
            continue;
        };
        for &s in later {
            // members ascend: `s` lies after `first`
            let pair = accs
                .split_at_mut_checked(s)
                .and_then(|(head, tail)| Some((head.get_mut(first)?, tail.first()?)));
            let Some((into, acc)) = pair else {
                return Err(Error::invalid(format!(
                    "series {s} of group {g} is not after its first series {first}"
                )));
            };
            into.merge(acc)?;
        }
        if let Some(acc) = accs.get_mut(first) {
            f(g, acc)?;
        }
    }
    Ok(())
}

/// The tags of every group of `plan`, moved out.
fn take_tags(plan: &mut GroupPlan) -> Vec<Vec<(String, String)>> {
    (0..plan.len()).map(|g| plan.take_tags(g)).collect()
}

fn mismatch(accs: usize, series: usize) -> Error {
    Error::invalid(format!("{accs} accumulators for {series} series"))
}

/// Answers `q` over series already read into memory: each item is a series' tags
/// (sorted by key) with columns of its points (timestamps ascending). A series may come
/// as several items in time order (as the views of a [`Scan`](crate::ts::Scan) do) and
/// the series in any order. Items of another metric must not be given: the metric is
/// not known here. Series failing the matchers are ignored.
///
/// [`Error::InvalidArgument`] for an invalid query, columns of different lengths, or
/// pieces of a series out of time order.
pub fn evaluate<'a>(
    q: &Query,
    series: impl IntoIterator<Item = (&'a [(String, String)], &'a [i64], &'a [f64])>,
) -> Result<Vec<Group>> {
    let agg = Aggregator::new(q)?;
    let mut items: Vec<_> = series
        .into_iter()
        .filter(|(tags, _, _)| q.matches(tags))
        .collect();
    // Stable: the pieces of one series keep their order.
    items.sort_by(|a, b| a.0.cmp(b.0));
    let mut keys: Vec<&[(String, String)]> = Vec::new();
    let mut accs: Vec<BucketAcc> = Vec::new();
    for (tags, ts, values) in items {
        if keys.last() != Some(&tags) {
            keys.push(tags);
            accs.push(agg.accumulator());
        }
        if let Some(acc) = accs.last_mut() {
            acc.push_columns(ts, values)?;
        }
    }
    let plan = GroupPlan::new(q.group_keys(), keys)?;
    agg.collect(plan, accs)
}
