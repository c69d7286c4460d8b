//! Power cuts on the simulated file system (`SimFs`), in process.
//!
//! A run is a sequence of sessions on one fresh `SimFs`. A session opens the engine
//! (each with the options of its own round: sync mode, sizes, background work), checks
//! what it recovered, runs the same random workload as the kill cycles with one writer,
//! and ends in one of three ways, like the `kv_model` and `ts_model` fuzz targets
//! (`fuzz/src/gate_fs.rs`: the dead handle is dropped behind a closed gate):
//!
//! | end | what the next open must find |
//! | --- | --- |
//! | clean `close()` | exactly the acknowledged state |
//! | kill (`SimFs::kill_process`) | exactly the acknowledged state, in every sync mode |
//! | power cut (`SimFs::crash`), `SyncMode::Always` | exactly the acknowledged state |
//! | power cut, `SyncMode::Interval` or `Os` | the state after a prefix of the acknowledged writes, no shorter than the last durable point |
//!
//! Durable points: `flush()`, `compact()`, a clean close (and reopen), the end of an
//! open (what it recovered must survive a later power cut), and under
//! `SyncMode::Interval(d)` a pause of `10 d + 400 ms` (the timer has synced).
//!
//! When a check fails, the message also says whether the state is at least a prefix
//! of the writes since the last flush, compaction or clean close (counting the writes
//! acknowledged under `Always` and before a pause as durable): if it is, what was lost
//! is data recovered by an earlier open and never made durable since (issue 8 defect
//! 1, now fixed, looked like that).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tidestore::SyncMode;
use tidestore::io::gate_fs::GateFs;
use tidestore::io::sim_fs::SimFs;

use crate::ledger::{Ledger, Since, Tally};
use crate::load::{Gen, Load, Mode, Round, STREAM_END, State, Step};
use crate::rng::Rng;
use crate::settings::Settings;

/// Where the engine lives on the simulated file system.
const DIR: &str = "/torture";

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Close,
    Kill,
    PowerCut,
}

/// What the power-cut runs did.
#[derive(Debug, Default)]
pub struct Report {
    /// Runs (fresh file systems).
    pub runs: u64,
    /// Sessions (opens).
    pub sessions: u64,
    /// Session ends by kind and sync mode.
    pub ends: BTreeMap<String, u64>,
    /// Steps by kind.
    pub steps: BTreeMap<&'static str, u64>,
    /// Acknowledged writes lost by power cuts where the sync mode allows it.
    pub lost_allowed: u64,
    /// The ledger's counters, summed over runs.
    pub tally: Tally,
    /// Wall time.
    pub elapsed: Duration,
}

/// Runs `settings.power_runs` runs of engine `L`; panics on the first violation.
pub fn run<L: Load>(settings: &Settings) -> Report {
    let started = Instant::now();
    let mut report = Report::default();
    for run in 0..settings.power_runs {
        if let Err(e) = run_once::<L>(settings, run, &mut report) {
            panic!(
                "{} power-cut run {run} (base seed {}; replay: {}): {e}",
                L::NAME,
                settings.seed,
                settings.replay_hint()
            );
        }
        report.runs += 1;
    }
    report.elapsed = started.elapsed();
    report
}

/// An open engine and the gate its file system goes through.
struct Open<L: Load> {
    gate: GateFs,
    db: L::Db,
}

fn open<L: Load>(fs: &SimFs, round: &Round<L>) -> Result<Open<L>, String> {
    let gate = GateFs::new(Arc::new(fs.clone()));
    let db =
        L::open(Path::new(DIR), round, Some(gate.shared())).map_err(|e| format!("open: {e}"))?;
    Ok(Open { gate, db })
}

fn add<T: Ord>(map: &mut BTreeMap<T, u64>, key: T) {
    *map.entry(key).or_default() += 1;
}

/// What a power cut may take: the writes since the last durable point (`strong`, the
/// check), and since the last flush, compaction or clean close (`weak`, to classify a
/// failure).
struct Durable<L: Load> {
    strong: Since<L::Key, L::Val>,
    weak: Since<L::Key, L::Val>,
}

impl<L: Load> Durable<L> {
    fn new(state: &State<L>) -> Self {
        Durable {
            strong: Since::new(state),
            weak: Since::new(state),
        }
    }

    /// What to add to a failure message about the state `got`.
    fn classify(&self, got: &State<L>) -> String {
        match self.weak.find(got) {
            Ok(n) => format!(
                "\n[the state is the state after {n} of the {} writes since the last flush, \
                 compaction or clean close: what was lost had been recovered by an open and \
                 never made durable since (like issue 8 defect 1)]",
                self.weak.len()
            ),
            Err(e) => format!(
                "\n[not even a prefix of the writes since the last flush, compaction or clean \
                 close: {e}]"
            ),
        }
    }
}

fn run_once<L: Load>(settings: &Settings, run: u64, report: &mut Report) -> Result<(), String> {
    let fs = SimFs::new();
    let mut ends = Rng::derive(settings.seed, STREAM_END, run);
    let sessions = ends.range(6, 14);
    let mut ledger = Ledger::<L::Key, L::Val>::new();
    let mut prev: Option<(End, SyncMode)> = None;
    let mut durable = Durable::<L>::new(&BTreeMap::new());
    for session in 0..=sessions {
        // Round numbers of their own, apart from the kill cycles'.
        let index = (1 << 19) + run * 64 + session;
        let round = Round::<L>::new(settings.seed, index, Mode::Sim);
        let ctx = |what: &str| format!("session {session} ({round:?}) after {prev:?}: {what}");
        let mut o = open::<L>(&fs, &round).map_err(|e| ctx(&e))?;
        let got = L::read_all(&o.db).map_err(|e| ctx(&e))?;
        match prev {
            Some((End::PowerCut, SyncMode::Interval(_) | SyncMode::Os)) => {
                let n = durable
                    .strong
                    .find(&got)
                    .map_err(|e| ctx(&format!("{e}{}", durable.classify(&got))))?;
                report.lost_allowed += (durable.strong.len() - n) as u64;
                ledger.reset(&got);
            }
            _ => ledger.settle(&got, L::atomic).map_err(|e| {
                let class = match prev {
                    Some((End::PowerCut, _)) => durable.classify(&got),
                    _ => String::new(),
                };
                ctx(&format!("recovered state: {e}{class}"))
            })?,
        }
        report.sessions += 1;
        durable.strong = Since::new(&got);
        if matches!(prev, Some((End::PowerCut, _))) {
            durable.weak = Since::new(&got);
        }
        if session == sessions {
            L::close(o.db).map_err(|e| ctx(&format!("last close: {e}")))?;
            break;
        }
        let mut g = Gen::new(settings.seed, index, 0, 1);
        let steps = if ends.chance(300) {
            ends.below(16)
        } else {
            ends.range(20, 300)
        };
        for seq in 0..steps {
            let step = g.step::<L>(&round, ledger.state());
            add(&mut report.steps, step.name());
            let s = Session {
                fs: &fs,
                round: &round,
                ledger: &mut ledger,
                durable: &mut durable,
                index,
            };
            o = s
                .step(o, &mut g, seq, step)
                .map_err(|e| ctx(&format!("step {seq}: {e}")))?;
        }
        let end = match ends.below(10) {
            0..=1 => End::Close,
            2..=4 => End::Kill,
            _ => End::PowerCut,
        };
        let mode = match round.sync {
            SyncMode::Always => "Always",
            SyncMode::Interval(_) => "Interval",
            SyncMode::Os => "Os",
        };
        add(&mut report.ends, format!("{end:?} {mode}"));
        match end {
            End::Close => {
                L::close(o.db).map_err(|e| ctx(&format!("close: {e}")))?;
                durable = Durable::new(ledger.state());
            }
            End::Kill => {
                o.gate.close();
                fs.kill_process();
                drop(o.db);
            }
            End::PowerCut => {
                o.gate.close();
                fs.crash();
                drop(o.db);
            }
        }
        if settings.verbose {
            eprintln!(
                "[{} power] run {run} session {session}: {:?} {} bg, {steps} steps, ended by \
                 {end:?}, {} keys",
                L::NAME,
                round.sync,
                round.background,
                ledger.state().len()
            );
        }
        prev = Some((end, round.sync));
    }
    let t = ledger.tally;
    report.tally.acked += t.acked;
    report.tally.keys_verified += t.keys_verified;
    report.tally.recoveries += t.recoveries;
    Ok(())
}

/// What one step of a session works on.
struct Session<'a, L: Load> {
    fs: &'a SimFs,
    round: &'a Round<L>,
    ledger: &'a mut Ledger<L::Key, L::Val>,
    durable: &'a mut Durable<L>,
    index: u64,
}

impl<L: Load> Session<'_, L> {
    /// Runs one step; returns the (possibly reopened) engine.
    fn step(
        self,
        o: Open<L>,
        g: &mut Gen,
        seq: u64,
        step: Step<L::Write>,
    ) -> Result<Open<L>, String> {
        match step {
            Step::Write(w) => {
                let (changes, want) = L::effects(&w, self.ledger.state());
                let got = L::execute(&o.db, &w).map_err(|e| format!("{w:?}: {e}"))?;
                self.ledger
                    .begin(0, seq, changes.clone(), want, format!("{w:?}"))?;
                self.ledger.ack(self.index, 0, seq, got)?;
                self.durable.strong.push(changes.clone());
                self.durable.weak.push(changes);
                if self.round.sync == SyncMode::Always {
                    self.durable.weak.require_all();
                }
            }
            Step::Flush => {
                L::flush(&o.db).map_err(|e| format!("flush: {e}"))?;
                *self.durable = Durable::new(self.ledger.state());
            }
            Step::Compact => {
                L::compact(&o.db).map_err(|e| format!("compact: {e}"))?;
                *self.durable = Durable::new(self.ledger.state());
            }
            Step::Reopen => {
                L::close(o.db).map_err(|e| format!("close: {e}"))?;
                let o = open::<L>(self.fs, self.round)?;
                let got = L::read_all(&o.db)?;
                self.ledger
                    .settle(&got, L::atomic)
                    .map_err(|e| format!("after a clean reopen: {e}"))?;
                *self.durable = Durable::new(self.ledger.state());
                return Ok(o);
            }
            Step::Check => {
                L::spot_check(&o.db, g, self.ledger.state())?;
            }
            Step::Pause => {
                std::thread::sleep(self.round.pause());
                self.durable.strong = Since::new(self.ledger.state());
                self.durable.weak.require_all();
            }
        }
        Ok(o)
    }
}
