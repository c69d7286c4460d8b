//! End-to-end tests of the time-series `Db` through its public API: the seed's nine
//! functions, bad input, last-write-wins and deletes across head, segments and
//! compaction, reopen (WAL replay), scan vs query, series handles, and a power cut.

use std::path::Path;
use std::sync::Arc;

use tidestore::SyncMode;
use tidestore::io::sim_fs::SimFs;
use tidestore::ts::Options;
use tidestore::{Db, Error, Point, SeriesKey};

const T0: i64 = 1_627_588_732;

/// Deterministic options: flushes and compactions run inline.
fn opts() -> Options {
    Options::default()
        .background_work(false)
        .sync_mode(SyncMode::Os)
}

fn open(dir: &Path) -> Db {
    Db::open_with(dir, opts()).unwrap()
}

fn pts(points: &[Point]) -> Vec<(String, i64, f64)> {
    points
        .iter()
        .map(|p| {
            let tags: Vec<String> = p.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            (
                format!("{}{{{}}}", p.metric, tags.join(",")),
                p.timestamp,
                p.value,
            )
        })
        .collect()
}

fn s(x: &str) -> String {
    x.to_owned()
}

#[test]
fn the_seeds_nine_functions() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let office = [("location", "office")];
    let home = [("location", "home")];

    // add_data_point
    db.insert("temperature", T0, 23.5, &office).unwrap();
    db.insert("temperature", T0 + 1, 23.7, &office).unwrap();
    db.insert("temperature", T0, 19.0, &home).unwrap();
    // update_data_point
    db.update("temperature", T0, 24.0, &office).unwrap();
    assert!(matches!(
        db.update("temperature", T0 + 99, 1.0, &office),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        db.update("temperature", T0, 1.0, &[("location", "attic")]),
        Err(Error::NotFound(_))
    ));
    // get_data_point: every series of the metric at that time, sorted by key
    assert_eq!(
        pts(&db.get("temperature", T0).unwrap()),
        vec![
            (s("temperature{location=home}"), T0, 19.0),
            (s("temperature{location=office}"), T0, 24.0)
        ]
    );
    // add_data_points_batch
    db.insert_batch(&[
        Point::new("humidity", T0, 55.0, &office),
        Point::new("humidity", T0 + 1, 56.0, &office),
        Point::new("humidity", T0, 40.0, &home),
    ])
    .unwrap();
    // query_range (inclusive), with and without a tag filter
    assert_eq!(
        pts(&db.query_range("temperature", T0, T0 + 1, &office).unwrap()),
        vec![
            (s("temperature{location=office}"), T0, 24.0),
            (s("temperature{location=office}"), T0 + 1, 23.7)
        ]
    );
    assert_eq!(
        db.query_range("temperature", T0, T0 + 1, &[])
            .unwrap()
            .len(),
        3
    );
    assert!(
        db.query_range("temperature", T0 + 2, T0 + 9, &[])
            .unwrap()
            .is_empty()
    );
    // query_by_tags
    assert_eq!(
        pts(&db.query_by_tags("humidity", &home).unwrap()),
        vec![(s("humidity{location=home}"), T0, 40.0)]
    );
    // list_keys: sorted
    let keys: Vec<String> = db
        .list_keys()
        .unwrap()
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(
        keys,
        [
            "humidity{location=home}",
            "humidity{location=office}",
            "temperature{location=home}",
            "temperature{location=office}"
        ]
    );
    // query_metric
    assert_eq!(db.query_metric("humidity").unwrap().len(), 3);
    assert!(db.query_metric("pressure").unwrap().is_empty());
    // delete_range
    db.delete_range("temperature", T0, T0, &office).unwrap();
    assert_eq!(
        pts(&db.query_metric("temperature").unwrap()),
        vec![
            (s("temperature{location=home}"), T0, 19.0),
            (s("temperature{location=office}"), T0 + 1, 23.7)
        ]
    );
    db.close().unwrap();
}

#[test]
fn tag_filters_match_subsets_and_tag_order_does_not_matter() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.insert("cpu", 1, 1.0, &[("host", "a"), ("dc", "x")])
        .unwrap();
    db.insert("cpu", 1, 2.0, &[("dc", "x"), ("host", "b")])
        .unwrap();
    db.insert("cpu", 2, 3.0, &[("host", "a"), ("dc", "x")])
        .unwrap();
    db.insert("cpu", 1, 4.0, &[("dc", "y"), ("host", "a")])
        .unwrap();
    assert_eq!(db.list_keys().unwrap().len(), 3);
    assert_eq!(db.query_by_tags("cpu", &[("dc", "x")]).unwrap().len(), 3);
    assert_eq!(db.query_by_tags("cpu", &[("host", "a")]).unwrap().len(), 3);
    let both = db
        .query_by_tags("cpu", &[("dc", "x"), ("host", "a")])
        .unwrap();
    assert_eq!(
        pts(&both).iter().map(|p| p.2).collect::<Vec<_>>(),
        vec![1.0, 3.0]
    );
    assert!(
        db.query_by_tags("cpu", &[("host", "zzz")])
            .unwrap()
            .is_empty()
    );
    assert!(db.query_by_tags("mem", &[]).unwrap().is_empty());
}

#[test]
fn bad_input_is_invalid_argument_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.insert("ok", 1, 1.0, &[("k", "v")]).unwrap();
    let long = "x".repeat(300);
    let bad_tags: Vec<Vec<(&str, &str)>> = vec![
        vec![("", "v")],
        vec![("k", "")],
        vec![("k", "v"), ("k", "w")],
        vec![("k\n", "v")],
        vec![(long.as_str(), "v")],
    ];
    let invalid = |r: tidestore::Result<()>| matches!(r, Err(Error::InvalidArgument(_)));
    assert!(invalid(db.insert("", 1, 1.0, &[])));
    assert!(invalid(db.insert(&long, 1, 1.0, &[])));
    for tags in &bad_tags {
        assert!(invalid(db.insert("m", 1, 1.0, tags)), "{tags:?}");
        assert!(invalid(db.update("m", 1, 1.0, tags)), "{tags:?}");
        assert!(invalid(db.delete_range("m", 1, 2, tags)), "{tags:?}");
        assert!(db.query_range("m", 1, 2, tags).is_err());
        assert!(db.series("m", tags).is_err());
    }
    // One bad point anywhere in a batch: nothing of the batch is written.
    let batch = vec![
        Point::new("good", 1, 1.0, &[("k", "v")]),
        Point::new("good", 2, 2.0, &[("k", "v")]),
        Point::new("good", 3, 3.0, &[("k", "v"), ("k", "w")]),
    ];
    assert!(invalid(db.insert_batch(&batch)));
    assert!(invalid(db.delete_range("ok", 5, 1, &[])));
    assert!(matches!(
        db.query_range("ok", 5, 1, &[]),
        Err(Error::InvalidArgument(_))
    ));
    let h = db.series("ok", &[("k", "v")]).unwrap();
    assert!(invalid(db.append(&h, &[1, 2], &[1.0])));
    // Only the one good point is there, and no series was created by the failures.
    assert_eq!(db.list_keys().unwrap().len(), 1);
    assert!(db.query_metric("good").unwrap().is_empty());
    assert_eq!(db.query_metric("ok").unwrap().len(), 1);
    drop(db);
    let db = open(dir.path());
    assert_eq!(db.list_keys().unwrap().len(), 1);
    assert!(db.query_metric("good").unwrap().is_empty());
}

#[test]
fn extreme_timestamps_and_nan_are_stored_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let weird = f64::from_bits(0x7ff8_0000_dead_beef);
    db.insert("m", i64::MIN, -0.0, &[]).unwrap();
    db.insert("m", i64::MAX, weird, &[]).unwrap();
    db.insert("m", 0, f64::INFINITY, &[]).unwrap();
    for round in 0..2 {
        let got = db.query_metric("m").unwrap();
        let bits: Vec<(i64, u64)> = got
            .iter()
            .map(|p| (p.timestamp, p.value.to_bits()))
            .collect();
        assert_eq!(
            bits,
            vec![
                (i64::MIN, (-0.0f64).to_bits()),
                (0, f64::INFINITY.to_bits()),
                (i64::MAX, weird.to_bits())
            ],
            "round {round}"
        );
        db.compact().unwrap();
    }
}

#[test]
fn last_write_wins_across_head_segments_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let tags = [("h", "a")];
    for t in 0..100 {
        db.insert("m", t, 1.0, &tags).unwrap();
    }
    db.flush().unwrap();
    for t in (0..100).step_by(2) {
        db.insert("m", t, 2.0, &tags).unwrap();
    }
    db.flush().unwrap();
    for t in (0..100).step_by(4) {
        db.insert("m", t, 3.0, &tags).unwrap(); // stays in the head
    }
    let expect: Vec<f64> = (0..100)
        .map(|t| {
            if t % 4 == 0 {
                3.0
            } else if t % 2 == 0 {
                2.0
            } else {
                1.0
            }
        })
        .collect();
    let values = |db: &Db| -> Vec<f64> {
        db.query_metric("m")
            .unwrap()
            .iter()
            .map(|p| p.value)
            .collect()
    };
    assert_eq!(values(&db), expect);
    assert_eq!(db.stats().segments, 2);
    db.compact().unwrap();
    assert_eq!(db.stats().segments, 1);
    assert_eq!(values(&db), expect);
    db.update("m", 1, 9.0, &tags).unwrap();
    db.compact().unwrap();
    assert_eq!(db.query_range("m", 1, 1, &tags).unwrap()[0].value, 9.0);
    drop(db);
    let db = open(dir.path());
    assert_eq!(db.query_range("m", 1, 1, &tags).unwrap()[0].value, 9.0);
    assert_eq!(db.query_metric("m").unwrap().len(), 100);
}

#[test]
fn delete_range_hides_older_sources_and_compaction_drops_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let a = [("h", "a")];
    let b = [("h", "b")];
    for t in 0..50 {
        db.insert("m", t, t as f64, &a).unwrap();
        db.insert("m", t, -(t as f64), &b).unwrap();
    }
    db.flush().unwrap(); // both series in a segment
    db.delete_range("m", 10, 19, &a).unwrap(); // tombstone in the head
    db.insert("m", 15, 150.0, &a).unwrap(); // written after the delete: visible
    let ts = |db: &Db, tags: &[(&str, &str)]| -> Vec<i64> {
        db.query_by_tags("m", tags)
            .unwrap()
            .iter()
            .map(|p| p.timestamp)
            .collect()
    };
    let mut expect_a: Vec<i64> = (0..10).chain(15..16).chain(20..50).collect();
    assert_eq!(ts(&db, &a), expect_a);
    assert_eq!(ts(&db, &b).len(), 50);
    db.flush().unwrap(); // tombstone now in a newer segment
    assert_eq!(ts(&db, &a), expect_a);
    // A delete over everything of the metric, in the head, over two segments.
    db.delete_range("m", 40, 100, &[]).unwrap();
    expect_a.retain(|&t| t < 40);
    assert_eq!(ts(&db, &a), expect_a);
    assert_eq!(ts(&db, &b), (0..40).collect::<Vec<_>>());
    let before = db.stats();
    db.compact().unwrap();
    let after = db.stats();
    assert_eq!(after.segments, 1);
    assert_eq!(after.segment_points, (expect_a.len() + 40) as u64);
    assert!(after.segment_points < before.segment_points);
    assert_eq!(ts(&db, &a), expect_a);
    assert_eq!(db.query_range("m", 15, 15, &a).unwrap()[0].value, 150.0);
    // Series whose points are all gone stay listed.
    db.delete_range("m", i64::MIN, i64::MAX, &b).unwrap();
    db.compact().unwrap();
    assert!(ts(&db, &b).is_empty());
    assert_eq!(db.list_keys().unwrap().len(), 2);
}

#[test]
fn reopen_replays_the_wal_with_and_without_flush() {
    let dir = tempfile::tempdir().unwrap();
    let all = |db: &Db| pts(&db.query_metric("m").unwrap());
    let expect;
    {
        let db = open(dir.path());
        db.insert("m", 1, 1.0, &[("a", "1")]).unwrap();
        db.insert("m", 2, 2.0, &[("a", "2")]).unwrap();
        db.flush().unwrap();
        db.insert("m", 3, 3.0, &[("a", "1")]).unwrap();
        db.insert("m", 1, 1.5, &[("a", "1")]).unwrap(); // overrides a segment point
        db.insert("m", 4, 4.0, &[("a", "3")]).unwrap(); // series only in the WAL
        db.delete_range("m", 2, 2, &[("a", "2")]).unwrap();
        expect = all(&db);
        assert_eq!(
            expect,
            vec![
                (s("m{a=1}"), 1, 1.5),
                (s("m{a=1}"), 3, 3.0),
                (s("m{a=3}"), 4, 4.0)
            ]
        );
        db.close().unwrap();
    }
    for _ in 0..2 {
        let db = open(dir.path());
        assert_eq!(all(&db), expect);
        assert_eq!(db.list_keys().unwrap().len(), 3);
        assert!(db.stats().wal_records_replayed > 0);
    }
    // Flushed: nothing left to replay, same answers.
    {
        let db = open(dir.path());
        db.flush().unwrap();
    }
    let db = open(dir.path());
    assert_eq!(db.stats().wal_records_replayed, 0);
    assert_eq!(all(&db), expect);
    // A second handle on the same directory is refused.
    assert!(matches!(
        Db::open_with(dir.path(), opts()),
        Err(Error::Locked(_))
    ));
}

#[test]
fn scan_equals_query_range_and_fold_sums_everything() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), opts().chunk_points(64)).unwrap();
    let mut expected_sum = 0.0;
    for host in 0..20 {
        let h = host.to_string();
        let tags = [("host", h.as_str())];
        let batch: Vec<Point> = (0..500)
            .map(|t| Point::new("cpu", t * 10, (t % 7) as f64, &tags))
            .collect();
        expected_sum += batch.iter().map(|p| p.value).sum::<f64>();
        db.insert_batch(&batch).unwrap();
        if host % 5 == 4 {
            db.flush().unwrap();
        }
    }
    db.insert("cpu", 50, 100.0, &[("host", "3")]).unwrap(); // replaces (50, 5.0)
    expected_sum += 100.0 - 5.0;
    for (start, end) in [(i64::MIN, i64::MAX), (0, 0), (995, 2_345), (4_990, 10_000)] {
        let q = db.query_range("cpu", start, end, &[]).unwrap();
        let mut scanned = Vec::new();
        let mut scan = db.scan("cpu", start, end, &[]).unwrap();
        while let Some(v) = scan.next().unwrap() {
            assert!(!v.is_empty());
            assert!(v.timestamps().windows(2).all(|w| w[0] < w[1]));
            for (&t, &x) in v.timestamps().iter().zip(v.values()) {
                scanned.push(Point {
                    metric: v.key().metric().to_owned(),
                    tags: v.key().tags().to_vec(),
                    timestamp: t,
                    value: x,
                });
            }
        }
        assert!(scan.next().unwrap().is_none());
        assert_eq!(pts(&q), pts(&scanned), "range {start}..={end}");
    }
    let sum = db
        .scan("cpu", i64::MIN, i64::MAX, &[])
        .unwrap()
        .fold(
            || 0.0,
            |acc, v| acc + v.values().iter().sum::<f64>(),
            |a, b| a + b,
        )
        .unwrap();
    assert_eq!(sum, expected_sum);
    let count = db
        .scan("cpu", 0, 99, &[("host", "7")])
        .unwrap()
        .fold(|| 0usize, |acc, v| acc + v.len(), |a, b| a + b)
        .unwrap();
    assert_eq!(count, 10);
}

#[test]
fn series_handles_append_columns() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let h = db.series("cpu", &[("host", "a"), ("dc", "x")]).unwrap();
    assert_eq!(
        h.key(),
        &SeriesKey::new("cpu", &[("dc", "x"), ("host", "a")]).unwrap()
    );
    assert_eq!(db.series("cpu", &[("dc", "x"), ("host", "a")]).unwrap(), h);
    let ts: Vec<i64> = (0..1000).rev().collect(); // out of order on purpose
    let vals: Vec<f64> = ts.iter().map(|&t| t as f64 * 0.5).collect();
    db.append(&h, &ts, &vals).unwrap();
    db.append(&h, &[10], &[-1.0]).unwrap();
    db.append(&h, &[], &[]).unwrap();
    let got = db.query_metric("cpu").unwrap();
    assert_eq!(got.len(), 1000);
    assert!(got.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
    assert_eq!(got[10].value, -1.0);
    assert_eq!(got[11].value, 5.5);
    // A handle of another database is refused.
    let other_dir = tempfile::tempdir().unwrap();
    let other = open(other_dir.path());
    assert!(matches!(
        other.append(&h, &[1], &[1.0]),
        Err(Error::InvalidArgument(_))
    ));
    // A series defined by a handle survives a reopen even without points.
    let _empty = db.series("idle", &[]).unwrap();
    drop(db);
    let db = open(dir.path());
    assert!(db.list_keys().unwrap().iter().any(|k| k.metric() == "idle"));
    assert_eq!(db.query_metric("cpu").unwrap().len(), 1000);
}

#[test]
fn background_flushes_and_compactions_keep_answers_right() {
    let dir = tempfile::tempdir().unwrap();
    let o = Options::default()
        .head_bytes(64 << 10)
        .chunk_points(128)
        .partition_width(1_000)
        .compaction_trigger(2)
        .sync_mode(SyncMode::Os);
    let db = Arc::new(Db::open_with(dir.path(), o).unwrap());
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || {
                for round in 0..20i64 {
                    let batch: Vec<Point> = (0..500i64)
                        .map(|i| {
                            let host = format!("h{}", i % 25);
                            Point::new(
                                "cpu",
                                round * 500 + i,
                                (w * 1000 + i) as f64,
                                &[("host", &host), ("w", if w == 0 { "0" } else { "1" })],
                            )
                        })
                        .collect();
                    db.insert_batch(&batch).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    db.flush().unwrap();
    let stats = db.stats();
    assert!(stats.flushes > 1, "{stats:?}");
    assert_eq!(db.query_metric("cpu").unwrap().len(), 20_000);
    db.compact().unwrap();
    assert_eq!(db.query_metric("cpu").unwrap().len(), 20_000);
    assert_eq!(db.list_keys().unwrap().len(), 50);
}

#[test]
fn retention_hides_and_drops_old_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), opts().retention(Some(100)).partition_width(50)).unwrap();
    for t in 0..300 {
        db.insert("m", t, 1.0, &[]).unwrap();
    }
    // Newest is 299: everything before 199 is expired.
    let got = db.query_metric("m").unwrap();
    assert_eq!(got.first().map(|p| p.timestamp), Some(199));
    assert_eq!(got.len(), 101);
    db.compact().unwrap();
    assert_eq!(db.stats().segment_points, 101);
    assert_eq!(db.query_metric("m").unwrap().len(), 101);
}

/// Power cut with `SyncMode::Always`: every acknowledged write survives.
#[test]
fn power_cut_keeps_every_acknowledged_write() {
    let fs = SimFs::new();
    let dir = Path::new("/db");
    let o = opts()
        .sync_mode(SyncMode::Always)
        .head_bytes(8 << 10)
        .fs(Arc::new(fs.clone()));
    let mut acked: Vec<(i64, f64)> = Vec::new();
    {
        let db = Db::open_with(dir, o.clone()).unwrap();
        for t in 0..400i64 {
            db.insert("m", t, t as f64, &[("k", "v")]).unwrap();
            acked.push((t, t as f64));
            if t % 97 == 0 {
                db.delete_range("m", t - 5, t - 3, &[("k", "v")]).unwrap();
                acked.retain(|&(x, _)| !(t - 5..=t - 3).contains(&x));
            }
        }
        assert!(db.stats().flushes > 0, "the test should cross flushes");
        fs.crash();
    }
    let db = Db::open_with(dir, o).unwrap();
    let got: Vec<(i64, f64)> = db
        .query_metric("m")
        .unwrap()
        .iter()
        .map(|p| (p.timestamp, p.value))
        .collect();
    assert_eq!(got, acked);
}

mod model {
    //! Random operation sequences against a `BTreeMap` model, across flushes,
    //! compactions and reopens (WAL replay), on the simulated file system.

    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    enum Op {
        Insert { s: u8, t: i64, v: i32 },
        Batch(Vec<(u8, i64, i32)>),
        Delete { s: Option<u8>, a: i64, b: i64 },
        Update { s: u8, t: i64, v: i32 },
        Append { s: u8, ts: Vec<i64> },
        Flush,
        Compact,
        Reopen,
    }

    const HOSTS: [&str; 4] = ["a", "b", "c", "d"];

    fn tags(s: u8) -> [(&'static str, &'static str); 2] {
        [
            ("host", HOSTS[s as usize % 4]),
            ("dc", if s.is_multiple_of(2) { "x" } else { "y" }),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        let t = -40i64..40;
        prop_oneof![
            6 => (0u8..4, t.clone(), any::<i32>()).prop_map(|(s, t, v)| Op::Insert { s, t, v }),
            3 => proptest::collection::vec((0u8..4, t.clone(), any::<i32>()), 0..20).prop_map(Op::Batch),
            2 => (proptest::option::of(0u8..4), t.clone(), 0i64..20)
                .prop_map(|(s, a, len)| Op::Delete { s, a, b: a + len }),
            2 => (0u8..4, t.clone(), any::<i32>()).prop_map(|(s, t, v)| Op::Update { s, t, v }),
            2 => (0u8..4, proptest::collection::vec(t, 0..12)).prop_map(|(s, ts)| Op::Append { s, ts }),
            1 => Just(Op::Flush),
            1 => Just(Op::Compact),
            1 => Just(Op::Reopen),
        ]
    }

    type Model = BTreeMap<(u8, i64), f64>;

    fn check(db: &Db, model: &Model) {
        let got: Vec<(String, i64, f64)> = pts(&db.query_metric("m").unwrap());
        let mut want: Vec<(String, i64, f64)> = model
            .iter()
            .map(|(&(s, t), &v)| {
                let key = SeriesKey::new("m", &tags(s)).unwrap();
                let p = Point {
                    metric: key.metric().to_owned(),
                    tags: key.tags().to_vec(),
                    timestamp: t,
                    value: v,
                };
                pts(&[p]).remove(0)
            })
            .collect();
        want.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
        assert_eq!(got, want);
        // A range query with a filter agrees with the model too.
        let got_x: usize = db.query_range("m", -10, 10, &[("dc", "x")]).unwrap().len();
        let want_x = model
            .keys()
            .filter(|&&(s, t)| s.is_multiple_of(2) && (-10..=10).contains(&t))
            .count();
        assert_eq!(got_x, want_x);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn matches_a_btreemap(ops in proptest::collection::vec(op(), 1..40)) {
            let fs = SimFs::new();
            let o = opts()
                .head_bytes(4096)
                .chunk_points(16)
                .partition_width(16)
                .compaction_trigger(2)
                .fs(Arc::new(fs.clone()));
            let dir = Path::new("/m");
            let mut db = Db::open_with(dir, o.clone()).unwrap();
            let mut model = Model::new();
            for op in ops {
                match op {
                    Op::Insert { s, t, v } => {
                        db.insert("m", t, f64::from(v), &tags(s)).unwrap();
                        model.insert((s, t), f64::from(v));
                    }
                    Op::Batch(points) => {
                        let batch: Vec<Point> = points
                            .iter()
                            .map(|&(s, t, v)| Point::new("m", t, f64::from(v), &tags(s)))
                            .collect();
                        db.insert_batch(&batch).unwrap();
                        for (s, t, v) in points {
                            model.insert((s, t), f64::from(v));
                        }
                    }
                    Op::Delete { s, a, b } => {
                        match s {
                            Some(s) => db.delete_range("m", a, b, &tags(s)).unwrap(),
                            None => db.delete_range("m", a, b, &[]).unwrap(),
                        }
                        model.retain(|&(ms, t), _| !(s.is_none_or(|s| s == ms) && (a..=b).contains(&t)));
                    }
                    Op::Update { s, t, v } => {
                        let r = db.update("m", t, f64::from(v), &tags(s));
                        if let std::collections::btree_map::Entry::Occupied(mut e) = model.entry((s, t)) {
                            r.unwrap();
                            e.insert(f64::from(v));
                        } else {
                            prop_assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
                        }
                    }
                    Op::Append { s, ts } => {
                        let h = db.series("m", &tags(s)).unwrap();
                        let vals: Vec<f64> = ts.iter().map(|&t| t as f64 + 0.5).collect();
                        db.append(&h, &ts, &vals).unwrap();
                        for (&t, &v) in ts.iter().zip(&vals) {
                            model.insert((s, t), v);
                        }
                    }
                    Op::Flush => db.flush().unwrap(),
                    Op::Compact => db.compact().unwrap(),
                    Op::Reopen => {
                        drop(db);
                        db = Db::open_with(dir, o.clone()).unwrap();
                    }
                }
                check(&db, &model);
            }
        }
    }
}

/// Fails the k-th file-system operation of a workload (writes, flushes, deletes,
/// compactions), then cuts the power, for every k: reopening must succeed and show
/// every acknowledged write, plus at most the one that failed, applied whole.
#[test]
fn crash_at_every_operation_keeps_acknowledged_writes() {
    #[derive(Clone)]
    enum Step {
        Batch(i64),
        Delete(i64, i64),
        Flush,
        Compact,
    }
    let steps = [
        Step::Batch(0),
        Step::Flush,
        Step::Batch(10),
        Step::Delete(5, 12),
        Step::Flush,
        Step::Batch(20),
        Step::Compact,
        Step::Batch(3),
        Step::Flush,
    ];
    type Model = std::collections::BTreeMap<(u8, i64), f64>;
    let apply = |m: &mut Model, step: &Step| match *step {
        Step::Batch(base) => {
            for i in 0..10 {
                m.insert(((i % 2) as u8, base + i), (base * 100 + i) as f64);
            }
        }
        Step::Delete(a, b) => m.retain(|&(_, t), _| !(a..=b).contains(&t)),
        Step::Flush | Step::Compact => {}
    };
    let read = |db: &Db| -> Model {
        db.query_metric("m")
            .unwrap()
            .iter()
            .map(|p| ((p.tags[0].1 == "1") as u8, p.timestamp, p.value))
            .map(|(s, t, v)| ((s, t), v))
            .collect()
    };
    let dir = Path::new("/crash");
    let mut k = 0;
    loop {
        let fs = SimFs::new();
        let o = opts()
            .sync_mode(SyncMode::Always)
            .partition_width(8)
            .fs(Arc::new(fs.clone()));
        let db = Db::open_with(dir, o.clone()).unwrap();
        fs.fail_after(k);
        let mut acked = Model::new();
        let mut failed: Option<Step> = None;
        for step in &steps {
            let r = match *step {
                Step::Batch(base) => {
                    let batch: Vec<Point> = (0..10)
                        .map(|i| {
                            let s = if i % 2 == 0 { "0" } else { "1" };
                            Point::new("m", base + i, (base * 100 + i) as f64, &[("s", s)])
                        })
                        .collect();
                    db.insert_batch(&batch)
                }
                Step::Delete(a, b) => db.delete_range("m", a, b, &[]),
                Step::Flush => db.flush(),
                Step::Compact => db.compact(),
            };
            match r {
                Ok(()) => apply(&mut acked, step),
                Err(_) => {
                    failed = Some(step.clone());
                    break;
                }
            }
        }
        let completed = failed.is_none();
        fs.crash();
        fs.clear_faults();
        drop(db);
        let db = Db::open_with(dir, o)
            .unwrap_or_else(|e| panic!("reopen after a failure at op {k}: {e}"));
        let got = read(&db);
        let mut with_failed = acked.clone();
        if let Some(step) = &failed {
            apply(&mut with_failed, step);
        }
        assert!(
            got == acked || got == with_failed,
            "failure at op {k}: got {got:?}, acknowledged {acked:?}"
        );
        // The reopened database works: write, flush, compact, reopen.
        db.insert("m", 1000, 1.0, &[("s", "0")]).unwrap();
        db.compact().unwrap();
        drop(db);
        let db = Db::open_with(dir, opts().fs(Arc::new(fs.clone()))).unwrap();
        assert_eq!(read(&db).get(&(0, 1000)), Some(&1.0));
        if completed {
            assert!(
                k > 20,
                "the workload should take more than a few operations"
            );
            break;
        }
        k += 1;
    }
}

/// Damaged segment and catalog files are reported as corruption naming the file,
/// never a panic or wrong data.
#[test]
fn damaged_files_are_corruption_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        let batch: Vec<Point> = (0..2000)
            .map(|t| Point::new("m", t, t as f64, &[("k", "v")]))
            .collect();
        db.insert_batch(&batch).unwrap();
        db.flush().unwrap();
        db.close().unwrap();
    }
    let find = |suffix: &str, prefix: &str| -> std::path::PathBuf {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let n = p.file_name().unwrap().to_str().unwrap();
                n.ends_with(suffix) && n.starts_with(prefix)
            })
            .unwrap()
    };
    let flip = |path: &Path, at: usize| {
        let mut bytes = std::fs::read(path).unwrap();
        let i = at.min(bytes.len() - 1);
        bytes[i] ^= 0x40;
        std::fs::write(path, bytes).unwrap();
    };
    let expect_corruption = |r: tidestore::Result<Db>, path: &Path| match r {
        Err(Error::Corruption { file, .. }) => assert_eq!(file, path),
        other => panic!("expected corruption in {}, got {other:?}", path.display()),
    };

    // A damaged chunk: open succeeds (chunks are checked when decoded), reads fail.
    let seg = find(".seg", "");
    let original = std::fs::read(&seg).unwrap();
    flip(&seg, 40);
    {
        let db = open(dir.path());
        match db.query_metric("m") {
            Err(Error::Corruption { file, .. }) => assert_eq!(file, seg),
            other => panic!("expected corruption, got {other:?}"),
        }
    }
    // A damaged footer: open fails.
    std::fs::write(&seg, &original).unwrap();
    flip(&seg, usize::MAX);
    expect_corruption(Db::open_with(dir.path(), opts()), &seg);
    std::fs::write(&seg, &original).unwrap();
    assert_eq!(open(dir.path()).query_metric("m").unwrap().len(), 2000);

    // A damaged catalog snapshot: open fails naming the catalog file.
    let catalog = find("", "CATALOG-");
    flip(&catalog, 12);
    expect_corruption(Db::open_with(dir.path(), opts()), &catalog);
}

/// After an I/O failure the handle refuses writes (`Poisoned`) but still reads.
#[test]
fn io_failure_poisons_writes_but_not_reads() {
    let fs = SimFs::new();
    let o = opts().sync_mode(SyncMode::Always).fs(Arc::new(fs.clone()));
    let db = Db::open_with(Path::new("/p"), o).unwrap();
    db.insert("m", 1, 1.0, &[]).unwrap();
    fs.fail_after(0);
    assert!(db.insert("m", 2, 2.0, &[]).is_err());
    fs.clear_faults();
    assert!(matches!(
        db.insert("m", 3, 3.0, &[]),
        Err(Error::Poisoned(_))
    ));
    assert!(matches!(db.flush(), Err(Error::Poisoned(_))));
    assert!(matches!(db.compact(), Err(Error::Poisoned(_))));
    assert_eq!(db.query_range("m", 1, 1, &[]).unwrap().len(), 1);
}

/// Readers run while a writer inserts and flushes; every read is sorted and sees
/// whole batches only (each batch writes one timestamp to every series).
#[test]
fn concurrent_readers_see_whole_batches() {
    let dir = tempfile::tempdir().unwrap();
    let o = Options::default()
        .head_bytes(32 << 10)
        .sync_mode(SyncMode::Os);
    let db = Arc::new(Db::open_with(dir.path(), o).unwrap());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (db, stop) = (Arc::clone(&db), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                    let mut scan = db.scan("m", i64::MIN, i64::MAX, &[]).unwrap();
                    let mut lens = Vec::new();
                    while let Some(v) = scan.next().unwrap() {
                        assert!(v.timestamps().windows(2).all(|w| w[0] < w[1]));
                        lens.push(v.len());
                    }
                    // Series are created by the first batch, all at once.
                    assert!(lens.is_empty() || lens.len() == 10, "{lens:?}");
                    assert!(
                        lens.windows(2).all(|w| w[0] == w[1]),
                        "torn batch: {lens:?}"
                    );
                    reads += 1;
                }
            })
        })
        .collect();
    for t in 0..400 {
        let batch: Vec<Point> = (0..10)
            .map(|s| Point::new("m", t, 1.0, &[("s", &s.to_string())]))
            .collect();
        db.insert_batch(&batch).unwrap();
        if t % 100 == 99 {
            db.flush().unwrap();
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(db.query_metric("m").unwrap().len(), 4000);
}

/// A scan reads the database as it was when the scan was made.
#[test]
fn a_scan_is_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.insert("m", 1, 1.0, &[("s", "a")]).unwrap();
    db.flush().unwrap();
    db.insert("m", 2, 2.0, &[("s", "a")]).unwrap();
    let mut scan = db.scan("m", i64::MIN, i64::MAX, &[]).unwrap();
    db.insert("m", 3, 3.0, &[("s", "a")]).unwrap();
    db.insert("m", 1, 9.0, &[("s", "b")]).unwrap();
    db.delete_range("m", 1, 1, &[]).unwrap();
    db.compact().unwrap();
    let v = scan.next().unwrap().unwrap();
    assert_eq!(v.timestamps(), &[1, 2]);
    assert_eq!(v.values(), &[1.0, 2.0]);
    assert!(scan.next().unwrap().is_none());
    assert_eq!(
        pts(&db.query_metric("m").unwrap()),
        vec![(s("m{s=a}"), 2, 2.0), (s("m{s=a}"), 3, 3.0)]
    );
}

/// A killed process (kill -9) loses nothing acknowledged in `SyncMode::Os`: every
/// write reached the OS before it returned.
#[test]
fn killed_process_keeps_acknowledged_writes_in_os_mode() {
    let fs = SimFs::new();
    let dir = Path::new("/kill");
    let o = opts().head_bytes(8 << 10).fs(Arc::new(fs.clone()));
    {
        let db = Db::open_with(dir, o.clone()).unwrap();
        for t in 0..300 {
            db.insert("m", t, t as f64, &[("k", "v")]).unwrap();
        }
        fs.kill_process();
    }
    let db = Db::open_with(dir, o).unwrap();
    let got: Vec<i64> = db
        .query_metric("m")
        .unwrap()
        .iter()
        .map(|p| p.timestamp)
        .collect();
    assert_eq!(got, (0..300).collect::<Vec<_>>());
}

/// The seed's usage with default options (background thread, `Interval` sync).
#[test]
fn default_options_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics");
    {
        let db = Db::open(&path).unwrap();
        db.insert("temperature", T0, 23.5, &[("location", "office")])
            .unwrap();
        db.close().unwrap();
    }
    let db = Db::open(&path).unwrap();
    assert_eq!(
        pts(&db.get("temperature", T0).unwrap()),
        vec![(s("temperature{location=office}"), T0, 23.5)]
    );
    assert_eq!(db.path(), path.as_path());
}

/// Writers (each on its own series), deletes, flushes and compactions on the
/// background thread and on the callers', with readers scanning all along: the end
/// state equals each writer's sequential model, before and after a reopen.
#[test]
fn concurrent_writers_deletes_flushes_and_compactions() {
    type Model = std::collections::BTreeMap<(String, i64), f64>;
    let dir = tempfile::tempdir().unwrap();
    let o = Options::default()
        .head_bytes(16 << 10)
        .chunk_points(64)
        .partition_width(500)
        .compaction_trigger(2)
        .sync_mode(SyncMode::Always);
    let db = Arc::new(Db::open_with(dir.path(), o).unwrap());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..3i64)
        .map(|w| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || {
                let wt = w.to_string();
                let mut model = Model::new();
                for r in 0..120i64 {
                    let batch: Vec<Point> = (0..30i64)
                        .map(|i| {
                            let s = (i % 5).to_string();
                            Point::new(
                                "m",
                                r * 10 + i % 10,
                                (w * 1000 + r + i) as f64,
                                &[("w", &wt), ("s", &s)],
                            )
                        })
                        .collect();
                    db.insert_batch(&batch).unwrap();
                    for p in &batch {
                        model.insert((p.tags[1].1.clone(), p.timestamp), p.value);
                    }
                    if r % 20 == 0 {
                        db.delete_range("m", r * 10 - 20, r * 10 - 15, &[("w", &wt)])
                            .unwrap();
                        model.retain(|(_, t), _| !(r * 10 - 20..=r * 10 - 15).contains(t));
                    }
                    if r % 47 == 0 {
                        db.compact().unwrap();
                    }
                    if r % 31 == 0 {
                        db.flush().unwrap();
                    }
                }
                model
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (db, stop) = (Arc::clone(&db), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    db.scan("m", i64::MIN, i64::MAX, &[])
                        .unwrap()
                        .fold(
                            || 0usize,
                            |a, v| {
                                assert!(v.timestamps().windows(2).all(|w| w[0] < w[1]));
                                a + v.len()
                            },
                            |a, b| a + b,
                        )
                        .unwrap();
                }
            })
        })
        .collect();
    let models: Vec<Model> = writers.into_iter().map(|h| h.join().unwrap()).collect();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    let check = |db: &Db| {
        for (w, model) in models.iter().enumerate() {
            let wt = w.to_string();
            let got: Model = db
                .query_by_tags("m", &[("w", &wt)])
                .unwrap()
                .into_iter()
                .map(|p| ((p.tags[0].1.clone(), p.timestamp), p.value))
                .collect();
            assert_eq!(&got, model, "writer {w}");
        }
    };
    check(&db);
    db.compact().unwrap();
    check(&db);
    let db = Arc::into_inner(db).unwrap();
    db.close().unwrap();
    check(&Db::open(dir.path()).unwrap());
}
