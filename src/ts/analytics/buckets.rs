//! [`Buckets`]: a query's time range and how it is cut into buckets.

use std::ops::Range;

use crate::error::{Error, Result};

/// The time range `[start, end]` (inclusive) of a query and its bucket width.
///
/// With a width `w`, a timestamp `t` falls in the bucket starting at
/// `t.div_euclid(w) * w` (aligned on the epoch, not on `start`, like TSBS'
/// `time_bucket`): the first bucket may start before `start` and the last may reach
/// past `end`, but only points inside `[start, end]` count. The one bucket whose
/// aligned start lies below `i64::MIN` (it holds `i64::MIN`) is reported at
/// `i64::MIN`. Without a width the whole range is one bucket whose timestamp is
/// `start` as given (`i64::MIN` for the default all-time range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buckets {
    start: i64,
    end: i64,
    width: Option<i64>,
}

impl Buckets {
    /// [`Error::InvalidArgument`] if `start > end` or `width <= 0`.
    pub fn new(start: i64, end: i64, width: Option<i64>) -> Result<Buckets> {
        if start > end {
            return Err(Error::invalid(format!(
                "time range {start}..={end} is reversed"
            )));
        }
        if let Some(w) = width.filter(|&w| w <= 0) {
            return Err(Error::invalid(format!("bucket width {w} is not positive")));
        }
        Ok(Buckets { start, end, width })
    }

    /// First timestamp of the range (inclusive).
    pub fn start(&self) -> i64 {
        self.start
    }

    /// Last timestamp of the range (inclusive).
    pub fn end(&self) -> i64 {
        self.end
    }

    /// The bucket width, `None` for one bucket over the whole range.
    pub fn width(&self) -> Option<i64> {
        self.width
    }

    /// True when `t` lies in the range.
    #[inline]
    pub fn contains(&self, t: i64) -> bool {
        self.start <= t && t <= self.end
    }

    /// The timestamp of the bucket of `t` (meaningful for `t` in the range).
    #[inline]
    pub fn bucket(&self, t: i64) -> i64 {
        self.bucket_and_last(t).0
    }

    /// The last timestamp of the range that falls in the bucket of `t` (`t` in the
    /// range): every point of the range at `t..=bucket_last(t)` shares `t`'s bucket.
    #[inline]
    pub fn bucket_last(&self, t: i64) -> i64 {
        self.bucket_and_last(t).1
    }

    /// [`bucket`](Self::bucket) and [`bucket_last`](Self::bucket_last) of `t` at once
    /// (one division).
    #[inline]
    pub fn bucket_and_last(&self, t: i64) -> (i64, i64) {
        let (bucket, last, _) = self.locate(t);
        (bucket, last)
    }

    /// The bucket and bucket last of `t`, and where the following bucket starts (if
    /// it does not overflow): one division.
    #[inline]
    fn locate(&self, t: i64) -> (i64, i64, Option<i64>) {
        match self.width {
            Some(w) => {
                let r = t.rem_euclid(w);
                let last = t.saturating_add(w - 1 - r);
                (t.saturating_sub(r), last.min(self.end), last.checked_add(1))
            }
            None => (self.start, self.end, None),
        }
    }

    /// [`bucket_and_last`](Self::bucket_and_last) for timestamps visited in ascending
    /// order: `next` is where the bucket after the previous one starts (`None` at
    /// first), kept up to date here. A timestamp in that following bucket (a run of
    /// points every few seconds cut into minutes) costs an addition, not a division.
    #[inline]
    pub fn bucket_after(&self, t: i64, next: &mut Option<i64>) -> (i64, i64) {
        if let (Some(w), Some(start)) = (self.width, *next)
            && let Some(after) = start.checked_add(w)
            && start <= t
            && t < after
        {
            *next = Some(after);
            return (start, (after - 1).min(self.end));
        }
        let (bucket, last, following) = self.locate(t);
        *next = following;
        (bucket, last)
    }

    /// The indexes of the timestamps of `ts` (ascending) that lie in the range.
    pub fn clip(&self, ts: &[i64]) -> Range<usize> {
        let from = ts.partition_point(|&t| t < self.start);
        let to = ts.partition_point(|&t| t <= self.end);
        from..to.max(from)
    }

    /// The bucket holding all of `[first, last]` if that span lies inside the range and
    /// inside one bucket.
    pub fn single_bucket(&self, first: i64, last: i64) -> Option<i64> {
        (self.contains(first)
            && self.contains(last)
            && first <= last
            && last <= self.bucket_last(first))
        .then(|| self.bucket(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The walk's additions give what a division per timestamp gives, for any
        /// ascending timestamps, widths and ranges, near both ends of `i64` too.
        #[test]
        fn bucket_after_equals_bucket_and_last(
            near in prop_oneof![Just(i64::MIN), Just(0i64), Just(i64::MAX - 10_000)],
            steps in proptest::collection::vec(0i64..40, 1..60),
            width in prop_oneof![1i64..30, Just(i64::MAX), Just(1i64 << 62)],
            end_cut in 0i64..10_000,
        ) {
            let ts: Vec<i64> = steps
                .iter()
                .scan(near, |t, &d| {
                    *t = t.saturating_add(d);
                    Some(*t)
                })
                .collect();
            let end = i64::MAX - end_cut;
            let b = Buckets::new(ts[0].min(end), end, Some(width)).unwrap();
            let mut next = None;
            for &t in ts.iter().filter(|&&t| b.contains(t)) {
                prop_assert_eq!(b.bucket_after(t, &mut next), b.bucket_and_last(t), "t {}", t);
            }
        }
    }

    #[test]
    fn epoch_aligned() {
        let b = Buckets::new(5, 100, Some(10)).unwrap();
        assert_eq!(b.bucket(5), 0);
        assert_eq!(b.bucket(19), 10);
        assert_eq!(b.bucket_last(5), 9);
        assert_eq!(b.bucket_last(95), 99);
        assert_eq!(b.bucket_last(100), 100);
        let neg = Buckets::new(-100, 100, Some(10)).unwrap();
        assert_eq!(neg.bucket(-1), -10);
        assert_eq!(neg.bucket(-10), -10);
        assert_eq!(neg.bucket_last(-10), -1);
    }

    #[test]
    fn one_bucket_without_width() {
        let b = Buckets::new(7, 9, None).unwrap();
        assert_eq!(b.bucket(8), 7);
        assert_eq!(b.bucket_last(7), 9);
        let all = Buckets::new(i64::MIN, i64::MAX, None).unwrap();
        assert_eq!(all.bucket(0), i64::MIN);
        assert_eq!(all.bucket_last(i64::MIN), i64::MAX);
    }

    #[test]
    fn extremes_do_not_overflow() {
        let b = Buckets::new(i64::MIN, i64::MAX, Some(3)).unwrap();
        // (i64::MIN).div_euclid(3) * 3 is below i64::MIN: reported at i64::MIN.
        assert_eq!(b.bucket(i64::MIN), i64::MIN);
        assert_eq!(b.bucket(i64::MIN + 1), i64::MIN);
        assert_eq!(b.bucket(i64::MIN + 2), i64::MIN + 2);
        assert_eq!(b.bucket_last(i64::MIN), i64::MIN + 1);
        assert_eq!(b.bucket(i64::MAX), i64::MAX - 1);
        assert_eq!(b.bucket_last(i64::MAX - 1), i64::MAX);
        let wide = Buckets::new(i64::MIN, i64::MAX, Some(i64::MAX)).unwrap();
        assert_eq!(wide.bucket(i64::MIN), i64::MIN);
        assert_eq!(wide.bucket(-1), -i64::MAX);
        assert_eq!(wide.bucket(0), 0);
        assert_eq!(wide.bucket(i64::MAX), i64::MAX);
        assert_eq!(wide.bucket_last(0), i64::MAX - 1);
        assert_eq!(wide.bucket_last(i64::MIN), -i64::MAX - 1);
    }

    #[test]
    fn bad_input() {
        assert!(matches!(
            Buckets::new(2, 1, None),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            Buckets::new(0, 1, Some(0)),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            Buckets::new(0, 1, Some(-5)),
            Err(Error::InvalidArgument(_))
        ));
        assert!(Buckets::new(1, 1, Some(1)).is_ok());
    }

    #[test]
    fn clip_and_single_bucket() {
        let b = Buckets::new(10, 29, Some(10)).unwrap();
        assert_eq!(b.clip(&[1, 10, 15, 29, 30]), 1..4);
        assert_eq!(b.clip(&[]), 0..0);
        assert_eq!(b.single_bucket(10, 19), Some(10));
        assert_eq!(b.single_bucket(15, 21), None);
        assert_eq!(b.single_bucket(5, 9), None);
        assert_eq!(b.single_bucket(25, 31), None);
    }
}
