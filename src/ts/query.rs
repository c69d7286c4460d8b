//! Reading one series over a time range: the merge of the head, the frozen heads and
//! the segments.
//!
//! Sources are visited newest first. Each source's points in range are first stripped
//! of what newer sources' tombstones hide, then merged under what was gathered so far,
//! which wins on equal timestamps (newest write wins). Segments are pruned by time
//! (manifest metadata, once per query) and by series (the segment's series bitmap),
//! and only chunks overlapping the range are decoded (a binary search of the chunk
//! index). When a single source holds the series — the common case after a flush or a
//! compaction — chunks decode straight into the output, with no merge and no copy.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::Result;
use crate::ts::head::{Head, Tombstone};
use crate::ts::version::SegmentFile;
use crate::ts::view::{ReadView, series_tombstones};

/// A copy of what the live head holds for some series over a range, taken at one
/// instant (under the engine's head gate, which writers hold while they apply a
/// write to the head), so a query sees every write to the head whole or not at all.
/// Frozen heads and segments are immutable and need no copy.
#[derive(Debug, Default)]
pub(crate) struct HeadSnapshot {
    series: HashMap<u32, (Vec<i64>, Vec<f64>)>,
    /// The head's tombstones, sorted.
    tombstones: Vec<Tombstone>,
}

impl HeadSnapshot {
    /// Copies `head`'s points of series `ids` within `[start, end]`, and its tombstones.
    pub fn capture(head: &Head, ids: impl IntoIterator<Item = u32>, start: i64, end: i64) -> Self {
        let mut tombstones = head.tombstones();
        tombstones.sort_unstable();
        let mut series = HashMap::new();
        if start <= end && !head.is_empty() {
            for id in ids {
                let (mut ts, mut vals) = (Vec::new(), Vec::new());
                head.read_series(id, start, end, &mut ts, &mut vals);
                if !ts.is_empty() {
                    series.insert(id, (ts, vals));
                }
            }
        }
        HeadSnapshot { series, tombstones }
    }
}

/// Reads series from one [`ReadView`] (with a [`HeadSnapshot`] standing for its live
/// head) over one time range, reusing its buffers from one series to the next.
pub(crate) struct SeriesReader {
    view: Arc<ReadView>,
    head: Arc<HeadSnapshot>,
    start: i64,
    end: i64,
    /// Segments whose points or tombstones touch the range, newest first.
    segments: Vec<Arc<SegmentFile>>,
    hidden: Vec<(i64, i64)>,
    tmp_ts: Vec<i64>,
    tmp_vals: Vec<f64>,
    merge_ts: Vec<i64>,
    merge_vals: Vec<f64>,
}

impl SeriesReader {
    /// A reader of `[start, end]` (inclusive) in `view`, whose live head is read from
    /// `head` (captured over at least that range).
    pub fn new(view: Arc<ReadView>, head: Arc<HeadSnapshot>, start: i64, end: i64) -> Self {
        let segments = view
            .version
            .segments
            .iter()
            .filter(|s| s.meta.extent_overlaps(start, end))
            .cloned()
            .collect();
        SeriesReader {
            view,
            head,
            start,
            end,
            segments,
            hidden: Vec::new(),
            tmp_ts: Vec::new(),
            tmp_vals: Vec::new(),
            merge_ts: Vec::new(),
            merge_vals: Vec::new(),
        }
    }

    /// Clears `ts` and `vals`, then fills them with series `id`'s visible points in
    /// range, sorted by timestamp, one value per timestamp.
    pub fn read(&mut self, id: u32, ts: &mut Vec<i64>, vals: &mut Vec<f64>) -> Result<()> {
        ts.clear();
        vals.clear();
        self.hidden.clear();
        let (start, end) = (self.start, self.end);
        if start > end {
            return Ok(());
        }
        let view = Arc::clone(&self.view);

        let head = Arc::clone(&self.head);
        if let Some((t, v)) = head.series.get(&id) {
            // The newest source: it fills the (empty) output as is.
            ts.extend_from_slice(t);
            vals.extend_from_slice(v);
        }
        add_hidden(
            &mut self.hidden,
            series_tombstones(&head.tombstones, id),
            start,
            end,
        );

        for sealed in &view.sealed {
            sealed
                .head
                .read_series(id, start, end, &mut self.tmp_ts, &mut self.tmp_vals);
            self.absorb(ts, vals);
            add_hidden(
                &mut self.hidden,
                series_tombstones(&sealed.tombstones, id),
                start,
                end,
            );
        }

        for i in 0..self.segments.len() {
            let Some(file) = self.segments.get(i).cloned() else {
                break;
            };
            let seg = &file.seg;
            if file.meta.points_overlap(start, end) && seg.series_ids().contains(id) {
                let chunks = seg.chunks_in_range(id, start, end);
                if !chunks.is_empty() {
                    if ts.is_empty() && self.hidden.is_empty() {
                        // Only source so far: decode straight into the output.
                        for c in chunks {
                            seg.decode_chunk(c, ts, vals)?;
                        }
                        trim_to_range(ts, vals, start, end);
                    } else {
                        self.tmp_ts.clear();
                        self.tmp_vals.clear();
                        for c in chunks {
                            seg.decode_chunk(c, &mut self.tmp_ts, &mut self.tmp_vals)?;
                        }
                        trim_to_range(&mut self.tmp_ts, &mut self.tmp_vals, start, end);
                        self.absorb(ts, vals);
                    }
                }
            }
            let tombs = seg
                .series_tombstones(id)
                .iter()
                .map(|t| (t.start(), t.end()));
            for (s, e) in tombs {
                if s <= end && start <= e {
                    self.hidden.push((s, e));
                }
            }
        }
        Ok(())
    }

    /// Merges the points in `tmp_*` (from an older source) under `ts`/`vals`: points
    /// hidden by newer tombstones are dropped, and on equal timestamps `ts` wins.
    fn absorb(&mut self, ts: &mut Vec<i64>, vals: &mut Vec<f64>) {
        if self.tmp_ts.is_empty() {
            return;
        }
        retain_outside(&mut self.tmp_ts, &mut self.tmp_vals, &self.hidden);
        if ts.is_empty() {
            std::mem::swap(ts, &mut self.tmp_ts);
            std::mem::swap(vals, &mut self.tmp_vals);
            return;
        }
        merge_newer_wins(
            ts,
            vals,
            &self.tmp_ts,
            &self.tmp_vals,
            &mut self.merge_ts,
            &mut self.merge_vals,
        );
        std::mem::swap(ts, &mut self.merge_ts);
        std::mem::swap(vals, &mut self.merge_vals);
    }
}

/// Adds the parts of `tombs` that touch `[start, end]` to `hidden`.
fn add_hidden(hidden: &mut Vec<(i64, i64)>, tombs: &[Tombstone], start: i64, end: i64) {
    hidden.extend(
        tombs
            .iter()
            .filter(|t| t.1 <= end && start <= t.2)
            .map(|t| (t.1, t.2)),
    );
}

/// Keeps only the points of sorted `ts` within `[start, end]`.
pub(crate) fn trim_to_range(ts: &mut Vec<i64>, vals: &mut Vec<f64>, start: i64, end: i64) {
    let hi = ts.partition_point(|&t| t <= end);
    ts.truncate(hi);
    vals.truncate(hi);
    let lo = ts.partition_point(|&t| t < start);
    if lo > 0 {
        ts.drain(..lo);
        vals.drain(..lo);
    }
}

/// Drops the points whose timestamp lies in any of the inclusive `ranges`.
pub(crate) fn retain_outside(ts: &mut Vec<i64>, vals: &mut Vec<f64>, ranges: &[(i64, i64)]) {
    if ranges.is_empty() {
        return;
    }
    let hidden = |t: i64| ranges.iter().any(|&(s, e)| s <= t && t <= e);
    let mut w = 0;
    for r in 0..ts.len() {
        let (Some(&t), Some(&v)) = (ts.get(r), vals.get(r)) else {
            break;
        };
        if !hidden(t) {
            if let (Some(tw), Some(vw)) = (ts.get_mut(w), vals.get_mut(w)) {
                *tw = t;
                *vw = v;
            }
            w += 1;
        }
    }
    ts.truncate(w);
    vals.truncate(w);
}

/// Merges sorted, unique `new` and `old` series into `out` (cleared first); on equal
/// timestamps the point of `new` is kept.
pub(crate) fn merge_newer_wins(
    new_ts: &[i64],
    new_vals: &[f64],
    old_ts: &[i64],
    old_vals: &[f64],
    out_ts: &mut Vec<i64>,
    out_vals: &mut Vec<f64>,
) {
    out_ts.clear();
    out_vals.clear();
    out_ts.reserve(new_ts.len() + old_ts.len());
    out_vals.reserve(new_ts.len() + old_ts.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(&n), Some(&o)) = (new_ts.get(i), old_ts.get(j)) {
        if n <= o {
            out_ts.push(n);
            out_vals.push(new_vals.get(i).copied().unwrap_or(f64::NAN));
            i += 1;
            if n == o {
                j += 1;
            }
        } else {
            out_ts.push(o);
            out_vals.push(old_vals.get(j).copied().unwrap_or(f64::NAN));
            j += 1;
        }
    }
    out_ts.extend_from_slice(new_ts.get(i..).unwrap_or_default());
    out_vals.extend_from_slice(new_vals.get(i..).unwrap_or_default());
    out_ts.extend_from_slice(old_ts.get(j..).unwrap_or_default());
    out_vals.extend_from_slice(old_vals.get(j..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn trim_and_retain() {
        let mut ts = vec![1, 3, 5, 7, 9];
        let mut v = vec![1.0, 3.0, 5.0, 7.0, 9.0];
        trim_to_range(&mut ts, &mut v, 2, 7);
        assert_eq!(ts, vec![3, 5, 7]);
        assert_eq!(v, vec![3.0, 5.0, 7.0]);
        retain_outside(&mut ts, &mut v, &[(4, 6)]);
        assert_eq!(ts, vec![3, 7]);
        assert_eq!(v, vec![3.0, 7.0]);
        trim_to_range(&mut ts, &mut v, 8, 2);
        assert!(ts.is_empty() && v.is_empty());
    }

    proptest! {
        #[test]
        fn merge_equals_map_overlay(
            new in proptest::collection::btree_map(-50i64..50, any::<i32>(), 0..30),
            old in proptest::collection::btree_map(-50i64..50, any::<i32>(), 0..30),
        ) {
            let cols = |m: &BTreeMap<i64, i32>| -> (Vec<i64>, Vec<f64>) {
                (m.keys().copied().collect(), m.values().map(|&v| f64::from(v)).collect())
            };
            let (nt, nv) = cols(&new);
            let (ot, ov) = cols(&old);
            let (mut mt, mut mv) = (Vec::new(), Vec::new());
            merge_newer_wins(&nt, &nv, &ot, &ov, &mut mt, &mut mv);
            let mut model = old.clone();
            model.extend(new.iter());
            let (et, ev) = cols(&model);
            prop_assert_eq!(mt, et);
            prop_assert_eq!(mv, ev);
        }
    }
}
