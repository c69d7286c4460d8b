//! Damaged files under a real `kv::Store` directory: bytes flipped in an SSTable (header,
//! data block, filter, key-range block, index, footer), a WAL segment (middle and
//! tail), the MANIFEST and CURRENT, and truncated copies of each.
//!
//! Every case must end in one of two ways, never in a panic or in wrong data (every
//! value read is compared with what was written):
//! - a clear `Error::Corruption` naming the damaged file, from `open`, `get` or a range
//!   scan (for the SSTable every byte is checksummed, so the damage must be *found*);
//! - the documented recovery: the WAL's damaged tail is dropped and counted in
//!   `Stats::wal_torn_tails` / `wal_dropped_bytes`, leaving a prefix of the writes.

mod support_kv;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tidestore::Error;
use tidestore::kv::{Options, Store, SyncMode};

const CF: &str = "t";
type Map = BTreeMap<Vec<u8>, Vec<u8>>;

fn opts() -> Options {
    Options::default()
        .sync_mode(SyncMode::Always)
        .background_work(false)
}

fn kv(i: usize) -> (Vec<u8>, Vec<u8>) {
    let k = format!("key{i:06}").into_bytes();
    let mut v = format!("value-{i}-").into_bytes();
    v.resize(40 + i % 60, b'0' + (i % 10) as u8);
    (k, v)
}

/// A store whose data is in tables only: 3000 keys written, flushed and compacted
/// (one compressed multi-block table), then a few more flushed into L0.
fn build_tables(dir: &Path) -> Map {
    let store = Store::open_with(dir, opts()).unwrap();
    let mut map = Map::new();
    for i in 0..3000 {
        let (k, v) = kv(i);
        store.put(CF, &k, &v).unwrap();
        map.insert(k, v);
    }
    store.compact().unwrap();
    for i in (0..3000).step_by(97) {
        let (k, _) = kv(i);
        store.delete(CF, &k).unwrap();
        map.remove(&k);
    }
    store.flush().unwrap();
    store.close().unwrap();
    map
}

/// A store whose data is only in its WAL: 500 puts, never flushed. Returns them in
/// write order.
fn build_wal(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let store = Store::open_with(dir, opts()).unwrap();
    let writes: Vec<_> = (0..500).map(kv).collect();
    for (k, v) in &writes {
        store.put(CF, k, v).unwrap();
    }
    store.close().unwrap();
    writes
}

/// Copies every file of `from` into a new temporary directory.
fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.path().join(e.file_name())).unwrap();
    }
    to
}

fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

fn file_starting(dir: &Path, prefix: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .unwrap()
}

/// The largest file with `suffix`.
fn largest(dir: &Path, suffix: &str) -> PathBuf {
    files_ending(dir, suffix)
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap()
}

fn flip(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

fn truncate(path: &Path, len: u64) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(len).unwrap();
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// Asserts `e` is a corruption error naming `file` (any file of the store if `None`).
fn assert_corruption(e: &Error, file: Option<&Path>, case: &str) {
    match e {
        Error::Corruption { file: named, .. } => {
            if let Some(file) = file {
                assert_eq!(
                    named.file_name(),
                    file.file_name(),
                    "{case}: the error names the wrong file: {e}"
                );
            }
        }
        other => panic!("{case}: expected Error::Corruption, got {other:?}"),
    }
}

/// Opens the damaged store and reads everything (a full scan and a get of every key
/// ever written). Every value read must be the one written; every error must be a
/// corruption naming `file`. Returns whether damage was reported.
fn read_all(
    dir: &Path,
    expected: &Map,
    all_keys: &[Vec<u8>],
    file: Option<&Path>,
    case: &str,
) -> bool {
    let store = match Store::open_with(dir, opts()) {
        Ok(s) => s,
        Err(e) => {
            assert_corruption(&e, file, case);
            return true;
        }
    };
    let mut detected = false;
    let mut scanned = Vec::new();
    match store.range(CF, ..) {
        Err(e) => {
            assert_corruption(&e, file, case);
            detected = true;
        }
        Ok(it) => {
            for row in it {
                match row {
                    Ok(r) => scanned.push(r),
                    Err(e) => {
                        assert_corruption(&e, file, case);
                        detected = true;
                        break;
                    }
                }
            }
        }
    }
    if detected {
        // What came before the error must still be right (and in order).
        for (k, v) in &scanned {
            assert_eq!(expected.get(k), Some(v), "{case}: scan returned wrong data");
        }
    } else {
        let want: Vec<_> = expected
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert!(
            scanned == want,
            "{case}: an error-free scan returned wrong data: {} rows, {} written; files {:?}",
            scanned.len(),
            want.len(),
            std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect::<Vec<_>>()
        );
    }
    for k in all_keys {
        match store.get(CF, k) {
            Ok(got) => assert_eq!(got.as_ref(), expected.get(k), "{case}: get({k:?})"),
            Err(e) => {
                assert_corruption(&e, file, case);
                detected = true;
            }
        }
    }
    detected
}

fn all_keys() -> Vec<Vec<u8>> {
    (0..3000).map(|i| kv(i).0).collect()
}

/// The footer's block handles: (filter, key-range, index) as (offset, size).
fn handles(path: &Path) -> [(u64, u64); 3] {
    let bytes = std::fs::read(path).unwrap();
    let f = &bytes[bytes.len() - 96..];
    let u = |i: usize| u64::from_le_bytes(f[i * 8..i * 8 + 8].try_into().unwrap());
    [(u(0), u(1)), (u(2), u(3)), (u(4), u(5))]
}

#[test]
fn damaged_sstable_is_reported_never_misread() {
    let template = tempfile::tempdir().unwrap();
    let expected = build_tables(template.path());
    let keys = all_keys();
    let table = largest(template.path(), ".sst");
    let name = table.file_name().unwrap().to_owned();
    let size = len(&table);
    let [(filter, filter_len), (range, range_len), (index, index_len)] = handles(&table);
    assert!(
        filter > 16 + 4096,
        "want a multi-block table, data ends at {filter}"
    );
    let cases: Vec<(&str, u64)> = vec![
        ("header magic", 2),
        ("header version", 9),
        ("first data block", 16 + 20),
        ("a middle data block", filter / 2),
        ("last data block trailer crc", filter - 2),
        ("filter bits", filter + filter_len / 2),
        ("filter probe count", filter + filter_len - 1),
        ("key-range block", range + range_len / 2),
        ("index block", index + index_len / 2),
        ("index trailer", index + index_len + 1),
        ("footer handles", size - 96 + 3),
        ("footer counts", size - 96 + 50),
        ("footer crc", size - 96 + 85),
        ("footer magic", size - 2),
    ];
    for (what, offset) in cases {
        let dir = copy_dir(template.path());
        let damaged = dir.path().join(&name);
        flip(&damaged, offset);
        let case = format!("sstable {what} (byte {offset})");
        assert!(
            read_all(dir.path(), &expected, &keys, Some(&damaged), &case),
            "{case}: damage went unnoticed"
        );
    }
    for cut in [0, 10, 16 + 96, size / 2, size - 96, size - 1] {
        let dir = copy_dir(template.path());
        let damaged = dir.path().join(&name);
        truncate(&damaged, cut);
        let case = format!("sstable truncated to {cut} bytes");
        assert!(
            read_all(dir.path(), &expected, &keys, Some(&damaged), &case),
            "{case}: damage went unnoticed"
        );
    }
    // The undamaged copy reads back exactly.
    let dir = copy_dir(template.path());
    assert!(!read_all(dir.path(), &expected, &keys, None, "pristine"));
}

/// Opens a store whose WAL was damaged and checks it holds exactly the first `p` of
/// `writes` for some `p` (returned), with the loss counted in its stats.
fn recovered_prefix(dir: &Path, writes: &[(Vec<u8>, Vec<u8>)], case: &str) -> usize {
    let store = Store::open_with(dir, opts()).unwrap_or_else(|e| panic!("{case}: {e}"));
    let rows = support_kv::collect(store.range(CF, ..).unwrap()).unwrap();
    let p = rows.len();
    let want: Vec<_> = writes[..p.min(writes.len())].to_vec();
    assert_eq!(rows, want, "{case}: not a prefix of the writes");
    let stats = store.stats();
    if p < writes.len() {
        assert!(
            stats.wal_dropped_bytes > 0,
            "{case}: loss not counted: {stats:?}"
        );
    }
    p
}

#[test]
fn damaged_wal_drops_its_tail_and_counts_it() {
    let template = tempfile::tempdir().unwrap();
    let writes = build_wal(template.path());
    let wal = largest(template.path(), ".wal");
    let name = wal.file_name().unwrap().to_owned();
    let size = len(&wal);
    assert!(size > 500 * 40, "the writes are in the WAL ({size} bytes)");

    // Middle: the damaged record and everything after it are dropped.
    let dir = copy_dir(template.path());
    flip(&dir.path().join(&name), size / 2);
    let p = recovered_prefix(dir.path(), &writes, "WAL middle flip");
    assert!(p > 100 && p < 400, "WAL middle flip kept {p} writes");

    // Tail: the last record's checksum no longer matches: only it is dropped.
    let dir = copy_dir(template.path());
    flip(&dir.path().join(&name), size - 1);
    let p = recovered_prefix(dir.path(), &writes, "WAL last byte flip");
    assert_eq!(p, writes.len() - 1);

    // Truncated: a torn last record, counted as a torn tail.
    for cut in [1, 7, 30] {
        let dir = copy_dir(template.path());
        truncate(&dir.path().join(&name), size - cut);
        let case = format!("WAL truncated by {cut} bytes");
        assert_eq!(
            recovered_prefix(dir.path(), &writes, &case),
            writes.len() - 1
        );
        let store = Store::open_with(dir.path(), opts()).unwrap();
        drop(store);
    }
    let dir = copy_dir(template.path());
    let seg = dir.path().join(&name);
    truncate(&seg, size - 7);
    let store = Store::open_with(dir.path(), opts()).unwrap();
    let stats = store.stats();
    assert_eq!(stats.wal_torn_tails, 1, "{stats:?}");
    assert!(stats.wal_dropped_bytes > 0);
    drop(store);

    // Cut to half: a prefix survives.
    let dir = copy_dir(template.path());
    truncate(&dir.path().join(&name), size / 2);
    let p = recovered_prefix(dir.path(), &writes, "WAL truncated to half");
    assert!(p > 100 && p < 400, "kept {p}");

    // A damaged segment header is corruption naming the segment.
    let dir = copy_dir(template.path());
    let seg = dir.path().join(&name);
    flip(&seg, 12);
    match Store::open_with(dir.path(), opts()) {
        Err(e) => assert_corruption(&e, Some(&seg), "WAL header flip"),
        Ok(store) => {
            // Documented alternative: a header torn like a crash leaves it.
            assert!(store.stats().wal_dropped_bytes > 0 || store.stats().wal_torn_tails > 0);
        }
    }
}

#[test]
fn damaged_manifest_and_current_are_reported() {
    let template = tempfile::tempdir().unwrap();
    let expected = build_tables(template.path());
    let keys = all_keys();
    let manifest = file_starting(template.path(), "MANIFEST-");
    let name = manifest.file_name().unwrap().to_owned();
    let size = len(&manifest);
    // Header and records followed by more records: corruption naming the MANIFEST.
    for offset in [3, 15, 29 + 4, size / 3, size / 2] {
        let dir = copy_dir(template.path());
        let damaged = dir.path().join(&name);
        flip(&damaged, offset);
        let case = format!("MANIFEST flip at {offset} of {size}");
        assert!(
            read_all(dir.path(), &expected, &keys, Some(&damaged), &case),
            "{case}: damage went unnoticed"
        );
    }
    // The last record or a truncation: a damaged final edit reads like a torn one
    // (ignored by design) and a truncated file like an older one; the store must
    // notice that the directory holds a newer state (its WAL segment is gone, or its
    // tables exist) rather than silently read the older one.
    let damaged_last = {
        let dir = copy_dir(template.path());
        flip(&dir.path().join(&name), size - 1);
        read_all(dir.path(), &expected, &keys, None, "MANIFEST last byte")
    };
    assert!(
        damaged_last,
        "a damaged final MANIFEST record went unnoticed"
    );
    for cut in [0, 10, 29, size / 2, size - 1] {
        let dir = copy_dir(template.path());
        truncate(&dir.path().join(&name), cut);
        let case = format!("MANIFEST truncated to {cut} of {size}");
        assert!(
            read_all(dir.path(), &expected, &keys, None, &case),
            "{case}: damage went unnoticed"
        );
    }
    // CURRENT.
    let current_len = len(&template.path().join("CURRENT"));
    for offset in [0, 5, current_len - 2, current_len - 1] {
        let dir = copy_dir(template.path());
        let current = dir.path().join("CURRENT");
        flip(&current, offset);
        let case = format!("CURRENT flip at {offset}");
        let e = Store::open_with(dir.path(), opts()).expect_err(&case);
        assert_corruption(&e, None, &case);
    }
    for cut in [0, 3, current_len - 1] {
        let dir = copy_dir(template.path());
        truncate(&dir.path().join("CURRENT"), cut);
        let case = format!("CURRENT truncated to {cut}");
        let e = Store::open_with(dir.path(), opts()).expect_err(&case);
        assert_corruption(&e, None, &case);
    }
    // A missing CURRENT next to a MANIFEST holding edits: corruption, not a new store.
    let dir = copy_dir(template.path());
    std::fs::remove_file(dir.path().join("CURRENT")).unwrap();
    let e = Store::open_with(dir.path(), opts()).expect_err("CURRENT removed");
    assert_corruption(&e, Some(&dir.path().join(&name)), "CURRENT removed");
}
