//! WAL recovery modes, on real WAL segments of both engines: a byte flipped in the
//! middle of the last segment (a damaged record followed by good ones) versus at its
//! tail (a torn last record), under `WalRecovery::TolerateTornTail` (the default:
//! recover the prefix, report the damage in `Stats` and through the hook) and
//! `WalRecovery::Strict` (damage is `Error::Corruption` naming the segment and offset;
//! a torn tail is still cut).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tidestore::{Db, Error, kv, ts};
use tidestore::{SyncMode, WalDamage, WalRecovery};

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

/// What the scenario needs of an engine: write record `i` (one WAL record), list the
/// records present, report replay's findings.
trait Engine: Sized {
    fn open(dir: &Path, mode: WalRecovery, seen: &Seen) -> tidestore::Result<Self>;
    fn write(&self, i: usize);
    fn present(&self) -> Vec<usize>;
    /// `(wal_torn_tails, wal_damaged_tails, wal_damage)` of the last open.
    fn replay_stats(&self) -> (u64, u64, Option<WalDamage>);
    fn close(self);
}

/// Writes [`RECORDS`] records, damages the last WAL segment at each spot, and checks
/// what each recovery mode makes of it.
fn damage_in_the_middle_is_reported_or_refused_and_a_torn_tail_is_cut<E: Engine>() {
    for spot in [Spot::Middle, Spot::Tail, Spot::Truncated] {
        for mode in [WalRecovery::TolerateTornTail, WalRecovery::Strict] {
            let case = format!("{spot:?}, {mode:?}");
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path();
            let seen = Seen::default();
            let db = E::open(dir, mode, &seen).unwrap();
            for i in 0..RECORDS {
                db.write(i);
            }
            db.close();
            let (segment, offset) = damage(dir, spot);

            let opened = E::open(dir, mode, &seen);
            if spot == Spot::Middle && mode == WalRecovery::Strict {
                match opened {
                    Err(Error::Corruption {
                        file, offset: at, ..
                    }) => {
                        assert_eq!(file, segment, "{case}");
                        assert_eq!(at, offset, "{case}");
                    }
                    Err(e) => panic!("{case}: {e}"),
                    Ok(_) => panic!("{case}: opened"),
                }
                assert!(seen.lock().unwrap().is_empty(), "{case}: nothing tolerated");
                // Nothing was dropped: the default mode still recovers the prefix.
                let db = E::open(dir, WalRecovery::TolerateTornTail, &seen).unwrap();
                assert_eq!(db.present().len(), MIDDLE, "{case}");
                db.close();
                continue;
            }
            let db = opened.unwrap_or_else(|e| panic!("{case}: {e}"));
            let mut want: Vec<usize> = (0..survivors(spot)).collect();
            assert_eq!(db.present(), want, "{case}");
            let (torn, damaged, damage) = db.replay_stats();
            if spot == Spot::Middle {
                assert_eq!((torn, damaged), (0, 1), "{case}");
                let d = damage.expect("damage reported");
                assert_eq!((d.file.as_path(), d.offset), (segment.as_path(), offset));
                assert!(d.dropped_bytes > 0, "{case}");
                assert_eq!(
                    *seen.lock().unwrap(),
                    vec![d],
                    "{case}: the hook saw it once"
                );
            } else {
                assert_eq!((torn, damaged, damage), (1, 0, None), "{case}");
                assert!(seen.lock().unwrap().is_empty(), "{case}");
            }
            db.write(RECORDS + 1);
            db.close();
            // The cut was made permanent: the next open finds no damage, even in
            // strict mode, and keeps the later write.
            let db = E::open(dir, WalRecovery::Strict, &seen).unwrap();
            want.push(RECORDS + 1);
            assert_eq!(db.present(), want, "{case}: after reopening");
            assert_eq!(db.replay_stats().1, 0, "{case}");
            db.close();
        }
    }
}

impl Engine for Db {
    fn open(dir: &Path, mode: WalRecovery, seen: &Seen) -> tidestore::Result<Self> {
        let sink = Arc::clone(seen);
        let opts = ts::Options::default()
            .sync_mode(SyncMode::Os)
            .wal_recovery(mode)
            .on_wal_damage(move |d| sink.lock().unwrap().push(d.clone()));
        Db::open_with(dir, opts)
    }
    fn write(&self, i: usize) {
        self.insert("m", i as i64, 1.5, &[("host", "a")]).unwrap();
    }
    fn present(&self) -> Vec<usize> {
        let points = self.query_metric("m").unwrap();
        points.iter().map(|p| p.timestamp as usize).collect()
    }
    fn replay_stats(&self) -> (u64, u64, Option<WalDamage>) {
        let s = self.stats();
        (s.wal_torn_tails, s.wal_damaged_tails, s.wal_damage)
    }
    fn close(self) {
        Db::close(self).unwrap();
    }
}

impl Engine for kv::Store {
    fn open(dir: &Path, mode: WalRecovery, seen: &Seen) -> tidestore::Result<Self> {
        let sink = Arc::clone(seen);
        let opts = kv::Options::default()
            .sync_mode(SyncMode::Os)
            .wal_recovery(mode)
            .on_wal_damage(move |d| sink.lock().unwrap().push(d.clone()));
        kv::Store::open_with(dir, opts)
    }
    fn write(&self, i: usize) {
        self.put("cf", format!("key{i:02}"), "value").unwrap();
    }
    fn present(&self) -> Vec<usize> {
        let keys = self.range("cf", ..).unwrap().map(|e| e.unwrap().0);
        keys.map(|k| String::from_utf8(k).unwrap()[3..].parse().unwrap())
            .collect()
    }
    fn replay_stats(&self) -> (u64, u64, Option<WalDamage>) {
        let s = self.stats();
        (s.wal_torn_tails, s.wal_damaged_tails, s.wal_damage)
    }
    fn close(self) {
        kv::Store::close(self).unwrap();
    }
}

#[test]
fn ts_damage_in_the_middle_is_reported_or_refused_and_a_torn_tail_is_cut() {
    damage_in_the_middle_is_reported_or_refused_and_a_torn_tail_is_cut::<Db>();
}

#[test]
fn kv_damage_in_the_middle_is_reported_or_refused_and_a_torn_tail_is_cut() {
    damage_in_the_middle_is_reported_or_refused_and_a_torn_tail_is_cut::<kv::Store>();
}
