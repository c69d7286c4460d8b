//! The catalog across reopens: an open keeps the catalog file it loaded (it writes a
//! new one only when WAL segments it drops defined series), and loads catalog entries
//! and WAL definitions in bulk. Sessions that add series (with points, or defined
//! only), sometimes flush, and end by a close, a process kill or a power cut (on the
//! simulated file system, `SyncMode::Always`) must give back every acknowledged
//! point under its own series, whatever mix of catalog file, segments and WAL holds
//! them.

use std::collections::BTreeMap;
use std::sync::Arc;

use tidestore::SyncMode;
use tidestore::io::fs::FileSystem;
use tidestore::io::sim_fs::SimFs;
use tidestore::{Db, ts};

mod support_ts;
use support_ts::End;

fn opts(fs: &SimFs) -> ts::Options {
    ts::Options::default()
        .sync_mode(SyncMode::Always)
        .background_work(false)
        .fs(Arc::new(fs.clone()))
}

/// The catalog files in the directory.
fn catalog_files(fs: &SimFs) -> Vec<String> {
    let mut v: Vec<String> = fs
        .list(std::path::Path::new("/c"))
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with("CATALOG-"))
        .collect();
    v.sort();
    v
}

/// Series `s`'s tags: a unique host, a shared rack.
fn host(s: usize) -> String {
    format!("host_{s}")
}

fn rack(s: usize) -> String {
    (s % 3).to_string()
}

/// Every point of metric `m`, as series number -> timestamp -> value.
fn read_back(db: &Db, metric: &str) -> BTreeMap<usize, BTreeMap<i64, f64>> {
    let mut got: BTreeMap<usize, BTreeMap<i64, f64>> = BTreeMap::new();
    for p in db.query_metric(metric).unwrap() {
        let h = p.tags.iter().find(|(k, _)| k == "host").unwrap();
        let s: usize = h.1.strip_prefix("host_").unwrap().parse().unwrap();
        let r = p.tags.iter().find(|(k, _)| k == "rack").unwrap();
        assert_eq!(
            r.1,
            rack(s),
            "series {s} came back with another series' tags"
        );
        assert!(
            got.entry(s)
                .or_default()
                .insert(p.timestamp, p.value)
                .is_none()
        );
    }
    got
}

#[test]
fn every_series_and_point_survives_reopens_that_keep_the_catalog_file() {
    for (case, ends) in [
        [End::Close, End::Close, End::Close, End::Close],
        [End::Kill, End::Close, End::Kill, End::Kill],
        [End::PowerCut, End::Kill, End::PowerCut, End::Close],
        [End::Close, End::PowerCut, End::Close, End::PowerCut],
    ]
    .iter()
    .enumerate()
    {
        let fs = SimFs::new();
        // The model: series -> timestamp -> value, and the series defined only.
        let mut model: BTreeMap<usize, BTreeMap<i64, f64>> = BTreeMap::new();
        let mut defined_only: Vec<usize> = Vec::new();
        let mut next_series = 0usize;
        for (session, end) in ends.iter().enumerate() {
            let db = Db::open_with("/c", opts(&fs)).unwrap();
            let files_at_open = catalog_files(&fs);
            assert_eq!(files_at_open.len(), 1, "case {case}: one catalog file");
            assert_eq!(
                read_back(&db, "cpu"),
                model,
                "case {case} session {session}"
            );
            for &s in &defined_only {
                let handle = db.series("idle", &[("host", &host(s)), ("rack", &rack(s))]);
                assert!(handle.is_ok(), "case {case}: defined series {s}");
            }
            assert_eq!(
                db.list_keys().unwrap().len(),
                model.len() + defined_only.len()
            );
            // New series and points of old ones, in writes of a few series each; a
            // flush in the middle of some sessions.
            for round in 0..6 {
                let mut w = db.writer();
                for _ in 0..5 {
                    let s = next_series;
                    next_series += 1;
                    let t = (session * 100 + round) as i64;
                    let v = (s * 1000) as f64 + t as f64;
                    w.add("cpu", &[("rack", &rack(s)), ("host", &host(s))], t, v)
                        .unwrap();
                    model.entry(s).or_default().insert(t, v);
                }
                for s in (0..next_series).step_by(7) {
                    let t = (session * 100 + round) as i64;
                    let v = -((s * 1000) as f64) - t as f64;
                    w.add("cpu", &[("host", &host(s)), ("rack", &rack(s))], t, v)
                        .unwrap();
                    model.entry(s).or_default().insert(t, v);
                }
                w.commit().unwrap();
                if round == 2 && session % 2 == 1 {
                    db.flush().unwrap();
                    assert_ne!(
                        catalog_files(&fs),
                        files_at_open,
                        "case {case}: the first flush after an open rewrites the catalog"
                    );
                }
            }
            // A series defined without points.
            let s = next_series;
            next_series += 1;
            db.series("idle", &[("host", &host(s)), ("rack", &rack(s))])
                .unwrap();
            defined_only.push(s);
            if session % 2 == 0 {
                assert_eq!(
                    catalog_files(&fs),
                    files_at_open,
                    "case {case}: nothing forced a new catalog file"
                );
            }
            end.end(&fs, db);
        }
        let db = Db::open_with("/c", opts(&fs)).unwrap();
        assert_eq!(read_back(&db, "cpu"), model, "case {case}: at the end");
        db.flush().unwrap();
        db.close().unwrap();
        let db = Db::open_with("/c", opts(&fs)).unwrap();
        assert_eq!(read_back(&db, "cpu"), model, "case {case}: flushed");
        assert_eq!(
            db.list_keys().unwrap().len(),
            model.len() + defined_only.len()
        );
    }
}

/// Series defined without points, then a reopen: their WAL segments are dropped, so
/// the open writes a new catalog file holding them; they survive a second reopen.
#[test]
fn series_defined_only_move_to_a_new_catalog_file() {
    let fs = SimFs::new();
    let db = Db::open_with("/c", opts(&fs)).unwrap();
    db.insert("cpu", 1, 1.0, &[("host", "a")]).unwrap();
    db.flush().unwrap();
    db.series("cpu", &[("host", "b")]).unwrap();
    db.close().unwrap();
    let before = catalog_files(&fs);
    let db = Db::open_with("/c", opts(&fs)).unwrap();
    assert_ne!(
        catalog_files(&fs),
        before,
        "a new catalog file holds host b"
    );
    db.close().unwrap();
    let names = fs.list(std::path::Path::new("/c")).unwrap();
    assert!(
        names.iter().filter(|n| n.ends_with(".wal")).count() <= 1,
        "the WAL segments that defined host b are gone: {names:?}"
    );
    let db = Db::open_with("/c", opts(&fs)).unwrap();
    assert_eq!(db.list_keys().unwrap().len(), 2);
    let again = db.series("cpu", &[("host", "b")]).unwrap();
    db.append(&again, &[5], &[5.0]).unwrap();
    assert_eq!(db.query_metric("cpu").unwrap().len(), 2);
}
