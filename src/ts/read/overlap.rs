//! Reading one series from a group of segments that overlap in time (flushes not yet
//! compacted, late writes into old time ranges): a merge of the members' chunk streams
//! by timestamp, newest member first on equal timestamps.
//!
//! Each member (by recency rank, 0 = newest) is a stream of its series' chunks in
//! range, disjoint and in time order; a chunk is decoded only when the merge reaches
//! it, into that member's own buffer. A binary heap orders the members by their next
//! timestamp (for a chunk not decoded yet, its first timestamp from the index: a lower
//! bound). The member on top gives, in one copy, the whole run of its points that lie
//! before the next member's next timestamp; on equal timestamps the newest member's
//! point is kept and the others' are skipped. So the cost is that of copying the points
//! plus a heap operation per run, however many members the group has: a late point
//! that makes one wide chunk overlap a hundred partitions cuts their runs once, it
//! does not merge a hundred times over. Each member's points are stripped of what newer
//! members' tombstones (and the heads') delete.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::error::Result;
use crate::ts::core::columns::{Columns, coalesce, ranges_overlapping};
use crate::ts::read::plan::Group;

/// Where the merge is in one member's chunks of the series.
#[derive(Debug, Default)]
struct Member {
    /// The next chunk to decode, as an index of the segment's chunk table, and the end
    /// of the series' chunks in range.
    next: usize,
    stop: usize,
    /// The decoded chunk (trimmed to the range) and the first point not yet merged;
    /// meaningful when `decoded`.
    buf: Columns,
    pos: usize,
    decoded: bool,
}

/// Reads one series from a group of overlapping segments ([`OverlapReader::start`],
/// then [`OverlapReader::fill`] until it returns false), reusing its buffers from one
/// series to the next.
#[derive(Debug, Default)]
pub(crate) struct OverlapReader {
    members: Vec<Member>,
    /// `(next timestamp or lower bound, rank)` of every member with points left.
    heap: BinaryHeap<Reverse<(i64, usize)>>,
    /// Per rank `r`, `hidden[at[r]..at[r + 1]]`: the ranges deleted by newer members'
    /// tombstones and the heads', sorted and disjoint.
    hidden: Vec<(i64, i64)>,
    at: Vec<usize>,
    /// The series' tombstones in range: `(start, end, rank)`.
    tombs: Vec<(i64, i64, usize)>,
    scratch: Vec<(i64, i64)>,
}

impl OverlapReader {
    /// Starts reading series `id` from `group` within `[start, end]`: a directory
    /// lookup, a binary search of the chunks and one of the tombstones per member.
    /// `heads` (sorted, disjoint) holds the ranges deleted by sources newer than every
    /// segment.
    pub fn start(
        &mut self,
        group: &Group,
        id: u32,
        (start, end): (i64, i64),
        heads: &[(i64, i64)],
    ) {
        let k = group.segments.len();
        self.members.truncate(k);
        self.members.resize_with(k, Member::default);
        self.heap.clear();
        self.tombs.clear();
        for ((rank, file), m) in group.segments.iter().enumerate().zip(&mut self.members) {
            let seg = &file.seg;
            let span = seg.chunk_indexes_in_range(id, start, end);
            (m.next, m.stop, m.pos, m.decoded) = (span.start, span.end, 0, false);
            m.buf.clear();
            if let Some(first) = seg.all_chunks().get(span).and_then(|c| c.first()) {
                self.heap.push(Reverse((first.min_ts(), rank)));
            }
            let own = seg.series_tombstones(id).iter();
            self.tombs.extend(
                own.filter(|t| t.start() <= end && start <= t.end())
                    .map(|t| (t.start(), t.end(), rank)),
            );
        }
        // What each rank must not show: the heads' ranges, then every newer rank's
        // tombstones, accumulated rank by rank.
        self.hidden.clear();
        self.at.clear();
        self.scratch.clear();
        self.scratch.extend_from_slice(heads);
        for rank in 0..k {
            self.at.push(self.hidden.len());
            self.hidden.extend_from_slice(&self.scratch);
            let own = self.tombs.iter().filter(|t| t.2 == rank);
            let before = self.scratch.len();
            self.scratch.extend(own.map(|t| (t.0, t.1)));
            if self.scratch.len() > before {
                coalesce(&mut self.scratch);
            }
        }
        self.at.push(self.hidden.len());
    }

    /// Appends to `out` the next visible points of the series given to
    /// [`OverlapReader::start`] (with the same `group` and range), in time order, one
    /// per timestamp, after those appended before: whole runs until `out` holds at
    /// least `limit` points. Returns false once the series' points in the group are
    /// all merged.
    pub fn fill(
        &mut self,
        group: &Group,
        (start, end): (i64, i64),
        out: &mut Columns,
        limit: usize,
    ) -> Result<bool> {
        let OverlapReader {
            members,
            heap,
            hidden,
            at,
            ..
        } = self;
        while out.len() < limit {
            let Some(Reverse((t0, r0))) = heap.pop() else {
                return Ok(false);
            };
            let Some(m) = members.get_mut(r0) else {
                continue;
            };
            if !m.decoded {
                decode_next(group, r0, m, (start, end))?;
                push_next(heap, group, r0, m);
                continue;
            }
            let hide = hidden
                .get(at.get(r0).copied().unwrap_or(0)..at.get(r0 + 1).copied().unwrap_or(0))
                .unwrap_or_default();
            let rest = m.buf.ts().get(m.pos..).unwrap_or_default();
            match heap.peek().map(|e| (e.0).0) {
                Some(t1) if t1 == t0 => {
                    // Equal timestamps: this member is the newest of them; skip the
                    // others' points at `t0` (decoding a member whose chunk starts
                    // there, to find out whether it has the point).
                    emit(out, m, 1, hide);
                    push_next(heap, group, r0, m);
                    while let Some(&Reverse((t, r))) = heap.peek() {
                        if t != t0 {
                            break;
                        }
                        heap.pop();
                        let Some(o) = members.get_mut(r) else {
                            continue;
                        };
                        if o.decoded {
                            o.pos += 1;
                        } else {
                            decode_next(group, r, o, (start, end))?;
                        }
                        push_next(heap, group, r, o);
                    }
                }
                next => {
                    // Every other member's next point is at `next` or later.
                    let n = match next {
                        Some(t1) => rest.partition_point(|&t| t < t1),
                        None => rest.len(),
                    };
                    emit(out, m, n, hide);
                    push_next(heap, group, r0, m);
                }
            }
        }
        Ok(!heap.is_empty())
    }
}

/// Decodes member `rank`'s next chunk into its buffer, trimmed to the range.
fn decode_next(group: &Group, rank: usize, m: &mut Member, (start, end): (i64, i64)) -> Result<()> {
    m.buf.clear();
    m.pos = 0;
    m.decoded = true;
    let seg = group.segments.get(rank).map(|f| &f.seg);
    if let Some((seg, chunk)) = seg.and_then(|s| Some((s, s.all_chunks().get(m.next)?))) {
        seg.decode_chunk_span(chunk, start, end, &mut m.buf)?;
        m.buf.trim_to_range(start, end);
    }
    m.next += 1;
    Ok(())
}

/// Puts member `rank` back on the heap under its next timestamp (its next chunk's
/// first timestamp once its buffer is used up), unless it has no points left.
fn push_next(
    heap: &mut BinaryHeap<Reverse<(i64, usize)>>,
    group: &Group,
    rank: usize,
    m: &mut Member,
) {
    if m.decoded {
        if let Some(&t) = m.buf.ts().get(m.pos) {
            heap.push(Reverse((t, rank)));
            return;
        }
        m.decoded = false;
    }
    if m.next < m.stop {
        let seg = group.segments.get(rank).map(|f| &f.seg);
        if let Some(c) = seg.and_then(|s| s.all_chunks().get(m.next)) {
            heap.push(Reverse((c.min_ts(), rank)));
        }
    }
}

/// Appends member `m`'s next `n` points to `out`, without those in `hide`.
fn emit(out: &mut Columns, m: &mut Member, n: usize, hide: &[(i64, i64)]) {
    let (from, to) = (m.pos, m.pos + n);
    m.pos = to;
    let ts = m.buf.ts().get(from..to).unwrap_or_default();
    let vals = m.buf.vals().get(from..to).unwrap_or_default();
    let (Some(&lo), Some(&hi)) = (ts.first(), ts.last()) else {
        return;
    };
    let at = out.len();
    out.extend_from(ts, vals);
    out.retain_outside_from(at, ranges_overlapping(hide, lo, hi));
}
