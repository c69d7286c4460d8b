//! Value filters on scans (`Scan::where_value`): the rows kept, the chunks not read,
//! and bad filters. The model test (`ts_model`) checks filtered scans against the
//! reference after every step; this file checks what it cannot see: that a chunk the
//! filter excludes is never read, shown by damaging it on disk.

use std::path::{Path, PathBuf};

use tidestore::ts::{Options, ValueFilter};
use tidestore::{Db, Error};

/// The segment files of a database directory.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    v.sort();
    v
}

/// Every `(timestamp, value)` a scan of `cpu` with `filter` yields, or its error.
fn scan(db: &Db, filter: Option<ValueFilter>) -> Result<Vec<(i64, f64)>, Error> {
    let mut scan = db.scan("cpu", i64::MIN, i64::MAX, &[])?;
    if let Some(f) = filter {
        scan = scan.where_value(f)?;
    }
    let mut out = Vec::new();
    while let Some(v) = scan.next()? {
        out.extend(
            v.timestamps()
                .iter()
                .copied()
                .zip(v.values().iter().copied()),
        );
    }
    Ok(out)
}

/// One series in one segment, two chunks: values 0..64 at t 0..64 (low), then
/// 1000..1064 at t 64..128 (high); the first chunk's data is damaged on disk.
fn low_chunk_damaged(dir: &Path) -> Db {
    let opts = || Options::default().chunk_points(64).background_work(false);
    let db = Db::open_with(dir, opts()).unwrap();
    for t in 0..128i64 {
        let v = if t < 64 { t as f64 } else { 1000.0 + t as f64 };
        db.insert("cpu", t, v, &[("host", "a")]).unwrap();
    }
    db.flush().unwrap();
    db.close().unwrap();
    let [seg] = segments(dir).try_into().expect("one segment");
    let mut bytes = std::fs::read(&seg).unwrap();
    // Chunk data starts after the 16-byte header; the series' first chunk comes first.
    bytes[16 + 4] ^= 0x40;
    std::fs::write(&seg, bytes).unwrap();
    Db::open_with(dir, opts()).unwrap()
}

#[test]
fn a_chunk_the_filter_excludes_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = low_chunk_damaged(dir.path());
    // Reading everything reaches the damaged chunk.
    assert!(matches!(scan(&db, None), Err(Error::Corruption { .. })));
    assert!(matches!(
        scan(&db, Some(ValueFilter::lt(500.0))),
        Err(Error::Corruption { .. })
    ));
    // The low chunk's max (63) excludes it from `> 500`: it is skipped, never decoded.
    let high = scan(&db, Some(ValueFilter::gt(500.0))).unwrap();
    let want: Vec<(i64, f64)> = (64..128).map(|t| (t, 1000.0 + t as f64)).collect();
    assert_eq!(high, want);
    let some = scan(&db, Some(ValueFilter::between(1100.0, 1110.0))).unwrap();
    let want: Vec<(i64, f64)> = (100..=110).map(|t| (t, 1000.0 + t as f64)).collect();
    assert_eq!(some, want);
}

#[test]
fn head_points_are_judged_by_their_own_values() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), Options::default().chunk_points(64)).unwrap();
    for t in 0..100i64 {
        db.insert("cpu", t, 10.0, &[("host", "a")]).unwrap();
    }
    db.flush().unwrap();
    // A head point overwrites one of them: the segment's chunk (all 10.0) is excluded
    // by `> 50`, yet the head's 99.0 at t = 5 passes; under `<= 10` the old 10.0 at
    // t = 5 is replaced, so it does not show.
    db.insert("cpu", 5, 99.0, &[("host", "a")]).unwrap();
    db.insert("cpu", 200, 1.0, &[("host", "a")]).unwrap();
    let got = scan(&db, Some(ValueFilter::gt(50.0))).unwrap();
    assert_eq!(got, [(5, 99.0)]);
    let got = scan(&db, Some(ValueFilter::le(10.0))).unwrap();
    assert_eq!(got.len(), 100);
    assert!(!got.contains(&(5, 10.0)), "the overwritten value is gone");
    assert_eq!(got.last(), Some(&(200, 1.0)));
}

#[test]
fn filters_combine_and_views_restart_per_series() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    for t in 0..50i64 {
        db.insert("cpu", t, t as f64, &[("host", "a")]).unwrap();
        db.insert("cpu", t, -(t as f64), &[("host", "b")]).unwrap();
    }
    let mut s = db
        .scan("cpu", 0, 100, &[])
        .unwrap()
        .where_value(ValueFilter::ge(10.0))
        .unwrap()
        .where_value(ValueFilter::lt(20.0))
        .unwrap()
        .batch_points(3);
    let mut views = Vec::new();
    while let Some(v) = s.next().unwrap() {
        views.push((
            v.key().tags().to_vec(),
            v.continues_series(),
            v.timestamps().to_vec(),
        ));
    }
    // Only host a has values in [10, 20); its first view starts the series.
    assert!(views.iter().all(|v| v.0[0].1 == "a"));
    assert!(!views[0].1 && views.iter().skip(1).all(|v| v.1));
    let ts: Vec<i64> = views.iter().flat_map(|v| v.2.clone()).collect();
    assert_eq!(ts, (10..20).collect::<Vec<_>>());
    // The parallel fold sees the same points.
    let n = db
        .scan("cpu", 0, 100, &[])
        .unwrap()
        .where_value(ValueFilter::between(10.0, 19.0))
        .unwrap()
        .fold(|| 0usize, |n, v| n + v.len(), |a, b| a + b)
        .unwrap();
    assert_eq!(n, 10);
}

#[test]
fn bad_filters_are_invalid_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    db.insert("cpu", 0, 1.0, &[]).unwrap();
    for bad in [
        ValueFilter::gt(f64::NAN),
        ValueFilter::between(2.0, 1.0),
        ValueFilter::le(f64::NAN),
    ] {
        let r = db.scan("cpu", 0, 1, &[]).unwrap().where_value(bad);
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{bad:?}");
    }
}
