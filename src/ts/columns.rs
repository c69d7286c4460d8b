//! [`Columns`]: a timestamp column and a value column that keep their memory, and its
//! contents, from one use to the next.
//!
//! Reads decode chunks straight into these buffers. A `Vec` cleared between series
//! would zero-fill its slots before every decode (the decoders write into initialized
//! slices); here the slots are initialized once, when the buffers grow, and a refill
//! only overwrites them.

/// Parallel timestamp and value columns of `len` points; the memory past `len` is
/// initialized scratch, kept for the next fill.
#[derive(Debug, Default, Clone)]
pub(crate) struct Columns {
    ts: Vec<i64>,
    vals: Vec<f64>,
    len: usize,
}

impl Columns {
    /// Empty columns.
    pub fn new() -> Self {
        Columns::default()
    }

    /// Drops every point (keeping the memory).
    pub fn clear(&mut self) {
        self.len = 0;
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

    /// Appends points.
    pub fn extend_from(&mut self, ts: &[i64], vals: &[f64]) {
        let n = ts.len().min(vals.len());
        let (t, v) = self.spare(n);
        t.copy_from_slice(ts.get(..n).unwrap_or_default());
        v.copy_from_slice(vals.get(..n).unwrap_or_default());
        self.commit(n);
    }

    /// Keeps only the points of sorted timestamps within `[start, end]`.
    pub fn trim_to_range(&mut self, start: i64, end: i64) {
        let ts = self.ts();
        if ts.first().is_none_or(|&t| t >= start) && ts.last().is_none_or(|&t| t <= end) {
            // all in range (a scan of whole chunks): nothing to search or move
            return;
        }
        let hi = self.ts().partition_point(|&t| t <= end);
        self.len = hi;
        let lo = self.ts().partition_point(|&t| t < start);
        if lo > 0 {
            self.ts.copy_within(lo..hi, 0);
            self.vals.copy_within(lo..hi, 0);
            self.len = hi - lo;
        }
    }

    /// Drops the points whose timestamp lies in any of the inclusive `ranges`.
    pub fn retain_outside(&mut self, ranges: &[(i64, i64)]) {
        if ranges.is_empty() {
            return;
        }
        let hidden = |t: i64| ranges.iter().any(|&(s, e)| s <= t && t <= e);
        let mut w = 0;
        for r in 0..self.len {
            let (Some(&t), Some(&v)) = (self.ts.get(r), self.vals.get(r)) else {
                break;
            };
            if !hidden(t) {
                if let (Some(tw), Some(vw)) = (self.ts.get_mut(w), self.vals.get_mut(w)) {
                    *tw = t;
                    *vw = v;
                }
                w += 1;
            }
        }
        self.len = w;
    }

    /// Replaces the columns with the merge of the sorted, unique points of `new` and
    /// `old`; on equal timestamps the point of `new` is kept.
    pub fn merge_newer_wins(&mut self, new: &Columns, old: &Columns) {
        self.clear();
        let (nt, nv, ot, ov) = (new.ts(), new.vals(), old.ts(), old.vals());
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

#[cfg(test)]
mod tests {
    use super::*;
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
