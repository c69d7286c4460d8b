//! [`Db::query`] and [`Db::last`]: an analytic query run over one consistent snapshot
//! of the database.
//!
//! A query takes its snapshot the way a scan does (under the head gate: the current
//! view, the matching series, a copy of what the live head holds for them), plans the
//! segments once, then reads each series with a [`PushdownReader`] into its own
//! [`BucketAcc`] — across the rayon pool when many series need decoding, each worker
//! with its own reader and buffers — and merges the accumulators group by group.
//! [`Db::last_points`] (and [`Db::last`] on top of it) reads the newest points through
//! the version's latest-point cache instead.

use std::sync::Arc;

use rayon::prelude::*;

use super::accumulator::BucketAcc;
use super::aggregation::Aggregation;
use super::aggregator::Aggregator;
use super::answer::QueryColumns;
use super::group::{Group, GroupPlan};
use super::latest::{LastPoints, LatestReader, newer};
use super::matcher::Matcher;
use super::pushdown::{ChunkCounts, PushdownReader};
use super::query::Query;
use super::select::matching_series;
use crate::error::Result;
use crate::ts::Db;
use crate::ts::core::inner::Inner;
use crate::ts::core::view::ReadView;
use crate::ts::read::merge::{HeadSnapshot, SeriesReader};
use crate::ts::read::plan::ReadPlan;
use crate::ts::series::key::SeriesKey;
use crate::ts::stats::Counters;

/// Below this many series left a query stays on the calling thread.
const PARALLEL_MIN_SERIES: usize = 16;

/// A query reads this many series on the calling thread first, to learn whether its
/// series need decoding.
const PROBE_SERIES: usize = 2;

/// What a query reads: one consistent view, its matching series (sorted by key), the
/// live head's copy for them, and the range actually read (the query's, its start
/// raised to the retention cutoff).
struct Snapshot {
    view: Arc<ReadView>,
    head: Arc<HeadSnapshot>,
    series: Vec<(u32, Arc<SeriesKey>)>,
    start: i64,
    end: i64,
}

impl Snapshot {
    fn capture(inner: &Inner, metric: &str, matchers: &[Matcher], start: i64, end: i64) -> Self {
        let start = match inner.retention_cutoff() {
            Some(cutoff) => start.max(cutoff),
            None => start,
        };
        // Under the head gate no write reaches the head: the view, the series list and
        // the head's copy all show the same writes.
        let gate = inner.head_gate();
        let view = inner.current_view();
        let series = matching_series(&inner.catalog(), &inner.series_order, metric, matchers);
        let head = HeadSnapshot::capture(&view.head, series.iter().map(|s| s.0), start, end);
        drop(gate);
        Snapshot {
            view,
            head: Arc::new(head),
            series,
            start,
            end,
        }
    }

    fn plan(&self) -> Arc<ReadPlan> {
        Arc::new(ReadPlan::new(&self.view.version, self.start, self.end))
    }

    fn reader(&self, plan: &Arc<ReadPlan>) -> PushdownReader {
        PushdownReader::new(
            Arc::clone(&self.view),
            Arc::clone(&self.head),
            Arc::clone(plan),
        )
    }
}

impl Db {
    /// Runs an analytic query (see [`Query`]): the matching series of its metric, cut
    /// into buckets, grouped, aggregated. Groups come sorted by tags; a metric with no
    /// matching series, or no point in range, gives an empty `Vec`. Reads one
    /// consistent snapshot, like [`Db::scan`]. Chunks that lie inside one bucket
    /// are answered from their index entries without decoding (see `docs/analytics.md`
    /// and the `query_chunks_*` counters of [`Db::stats`]).
    ///
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a malformed query
    /// ([`Query::validate`]).
    ///
    /// ```
    /// use tidestore::ts::{Aggregation, Db, Matcher, Query};
    /// # let dir = tempfile::tempdir()?;
    /// let db = Db::open(dir.path())?;
    /// db.insert("cpu", 0, 10.0, &[("host", "a")])?;
    /// db.insert("cpu", 30_000, 20.0, &[("host", "a")])?;
    /// db.insert("cpu", 70_000, 5.0, &[("host", "a")])?;
    /// let q = Query::new("cpu", Aggregation::Max)
    ///     .filter(Matcher::eq("host", "a"))
    ///     .every(60_000);
    /// let groups = db.query(&q)?;
    /// assert_eq!(groups[0].timestamps, [0, 60_000]);
    /// assert_eq!(groups[0].values, [20.0, 5.0]);
    /// # Ok::<(), tidestore::Error>(())
    /// ```
    pub fn query(&self, q: &Query) -> Result<Vec<Group>> {
        let Some((snap, agg, accs)) = self.read_query(q)? else {
            return Ok(Vec::new());
        };
        let groups = GroupPlan::new(
            q.group_keys(),
            snap.series.iter().map(|s| s.1.tags.as_slice()),
        )?;
        agg.collect(groups, accs)
    }

    /// [`Db::query`] as columns: the same groups in the same order, each group's tags
    /// shared (without `group_by`, the series' keys are the catalog's own) instead of
    /// copied into strings per group. For queries over many series, where building
    /// thousands of tag strings costs more than the reading.
    ///
    /// ```
    /// use tidestore::ts::{Aggregation, Db, Query};
    /// # let dir = tempfile::tempdir()?;
    /// let db = Db::open(dir.path())?;
    /// db.insert("cpu", 10, 1.5, &[("host", "a")])?;
    /// db.insert("cpu", 20, 2.5, &[("host", "a")])?;
    /// db.insert("cpu", 15, 9.0, &[("host", "b")])?;
    /// let answer = db.query_columns(&Query::new("cpu", Aggregation::Sum))?;
    /// assert_eq!(answer.offsets, [0, 1, 2]);
    /// assert_eq!(answer.values, [4.0, 9.0]);
    /// assert_eq!(answer.keys[1].tags()[0].1, "b");
    /// assert_eq!(answer.into_groups(), db.query(&Query::new("cpu", Aggregation::Sum))?);
    /// # Ok::<(), tidestore::Error>(())
    /// ```
    pub fn query_columns(&self, q: &Query) -> Result<QueryColumns> {
        let Some((snap, agg, accs)) = self.read_query(q)? else {
            return Ok(QueryColumns::default());
        };
        let groups = match q.group_keys() {
            Some(keys) => Some(GroupPlan::new(
                Some(keys),
                snap.series.iter().map(|s| s.1.tags.as_slice()),
            )?),
            None => None,
        };
        agg.collect_columns(groups, &snap.series, accs)
    }

    /// The reading half of a query: its snapshot, aggregator and one accumulator per
    /// matching series, in the snapshot's series order (`None`: no series matches).
    fn read_query(&self, q: &Query) -> Result<Option<(Snapshot, Aggregator, Vec<BucketAcc>)>> {
        let agg = Aggregator::new(q)?;
        let (start, end) = q.time_range();
        let snap = Snapshot::capture(self.inner(), q.metric(), q.matchers(), start, end);
        if snap.series.is_empty() {
            return Ok(None);
        }
        let plan = snap.plan();
        let (accs, counts) = read_series(&snap, &plan, &agg)?;
        record(&self.inner().counters, counts);
        Ok(Some((snap, agg, accs)))
    }

    /// The newest live point of every series of `metric` passing `matchers`: one group
    /// per series with points (its tags sorted by key, one timestamp, one value),
    /// sorted by tags. Deleted points, retention and overwritten values behave as in
    /// [`Db::query_range`]. Reads one consistent snapshot. Does not read the series'
    /// history: the newest point the segments hold is cached per set of live segments
    /// (see `docs/analytics.md`). [`Db::last_points`] gives the same answer as
    /// columns, without copying every series' tags.
    ///
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for an invalid metric
    /// or matcher key.
    pub fn last(&self, metric: &str, matchers: &[Matcher]) -> Result<Vec<Group>> {
        Ok(self.last_points(metric, matchers)?.into_groups())
    }

    /// [`Db::last`] as columns: the newest live point of every series of `metric`
    /// passing `matchers`, with the series' keys shared with the catalog (no tag is
    /// copied), sorted by key.
    ///
    /// ```
    /// use tidestore::ts::{Db, Matcher};
    /// # let dir = tempfile::tempdir()?;
    /// let db = Db::open(dir.path())?;
    /// db.insert("cpu", 10, 1.5, &[("host", "a")])?;
    /// db.insert("cpu", 20, 2.5, &[("host", "a")])?;
    /// db.insert("cpu", 15, 9.0, &[("host", "b")])?;
    /// let last = db.last_points("cpu", &[Matcher::ne("host", "c")])?;
    /// assert_eq!(last.timestamps, [20, 15]);
    /// assert_eq!(last.values, [2.5, 9.0]);
    /// assert_eq!(last.keys[1].tags()[0].1, "b");
    /// # Ok::<(), tidestore::Error>(())
    /// ```
    pub fn last_points(&self, metric: &str, matchers: &[Matcher]) -> Result<LastPoints> {
        let q = matchers
            .iter()
            .cloned()
            .fold(Query::new(metric, Aggregation::Last), Query::filter);
        q.validate()?;
        let snap = Snapshot::capture(self.inner(), metric, matchers, i64::MIN, i64::MAX);
        let mut out = LastPoints::default();
        if snap.series.is_empty() {
            return Ok(out);
        }
        let plan = snap.plan();
        // The cache holds the newest point over all time of the version's segments.
        let cache = &snap.view.version.latest;
        let cached = cache.get_many(snap.series.iter().map(|s| s.0));
        let mut found = Vec::new();
        let mut full: Option<ReadPlan> = None;
        let mut heads = SeriesReader::with_plan(
            Arc::clone(&snap.view),
            Arc::clone(&snap.head),
            Arc::clone(&plan),
        );
        let mut reader = LatestReader::default();
        for ((id, key), cached) in snap.series.iter().zip(cached) {
            let (recent, hidden) = heads.start_heads(*id);
            let head_last = recent
                .ts()
                .last()
                .copied()
                .zip(recent.vals().last().copied());
            let cached = match cached {
                Some(p) => p,
                None => {
                    let full = full.get_or_insert_with(|| {
                        ReadPlan::new(&snap.view.version, i64::MIN, i64::MAX)
                    });
                    let p = reader.segments_last(full, *id, &[])?;
                    found.push((*id, p));
                    p
                }
            };
            let usable = |p: (i64, f64)| !hidden.iter().any(|r| r.0 <= p.0 && p.0 <= r.1);
            let seg_last = match cached {
                Some(p) if p.0 < snap.start => None,
                Some(p) if usable(p) => Some(p),
                Some(_) => reader.segments_last(&plan, *id, hidden)?,
                None => None,
            };
            if let Some((t, v)) = newer(head_last, seg_last) {
                out.push(key, t, v);
            }
        }
        cache.put_many(&found);
        record(&self.inner().counters, reader.counts);
        Ok(out)
    }
}

/// One accumulator per series of `snap`, in order, and what the readers did.
fn read_series(
    snap: &Snapshot,
    plan: &Arc<ReadPlan>,
    agg: &Aggregator,
) -> Result<(Vec<BucketAcc>, ChunkCounts)> {
    let read = |reader: &mut PushdownReader, ids: &[(u32, Arc<SeriesKey>)]| {
        ids.iter()
            .map(|(id, _)| {
                let mut acc = agg.accumulator();
                reader.read(*id, agg, &mut acc)?;
                Ok(acc)
            })
            .collect::<Result<Vec<BucketAcc>>>()
    };
    let threads = rayon::current_num_threads();
    let mut reader = snap.reader(plan);
    let mut accs = Vec::with_capacity(snap.series.len());
    let mut next = 0;
    let mut serial = threads < 2;
    while let Some((id, _)) = snap.series.get(next) {
        if next == PROBE_SERIES && !serial {
            // A query answered from chunk indexes reads a series in about a
            // microsecond, less than handing it to the pool costs (such a query ran
            // twice as slow in parallel, measured on 2 cores): it stays here. One that
            // decodes chunks gets the pool for the rest.
            let left = snap.series.len() - next;
            if left >= PARALLEL_MIN_SERIES && reader.counts.decoded > 0 {
                break;
            }
            serial = true;
        }
        let mut acc = agg.accumulator();
        reader.read(*id, agg, &mut acc)?;
        accs.push(acc);
        next += 1;
    }
    let mut counts = std::mem::take(&mut reader.counts);
    let rest = snap.series.get(next..).unwrap_or_default();
    if rest.is_empty() {
        return Ok((accs, counts));
    }
    // A few pieces per thread, so that threads finish together; each worker keeps one
    // reader (and its buffers) for all the pieces it takes.
    let piece = rest.len().div_ceil(threads * 4).max(1);
    let parts: Vec<Result<(Vec<BucketAcc>, ChunkCounts)>> = rest
        .par_chunks(piece)
        .map_init(
            || snap.reader(plan),
            |reader, ids| {
                let accs = read(reader, ids)?;
                Ok((accs, std::mem::take(&mut reader.counts)))
            },
        )
        .collect();
    for part in parts {
        let (a, c) = part?;
        accs.extend(a);
        counts.add(c);
    }
    Ok((accs, counts))
}

/// Adds a query's chunk counts to the database's counters.
fn record(c: &Counters, counts: ChunkCounts) {
    Counters::add(&c.query_chunks_decoded, counts.decoded);
    Counters::add(&c.query_chunks_as_mantissas, counts.as_mantissas);
    Counters::add(&c.query_chunks_from_index, counts.from_index);
    Counters::add(&c.query_chunks_skipped, counts.skipped);
}
