//! kill -9 test of `kv::Store` on real files.
//!
//! The parent test re-executes this test binary as a child running only
//! [`child_writer`] (gated by the `TIDE_KV_CRASH_DIR` environment variable). The child
//! opens the store with tiny memtables (so flushes and compactions run all the time in
//! the background) and writes a deterministic, seeded sequence of puts, deletes and
//! multi-family batches, printing `ack <i>` after each one returns. The parent reads
//! acknowledgements, SIGKILLs the child after a random number of them, reopens the
//! store and checks that its contents are **exactly** the result of the first `m`
//! operations for some `m >=` the number of acknowledgements it read: every acked
//! write is there with its acked value, every acked delete is absent, and the writes
//! after the last ack seen are there as a prefix of the sequence (no batch torn, no
//! reordering). Rounds accumulate on the same directory; the last one uses
//! `SyncMode::Os`, which must survive a process crash as well.

mod support_kv;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use support_kv::{Model, Rows};
use tidestore::kv::{Options, Store, SyncMode, TableOptions, WriteBatch};

const DIR_VAR: &str = "TIDE_KV_CRASH_DIR";
const SEED_VAR: &str = "TIDE_KV_CRASH_SEED";
const SYNC_VAR: &str = "TIDE_KV_CRASH_SYNC";
const FAMILIES: [&str; 2] = ["c0", "c1"];
const KEYS: u64 = 300;
/// The child stops by itself after this many operations (if never killed).
const CHILD_MAX_OPS: u64 = 100_000;

/// splitmix64: a tiny deterministic generator (the same in parent and child).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One write of the child: `None` value = delete.
type Write1 = (&'static str, Vec<u8>, Option<Vec<u8>>);

/// The `i`-th operation of the sequence with `seed`: one write (put or delete, applied
/// with `Store::put`/`delete`) or several (a batch).
fn op(seed: u64, i: u64) -> Vec<Write1> {
    let mut rng = Rng(seed ^ i.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let n = if rng.below(10) == 0 {
        2 + rng.below(6)
    } else {
        1
    };
    (0..n)
        .map(|j| {
            let cf = FAMILIES[rng.below(2) as usize];
            let key = format!("key{:04}", rng.below(KEYS)).into_bytes();
            let value = if rng.below(100) < 15 {
                None
            } else {
                let len = rng.below(200) as usize;
                let mut v = format!("s{seed}-i{i}-j{j}-").into_bytes();
                v.resize(len.max(v.len()), b'x');
                Some(v)
            };
            (cf, key, value)
        })
        .collect()
}

fn apply(model: &mut Model, writes: &[Write1]) {
    for (cf, key, value) in writes {
        match value {
            Some(v) => model.put(cf, key.clone(), v.clone()),
            None => model.delete(cf, key.clone()),
        }
    }
}

fn options(sync: SyncMode, background: bool) -> Options {
    Options::default()
        .sync_mode(sync)
        .memtable_bytes(8192)
        .l0_compaction_trigger(2)
        .level1_bytes(16 << 10)
        .level_size_multiplier(2)
        .target_file_bytes(8 << 10)
        .table(TableOptions {
            block_size: 512,
            ..TableOptions::default()
        })
        .background_work(background)
}

fn parse_sync(s: &str) -> SyncMode {
    match s {
        "os" => SyncMode::Os,
        _ => SyncMode::Always,
    }
}

/// The child: writes until killed. Does nothing when run as an ordinary test.
#[test]
fn child_writer() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let seed: u64 = std::env::var(SEED_VAR).unwrap().parse().unwrap();
    let sync = parse_sync(&std::env::var(SYNC_VAR).unwrap());
    let store = Store::open_with(&dir, options(sync, true)).unwrap();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for i in 0..CHILD_MAX_OPS {
        let writes = op(seed, i);
        if let [(cf, key, value)] = writes.as_slice() {
            match value {
                Some(v) => store.put(cf, key, v).unwrap(),
                None => store.delete(cf, key).unwrap(),
            }
        } else {
            let mut batch = WriteBatch::new();
            for (cf, key, value) in &writes {
                match value {
                    Some(v) => batch.put(cf, key, v),
                    None => batch.delete(cf, key),
                };
            }
            store.write(batch).unwrap();
        }
        // The parent went away: stop.
        if writeln!(out, "ack {i}").and_then(|()| out.flush()).is_err() {
            return;
        }
    }
}

/// Everything the store holds, as a model.
fn contents(store: &Store) -> Model {
    let mut m = Model::default();
    for cf in FAMILIES {
        let rows: Rows = support_kv::collect(store.range(cf, ..).unwrap()).unwrap();
        for (k, v) in rows {
            m.put(cf, k, v);
        }
    }
    m
}

/// Runs one child with `seed`, kills it after `kill_after` acks (or when it ends), and
/// returns how many acks the parent read.
fn run_child(dir: &Path, seed: u64, sync: &str, kill_after: u64) -> u64 {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env(DIR_VAR, dir)
        .env(SEED_VAR, seed.to_string())
        .env(SYNC_VAR, sync)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let mut acked = 0;
    for line in reader.lines() {
        let line = line.unwrap();
        // The harness may print "test child_writer ... " before the first ack.
        let Some((_, i)) = line.rsplit_once("ack ") else {
            continue; // the test harness's own output
        };
        assert_eq!(i.parse::<u64>().unwrap(), acked, "acks arrive in order");
        acked += 1;
        if acked == kill_after {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(
        acked == kill_after || status.success(),
        "child failed: {status}"
    );
    acked
}

/// Reopens after the kill and finds the `m >= acked` whose prefix the store holds.
/// Returns the recovered model (the start of the next round).
fn verify(dir: &Path, seed: u64, before: &Model, acked: u64) -> (Model, u64) {
    let store = Store::open_with(dir, options(SyncMode::Always, false)).unwrap();
    let got = contents(&store);
    let mut model = before.clone();
    for i in 0..acked {
        apply(&mut model, &op(seed, i));
    }
    // Every acked write: present with its acked value (unless a later, unacked write
    // to the same key replaced it, which the prefix search below accounts for).
    let mut m = acked;
    while got.map != model.map {
        assert!(
            m < CHILD_MAX_OPS,
            "seed {seed}: after {acked} acks the store is no prefix of the written \
             sequence; first difference: {:?}",
            first_difference(&got, &model)
        );
        apply(&mut model, &op(seed, m));
        m += 1;
    }
    // A second look through point reads.
    for ((cf, key), value) in &model.map {
        assert_eq!(store.get(cf, key).unwrap().as_ref(), Some(value));
    }
    store.close().unwrap();
    (model, m - acked)
}

fn table_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".sst"))
        })
        .count()
}

fn first_difference(got: &Model, want: &Model) -> String {
    for (k, v) in &want.map {
        if got.map.get(k) != Some(v) {
            return format!("{k:?}: store {:?}, acked {v:?}", got.map.get(k));
        }
    }
    for k in got.map.keys() {
        if !want.map.contains_key(k) {
            return format!("{k:?} present in the store, deleted in the acked state");
        }
    }
    "none".into()
}

#[test]
fn kill_9_loses_no_acknowledged_write() {
    if std::env::var(DIR_VAR).is_ok() {
        return; // we are a child
    }
    let base: u64 = std::env::var(SEED_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("kv_crash base seed {base} (set {SEED_VAR} to replay)");
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(base);
    let mut model = Model::default();
    let rounds = ["always", "always", "always", "always", "always", "os", "os"];
    for (round, sync) in rounds.into_iter().enumerate() {
        let seed = base.wrapping_add(round as u64 * 1_000_003);
        let kill_after = 100 + rng.below(900);
        let acked = run_child(dir.path(), seed, sync, kill_after);
        assert_eq!(acked, kill_after, "round {round}");
        let (recovered, unacked) = verify(dir.path(), seed, &model, acked);
        model = recovered;
        eprintln!(
            "round {round} ({sync}): killed after {acked} acks; {unacked} unacked writes \
             survived; {} keys live in {} tables",
            model.map.len(),
            table_files(dir.path())
        );
    }
    assert!(!model.map.is_empty());
    assert!(table_files(dir.path()) > 0, "no flush ever ran");
}
