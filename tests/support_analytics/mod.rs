//! The brute-force reference of analytic queries: answers a [`Query`] (and `Db::last`)
//! from a plain list of points, such as `Db::query_range(metric, i64::MIN, i64::MAX,
//! &[])` returns, by the semantics of `docs/analytics.md`, as plainly as possible:
//! every point is tested against every condition, buckets and groups are `BTreeMap`
//! keys, each bucket's result is computed from its collected points. It shares no code
//! with the kernels but the public accessors of the query.

#![allow(dead_code)] // each test binary uses its own subset

pub mod strategies;

use std::collections::BTreeMap;
use std::ops::Bound;

use regex::Regex;
use tidestore::Point;
use tidestore::ts::analytics::MatcherKind;
use tidestore::ts::{Aggregation, Group, Matcher, Query, ValueFilter};

/// Tags sorted by key.
pub type Tags = Vec<(String, String)>;

/// One point of the reference: its series' tags (sorted by key), timestamp, value.
type Row = (Tags, i64, f64);

/// The value of tag `key` in `tags`, `""` when missing.
fn tag<'a>(tags: &'a [(String, String)], key: &str) -> &'a str {
    tags.iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

/// The reference's reading of a matcher.
pub fn matcher_accepts(m: &Matcher, tags: &[(String, String)]) -> bool {
    let value = tag(tags, m.key());
    let regex = || {
        let pattern = m.pattern_str().expect("regex matcher has a pattern");
        Regex::new(&format!("^(?:{pattern})$")).expect("pattern compiled before")
    };
    match m.kind() {
        MatcherKind::Eq => m.values()[0] == value,
        MatcherKind::Ne => m.values()[0] != value,
        MatcherKind::OneOf => m.values().iter().any(|v| v == value),
        MatcherKind::Regex => regex().is_match(value),
        MatcherKind::NotRegex => !regex().is_match(value),
        _ => unreachable!("new matcher kind"),
    }
}

/// The reference's reading of a value filter.
pub fn filter_accepts(f: &ValueFilter, v: f64) -> bool {
    let lo = match f.lower_bound() {
        Bound::Unbounded => true,
        Bound::Included(x) => v >= x,
        Bound::Excluded(x) => v > x,
    };
    let hi = match f.upper_bound() {
        Bound::Unbounded => true,
        Bound::Included(x) => v <= x,
        Bound::Excluded(x) => v < x,
    };
    !v.is_nan() && lo && hi
}

fn sorted_tags(p: &Point) -> Tags {
    let mut t = p.tags.clone();
    t.sort();
    t
}

/// The points of `metric` whose series passes every matcher, as rows.
fn selected(metric: &str, matchers: &[Matcher], points: &[Point]) -> Vec<Row> {
    points
        .iter()
        .filter(|p| p.metric == metric)
        .map(|p| (sorted_tags(p), p.timestamp, p.value))
        .filter(|(tags, _, _)| matchers.iter().all(|m| matcher_accepts(m, tags)))
        .collect()
}

/// The bucket timestamp of `t`: `floor(t / w) * w` computed in 128 bits, reported at
/// `i64::MIN` when below it; the range start without a width.
pub fn bucket_of(t: i64, width: Option<i64>, start: i64) -> i64 {
    match width {
        Some(w) => {
            let b = i128::from(t).div_euclid(i128::from(w)) * i128::from(w);
            b.max(i128::from(i64::MIN)) as i64
        }
        None => start,
    }
}

/// The group tags of a series.
fn group_of(tags: &Tags, keys: Option<&[String]>) -> Tags {
    match keys {
        None => tags.clone(),
        Some(keys) => keys
            .iter()
            .filter_map(|k| {
                tags.iter()
                    .find(|(t, _)| t == k)
                    .map(|(_, v)| (k.clone(), v.clone()))
            })
            .collect(),
    }
}

/// Answers `q` over `points` (any order, any metrics).
pub fn evaluate(q: &Query, points: &[Point]) -> Vec<Group> {
    let (start, end) = q.time_range();
    let rows: Vec<Row> = selected(q.metric(), q.matchers(), points)
        .into_iter()
        .filter(|&(_, t, v)| {
            start <= t && t <= end && q.value_filter().is_none_or(|f| filter_accepts(&f, v))
        })
        .collect();
    let mut groups: BTreeMap<Tags, BTreeMap<i64, Vec<Row>>> = BTreeMap::new();
    for row in rows {
        let g = group_of(&row.0, q.group_keys());
        let b = match q.aggregation() {
            Some(_) => bucket_of(row.1, q.bucket_width(), start),
            None => 0,
        };
        groups.entry(g).or_default().entry(b).or_default().push(row);
    }
    let mut out = Vec::new();
    for (tags, buckets) in groups {
        let mut g = Group {
            tags,
            timestamps: Vec::new(),
            values: Vec::new(),
        };
        for (b, mut rows) in buckets {
            // Time order, then series order at equal timestamps.
            rows.sort_by(|x, y| x.1.cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
            match q.aggregation() {
                None => {
                    for (_, t, v) in rows {
                        g.timestamps.push(t);
                        g.values.push(v);
                    }
                }
                Some(a) => {
                    g.timestamps.push(b);
                    g.values.push(aggregate(a, &rows));
                }
            }
        }
        out.push(g);
    }
    out
}

/// One bucket's result from its rows (sorted by time, then series).
fn aggregate(a: Aggregation, rows: &[Row]) -> f64 {
    // Sums in series order, each series in time order, as the kernels add.
    let mut by_series = rows.to_vec();
    by_series.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.cmp(&y.1)));
    let sum = by_series.iter().fold(0.0, |s, r| s + r.2);
    let n = rows.len() as f64;
    let mut numbers: Vec<f64> = rows.iter().map(|r| r.2).filter(|v| !v.is_nan()).collect();
    numbers.sort_by(f64::total_cmp);
    match a {
        Aggregation::Count => n,
        Aggregation::Sum => sum,
        Aggregation::Mean => sum / n,
        Aggregation::Min => numbers.first().copied().unwrap_or(f64::NAN),
        Aggregation::Max => numbers.last().copied().unwrap_or(f64::NAN),
        Aggregation::First => rows[0].2,
        Aggregation::Last => {
            // The largest timestamp; among equals, the series that sorts last.
            let last = rows
                .iter()
                .max_by(|x, y| x.1.cmp(&y.1).then_with(|| x.0.cmp(&y.0)))
                .unwrap();
            last.2
        }
        Aggregation::StdDev => {
            if rows.iter().any(|r| !r.2.is_finite()) {
                return f64::NAN;
            }
            let mean = rows.iter().map(|r| r.2).sum::<f64>() / n;
            let sq: f64 = rows.iter().map(|r| (r.2 - mean) * (r.2 - mean)).sum();
            (sq / n).sqrt()
        }
        Aggregation::Quantile(q) => {
            if numbers.is_empty() {
                return f64::NAN;
            }
            let h = q * (numbers.len() - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (h.ceil() as usize).min(numbers.len() - 1);
            let f = h - lo as f64;
            let (x, y) = (numbers[lo], numbers[hi]);
            if f == 0.0 || x == y {
                x
            } else {
                (1.0 - f) * x + f * y
            }
        }
        other => unreachable!("aggregation {other:?} unknown to the reference"),
    }
}

/// `Db::last(metric, matchers)`: one group per series with its newest point.
pub fn last(metric: &str, matchers: &[Matcher], points: &[Point]) -> Vec<Group> {
    let mut newest: BTreeMap<Tags, (i64, f64)> = BTreeMap::new();
    for (tags, t, v) in selected(metric, matchers, points) {
        let e = newest.entry(tags).or_insert((t, v));
        if t > e.0 {
            *e = (t, v);
        }
    }
    newest
        .into_iter()
        .map(|(tags, (t, v))| Group {
            tags,
            timestamps: vec![t],
            values: vec![v],
        })
        .collect()
}

/// How two results' values must agree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Exactness {
    /// Bit for bit.
    Bits,
    /// NaN where the other is NaN, otherwise `|a - b| <= rel * max(1, |b|)`.
    Relative(f64),
}

/// The exactness to expect for `a` over values whose every partial sum is exact (small
/// multiples of a power of two): bitwise, except the standard deviation, which the
/// kernels compute by Welford's method and the reference in two passes.
pub fn exactness(a: Option<Aggregation>) -> Exactness {
    match a {
        Some(Aggregation::StdDev) => Exactness::Relative(1e-9),
        _ => Exactness::Bits,
    }
}

fn same(a: f64, b: f64, e: Exactness) -> bool {
    match e {
        Exactness::Bits => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
        Exactness::Relative(rel) => {
            (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= rel * b.abs().max(1.0)
        }
    }
}

/// Panics with both answers unless `got` and `want` have the same groups, timestamps
/// and values (compared as `e` says).
pub fn assert_same(got: &[Group], want: &[Group], e: Exactness) {
    let ok = got.len() == want.len()
        && got.iter().zip(want).all(|(g, w)| {
            g.tags == w.tags
                && g.timestamps == w.timestamps
                && g.values.len() == w.values.len()
                && g.values.iter().zip(&w.values).all(|(&a, &b)| same(a, b, e))
        });
    assert!(ok, "answers differ\n got: {got:?}\nwant: {want:?}");
}
