//! [`Query`]: the description of an analytic question, built by chained calls and
//! checked by [`Query::validate`].

use super::aggregation::Aggregation;
use super::buckets::Buckets;
use super::matcher::Matcher;
use super::value_filter::ValueFilter;
use crate::error::{Error, Result};
use crate::ts::series::key::validate_parts;

/// An analytic question over one metric: which series ([`Matcher`]s), which points
/// (time range, [`ValueFilter`]), how they are cut ([`every`](Query::every)) and
/// grouped ([`group_by`](Query::group_by)), and what is computed per bucket
/// ([`Aggregation`]), or the raw points ([`Query::raw`]).
///
/// Every builder call takes and returns the query by value and accepts any input;
/// [`Query::validate`] (which the database calls before running a query) reports bad
/// input as [`Error::InvalidArgument`]: an invalid metric name or matcher or group key
/// (the rules of [`SeriesKey`](crate::ts::SeriesKey)), a group key given twice, a
/// reversed range, a bucket width `<= 0`, a quantile outside `0..=1`, a bad value
/// filter, or `every` on a raw query.
///
/// ```
/// use tidestore::ts::{Aggregation, Matcher, Query, ValueFilter};
///
/// let q = Query::new("cpu_usage_user", Aggregation::Max)
///     .filter(Matcher::eq("hostname", "host_1"))
///     .filter(Matcher::regex("region", "eu-.*")?)
///     .range(0, 3_599_999)
///     .every(60_000)
///     .group_by(&["hostname"])
///     .where_value(ValueFilter::gt(90.0));
/// q.validate()?;
/// # Ok::<(), tidestore::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    metric: String,
    aggregation: Option<Aggregation>,
    matchers: Vec<Matcher>,
    start: i64,
    end: i64,
    every: Option<i64>,
    group_by: Option<Vec<String>>,
    value_filter: Option<ValueFilter>,
}

impl Query {
    /// A query computing `aggregation` over `metric`: every series, all time, one
    /// bucket, one group per series.
    pub fn new(metric: &str, aggregation: Aggregation) -> Query {
        Query {
            metric: metric.to_owned(),
            aggregation: Some(aggregation),
            matchers: Vec::new(),
            start: i64::MIN,
            end: i64::MAX,
            every: None,
            group_by: None,
            value_filter: None,
        }
    }

    /// A query for the raw points of `metric` (after the matchers, range and value
    /// filter): one group per series (or per `group_by` group, its series' points
    /// merged by timestamp, the series in key order at equal timestamps). `every` is
    /// not allowed.
    pub fn raw(metric: &str) -> Query {
        Query {
            aggregation: None,
            ..Query::new(metric, Aggregation::Count)
        }
    }

    /// Adds a matcher; a series must pass all of them.
    pub fn filter(mut self, matcher: Matcher) -> Query {
        self.matchers.push(matcher);
        self
    }

    /// Restricts to `start <= timestamp <= end` (default: all time,
    /// `i64::MIN..=i64::MAX`). Without `every`, `start` is the timestamp of the one
    /// bucket.
    pub fn range(mut self, start: i64, end: i64) -> Query {
        self.start = start;
        self.end = end;
        self
    }

    /// Cuts time into buckets of `width`, aligned on the epoch (a point at `t` falls
    /// in the bucket starting at `t.div_euclid(width) * width`). Default: one bucket.
    pub fn every(mut self, width: i64) -> Query {
        self.every = Some(width);
        self
    }

    /// Groups the series by their values for `keys` (default: one group per series;
    /// `&[]`: one group of every series).
    pub fn group_by(mut self, keys: &[&str]) -> Query {
        self.group_by = Some(keys.iter().map(|&k| k.to_owned()).collect());
        self
    }

    /// Keeps only the points whose value passes `filter`, before aggregation; called
    /// again, the filters are ANDed.
    pub fn where_value(mut self, filter: ValueFilter) -> Query {
        self.value_filter = Some(match self.value_filter {
            Some(f) => f.and(filter),
            None => filter,
        });
        self
    }

    /// [`Error::InvalidArgument`] if the query is malformed (see [`Query`]).
    pub fn validate(&self) -> Result<()> {
        validate_parts(&self.metric, &[])?;
        let key_ok = |key: &str| validate_parts(&self.metric, &[(key, "v")]);
        for m in &self.matchers {
            key_ok(m.key())?;
        }
        if let Some(keys) = &self.group_by {
            for (i, k) in keys.iter().enumerate() {
                key_ok(k)?;
                if keys.get(..i).is_some_and(|seen| seen.contains(k)) {
                    return Err(Error::invalid(format!("group_by names {k:?} twice")));
                }
            }
        }
        self.buckets()?;
        if let Some(a) = &self.aggregation {
            a.validate()?;
        } else if self.every.is_some() {
            return Err(Error::invalid("a raw query has no buckets: drop every()"));
        }
        if let Some(f) = &self.value_filter {
            f.validate()?;
        }
        Ok(())
    }

    /// The metric.
    pub fn metric(&self) -> &str {
        &self.metric
    }

    /// The aggregation; `None` for a raw query.
    pub fn aggregation(&self) -> Option<Aggregation> {
        self.aggregation
    }

    /// The matchers, in the order given.
    pub fn matchers(&self) -> &[Matcher] {
        &self.matchers
    }

    /// True when a series with `tags` (pairs in any order) passes every matcher.
    pub fn matches<K: AsRef<str>, V: AsRef<str>>(&self, tags: &[(K, V)]) -> bool {
        self.matchers.iter().all(|m| m.matches(tags))
    }

    /// The time range, inclusive.
    pub fn time_range(&self) -> (i64, i64) {
        (self.start, self.end)
    }

    /// The bucket width, `None` for one bucket.
    pub fn bucket_width(&self) -> Option<i64> {
        self.every
    }

    /// The range and its buckets; [`Error::InvalidArgument`] for a reversed range or a
    /// width `<= 0`.
    pub fn buckets(&self) -> Result<Buckets> {
        Buckets::new(self.start, self.end, self.every)
    }

    /// The group-by keys, `None` for one group per series.
    pub fn group_keys(&self) -> Option<&[String]> {
        self.group_by.as_deref()
    }

    /// The value filter, if any.
    pub fn value_filter(&self) -> Option<ValueFilter> {
        self.value_filter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(q: &Query) -> bool {
        matches!(q.validate(), Err(Error::InvalidArgument(_)))
    }

    #[test]
    fn defaults() {
        let q = Query::new("cpu", Aggregation::Max).group_by(&[]);
        assert!(q.validate().is_ok());
        assert_eq!(q.time_range(), (i64::MIN, i64::MAX));
        assert_eq!(q.bucket_width(), None);
        assert_eq!(q.group_keys(), Some(&[] as &[String]));
        assert!(Query::raw("cpu").aggregation().is_none());
    }

    #[test]
    fn bad_input() {
        let q = || Query::new("cpu", Aggregation::Sum);
        assert!(invalid(&q().every(0)));
        assert!(invalid(&q().every(-60)));
        assert!(invalid(&q().range(10, 9)));
        assert!(!invalid(&q().range(10, 10).every(1)));
        assert!(invalid(&Query::new("", Aggregation::Sum)));
        assert!(invalid(&q().filter(Matcher::eq("", "x"))));
        assert!(invalid(&q().filter(Matcher::ne("a\nb", "x"))));
        assert!(invalid(&q().group_by(&["host", "host"])));
        assert!(invalid(&q().group_by(&[""])));
        assert!(invalid(&Query::new("cpu", Aggregation::Quantile(2.0))));
        assert!(invalid(&q().where_value(ValueFilter::gt(f64::NAN))));
        assert!(invalid(&q().where_value(ValueFilter::between(3.0, 1.0))));
        assert!(invalid(&Query::raw("cpu").every(10)));
        assert!(!invalid(&Query::raw("cpu").group_by(&["host"])));
    }

    #[test]
    fn value_filters_and() {
        let q = Query::raw("cpu")
            .where_value(ValueFilter::gt(1.0))
            .where_value(ValueFilter::lt(5.0));
        let f = q.value_filter().unwrap();
        assert!(f.matches(2.0) && !f.matches(1.0) && !f.matches(5.0));
    }
}
