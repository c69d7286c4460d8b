//! [`Columns`]: a timestamp column and a value column that keep their memory, and its
//! contents, from one use to the next.
//!
//! Reads decode chunks straight into these buffers. A `Vec` cleared between series
//! would zero-fill its slots before every decode (the decoders write into initialized
//! slices); here the slots are initialized once, when the buffers grow, and a refill
//! only overwrites them.

use std::cell::RefCell;

/// Parallel timestamp and value columns of `len` points; the memory past `len` is
/// initialized scratch, kept for the next fill.
///
/// Dropped columns hand their memory to a small per-thread pool that
/// [`Columns::new`] takes from: a short read (a point get, a one-series query) would
/// otherwise spend as long allocating and zero-filling its buffers as decoding.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    ts: Vec<i64>,
    vals: Vec<f64>,
    len: usize,
}

/// Columns kept per thread at most.
const POOL_COLUMNS: usize = 8;
/// Columns longer than this many points are freed, not kept (512 KiB each).
const POOL_MAX_POINTS: usize = 1 << 15;

thread_local! {
    /// Memory of dropped columns, for the next [`Columns::new`] on this thread.
    static POOL: RefCell<Vec<(Vec<i64>, Vec<f64>)>> = const { RefCell::new(Vec::new()) };
}

impl Default for Columns {
    fn default() -> Self {
        Columns::new()
    }
}

impl Drop for Columns {
    fn drop(&mut self) {
        if self.ts.is_empty() || self.ts.len() > POOL_MAX_POINTS {
            return;
        }
        let buffers = (std::mem::take(&mut self.ts), std::mem::take(&mut self.vals));
        // `try_with`: during thread exit the pool may be gone; the memory is then freed.
        let _ = POOL.try_with(|pool| {
            if let Ok(mut pool) = pool.try_borrow_mut()
                && pool.len() < POOL_COLUMNS
            {
                pool.push(buffers);
            }
        });
    }
}

impl Columns {
    /// Empty columns, with the memory of columns this thread dropped when there is some.
    pub fn new() -> Self {
        let kept = POOL
            .try_with(|pool| pool.try_borrow_mut().ok().and_then(|mut p| p.pop()))
            .ok()
            .flatten();
        let (ts, vals) = kept.unwrap_or_default();
        Columns { ts, vals, len: 0 }
    }

    /// Drops every point (keeping the memory).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The number of points.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no point.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The timestamps.
    pub fn ts(&self) -> &[i64] {
        self.ts.get(..self.len).unwrap_or_default()
    }

    /// The values, one per timestamp.
    pub fn vals(&self) -> &[f64] {
        self.vals.get(..self.len).unwrap_or_default()
    }

    /// Room for `n` more points after the current ones, for a decoder to fill: the
    /// slices are exactly `n` long. They join the columns with [`Columns::commit`].
    pub fn spare(&mut self, n: usize) -> (&mut [i64], &mut [f64]) {
        let want = self.len.saturating_add(n);
        if self.ts.len() < want {
            self.ts.resize(want, 0);
            self.vals.resize(want, 0.0);
        }
        let len = self.len;
        (
            self.ts.get_mut(len..want).unwrap_or_default(),
            self.vals.get_mut(len..want).unwrap_or_default(),
        )
    }

    /// Makes the first `n` slots of the last [`Columns::spare`] part of the columns.
    pub fn commit(&mut self, n: usize) {
        self.len = self.len.saturating_add(n).min(self.ts.len());
    }

    /// The points from index `*at` on with a timestamp up to `through` (all of them
    /// for `None`), as columns; moves `*at` past them. For handing a sorted series
    /// over in pieces as a reader advances.
    pub fn take_through(&self, at: &mut usize, through: Option<i64>) -> (&[i64], &[f64]) {
        let (ts, vals) = (self.ts(), self.vals());
        let rest = ts.get(*at..).unwrap_or_default();
        let n = match through {
            Some(t) => rest.partition_point(|&x| x <= t),
            None => rest.len(),
        };
        let from = *at;
        *at += n;
        (
            ts.get(from..*at).unwrap_or_default(),
            vals.get(from..*at).unwrap_or_default(),
        )
    }

    /// Appends points.
    pub fn extend_from(&mut self, ts: &[i64], vals: &[f64]) {
        let n = ts.len().min(vals.len());
        let (t, v) = self.spare(n);
        t.copy_from_slice(ts.get(..n).unwrap_or_default());
        v.copy_from_slice(vals.get(..n).unwrap_or_default());
        self.commit(n);
    }

    /// Keeps only the first `n` points (all of them if there are fewer).
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }

    /// Keeps only the points of sorted timestamps within `[start, end]`.
    pub fn trim_to_range(&mut self, start: i64, end: i64) {
        self.trim_to_range_from(0, start, end);
    }

    /// Keeps, of the points from index `from` on (sorted by timestamp), only those
    /// within `[start, end]`; the points before `from` stay as they are.
    pub fn trim_to_range_from(&mut self, from: usize, start: i64, end: i64) {
        let (lo, hi) = self.range_from(from, start, end);
        self.len = hi;
        self.remove(from..lo);
    }

    /// Drops the first `n` points, moving the later ones down.
    pub fn trim_front(&mut self, n: usize) {
        self.remove(0..n.min(self.len));
    }

    /// The points from index `from` on (sorted by timestamp) within `[start, end]`,
    /// as the index range `lo..hi` ([`Columns::trim_to_range_from`] without the move).
    pub fn range_from(&self, from: usize, start: i64, end: i64) -> (usize, usize) {
        let tail = self.ts().get(from..).unwrap_or_default();
        if tail.first().is_none_or(|&t| t >= start) && tail.last().is_none_or(|&t| t <= end) {
            // all in range (whole chunks inside the range): nothing to search
            return (from.min(self.len), self.len);
        }
        let hi = from + tail.partition_point(|&t| t <= end);
        let lo = (from + tail.partition_point(|&t| t < start)).min(hi);
        (lo, hi)
    }

    /// Drops the points from index `from` on whose timestamp lies in any of the
    /// inclusive `ranges`, which must be sorted and disjoint ([`coalesce`]); the points
    /// must be sorted by timestamp. Two binary searches per range, and each kept point
    /// moves at most once.
    pub fn retain_outside_from(&mut self, from: usize, ranges: &[(i64, i64)]) {
        debug_assert!(ranges.windows(2).all(|w| w[0].1 < w[1].0));
        let mut read = from.min(self.len);
        let mut write = read;
        for &(s, e) in ranges {
            let rest = self.ts().get(read..).unwrap_or_default();
            let keep = rest.partition_point(|&t| t < s);
            let drop = rest
                .get(keep..)
                .unwrap_or_default()
                .partition_point(|&t| t <= e);
            self.move_within(read..read + keep, write);
            write += keep;
            read += keep + drop;
        }
        let rest = self.len - read;
        self.move_within(read..self.len, write);
        self.len = write + rest;
    }

    /// Drops the points of sorted timestamps in any of the inclusive `ranges` (sorted
    /// and disjoint).
    pub fn retain_outside(&mut self, ranges: &[(i64, i64)]) {
        self.retain_outside_from(0, ranges);
    }

    /// Keeps only the points whose value passes `keep`, in order.
    pub fn retain_values(&mut self, keep: impl Fn(f64) -> bool) {
        let mut write = 0;
        for read in 0..self.len {
            let (Some(&t), Some(&v)) = (self.ts.get(read), self.vals.get(read)) else {
                break;
            };
            if keep(v) {
                if let (Some(wt), Some(wv)) = (self.ts.get_mut(write), self.vals.get_mut(write)) {
                    *wt = t;
                    *wv = v;
                }
                write += 1;
            }
        }
        self.len = write;
    }

    /// Puts the points `(ts, vals)` over these (both sorted, unique): on equal
    /// timestamps the point of `ts` is kept. Only the points from `ts`'s first timestamp
    /// on are merged (through `scratch`); the ones before it stay in place, so laying
    /// recent points over a long history costs what the recent part covers.
    pub fn overlay(&mut self, ts: &[i64], vals: &[f64], scratch: &mut Columns) {
        let n = ts.len().min(vals.len());
        let (ts, vals) = (
            ts.get(..n).unwrap_or_default(),
            vals.get(..n).unwrap_or_default(),
        );
        let Some(&first) = ts.first() else {
            return;
        };
        let at = self.ts().partition_point(|&t| t < first);
        if at == self.len {
            self.extend_from(ts, vals);
            return;
        }
        scratch.clear();
        let (old_ts, old_vals) = (self.ts(), self.vals());
        scratch.merge_slices(
            (ts, vals),
            (
                old_ts.get(at..).unwrap_or_default(),
                old_vals.get(at..).unwrap_or_default(),
            ),
        );
        self.truncate(at);
        self.extend_from(scratch.ts(), scratch.vals());
    }

    /// Moves the points at `range` to start at index `to` (`to <= range.start`).
    fn move_within(&mut self, range: std::ops::Range<usize>, to: usize) {
        if range.start != to && !range.is_empty() {
            self.ts.copy_within(range.clone(), to);
            self.vals.copy_within(range, to);
        }
    }

    /// Removes the points at `range`, moving the later ones down.
    fn remove(&mut self, range: std::ops::Range<usize>) {
        if range.is_empty() {
            return;
        }
        let n = range.end - range.start;
        self.move_within(range.end..self.len, range.start);
        self.len -= n;
    }

    /// Replaces the columns with the merge of the sorted, unique points of `new` and
    /// `old`; on equal timestamps the point of `new` is kept.
    pub fn merge_newer_wins(&mut self, new: &Columns, old: &Columns) {
        self.clear();
        self.merge_slices((new.ts(), new.vals()), (old.ts(), old.vals()));
    }

    /// Appends the merge of the sorted, unique points `new` and `old` (timestamps,
    /// values); on equal timestamps the point of `new` is kept.
    fn merge_slices(&mut self, new: (&[i64], &[f64]), old: (&[i64], &[f64])) {
        let ((nt, nv), (ot, ov)) = (new, old);
        let (out_t, out_v) = self.spare(nt.len() + ot.len());
        let (mut i, mut j, mut k) = (0, 0, 0);
        while let (Some(&n), Some(&o)) = (nt.get(i), ot.get(j)) {
            let (t, v) = if n <= o {
                let v = nv.get(i).copied().unwrap_or(f64::NAN);
                i += 1;
                if n == o {
                    j += 1;
                }
                (n, v)
            } else {
                let v = ov.get(j).copied().unwrap_or(f64::NAN);
                j += 1;
                (o, v)
            };
            if let (Some(ot), Some(ov)) = (out_t.get_mut(k), out_v.get_mut(k)) {
                *ot = t;
                *ov = v;
            }
            k += 1;
        }
        for (src_t, src_v, from) in [(nt, nv, i), (ot, ov, j)] {
            let rest_t = src_t.get(from..).unwrap_or_default();
            let rest_v = src_v.get(from..).unwrap_or_default();
            let n = rest_t.len();
            if let (Some(dt), Some(dv)) = (out_t.get_mut(k..k + n), out_v.get_mut(k..k + n)) {
                dt.copy_from_slice(rest_t);
                dv.copy_from_slice(rest_v.get(..n).unwrap_or_default());
            }
            k += n;
        }
        self.commit(k);
    }
}

/// Sorts inclusive `ranges` and merges those that overlap or touch, so that they are
/// sorted and disjoint, as [`Columns::retain_outside_from`] wants them.
pub(crate) fn coalesce(ranges: &mut Vec<(i64, i64)>) {
    ranges.sort_unstable();
    let mut w: usize = 0;
    for r in 0..ranges.len() {
        let Some(&(s, e)) = ranges.get(r) else { break };
        match w.checked_sub(1).and_then(|p| ranges.get_mut(p)) {
            Some(last) if s <= last.1.saturating_add(1) => last.1 = last.1.max(e),
            _ => {
                if let Some(slot) = ranges.get_mut(w) {
                    *slot = (s, e);
                }
                w += 1;
            }
        }
    }
    ranges.truncate(w);
}

/// The ranges of `ranges` (sorted and disjoint) that touch `[lo, hi]`: two binary
/// searches (disjoint sorted ranges have ascending ends too).
pub(crate) fn ranges_overlapping(ranges: &[(i64, i64)], lo: i64, hi: i64) -> &[(i64, i64)] {
    let from = ranges.partition_point(|r| r.1 < lo);
    let to = ranges.partition_point(|r| r.0 <= hi).max(from);
    ranges.get(from..to).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_through_hands_over_a_series_in_pieces() {
        let mut c = Columns::new();
        c.extend_from(&[1, 3, 3, 7, 9], &[1.0, 2.0, 3.0, 4.0, 5.0]);
        let mut at = 0;
        assert_eq!(c.take_through(&mut at, Some(0)), (&[][..], &[][..]));
        assert_eq!(
            c.take_through(&mut at, Some(3)),
            (&[1, 3, 3][..], &[1.0, 2.0, 3.0][..])
        );
        assert_eq!(at, 3);
        assert_eq!(c.take_through(&mut at, Some(3)), (&[][..], &[][..]));
        assert_eq!(
            c.take_through(&mut at, None),
            (&[7, 9][..], &[4.0, 5.0][..])
        );
        assert_eq!(at, 5);
        assert_eq!(c.take_through(&mut at, None), (&[][..], &[][..]));
        // Points past the length (kept memory of an earlier fill) are not handed over.
        c.clear();
        c.extend_from(&[2], &[6.0]);
        let mut at = 0;
        assert_eq!(c.take_through(&mut at, None), (&[2][..], &[6.0][..]));
        assert_eq!(c.take_through(&mut at, Some(100)), (&[][..], &[][..]));
    }
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn of(ts: &[i64], vals: &[f64]) -> Columns {
        let mut c = Columns::new();
        c.extend_from(ts, vals);
        c
    }

    #[test]
    fn trim_and_retain() {
        let mut c = of(&[1, 3, 5, 7, 9], &[1.0, 3.0, 5.0, 7.0, 9.0]);
        c.trim_to_range(2, 7);
        assert_eq!((c.ts(), c.vals()), (&[3, 5, 7][..], &[3.0, 5.0, 7.0][..]));
        c.retain_outside(&[(4, 6)]);
        assert_eq!((c.ts(), c.vals()), (&[3, 7][..], &[3.0, 7.0][..]));
        c.trim_to_range(8, 2);
        assert!(c.is_empty() && c.ts().is_empty() && c.vals().is_empty());
    }

    #[test]
    fn refills_reuse_the_memory_and_never_show_old_points() {
        let mut c = of(&[1, 2, 3], &[1.0, 2.0, 3.0]);
        c.clear();
        assert!(c.ts().is_empty());
        let (t, v) = c.spare(2);
        assert_eq!((t.len(), v.len()), (2, 2));
        t.copy_from_slice(&[8, 9]);
        v.copy_from_slice(&[8.0, 9.0]);
        c.commit(1);
        assert_eq!((c.ts(), c.vals()), (&[8][..], &[8.0][..]));
        c.extend_from(&[10, 11, 12, 13], &[10.0, 11.0, 12.0, 13.0]);
        assert_eq!(c.ts(), &[8, 10, 11, 12, 13]);
        assert_eq!(c.vals().len(), 5);
    }

    proptest! {
        #[test]
        fn merge_equals_map_overlay(
            new in proptest::collection::btree_map(-50i64..50, any::<i32>(), 0..30),
            old in proptest::collection::btree_map(-50i64..50, any::<i32>(), 0..30),
            leftover in proptest::collection::vec(any::<i64>(), 0..80),
        ) {
            let cols = |m: &BTreeMap<i64, i32>| -> Columns {
                let ts: Vec<i64> = m.keys().copied().collect();
                let vals: Vec<f64> = m.values().map(|&v| f64::from(v)).collect();
                of(&ts, &vals)
            };
            // an output that held other points before
            let mut merged = of(&leftover, &vec![0.5; leftover.len()]);
            merged.merge_newer_wins(&cols(&new), &cols(&old));
            let mut model = old.clone();
            model.extend(new.iter());
            let want = cols(&model);
            prop_assert_eq!(merged.ts(), want.ts());
            prop_assert_eq!(merged.vals(), want.vals());
        }

        #[test]
        fn trim_from_keeps_the_prefix_and_filters_the_rest(
            head in proptest::collection::btree_set(-200i64..-100, 0..10),
            tail in proptest::collection::btree_set(-100i64..100, 0..60),
            start in -120i64..120,
            end in -120i64..120,
        ) {
            let ts: Vec<i64> = head.iter().chain(&tail).copied().collect();
            let vals: Vec<f64> = ts.iter().map(|&t| t as f64).collect();
            let mut c = of(&ts, &vals);
            c.trim_to_range_from(head.len(), start, end);
            let want: Vec<i64> = head
                .iter()
                .copied()
                .chain(tail.iter().copied().filter(|t| (start..=end).contains(t)))
                .collect();
            prop_assert_eq!(c.ts(), &want[..]);
            let want_vals: Vec<f64> = want.iter().map(|&t| t as f64).collect();
            prop_assert_eq!(c.vals(), &want_vals[..]);
        }

        #[test]
        fn retain_outside_equals_a_filter(
            ts in proptest::collection::btree_set(-100i64..100, 0..80),
            from in 0usize..90,
            mut ranges in proptest::collection::vec((-120i64..120, 0i64..40), 0..8),
        ) {
            let ts: Vec<i64> = ts.into_iter().collect();
            let vals: Vec<f64> = ts.iter().map(|&t| t as f64 * 2.0).collect();
            let mut ranges: Vec<(i64, i64)> = ranges.drain(..).map(|(s, n)| (s, s + n)).collect();
            let raw = ranges.clone();
            coalesce(&mut ranges);
            prop_assert!(ranges.windows(2).all(|w| w[0].1 + 1 < w[1].0), "{:?}", ranges);
            let mut c = of(&ts, &vals);
            c.retain_outside_from(from, &ranges);
            let hidden = |t: i64| raw.iter().any(|&(s, e)| s <= t && t <= e);
            let want: Vec<i64> = ts
                .iter()
                .enumerate()
                .filter(|&(i, &t)| i < from || !hidden(t))
                .map(|(_, &t)| t)
                .collect();
            prop_assert_eq!(c.ts(), &want[..]);
            let want_vals: Vec<f64> = want.iter().map(|&t| t as f64 * 2.0).collect();
            prop_assert_eq!(c.vals(), &want_vals[..]);
            for t in -130..130 {
                let within = ranges_overlapping(&ranges, t, t + 5);
                let want: Vec<(i64, i64)> =
                    ranges.iter().copied().filter(|r| r.0 <= t + 5 && t <= r.1).collect();
                prop_assert_eq!(within, &want[..]);
            }
        }

        #[test]
        fn overlay_equals_map_overlay(
            new in proptest::collection::btree_map(-50i64..50, any::<i32>(), 0..30),
            old in proptest::collection::btree_map(-80i64..50, any::<i32>(), 0..60),
        ) {
            let cols = |m: &BTreeMap<i64, i32>| -> Columns {
                let ts: Vec<i64> = m.keys().copied().collect();
                let vals: Vec<f64> = m.values().map(|&v| f64::from(v)).collect();
                of(&ts, &vals)
            };
            let mut out = cols(&old);
            let mut scratch = of(&[7, 8], &[7.0, 8.0]);
            let newer = cols(&new);
            out.overlay(newer.ts(), newer.vals(), &mut scratch);
            let mut model = old.clone();
            model.extend(new.iter());
            let want = cols(&model);
            prop_assert_eq!(out.ts(), want.ts());
            prop_assert_eq!(out.vals(), want.vals());
        }

        #[test]
        fn retain_values_equals_a_filter(
            pts in proptest::collection::vec((any::<i64>(), -10i32..10), 0..50),
            cut in -10i32..10,
        ) {
            let ts: Vec<i64> = pts.iter().map(|p| p.0).collect();
            let vals: Vec<f64> = pts.iter().map(|p| f64::from(p.1)).collect();
            let mut c = of(&ts, &vals);
            c.retain_values(|v| v > f64::from(cut));
            let want: Vec<(i64, f64)> = ts.iter().copied().zip(vals.iter().copied())
                .filter(|p| p.1 > f64::from(cut)).collect();
            let got: Vec<(i64, f64)> = c.ts().iter().copied().zip(c.vals().iter().copied()).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn trim_equals_a_filter(
            mut ts in proptest::collection::btree_set(-100i64..100, 0..60),
            start in -120i64..120,
            end in -120i64..120,
        ) {
            let ts: Vec<i64> = std::mem::take(&mut ts).into_iter().collect();
            let vals: Vec<f64> = ts.iter().map(|&t| t as f64).collect();
            let mut c = of(&ts, &vals);
            c.trim_to_range(start, end);
            let want: Vec<i64> = ts.iter().copied().filter(|t| (start..=end).contains(t)).collect();
            prop_assert_eq!(c.ts(), &want[..]);
            let want_vals: Vec<f64> = want.iter().map(|&t| t as f64).collect();
            prop_assert_eq!(c.vals(), &want_vals[..]);
        }
    }
}
