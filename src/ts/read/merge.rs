//! Reading one series over a time range: the head, the frozen heads and the segments.
//!
//! The heads (the live head's snapshot, then the frozen heads, newest first) are merged
//! first: each one's points are stripped of what newer heads' tombstones hide and put
//! under the points gathered so far (equal timestamps: the newer wins). The segments
//! come from the query's [`ReadPlan`], in groups disjoint in time, read one after the
//! other with no merge across groups. A group of one segment (the usual case after
//! compaction: one segment per time partition) decodes its chunks in range — found by
//! a directory lookup and a binary search, `O(log)` per segment — straight into the
//! output; a group of overlapping segments goes through [`OverlapReader`]. The heads'
//! tombstones are applied to what the segments give, and the heads' points are laid
//! over it, batch by batch, touching only the part from their first timestamp on.
//!
//! A series is read in batches ([`SeriesReader::next_batch`]): whole chunks until the
//! batch holds a given number of points, so a reader's buffers stay the size of a
//! batch (and in cache) however long the series is.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::Result;
use crate::ts::analytics::ValueFilter;
use crate::ts::core::columns::{Columns, coalesce};
use crate::ts::core::view::{ReadView, series_tombstones};
use crate::ts::head::{Head, Tombstone};
use crate::ts::read::overlap::OverlapReader;
use crate::ts::read::plan::ReadPlan;

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

/// Where a [`SeriesReader`] is in the plan's groups for the current series.
#[derive(Debug, Clone, Copy)]
enum Cursor {
    /// Group `g` is the next to open.
    Open(usize),
    /// Reading chunks `next..stop` of the lone segment of group `g`.
    Chunks { g: usize, next: usize, stop: usize },
    /// Reading group `g` through the overlap reader.
    Overlap(usize),
    /// Every group was read.
    Done,
}

/// Reads series from one [`ReadView`] (with a [`HeadSnapshot`] standing for its live
/// head) over the range of a [`ReadPlan`], reusing its buffers from one series to the
/// next: [`SeriesReader::start`] a series, then take its points with
/// [`SeriesReader::next_batch`] until a batch comes back empty.
pub(crate) struct SeriesReader {
    view: Arc<ReadView>,
    head: Arc<HeadSnapshot>,
    plan: Arc<ReadPlan>,
    /// The series being read.
    id: u32,
    cursor: Cursor,
    /// The ranges the heads' tombstones delete, sorted and disjoint.
    hidden: Vec<(i64, i64)>,
    /// The part of `hidden` touching the current group.
    group_hidden: std::ops::Range<usize>,
    /// The heads' visible points; those before `recent_at` are in earlier batches.
    recent: Columns,
    recent_at: usize,
    older: Columns,
    merged: Columns,
    overlap: OverlapReader,
    /// Rows whose value fails it are left out of every batch; chunks of a lone
    /// segment whose index entry shows that no value can pass are not decoded.
    filter: Option<ValueFilter>,
}

impl SeriesReader {
    /// A reader of `[start, end]` (inclusive) in `view`, whose live head is read from
    /// `head` (captured over at least that range).
    pub fn new(view: Arc<ReadView>, head: Arc<HeadSnapshot>, start: i64, end: i64) -> Self {
        let plan = Arc::new(ReadPlan::new(&view.version, start, end));
        SeriesReader::with_plan(view, head, plan)
    }

    /// A reader of `plan` (made from `view`'s version), whose live head is read from
    /// `head` (captured over at least the plan's range). Readers of one query share
    /// the plan.
    pub fn with_plan(view: Arc<ReadView>, head: Arc<HeadSnapshot>, plan: Arc<ReadPlan>) -> Self {
        SeriesReader {
            view,
            head,
            plan,
            id: 0,
            cursor: Cursor::Done,
            hidden: Vec::new(),
            group_hidden: 0..0,
            recent: Columns::new(),
            recent_at: 0,
            older: Columns::new(),
            merged: Columns::new(),
            overlap: OverlapReader::default(),
            filter: None,
        }
    }

    /// Keeps only the points whose value passes `filter` (every point for `None`), from
    /// the next batch on.
    pub fn set_value_filter(&mut self, filter: Option<ValueFilter>) {
        self.filter = filter;
    }

    /// Clears `out`, then fills it with series `id`'s visible points in range, sorted
    /// by timestamp, one value per timestamp.
    pub fn read(&mut self, id: u32, out: &mut Columns) -> Result<()> {
        self.start(id);
        self.next_batch(out, usize::MAX)
    }

    /// Starts reading series `id` (dropping what is left of the previous one): reads
    /// what the heads hold for it.
    pub fn start(&mut self, id: u32) {
        self.id = id;
        self.cursor = Cursor::Open(0);
        self.recent_at = 0;
        let (start, end) = (self.plan.start(), self.plan.end());
        self.read_heads(id, start, end);
        if start > end {
            self.cursor = Cursor::Done;
            self.recent.clear();
        }
    }

    /// Starts series `id` like [`SeriesReader::start`] and returns what the heads give:
    /// their visible points in range (sorted, one per timestamp) and the ranges their
    /// tombstones delete (sorted, disjoint), for readers that walk the plan's segments
    /// themselves (the analytics pushdown).
    pub fn start_heads(&mut self, id: u32) -> (&Columns, &[(i64, i64)]) {
        self.start(id);
        (&self.recent, &self.hidden)
    }

    /// Clears `out`, then fills it with the next visible points of the series being
    /// read, sorted by timestamp, one value per timestamp, after those of earlier
    /// batches: whole chunks until `out` holds at least `limit` points or the series
    /// ends (plus the heads' points among them), less the points the value filter
    /// drops. Empty once the series is read.
    pub fn next_batch(&mut self, out: &mut Columns, limit: usize) -> Result<()> {
        loop {
            self.fill_batch(out, limit)?;
            let Some(filter) = self.filter.filter(|_| !out.is_empty()) else {
                return Ok(()); // no filter, or the series is read
            };
            // The filter applies to the merged points: a head point replacing a
            // segment point is judged by its own value.
            out.retain_values(|v| filter.matches(v));
            if !out.is_empty() {
                return Ok(());
            }
        }
    }

    /// [`SeriesReader::next_batch`] before the value filter: empty only once the
    /// series is read.
    fn fill_batch(&mut self, out: &mut Columns, limit: usize) -> Result<()> {
        out.clear();
        let plan = Arc::clone(&self.plan);
        let range = (plan.start(), plan.end());
        let id = self.id;
        while out.len() < limit {
            match self.cursor {
                Cursor::Open(g) => {
                    let Some(group) = plan.groups().get(g) else {
                        self.cursor = Cursor::Done;
                        continue;
                    };
                    // Warm the caches for the next groups while this one decodes:
                    // the chunk data of the next, the index entries of the one after.
                    for (ahead, data) in [(1, true), (2, false)] {
                        if let Some([only]) =
                            plan.groups().get(g + ahead).map(|n| n.segments.as_slice())
                        {
                            only.seg.prefetch(id, data);
                        }
                    }
                    let from = self.hidden.partition_point(|r| r.1 < group.lo);
                    let to = self.hidden.partition_point(|r| r.0 <= group.hi).max(from);
                    self.group_hidden = from..to;
                    self.cursor = if let [only] = group.segments.as_slice() {
                        // A lone segment: its chunks are disjoint and sorted, and
                        // every other group's points lie before or after them.
                        let r = only.seg.chunk_indexes_in_range(id, range.0, range.1);
                        Cursor::Chunks {
                            g,
                            next: r.start,
                            stop: r.end,
                        }
                    } else {
                        let hidden = self.hidden.get(from..to).unwrap_or_default();
                        self.overlap.start(group, id, range, hidden);
                        Cursor::Overlap(g)
                    };
                }
                Cursor::Chunks { g, next, stop } => {
                    let seg = plan
                        .groups()
                        .get(g)
                        .and_then(|group| group.segments.first())
                        .map(|file| &file.seg);
                    let chunk = seg.and_then(|s| Some((s, s.all_chunks().get(next)?)));
                    let (Some((seg, chunk)), true) = (chunk, next < stop) else {
                        self.cursor = Cursor::Open(g + 1);
                        continue;
                    };
                    self.cursor = Cursor::Chunks {
                        g,
                        next: next + 1,
                        stop,
                    };
                    // In a lone segment no other source shares these timestamps but
                    // the heads, whose points the filter judges by their own values.
                    let excluded = self.filter.is_some_and(|f| {
                        f.covers(chunk.min_value(), chunk.max_value(), chunk.sum()) == Some(false)
                    });
                    if excluded {
                        continue;
                    }
                    let at = out.len();
                    seg.decode_chunk_span(chunk, range.0, range.1, out)?;
                    out.trim_to_range_from(at, range.0, range.1);
                    let hidden = self.hidden.get(self.group_hidden.clone());
                    out.retain_outside_from(at, hidden.unwrap_or_default());
                }
                Cursor::Overlap(g) => {
                    let more = match plan.groups().get(g) {
                        Some(group) => self.overlap.fill(group, range, out, limit)?,
                        None => false,
                    };
                    if !more {
                        self.cursor = Cursor::Open(g + 1);
                    }
                }
                Cursor::Done => break,
            }
        }
        // The heads' points up to the batch's last timestamp (all of them once the
        // segments are read): later segment points all come after that timestamp.
        let through = match (self.cursor, out.ts().last()) {
            (Cursor::Done, _) => None,
            (_, Some(&last)) => Some(last),
            // No segment point in this batch: no head point can be handed over yet.
            (_, None) => return Ok(()),
        };
        let (ts, vals) = self.recent.take_through(&mut self.recent_at, through);
        out.overlay(ts, vals, &mut self.merged);
        Ok(())
    }

    /// Fills `recent` with the heads' visible points of series `id` in `[start, end]`
    /// and `hidden` with the ranges their tombstones delete there.
    fn read_heads(&mut self, id: u32, start: i64, end: i64) {
        self.recent.clear();
        self.hidden.clear();
        if let Some(points) = self.head.series.get(&id) {
            // The newest source: it fills the (empty) buffer as is.
            self.recent.extend_from(points.ts(), points.vals());
        }
        add_hidden(
            &mut self.hidden,
            series_tombstones(&self.head.tombstones, id),
            start,
            end,
        );
        for frozen in &self.view.frozen {
            self.older.clear();
            frozen.head.read_series(id, start, end, &mut self.older);
            if !self.older.is_empty() {
                coalesce(&mut self.hidden);
                self.older.retain_outside(&self.hidden);
                if self.recent.is_empty() {
                    std::mem::swap(&mut self.recent, &mut self.older);
                } else {
                    self.merged.merge_newer_wins(&self.recent, &self.older);
                    std::mem::swap(&mut self.recent, &mut self.merged);
                }
            }
            add_hidden(
                &mut self.hidden,
                series_tombstones(&frozen.tombstones, id),
                start,
                end,
            );
        }
        coalesce(&mut self.hidden);
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
