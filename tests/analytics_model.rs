//! Property tests of the analytics kernels, pushdown decisions and grouping against
//! the brute-force reference in `support_analytics`: random series and tags, points
//! with NaN, infinities, signed zeros and extreme timestamps, and random queries
//! (matchers of every kind, ranges, bucket widths from 1 to wider than the data, every
//! aggregation, raw points, value filters, group-by on zero, one and several keys).
//!
//! The kernel side runs the way the engine will: the matching series sorted by key, a
//! [`GroupPlan`], one accumulator per series fed chunk by chunk — from the chunk's
//! summary when [`BucketAcc::push_summary`] accepts it, from its points otherwise —
//! and [`Aggregator::collect`]. [`evaluate`] is checked against the same reference.
//! Values are small multiples of 1/4 (and specials), so every sum is exact whatever
//! the order of additions and results compare bit for bit; a second property checks
//! arbitrary finite values within a relative tolerance.

mod support_analytics;

use proptest::prelude::*;
use support_analytics::{Exactness, assert_same, exactness};
use tidestore::Point;
use tidestore::ts::analytics::{
    Aggregator, BucketAcc, ChunkAction, ChunkSummary, GroupPlan, evaluate,
};
use tidestore::ts::{Aggregation, Group, Matcher, Query};

use support_analytics::strategies::{KEYS, VALUES, exact_value, query};
/// One generated series: its tags (by key index, value index) and points.
#[derive(Debug, Clone)]
struct SeriesSpec {
    metric: &'static str,
    tags: Vec<(usize, usize)>,
    points: Vec<(i64, f64)>,
    /// Chunk lengths to cut the points into (cycled).
    chunks: Vec<usize>,
    /// Per chunk: offer the summary (true) or push the points directly.
    summarise: Vec<bool>,
    /// Per chunk: whether the summary knows its first and last values.
    endpoints: Vec<bool>,
}

impl SeriesSpec {
    fn tag_list(&self) -> Vec<(String, String)> {
        let mut t: Vec<(String, String)> = self
            .tags
            .iter()
            .map(|&(k, v)| (KEYS[k].to_owned(), VALUES[v].to_owned()))
            .collect();
        t.sort();
        t.dedup_by(|a, b| a.0 == b.0);
        t
    }

    /// Points sorted by time, one per timestamp (the last generated wins).
    fn sorted_points(&self) -> (Vec<i64>, Vec<f64>) {
        let mut p = self.points.clone();
        p.sort_by_key(|&(t, _)| t);
        let mut ts: Vec<i64> = Vec::new();
        let mut vs: Vec<f64> = Vec::new();
        for (t, v) in p {
            if ts.last() == Some(&t) {
                *vs.last_mut().unwrap() = v;
            } else {
                ts.push(t);
                vs.push(v);
            }
        }
        (ts, vs)
    }
}

fn any_finite_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1e6f64..1e6),
        (-1.0f64..1.0),
        Just(0.1),
        Just(0.2),
        Just(0.3)
    ]
}

/// Timestamps around a base: ordinary, negative, or against either end of `i64`.
fn timestamp(base: i64) -> impl Strategy<Value = i64> {
    (0i64..120).prop_map(move |o| base.saturating_add(o))
}

fn base() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => Just(0i64),
        1 => Just(-60i64),
        1 => Just(i64::MIN),
        1 => Just(i64::MAX - 119),
        1 => Just(1_451_606_400_000i64),
    ]
}

fn series(base: i64, value: BoxedStrategy<f64>) -> impl Strategy<Value = SeriesSpec> {
    (
        prop_oneof![6 => Just("cpu"), 1 => Just("mem")],
        prop::collection::vec((0..KEYS.len(), 0..VALUES.len()), 0..4),
        prop::collection::vec((timestamp(base), value), 0..40),
        prop::collection::vec(1usize..12, 1..4),
        prop::collection::vec(any::<bool>(), 1..5),
        prop::collection::vec(prop::bool::weighted(0.8), 1..5),
    )
        .prop_map(
            |(metric, tags, points, chunks, summarise, endpoints)| SeriesSpec {
                metric,
                tags,
                points,
                chunks,
                summarise,
                endpoints,
            },
        )
}

/// One stored series: metric, tags sorted by key, timestamps, values.
type StoredSeries = (String, Vec<(String, String)>, Vec<i64>, Vec<f64>);

/// The points of every generated series, as `query_range` returns them (duplicate
/// timestamps of a series collapsed, series with the same tags merged).
fn database(specs: &[SeriesSpec]) -> Vec<StoredSeries> {
    let mut by_key: std::collections::BTreeMap<(String, Vec<(String, String)>), SeriesSpec> =
        Default::default();
    for s in specs {
        by_key
            .entry((s.metric.to_owned(), s.tag_list()))
            .and_modify(|e| e.points.extend(&s.points))
            .or_insert_with(|| s.clone());
    }
    by_key
        .into_iter()
        .map(|((m, tags), s)| {
            let (ts, vs) = s.sorted_points();
            (m, tags, ts, vs)
        })
        .collect()
}

fn points(db: &[StoredSeries]) -> Vec<Point> {
    let mut out = Vec::new();
    for (m, tags, ts, vs) in db {
        for (&t, &v) in ts.iter().zip(vs) {
            out.push(Point {
                metric: m.clone(),
                tags: tags.clone(),
                timestamp: t,
                value: v,
            });
        }
    }
    out
}

/// Feeds one series to an accumulator chunk by chunk, as the engine will, and counts
/// the chunks answered from their summary.
fn feed(acc: &mut BucketAcc, spec: &SeriesSpec, ts: &[i64], vs: &[f64]) -> usize {
    let mut summarised = 0;
    let mut at = 0;
    let mut i = 0;
    while at < ts.len() {
        let len = spec.chunks[i % spec.chunks.len()].min(ts.len() - at);
        let (t, v) = (&ts[at..at + len], &vs[at..at + len]);
        let mut s = ChunkSummary::of_columns(t, v).unwrap();
        if !spec.endpoints[i % spec.endpoints.len()] {
            s.first.1 = None;
            s.last.1 = None;
        }
        if spec.summarise[i % spec.summarise.len()] {
            match acc.push_summary(&s).unwrap() {
                ChunkAction::Summary(_) => summarised += 1,
                ChunkAction::Skip => {}
                ChunkAction::Decode => acc.push_columns(t, v).unwrap(),
            }
        } else {
            // Two pushes of one chunk, to cross bucket runs between calls.
            let mid = len / 2;
            acc.push_columns(&t[..mid], &v[..mid]).unwrap();
            acc.push_columns(&t[mid..], &v[mid..]).unwrap();
        }
        at += len;
        i += 1;
    }
    summarised
}

/// The kernel side: plan, accumulate, collect.
fn run_kernels(q: &Query, specs: &[SeriesSpec]) -> (Vec<Group>, usize) {
    let db = database(specs);
    let agg = Aggregator::new(q).unwrap();
    let matching: Vec<_> = db
        .iter()
        .filter(|(m, tags, _, _)| m == q.metric() && q.matches(tags))
        .collect();
    let plan = GroupPlan::new(q.group_keys(), matching.iter().map(|s| s.1.as_slice())).unwrap();
    let mut summarised = 0;
    let mut accs = Vec::new();
    for (_, tags, ts, vs) in &matching {
        let spec = specs
            .iter()
            .find(|s| s.metric == "cpu" && &s.tag_list() == tags)
            .unwrap();
        let mut acc = agg.accumulator();
        summarised += feed(&mut acc, spec, ts, vs);
        accs.push(acc);
    }
    (agg.collect(plan, accs).unwrap(), summarised)
}

fn check(q: &Query, specs: &[SeriesSpec], e: Exactness) {
    let db = database(specs);
    let want = support_analytics::evaluate(q, &points(&db));
    let (got, summarised) = run_kernels(q, specs);
    if std::env::var("ANALYTICS_STATS").is_ok() {
        let pts: usize = want.iter().map(|g| g.values.len()).sum();
        eprintln!(
            "STAT groups={} buckets={} summarised={} agg={:?} nspecs={} q={:?}",
            want.len(),
            pts,
            summarised,
            q.aggregation(),
            specs.len(),
            q
        );
    }
    assert_same(&got, &want, e);
    // `evaluate` over the same columns, every series given whole (all metrics would
    // mix, so only the query's metric).
    let items = db
        .iter()
        .filter(|s| s.0 == q.metric())
        .map(|(_, tags, ts, vs)| (tags.as_slice(), ts.as_slice(), vs.as_slice()));
    assert_same(&evaluate(q, items).unwrap(), &want, e);
}

fn specs(value: fn() -> BoxedStrategy<f64>) -> impl Strategy<Value = (i64, Vec<SeriesSpec>)> {
    base().prop_flat_map(move |b| (Just(b), prop::collection::vec(series(b, value()), 1..8)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn kernels_match_the_reference(
        (q, specs) in specs(|| exact_value().boxed())
            .prop_flat_map(|(b, s)| (query(b), Just(s)))
    ) {
        check(&q, &specs, exactness(q.aggregation()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Arbitrary finite values: sums and means may differ from the reference by the
    /// rounding of another order of additions (and the pushdown path adds chunk sums),
    /// within a relative tolerance; everything else stays exact.
    #[test]
    fn any_finite_values_within_rounding(
        (q, specs) in specs(|| any_finite_value().boxed())
            .prop_flat_map(|(b, s)| (query(b), Just(s)))
    ) {
        let e = match q.aggregation() {
            Some(Aggregation::Sum | Aggregation::Mean | Aggregation::StdDev) => {
                // Rounding of up to 280 additions of values up to 1e6 stays far below.
                Exactness::Relative(1e-4)
            }
            a => exactness(a),
        };
        check(&q, &specs, e);
    }
}

/// Pushdown really happens: a series cut into chunks that each lie in one bucket is
/// answered from summaries alone, with the same answer.
#[test]
fn aligned_chunks_are_answered_from_summaries() {
    let spec = SeriesSpec {
        metric: "cpu",
        tags: vec![(1, 0)],
        points: (0..360)
            .map(|i| (i * 10, f64::from((i % 17) as i32) - 8.0))
            .collect(),
        chunks: vec![6],
        summarise: vec![true],
        endpoints: vec![true],
    };
    for a in [
        Aggregation::Max,
        Aggregation::Sum,
        Aggregation::Mean,
        Aggregation::Last,
    ] {
        let q = Query::new("cpu", a).range(0, 3599).every(60);
        let (got, summarised) = run_kernels(&q, std::slice::from_ref(&spec));
        assert_eq!(summarised, 60, "{a}");
        let db = database(std::slice::from_ref(&spec));
        assert_same(
            &got,
            &support_analytics::evaluate(&q, &points(&db)),
            Exactness::Bits,
        );
    }
    // A quantile never is.
    let q = Query::new("cpu", Aggregation::MEDIAN)
        .range(0, 3599)
        .every(60);
    assert_eq!(run_kernels(&q, std::slice::from_ref(&spec)).1, 0);
}

#[test]
fn reference_last_takes_the_newest_point_per_series() {
    let p = |t: i64, v: f64, host: &str| Point::new("cpu", t, v, &[("host", host)]);
    let points = [
        p(5, 1.0, "b"),
        p(9, 2.0, "b"),
        p(7, 3.0, "a"),
        p(1, 4.0, "a"),
    ];
    let got = support_analytics::last("cpu", &[Matcher::ne("host", "c")], &points);
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].timestamps[0], got[0].values[0]), (7, 3.0));
    assert_eq!((got[1].timestamps[0], got[1].values[0]), (9, 2.0));
}
