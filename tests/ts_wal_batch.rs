//! WAL batches as written and as read back.
//!
//! Batches of data arriving in time order (many series, a few points each) are
//! compact (batch version 3) and written without snappy, while the first batch, which
//! defines the series, is compressed.
//!
//! A WAL written before the compact columns (batch version 2) replays after the
//! upgrade. `tests/data/wal-v2-db` is a database written by the build before batch version 3
//! (commit d7beb82; the program is in `tests/data/README.md`) and never closed: its
//! points are in its WAL only, as six version 2 records (a `Writer` commit of 20
//! series x 10 two-decimal points in plain short columns, the definition of a handle's
//! series and an `append` of five raw values to it, the same for 500 points stored
//! through the codecs, a range delete). The test replays it, checks every point
//! against the formulas, writes version 3 records beside it, replays both segments,
//! then closes (flushes) and reads everything again.

use std::path::Path;

use tidestore::inspect;
use tidestore::{Db, Point};

const T0: i64 = 1_700_000_000_000;

/// Copies the files of `from` but its lock: what a process crash leaves of a
/// database still open (every acknowledged record is in the OS).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "LOCK" {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn host(h: i64) -> String {
    format!("h{h}")
}

/// The fixture's `cpu` points of host `h` after its delete.
fn cpu(h: i64) -> Vec<(i64, f64)> {
    (0..10i64)
        .filter(|&i| !(h == 5 && (3..=4).contains(&i)))
        .map(|i| (T0 + 10_000 * i, ((h * 31 + i * 7) % 1000) as f64 / 100.0))
        .collect()
}

/// The points this test adds after the upgrade, of host `h` (new hosts 20..25 too).
fn added(h: i64) -> Vec<(i64, f64)> {
    (10..20i64)
        .map(|i| (T0 + 10_000 * i, ((h * 17 + i * 3) % 1000) as f64 / 100.0))
        .collect()
}

fn pairs(points: &[Point]) -> Vec<(i64, u64)> {
    points
        .iter()
        .map(|p| (p.timestamp, p.value.to_bits()))
        .collect()
}

fn bits(points: &[(i64, f64)]) -> Vec<(i64, u64)> {
    points.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

/// Checks every point of the fixture, and of the writes after the upgrade when
/// `upgraded`.
fn check(db: &Db, upgraded: bool) {
    for h in 0..25 {
        let name = host(h);
        let got = db.query_by_tags("cpu", &[("host", &name)]).unwrap();
        let mut want = if h < 20 { cpu(h) } else { Vec::new() };
        if upgraded {
            want.extend(added(h));
        }
        assert_eq!(pairs(&got), bits(&want), "host {h}");
    }
    let noise: Vec<(i64, f64)> = (0..5)
        .map(|i| (T0 + 3 * i, (i as f64 + 0.5).sqrt()))
        .collect();
    let got = db.query_by_tags("noise", &[("k", "v")]).unwrap();
    assert_eq!(pairs(&got), bits(&noise));
    let long: Vec<(i64, f64)> = (0..500)
        .map(|i| (T0 + 1_000 * i, (i % 13) as f64 * 0.5))
        .collect();
    assert_eq!(pairs(&db.query_metric("long").unwrap()), bits(&long));
}

#[test]
fn a_version_2_wal_replays_beside_version_3_records() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wal-v2-db"),
        &dir,
    );
    let report = inspect::verify(&dir).unwrap();
    assert!(report.is_intact(), "{report:?}");

    let db = Db::open(&dir).unwrap();
    assert_eq!(db.stats().wal_records_replayed, 6);
    assert_eq!(db.stats().series, 22);
    check(&db, false);
    // version 3 records into a new segment, the old one still live
    let mut w = db.writer();
    for i in 10..20i64 {
        for h in 0..25 {
            let v = ((h * 17 + i * 3) % 1000) as f64 / 100.0;
            w.add("cpu", &[("host", &host(h))], T0 + 10_000 * i, v)
                .unwrap();
        }
    }
    w.commit().unwrap();
    check(&db, true);
    // as if the process crashed now: both segments replay
    let crashed = tmp.path().join("crashed");
    copy_dir(&dir, &crashed);
    drop(db);

    let db = Db::open(&crashed).unwrap();
    assert_eq!(db.stats().wal_records_replayed, 7);
    assert_eq!(db.stats().series, 27);
    check(&db, true);
    db.flush().unwrap();
    db.close().unwrap();

    let db = Db::open(&crashed).unwrap();
    assert_eq!(db.stats().wal_records_replayed, 0);
    check(&db, true);
    drop(db);
    let report = inspect::verify(&crashed).unwrap();
    assert!(report.is_intact(), "{report:?}");
}

/// The WAL records of segment file `path` after its header: `(type, body length)`
/// (docs/format.md, part 1: crc u32, len u32, type u8, body).
fn records(path: &Path) -> Vec<(u8, usize)> {
    let bytes = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut p = 0;
    while p + 9 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[p + 4..p + 8].try_into().unwrap()) as usize;
        out.push((bytes[p + 8], len));
        p += 9 + len;
    }
    assert_eq!(p, bytes.len());
    out.remove(0); // the segment's header
    out
}

#[test]
fn arrival_order_batches_are_compact_and_written_without_snappy() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path()).unwrap();
    let (series, steps, commits) = (1000i64, 10i64, 5i64);
    let mut w = db.writer();
    for c in 0..commits {
        for step in 0..steps {
            let t = T0 + 10_000 * (c * steps + step);
            for s in 0..series {
                // two-decimal random walks of small steps
                let v =
                    ((s * 7919 + (c * steps + step) * (s % 7 + 1) * 13) % 10_000) as f64 / 100.0;
                w.add("cpu", &[("host", &host(s))], t, v).unwrap();
            }
        }
        w.commit().unwrap();
    }
    let wal: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .collect();
    assert_eq!(wal.len(), 1);
    let recs = records(&wal[0]);
    assert_eq!(recs.len(), commits as usize);
    // the first batch defines the 1 000 series: snappy shortens their names
    assert_eq!(recs[0].0, 2, "the defining batch is snappy-compressed");
    let points = (series * steps) as f64;
    for &(kind, len) in &recs[1..] {
        assert_eq!(kind, 1, "a batch of compact columns is written plain");
        // timestamps about 1.2 bytes a point, mantissa differences at most 2, and
        // per column its id, count, encoding and exponent (plain columns under snappy
        // took 5.1)
        assert!(len as f64 / points < 3.8, "{len} bytes for {points} points");
    }
    drop(db);
    let db = Db::open(tmp.path()).unwrap();
    assert_eq!(db.stats().wal_records_replayed, commits as u64);
    for s in (0..series).step_by(97) {
        let got = db.query_by_tags("cpu", &[("host", &host(s))]).unwrap();
        assert_eq!(got.len(), (commits * steps) as usize);
        for (i, p) in got.iter().enumerate() {
            let i = i as i64;
            let v = ((s * 7919 + i * (s % 7 + 1) * 13) % 10_000) as f64 / 100.0;
            assert_eq!(
                (p.timestamp, p.value.to_bits()),
                (T0 + 10_000 * i, v.to_bits())
            );
        }
    }
}
