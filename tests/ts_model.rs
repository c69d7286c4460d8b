//! Model-based test of the time-series `Db`: random sequences of inserts, batches,
//! handle appends, updates, range deletes and every kind of query, across flushes,
//! compactions, reopens, process kills and power cuts, checked after every step
//! against an in-memory reference (`BTreeMap` keyed by series and timestamp).
//!
//! The database runs on `SimFs` with a tiny head and tiny chunks, so segments,
//! overlapping segments and multi-chunk series really form; timestamps repeat and
//! arrive out of order (extremes of `i64` included); values carry adversarial bit
//! patterns (NaN payloads, -0.0, subnormals, infinities) and are compared with
//! `to_bits`.

mod support_ts;

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use support_ts::{
    FILTERS, METRICS, Model, Op, SERIES, all_rows, assert_matches, key, rows, rows_of_scan,
    scan_rows,
};
use tidestore::SyncMode;
use tidestore::io::sim_fs::SimFs;
use tidestore::ts::{Options, ValueFilter};
use tidestore::{Db, Error, Point};

fn timestamp() -> impl Strategy<Value = i64> {
    prop_oneof![
        12 => -60i64..60,
        1 => prop::sample::select(vec![
            i64::MIN,
            i64::MIN + 1,
            i64::MAX - 1,
            i64::MAX,
            -1_000_000_000_000,
            4_000_000_000_000,
        ]),
    ]
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => (-1000i32..1000).prop_map(f64::from),
        2 => (-100_000i64..100_000).prop_map(|x| x as f64 / 100.0),
        2 => any::<u64>().prop_map(f64::from_bits),
        1 => prop::sample::select(vec![
            0.0,
            -0.0,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001), // signalling NaN with a payload
            f64::from_bits(0xfff8_dead_beef_0001),
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::from_bits(1), // smallest subnormal
            f64::MAX,
            f64::MIN,
        ]),
    ]
}

fn series() -> impl Strategy<Value = usize> {
    0..SERIES.len()
}

fn range() -> impl Strategy<Value = (i64, i64)> {
    prop_oneof![
        4 => (timestamp(), timestamp()).prop_map(|(a, b)| (a.min(b), a.max(b))),
        1 => Just((i64::MIN, i64::MAX)),
    ]
}

fn op(power_cuts: bool) -> impl Strategy<Value = Op> {
    let restart = if power_cuts {
        Just(Op::PowerCut).boxed()
    } else {
        prop_oneof![Just(Op::Reopen), Just(Op::Kill)].boxed()
    };
    prop_oneof![
        6 => (series(), timestamp(), value()).prop_map(|(s, t, v)| Op::Insert { s, t, v }),
        4 => prop::collection::vec((series(), timestamp(), value()), 0..30).prop_map(Op::Batch),
        3 => (series(), prop::collection::vec((timestamp(), value()), 0..40))
            .prop_map(|(s, points)| Op::Append { s, points }),
        2 => (series(), timestamp(), value()).prop_map(|(s, t, v)| Op::Update { s, t, v }),
        2 => (0..METRICS.len(), 0..FILTERS.len(), range())
            .prop_map(|(m, f, (a, b))| Op::Delete { m, f, a, b }),
        3 => (0..METRICS.len(), 0..FILTERS.len(), range())
            .prop_map(|(m, f, (a, b))| Op::Query { m, f, a, b }),
        1 => (0..METRICS.len(), timestamp()).prop_map(|(m, t)| Op::Get { m, t }),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => restart,
    ]
}

/// Value filters for a scan, varied by the query's range so that runs try many: an
/// open bound at a value the generator often draws, a between, and one that only
/// infinities pass.
fn value_filters(a: i64, b: i64) -> [ValueFilter; 3] {
    let x = (a.rem_euclid(1000) - 500) as f64;
    let y = x + (b.rem_euclid(600) as f64);
    [
        if a % 2 == 0 {
            ValueFilter::gt(x)
        } else {
            ValueFilter::le(x)
        },
        ValueFilter::between(x, y),
        ValueFilter::gt(f64::MAX),
    ]
}

/// Options that make segments form quickly and overlap.
fn options(fs: &SimFs, sync: SyncMode) -> Options {
    Options::default()
        .background_work(false)
        .sync_mode(sync)
        .head_bytes(4096)
        .chunk_points(16)
        .partition_width(16)
        .compaction_trigger(2)
        .fs(Arc::new(fs.clone()))
}

/// Runs `ops`, checking the database against the model after every one.
fn run(ops: Vec<Op>, sync: SyncMode) -> Result<(), TestCaseError> {
    let fs = SimFs::new();
    let dir = Path::new("/model");
    let opts = options(&fs, sync);
    let mut db = Db::open_with(dir, opts.clone()).unwrap();
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::Insert { s, t, v } => {
                let (m, tags) = SERIES[s];
                db.insert(m, t, v, tags).unwrap();
                model.insert(s, t, v);
            }
            Op::Batch(points) => {
                let batch: Vec<Point> = points
                    .iter()
                    .map(|&(s, t, v)| Point::new(SERIES[s].0, t, v, SERIES[s].1))
                    .collect();
                db.insert_batch(&batch).unwrap();
                // Within a batch, a later point of the same series and timestamp wins.
                for (s, t, v) in points {
                    model.insert(s, t, v);
                }
            }
            Op::Append { s, points } => {
                let (m, tags) = SERIES[s];
                let h = db.series(m, tags).unwrap();
                prop_assert_eq!(h.key(), &key(s));
                let (ts, vs): (Vec<i64>, Vec<f64>) = points.iter().copied().unzip();
                db.append(&h, &ts, &vs).unwrap();
                model.defined.insert(s);
                for (t, v) in points {
                    model.insert(s, t, v);
                }
            }
            Op::Update { s, t, v } => {
                let (m, tags) = SERIES[s];
                let r = db.update(m, t, v, tags);
                if model.points.contains_key(&(s, t)) {
                    r.unwrap();
                    model.insert(s, t, v);
                } else {
                    prop_assert!(matches!(r, Err(Error::NotFound(_))), "{:?}", r);
                }
            }
            Op::Delete { m, f, a, b } => {
                db.delete_range(METRICS[m], a, b, FILTERS[f]).unwrap();
                model.delete(METRICS[m], a, b, FILTERS[f]);
            }
            Op::Query { m, f, a, b } => {
                let (metric, filter) = (METRICS[m], FILTERS[f]);
                let want = model.range(metric, a, b, filter);
                let got = rows(&db.query_range(metric, a, b, filter).unwrap());
                prop_assert_eq!(
                    &got,
                    &want,
                    "query_range({}, {}, {}, {:?})",
                    metric,
                    a,
                    b,
                    filter
                );
                prop_assert_eq!(&scan_rows(&db, metric, a, b, filter), &want, "scan");
                let whole = model.range(metric, i64::MIN, i64::MAX, filter);
                let by_tags = rows(&db.query_by_tags(metric, filter).unwrap());
                prop_assert_eq!(by_tags, whole, "query_by_tags");
                // The parallel scan sees the same points.
                let (n, bits) = db
                    .scan(metric, a, b, filter)
                    .unwrap()
                    .fold(
                        || (0usize, 0u64),
                        |(n, x), v| {
                            let h = v.values().iter().fold(0u64, |h, f| h ^ f.to_bits());
                            (n + v.len(), x ^ h)
                        },
                        |p, q| (p.0 + q.0, p.1 ^ q.1),
                    )
                    .unwrap();
                prop_assert_eq!(n, want.len());
                prop_assert_eq!(bits, want.iter().fold(0u64, |h, r| h ^ r.2));
                // Value filters on the scan keep exactly the model's passing rows.
                for vf in value_filters(a, b) {
                    let scan = db.scan(metric, a, b, filter).unwrap().where_value(vf);
                    let got = rows_of_scan(scan.unwrap().batch_points(7));
                    let passing: Vec<_> = want
                        .iter()
                        .filter(|r| vf.matches(f64::from_bits(r.2)))
                        .cloned()
                        .collect();
                    prop_assert_eq!(&got, &passing, "scan where {:?}", vf);
                }
            }
            Op::Get { m, t } => {
                let got = rows(&db.get(METRICS[m], t).unwrap());
                prop_assert_eq!(got, model.range(METRICS[m], t, t, &[]), "get");
            }
            Op::Flush => db.flush().unwrap(),
            Op::Compact => {
                db.compact().unwrap();
                let stats = db.stats();
                prop_assert_eq!(stats.head_points, 0);
                prop_assert_eq!(stats.frozen_heads, 0);
            }
            Op::Reopen => {
                drop(db);
                db = Db::open_with(dir, opts.clone()).unwrap();
            }
            Op::Kill => {
                fs.kill_process();
                drop(db);
                db = Db::open_with(dir, opts.clone()).unwrap();
            }
            Op::PowerCut => {
                fs.crash();
                drop(db);
                db = Db::open_with(dir, opts.clone()).unwrap();
            }
        }
        assert_matches(&db, &model);
        prop_assert_eq!(db.metrics(), metrics_of(&model));
    }
    // A last compaction and reopen keep everything.
    db.compact().unwrap();
    drop(db);
    let db = Db::open_with(dir, opts).unwrap();
    assert_matches(&db, &model);
    prop_assert_eq!(all_rows(&db).len(), model.points.len());
    Ok(())
}

fn metrics_of(model: &Model) -> Vec<String> {
    let mut m: Vec<String> = model
        .defined
        .iter()
        .map(|&s| SERIES[s].0.to_owned())
        .collect();
    m.dedup();
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Reopens and process kills with `SyncMode::Os`: every acknowledged write stays.
    #[test]
    fn db_matches_the_model(ops in prop::collection::vec(op(false), 1..80)) {
        run(ops, SyncMode::Os)?;
    }

    /// Power cuts with `SyncMode::Always`: the database after each cut is exactly the
    /// acknowledged state.
    #[test]
    fn power_cuts_keep_exactly_the_acknowledged_state(
        ops in prop::collection::vec(op(true), 1..80)
    ) {
        run(ops, SyncMode::Always)?;
    }
}

/// Duplicates inside one batch and one append: the later point wins.
#[test]
fn later_duplicates_win_inside_one_write() {
    let fs = SimFs::new();
    let db = Db::open_with(Path::new("/dup"), options(&fs, SyncMode::Os)).unwrap();
    let (m, tags) = SERIES[0];
    let batch = [
        Point::new(m, 5, 1.0, tags),
        Point::new(m, 3, 2.0, tags),
        Point::new(m, 5, 3.0, tags),
    ];
    db.insert_batch(&batch).unwrap();
    let h = db.series(m, tags).unwrap();
    db.append(&h, &[9, 9, 1], &[1.0, -0.0, 4.0]).unwrap();
    let got: Vec<(i64, u64)> = db
        .query_metric(m)
        .unwrap()
        .iter()
        .map(|p| (p.timestamp, p.value.to_bits()))
        .collect();
    let want = vec![
        (1, 4f64.to_bits()),
        (3, 2f64.to_bits()),
        (5, 3f64.to_bits()),
        (9, (-0.0f64).to_bits()),
    ];
    assert_eq!(got, want);
    db.compact().unwrap();
    let again: Vec<(i64, u64)> = db
        .query_metric(m)
        .unwrap()
        .iter()
        .map(|p| (p.timestamp, p.value.to_bits()))
        .collect();
    assert_eq!(again, want);
}
