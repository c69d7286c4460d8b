//! [`PushdownReader`]: feeds one series of a snapshot into a [`BucketAcc`], answering
//! whole chunks from their index entries where the query allows, decoding the rest.
//!
//! It walks the same sources as the scan's `SeriesReader` (whose head part it reuses):
//! the heads' visible points and tombstones, then the read plan's groups in time order.
//! In a group of one segment each chunk's index entry is looked at before its data:
//! - the entry says no point can pass the value filter: skipped;
//! - the chunk lies inside the read range and one bucket, every point passes the
//!   filter, the aggregation can use a summary, and no head point or head tombstone
//!   falls in its time span (so its points are exactly what the series shows there):
//!   absorbed from the entry, not decoded;
//! - otherwise decoded, trimmed to the range, stripped of what head tombstones hide;
//!   for aggregations whose answer is one of the values (count, min, max, first,
//!   last) a chunk with nothing of the heads in its span hands a decimal run over as
//!   mantissas, which the accumulator folds before converting (see
//!   `kernels::DecimalKernel`).
//!
//! A group of overlapping segments goes through the scan's overlap merge. The heads'
//! points are laid over the decoded points (newer wins) before they reach the
//! accumulator, in time order, piece by piece, so memory stays the size of a chunk.

use std::sync::Arc;

use super::accumulator::BucketAcc;
use super::aggregator::Aggregator;
use super::summary::{ChunkAction, ChunkSummary};
use crate::error::Result;
use crate::ts::core::columns::{Columns, ranges_overlapping};
use crate::ts::core::view::ReadView;
use crate::ts::read::merge::{HeadSnapshot, SeriesReader};
use crate::ts::read::overlap::OverlapReader;
use crate::ts::read::plan::ReadPlan;
use crate::ts::segment::ChunkMeta;

/// Points an overlap merge hands over at a time.
const OVERLAP_BATCH: usize = 4096;

/// Chunks decoded (and of them, read as mantissas), answered from the index, and
/// skipped by one reader.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkCounts {
    pub decoded: u64,
    pub as_mantissas: u64,
    pub from_index: u64,
    pub skipped: u64,
}

impl ChunkCounts {
    /// Adds `other`'s counts.
    pub fn add(&mut self, other: ChunkCounts) {
        self.decoded += other.decoded;
        self.as_mantissas += other.as_mantissas;
        self.from_index += other.from_index;
        self.skipped += other.skipped;
    }
}

/// The summary an index entry gives: count, time span, min, max and sum (first and
/// last values are not kept by the format).
pub(crate) fn summary_of(c: &ChunkMeta) -> ChunkSummary {
    ChunkSummary {
        count: u64::from(c.count()),
        first: (c.min_ts(), None),
        last: (c.max_ts(), None),
        min: c.min_value(),
        max: c.max_value(),
        sum: c.sum(),
    }
}

/// Points a bucket must hold on average for a chunk to be read as mantissas: each
/// bucket's result is then converted on its own (a division), where the values path
/// converts every point, four at a time.
const MANTISSA_RUN: i128 = 64;

/// True when reading `chunk` as mantissas costs less than as values: its buckets hold
/// [`MANTISSA_RUN`] points or more on average.
fn mantissas_pay(agg: &Aggregator, chunk: &ChunkMeta) -> bool {
    let Some(width) = agg.buckets().width() else {
        return true;
    };
    let span = i128::from(chunk.max_ts()) - i128::from(chunk.min_ts()) + 1;
    i128::from(chunk.count()) * i128::from(width) >= MANTISSA_RUN * span
}

/// Reads series of one snapshot over one range into accumulators, reusing its
/// buffers from one series to the next. One per thread.
pub(crate) struct PushdownReader {
    heads: SeriesReader,
    plan: Arc<ReadPlan>,
    overlap: OverlapReader,
    /// Segment points read but not yet handed to the accumulator.
    pending: Columns,
    scratch: Columns,
    /// A decimal run read as mantissas: its timestamps and mantissas.
    mantissa_ts: Vec<i64>,
    mantissas: Vec<i64>,
    /// What this reader did, over every series it read.
    pub counts: ChunkCounts,
}

impl PushdownReader {
    /// A reader of `plan` (made from `view`'s version) with `head` standing for the
    /// live head.
    pub fn new(view: Arc<ReadView>, head: Arc<HeadSnapshot>, plan: Arc<ReadPlan>) -> Self {
        PushdownReader {
            heads: SeriesReader::with_plan(view, head, Arc::clone(&plan)),
            plan,
            overlap: OverlapReader::default(),
            pending: Columns::new(),
            scratch: Columns::new(),
            mantissa_ts: Vec::new(),
            mantissas: Vec::new(),
            counts: ChunkCounts::default(),
        }
    }

    /// Feeds every visible point of series `id` in the plan's range to `acc` (in time
    /// order), or the summaries of the chunks that stand for them.
    pub fn read(&mut self, id: u32, agg: &Aggregator, acc: &mut BucketAcc) -> Result<()> {
        let PushdownReader {
            heads,
            plan,
            overlap,
            pending,
            scratch,
            mantissa_ts,
            mantissas,
            counts,
        } = self;
        let range = (plan.start(), plan.end());
        let (recent, hidden) = heads.start_heads(id);
        let mut feed = Feed {
            recent,
            recent_at: 0,
            from: 0,
            pending,
            scratch,
            acc,
        };
        for group in plan.groups() {
            let [only] = group.segments.as_slice() else {
                overlap.start(group, id, range, hidden);
                loop {
                    let more = overlap.fill(group, range, feed.pending, OVERLAP_BATCH)?;
                    // Without a segment point to bound them, no head point can be
                    // handed over yet: a later group may hold earlier points.
                    if let Some(last) = feed.pending.ts().last().copied() {
                        feed.flush_through(Some(last))?;
                    }
                    if !more {
                        break;
                    }
                }
                continue;
            };
            let seg = &only.seg;
            let span = seg.chunk_indexes_in_range(id, range.0, range.1);
            for chunk in seg.all_chunks().get(span).unwrap_or_default() {
                let (lo, hi) = (chunk.min_ts(), chunk.max_ts());
                let summary = summary_of(chunk);
                match agg.chunk_action(&summary) {
                    ChunkAction::Skip => {
                        counts.skipped += 1;
                        continue;
                    }
                    ChunkAction::Summary(_)
                        if range.0 <= lo
                            && hi <= range.1
                            && ranges_overlapping(hidden, lo, hi).is_empty()
                            && !feed.recent_within(lo, hi) =>
                    {
                        if let Some(before) = lo.checked_sub(1) {
                            // (at i64::MIN nothing can come before the chunk)
                            feed.flush_through(Some(before))?;
                        }
                        if feed.acc.push_summary(&summary)? != ChunkAction::Decode {
                            counts.from_index += 1;
                            continue;
                        }
                    }
                    _ => {}
                }
                if feed.acc.takes_mantissas()
                    && mantissas_pay(agg, chunk)
                    && ranges_overlapping(hidden, lo, hi).is_empty()
                    && !feed.recent_within(lo, hi)
                {
                    // Nothing to lay over the chunk's points: a decimal run goes to the
                    // accumulator as mantissas, unconverted.
                    let divisor = seg.decode_chunk_span_mantissas(
                        chunk,
                        range.0,
                        range.1,
                        mantissa_ts,
                        mantissas,
                    )?;
                    if let Some((n, divisor)) = divisor {
                        counts.decoded += 1;
                        counts.as_mantissas += 1;
                        if let Some(before) = lo.checked_sub(1) {
                            feed.flush_through(Some(before))?;
                        }
                        let ts = mantissa_ts.get(..n).unwrap_or_default();
                        let m = mantissas.get(..n).unwrap_or_default();
                        feed.acc.push_mantissas(ts, m, divisor)?;
                        continue;
                    }
                }
                let at = feed.pending.len();
                seg.decode_chunk_span(chunk, range.0, range.1, feed.pending)?;
                counts.decoded += 1;
                let (from, to) = feed.pending.range_from(at, range.0, range.1);
                feed.pending.truncate(to);
                if at == 0 {
                    // The points decoded before the range are passed over, not moved
                    // out (a block's worth per chunk the range starts in).
                    feed.from = from;
                } else {
                    feed.pending.trim_to_range_from(at, range.0, range.1);
                }
                let kept = feed.from.max(at);
                feed.pending
                    .retain_outside_from(kept, ranges_overlapping(hidden, lo, hi));
                feed.flush_through(Some(hi))?;
            }
        }
        feed.flush_through(None)
    }
}

/// Hands the points of one series to an accumulator in time order: the segment
/// points gathered in `pending`, with the heads' points laid over them.
struct Feed<'a> {
    recent: &'a Columns,
    /// The heads' points before this one were handed over.
    recent_at: usize,
    /// The pending points before this one lie before the read range: not handed over.
    from: usize,
    pending: &'a mut Columns,
    scratch: &'a mut Columns,
    acc: &'a mut BucketAcc,
}

impl Feed<'_> {
    /// True when a head point not yet handed over lies in `[lo, hi]`.
    fn recent_within(&self, lo: i64, hi: i64) -> bool {
        let rest = self.recent.ts().get(self.recent_at..).unwrap_or_default();
        let from = rest.partition_point(|&t| t < lo);
        rest.get(from).is_some_and(|&t| t <= hi)
    }

    /// Hands over the pending points and the heads' points up to `through` (all of
    /// them for `None`). Every point read later comes after `through`.
    fn flush_through(&mut self, through: Option<i64>) -> Result<()> {
        let (ts, vals) = self.recent.take_through(&mut self.recent_at, through);
        let from = std::mem::take(&mut self.from);
        if self.pending.len() <= from {
            self.pending.clear();
            return self.acc.push_columns(ts, vals);
        }
        let result = if ts.is_empty() {
            let ts = self.pending.ts().get(from..).unwrap_or_default();
            let vals = self.pending.vals().get(from..).unwrap_or_default();
            self.acc.push_columns(ts, vals)
        } else {
            self.pending.trim_front(from);
            self.pending.overlay(ts, vals, self.scratch);
            self.acc
                .push_columns(self.pending.ts(), self.pending.vals())
        };
        self.pending.clear();
        result
    }
}
