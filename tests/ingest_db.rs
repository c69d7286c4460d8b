//! The ingest calls against the engine: `Db::writer` in a model-based test (random
//! adds by name in any tag order and by handle, bad points, commits, writers dropped
//! without a commit, reopens), `Db::write_lines` (the issue's example, atomicity, and
//! a property test: random points as line protocol give the same database as
//! `insert_batch`), CSV in both layouts and a multi-megabyte streaming import through
//! `Db::import_with_progress`, and 1 M series across a reopen (ignored: run it with
//! `cargo test --release --test ingest_db -- --ignored`).

mod support_ingest;

use std::collections::BTreeMap;

use proptest::prelude::*;
use support_ingest::tsbs;
use tidestore::ts::ingest::{CsvFormat, Import, PointRef, Progress, format_point};
use tidestore::ts::{LineSummary, Precision, Writer};
use tidestore::{Db, Error, Point, SeriesKey};

type Content = BTreeMap<(SeriesKey, i64), u64>;

/// Every point of the database.
fn content(db: &Db) -> Content {
    let mut out = Content::new();
    for metric in db.metrics() {
        for p in db.query_metric(&metric).unwrap() {
            out.insert((p.series_key().unwrap(), p.timestamp), p.value.to_bits());
        }
    }
    out
}

/// The series the model test writes: metric and tags (sorted, as stored).
/// Series 0 and 5 share their tags (as the metrics of one host do).
const SERIES: [(&str, &[(&str, &str)]); 6] = [
    ("cpu", &[("dc", "x"), ("host", "a")]),
    ("cpu", &[("dc", "x"), ("host", "b")]),
    ("cpu", &[]),
    ("mem", &[("dc", "y"), ("host", "a"), ("rack", "7")]),
    ("disk io", &[("dev", "sd a")]),
    ("mem", &[("dc", "x"), ("host", "a")]),
];

#[derive(Debug, Clone)]
enum Op {
    /// Adds a point by name; `reverse` gives the tags in reverse order.
    Add {
        s: usize,
        reverse: bool,
        ts: i64,
        v: i32,
    },
    /// Adds a point with a handle.
    AddHandle {
        s: usize,
        ts: i64,
        v: i32,
    },
    /// Adds a point the engine refuses.
    AddBad(usize),
    Commit,
    /// Drops the writer without a commit and takes a new one.
    Drop,
    /// Drops the writer without a commit, closes and reopens the database.
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..SERIES.len(), any::<bool>(), 0i64..12, -50i32..50)
            .prop_map(|(s, reverse, ts, v)| Op::Add { s, reverse, ts, v }),
        3 => (0..SERIES.len(), 0i64..12, -50i32..50).prop_map(|(s, ts, v)| Op::AddHandle { s, ts, v }),
        1 => (0usize..4).prop_map(Op::AddBad),
        2 => Just(Op::Commit),
        1 => Just(Op::Drop),
        1 => Just(Op::Reopen),
    ]
}

fn add_bad(w: &mut Writer<'_>, kind: usize) -> tidestore::Result<()> {
    match kind {
        0 => w.add("", &[], 1, 1.0),
        1 => w.add("cpu", &[("dc", "x"), ("dc", "x")], 1, 1.0),
        2 => w.add("cpu", &[("host", "")], 1, 1.0),
        _ => w.add("cpu\u{1}", &[("host", "a")], 1, 1.0),
    }
}

fn key(s: usize) -> SeriesKey {
    let (metric, tags) = SERIES[s];
    SeriesKey::new(metric, tags).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn writer_matches_a_model(ops in prop::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(dir.path()).unwrap();
        let mut w = db.writer();
        let mut committed = Content::new();
        let mut pending: Vec<(SeriesKey, i64, u64)> = Vec::new();
        for op in ops {
            match op {
                Op::Add { s, reverse, ts, v } => {
                    let (metric, tags) = SERIES[s];
                    let mut tags = tags.to_vec();
                    if reverse {
                        tags.reverse();
                    }
                    w.add(metric, &tags, ts, f64::from(v)).unwrap();
                    pending.push((key(s), ts, f64::from(v).to_bits()));
                }
                Op::AddHandle { s, ts, v } => {
                    let (metric, tags) = SERIES[s];
                    let handle = db.series(metric, tags).unwrap();
                    w.add_series(&handle, ts, f64::from(v)).unwrap();
                    pending.push((key(s), ts, f64::from(v).to_bits()));
                }
                Op::AddBad(kind) => {
                    let before = w.len();
                    let err = add_bad(&mut w, kind).unwrap_err();
                    prop_assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
                    prop_assert_eq!(w.len(), before);
                }
                Op::Commit => {
                    w.commit().unwrap();
                    prop_assert!(w.is_empty());
                    for (k, ts, v) in pending.drain(..) {
                        committed.insert((k, ts), v);
                    }
                    prop_assert_eq!(&content(&db), &committed);
                }
                Op::Drop => {
                    drop(w);
                    pending.clear();
                    prop_assert_eq!(&content(&db), &committed);
                    w = db.writer();
                }
                Op::Reopen => {
                    drop(w);
                    pending.clear();
                    db.close().unwrap();
                    db = Db::open(dir.path()).unwrap();
                    prop_assert_eq!(&content(&db), &committed);
                    w = db.writer();
                }
            }
            prop_assert_eq!(w.len(), pending.len());
        }
        drop(w);
        prop_assert_eq!(&content(&db), &committed);
    }
}

#[test]
fn a_handle_of_another_database_is_refused_and_the_batch_kept() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (da, db) = (Db::open(a.path()).unwrap(), Db::open(b.path()).unwrap());
    let foreign = db.series("cpu", &[("host", "a")]).unwrap();
    let mut w = da.writer();
    // the same id (0) is cached in this writer from its own database's handle
    let own = da.series("cpu", &[("host", "a")]).unwrap();
    w.add_series(&own, 0, 0.0).unwrap();
    w.clear();
    w.add("cpu", &[("host", "a")], 1, 1.0).unwrap();
    let err = w.add_series(&foreign, 2, 2.0).unwrap_err();
    assert!(err.to_string().contains("another database"), "{err}");
    assert_eq!(w.len(), 1);
    w.commit().unwrap();
    assert_eq!(da.query_metric("cpu").unwrap().len(), 1);
    assert!(db.query_metric("cpu").unwrap().is_empty());
}

#[test]
fn a_series_added_by_name_and_by_handle_in_one_batch_keeps_the_last_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let mut w = db.writer();
    // new by name, then its handle is made (defining it), then both forms interleave
    w.add("cpu", &[("host", "a")], 5, 1.0).unwrap();
    let h = db.series("cpu", &[("host", "a")]).unwrap();
    w.add_series(&h, 5, 2.0).unwrap();
    w.add("cpu", &[("host", "a")], 5, 3.0).unwrap();
    w.add_series(&h, 6, 4.0).unwrap();
    w.commit().unwrap();
    let got: Vec<(i64, f64)> = db
        .query_metric("cpu")
        .unwrap()
        .iter()
        .map(|p| (p.timestamp, p.value))
        .collect();
    assert_eq!(got, [(5, 3.0), (6, 4.0)]);
    // the writer is reusable, and commits of nothing write nothing
    w.commit().unwrap();
    w.add("cpu", &[("host", "a")], 7, 5.0).unwrap();
    w.commit().unwrap();
    assert_eq!(db.query_metric("cpu").unwrap().len(), 3);
}

#[test]
fn write_lines_the_issue_example_and_atomicity() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let summary = db
        .write_lines(
            "cpu,hostname=host_1 usage_user=58i,usage_idle=24.5 1704067200000\n",
            Precision::Milliseconds,
        )
        .unwrap();
    assert_eq!(
        summary,
        LineSummary {
            points: 2,
            lines: 1,
            skipped_string_fields: 0
        }
    );
    let p = &db.query_metric("cpu_usage_user").unwrap()[0];
    assert_eq!((p.timestamp, p.value), (1_704_067_200_000, 58.0));
    assert_eq!(p.tags, [("hostname".to_owned(), "host_1".to_owned())]);

    // a bad line anywhere writes nothing of the call
    let before = content(&db);
    let err = db
        .write_lines(
            "m,h=a v=1 1\nm,h=a v=2,s=\"str\" 2\nm,h=a v=3 3 4\n",
            Precision::Seconds,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid argument: line 3, column 13: expected the end of the line after the timestamp"
    );
    assert_eq!(content(&db), before);
    // as does a point the engine refuses (a tag key twice)
    let err = db
        .write_lines("m,h=a v=1 1\nm,h=a,h=b v=2 2\n", Precision::Seconds)
        .unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
    assert!(err.to_string().contains("appears twice"), "{err}");
    assert_eq!(content(&db), before);
    // strings are counted, booleans are 1 and 0, `value` names the measurement
    let s = db
        .write_lines(
            "m,h=a value=1,on=true,off=F,s=\"x\" 1\n\n# comment\n",
            Precision::Seconds,
        )
        .unwrap();
    assert_eq!((s.points, s.lines, s.skipped_string_fields), (3, 1, 1));
    assert_eq!(db.query_metric("m").unwrap()[0].value, 1.0);
    assert_eq!(db.query_metric("m_on").unwrap()[0].value, 1.0);
    assert_eq!(db.query_metric("m_off").unwrap()[0].value, 0.0);
    // the failed calls' points stay unwritten when a later call (which reuses their
    // writers' series caches) writes the same series
    db.write_lines("m,h=a v=10 10\n", Precision::Seconds)
        .unwrap();
    let v: Vec<(i64, f64)> = db
        .query_metric("m_v")
        .unwrap()
        .iter()
        .map(|p| (p.timestamp, p.value))
        .collect();
    assert_eq!(v, [(10, 10.0)]);
    // lines without a timestamp get the current time in the given unit
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    db.write_lines("clock v=1\n", Precision::Seconds).unwrap();
    let t = db.query_metric("clock_v").unwrap()[0].timestamp;
    assert!((t - now).abs() <= 5, "{t} vs {now}");
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9 ,=_\"\\\\]{0,6}"
}

fn point() -> impl Strategy<Value = Point> {
    (
        name(),
        prop::collection::btree_map(name(), name(), 0..4),
        any::<i64>(),
        prop_oneof![any::<i32>().prop_map(f64::from), -1e300f64..1e300],
    )
        .prop_map(|(metric, tags, ts, v)| {
            let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (&**k, &**v)).collect();
            Point::new(&metric, ts, v, &tags)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn line_protocol_of_random_points_gives_the_same_database_as_insert_batch(
        points in prop::collection::vec(point(), 1..40),
    ) {
        let mut text = String::new();
        for p in &points {
            let tags: Vec<(&str, &str)> =
                p.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let r = PointRef { metric: &p.metric, tags: &tags, timestamp: p.timestamp, value: p.value };
            format_point(&mut text, &r).unwrap();
        }
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (lines, batch) = (Db::open(a.path()).unwrap(), Db::open(b.path()).unwrap());
        let summary = lines.write_lines(&text, Precision::Nanoseconds).unwrap();
        prop_assert_eq!((summary.points, summary.lines), (points.len(), points.len()));
        batch.insert_batch(&points).unwrap();
        prop_assert_eq!(content(&lines), content(&batch));
    }
}

#[test]
fn csv_in_both_layouts_through_import() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let long = "metric,timestamp,value,host\ncpu,1,0.5,a\ncpu,2,,a\nmem,2,7,b\n";
    let s = db
        .import(long.as_bytes(), &Import::csv(CsvFormat::long()))
        .unwrap();
    assert_eq!((s.lines, s.points), (3, 2));
    let wide = "time,host,user,idle\n10,a,1.5,98\n20,a,,97\n20,b,3,\n";
    let format = CsvFormat::wide()
        .timestamp_column("time")
        .tag_columns(&["host"])
        .precision(Precision::Seconds);
    let s = db.import(wide.as_bytes(), &Import::csv(format)).unwrap();
    assert_eq!((s.lines, s.points), (3, 4));
    let got = |metric: &str| -> Vec<(String, i64, f64)> {
        db.query_metric(metric)
            .unwrap()
            .into_iter()
            .map(|p| (p.tags[0].1.clone(), p.timestamp, p.value))
            .collect()
    };
    assert_eq!(got("cpu"), [("a".to_owned(), 1, 0.5)]);
    assert_eq!(got("mem"), [("b".to_owned(), 2, 7.0)]);
    assert_eq!(
        got("user"),
        [("a".to_owned(), 10, 1.5), ("b".to_owned(), 20, 3.0)]
    );
    assert_eq!(
        got("idle"),
        [("a".to_owned(), 10, 98.0), ("a".to_owned(), 20, 97.0)]
    );
    // a bad cell stops the import with its line and column, and nothing of its batch
    // is written
    let bad = "metric,timestamp,value\nx,1,1\nx,2,zz\n";
    let err = db
        .import(bad.as_bytes(), &Import::csv(CsvFormat::long()))
        .unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
    assert!(db.query_metric("x").unwrap().is_empty());
}

#[test]
fn a_multi_megabyte_streaming_import_reports_progress_and_matches_write_lines() {
    let text = tsbs(100, 150);
    assert!(text.len() > 3_500_000, "{}", text.len());
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (streamed, whole) = (Db::open(a.path()).unwrap(), Db::open(b.path()).unwrap());
    let mut reports: Vec<Progress> = Vec::new();
    let import = Import::line_protocol(Precision::Nanoseconds)
        .chunk_bytes(64 * 1024)
        .commit_every(10_000);
    let summary = streamed
        .import_with_progress(std::io::BufReader::new(text.as_bytes()), &import, |p| {
            reports.push(*p)
        })
        .unwrap();
    assert_eq!((summary.lines, summary.points), (15_000, 150_000));
    assert_eq!(
        (summary.commits, summary.bytes_read),
        (15, text.len() as u64)
    );
    assert!(
        reports.len() > text.len() / (64 * 1024),
        "{}",
        reports.len()
    );
    for w in reports.windows(2) {
        assert!(w[0].bytes_read <= w[1].bytes_read);
        assert!(w[0].points_committed <= w[1].points_committed);
    }
    let last = reports.last().unwrap();
    assert_eq!(
        (last.points_committed, last.bytes_read),
        (150_000, text.len() as u64)
    );
    let s = whole.write_lines(&text, Precision::Nanoseconds).unwrap();
    assert_eq!(s, summary.line_summary());
    assert_eq!(content(&streamed), content(&whole));
    // and after a reopen
    drop(streamed);
    let streamed = Db::open(a.path()).unwrap();
    assert_eq!(content(&streamed), content(&whole));
}

#[test]
fn an_import_stopped_midway_keeps_its_earlier_commits() {
    let mut text = tsbs(10, 30);
    text.push_str("cpu,hostname=x user=oops 1\n");
    text.push_str(&tsbs(10, 3));
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let import = Import::line_protocol(Precision::Nanoseconds).commit_every(700);
    let err = db.import(text.as_bytes(), &import).unwrap_err();
    assert!(err.to_string().contains("line 301"), "{err}");
    // 300 lines of 10 points: commits after lines 70, 140, 210 and 280 stayed; the
    // 20 lines after them went with the batch
    assert_eq!(content(&db).len(), 2_800);
    // skipping bad lines writes the rest
    let s = db
        .import(text.as_bytes(), &import.clone().skip_bad_lines(5))
        .unwrap();
    assert_eq!((s.bad_lines, s.points), (1, 3_300));
    assert_eq!(s.errors[0].line, 301);
}

/// 1 M series of one point each, written with a `Writer`, then reopened: every series
/// is listed, queries by tag find the right ones, and the open time is printed.
/// Run with `cargo test --release --test ingest_db -- --ignored --nocapture`.
#[test]
#[ignore = "1 M series: about a minute in release"]
fn a_million_series_reopen_and_query() {
    const N: usize = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path()).unwrap();
        let mut w = db.writer();
        for i in 0..N {
            let host = format!("host_{i}");
            let rack = (i % 1000).to_string();
            w.add(
                "cpu",
                &[("hostname", &host), ("rack", &rack)],
                i as i64,
                i as f64,
            )
            .unwrap();
            if w.len() == 100_000 {
                w.commit().unwrap();
            }
        }
        w.commit().unwrap();
        db.close().unwrap();
    }
    let t = std::time::Instant::now();
    let db = Db::open(dir.path()).unwrap();
    println!("open of {N} series: {:?}", t.elapsed());
    assert_eq!(db.list_keys().unwrap().len(), N);
    for i in [0, 1, 4_242, 999_999] {
        let host = format!("host_{i}");
        let got = db.query_by_tags("cpu", &[("hostname", &host)]).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].timestamp, got[0].value), (i as i64, i as f64));
    }
    let rack = db.query_by_tags("cpu", &[("rack", "7")]).unwrap();
    assert_eq!(rack.len(), N / 1000);
    assert!(rack.iter().all(|p| p.timestamp % 1000 == 7));
    let mut scan = db.scan("cpu", i64::MIN, i64::MAX, &[]).unwrap();
    let (mut series, mut sum) = (0usize, 0f64);
    while let Some(v) = scan.next().unwrap() {
        series += 1;
        sum += v.values().iter().sum::<f64>();
    }
    assert_eq!(series, N);
    assert_eq!(sum, (N * (N - 1) / 2) as f64);
}
