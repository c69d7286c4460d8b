//! Basic behaviour of `tidestore::kv::Store` through its public API: put/get/delete,
//! every range form, batches, column families, limits, locking, flush, compaction,
//! snapshots, file lifetime and crash recovery on the simulated file system.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tidestore::Error;
use tidestore::io::fs::FileSystem;
use tidestore::io::sim_fs::SimFs;
use tidestore::kv::{Options, Store, SyncMode, WriteBatch};

type Rows = Vec<(Vec<u8>, Vec<u8>)>;

fn rows(it: tidestore::kv::RangeIter) -> Rows {
    it.collect::<tidestore::Result<Rows>>().unwrap()
}

fn keys(it: tidestore::kv::RangeIter) -> Vec<String> {
    rows(it)
        .into_iter()
        .map(|(k, _)| String::from_utf8(k).unwrap())
        .collect()
}

/// Small memtables and files, everything inline: deterministic.
fn small(fs: Arc<dyn FileSystem>) -> Options {
    Options::default()
        .fs(fs)
        .sync_mode(SyncMode::Always)
        .memtable_bytes(4096)
        .target_file_bytes(4096)
        .level1_bytes(16 * 1024)
        .l0_compaction_trigger(2)
        .background_work(false)
}

fn sim() -> (SimFs, Arc<dyn FileSystem>, PathBuf) {
    let fs = SimFs::new();
    let dynfs: Arc<dyn FileSystem> = Arc::new(fs.clone());
    (fs, dynfs, PathBuf::from("/db"))
}

fn sst_count(fs: &dyn FileSystem, dir: &Path) -> usize {
    fs.list(dir)
        .unwrap()
        .iter()
        .filter(|n| n.ends_with(".sst"))
        .count()
}

#[test]
fn put_get_delete_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("db")).unwrap();
    store.put("column1", "key2", "{\"value\": 2}").unwrap();
    assert_eq!(
        store.get("column1", "key2").unwrap(),
        Some(b"{\"value\": 2}".to_vec())
    );
    assert_eq!(store.get("column1", "nope").unwrap(), None);
    assert_eq!(store.get("missing", "key2").unwrap(), None);
    store.put("column1", "key2", "v2").unwrap();
    assert_eq!(store.get("column1", "key2").unwrap(), Some(b"v2".to_vec()));
    store.delete("column1", "key2").unwrap();
    assert_eq!(store.get("column1", "key2").unwrap(), None);
    // Empty keys and values are fine.
    store.put("column1", "", "").unwrap();
    assert_eq!(store.get("column1", "").unwrap(), Some(Vec::new()));
    store.close().unwrap();
}

#[test]
fn range_supports_every_bound_kind() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for k in ["key0", "key1", "key2", "key3", "key4", "key5", "key6"] {
        store.put("cf", k, k.to_uppercase()).unwrap();
    }
    store.put("other", "key3", "x").unwrap();
    store.delete("cf", "key4").unwrap();

    let all = ["key0", "key1", "key2", "key3", "key5", "key6"];
    assert_eq!(keys(store.range("cf", ..).unwrap()), all);
    assert_eq!(
        keys(store.range("cf", "key1".."key5").unwrap()),
        ["key1", "key2", "key3"]
    );
    assert_eq!(
        keys(store.range("cf", "key1"..="key5").unwrap()),
        ["key1", "key2", "key3", "key5"]
    );
    assert_eq!(keys(store.range("cf", "key5"..).unwrap()), ["key5", "key6"]);
    assert_eq!(keys(store.range("cf", .."key2").unwrap()), ["key0", "key1"]);
    assert_eq!(
        keys(store.range("cf", ..="key2").unwrap()),
        ["key0", "key1", "key2"]
    );
    let excl: (Bound<&str>, Bound<&str>) = (Bound::Excluded("key1"), Bound::Included("key3"));
    assert_eq!(keys(store.range("cf", excl).unwrap()), ["key2", "key3"]);
    assert_eq!(
        keys(
            store
                .range("cf", b"key2".as_slice()..b"key3".as_slice())
                .unwrap()
        ),
        ["key2"]
    );
    assert_eq!(
        keys(store.range("cf", b"key6".to_vec()..).unwrap()),
        ["key6"]
    );
    assert_eq!(
        keys(store.range("cf", String::from("key9")..).unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(
        keys(store.range("cf", "key3".."key3").unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(keys(store.range("nope", ..).unwrap()), Vec::<String>::new());
    let values: Vec<Vec<u8>> = rows(store.range("cf", "key0"..="key0").unwrap())
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(values, vec![b"KEY0".to_vec()]);
    assert_eq!(keys(store.range("other", ..).unwrap()), ["key3"]);
}

#[test]
fn write_batch_is_atomic_across_column_families() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.put("a", "gone", "1").unwrap();
    let mut batch = WriteBatch::new();
    batch.put("a", "k1", "v1");
    batch.put("b", "k2", "v2");
    batch.delete("a", "gone");
    batch.delete("never", "x");
    store.write(batch).unwrap();
    assert_eq!(store.get("a", "k1").unwrap(), Some(b"v1".to_vec()));
    assert_eq!(store.get("b", "k2").unwrap(), Some(b"v2".to_vec()));
    assert_eq!(store.get("a", "gone").unwrap(), None);
    assert_eq!(store.list_column_families(), ["a", "b"]);

    // One bad operation rejects the whole batch.
    let mut bad = WriteBatch::new();
    bad.put("a", "k3", "v3");
    bad.put("c", vec![0u8; 64 * 1024 + 1], "v");
    assert!(matches!(store.write(bad), Err(Error::InvalidArgument(_))));
    assert_eq!(store.get("a", "k3").unwrap(), None);
    assert_eq!(store.list_column_families(), ["a", "b"]);
}

#[test]
fn batch_is_all_or_nothing_after_a_power_cut() {
    let (fs, dynfs, dir) = sim();
    {
        let store = Store::open_with(&dir, small(dynfs.clone()).sync_mode(SyncMode::Os)).unwrap();
        store.put("a", "before", "1").unwrap();
        store.flush().unwrap();
        let mut batch = WriteBatch::new();
        for i in 0..50 {
            batch.put("a", format!("k{i:03}"), "x");
            batch.put("b", format!("k{i:03}"), "y");
        }
        store.write(batch).unwrap();
        fs.crash();
    }
    let store = Store::open_with(&dir, small(dynfs)).unwrap();
    assert_eq!(store.get("a", "before").unwrap(), Some(b"1".to_vec()));
    let a = rows(store.range("a", "k".."l").unwrap()).len();
    let b = rows(store.range("b", ..).unwrap()).len();
    assert!(
        (a, b) == (0, 0) || (a, b) == (50, 50),
        "partial batch: {a} {b}"
    );
}

#[test]
fn column_families_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.put("zeta", "k", "1").unwrap();
        store.put("alpha", "k", "2").unwrap();
        store.delete("ghost", "k").unwrap();
        assert_eq!(store.list_column_families(), ["alpha", "zeta"]);
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.list_column_families(), ["alpha", "zeta"]);
    assert_eq!(store.get("zeta", "k").unwrap(), Some(b"1".to_vec()));
    assert_eq!(store.get("alpha", "k").unwrap(), Some(b"2".to_vec()));
    store.put("beta", "k", "3").unwrap();
    assert_eq!(store.list_column_families(), ["alpha", "beta", "zeta"]);
}

#[test]
fn bad_input_is_rejected_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let invalid =
        |r: tidestore::Result<()>| assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
    invalid(store.put("", "k", "v"));
    invalid(store.put(&"c".repeat(256), "k", "v"));
    invalid(store.put("cf", vec![7u8; 64 * 1024 + 1], "v"));
    invalid(store.put("cf", "k", vec![0u8; 64 * 1024 * 1024 + 1]));
    invalid(store.delete("", "k"));
    assert!(matches!(store.get("", "k"), Err(Error::InvalidArgument(_))));
    assert!(store.list_column_families().is_empty());
    assert_eq!(store.stats().last_sequence, 0);
    // The longest name and key are accepted.
    store
        .put(&"c".repeat(255), vec![7u8; 64 * 1024], "v")
        .unwrap();
    assert_eq!(store.list_column_families(), ["c".repeat(255)]);
}

#[test]
fn second_open_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(matches!(Store::open(dir.path()), Err(Error::Locked(_))));
    drop(store);
    let again = Store::open(dir.path()).unwrap();
    again.close().unwrap();

    let (_fs, dynfs, d) = sim();
    let a = Store::open_with(&d, small(dynfs.clone())).unwrap();
    assert!(matches!(
        Store::open_with(&d, small(dynfs)),
        Err(Error::Locked(_))
    ));
    a.close().unwrap();
}

#[test]
fn flush_then_reopen_reads_tables() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || {
        Options::default()
            .memtable_bytes(8 * 1024)
            .background_work(false)
    };
    {
        let store = Store::open_with(dir.path(), opts()).unwrap();
        for i in 0..500 {
            store
                .put("cf", format!("key{i:05}"), format!("value{i}"))
                .unwrap();
        }
        store.flush().unwrap();
        let s = store.stats();
        assert!(s.flushes >= 1);
        assert!(s.levels.iter().map(|l| l.files).sum::<usize>() >= 1);
        store.close().unwrap();
    }
    let store = Store::open_with(dir.path(), opts()).unwrap();
    assert_eq!(store.stats().frozen_memtables, 0);
    for i in (0..500).step_by(37) {
        assert_eq!(
            store.get("cf", format!("key{i:05}")).unwrap(),
            Some(format!("value{i}").into_bytes())
        );
    }
    assert_eq!(rows(store.range("cf", ..).unwrap()).len(), 500);
    // Absent keys inside the tables' key range are mostly answered by Bloom filters.
    for i in 0..200 {
        assert_eq!(store.get("cf", format!("key{i:05}x")).unwrap(), None);
    }
    assert!(store.stats().bloom_negatives > 0);
}

#[test]
fn unflushed_writes_are_replayed_from_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.put("cf", "a", "1").unwrap();
        store.delete("cf", "a").unwrap();
        store.put("cf", "b", "2").unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.get("cf", "a").unwrap(), None);
    assert_eq!(store.get("cf", "b").unwrap(), Some(b"2".to_vec()));
    store.put("cf", "c", "3").unwrap();
    assert_eq!(keys(store.range("cf", ..).unwrap()), ["b", "c"]);
}

#[test]
fn compaction_keeps_newest_and_drops_deleted() {
    let (_fs, dynfs, dir) = sim();
    let store = Store::open_with(&dir, small(dynfs.clone())).unwrap();
    for round in 0..4 {
        for i in 0..200 {
            store
                .put("cf", format!("k{i:04}"), format!("r{round}-{i}"))
                .unwrap();
        }
    }
    for i in (0..200).step_by(2) {
        store.delete("cf", format!("k{i:04}")).unwrap();
    }
    store.compact().unwrap();
    let s = store.stats();
    assert!(s.compactions >= 1, "{s:?}");
    assert_eq!(s.levels[0].files, 0, "{s:?}");
    // One sorted run, no tombstones, one version per key: about 100 live keys.
    let got = rows(store.range("cf", ..).unwrap());
    assert_eq!(got.len(), 100);
    for (k, v) in got {
        let i: usize = std::str::from_utf8(&k[1..]).unwrap().parse().unwrap();
        assert_eq!(i % 2, 1);
        assert_eq!(v, format!("r3-{i}").into_bytes());
    }
    let total_bytes: u64 = s.levels.iter().map(|l| l.bytes).sum();
    assert!(
        total_bytes < 200 * 4 * 20,
        "old versions were not dropped: {total_bytes}"
    );
    assert!(s.write_amplification >= 1.0);
    drop(store);
    let store = Store::open_with(&dir, small(dynfs)).unwrap();
    assert_eq!(rows(store.range("cf", ..).unwrap()).len(), 100);
    assert_eq!(store.get("cf", "k0000").unwrap(), None);
    assert_eq!(store.get("cf", "k0001").unwrap(), Some(b"r3-1".to_vec()));
}

#[test]
fn snapshots_survive_flush_and_compaction() {
    let (_fs, dynfs, dir) = sim();
    let store = Store::open_with(&dir, small(dynfs)).unwrap();
    for i in 0..100 {
        store.put("cf", format!("k{i:03}"), "old").unwrap();
    }
    let snap = store.snapshot();
    for i in 0..100 {
        if i % 3 == 0 {
            store.delete("cf", format!("k{i:03}")).unwrap();
        } else {
            store.put("cf", format!("k{i:03}"), "new").unwrap();
        }
    }
    store.put("cf", "later", "x").unwrap();
    store.flush().unwrap();
    store.compact().unwrap();
    assert_eq!(store.stats().live_snapshots, 1);

    let seen = rows(snap.range("cf", ..).unwrap());
    assert_eq!(seen.len(), 100);
    assert!(seen.iter().all(|(_, v)| v == b"old"));
    assert_eq!(snap.get("cf", "k003").unwrap(), Some(b"old".to_vec()));
    assert_eq!(snap.get("cf", "later").unwrap(), None);

    assert_eq!(store.get("cf", "k003").unwrap(), None);
    assert_eq!(store.get("cf", "k004").unwrap(), Some(b"new".to_vec()));
    assert_eq!(rows(store.range("cf", ..).unwrap()).len(), 100 - 34 + 1);

    drop(snap);
    assert_eq!(store.stats().live_snapshots, 0);
    store.compact().unwrap();
    assert_eq!(rows(store.range("cf", ..).unwrap()).len(), 67);
}

#[test]
fn obsolete_files_are_deleted_only_after_iterators_drop() {
    let (_fs, dynfs, dir) = sim();
    let store = Store::open_with(&dir, small(dynfs.clone()).l0_compaction_trigger(8)).unwrap();
    for i in 0..300 {
        store.put("cf", format!("k{i:04}"), "v".repeat(20)).unwrap();
    }
    store.flush().unwrap();
    let before = sst_count(dynfs.as_ref(), &dir);
    assert!(before >= 1);
    let mut it = store.range("cf", ..).unwrap();
    let first = it.next().unwrap().unwrap();
    assert_eq!(first.0, b"k0000");

    store.compact().unwrap();
    // The iterator pins the old tables: they are still there, and it reads on.
    assert!(
        sst_count(dynfs.as_ref(), &dir)
            > store.stats().levels.iter().map(|l| l.files).sum::<usize>()
    );
    let rest: Rows = it.by_ref().collect::<tidestore::Result<_>>().unwrap();
    assert_eq!(rest.len(), 299);
    drop(it);
    let live: usize = store.stats().levels.iter().map(|l| l.files).sum();
    assert_eq!(sst_count(dynfs.as_ref(), &dir), live);
}

#[test]
fn sync_always_writes_survive_a_power_cut() {
    let (fs, dynfs, dir) = sim();
    {
        let store = Store::open_with(&dir, small(dynfs.clone())).unwrap();
        for i in 0..400 {
            store
                .put("cf", format!("k{i:04}"), format!("v{i}"))
                .unwrap();
        }
        store.delete("cf", "k0007").unwrap();
        fs.crash();
        // The handle is dead; dropping it must not panic.
    }
    let store = Store::open_with(&dir, small(dynfs)).unwrap();
    let got = rows(store.range("cf", ..).unwrap());
    assert_eq!(got.len(), 399);
    assert_eq!(store.get("cf", "k0007").unwrap(), None);
    assert_eq!(store.get("cf", "k0399").unwrap(), Some(b"v399".to_vec()));
}

#[test]
fn every_crash_point_recovers_acknowledged_writes() {
    // Fail the file system at every operation of a short workload, power-cut, and
    // check that every acknowledged write (SyncMode::Always) is there after reopening.
    for k in (0..900).step_by(9) {
        let (fs, dynfs, dir) = sim();
        let mut acked = Vec::new();
        {
            let Ok(store) = Store::open_with(&dir, small(dynfs.clone())) else {
                continue;
            };
            fs.fail_after(k);
            for i in 0..300 {
                let key = format!("k{i:04}");
                if store.put("cf", &key, "x".repeat(30)).is_ok() {
                    acked.push(key);
                } else {
                    break;
                }
            }
            fs.crash();
        }
        fs.clear_faults();
        let store = Store::open_with(&dir, small(dynfs.clone())).unwrap();
        for key in &acked {
            assert!(store.get("cf", key).unwrap().is_some(), "k={k}: lost {key}");
        }
        // Whatever the crash left half-done was cleaned up at open.
        let live: usize = store.stats().levels.iter().map(|l| l.files).sum();
        assert_eq!(
            sst_count(dynfs.as_ref(), &dir),
            live,
            "k={k}: orphan tables"
        );
        assert!(
            !dynfs
                .list(&dir)
                .unwrap()
                .iter()
                .any(|n| n.ends_with(".tmp")),
            "k={k}: temporaries left"
        );
    }
}

#[test]
fn an_io_failure_poisons_writes_but_not_reads() {
    let (fs, dynfs, dir) = sim();
    let store = Store::open_with(&dir, small(dynfs.clone())).unwrap();
    store.put("cf", "a", "1").unwrap();
    fs.fail_after(0);
    assert!(store.put("cf", "b", "2").is_err());
    fs.clear_faults();
    assert!(matches!(store.put("cf", "c", "3"), Err(Error::Poisoned(_))));
    assert!(matches!(store.flush(), Err(Error::Poisoned(_))));
    assert_eq!(store.get("cf", "a").unwrap(), Some(b"1".to_vec()));
    assert!(store.close().is_err());
    let store = Store::open_with(&dir, small(dynfs)).unwrap();
    assert_eq!(store.get("cf", "a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(store.get("cf", "c").unwrap(), None);
    store.put("cf", "d", "4").unwrap();
}

#[test]
fn background_threads_flush_and_compact() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options::default()
        .memtable_bytes(4096)
        .target_file_bytes(4096)
        .level1_bytes(16 * 1024)
        .l0_compaction_trigger(2);
    let store = Arc::new(Store::open_with(dir.path(), opts).unwrap());
    let threads: Vec<_> = (0..3)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..300 {
                    store
                        .put(&format!("cf{t}"), format!("k{i:05}"), format!("{t}-{i}"))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    store.flush().unwrap();
    store.compact().unwrap();
    for t in 0..3 {
        let got = rows(store.range(&format!("cf{t}"), ..).unwrap());
        assert_eq!(got.len(), 300);
        assert_eq!(got[299].1, format!("{t}-299").into_bytes());
    }
    let s = store.stats();
    assert!(s.flushes >= 2, "{s:?}");
    assert!(s.writes >= 1);
    Arc::try_unwrap(store).unwrap().close().unwrap();
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Store>();
    send_sync::<tidestore::kv::Snapshot<'static>>();
    send::<tidestore::kv::RangeIter>();
}

#[test]
fn flushed_wal_segments_are_deleted() {
    let (_fs, dynfs, dir) = sim();
    let store = Store::open_with(&dir, small(dynfs.clone())).unwrap();
    for i in 0..1000 {
        store.put("cf", format!("k{i:05}"), "x".repeat(40)).unwrap();
    }
    store.flush().unwrap();
    assert!(store.stats().flushes >= 5);
    let wals = dynfs
        .list(&dir)
        .unwrap()
        .into_iter()
        .filter(|n| n.ends_with(".wal"))
        .count();
    assert_eq!(wals, 1, "only the live segment remains");
}

#[test]
fn manifest_rewrites_keep_the_state() {
    let (_fs, dynfs, dir) = sim();
    let opts = || small(dynfs.clone()).manifest_rewrite_bytes(512);
    {
        let store = Store::open_with(&dir, opts()).unwrap();
        for i in 0..600 {
            store
                .put(&format!("cf{}", i % 7), format!("k{i:05}"), "y".repeat(30))
                .unwrap();
            if i % 100 == 99 {
                let j = i - 4;
                store
                    .delete(&format!("cf{}", j % 7), format!("k{j:05}"))
                    .unwrap();
            }
        }
        store.compact().unwrap();
        store.put("cf0", "tail", "t").unwrap();
        store.flush().unwrap();
    }
    let manifests = dynfs
        .list(&dir)
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with("MANIFEST"))
        .count();
    assert_eq!(manifests, 1);
    let store = Store::open_with(&dir, opts()).unwrap();
    assert_eq!(store.list_column_families().len(), 7);
    let total: usize = (0..7)
        .map(|c| rows(store.range(&format!("cf{c}"), ..).unwrap()).len())
        .sum();
    assert_eq!(total, 600 - 6 + 1);
    assert_eq!(store.get("cf0", "tail").unwrap(), Some(b"t".to_vec()));
}

fn rewrite_file(fs: &dyn FileSystem, path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = fs.read(path).unwrap();
    f(&mut bytes);
    let mut w = fs.create(path).unwrap();
    w.write_all(&bytes).unwrap();
    w.sync().unwrap();
}

#[test]
fn a_damaged_or_missing_table_is_reported_by_name() {
    let (_fs, dynfs, dir) = sim();
    {
        let store = Store::open_with(&dir, small(dynfs.clone())).unwrap();
        for i in 0..50 {
            store.put("cf", format!("k{i}"), "v").unwrap();
        }
        store.flush().unwrap();
    }
    let table = dynfs
        .list(&dir)
        .unwrap()
        .into_iter()
        .find(|n| n.ends_with(".sst"))
        .unwrap();
    let path = dir.join(&table);
    let original = dynfs.read(&path).unwrap();
    rewrite_file(dynfs.as_ref(), &path, |b| {
        let last = b.len() - 1;
        b[last] ^= 0x55;
    });
    match Store::open_with(&dir, small(dynfs.clone())) {
        Err(Error::Corruption { file, .. }) => assert_eq!(file, path),
        other => panic!("expected corruption, got {other:?}"),
    }
    dynfs.remove_file(&path).unwrap();
    match Store::open_with(&dir, small(dynfs.clone())) {
        Err(Error::Corruption { file, .. }) => assert_eq!(file, path),
        other => panic!("expected corruption, got {other:?}"),
    }
    let mut w = dynfs.create(&path).unwrap();
    w.write_all(&original).unwrap();
    w.sync().unwrap();
    dynfs.sync_dir(&dir).unwrap();
    let store = Store::open_with(&dir, small(dynfs)).unwrap();
    assert_eq!(rows(store.range("cf", ..).unwrap()).len(), 50);
}

#[test]
fn readers_see_consistent_views_while_writers_flush_and_compact() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options::default()
        .sync_mode(SyncMode::Os)
        .memtable_bytes(4096)
        .target_file_bytes(4096)
        .level1_bytes(16 * 1024)
        .l0_compaction_trigger(2)
        .max_frozen_memtables(1)
        .l0_stall_trigger(4);
    let store = Arc::new(Store::open_with(dir.path(), opts).unwrap());
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            // Every round rewrites all keys with the round number, in one batch.
            for round in 0..40u32 {
                let mut batch = WriteBatch::new();
                for k in 0..50 {
                    batch.put("cf", format!("k{k:03}"), round.to_be_bytes());
                }
                store.write(batch).unwrap();
            }
        })
    };
    let mut last_round = 0;
    while !writer.is_finished() {
        let got = rows(store.range("cf", ..).unwrap());
        if got.is_empty() {
            continue;
        }
        assert_eq!(got.len(), 50);
        let round = &got[0].1;
        assert!(
            got.iter().all(|(_, v)| v == round),
            "a batch was seen half-applied"
        );
        let round = u32::from_be_bytes(round.as_slice().try_into().unwrap());
        assert!(round >= last_round, "time went backwards");
        last_round = round;
    }
    writer.join().unwrap();
    store.compact().unwrap();
    let got = rows(store.range("cf", ..).unwrap());
    assert!(got.iter().all(|(_, v)| v.as_slice() == 39u32.to_be_bytes()));
}

#[test]
fn a_torn_wal_tail_is_dropped_and_counted() {
    let (_fs, dynfs, dir) = sim();
    {
        let store = Store::open_with(&dir, small(dynfs.clone()).memtable_bytes(1 << 20)).unwrap();
        for i in 0..20 {
            store.put("cf", format!("k{i:02}"), "v").unwrap();
        }
    }
    let wal = dynfs
        .list(&dir)
        .unwrap()
        .into_iter()
        .filter(|n| n.ends_with(".wal"))
        .max()
        .unwrap();
    // Half a record header: what a crash in the middle of an append leaves.
    rewrite_file(dynfs.as_ref(), &dir.join(wal), |b| {
        b.extend_from_slice(&[0x12, 0x34, 0x56, 0x78, 0x09])
    });
    let store = Store::open_with(&dir, small(dynfs)).unwrap();
    let s = store.stats();
    assert_eq!(s.wal_torn_tails, 1);
    assert_eq!(s.wal_dropped_bytes, 5);
    assert_eq!(rows(store.range("cf", ..).unwrap()).len(), 20);
}

#[test]
fn a_batch_too_large_for_one_wal_record_is_rejected_before_anything() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut batch = WriteBatch::new();
    let big = vec![0u8; 40 << 20];
    batch.put("new-cf", "a", &big);
    batch.put("new-cf", "b", &big);
    assert!(matches!(store.write(batch), Err(Error::InvalidArgument(_))));
    assert!(store.list_column_families().is_empty());
    store.put("new-cf", "a", &big).unwrap();
    assert_eq!(
        store.get("new-cf", "a").unwrap().map(|v| v.len()),
        Some(40 << 20)
    );
}

mod model {
    //! A small model check: random operations against a `BTreeMap`, with flushes,
    //! compactions, reopen and power cuts (`SyncMode::Always`, so nothing
    //! acknowledged may be lost).

    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    enum Op {
        Put(u8, u8, u8),
        Delete(u8, u8),
        Batch(Vec<(u8, u8, Option<u8>)>),
        Get(u8, u8),
        Range(u8, u8, u8),
        Flush,
        Compact,
        Reopen,
        Crash,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => (0..3u8, 0..40u8, 0..40u8).prop_map(|(c, k, v)| Op::Put(c, k, v)),
            3 => (0..3u8, 0..40u8).prop_map(|(c, k)| Op::Delete(c, k)),
            2 => proptest::collection::vec((0..3u8, 0..40u8, proptest::option::of(0..40u8)), 1..8)
                .prop_map(Op::Batch),
            3 => (0..3u8, 0..40u8).prop_map(|(c, k)| Op::Get(c, k)),
            2 => (0..3u8, 0..40u8, 0..40u8).prop_map(|(c, a, b)| Op::Range(c, a.min(b), a.max(b))),
            1 => Just(Op::Flush),
            1 => Just(Op::Compact),
            1 => Just(Op::Reopen),
            1 => Just(Op::Crash),
        ]
    }

    type Model = BTreeMap<(String, Vec<u8>), Vec<u8>>;

    fn key(k: u8) -> Vec<u8> {
        format!("key{k:03}").into_bytes()
    }

    fn value(v: u8) -> Vec<u8> {
        // Incompressible values of up to ~600 bytes, so that small memtables flush often
        // and data reaches levels below L1.
        let mut x = u64::from(v).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..usize::from(v % 8) * 80 + 1)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn model_range(m: &Model, cf: &str, lo: &[u8], hi: &[u8]) -> Rows {
        m.iter()
            .filter(|((c, k), _)| c == cf && k.as_slice() >= lo && k.as_slice() <= hi)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    }

    fn opts(fs: &Arc<dyn FileSystem>) -> Options {
        small(fs.clone())
            .memtable_bytes(4096)
            .level1_bytes(4096)
            .level_size_multiplier(2)
            .l0_compaction_trigger(3)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn store_matches_a_btreemap(ops in proptest::collection::vec(op(), 1..250)) {
            let (fs, dynfs, dir) = sim();
            let mut store = Some(Store::open_with(&dir, opts(&dynfs)).unwrap());
            let mut model = Model::new();
            for op in ops {
                let s = store.as_ref().unwrap();
                match op {
                    Op::Put(c, k, v) => {
                        s.put(&format!("cf{c}"), key(k), value(v)).unwrap();
                        model.insert((format!("cf{c}"), key(k)), value(v));
                    }
                    Op::Delete(c, k) => {
                        s.delete(&format!("cf{c}"), key(k)).unwrap();
                        model.remove(&(format!("cf{c}"), key(k)));
                    }
                    Op::Batch(items) => {
                        let mut b = WriteBatch::new();
                        for (c, k, v) in &items {
                            match v {
                                Some(v) => { b.put(&format!("cf{c}"), key(*k), value(*v)); }
                                None => { b.delete(&format!("cf{c}"), key(*k)); }
                            }
                        }
                        s.write(b).unwrap();
                        for (c, k, v) in items {
                            match v {
                                Some(v) => { model.insert((format!("cf{c}"), key(k)), value(v)); }
                                None => { model.remove(&(format!("cf{c}"), key(k))); }
                            }
                        }
                    }
                    Op::Get(c, k) => {
                        let got = s.get(&format!("cf{c}"), key(k)).unwrap();
                        prop_assert_eq!(got.as_ref(), model.get(&(format!("cf{c}"), key(k))));
                    }
                    Op::Range(c, a, b) => {
                        let cf = format!("cf{c}");
                        let got = rows(s.range(&cf, key(a)..=key(b)).unwrap());
                        prop_assert_eq!(got, model_range(&model, &cf, &key(a), &key(b)));
                    }
                    Op::Flush => s.flush().unwrap(),
                    Op::Compact => s.compact().unwrap(),
                    Op::Reopen => {
                        drop(store.take());
                        store = Some(Store::open_with(&dir, opts(&dynfs)).unwrap());
                    }
                    Op::Crash => {
                        fs.crash();
                        drop(store.take());
                        store = Some(Store::open_with(&dir, opts(&dynfs)).unwrap());
                    }
                }
            }
            let s = store.as_ref().unwrap();
            for c in 0..3u8 {
                let cf = format!("cf{c}");
                prop_assert_eq!(rows(s.range(&cf, ..).unwrap()), model_range(&model, &cf, b"", b"\xff"));
            }
        }

        #[test]
        fn snapshots_see_a_frozen_view(
            before in proptest::collection::vec((any::<u8>(), any::<u8>()), 1..60),
            after in proptest::collection::vec((any::<u8>(), proptest::option::of(any::<u8>())), 1..60),
            flush_mid in any::<bool>(),
        ) {
            let (_fs, dynfs, dir) = sim();
            let store = Store::open_with(&dir, opts(&dynfs)).unwrap();
            let mut model = Model::new();
            for (k, v) in before {
                store.put("cf", key(k), value(v)).unwrap();
                model.insert(("cf".into(), key(k)), value(v));
            }
            let snap = store.snapshot();
            let frozen = model.clone();
            for (i, (k, v)) in after.into_iter().enumerate() {
                match v {
                    Some(v) => store.put("cf", key(k), value(v)).unwrap(),
                    None => store.delete("cf", key(k)).unwrap(),
                }
                if flush_mid && i % 10 == 0 {
                    store.flush().unwrap();
                }
            }
            store.compact().unwrap();
            prop_assert_eq!(rows(snap.range("cf", ..).unwrap()), model_range(&frozen, "cf", b"", b"\xff"));
            for k in 0..=255u8 {
                let got = snap.get("cf", key(k)).unwrap();
                prop_assert_eq!(got.as_ref(), frozen.get(&("cf".to_string(), key(k))));
            }
        }
    }
}

#[test]
fn reads_prefer_the_newest_level0_file() {
    let (_fs, dynfs, dir) = sim();
    let store = Store::open_with(&dir, small(dynfs).l0_compaction_trigger(4)).unwrap();
    for round in 0..3 {
        store.put("cf", "k", format!("v{round}")).unwrap();
        store.put("cf", format!("only{round}"), "x").unwrap();
        store.flush().unwrap();
    }
    assert_eq!(store.stats().levels[0].files, 3);
    assert_eq!(store.get("cf", "k").unwrap(), Some(b"v2".to_vec()));
    let snap = store.snapshot();
    store.delete("cf", "k").unwrap();
    store.flush().unwrap();
    assert_eq!(store.get("cf", "k").unwrap(), None);
    assert_eq!(snap.get("cf", "k").unwrap(), Some(b"v2".to_vec()));
}

#[test]
fn invalid_options_are_refused_and_absurd_file_numbers_ignored() {
    let (_fs, dynfs, dir) = sim();
    let bad = [
        small(dynfs.clone()).memtable_bytes(1),
        small(dynfs.clone()).l0_compaction_trigger(0),
        small(dynfs.clone()).l0_stall_trigger(1),
        small(dynfs.clone()).max_subcompactions(0),
        small(dynfs.clone()).level_size_multiplier(1),
    ];
    for opts in bad {
        assert!(matches!(
            Store::open_with(&dir, opts),
            Err(Error::InvalidArgument(_))
        ));
    }
    // A foreign file with a number the store never hands out must not wrap the file
    // counter: it is not the store's, so it is ignored and left alone.
    dynfs.create_dir_all(&dir).unwrap();
    let stray = dir.join("9000000000000000000.sst");
    let mut w = dynfs.create(&stray).unwrap();
    w.write_all(b"junk").unwrap();
    w.sync().unwrap();
    drop(w);
    let store = Store::open_with(&dir, small(dynfs.clone())).unwrap();
    store.put("cf", "k", "v").unwrap();
    store.compact().unwrap();
    store.close().unwrap();
    assert_eq!(dynfs.read(&stray).unwrap(), b"junk");
}

#[test]
fn a_crash_during_recovery_loses_nothing() {
    // Data only in the WAL; the open below replays it, flushes it, writes MANIFEST
    // edits and deletes old segments. Fail each of those steps in turn, cut the power,
    // and check that the next open still finds everything.
    let mut reached_the_end = false;
    for k in 0..200 {
        let (fs, dynfs, dir) = sim();
        {
            let store =
                Store::open_with(&dir, small(dynfs.clone()).memtable_bytes(1 << 20)).unwrap();
            for i in 0..200 {
                store.put("cf", format!("k{i:04}"), "z".repeat(50)).unwrap();
            }
            store.delete("cf", "k0000").unwrap();
            fs.crash();
        }
        fs.fail_after(k);
        reached_the_end |= Store::open_with(&dir, small(dynfs.clone())).is_ok();
        fs.crash();
        fs.clear_faults();
        let store = Store::open_with(&dir, small(dynfs.clone())).unwrap();
        assert_eq!(rows(store.range("cf", ..).unwrap()).len(), 199, "k={k}");
        assert_eq!(store.get("cf", "k0000").unwrap(), None, "k={k}");
    }
    assert!(reached_the_end, "some open must get through every step");
}

/// A `ColumnFamily` handle reads and writes the same data as the `Store` methods with
/// the family's name, in both directions, across flushes, compactions and a reopen;
/// making one creates the family durably; other families are untouched.
#[test]
fn column_family_handle_agrees_with_store_by_name() {
    let (_fs, dynfs, dir) = sim();
    {
        let store = Store::open_with(&dir, small(dynfs.clone())).unwrap();
        assert!(store.cf("").is_err());
        assert!(store.cf(&"x".repeat(300)).is_err());
        let users = store.cf("users").unwrap();
        assert_eq!(users.name(), "users");
        assert_eq!(store.list_column_families(), vec!["users".to_string()]);
        let other = store.cf("other").unwrap();
        for i in 0..200u32 {
            let k = format!("k{i:04}");
            if i % 2 == 0 {
                users.put(&k, format!("h{i}")).unwrap();
            } else {
                store.put("users", &k, format!("s{i}")).unwrap();
            }
            other.put(&k, "other").unwrap();
        }
        for i in (0..200u32).step_by(3) {
            users.delete(format!("k{i:04}")).unwrap();
        }
        store.flush().unwrap();
        users.put("k0001", "after flush").unwrap();
        let by_name = rows(store.range("users", ..).unwrap());
        let by_handle = rows(users.range(..).unwrap());
        assert_eq!(by_name, by_handle);
        assert_eq!(by_handle.len(), 200 - 67);
        assert_eq!(users.get("k0001").unwrap(), Some(b"after flush".to_vec()));
        assert_eq!(store.get("users", "k0002").unwrap(), Some(b"h2".to_vec()));
        assert_eq!(users.get("k0003").unwrap(), None);
        assert_eq!(users.get("k0005").unwrap(), Some(b"s5".to_vec()));
        assert_eq!(
            keys(users.range("k0010".."k0015").unwrap()),
            vec!["k0010", "k0011", "k0013", "k0014"]
        );
        assert!(users.get(vec![0u8; 70_000]).is_err());
        let copy = users.clone();
        store.compact().unwrap();
        assert_eq!(rows(copy.range(..).unwrap()), by_handle);
        assert_eq!(rows(other.range(..).unwrap()).len(), 200);
    }
    let store = Store::open_with(&dir, small(dynfs)).unwrap();
    assert_eq!(
        store.list_column_families(),
        vec!["other".to_string(), "users".to_string()]
    );
    let users = store.cf("users").unwrap();
    assert_eq!(users.get("k0001").unwrap(), Some(b"after flush".to_vec()));
    assert_eq!(rows(users.range(..).unwrap()).len(), 200 - 67);
}
