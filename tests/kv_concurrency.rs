//! Concurrency of `kv::Store`: readers never see a torn batch while a writer commits
//! batches and background flushes and compactions reshape the tree; snapshots keep
//! their view across compactions; a second open of a directory is `Error::Locked`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tidestore::Error;
use tidestore::kv::{Options, Store, SyncMode, TableOptions, WriteBatch};

const KEYS: usize = 16;
const BATCHES: u64 = 800;

fn small(background: bool) -> Options {
    Options::default()
        .sync_mode(SyncMode::Os)
        .memtable_bytes(12 << 10)
        .l0_compaction_trigger(2)
        .level1_bytes(16 << 10)
        .level_size_multiplier(2)
        .target_file_bytes(4096)
        .max_subcompactions(2)
        .table(TableOptions {
            block_size: 512,
            ..TableOptions::default()
        })
        .background_work(background)
}

fn key(i: usize) -> Vec<u8> {
    format!("k{i:02}").into_bytes()
}

fn val(version: u64) -> Vec<u8> {
    let mut v = format!("{version:010}|").into_bytes();
    v.resize(48, b'.');
    v
}

fn version_of(value: &[u8]) -> u64 {
    std::str::from_utf8(&value[..10]).unwrap().parse().unwrap()
}

/// Batch `v` sets every `k..` of families "a" and "b" to version `v`; the key "marker"
/// of "a" exists iff `v` is even.
fn batch(v: u64) -> WriteBatch {
    let mut b = WriteBatch::new();
    for i in 0..KEYS {
        b.put("a", key(i), val(v));
        b.put("b", key(i), val(v));
    }
    if v.is_multiple_of(2) {
        b.put("a", "marker", val(v));
    } else {
        b.delete("a", "marker");
    }
    b
}

/// Checks that rows of family "a" are one consistent version; returns it (0 = empty).
fn check_a(rows: &[(Vec<u8>, Vec<u8>)]) -> u64 {
    if rows.is_empty() {
        return 0;
    }
    let v = version_of(&rows[0].1);
    let mut want: Vec<Vec<u8>> = (0..KEYS).map(key).collect();
    if v.is_multiple_of(2) {
        want.push(b"marker".to_vec());
    }
    let keys: Vec<Vec<u8>> = rows.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys, want, "scan at version {v} saw the wrong keys");
    for (k, value) in rows {
        assert_eq!(version_of(value), v, "torn batch: {k:?} in a scan at {v}");
    }
    v
}

fn scan(store: &Store, cf: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    store
        .range(cf, ..)
        .unwrap()
        .collect::<tidestore::Result<_>>()
        .unwrap()
}

#[test]
fn readers_see_only_whole_batches_during_flushes_and_compactions() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open_with(dir.path(), small(true)).unwrap());
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..3)
        .map(|r| {
            let (store, done) = (Arc::clone(&store), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut last = 0;
                let mut scans = 0u64;
                loop {
                    let finished = done.load(Ordering::Acquire);
                    let v = if r == 2 {
                        // Snapshot reads: both families and point reads agree.
                        let snap = store.snapshot();
                        let rows: Vec<_> = snap
                            .range("a", ..)
                            .unwrap()
                            .collect::<tidestore::Result<_>>()
                            .unwrap();
                        let v = check_a(&rows);
                        let b: Vec<_> = snap
                            .range("b", ..)
                            .unwrap()
                            .collect::<tidestore::Result<_>>()
                            .unwrap();
                        assert!(b.iter().all(|(_, x)| version_of(x) == v) || v == 0);
                        for i in (0..KEYS).step_by(5) {
                            let got = snap.get("b", key(i)).unwrap();
                            if v > 0 {
                                assert_eq!(got, Some(val(v)), "snapshot get at {v}");
                            }
                        }
                        v
                    } else {
                        check_a(&scan(&store, "a"))
                    };
                    assert!(v >= last, "reader {r} went back from {last} to {v}");
                    last = v;
                    scans += 1;
                    if finished {
                        assert_eq!(v, BATCHES, "the final scan sees the last batch");
                        return scans;
                    }
                }
            })
        })
        .collect();

    for v in 1..=BATCHES {
        store.write(batch(v)).unwrap();
    }
    done.store(true, Ordering::Release);
    for r in readers {
        let scans = r.join().unwrap();
        assert!(scans > 0);
    }
    let stats = store.stats();
    assert!(stats.flushes > 10, "flushes: {stats:?}");
    assert!(stats.compactions > 0, "compactions: {stats:?}");
    assert_eq!(check_a(&scan(&store, "a")), BATCHES);
}

#[test]
fn snapshots_keep_their_view_across_compactions() {
    // The simulated file system: no fsync cost for the many inline flushes.
    let fs = tidestore::io::sim_fs::SimFs::new();
    let store = Store::open_with("/db", small(false).fs(Arc::new(fs))).unwrap();
    for v in 1..=50 {
        store.write(batch(v)).unwrap();
    }
    let old = store.snapshot();
    store.write(batch(51)).unwrap();
    let older_rows = scan(&store, "a");
    assert_eq!(check_a(&older_rows), 51);
    let mid = store.snapshot();
    for v in 52..=400 {
        store.write(batch(v)).unwrap();
        if v.is_multiple_of(100) {
            store.compact().unwrap();
        }
    }
    // Delete everything in "a" and compact it away for the present view.
    let mut wipe = WriteBatch::new();
    for i in 0..KEYS {
        wipe.delete("a", key(i));
    }
    wipe.delete("a", "marker");
    store.write(wipe).unwrap();
    store.compact().unwrap();
    assert!(scan(&store, "a").is_empty());

    let rows = |s: &tidestore::kv::Snapshot<'_>| -> Vec<(Vec<u8>, Vec<u8>)> {
        s.range("a", ..)
            .unwrap()
            .collect::<tidestore::Result<_>>()
            .unwrap()
    };
    assert_eq!(check_a(&rows(&old)), 50);
    assert_eq!(check_a(&rows(&mid)), 51);
    assert_eq!(old.get("a", "marker").unwrap(), Some(val(50)));
    assert_eq!(mid.get("a", "marker").unwrap(), None);
    assert_eq!(store.stats().live_snapshots, 2);
    drop(old);
    store.compact().unwrap();
    assert_eq!(check_a(&rows(&mid)), 51, "the other snapshot is unaffected");
    drop(mid);
    store.compact().unwrap();
    assert_eq!(store.stats().live_snapshots, 0);
    assert!(scan(&store, "a").is_empty());
    assert_eq!(version_of(&store.get("b", key(3)).unwrap().unwrap()), 400);
}

#[test]
fn second_open_is_locked_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.put("cf", "k", "v").unwrap();
    match Store::open(dir.path()) {
        Err(Error::Locked(path)) => assert!(path.starts_with(dir.path()) || path == dir.path()),
        other => panic!("expected Error::Locked, got {other:?}"),
    }
    // From another thread too.
    let path = dir.path().to_path_buf();
    let other = std::thread::spawn(move || Store::open(&path).map(|_| ()))
        .join()
        .unwrap();
    assert!(matches!(other, Err(Error::Locked(_))), "{other:?}");
    store.close().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.get("cf", "k").unwrap(), Some(b"v".to_vec()));
}
