//! One series' points in the head: `(timestamp, value)` pairs, appended in arrival
//! order and sorted lazily.
//!
//! The pairs sit in one vector (one allocation per series, sized exactly for a series'
//! first write: many series get a single point between flushes). While timestamps
//! arrive strictly increasing the points stay sorted and an append is a push. The
//! newest timestamp of a sorted series is kept beside the vector, so checking that an
//! append follows it reads no point: the vector's end is last touched one write of
//! every other series ago, and loading it was most of an append of a few points
//! (writing there is cheaper, as stores do not wait for the line).
//! Rewriting the newest timestamp overwrites its value in place. Any other late or
//! repeated timestamp is pushed and marks the series unsorted; the next reader (or the
//! freeze) sorts it stably and keeps the last write of each timestamp.

use crate::engine::prefetch;

/// The points of one series.
#[derive(Debug)]
pub(crate) struct SeriesBuf {
    points: Vec<(i64, f64)>,
    /// While the timestamps are strictly increasing (sorted and free of duplicates):
    /// the newest one (`i64::MIN` while empty); [`UNSORTED`] otherwise. One field
    /// for both keeps the series' entry in the head at 64 bytes.
    newest: i64,
}

/// [`SeriesBuf::newest`] of a series whose points are not known to be sorted. A
/// sorted series whose newest point is at `i64::MAX` counts as unsorted too: nothing
/// can follow it in order anyway, and a read sorts it again (a linear pass over a
/// sorted run) instead of trusting it.
const UNSORTED: i64 = i64::MAX;

impl Default for SeriesBuf {
    fn default() -> Self {
        SeriesBuf {
            points: Vec::new(),
            newest: i64::MIN,
        }
    }
}

impl SeriesBuf {
    /// True when the timestamps are known to be strictly increasing.
    fn sorted(&self) -> bool {
        self.newest != UNSORTED
    }

    /// Points stored (a rewritten timestamp counts twice until the next sort).
    pub(crate) fn len(&self) -> usize {
        self.points.len()
    }

    /// Heap bytes held by the points.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.points.capacity() * size_of::<(i64, f64)>()
    }

    /// Reserves room for `n` more points (exactly `n` for the first write).
    pub(crate) fn reserve(&mut self, n: usize) {
        if self.points.capacity() == 0 {
            self.points.reserve_exact(n);
        } else {
            self.points.reserve(n);
        }
    }

    /// Starts loading the cache lines an append of `n` points will write, when they
    /// fit in the vector's room (a hint: it changes nothing the program can see).
    pub(crate) fn prefetch_end(&self, n: usize) {
        if n == 0 || self.points.capacity() - self.points.len() < n {
            return;
        }
        let start = self.points.as_ptr_range().end.cast::<u8>();
        let bytes = n * size_of::<(i64, f64)>();
        for off in (0..bytes).step_by(64).chain(std::iter::once(bytes - 1)) {
            prefetch::for_write(start.wrapping_add(off));
        }
    }

    /// Appends equally long columns (the caller checked the lengths).
    pub(crate) fn extend(&mut self, ts: &[i64], vals: &[f64]) {
        let Some(&last) = ts.last() else {
            return;
        };
        if self.sorted() {
            let joins = match ts.first() {
                Some(&first) if !self.points.is_empty() => first > self.newest,
                _ => true,
            };
            self.newest = if joins && ts.is_sorted_by(|a, b| a < b) {
                last
            } else {
                UNSORTED
            };
        }
        self.reserve(ts.len());
        self.points
            .extend(ts.iter().copied().zip(vals.iter().copied()));
    }

    /// Sorts by timestamp and keeps the last write of each timestamp. Returns how many
    /// overwritten points were dropped.
    pub(crate) fn normalize(&mut self) -> usize {
        if self.sorted() {
            return 0;
        }
        let before = self.points.len();
        // Stable: points with equal timestamps stay in write order, and of each run of
        // equal timestamps the last value is kept.
        self.points.sort_by_key(|p| p.0);
        self.points.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 = later.1;
            }
            same
        });
        self.note_newest();
        before - self.points.len()
    }

    /// Sets `newest` from the points, sorted and deduplicated by the caller.
    fn note_newest(&mut self) {
        self.newest = self.points.last().map_or(i64::MIN, |p| p.0);
    }

    /// Sorts, then removes every point with `start <= ts <= end`. Returns how many
    /// points were dropped in all (overwritten ones included).
    pub(crate) fn delete(&mut self, start: i64, end: i64) -> usize {
        let before = self.points.len();
        self.normalize();
        let (a, b) = self.bounds(start, end);
        if a < b {
            // invariant: a < b <= len, both from partition_point.
            self.points.drain(a..b);
            self.note_newest();
        }
        before - self.points.len()
    }

    /// The sorted points with `start <= ts <= end`. Call [`SeriesBuf::normalize`] first.
    pub(crate) fn range(&self, start: i64, end: i64) -> &[(i64, f64)] {
        let (a, b) = self.bounds(start, end);
        self.points.get(a..b).unwrap_or_default()
    }

    fn bounds(&self, start: i64, end: i64) -> (usize, usize) {
        (
            self.points.partition_point(|p| p.0 < start),
            self.points.partition_point(|p| p.0 <= end),
        )
    }

    /// A sorted, deduplicated copy of the columns (sorting `self` in place first).
    pub(crate) fn sorted_copy(&mut self) -> (Vec<i64>, Vec<f64>) {
        self.normalize();
        self.points.iter().copied().unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(b: &SeriesBuf) -> (Vec<i64>, Vec<f64>) {
        b.range(i64::MIN, i64::MAX).iter().copied().unzip()
    }

    #[test]
    fn in_order_appends_stay_sorted() {
        let mut b = SeriesBuf::default();
        b.extend(&[1], &[1.0]);
        b.extend(&[2], &[2.0]);
        b.extend(&[3, 4], &[3.0, 4.0]);
        assert!(b.sorted());
        assert_eq!(b.len(), 4);
        assert_eq!(cols(&b), (vec![1, 2, 3, 4], vec![1.0, 2.0, 3.0, 4.0]));
    }

    #[test]
    fn late_and_duplicate_points_last_write_wins() {
        let mut b = SeriesBuf::default();
        b.extend(&[5, 1, 5, 3], &[50.0, 10.0, 51.0, 30.0]);
        b.extend(&[1], &[11.0]);
        b.extend(&[9], &[90.0]);
        assert!(!b.sorted());
        assert_eq!(b.normalize(), 2);
        assert_eq!(cols(&b), (vec![1, 3, 5, 9], vec![11.0, 30.0, 51.0, 90.0]));
        assert_eq!(b.normalize(), 0);
    }

    #[test]
    fn extend_checks_the_join_and_strictness() {
        let mut b = SeriesBuf::default();
        b.extend(&[1, 2], &[0.0; 2]);
        b.extend(&[2, 3], &[0.0; 2]);
        assert!(!b.sorted());
        let mut c = SeriesBuf::default();
        c.extend(&[1, 1], &[0.0; 2]);
        assert!(!c.sorted());
        let mut d = SeriesBuf::default();
        d.extend(&[], &[]);
        d.extend(&[7], &[0.0]);
        assert!(d.sorted());
    }

    #[test]
    fn a_series_ending_at_the_largest_timestamp_reads_back_sorted() {
        let mut b = SeriesBuf::default();
        b.extend(&[1, i64::MAX], &[1.0, 2.0]);
        assert!(!b.sorted());
        assert_eq!(b.normalize(), 0);
        b.extend(&[5], &[5.0]);
        b.extend(&[i64::MAX], &[3.0]);
        assert_eq!(b.normalize(), 1);
        assert_eq!(cols(&b), (vec![1, 5, i64::MAX], vec![1.0, 5.0, 3.0]));
        assert_eq!(b.delete(i64::MAX, i64::MAX), 1);
        b.extend(&[6], &[6.0]);
        assert!(b.sorted());
        assert_eq!(cols(&b), (vec![1, 5, 6], vec![1.0, 5.0, 6.0]));
    }

    #[test]
    fn delete_and_ranges_are_inclusive() {
        let mut b = SeriesBuf::default();
        b.extend(&[4, 1, 2, 3, 5], &[4.0, 1.0, 2.0, 3.0, 5.0]);
        assert_eq!(b.delete(2, 3), 2);
        assert_eq!(cols(&b).0, vec![1, 4, 5]);
        assert_eq!(b.delete(6, 10), 0);
        assert_eq!(b.range(4, 5), &[(4, 4.0), (5, 5.0)]);
        assert!(b.range(5, 4).is_empty());
        assert_eq!(b.delete(i64::MIN, i64::MAX), 3);
        assert_eq!(b.len(), 0);
    }
}
