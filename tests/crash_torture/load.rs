//! The seam between the harness and an engine: [`Load`] (what the harness needs to
//! know about `Db` or `kv::Store`: open, write, read everything, the key-level effect of
//! a write), the steps of a workload ([`Step`]), the options of one round ([`Round`])
//! and the per-thread generator ([`Gen`]).
//!
//! The harness checks the engine at the level of keys: a time-series key is a point
//! `(series, timestamp)` or a series definition, a key-value key is `(family, key)`.
//! Every write is described by its [`Changes`]: the value (or absence) it leaves on each
//! key it touches, computed from the state before it.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tidestore::SyncMode;
use tidestore::io::fs::FileSystem;

use crate::rng::Rng;

/// What a write call returned (other errors fail the run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `Ok(())`.
    Done,
    /// `Error::NotFound` (an update of a point that does not exist).
    NotFound,
}

impl Outcome {
    /// The word of the line protocol.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Done => "ok",
            Outcome::NotFound => "nf",
        }
    }

    /// Parses [`Outcome::word`].
    pub fn parse(s: &str) -> Result<Outcome, String> {
        match s {
            "ok" => Ok(Outcome::Done),
            "nf" => Ok(Outcome::NotFound),
            _ => Err(format!("bad outcome {s:?}")),
        }
    }
}

/// The key-level effect of one write: the value each touched key holds after it
/// (`None`: absent), one entry per key.
pub type Changes<K, V> = BTreeMap<K, Option<V>>;

/// What an engine holds: every present key with its value.
pub type State<L> = BTreeMap<<L as Load>::Key, <L as Load>::Val>;

/// One engine under torture.
pub trait Load: Sized + Debug + 'static {
    /// `ts` or `kv` (the child is told which).
    const NAME: &'static str;
    /// The open database or store.
    type Db: Send + Sync;
    /// A key of the model.
    type Key: Ord + Clone + Debug + Send + Sync;
    /// A value of the model (for the key-value store, a hash of the bytes).
    type Val: Eq + Clone + Debug + Send + Sync;
    /// One write operation.
    type Write: Debug + Send;
    /// The engine's options varied per round (beyond the sync mode and background work).
    type Knobs: Debug + Clone + Send + Sync;

    /// Random knobs for a round.
    fn knobs(rng: &mut Rng) -> Self::Knobs;
    /// Opens the engine in `dir` with `round`'s options, on `fs` if given (else the
    /// real file system).
    fn open(
        dir: &Path,
        round: &Round<Self>,
        fs: Option<Arc<dyn FileSystem>>,
    ) -> tidestore::Result<Self::Db>;
    /// A clean close.
    fn close(db: Self::Db) -> tidestore::Result<()>;
    /// `flush()`.
    fn flush(db: &Self::Db) -> tidestore::Result<()>;
    /// `compact()`.
    fn compact(db: &Self::Db) -> tidestore::Result<()>;
    /// Everything the engine holds, read through its public API.
    fn read_all(db: &Self::Db) -> Result<State<Self>, String>;
    /// The writer thread (of `threads`) that owns `key`: only it writes the key, so a
    /// key has at most one write in flight and its history is a sequence.
    fn owner(key: &Self::Key, threads: usize) -> usize;
    /// Whether `key` takes part in the all-or-nothing check of an interrupted write
    /// (a time-series definition may be made durable apart from the points).
    fn atomic(_key: &Self::Key) -> bool {
        true
    }
    /// A random write touching only keys owned by `g.thread`; `own` holds (at least)
    /// the present keys the thread owns.
    fn random_write(g: &mut Gen, knobs: &Self::Knobs, own: &State<Self>) -> Self::Write;
    /// What `write` does to `state`, and what the call must return.
    fn effects(
        write: &Self::Write,
        state: &State<Self>,
    ) -> (Changes<Self::Key, Self::Val>, Outcome);
    /// Performs `write`.
    fn execute(db: &Self::Db, write: &Self::Write) -> tidestore::Result<Outcome>;
    /// Reads a random sample of the keys owned by `g.thread` through the read paths
    /// (point and range reads) and compares them with `own`; returns how many keys
    /// were compared.
    fn spot_check(db: &Self::Db, g: &mut Gen, own: &State<Self>) -> Result<u64, String>;
    /// `write` as one line of text (no newline).
    fn encode(write: &Self::Write) -> String;
    /// Parses [`Load::encode`].
    fn decode(line: &str) -> Result<Self::Write, String>;
    /// One key and value as text (no newline).
    fn encode_entry(key: &Self::Key, val: &Self::Val) -> String;
    /// Parses [`Load::encode_entry`].
    fn decode_entry(line: &str) -> Result<(Self::Key, Self::Val), String>;
}

/// One step of a workload.
#[derive(Debug)]
pub enum Step<W> {
    /// A write.
    Write(W),
    /// `flush()`: a durability point.
    Flush,
    /// `compact()`: a durability point.
    Compact,
    /// A clean close and an open (with the same options).
    Reopen,
    /// [`Load::spot_check`].
    Check,
    /// A pause long enough for `SyncMode::Interval`'s timer to sync (simulated file
    /// system only).
    Pause,
}

impl<W> Step<W> {
    /// The step's name in the line protocol (`w` for a write).
    pub fn name(&self) -> &'static str {
        match self {
            Step::Write(_) => "w",
            Step::Flush => "flush",
            Step::Compact => "compact",
            Step::Reopen => "reopen",
            Step::Check => "check",
            Step::Pause => "pause",
        }
    }
}

/// How often each non-write step comes, per mille of steps (writes take the rest).
#[derive(Debug, Clone, Copy)]
pub struct Weights {
    /// `flush()`.
    pub flush: u64,
    /// `compact()`.
    pub compact: u64,
    /// Close and open.
    pub reopen: u64,
    /// A spot check.
    pub check: u64,
    /// A pause ([`Step::Pause`]).
    pub pause: u64,
}

/// Where a round runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A child process on real files, several writer threads, killed with SIGKILL.
    Kill,
    /// In process on `SimFs`, one writer, ended by a close, a kill or a power cut.
    Sim,
}

/// The options of one round (one child process, or one session on `SimFs`).
#[derive(Debug, Clone)]
pub struct Round<L: Load> {
    /// The sync mode.
    pub sync: SyncMode,
    /// Background flushes and compactions (else inline on the writing thread).
    pub background: bool,
    /// Writer threads.
    pub threads: usize,
    /// The engine's own options.
    pub knobs: L::Knobs,
    /// Step frequencies.
    pub weights: Weights,
}

/// Stream numbers of [`Rng::derive`].
pub const STREAM_ROUND: u64 = 1;
/// Stream of the writer threads.
pub const STREAM_THREAD: u64 = 2;
/// Stream of the kill plans.
pub const STREAM_KILL: u64 = 3;
/// Stream of the session endings on `SimFs`.
pub const STREAM_END: u64 = 4;

impl<L: Load> Round<L> {
    /// The round `index` of the run with base `seed` (parent and child derive the
    /// same).
    pub fn new(seed: u64, index: u64, mode: Mode) -> Round<L> {
        let mut rng = Rng::derive(seed, STREAM_ROUND, index);
        let sync = match rng.below(10) {
            0..=3 => SyncMode::Always,
            4..=6 => {
                let most = if mode == Mode::Sim { 10 } else { 50 };
                SyncMode::Interval(Duration::from_millis(rng.range(1, most)))
            }
            _ => SyncMode::Os,
        };
        let background = rng.chance(700);
        let threads = match mode {
            Mode::Kill => rng.range(1, 4) as usize,
            Mode::Sim => 1,
        };
        let knobs = L::knobs(&mut rng);
        let interval = matches!(sync, SyncMode::Interval(_));
        let weights = Weights {
            flush: rng.range(2, 30),
            compact: rng.range(0, 8),
            reopen: rng.range(0, 6),
            check: rng.range(10, 50),
            pause: if mode == Mode::Sim && interval && rng.chance(500) {
                3
            } else {
                0
            },
        };
        Round {
            sync,
            background,
            threads,
            knobs,
            weights,
        }
    }

    /// How long a [`Step::Pause`] sleeps: ample time for the interval timer to sync,
    /// even on a busy machine.
    pub fn pause(&self) -> Duration {
        match self.sync {
            SyncMode::Interval(d) => d * 10 + Duration::from_millis(400),
            _ => Duration::ZERO,
        }
    }
}

/// The generator of one writer thread: its random stream and its unique numbers.
#[derive(Debug)]
pub struct Gen {
    /// The random stream.
    pub rng: Rng,
    /// This thread's number.
    pub thread: usize,
    /// Writer threads in the round.
    pub threads: usize,
    /// The round (unique in the run): part of every unique number.
    round: u64,
    /// Unique numbers handed out so far.
    counter: u64,
    /// A clock for the engine's use (the time series' arrival order), starting at a
    /// random place.
    pub cursor: u64,
}

impl Gen {
    /// Thread `thread` of `threads` in round `round` of the run with base `seed`.
    pub fn new(seed: u64, round: u64, thread: usize, threads: usize) -> Gen {
        let mut rng = Rng::derive(seed, STREAM_THREAD, (round << 8) | thread as u64);
        let cursor = rng.next() >> 1;
        Gen {
            rng,
            thread,
            threads,
            round,
            counter: 0,
            cursor,
        }
    }

    /// A number no other call of this run returns (below 2^53, so exact as an `f64`):
    /// the round, the thread and a counter.
    pub fn unique(&mut self) -> u64 {
        self.counter += 1;
        ((self.round & 0xf_ffff) << 33) | ((self.thread as u64 & 0xf) << 29) | self.counter
    }

    /// The next step, with `w`'s frequencies; writes come from [`Load::random_write`].
    pub fn step<L: Load>(&mut self, round: &Round<L>, own: &State<L>) -> Step<L::Write> {
        let w = &round.weights;
        let mut roll = self.rng.below(1000);
        for (weight, step) in [
            (w.flush, Step::Flush),
            (w.compact, Step::Compact),
            (w.reopen, Step::Reopen),
            (w.check, Step::Check),
            (w.pause, Step::Pause),
        ] {
            if roll < weight {
                return step;
            }
            roll -= weight;
        }
        Step::Write(L::random_write(self, &round.knobs, own))
    }
}

/// Applies `changes` to `state`.
pub fn apply<K: Ord + Clone, V: Clone>(state: &mut BTreeMap<K, V>, changes: &Changes<K, V>) {
    for (k, v) in changes {
        match v {
            Some(v) => {
                state.insert(k.clone(), v.clone());
            }
            None => {
                state.remove(k);
            }
        }
    }
}
