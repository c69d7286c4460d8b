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
use crate::ts::columns::Columns;
use crate::ts::head::{Head, Tombstone};
use crate::ts::version::SegmentFile;
use crate::ts::view::{ReadView, series_tombstones};

/// A copy of what the live head holds for some series over a range, taken at one
/// instant (under the engine's head gate, which writers hold while they apply a
/// write to the head), so a query sees every write to the head whole or not at all.
/// Frozen heads and segments are immutable and need no copy.
#[derive(Debug, Default)]
pub(crate) struct HeadSnapshot {
    series: HashMap<u32, Columns>,
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
                let mut points = Columns::new();
                head.read_series(id, start, end, &mut points);
                if !points.is_empty() {
                    series.insert(id, points);
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
    /// An older source's points, before they are merged under the output.
    older: Columns,
    merged: Columns,
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
            older: Columns::new(),
            merged: Columns::new(),
        }
    }

    /// Clears `out`, then fills it with series `id`'s visible points in range, sorted
    /// by timestamp, one value per timestamp.
    pub fn read(&mut self, id: u32, out: &mut Columns) -> Result<()> {
        out.clear();
        self.hidden.clear();
        let (start, end) = (self.start, self.end);
        if start > end {
            return Ok(());
        }
        let view = Arc::clone(&self.view);

        let head = Arc::clone(&self.head);
        if let Some(points) = head.series.get(&id) {
            // The newest source: it fills the (empty) output as is.
            out.extend_from(points.ts(), points.vals());
        }
        add_hidden(
            &mut self.hidden,
            series_tombstones(&head.tombstones, id),
            start,
            end,
        );

        for sealed in &view.sealed {
            self.older.clear();
            sealed.head.read_series(id, start, end, &mut self.older);
            self.absorb(out);
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
                    if out.is_empty() && self.hidden.is_empty() {
                        // Only source so far: decode straight into the output.
                        for c in chunks {
                            seg.decode_chunk_to(c, out)?;
                        }
                        out.trim_to_range(start, end);
                    } else {
                        self.older.clear();
                        for c in chunks {
                            seg.decode_chunk_to(c, &mut self.older)?;
                        }
                        self.older.trim_to_range(start, end);
                        self.absorb(out);
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

    /// Merges the points in `older` (from an older source) under `out`: points hidden
    /// by newer tombstones are dropped, and on equal timestamps `out` wins.
    fn absorb(&mut self, out: &mut Columns) {
        if self.older.is_empty() {
            return;
        }
        self.older.retain_outside(&self.hidden);
        if out.is_empty() {
            std::mem::swap(out, &mut self.older);
            return;
        }
        self.merged.merge_newer_wins(out, &self.older);
        std::mem::swap(out, &mut self.merged);
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
