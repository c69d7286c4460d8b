//! Segments of format version 2 (chunks without marks) stay readable.
//!
//! `tests/data/format-v2-db` is a database written by the build before format version 3
//! (commit 3dc95fd; the program is in `tests/data/README.md`): two data segments with
//! 1 024-point chunks of three series (a regular decimal one, an irregular one the XOR
//! codec stores, a constant one), and a segment holding one tombstone. Its points are
//! known by formula. The test reads it through every read path, verifies it, then
//! compacts it (the new segments are version 3) and reads it again.

use std::path::Path;

use tidestore::inspect::{self, FileDump, FileKind};
use tidestore::ts::{Aggregation, Matcher, Options, Query};
use tidestore::{Db, Point};

const T0: i64 = 1_700_000_000_000;
/// Points of series `a` deleted after they were written.
const DELETED: std::ops::RangeInclusive<i64> = 100..=199;

/// The points of the fixture's series, as written (before the delete).
fn written(series: &str) -> Vec<(i64, f64)> {
    match series {
        "a" => (0..3000)
            .map(|i| (T0 + 10_000 * i, (i % 97) as f64 * 0.25))
            .collect(),
        "b" => (0..2000)
            .map(|i| (T0 + 7_000 * i + (i * i % 13), (i as f64).sqrt()))
            .collect(),
        _ => (0..1500).map(|i| (T0 + 10_000 * i, 7.5)).collect(),
    }
}

/// The points each series holds now.
fn live(series: &str) -> Vec<(i64, f64)> {
    let mut points = written(series);
    if series == "a" {
        let (lo, hi) = (T0 + 10_000 * DELETED.start(), T0 + 10_000 * DELETED.end());
        points.retain(|p| !(lo..=hi).contains(&p.0));
    }
    points
}

fn metric_and_tags(series: &str) -> (&'static str, Vec<(&'static str, &'static str)>) {
    match series {
        "a" => ("cpu", vec![("host", "a")]),
        "b" => ("cpu", vec![("host", "b")]),
        _ => ("mem", vec![]),
    }
}

fn copy_fixture(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/format-v2-db");
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn segment_versions(dir: &Path) -> Vec<u32> {
    let report = inspect::verify(dir).unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    let mut versions = Vec::new();
    for f in report.files.iter().filter(|f| f.kind == FileKind::Segment) {
        match inspect::dump(dir, &f.name).unwrap() {
            FileDump::Segment { layout, .. } => versions.push(layout.version),
            other => panic!("not a segment: {other:?}"),
        }
    }
    versions
}

/// Every read path against the formulas.
fn check(db: &Db) {
    for series in ["a", "b", "c"] {
        let (metric, tags) = metric_and_tags(series);
        let want = live(series);
        let rows: Vec<(i64, f64)> = db
            .query_range(metric, i64::MIN, i64::MAX, &tags)
            .unwrap()
            .iter()
            .map(|p: &Point| (p.timestamp, p.value))
            .collect();
        assert_eq!(rows, want, "series {series}");
        // point gets of every 7th point written, the deleted ones absent
        let live_at: std::collections::BTreeMap<i64, f64> = want.iter().copied().collect();
        for &(t, _) in written(series).iter().step_by(7) {
            for t in [t - 1, t, t + 1] {
                let got = db.value_at(metric, &tags, t).unwrap();
                assert_eq!(got, live_at.get(&t).copied(), "series {series} at {t}");
            }
        }
        // short ranges starting anywhere in a chunk
        for (i, &(t, _)) in written(series).iter().enumerate().step_by(131) {
            let end = t + 3_600_000;
            let got: Vec<(i64, f64)> = db
                .query_range(metric, t, end, &tags)
                .unwrap()
                .iter()
                .map(|p| (p.timestamp, p.value))
                .collect();
            let want: Vec<(i64, f64)> = want
                .iter()
                .copied()
                .filter(|p| (t..=end).contains(&p.0))
                .collect();
            assert_eq!(got, want, "series {series}, range from point {i}");
        }
        // the newest point, and the maximum per hour
        let mut q = Query::new(metric, Aggregation::Max).every(3_600_000);
        let mut matchers = Vec::new();
        for (k, v) in &tags {
            q = q.filter(Matcher::eq(k, v));
            matchers.push(Matcher::eq(k, v));
        }
        let groups = db.query(&q).unwrap();
        let mut hours: std::collections::BTreeMap<i64, f64> = Default::default();
        for &(t, v) in &want {
            let h = t.div_euclid(3_600_000) * 3_600_000;
            let m = hours.entry(h).or_insert(v);
            *m = m.max(v);
        }
        assert_eq!(groups.len(), 1);
        assert_eq!(
            groups[0].timestamps,
            hours.keys().copied().collect::<Vec<_>>()
        );
        assert_eq!(
            groups[0].values,
            hours.values().copied().collect::<Vec<_>>()
        );
        let last = db.last(metric, &matchers).unwrap();
        assert_eq!(last.len(), 1);
        let newest = want.last().unwrap();
        assert_eq!((last[0].timestamps[0], last[0].values[0]), *newest);
    }
}

#[test]
fn version_2_segments_are_read_then_compacted_into_version_3() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    copy_fixture(&dir);
    let versions = segment_versions(&dir);
    assert_eq!(
        versions,
        vec![2, 2, 2],
        "the fixture is three version 2 segments"
    );
    let opts = || {
        Options::default()
            .chunk_points(1024)
            .partition_width(86_400_000)
    };
    let db = Db::open_with(&dir, opts()).unwrap();
    check(&db);
    db.compact().unwrap();
    check(&db);
    db.close().unwrap();
    let versions = segment_versions(&dir);
    assert!(
        !versions.is_empty() && versions.iter().all(|&v| v == 3),
        "{versions:?}"
    );
    let db = Db::open_with(&dir, opts()).unwrap();
    check(&db);
    db.close().unwrap();
}
