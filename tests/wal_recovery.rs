//! WAL recovery modes, on real WAL segments of both engines: a byte flipped in the
//! middle of the last segment (a damaged record followed by good ones) versus at its
//! tail (a torn last record), under `WalRecovery::TolerateTornTail` (the default:
//! recover the prefix, report the damage in `Stats` and through the hook) and
//! `WalRecovery::Strict` (damage is `Error::Corruption` naming the segment and offset;
//! a torn tail is still cut).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tidestore::io::wal::{SyncMode, WalDamage, WalRecovery};
use tidestore::{Db, Error, kv, ts};

/// Records written, one per write.
const RECORDS: usize = 10;
/// The record damaged "in the middle" (0-based): records before it survive.
const MIDDLE: usize = 4;

/// The last (highest-numbered) WAL segment of `dir`.
fn last_segment(dir: &Path) -> PathBuf {
    let mut wal: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    wal.sort();
    wal.pop().expect("a WAL segment")
}

/// `(offset, length)` of every record of a log file after its header record
/// (framing: crc u32, len u32, type u8, body).
fn records(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 9 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        out.push((pos, 9 + len));
        pos += 9 + len;
    }
    assert_eq!(pos, bytes.len(), "whole records");
    out.remove(0);
    out
}

/// Where the damage goes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Spot {
    /// A payload byte of record [`MIDDLE`]: good records follow.
    Middle,
    /// A payload byte of the last record: nothing follows.
    Tail,
    /// The last record cut in half.
    Truncated,
}

/// Damages the last WAL segment of `dir` at `spot`; returns the segment and the
/// offset of the damaged record.
fn damage(dir: &Path, spot: Spot) -> (PathBuf, u64) {
    let path = last_segment(dir);
    let mut bytes = std::fs::read(&path).unwrap();
    let recs = records(&bytes);
    assert_eq!(recs.len(), RECORDS, "one record per write");
    let (at, len) = match spot {
        Spot::Middle => recs[MIDDLE],
        Spot::Tail | Spot::Truncated => recs[RECORDS - 1],
    };
    if spot == Spot::Truncated {
        bytes.truncate(at + len / 2);
    } else {
        bytes[at + len - 1] ^= 0x40;
    }
    std::fs::write(&path, &bytes).unwrap();
    (path, at as u64)
}

/// What survives each kind of damage in the default mode.
fn survivors(spot: Spot) -> usize {
    match spot {
        Spot::Middle => MIDDLE,
        Spot::Tail | Spot::Truncated => RECORDS - 1,
    }
}

type Seen = Arc<Mutex<Vec<WalDamage>>>;

// ---- time series ----

fn ts_opts(mode: WalRecovery, seen: &Seen) -> ts::Options {
    let sink = Arc::clone(seen);
    ts::Options::default()
        .sync_mode(SyncMode::Os)
        .wal_recovery(mode)
        .on_wal_damage(move |d| sink.lock().unwrap().push(d.clone()))
}

fn ts_points(db: &Db) -> Vec<i64> {
    db.query_metric("m")
        .unwrap()
        .iter()
        .map(|p| p.timestamp)
        .collect()
}

#[test]
fn ts_damage_in_the_middle_is_reported_or_refused_and_a_torn_tail_is_cut() {
    for spot in [Spot::Middle, Spot::Tail, Spot::Truncated] {
        for mode in [WalRecovery::TolerateTornTail, WalRecovery::Strict] {
            let case = format!("{spot:?}, {mode:?}");
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path();
            let seen = Seen::default();
            let db = Db::open_with(dir, ts_opts(mode, &seen)).unwrap();
            for t in 0..RECORDS as i64 {
                db.insert("m", t, t as f64, &[("host", "a")]).unwrap();
            }
            db.close().unwrap();
            let (segment, offset) = damage(dir, spot);

            let opened = Db::open_with(dir, ts_opts(mode, &seen));
            if spot == Spot::Middle && mode == WalRecovery::Strict {
                match opened {
                    Err(Error::Corruption {
                        file, offset: at, ..
                    }) => {
                        assert_eq!(file, segment, "{case}");
                        assert_eq!(at, offset, "{case}");
                    }
                    other => panic!("{case}: {other:?}"),
                }
                assert!(seen.lock().unwrap().is_empty(), "{case}: nothing tolerated");
                // Nothing was dropped: the default mode still recovers the prefix.
                let db = Db::open_with(dir, ts_opts(WalRecovery::TolerateTornTail, &seen)).unwrap();
                assert_eq!(ts_points(&db).len(), MIDDLE, "{case}");
                db.close().unwrap();
                continue;
            }
            let db = opened.unwrap_or_else(|e| panic!("{case}: {e}"));
            let want: Vec<i64> = (0..survivors(spot) as i64).collect();
            assert_eq!(ts_points(&db), want, "{case}");
            let stats = db.stats();
            if spot == Spot::Middle {
                assert_eq!(stats.wal_damaged_tails, 1, "{case}");
                assert_eq!(stats.wal_torn_tails, 0, "{case}");
                let d = stats.wal_damage.clone().expect("damage reported");
                assert_eq!((d.file.as_path(), d.offset), (segment.as_path(), offset));
                assert!(d.dropped_bytes > 0);
                assert_eq!(
                    *seen.lock().unwrap(),
                    vec![d],
                    "{case}: the hook saw it once"
                );
            } else {
                assert_eq!(stats.wal_torn_tails, 1, "{case}");
                assert_eq!(stats.wal_damaged_tails, 0, "{case}");
                assert_eq!(stats.wal_damage, None, "{case}");
                assert!(seen.lock().unwrap().is_empty(), "{case}");
            }
            db.insert("m", 100, 1.0, &[("host", "a")]).unwrap();
            db.close().unwrap();
            // The cut was made permanent: the next open finds no damage, in either
            // mode, and keeps the later write.
            let db = Db::open_with(dir, ts_opts(WalRecovery::Strict, &seen)).unwrap();
            let mut want = want;
            want.push(100);
            assert_eq!(ts_points(&db), want, "{case}: after reopening");
            assert_eq!(db.stats().wal_damaged_tails, 0, "{case}");
            db.close().unwrap();
        }
    }
}

// ---- key-value ----

fn kv_opts(mode: WalRecovery, seen: &Seen) -> kv::Options {
    let sink = Arc::clone(seen);
    kv::Options::default()
        .sync_mode(SyncMode::Os)
        .wal_recovery(mode)
        .on_wal_damage(move |d| sink.lock().unwrap().push(d.clone()))
}

fn kv_keys(store: &kv::Store) -> Vec<Vec<u8>> {
    store
        .range("cf", ..)
        .unwrap()
        .map(|e| e.unwrap().0)
        .collect()
}

fn key(i: usize) -> Vec<u8> {
    format!("key{i:02}").into_bytes()
}

#[test]
fn kv_damage_in_the_middle_is_reported_or_refused_and_a_torn_tail_is_cut() {
    for spot in [Spot::Middle, Spot::Tail, Spot::Truncated] {
        for mode in [WalRecovery::TolerateTornTail, WalRecovery::Strict] {
            let case = format!("{spot:?}, {mode:?}");
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path();
            let seen = Seen::default();
            let store = kv::Store::open_with(dir, kv_opts(mode, &seen)).unwrap();
            for i in 0..RECORDS {
                store.put("cf", key(i), "value").unwrap();
            }
            store.close().unwrap();
            let (segment, offset) = damage(dir, spot);

            let opened = kv::Store::open_with(dir, kv_opts(mode, &seen));
            if spot == Spot::Middle && mode == WalRecovery::Strict {
                match opened {
                    Err(Error::Corruption {
                        file, offset: at, ..
                    }) => {
                        assert_eq!(file, segment, "{case}");
                        assert_eq!(at, offset, "{case}");
                    }
                    other => panic!("{case}: {other:?}"),
                }
                assert!(seen.lock().unwrap().is_empty(), "{case}");
                let store =
                    kv::Store::open_with(dir, kv_opts(WalRecovery::TolerateTornTail, &seen))
                        .unwrap();
                assert_eq!(kv_keys(&store).len(), MIDDLE, "{case}");
                store.close().unwrap();
                continue;
            }
            let store = opened.unwrap_or_else(|e| panic!("{case}: {e}"));
            let want: Vec<Vec<u8>> = (0..survivors(spot)).map(key).collect();
            assert_eq!(kv_keys(&store), want, "{case}");
            let stats = store.stats();
            if spot == Spot::Middle {
                assert_eq!(stats.wal_damaged_tails, 1, "{case}");
                assert_eq!(stats.wal_torn_tails, 0, "{case}");
                let d = stats.wal_damage.clone().expect("damage reported");
                assert_eq!((d.file.as_path(), d.offset), (segment.as_path(), offset));
                assert_eq!(
                    *seen.lock().unwrap(),
                    vec![d],
                    "{case}: the hook saw it once"
                );
            } else {
                assert_eq!(stats.wal_torn_tails, 1, "{case}");
                assert_eq!(stats.wal_damaged_tails, 0, "{case}");
                assert_eq!(stats.wal_damage, None, "{case}");
                assert!(seen.lock().unwrap().is_empty(), "{case}");
            }
            store.put("cf", "zz", "later").unwrap();
            store.close().unwrap();
            let store = kv::Store::open_with(dir, kv_opts(WalRecovery::Strict, &seen)).unwrap();
            let mut want = want;
            want.push(b"zz".to_vec());
            assert_eq!(kv_keys(&store), want, "{case}: after reopening");
            assert_eq!(store.stats().wal_damaged_tails, 0, "{case}");
            store.close().unwrap();
        }
    }
}
