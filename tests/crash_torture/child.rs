//! The child process of the kill cycles: the test binary re-executed with
//! [`CHILD_VAR`] set, running only the `child_entry` test.
//!
//! It opens the engine in the directory (recovering whatever the last child left),
//! prints everything it holds and `R`, then runs the round's writer threads until the
//! parent kills it. Line protocol on stdout (one line each, written whole before the
//! call it announces and after the call it acknowledges returns):
//!
//! | line | meaning |
//! | --- | --- |
//! | `D <entry>` | one key and value recovered at open ([`Load::encode_entry`]) |
//! | `R <n>` | the dump is complete: `n` entries |
//! | `B <thread> <seq> w <write>` | the thread is about to call the write ([`Load::encode`]) |
//! | `B <thread> <seq> <step>` | ... `flush`, `compact`, `reopen`, `check` or `pause` |
//! | `A <thread> <seq> <ok\|nf>` | the step returned (`nf`: `Error::NotFound`) |
//! | `F <message>` | something went wrong (the child exits with code 3) |
//! | `E` | every thread ran its whole budget: the child closes the engine and exits |
//!
//! A writer thread writes only the keys it owns ([`Load::owner`]) and keeps its own
//! model of them, against which [`Step::Check`] compares reads while the child runs.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::RwLock;

use crate::load::{Gen, Load, Mode, Outcome, Round, State, Step, apply};

/// `<engine> <seed> <round>`: set for a child.
pub const CHILD_VAR: &str = "TORTURE_CHILD";
/// The engine's directory, for a child.
pub const DIR_VAR: &str = "TORTURE_CHILD_DIR";
/// Most steps of one writer thread (the parent kills the child long before).
pub const BUDGET: u64 = 100_000;

/// Writes one line to stdout in one piece; exits if the parent is gone.
fn line(text: &str) {
    let mut out = std::io::stdout().lock();
    let mut buf = String::with_capacity(text.len() + 1);
    buf.push_str(text);
    buf.push('\n');
    if out
        .write_all(buf.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(1);
    }
}

fn fail(message: &str) -> ! {
    line(&format!("F {}", message.replace('\n', " | ")));
    std::process::exit(3);
}

/// The child's main: runs round `round` of the run with base `seed` in `dir`.
pub fn run<L: Load>(dir: &Path, seed: u64, round_no: u64) {
    let round = Round::<L>::new(seed, round_no, Mode::Kill);
    line(""); // ends libtest's "test child_entry ... "
    let db = L::open(dir, &round, None).unwrap_or_else(|e| fail(&format!("open: {e}")));
    let state = L::read_all(&db).unwrap_or_else(|e| fail(&format!("read after open: {e}")));
    {
        let mut out = BufWriter::new(std::io::stdout().lock());
        for (k, v) in &state {
            let _ = writeln!(out, "D {}", L::encode_entry(k, v));
        }
        let _ = writeln!(out, "R {}", state.len());
        if out.flush().is_err() {
            std::process::exit(1);
        }
    }
    let db = RwLock::new(Some(db));
    std::thread::scope(|s| {
        for t in 0..round.threads {
            let own: State<L> = state
                .iter()
                .filter(|(k, _)| L::owner(k, round.threads) == t)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let (db, round) = (&db, &round);
            s.spawn(move || {
                writer::<L>(
                    dir,
                    round,
                    Gen::new(seed, round_no, t, round.threads),
                    db,
                    own,
                )
            });
        }
    });
    line("E");
    let db = db.into_inner().ok().flatten();
    if let Some(db) = db {
        L::close(db).unwrap_or_else(|e| fail(&format!("close: {e}")));
    }
}

/// One writer thread: steps until the budget is spent.
fn writer<L: Load>(
    dir: &Path,
    round: &Round<L>,
    mut g: Gen,
    db: &RwLock<Option<L::Db>>,
    mut own: State<L>,
) {
    let t = g.thread;
    for seq in 0..BUDGET {
        let step = g.step::<L>(round, &own);
        match &step {
            Step::Write(w) => line(&format!("B {t} {seq} w {}", L::encode(w))),
            other => line(&format!("B {t} {seq} {}", other.name())),
        }
        let result = run_step::<L>(dir, round, &mut g, db, &mut own, step);
        match result {
            Ok(outcome) => line(&format!("A {t} {seq} {}", outcome.word())),
            Err(e) => fail(&format!("thread {t} step {seq}: {e}")),
        }
    }
}

fn run_step<L: Load>(
    dir: &Path,
    round: &Round<L>,
    g: &mut Gen,
    db: &RwLock<Option<L::Db>>,
    own: &mut State<L>,
    step: Step<L::Write>,
) -> Result<Outcome, String> {
    if let Step::Reopen = step {
        let mut slot = db.write().map_err(|_| "lock poisoned")?;
        let old = slot.take().ok_or("no open engine")?;
        L::close(old).map_err(|e| format!("close: {e}"))?;
        *slot = Some(L::open(dir, round, None).map_err(|e| format!("reopen: {e}"))?);
        return Ok(Outcome::Done);
    }
    let slot = db.read().map_err(|_| "lock poisoned")?;
    let db = slot.as_ref().ok_or("no open engine")?;
    match step {
        Step::Write(w) => {
            let (changes, want) = L::effects(&w, own);
            let got = L::execute(db, &w).map_err(|e| format!("{w:?}: {e}"))?;
            if got != want {
                return Err(format!(
                    "{w:?} returned {got:?}, the thread's model says {want:?}"
                ));
            }
            apply(own, &changes);
            Ok(got)
        }
        Step::Flush => L::flush(db)
            .map(|()| Outcome::Done)
            .map_err(|e| format!("flush: {e}")),
        Step::Compact => L::compact(db)
            .map(|()| Outcome::Done)
            .map_err(|e| format!("compact: {e}")),
        Step::Check => L::spot_check(db, g, own).map(|_| Outcome::Done),
        Step::Pause => {
            std::thread::sleep(round.pause());
            Ok(Outcome::Done)
        }
        Step::Reopen => Err("unreachable".into()),
    }
}
