//! Model test of reads over aged data: a history compacted into many time-partitioned
//! segments (one per partition), then newer writes that overlap it — late points into
//! old partitions, rewrites of existing points, range deletes whose tombstones land in
//! newer segments or stay in the head, flushes that leave segments overlapping the
//! partitioned ones, compactions — and scans of random ranges, on one thread, with
//! `Scan::fold` and through `query_range`, compared with a reference model after every
//! step. Variants run with retention, and with background flushes (so frozen heads are
//! read too).

mod support_ts;

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use support_ts::{FILTERS, METRICS, Model, Op, Row, SERIES, rows, scan_rows};
use tidestore::SyncMode;
use tidestore::io::sim_fs::SimFs;
use tidestore::ts::Options;
use tidestore::{Db, Point, SeriesKey};

/// The partition width, in timestamp units.
const WIDTH: i64 = 100;

/// A well-mixed hash of a history point's coordinates, standing in for a random
/// generator so that thousands of points come from one proptest value.
fn mix(salt: u64, s: usize, t: i64) -> u64 {
    let mut z = salt ^ (s as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (t as u64);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The history, in arrival order (every series at t, then the next t): `days`
/// partitions, a point every `1 + salt % 6` units, each series skipping some of them.
fn history(salt: u64, days: i64) -> Vec<(usize, i64, f64)> {
    let step = 1 + (salt % 6) as i64;
    let mut out = Vec::new();
    for t in (0..days * WIDTH).step_by(step as usize) {
        for s in 0..SERIES.len() {
            let density = 1 + mix(salt, s, i64::MIN) % 4; // out of 4
            let h = mix(salt, s, t);
            if h % 4 < density {
                out.push((s, t, ((h >> 8) % 20_000) as f64 / 100.0 - 100.0));
            }
        }
    }
    out
}

/// The steps after the history: inserts (late ones into old partitions among them),
/// range deletes, flushes, compactions and scans compared with the model (`Op::Query`).
fn later(days: i64) -> impl Strategy<Value = Op> {
    let span = days * WIDTH;
    let t = prop_oneof![
        3 => -20..span + 20,          // anywhere in the history: late points
        2 => span..span + 3 * WIDTH,  // new data
    ];
    let range = prop_oneof![
        3 => (-50..span + 3 * WIDTH, 0i64..30).prop_map(|(a, n)| (a, a + n)),
        2 => (-50..span + 3 * WIDTH, -50..span + 3 * WIDTH).prop_map(|(a, b)| (a.min(b), a.max(b))),
        1 => Just((i64::MIN, i64::MAX)),
    ];
    let pick = (0..METRICS.len(), 0..FILTERS.len());
    prop_oneof![
        8 => (0..SERIES.len(), t, -1000i32..1000)
            .prop_map(|(s, t, v)| Op::Insert { s, t, v: f64::from(v) / 4.0 }),
        2 => (pick.clone(), range.clone()).prop_map(|((m, f), (a, b))| Op::Delete { m, f, a, b }),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        4 => (pick, range).prop_map(|((m, f), (a, b))| Op::Query { m, f, a, b }),
    ]
}

/// How a case runs.
#[derive(Debug, Clone, Copy)]
struct Setup {
    /// Segments overlapping a partition that trigger an automatic compaction.
    trigger: usize,
    /// Retention, in timestamp units.
    retention: Option<i64>,
    /// Background flushes and compactions (frozen heads are then read too).
    background: bool,
}

fn options(fs: &SimFs, setup: Setup) -> Options {
    Options::default()
        .background_work(setup.background)
        .sync_mode(SyncMode::Os)
        .head_bytes(4096)
        .max_frozen_heads(4)
        .chunk_points(16)
        .partition_width(WIDTH)
        .compaction_trigger(setup.trigger)
        .retention(setup.retention)
        .fs(Arc::new(fs.clone()))
}

/// The model and what retention hides.
struct Reference {
    model: Model,
    newest: Option<i64>,
    retention: Option<i64>,
}

impl Reference {
    fn insert(&mut self, s: usize, t: i64, v: f64) {
        self.model.insert(s, t, v);
        self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
    }

    fn range(&self, metric: &str, a: i64, b: i64, filter: &[(&str, &str)]) -> Vec<Row> {
        let cutoff = match (self.retention, self.newest) {
            (Some(r), Some(n)) => n.saturating_sub(r),
            _ => i64::MIN,
        };
        let mut want = self.model.range(metric, a, b, filter);
        want.retain(|r| r.1 >= cutoff);
        want
    }
}

/// Reads `[a, b]` through a scan cutting series into views of about `batch` points:
/// the rows, after checking that the views of one series follow one another in time
/// order, flagged as continuations, and that the cut falls where it should.
fn batched_rows(
    db: &Db,
    (metric, filter): (&str, &[(&str, &str)]),
    (a, b): (i64, i64),
    batch: usize,
    segments_only: bool,
) -> Result<Vec<Row>, TestCaseError> {
    let mut scan = db.scan(metric, a, b, filter).unwrap().batch_points(batch);
    let mut out: Vec<Row> = Vec::new();
    let mut last: Option<(SeriesKey, i64)> = None;
    while let Some(v) = scan.next().unwrap() {
        prop_assert!(!v.is_empty());
        let first = v.timestamps()[0];
        match &last {
            Some((k, t)) if k == v.key() => {
                prop_assert!(
                    v.continues_series(),
                    "a later view of {} is a continuation",
                    k
                );
                prop_assert!(*t < first, "views of a series in time order");
            }
            _ => prop_assert!(!v.continues_series(), "the first view of a series"),
        }
        if batch == usize::MAX {
            prop_assert!(!v.continues_series(), "whole series come as one view");
        } else if segments_only {
            // Chunks hold at most 16 points (`options`): a view is cut after the chunk
            // that reaches the batch size.
            prop_assert!(
                v.len() < batch.max(1) + 16,
                "{} points for a batch of {}",
                v.len(),
                batch
            );
        }
        for (&t, &x) in v.timestamps().iter().zip(v.values()) {
            out.push((v.key().clone(), t, x.to_bits()));
        }
        last = Some((v.key().clone(), *v.timestamps().last().unwrap()));
    }
    Ok(out)
}

/// Compares scans of `[a, b]` (one thread with whole series and with small batches,
/// fold, `query_range`) with the reference.
fn check(
    db: &Db,
    reference: &Reference,
    m: usize,
    f: usize,
    a: i64,
    b: i64,
) -> Result<(), TestCaseError> {
    let (metric, filter) = (METRICS[m], FILTERS[f]);
    let stats = db.stats();
    let segments_only = stats.head_points == 0 && stats.frozen_heads == 0;
    let want = reference.range(metric, a, b, filter);
    let got = scan_rows(db, metric, a, b, filter);
    prop_assert_eq!(&got, &want, "scan({}, {}, {}, {:?})", metric, a, b, filter);
    let queried = rows(&db.query_range(metric, a, b, filter).unwrap());
    prop_assert_eq!(&queried, &want, "query_range");
    let batch = (a.unsigned_abs() % 40) as usize; // 0..40, 0 counts as 1
    let batched = batched_rows(db, (metric, filter), (a, b), batch, segments_only)?;
    prop_assert_eq!(&batched, &want, "scan in batches of {}", batch);
    let whole = batched_rows(db, (metric, filter), (a, b), usize::MAX, segments_only)?;
    prop_assert_eq!(&whole, &want, "scan of whole series");
    let (n, bits) = db
        .scan(metric, a, b, filter)
        .unwrap()
        .batch_points(batch)
        .fold(
            || (0usize, 0u64),
            |(n, x), v| {
                let h = v
                    .timestamps()
                    .iter()
                    .zip(v.values())
                    .fold(0u64, |h, (&t, x)| {
                        h ^ x.to_bits().rotate_left(t as u32 % 64)
                    });
                (n + v.len(), x ^ h)
            },
            |p, q| (p.0 + q.0, p.1 ^ q.1),
        )
        .unwrap();
    prop_assert_eq!(n, want.len(), "fold count");
    let want_bits = want
        .iter()
        .fold(0u64, |h, r| h ^ r.2.rotate_left(r.1 as u32 % 64));
    prop_assert_eq!(bits, want_bits, "fold points");
    Ok(())
}

fn run(
    salt: u64,
    days: i64,
    ops: Vec<Op>,
    checks: Vec<(usize, usize, i64, i64)>,
    setup: Setup,
) -> Result<(), TestCaseError> {
    let fs = SimFs::new();
    let dir = Path::new("/aged");
    let opts = options(&fs, setup);
    let mut db = Db::open_with(dir, opts.clone()).unwrap();
    let mut reference = Reference {
        model: Model::default(),
        newest: None,
        retention: setup.retention,
    };

    let points = history(salt, days);
    for batch in points.chunks(97) {
        let b: Vec<Point> = batch
            .iter()
            .map(|&(s, t, v)| Point::new(SERIES[s].0, t, v, SERIES[s].1))
            .collect();
        db.insert_batch(&b).unwrap();
        for &(s, t, v) in batch {
            reference.insert(s, t, v);
        }
    }
    db.flush().unwrap();
    db.compact().unwrap();
    if setup.retention.is_none() {
        // The history really is many partitioned segments.
        prop_assert_eq!(db.stats().segments as i64, days, "{:?}", db.stats());
    }
    check(&db, &reference, 0, 0, i64::MIN, i64::MAX)?;

    for op in ops {
        match op {
            Op::Insert { s, t, v } => {
                let (m, tags) = SERIES[s];
                db.insert(m, t, v, tags).unwrap();
                reference.insert(s, t, v);
            }
            Op::Delete { m, f, a, b } => {
                db.delete_range(METRICS[m], a, b, FILTERS[f]).unwrap();
                reference.model.delete(METRICS[m], a, b, FILTERS[f]);
            }
            Op::Flush => db.flush().unwrap(),
            Op::Compact => db.compact().unwrap(),
            Op::Query { m, f, a, b } => check(&db, &reference, m, f, a, b)?,
            other => unreachable!("not generated here: {other:?}"),
        }
    }
    for &(m, f, a, b) in &checks {
        check(&db, &reference, m, f, a, b)?;
    }
    for m in 0..METRICS.len() {
        check(&db, &reference, m, 0, i64::MIN, i64::MAX)?;
    }
    if setup.retention.is_none() {
        // The same answers from the files alone, then after a full compaction.
        drop(db);
        db = Db::open_with(dir, opts).unwrap();
        for &(m, f, a, b) in &checks {
            check(&db, &reference, m, f, a, b)?;
        }
        db.compact().unwrap();
        for &(m, f, a, b) in &checks {
            check(&db, &reference, m, f, a, b)?;
        }
    }
    Ok(())
}

fn checks(days: i64) -> impl Strategy<Value = Vec<(usize, usize, i64, i64)>> {
    let span = days * WIDTH + 3 * WIDTH;
    prop::collection::vec(
        (0..METRICS.len(), 0..FILTERS.len(), -50..span, -50..span)
            .prop_map(|(m, f, a, b)| (m, f, a.min(b), a.max(b))),
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Many partitioned segments, overlapped by newer segments, tombstones and head
    /// data; automatic compaction off (overlaps stay) or eager.
    #[test]
    fn aged_scans_match_the_model(
        salt in any::<u64>(),
        (days, ops, checks) in (2i64..30).prop_flat_map(|d| {
            (Just(d), prop::collection::vec(later(d), 0..60), checks(d))
        }),
        trigger in prop_oneof![Just(1000usize), 2usize..6],
    ) {
        run(salt, days, ops, checks, Setup { trigger, retention: None, background: false })?;
    }

    /// The same with retention: scans clip at the newest timestamp written minus the
    /// retention, and compactions drop what is older.
    #[test]
    fn aged_scans_with_retention_match_the_model(
        salt in any::<u64>(),
        (days, ops, checks) in (2i64..30).prop_flat_map(|d| {
            (Just(d), prop::collection::vec(later(d), 0..60), checks(d))
        }),
        retention in 50i64..3000,
    ) {
        let setup = Setup { trigger: 4, retention: Some(retention), background: false };
        run(salt, days, ops, checks, setup)?;
    }

    /// Background flushes of a tiny head: scans also read frozen heads waiting for
    /// their flush.
    #[test]
    fn aged_scans_with_background_flushes_match_the_model(
        salt in any::<u64>(),
        (days, ops, checks) in (2i64..20).prop_flat_map(|d| {
            (Just(d), prop::collection::vec(later(d), 0..60), checks(d))
        }),
    ) {
        let setup = Setup { trigger: 3, retention: None, background: true };
        run(salt, days, ops, checks, setup)?;
    }
}

/// `fold` after `next` folds the rest of the series `next` was in the middle of, then
/// the other series; the views of one series reach the fold in time order.
#[test]
fn fold_after_next_finishes_the_series_in_progress() {
    let fs = SimFs::new();
    let setup = Setup {
        trigger: 1000,
        retention: None,
        background: false,
    };
    let db = Db::open_with(Path::new("/fold"), options(&fs, setup)).unwrap();
    for (s, &(m, tags)) in SERIES.iter().enumerate() {
        let h = db.series(m, tags).unwrap();
        let ts: Vec<i64> = (0..1000).collect();
        let vs: Vec<f64> = ts.iter().map(|&t| (s as i64 * 10_000 + t) as f64).collect();
        db.append(&h, &ts, &vs).unwrap();
        if s % 2 == 0 {
            db.flush().unwrap();
        }
    }
    db.compact().unwrap();
    // Four cpu series of 1000 points; batches of at least 100 points.
    let mut scan = db
        .scan("cpu", i64::MIN, i64::MAX, &[])
        .unwrap()
        .batch_points(100);
    let first = scan.next().unwrap().unwrap();
    assert!(!first.continues_series());
    let (key, seen) = (first.key().clone(), first.len());
    assert!((100..116).contains(&seen), "{seen}");
    let last = *first.timestamps().last().unwrap();
    let (n, in_order) = scan
        .fold(
            || (0usize, true),
            |(n, ok), v| {
                let ok =
                    ok && (v.key() != &key || (v.continues_series() && v.timestamps()[0] > last));
                let ok = ok && v.timestamps().windows(2).all(|w| w[0] < w[1]);
                (n + v.len(), ok)
            },
            |a, b| (a.0 + b.0, a.1 && b.1),
        )
        .unwrap();
    assert_eq!(seen + n, 4000, "every point once");
    assert!(in_order);

    // A batch of 0 counts as 1: each view is one chunk.
    let mut scan = db
        .scan("mem", i64::MIN, i64::MAX, &[])
        .unwrap()
        .batch_points(0);
    let mut views = 0;
    while let Some(v) = scan.next().unwrap() {
        assert!((1..=16).contains(&v.len()));
        views += 1;
    }
    assert!(views >= 2 * 1000 / 16, "{views}");
}
