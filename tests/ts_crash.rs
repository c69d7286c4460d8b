//! Real `kill -9` crash test of the time-series `Db`.
//!
//! The parent test re-executes this test binary as a child (selected by the
//! `TIDESTORE_TS_CRASH_DIR` environment variable). The child opens the database with
//! `SyncMode::Always`, background flushes and compactions and a small head, and runs a
//! deterministic sequence of operations (batches that overwrite parts of earlier ones,
//! and range deletes), printing `ACK <n>` after each one returns. The parent SIGKILLs
//! it at a random moment, drains the acknowledgements it printed, reopens the
//! directory and checks that the database holds exactly the state after the
//! acknowledged operations, or after those plus the one in flight (applied whole: a
//! batch is atomic). Several rounds run on the same directory, each continuing the
//! sequence where the database says it stands.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tidestore::SyncMode;
use tidestore::ts::Options;
use tidestore::{Db, Point};

const DIR_VAR: &str = "TIDESTORE_TS_CRASH_DIR";
const START_VAR: &str = "TIDESTORE_TS_CRASH_START";
const SERIES: usize = 4;
/// A child stops by itself after this many operations (the parent kills it long before).
const MAX_OPS: u64 = 20_000;

/// Series `s`'s tags.
fn tags(s: usize) -> [(&'static str, &'static str); 2] {
    const NAMES: [&str; SERIES] = ["0", "1", "2", "3"];
    [("s", NAMES[s]), ("dc", if s < 2 { "x" } else { "y" })]
}

/// Operation number `k` of the sequence.
enum Op {
    /// Points of every series at `k * 30 .. k * 30 + 50` (overlapping the previous
    /// batch by 20 timestamps), values unique to `(k, series, timestamp)`.
    Batch(Vec<(usize, i64, f64)>),
    /// Deletes `[a, b]` of every series.
    Delete(i64, i64),
}

fn op(k: u64) -> Op {
    let base = k as i64 * 30;
    if k % 11 == 10 {
        return Op::Delete(base - 45, base - 20);
    }
    let mut points = Vec::with_capacity(SERIES * 50);
    for j in 0..50 {
        for s in 0..SERIES {
            let v = k as f64 * 1000.0 + j as f64 + s as f64 / 8.0;
            points.push((s, base + j, v));
        }
    }
    Op::Batch(points)
}

type State = BTreeMap<(usize, i64), u64>;

fn apply(state: &mut State, k: u64) {
    match op(k) {
        Op::Batch(points) => {
            for (s, t, v) in points {
                state.insert((s, t), v.to_bits());
            }
        }
        Op::Delete(a, b) => state.retain(|&(_, t), _| !(a..=b).contains(&t)),
    }
}

fn options() -> Options {
    Options::default()
        .sync_mode(SyncMode::Always)
        .head_bytes(16 << 10)
        .chunk_points(64)
        .partition_width(600)
        .compaction_trigger(2)
}

fn read_state(db: &Db) -> State {
    let mut state = State::new();
    for p in db.query_metric("m").unwrap() {
        let s = p
            .tags
            .iter()
            .find(|(k, _)| k == "s")
            .unwrap()
            .1
            .parse()
            .unwrap();
        let old = state.insert((s, p.timestamp), p.value.to_bits());
        assert!(old.is_none(), "a point returned twice");
    }
    state
}

/// The child: runs operations from `START_VAR` on until killed.
fn child(dir: &Path) {
    let start: u64 = std::env::var(START_VAR).unwrap().parse().unwrap();
    let db = Db::open_with(dir, options()).unwrap();
    let mut out = std::io::stdout().lock();
    for k in start..start + MAX_OPS {
        match op(k) {
            Op::Batch(points) => {
                let batch: Vec<Point> = points
                    .iter()
                    .map(|&(s, t, v)| Point::new("m", t, v, &tags(s)))
                    .collect();
                db.insert_batch(&batch).unwrap();
            }
            Op::Delete(a, b) => db.delete_range("m", a, b, &[]).unwrap(),
        }
        writeln!(out, "\nACK {k}").unwrap();
        out.flush().unwrap();
        if k % 37 == 36 {
            db.compact().unwrap();
        }
    }
    writeln!(out, "\nDONE").unwrap();
}

/// Not a test of its own: the entry point of the child process.
#[test]
fn crash_child_entry() {
    if let Some(dir) = std::env::var_os(DIR_VAR) {
        child(Path::new(&dir));
    }
}

/// A small xorshift generator for the kill moments (seed printed for reproduction).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn kill_9_keeps_every_acknowledged_point() {
    if std::env::var_os(DIR_VAR).is_some() {
        return; // inside a child
    }
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    eprintln!("kill -9 test seed: {seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();

    let mut state = State::new(); // the state after `next` operations
    let mut next = 0u64;
    let rounds = 5;
    for round in 0..rounds {
        let kill_after = 15 + rng.below(120);
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child_entry",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, dir.path())
            .env(START_VAR, next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut acked: Option<u64> = None;
        let mut line = String::new();
        let mut seen = 0;
        while seen < kill_after {
            line.clear();
            if stdout.read_line(&mut line).unwrap() == 0 {
                let mut err = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!(
                    "round {round}: the child ended early: {}\n{err}",
                    child.wait().unwrap()
                );
            }
            if let Some(k) = line.trim().strip_prefix("ACK ") {
                acked = Some(k.parse().unwrap());
                seen += 1;
            }
        }
        // A random moment inside the next operations.
        std::thread::sleep(Duration::from_micros(rng.below(3000)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "the child was killed");
        // Acknowledgements printed before the kill still count.
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        for l in rest.lines() {
            if let Some(k) = l.trim().strip_prefix("ACK ") {
                acked = Some(k.parse().unwrap());
            }
        }
        let acked = acked.unwrap();
        assert!(acked >= next);

        let mut without = state.clone();
        for k in next..=acked {
            apply(&mut without, k);
        }
        let mut with = without.clone();
        apply(&mut with, acked + 1);

        let db = Db::open_with(dir.path(), options()).unwrap();
        let got = read_state(&db);
        if got == without {
            next = acked + 1;
            state = without;
        } else if got == with {
            next = acked + 2;
            state = with;
        } else {
            let missing = without
                .iter()
                .filter(|(k, v)| got.get(k) != Some(v))
                .count();
            panic!(
                "round {round} (seed {seed}): acknowledged through op {acked}; \
                 {missing} acknowledged points missing or wrong, {} points read, {} expected",
                got.len(),
                without.len()
            );
        }
        eprintln!(
            "round {round}: acknowledged {acked}, applied {next}, {} segments",
            db.stats().segments
        );
        db.close().unwrap();
    }
    let db = Db::open_with(dir.path(), options()).unwrap();
    assert_eq!(read_state(&db), state);
    assert!(
        db.stats().segments > 0,
        "the run should have flushed segments"
    );
    assert!(next > rounds * 15, "every round acknowledged operations");
}
