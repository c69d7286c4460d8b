//! Proptest strategies shared by the analytics tests: tag keys and values, matchers of
//! every kind, aggregations, value filters and whole queries.

use proptest::prelude::*;
use tidestore::ts::{Aggregation, Matcher, Query, ValueFilter};

/// Tag keys of generated series.
pub const KEYS: [&str; 4] = ["dc", "host", "rack", "zone"];
/// Tag values of generated series.
pub const VALUES: [&str; 5] = ["a", "b", "ab", "x-1", "x-2"];
/// Regex patterns of generated matchers.
pub const PATTERNS: [&str; 9] = [
    ".*", "a|b", "a.*", "", "x-.*", "(a|x-1)", "a?b", ".+", "x-[0-9]",
];

/// Values whose sums are exact in any order (multiples of 1/4), and specials.
pub fn exact_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        20 => (-40i32..40).prop_map(|i| f64::from(i) * 0.25),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-0.0),
        1 => Just(0.0),
    ]
}

/// A matcher of any kind over [`KEYS`] and [`VALUES`].
pub fn matcher() -> impl Strategy<Value = Matcher> {
    let key = 0..KEYS.len();
    let value = prop_oneof![4 => (0..VALUES.len()).prop_map(|v| VALUES[v]), 1 => Just("")];
    prop_oneof![
        (key.clone(), value.clone()).prop_map(|(k, v)| Matcher::eq(KEYS[k], v)),
        (key.clone(), value.clone()).prop_map(|(k, v)| Matcher::ne(KEYS[k], v)),
        (key.clone(), 0..PATTERNS.len())
            .prop_map(|(k, p)| Matcher::regex(KEYS[k], PATTERNS[p]).unwrap()),
        (key.clone(), 0..PATTERNS.len()).prop_map(|(k, p)| Matcher::not_regex(
            KEYS[k],
            PATTERNS[p]
        )
        .unwrap()),
        (key, prop::collection::vec(value, 0..3)).prop_map(|(k, vs)| Matcher::one_of(KEYS[k], &vs)),
    ]
}

/// Any aggregation, or `None` for raw points.
pub fn aggregation() -> impl Strategy<Value = Option<Aggregation>> {
    prop_oneof![
        Just(Some(Aggregation::Count)),
        Just(Some(Aggregation::Sum)),
        Just(Some(Aggregation::Min)),
        Just(Some(Aggregation::Max)),
        Just(Some(Aggregation::Mean)),
        Just(Some(Aggregation::First)),
        Just(Some(Aggregation::Last)),
        Just(Some(Aggregation::StdDev)),
        prop_oneof![Just(0.0), Just(0.25), Just(0.5), Just(0.9), Just(1.0)]
            .prop_map(|q| Some(Aggregation::Quantile(q))),
        Just(None),
    ]
}

/// No value filter, or one of every kind.
pub fn value_filter() -> impl Strategy<Value = Option<ValueFilter>> {
    let x = (-10i32..10).prop_map(|i| f64::from(i) * 0.5);
    prop_oneof![
        4 => Just(None),
        1 => x.clone().prop_map(|x| Some(ValueFilter::gt(x))),
        1 => x.clone().prop_map(|x| Some(ValueFilter::ge(x))),
        1 => x.clone().prop_map(|x| Some(ValueFilter::lt(x))),
        1 => x.clone().prop_map(|x| Some(ValueFilter::le(x))),
        1 => (x.clone(), 0i32..10).prop_map(|(x, d)| Some(ValueFilter::between(x, x + f64::from(d)))),
        1 => Just(Some(ValueFilter::lt(f64::INFINITY))),
    ]
}

/// A random query over `cpu`; `base` places its range near the data.
pub fn query(base: i64) -> impl Strategy<Value = Query> {
    let range = prop_oneof![
        2 => Just(None),
        3 => (0i64..130, 0i64..130).prop_map(move |(a, b)| {
            let (a, b) = (a.min(b), a.max(b));
            Some((base.saturating_add(a).saturating_sub(5), base.saturating_add(b)))
        }),
        1 => Just(Some((i64::MIN, i64::MAX))),
    ];
    let every = prop_oneof![
        2 => Just(None),
        1 => Just(Some(1i64)),
        2 => (2i64..40).prop_map(Some),
        1 => Just(Some(1000i64)),
        1 => Just(Some(i64::MAX)),
        1 => Just(Some(i64::MAX / 3 + 7)),
    ];
    let group_by = prop_oneof![
        3 => Just(None),
        1 => Just(Some(vec![])),
        2 => prop::sample::subsequence(KEYS.to_vec(), 1..=3)
            .prop_shuffle()
            .prop_map(Some),
    ];
    (
        aggregation(),
        prop_oneof![2 => Just(0usize), 2 => Just(1), 1 => Just(2)]
            .prop_flat_map(|n| prop::collection::vec(matcher(), n)),
        range,
        every,
        group_by,
        value_filter(),
    )
        .prop_map(|(a, matchers, range, every, group_by, vf)| {
            let mut q = match a {
                Some(a) => Query::new("cpu", a),
                None => Query::raw("cpu"),
            };
            for m in matchers {
                q = q.filter(m);
            }
            if let Some((s, e)) = range {
                q = q.range(s, e);
            }
            if let (Some(w), true) = (every, a.is_some()) {
                q = q.every(w);
            }
            if let Some(keys) = group_by {
                q = q.group_by(&keys);
            }
            if let Some(f) = vf {
                q = q.where_value(f);
            }
            q
        })
}
