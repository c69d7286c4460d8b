//! Quantiles: they need every value of a bucket, so their buckets keep the values
//! (NaN left out) in one flat column, and the quantile is selected when the bucket is
//! finished.

/// The `q`-quantile of `values` (NaN already left out), linearly interpolated between
/// the closest ranks: rank `h = q * (n - 1)`, result
/// `(1 - f) * x[floor(h)] + f * x[ceil(h)]` with `f = h - floor(h)` on the values
/// sorted by [`f64::total_cmp`], or `x[floor(h)]` when `f == 0` or both ranks hold the
/// same value (so that infinities do not turn into NaN). NaN for no value. Reorders
/// `values`.
pub(crate) fn quantile(values: &mut [f64], q: f64) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = (h.floor() as usize).min(n - 1);
    let frac = h - lo as f64;
    let (_, &mut x_lo, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    if frac == 0.0 {
        return x_lo;
    }
    let x_hi = above.iter().copied().min_by(f64::total_cmp).unwrap_or(x_lo);
    interpolate(x_lo, x_hi, frac)
}

/// `(1 - f) * lo + f * hi`, or `lo` when `f == 0` or `lo == hi`.
pub(crate) fn interpolate(lo: f64, hi: f64, f: f64) -> f64 {
    if f == 0.0 || lo == hi {
        lo
    } else {
        (1.0 - f) * lo + f * hi
    }
}

/// The buckets of one series or group for a quantile: bucket `i` starts at
/// `starts[i]` and holds `values[ends[i - 1]..ends[i]]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ValueRuns {
    starts: Vec<i64>,
    ends: Vec<usize>,
    values: Vec<f64>,
}

impl ValueRuns {
    pub(crate) fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.starts.clear();
        self.ends.clear();
        self.values.clear();
    }

    /// Adds the non-NaN values of `values` for which `keep` holds to the bucket
    /// `start` (which must not be before the last bucket); a bucket is recorded as soon
    /// as one value is kept, even NaN ones, since a bucket of NaN values is not empty.
    pub(crate) fn push(&mut self, start: i64, values: &[f64], keep: impl Fn(f64) -> bool) {
        let mut any = false;
        let before = self.values.len();
        for &v in values {
            if keep(v) {
                any = true;
                if !v.is_nan() {
                    self.values.push(v);
                }
            }
        }
        if !any {
            return;
        }
        let added = self.values.len() - before;
        match (self.starts.last(), self.ends.last_mut()) {
            (Some(&s), Some(end)) if s == start => *end += added,
            _ => {
                self.starts.push(start);
                self.ends.push(self.values.len());
            }
        }
    }

    /// Folds in the buckets of a later series (values appended bucket by bucket).
    pub(crate) fn merge(&mut self, later: &ValueRuns) {
        if later.is_empty() {
            return;
        }
        if self.is_empty() {
            self.clone_from(later);
            return;
        }
        let mut out = ValueRuns {
            starts: Vec::with_capacity(self.starts.len() + later.starts.len()),
            ends: Vec::with_capacity(self.starts.len() + later.starts.len()),
            values: Vec::with_capacity(self.values.len() + later.values.len()),
        };
        let (mut i, mut j) = (0, 0);
        loop {
            let a = self.starts.get(i).copied();
            let b = later.starts.get(j).copied();
            let start = match (a, b) {
                (None, None) => break,
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
            };
            if a == Some(start) {
                out.values.extend_from_slice(self.bucket(i));
                i += 1;
            }
            if b == Some(start) {
                out.values.extend_from_slice(later.bucket(j));
                j += 1;
            }
            out.starts.push(start);
            out.ends.push(out.values.len());
        }
        *self = out;
    }

    fn bucket(&self, i: usize) -> &[f64] {
        let from = match i.checked_sub(1) {
            Some(p) => self.ends.get(p).copied().unwrap_or(0),
            None => 0,
        };
        let to = self.ends.get(i).copied().unwrap_or(from);
        self.values.get(from..to).unwrap_or_default()
    }

    /// The bucket starts and the `q`-quantile of each bucket; leaves `self` empty.
    pub(crate) fn finish(&mut self, q: f64) -> (Vec<i64>, Vec<f64>) {
        let mut out = Vec::with_capacity(self.starts.len());
        let mut from = 0;
        for &to in &self.ends {
            out.push(match self.values.get_mut(from..to) {
                Some(bucket) => quantile(bucket, q),
                None => f64::NAN,
            });
            from = to;
        }
        let starts = std::mem::take(&mut self.starts);
        self.clear();
        (starts, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolated_quantiles() {
        let v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&mut v.clone(), 0.0), 1.0);
        assert_eq!(quantile(&mut v.clone(), 1.0), 4.0);
        assert_eq!(quantile(&mut v.clone(), 0.5), 2.5);
        assert_eq!(quantile(&mut v.clone(), 0.25), 1.75);
        assert_eq!(quantile(&mut [7.0], 0.3), 7.0);
        assert!(quantile(&mut [], 0.5).is_nan());
        let inf = [f64::INFINITY, f64::INFINITY, 1.0];
        assert_eq!(quantile(&mut inf.clone(), 0.9), f64::INFINITY);
        assert_eq!(quantile(&mut [1.0, f64::INFINITY], 0.5), f64::INFINITY);
        assert_eq!(
            quantile(&mut [f64::NEG_INFINITY, 1.0], 0.5),
            f64::NEG_INFINITY
        );
    }

    #[test]
    fn runs_merge_by_bucket() {
        let mut a = ValueRuns::default();
        a.push(0, &[1.0, f64::NAN], |_| true);
        a.push(10, &[5.0], |_| true);
        let mut b = ValueRuns::default();
        b.push(10, &[3.0], |_| true);
        b.push(20, &[f64::NAN], |_| true);
        a.merge(&b);
        let (starts, q) = a.finish(1.0);
        assert_eq!(starts, [0, 10, 20]);
        assert_eq!(q[..2], [1.0, 5.0]);
        assert!(q[2].is_nan());
    }
}
