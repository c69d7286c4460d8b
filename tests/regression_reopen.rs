//! Regression tests of issue 8's defects that showed at open: retention moving
//! backwards across a reopen (3), a stray huge-numbered file making a database
//! unopenable (5), and a directory of the other engine reported as corruption (6).

use std::path::Path;
use std::sync::Arc;

use tidestore::SyncMode;
use tidestore::io::fs::FileSystem;
use tidestore::io::sim_fs::SimFs;
use tidestore::{Db, Error, kv, ts};

mod support_ts;
use support_ts::End;

fn ts_opts(fs: &SimFs) -> ts::Options {
    ts::Options::default()
        .sync_mode(SyncMode::Always)
        .background_work(false)
        .fs(Arc::new(fs.clone()))
}

fn visible(db: &Db) -> usize {
    db.query_metric("m").unwrap().len()
}

/// Defect 3: retention is relative to the newest timestamp ever written, which only
/// grows; it used to be recomputed at open from what is stored, so deleting the
/// newest point brought back points already hidden.
#[test]
fn retention_never_moves_backwards_across_a_reopen() {
    for flush in [false, true] {
        for compact in [false, true] {
            for end in [End::Close, End::Kill, End::PowerCut] {
                let case = format!("flush {flush}, compact {compact}, {end:?}");
                let fs = SimFs::new();
                let opts = ts_opts(&fs).retention(Some(100));
                let db = Db::open_with("/r", opts.clone()).unwrap();
                for t in 0..100 {
                    db.insert("m", t, t as f64, &[]).unwrap();
                }
                db.insert("m", 10_000, 1.0, &[]).unwrap();
                db.delete_range("m", 10_000, 10_000, &[]).unwrap();
                if flush {
                    db.flush().unwrap();
                }
                if compact {
                    db.compact().unwrap();
                }
                assert_eq!(visible(&db), 0, "{case}: before the reopen");
                end.end(&fs, db);
                let db = Db::open_with("/r", opts.clone()).unwrap();
                assert_eq!(visible(&db), 0, "{case}: hidden points came back");
                // A point within the window is visible, one before it is not.
                db.insert("m", 9_950, 1.0, &[]).unwrap();
                db.insert("m", 50, 1.0, &[]).unwrap();
                assert_eq!(visible(&db), 1, "{case}");
                db.compact().unwrap();
                db.close().unwrap();
                let db = Db::open_with("/r", opts).unwrap();
                assert_eq!(visible(&db), 1, "{case}: after compaction and reopen");
                db.close().unwrap();
            }
        }
    }
}

/// Defect 5: the file-number counter wrapped at `next_file + 1` past a stray file
/// named with the largest number, and the open failed with a misleading error.
#[test]
fn stray_files_with_huge_numbers_are_not_the_engines() {
    let stray_ts = [
        "18446744073709551615.seg",
        "18446744073709551615.seg.tmp",
        "CATALOG-18446744073709551615",
        "18446744073709551615.wal",
        "MANIFEST-18446744073709551615",
        "4611686018427387904.seg",
    ];
    for name in stray_ts {
        let fs = SimFs::new();
        let dir = Path::new("/s");
        let db = Db::open_with(dir, ts_opts(&fs)).unwrap();
        db.insert("m", 1, 1.0, &[]).unwrap();
        db.close().unwrap();
        write_file(&fs, &dir.join(name), b"not ours");
        for _ in 0..2 {
            let db = Db::open_with(dir, ts_opts(&fs)).unwrap_or_else(|e| panic!("{name}: {e}"));
            db.insert("m", 2, 2.0, &[]).unwrap();
            db.flush().unwrap();
            db.compact().unwrap();
            assert_eq!(db.query_metric("m").unwrap().len(), 2, "{name}");
            db.close().unwrap();
        }
        assert_eq!(
            fs.read(&dir.join(name)).unwrap(),
            b"not ours",
            "{name}: a file that is not the engine's is left alone"
        );
    }
    for name in [
        "18446744073709551615.sst",
        "18446744073709551615.sst.tmp",
        "18446744073709551615.wal",
        "MANIFEST-18446744073709551615",
    ] {
        let fs = SimFs::new();
        let dir = Path::new("/k");
        let opts = kv::Options::default()
            .background_work(false)
            .fs(Arc::new(fs.clone()));
        let store = kv::Store::open_with(dir, opts.clone()).unwrap();
        store.put("cf", "a", "1").unwrap();
        store.close().unwrap();
        write_file(&fs, &dir.join(name), b"not ours");
        for _ in 0..2 {
            let store =
                kv::Store::open_with(dir, opts.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            store.put("cf", "b", "2").unwrap();
            store.compact().unwrap();
            assert_eq!(store.range("cf", ..).unwrap().count(), 2, "{name}");
            store.close().unwrap();
        }
        assert_eq!(fs.read(&dir.join(name)).unwrap(), b"not ours", "{name}");
    }
}

fn write_file(fs: &SimFs, path: &Path, bytes: &[u8]) {
    let mut f = fs.create(path).unwrap();
    f.write_all(bytes).unwrap();
    f.sync().unwrap();
    fs.sync_dir(path.parent().unwrap()).unwrap();
}

/// Defect 6: opening one engine's directory with the other reported `Corruption` of
/// a file named `MANIFEST` that does not exist; the directory is healthy.
#[test]
fn opening_the_other_engines_directory_says_what_it_is() {
    let fs = SimFs::new();
    let kv_opts = kv::Options::default().fs(Arc::new(fs.clone()));
    let store = kv::Store::open_with("/kv", kv_opts.clone()).unwrap();
    store.put("cf", "k", "v").unwrap();
    store.close().unwrap();
    let db = Db::open_with("/ts", ts_opts(&fs)).unwrap();
    db.insert("m", 1, 1.0, &[]).unwrap();
    db.close().unwrap();
    // And two that never held data.
    kv::Store::open_with("/kv-empty", kv_opts.clone())
        .unwrap()
        .close()
        .unwrap();
    Db::open_with("/ts-empty", ts_opts(&fs))
        .unwrap()
        .close()
        .unwrap();

    for dir in ["/kv", "/kv-empty"] {
        match Db::open_with(dir, ts_opts(&fs)) {
            Err(Error::InvalidArgument(msg)) => {
                assert!(msg.contains("kv::Store"), "{dir}: {msg}");
                assert!(msg.contains(dir), "{dir}: {msg}");
            }
            other => panic!("{dir}: {other:?}"),
        }
    }
    for dir in ["/ts", "/ts-empty"] {
        match kv::Store::open_with(dir, kv_opts.clone()) {
            Err(Error::InvalidArgument(msg)) => {
                assert!(msg.contains("time-series"), "{dir}: {msg}");
                assert!(msg.contains(dir), "{dir}: {msg}");
            }
            other => panic!("{dir}: {other:?}"),
        }
    }
    // Directories from before IDENTITY files: recognized by their files, or (a
    // key-value store without tables) by a manifest that is not a time-series one.
    let kv_tables = kv::Store::open_with("/kv-tables", kv_opts.clone()).unwrap();
    kv_tables.put("cf", "k", "v").unwrap();
    kv_tables.compact().unwrap();
    kv_tables.close().unwrap();
    for dir in ["/kv", "/kv-empty", "/kv-tables", "/ts", "/ts-empty"] {
        fs.remove_file(&Path::new(dir).join("IDENTITY")).unwrap();
    }
    for dir in ["/kv", "/kv-empty", "/kv-tables"] {
        match Db::open_with(dir, ts_opts(&fs)) {
            Err(Error::InvalidArgument(msg)) => assert!(msg.contains("kv::Store"), "{msg}"),
            other => panic!("legacy {dir}: {other:?}"),
        }
    }
    for dir in ["/ts", "/ts-empty"] {
        match kv::Store::open_with(dir, kv_opts.clone()) {
            // An empty one has no file of its own to tell.
            Ok(s) if dir == "/ts-empty" => s.close().unwrap(),
            Err(Error::InvalidArgument(msg)) => assert!(msg.contains("time-series"), "{msg}"),
            other => panic!("legacy {dir}: {other:?}"),
        }
    }
    // Nothing was changed: both still open as what they are, and get their IDENTITY.
    let store = kv::Store::open_with("/kv", kv_opts).unwrap();
    assert_eq!(store.get("cf", "k").unwrap().as_deref(), Some(&b"v"[..]));
    store.close().unwrap();
    let db = Db::open_with("/ts", ts_opts(&fs)).unwrap();
    assert_eq!(visible(&db), 1);
    db.close().unwrap();
    for dir in ["/kv", "/ts"] {
        assert!(fs.exists(&Path::new(dir).join("IDENTITY")), "{dir}");
    }
    assert!(matches!(
        kv::Store::open_with("/ts", kv::Options::default().fs(Arc::new(fs.clone()))),
        Err(Error::InvalidArgument(_))
    ));
}
