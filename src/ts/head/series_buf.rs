//! One series' points in the head: a timestamp column and a value column, appended in
//! arrival order and sorted lazily.
//!
//! While timestamps arrive strictly increasing the columns stay sorted and an append is
//! a push. Rewriting the newest timestamp overwrites its value in place. Any other
//! late or repeated timestamp is pushed and marks the series unsorted; the next reader
//! (or the freeze) sorts it stably and keeps the last write of each timestamp.

/// The columns of one series. `ts.len() == vals.len()` always.
#[derive(Debug)]
pub(crate) struct SeriesBuf {
    ts: Vec<i64>,
    vals: Vec<f64>,
    /// True when `ts` is strictly increasing (sorted and free of duplicates).
    sorted: bool,
}

impl Default for SeriesBuf {
    fn default() -> Self {
        SeriesBuf {
            ts: Vec::new(),
            vals: Vec::new(),
            sorted: true,
        }
    }
}

impl SeriesBuf {
    /// Points stored (a rewritten timestamp counts twice until the next sort).
    pub(crate) fn len(&self) -> usize {
        self.ts.len()
    }

    /// Heap bytes held by the columns.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.ts.capacity() * size_of::<i64>() + self.vals.capacity() * size_of::<f64>()
    }

    /// Appends one point.
    #[inline]
    pub(crate) fn push(&mut self, t: i64, v: f64) {
        match self.ts.last() {
            Some(&last) if t == last => {
                // The newest timestamp again: last write wins, in place.
                if let Some(slot) = self.vals.last_mut() {
                    *slot = v;
                }
                return;
            }
            Some(&last) if t < last => self.sorted = false,
            _ => {}
        }
        self.ts.push(t);
        self.vals.push(v);
    }

    /// Appends equally long columns (the caller checked the lengths).
    pub(crate) fn extend(&mut self, ts: &[i64], vals: &[f64]) {
        if self.sorted {
            let joins = match (self.ts.last(), ts.first()) {
                (Some(last), Some(first)) => first > last,
                _ => true,
            };
            self.sorted = joins && ts.is_sorted_by(|a, b| a < b);
        }
        self.ts.extend_from_slice(ts);
        self.vals.extend_from_slice(vals);
    }

    /// Sorts by timestamp and keeps the last write of each timestamp. Returns how many
    /// overwritten points were dropped.
    pub(crate) fn normalize(&mut self) -> usize {
        if self.sorted {
            return 0;
        }
        let before = self.ts.len();
        let mut pairs: Vec<(i64, f64)> = self
            .ts
            .iter()
            .copied()
            .zip(self.vals.iter().copied())
            .collect();
        // Stable: points with equal timestamps stay in write order.
        pairs.sort_by_key(|p| p.0);
        self.ts.clear();
        self.vals.clear();
        for (t, v) in pairs {
            self.push(t, v);
        }
        self.sorted = true;
        before - self.ts.len()
    }

    /// Sorts, then removes every point with `start <= ts <= end`. Returns how many
    /// points were dropped in all (overwritten ones included).
    pub(crate) fn delete(&mut self, start: i64, end: i64) -> usize {
        let before = self.ts.len();
        self.normalize();
        let (a, b) = self.bounds(start, end);
        if a < b {
            // invariant: a < b <= len, both from partition_point.
            self.ts.drain(a..b);
            self.vals.drain(a..b);
        }
        before - self.ts.len()
    }

    /// The sorted points with `start <= ts <= end`. Call [`SeriesBuf::normalize`] first.
    pub(crate) fn range(&self, start: i64, end: i64) -> (&[i64], &[f64]) {
        let (a, b) = self.bounds(start, end);
        (
            self.ts.get(a..b).unwrap_or_default(),
            self.vals.get(a..b).unwrap_or_default(),
        )
    }

    fn bounds(&self, start: i64, end: i64) -> (usize, usize) {
        (
            self.ts.partition_point(|&t| t < start),
            self.ts.partition_point(|&t| t <= end),
        )
    }

    /// A sorted, deduplicated copy of the columns (sorting `self` in place first).
    pub(crate) fn sorted_copy(&mut self) -> (Vec<i64>, Vec<f64>) {
        self.normalize();
        (self.ts.clone(), self.vals.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(b: &SeriesBuf) -> (Vec<i64>, Vec<f64>) {
        let (t, v) = b.range(i64::MIN, i64::MAX);
        (t.to_vec(), v.to_vec())
    }

    #[test]
    fn in_order_appends_stay_sorted_and_newest_rewrite_is_in_place() {
        let mut b = SeriesBuf::default();
        b.push(1, 1.0);
        b.push(2, 2.0);
        b.push(2, 2.5);
        b.extend(&[3, 4], &[3.0, 4.0]);
        assert!(b.sorted);
        assert_eq!(b.len(), 4);
        assert_eq!(cols(&b), (vec![1, 2, 3, 4], vec![1.0, 2.5, 3.0, 4.0]));
    }

    #[test]
    fn late_and_duplicate_points_last_write_wins() {
        let mut b = SeriesBuf::default();
        b.extend(&[5, 1, 5, 3], &[50.0, 10.0, 51.0, 30.0]);
        b.push(1, 11.0);
        b.push(9, 90.0);
        assert!(!b.sorted);
        assert_eq!(b.normalize(), 2);
        assert_eq!(cols(&b), (vec![1, 3, 5, 9], vec![11.0, 30.0, 51.0, 90.0]));
        assert_eq!(b.normalize(), 0);
    }

    #[test]
    fn extend_checks_the_join_and_strictness() {
        let mut b = SeriesBuf::default();
        b.extend(&[1, 2], &[0.0; 2]);
        b.extend(&[2, 3], &[0.0; 2]);
        assert!(!b.sorted);
        let mut c = SeriesBuf::default();
        c.extend(&[1, 1], &[0.0; 2]);
        assert!(!c.sorted);
        let mut d = SeriesBuf::default();
        d.extend(&[], &[]);
        d.extend(&[7], &[0.0]);
        assert!(d.sorted);
    }

    #[test]
    fn delete_and_ranges_are_inclusive() {
        let mut b = SeriesBuf::default();
        b.extend(&[4, 1, 2, 3, 5], &[4.0, 1.0, 2.0, 3.0, 5.0]);
        assert_eq!(b.delete(2, 3), 2);
        assert_eq!(cols(&b).0, vec![1, 4, 5]);
        assert_eq!(b.delete(6, 10), 0);
        assert_eq!(b.range(4, 5).0, &[4, 5]);
        assert_eq!(b.range(5, 4).0, &[] as &[i64]);
        assert_eq!(b.delete(i64::MIN, i64::MAX), 3);
        assert_eq!(b.len(), 0);
    }
}
