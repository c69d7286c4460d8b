//! Unit tests across the analytics pieces: buckets filled from columns and summaries,
//! the pushdown decision, merges of series, and bad input to the kernels. The
//! property tests against a brute-force reference are in `tests/analytics_model.rs`.

use super::*;
use crate::error::Error;

fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn agg(q: &Query) -> Aggregator {
    Aggregator::new(q).unwrap()
}

fn summary(ts: &[i64], values: &[f64]) -> ChunkSummary {
    ChunkSummary::of_columns(ts, values).unwrap()
}

#[test]
fn max_per_bucket_from_columns() {
    let a = agg(&Query::new("m", Aggregation::Max).range(0, 59).every(20));
    let mut acc = a.accumulator();
    acc.push_columns(&[0, 10, 19, 20], &[1.0, 3.0, 2.0, 5.0])
        .unwrap();
    acc.push_columns(&[45, 60], &[f64::NAN, 9.0]).unwrap();
    let (ts, v) = acc.finish();
    assert_eq!(ts, [0, 20, 40]);
    assert_eq!(v[..2], [3.0, 5.0]);
    assert!(v[2].is_nan());
    assert!(acc.is_empty());
}

#[test]
fn one_bucket_is_stamped_with_the_range_start() {
    let a = agg(&Query::new("m", Aggregation::Count).range(-7, 100));
    let mut acc = a.accumulator();
    acc.push_columns(&[-10, 0, 5, 200], &[1.0; 4]).unwrap();
    assert_eq!(acc.finish(), (vec![-7], vec![2.0]));
    let all = agg(&Query::new("m", Aggregation::Sum));
    let mut acc = all.accumulator();
    acc.push_columns(&[i64::MIN, i64::MAX], &[1.0, 2.0])
        .unwrap();
    assert_eq!(acc.finish(), (vec![i64::MIN], vec![3.0]));
}

#[test]
fn pushdown_decisions() {
    let q = Query::new("m", Aggregation::Sum).range(0, 99).every(10);
    let a = agg(&q);
    let inside = summary(&[10, 15, 19], &[1.0, 2.0, 3.0]);
    assert_eq!(a.chunk_action(&inside), ChunkAction::Summary(10));
    let spans = summary(&[15, 25], &[1.0, 2.0]);
    assert_eq!(a.chunk_action(&spans), ChunkAction::Decode);
    let before = summary(&[-5, -1], &[1.0, 2.0]);
    assert_eq!(a.chunk_action(&before), ChunkAction::Skip);
    let after = summary(&[100, 101], &[1.0, 2.0]);
    assert_eq!(a.chunk_action(&after), ChunkAction::Skip);
    let straddles = summary(&[-1, 5], &[1.0, 2.0]);
    assert_eq!(a.chunk_action(&straddles), ChunkAction::Decode);

    // Value filters: skip chunks they exclude, use the summary of chunks they cover.
    let f = agg(&q.clone().where_value(ValueFilter::gt(90.0)));
    assert_eq!(f.chunk_action(&inside), ChunkAction::Skip);
    let high = summary(&[10, 11], &[91.0, 95.0]);
    assert_eq!(f.chunk_action(&high), ChunkAction::Summary(10));
    let mixed = summary(&[10, 11], &[80.0, 95.0]);
    assert_eq!(f.chunk_action(&mixed), ChunkAction::Decode);
    let with_nan = summary(&[10, 11], &[f64::NAN, 95.0]);
    assert_eq!(f.chunk_action(&with_nan), ChunkAction::Decode);

    // Aggregations that need the values, or endpoints the index lacks.
    let p = agg(&Query::new("m", Aggregation::MEDIAN).range(0, 99));
    assert_eq!(p.chunk_action(&inside), ChunkAction::Decode);
    let raw = agg(&Query::raw("m"));
    assert_eq!(raw.chunk_action(&inside), ChunkAction::Decode);
    let first = agg(&Query::new("m", Aggregation::First).range(0, 99).every(10));
    assert_eq!(first.chunk_action(&inside), ChunkAction::Summary(10));
    let no_ends = ChunkSummary {
        first: (10, None),
        last: (19, None),
        ..inside
    };
    assert_eq!(first.chunk_action(&no_ends), ChunkAction::Decode);
    assert_eq!(a.chunk_action(&no_ends), ChunkAction::Summary(10));
}

#[test]
fn summaries_and_columns_agree() {
    let ts: Vec<i64> = (0..40).map(|i| i * 5).collect();
    let values: Vec<f64> = (0..40).map(|i| ((i * 7) % 11) as f64 - 3.0).collect();
    for aggregation in [
        Aggregation::Count,
        Aggregation::Sum,
        Aggregation::Min,
        Aggregation::Max,
        Aggregation::Mean,
        Aggregation::First,
        Aggregation::Last,
    ] {
        let a = agg(&Query::new("m", aggregation).range(0, 199).every(50));
        let mut raw = a.accumulator();
        raw.push_columns(&ts, &values).unwrap();
        // Chunks of 5 points: two per bucket.
        let mut pushed = a.accumulator();
        for (t, v) in ts.chunks(5).zip(values.chunks(5)) {
            let action = pushed.push_summary(&summary(t, v)).unwrap();
            assert!(matches!(action, ChunkAction::Summary(_)), "{aggregation}");
        }
        assert_eq!(raw.finish(), pushed.finish(), "{aggregation}");
    }
}

#[test]
fn push_summary_leaves_decode_to_the_caller() {
    let a = agg(&Query::new("m", Aggregation::Max).every(10));
    let mut acc = a.accumulator();
    let s = summary(&[5, 15], &[1.0, 2.0]);
    assert_eq!(acc.push_summary(&s).unwrap(), ChunkAction::Decode);
    assert!(acc.is_empty());
    acc.push_columns(&[5, 15], &[1.0, 2.0]).unwrap();
    assert_eq!(acc.finish(), (vec![0, 10], vec![1.0, 2.0]));
}

#[test]
fn pieces_out_of_order_are_refused() {
    let a = agg(&Query::new("m", Aggregation::Sum));
    let mut acc = a.accumulator();
    acc.push_columns(&[5, 6], &[1.0, 2.0]).unwrap();
    assert!(matches!(
        acc.push_columns(&[6], &[1.0]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        acc.push_summary(&summary(&[3, 4], &[1.0, 1.0])),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        acc.push_columns(&[9, 10], &[1.0]),
        Err(Error::InvalidArgument(_))
    ));
    acc.push_columns(&[7], &[4.0]).unwrap();
    assert_eq!(acc.finish(), (vec![i64::MIN], vec![7.0]));
    // A finished accumulator starts over.
    acc.push_columns(&[1], &[1.0]).unwrap();
}

#[test]
fn merging_series_of_a_group() {
    let a = agg(&Query::new("m", Aggregation::Last).every(10));
    let mut x = a.accumulator();
    x.push_columns(&[0, 10, 25], &[1.0, 2.0, 3.0]).unwrap();
    let mut y = a.accumulator();
    y.push_columns(&[10, 31], &[20.0, 30.0]).unwrap();
    x.merge(&y).unwrap();
    // Bucket 10: both series at t = 10, the later series wins `Last`.
    assert_eq!(
        x.finish(),
        (vec![0, 10, 20, 30], vec![1.0, 20.0, 3.0, 30.0])
    );

    let other = agg(&Query::new("m", Aggregation::Max).every(10)).accumulator();
    assert!(matches!(x.merge(&other), Err(Error::InvalidArgument(_))));
    let wider = agg(&Query::new("m", Aggregation::Last).every(20)).accumulator();
    assert!(matches!(x.merge(&wider), Err(Error::InvalidArgument(_))));
}

#[test]
fn raw_points_merge_by_time() {
    let q = Query::raw("m")
        .group_by(&[])
        .where_value(ValueFilter::ge(0.0));
    let s1 = tags(&[("h", "a")]);
    let s2 = tags(&[("h", "b")]);
    let groups = evaluate(
        &q,
        [
            (s2.as_slice(), &[1i64, 3][..], &[20.0, 30.0][..]),
            (s1.as_slice(), &[1, 2, 4][..], &[10.0, -1.0, 40.0][..]),
        ],
    )
    .unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].tags, []);
    assert_eq!(groups[0].timestamps, [1, 1, 3, 4]);
    assert_eq!(groups[0].values, [10.0, 20.0, 30.0, 40.0]);
}

#[test]
fn evaluate_groups_and_sorts() {
    let a = tags(&[("dc", "x"), ("h", "a")]);
    let b = tags(&[("dc", "x"), ("h", "b")]);
    let c = tags(&[("dc", "y"), ("h", "c")]);
    let q = Query::new("m", Aggregation::Sum)
        .filter(Matcher::ne("h", "c"))
        .group_by(&["dc"])
        .range(0, 100);
    let series = [
        (c.as_slice(), &[1i64][..], &[100.0][..]),
        (b.as_slice(), &[1][..], &[2.0][..]),
        (a.as_slice(), &[1][..], &[1.0][..]),
        // A second piece of `a`, later in time, as a batched scan gives it.
        (a.as_slice(), &[50][..], &[4.0][..]),
    ];
    let groups = evaluate(&q, series).unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].tags, tags(&[("dc", "x")]));
    assert_eq!(
        (groups[0].timestamps.clone(), groups[0].values.clone()),
        (vec![0], vec![7.0])
    );

    // Empty groups are left out; no matching series gives no group.
    let none = Query::new("m", Aggregation::Sum).range(500, 600);
    assert!(evaluate(&none, series).unwrap().is_empty());
    let nobody = Query::new("m", Aggregation::Sum).filter(Matcher::eq("h", "zz"));
    assert!(evaluate(&nobody, series).unwrap().is_empty());
    assert!(matches!(
        evaluate(&Query::new("m", Aggregation::Sum).every(0), series),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn collect_checks_its_inputs() {
    let q = Query::new("m", Aggregation::Sum);
    let a = agg(&q);
    let t = [tags(&[("h", "a")])];
    let plan = GroupPlan::new(None, t.iter().map(Vec::as_slice)).unwrap();
    assert!(matches!(
        a.collect(plan.clone(), Vec::new()),
        Err(Error::InvalidArgument(_))
    ));
    let mut acc = a.accumulator();
    acc.push_columns(&[1], &[2.0]).unwrap();
    let groups = a.collect(plan, vec![acc]).unwrap();
    assert_eq!(groups[0].tags, t[0]);
}

#[test]
fn quantile_buckets_from_columns() {
    let a = agg(&Query::new("m", Aggregation::Quantile(0.5)).every(10));
    let mut acc = a.accumulator();
    acc.push_columns(&[0, 1, 2, 3, 10], &[4.0, 1.0, f64::NAN, 2.0, 7.0])
        .unwrap();
    assert_eq!(acc.finish(), (vec![0, 10], vec![2.0, 7.0]));
}
