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
//!   compaction or retention drop makes a new version whose cache starts from the old
//!   one's, less the series the new segments touch; writes go to the head, read fresh
//!   each time. Nothing is persisted, so there is nothing to
//!   rebuild after a crash: the first `last` after open fills the cache from the files.
//!
//! A cached point hidden by a tombstone still in a head, or older than the retention
//! cutoff, cannot be used as is: the first means the segments are walked back past
//! the deleted range; the second that the segments hold no point in range.
//! At equal timestamps the head's point wins (it is the newer write).

use std::sync::{Arc, Mutex};

use super::group::Group;

use super::pushdown::ChunkCounts;
use crate::engine::lock::lock;
use crate::error::Result;
use crate::ts::core::columns::{Columns, ranges_overlapping};
use crate::ts::read::overlap::OverlapReader;
use crate::ts::read::plan::ReadPlan;
use crate::ts::segment::Segment;
use crate::ts::series::key::SeriesKey;

/// The newest live point of each series of a metric, as columns: what
/// [`Db::last_points`](crate::ts::Db::last_points) returns. Entry `i` is series
/// `keys[i]`'s newest point, at `timestamps[i]` with value `values[i]`; series come
/// sorted by key. The keys are shared with the database's catalog, so building the
/// answer copies no tag: this is [`Db::last`](crate::ts::Db::last) without one
/// [`Group`] of owned strings per series.
#[derive(Debug, Clone, Default)]
pub struct LastPoints {
    /// The series, sorted by key.
    pub keys: Vec<Arc<SeriesKey>>,
    /// The newest point's timestamp, per series.
    pub timestamps: Vec<i64>,
    /// The newest point's value, per series.
    pub values: Vec<f64>,
}

impl LastPoints {
    /// The number of series.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no series has a live point.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// `(key, timestamp, value)` per series, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&SeriesKey, i64, f64)> + '_ {
        self.keys
            .iter()
            .zip(&self.timestamps)
            .zip(&self.values)
            .map(|((k, &t), &v)| (&**k, t, v))
    }

    /// One [`Group`] per series (its tags, one timestamp, one value), as
    /// [`Db::last`](crate::ts::Db::last) returns them.
    pub fn into_groups(self) -> Vec<Group> {
        self.iter()
            .map(|(k, t, v)| Group {
                tags: k.tags().to_vec(),
                timestamps: vec![t],
                values: vec![v],
            })
            .collect()
    }

    pub(crate) fn push(&mut self, key: &Arc<SeriesKey>, t: i64, v: f64) {
        self.keys.push(Arc::clone(key));
        self.timestamps.push(t);
        self.values.push(v);
    }
}

/// Per series, the newest point the segments of one version show (`None`: no point).
/// Series ids are dense (the catalog numbers them from 0), so the cache is a table
/// indexed by id: one lock and one array read per series, no hashing.
#[derive(Debug, Default)]
pub(crate) struct LatestCache {
    points: Mutex<Vec<Slot>>,
}

/// What the cache knows of one series.
#[derive(Debug, Default, Clone, Copy)]
enum Slot {
    /// Not computed yet.
    #[default]
    Unknown,
    /// The segments hold no point of the series.
    Nothing,
    /// The newest point.
    Point(i64, f64),
}

impl LatestCache {
    /// The cached newest point of each series of `ids`, in order (`None`: not
    /// computed yet), under one lock.
    pub fn get_many(&self, ids: impl Iterator<Item = u32>) -> Vec<Option<Option<(i64, f64)>>> {
        let points = lock(&self.points);
        ids.map(|id| match points.get(id as usize) {
            None | Some(Slot::Unknown) => None,
            Some(Slot::Nothing) => Some(None),
            Some(&Slot::Point(t, v)) => Some(Some((t, v))),
        })
        .collect()
    }

    /// The cache of a version made from this one's by adding the `fresh` segments
    /// (a flush's): what this one knows, less the series those segments hold points
    /// or tombstones of (their newest point may have changed), which are found again
    /// on first use. A compaction or a retention drop passes none: compaction keeps
    /// every visible point, and a point older than the retention cutoff is refused
    /// where the cache is read.
    pub fn carried_over<'a>(&self, fresh: impl IntoIterator<Item = &'a Segment>) -> LatestCache {
        let mut points = lock(&self.points).clone();
        for seg in fresh {
            for id in seg.series_ids() {
                if let Some(slot) = points.get_mut(id as usize) {
                    *slot = Slot::Unknown;
                }
            }
            for t in seg.tombstones() {
                if let Some(slot) = points.get_mut(t.series_id() as usize) {
                    *slot = Slot::Unknown;
                }
            }
        }
        LatestCache {
            points: Mutex::new(points),
        }
    }

    /// Records the newest point of each series of `found`, under one lock.
    pub fn put_many(&self, found: &[(u32, Option<(i64, f64)>)]) {
        if found.is_empty() {
            return;
        }
        let mut points = lock(&self.points);
        for &(id, point) in found {
            let i = id as usize;
            if points.len() <= i {
                points.resize(i + 1, Slot::Unknown);
            }
            if let Some(slot) = points.get_mut(i) {
                *slot = match point {
                    Some((t, v)) => Slot::Point(t, v),
                    None => Slot::Nothing,
                };
            }
        }
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
                // The block holding the chunk's newest point in range first (with
                // marks, one block is decoded), then, if a delete hides all of it, the
                // chunk's whole range.
                for from in [hi, lo] {
                    self.buf.clear();
                    seg.decode_chunk_span(chunk, from, hi, &mut self.buf)?;
                    self.counts.decoded += 1;
                    self.buf.trim_to_range(range.0, range.1);
                    self.buf.retain_outside(over);
                    if let Some(p) = last_of(&self.buf) {
                        return Ok(Some(p));
                    }
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
