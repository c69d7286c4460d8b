//! The newest visible point of a series, for [`Db::last`](crate::ts::Db::last),
//! without reading the series' history.
//!
//! A series' newest point is the newer of two candidates:
//! - the heads' newest visible point (the heads are in memory);
//! - the segments' newest visible point, which depends only on the set of live
//!   segments. A [`Version`](crate::ts::version::Version) is immutable, so each one
//!   carries a [`LatestCache`]: per series, the newest point its segments show, found
//!   the first time `last` asks (by decoding one chunk, walking back from the newest
//!   only when needed) and then reused by every later `last` on that version. A flush,
//!   compaction or retention drop makes a new version with an empty cache; writes go
//!   to the head, read fresh each time. Nothing is persisted, so there is nothing to
//!   rebuild after a crash: the first `last` after open fills the cache from the files.
//!
//! A cached point hidden by a tombstone still in a head, or older than the retention
//! cutoff, cannot be used as is: the first means the segments are walked back past
//! the deleted range; the second that the segments hold no point in range.
//! At equal timestamps the head's point wins (it is the newer write).

use std::collections::HashMap;
use std::sync::Mutex;

use super::pushdown::ChunkCounts;
use crate::engine::lock::lock;
use crate::error::Result;
use crate::ts::core::columns::{Columns, ranges_overlapping};
use crate::ts::read::overlap::OverlapReader;
use crate::ts::read::plan::ReadPlan;

/// Per series, the newest point the segments of one version show (`None`: no point).
#[derive(Debug, Default)]
pub(crate) struct LatestCache {
    points: Mutex<HashMap<u32, Option<(i64, f64)>>>,
}

impl LatestCache {
    /// The cached newest point of series `id`, if it was computed.
    pub fn get(&self, id: u32) -> Option<Option<(i64, f64)>> {
        lock(&self.points).get(&id).copied()
    }

    /// Records the newest point of series `id`.
    pub fn put(&self, id: u32, point: Option<(i64, f64)>) {
        lock(&self.points).insert(id, point);
    }
}

/// Buffers for walking segments back from the newest point, reused across series.
#[derive(Default)]
pub(crate) struct LatestReader {
    overlap: OverlapReader,
    buf: Columns,
    /// Chunks decoded.
    pub counts: ChunkCounts,
}

impl LatestReader {
    /// The newest point of series `id` in the segments of `plan` (within its range),
    /// not in any of the `hidden` ranges (sorted, disjoint). Walks the groups from the
    /// newest, and in a group of one segment the chunks from the newest, decoding
    /// until one shows a visible point.
    pub fn segments_last(
        &mut self,
        plan: &ReadPlan,
        id: u32,
        hidden: &[(i64, i64)],
    ) -> Result<Option<(i64, f64)>> {
        let range = (plan.start(), plan.end());
        for group in plan.groups().iter().rev() {
            self.buf.clear();
            let [only] = group.segments.as_slice() else {
                self.overlap.start(group, id, range, hidden);
                while self.overlap.fill(group, range, &mut self.buf, usize::MAX)? {}
                if let Some(p) = last_of(&self.buf) {
                    return Ok(Some(p));
                }
                continue;
            };
            let seg = &only.seg;
            let span = seg.chunk_indexes_in_range(id, range.0, range.1);
            for chunk in seg.all_chunks().get(span).unwrap_or_default().iter().rev() {
                let (lo, hi) = (chunk.min_ts().max(range.0), chunk.max_ts().min(range.1));
                let over = ranges_overlapping(hidden, lo, hi);
                if over.first().is_some_and(|r| r.0 <= lo && hi <= r.1) {
                    continue; // wholly deleted
                }
                self.buf.clear();
                seg.decode_chunk_to(chunk, &mut self.buf)?;
                self.counts.decoded += 1;
                self.buf.trim_to_range(range.0, range.1);
                self.buf.retain_outside(over);
                if let Some(p) = last_of(&self.buf) {
                    return Ok(Some(p));
                }
            }
        }
        Ok(None)
    }
}

/// The last point of `c`.
fn last_of(c: &Columns) -> Option<(i64, f64)> {
    Some((*c.ts().last()?, *c.vals().last()?))
}

/// The newer of the heads' newest point and the segments' (the heads' at equal
/// timestamps).
pub(crate) fn newer(head: Option<(i64, f64)>, segments: Option<(i64, f64)>) -> Option<(i64, f64)> {
    match (head, segments) {
        (Some(h), Some(s)) if s.0 > h.0 => Some(s),
        (Some(h), _) => Some(h),
        (None, s) => s,
    }
}
