//! Kill cycles on the real file system (the parent side; the child is `child.rs`).
//!
//! Every cycle spawns a child on the same directory with the options of its round,
//! reads its lines into the [`Ledger`], SIGKILLs it at the moment its [`Plan`] picks,
//! and checks the state the next child recovers (its dump) against the ledger. A kill
//! keeps what the OS was handed, so in every `SyncMode` every acknowledged write must
//! survive. At the end the parent opens the directory itself, checks it once more,
//! closes it cleanly and checks that a last open reads the same.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::child::{CHILD_VAR, DIR_VAR};
use crate::ledger::{Ledger, Tally};
use crate::load::{Load, Mode, Outcome, Round, STREAM_KILL, State};
use crate::rng::Rng;
use crate::settings::Settings;

/// A child that prints nothing for this long is reported as hung.
const STALL: Duration = Duration::from_secs(120);
/// A child still running this long after its dump is killed whatever its plan.
const LONGEST: Duration = Duration::from_secs(3);

/// When a cycle's child dies.
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// This long after the `n`-th acknowledgement (0: after the dump).
    AfterAcks { n: u64, delay: Duration },
    /// This long after the `nth` start of a `flush`, `compact` or `reopen` step.
    OnStep {
        kind: &'static str,
        nth: u64,
        delay: Duration,
    },
    /// This long after the spawn: often inside the open (recovery) or the dump.
    DuringOpen { delay: Duration },
    /// This long after the dump.
    AtTime { delay: Duration },
}

impl Plan {
    fn new(seed: u64, cycle: u64) -> Plan {
        let mut rng = Rng::derive(seed, STREAM_KILL, cycle);
        let micros = |rng: &mut Rng, most: u64| Duration::from_micros(rng.below(most));
        match rng.below(100) {
            0..=54 => {
                let n = if rng.chance(600) {
                    rng.below(100)
                } else {
                    rng.range(100, 600)
                };
                Plan::AfterAcks {
                    n,
                    delay: micros(&mut rng, 3000),
                }
            }
            55..=74 => Plan::OnStep {
                kind: rng.pick(&["flush", "compact", "reopen"]),
                nth: rng.range(1, 3),
                delay: micros(&mut rng, 20_000),
            },
            75..=84 => Plan::DuringOpen {
                delay: micros(&mut rng, 15_000),
            },
            _ => Plan::AtTime {
                delay: micros(&mut rng, 400_000),
            },
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Plan::AfterAcks { .. } => "after-acks",
            Plan::OnStep { .. } => "on-step",
            Plan::DuringOpen { .. } => "during-open",
            Plan::AtTime { .. } => "at-time",
        }
    }
}

/// What a run of kill cycles did.
#[derive(Debug, Default)]
pub struct Report {
    /// Cycles run.
    pub cycles: u64,
    /// Children killed with SIGKILL.
    pub kills: u64,
    /// ... of which before their dump was complete (inside open or the dump).
    pub kills_before_ready: u64,
    /// Children that finished their budget and exited.
    pub clean_exits: u64,
    /// Kills by plan.
    pub plans: BTreeMap<&'static str, u64>,
    /// Steps started by kind (`w` for writes).
    pub steps: BTreeMap<String, u64>,
    /// The ledger's counters.
    pub tally: Tally,
    /// Wall time.
    pub elapsed: Duration,
}

/// Runs `settings.cycles` kill cycles of engine `L`; panics on the first violation,
/// naming the seed and cycle.
pub fn run<L: Load>(settings: &Settings) -> Report {
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = tmp.path().join("db");
    let log = tmp.path().join("child-stderr.log");
    let mut ledger = Ledger::<L::Key, L::Val>::new();
    let mut report = Report::default();
    for cycle in 0..settings.cycles {
        if let Err(e) = cycle_once::<L>(settings, cycle, &dir, &log, &mut ledger, &mut report) {
            panic!(
                "{} kill cycle {cycle} (base seed {}; replay: {}): {e}",
                L::NAME,
                settings.seed,
                settings.replay_hint()
            );
        }
        if settings.verbose || (cycle + 1) % 100 == 0 {
            eprintln!(
                "[{}] cycle {}: {} kills, {} writes acknowledged, {} keys live",
                L::NAME,
                cycle + 1,
                report.kills,
                ledger.tally.acked,
                ledger.state().len()
            );
        }
    }
    if let Err(e) = final_check::<L>(settings, &dir, &mut ledger) {
        panic!(
            "{} after the last kill cycle (base seed {}): {e}",
            L::NAME,
            settings.seed
        );
    }
    report.cycles = settings.cycles;
    report.tally = ledger.tally;
    report.elapsed = started.elapsed();
    report
}

/// The parent opens the directory itself: the last recovery, then a clean close and
/// one more open that must read the same.
fn final_check<L: Load>(
    settings: &Settings,
    dir: &Path,
    ledger: &mut Ledger<L::Key, L::Val>,
) -> Result<(), String> {
    let round = Round::<L>::new(settings.seed, settings.cycles, Mode::Kill);
    let db = L::open(dir, &round, None).map_err(|e| format!("open: {e}"))?;
    let got = L::read_all(&db)?;
    ledger.settle(&got, L::atomic)?;
    L::close(db).map_err(|e| format!("close: {e}"))?;
    let db = L::open(dir, &round, None).map_err(|e| format!("open after close: {e}"))?;
    let again = L::read_all(&db)?;
    L::close(db).map_err(|e| format!("close: {e}"))?;
    if again != got {
        return Err(format!(
            "a clean close and open changed the state: {} keys before, {} after",
            got.len(),
            again.len()
        ));
    }
    Ok(())
}

/// Reads the child's stdout line by line into a channel; a last line without its
/// newline (cut by the kill) is dropped.
fn reader(child: &mut Child) -> (Receiver<String>, std::thread::JoinHandle<()>) {
    let out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = channel();
    let handle = std::thread::spawn(move || {
        let mut out = BufReader::new(out);
        let mut buf = String::new();
        loop {
            buf.clear();
            match out.read_line(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) if !buf.ends_with('\n') => return,
                Ok(_) => {
                    if tx.send(buf.trim_end().to_owned()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    (rx, handle)
}

/// The parent's view of one child.
struct Cycle<'a, L: Load> {
    cycle: u64,
    ledger: &'a mut Ledger<L::Key, L::Val>,
    report: &'a mut Report,
    /// The entries dumped so far, until `R`.
    dump: Option<State<L>>,
    acks: u64,
    begun: BTreeMap<&'static str, u64>,
    ended: bool,
}

/// What a line told the parent (for the kill plan).
enum Event {
    Nothing,
    Ready,
    Ack,
    Began(&'static str),
}

impl<L: Load> Cycle<'_, L> {
    fn on_line(&mut self, line: &str) -> Result<Event, String> {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "D" => {
                let (k, v) = L::decode_entry(rest)?;
                self.dump.as_mut().ok_or("D after R")?.insert(k, v);
                Ok(Event::Nothing)
            }
            "R" => {
                let dump = self.dump.take().ok_or("R twice")?;
                let n: usize = rest.parse().map_err(|_| format!("bad line {line:?}"))?;
                if n != dump.len() {
                    return Err(format!("the dump has {} entries, R says {n}", dump.len()));
                }
                self.ledger
                    .settle(&dump, L::atomic)
                    .map_err(|e| format!("recovered state after the kill: {e}"))?;
                Ok(Event::Ready)
            }
            "B" => {
                let mut f = rest.splitn(4, ' ');
                let thread: usize = parse(f.next())?;
                let seq: u64 = parse(f.next())?;
                let kind = f.next().ok_or("bad B line")?;
                let kind = match kind {
                    "w" => "w",
                    "flush" => "flush",
                    "compact" => "compact",
                    "reopen" => "reopen",
                    "check" => "check",
                    "pause" => "pause",
                    _ => return Err(format!("bad step {kind:?}")),
                };
                *self.report.steps.entry(kind.to_owned()).or_default() += 1;
                *self.begun.entry(kind).or_default() += 1;
                if kind == "w" {
                    let text = f.next().ok_or("write missing")?;
                    let w = L::decode(text)?;
                    let (changes, outcome) = L::effects(&w, self.ledger.state());
                    self.ledger
                        .begin(thread, seq, changes, outcome, text.to_owned())?;
                }
                Ok(Event::Began(kind))
            }
            "A" => {
                let mut f = rest.split(' ');
                let thread: usize = parse(f.next())?;
                let seq: u64 = parse(f.next())?;
                let outcome = Outcome::parse(f.next().unwrap_or(""))?;
                if self.ledger.is_pending(thread, seq) {
                    self.ledger.ack(self.cycle, thread, seq, outcome)?;
                    self.acks += 1;
                    return Ok(Event::Ack);
                }
                Ok(Event::Nothing)
            }
            "F" => Err(format!("the child failed: {rest}")),
            "E" => {
                self.ended = true;
                Ok(Event::Nothing)
            }
            _ => Ok(Event::Nothing), // libtest's own output
        }
    }
}

fn parse<T: std::str::FromStr>(s: Option<&str>) -> Result<T, String> {
    let s = s.ok_or("missing field")?;
    s.parse().map_err(|_| format!("bad number {s:?}"))
}

/// The last few KB of the child's stderr.
fn tail(log: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = File::open(log) {
        let len = f.metadata().map_or(0, |m| m.len());
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(4096)));
        let _ = f.read_to_string(&mut s);
    }
    s
}

fn cycle_once<L: Load>(
    settings: &Settings,
    cycle: u64,
    dir: &Path,
    log: &PathBuf,
    ledger: &mut Ledger<L::Key, L::Val>,
    report: &mut Report,
) -> Result<(), String> {
    let plan = Plan::new(settings.seed, cycle);
    let round = Round::<L>::new(settings.seed, cycle, Mode::Kill);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let stderr = File::create(log).map_err(|e| e.to_string())?;
    let spawned = Instant::now();
    let mut child = Command::new(exe)
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, format!("{} {} {cycle}", L::NAME, settings.seed))
        .env(DIR_VAR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let (rx, handle) = reader(&mut child);
    let mut c = Cycle::<L> {
        cycle,
        ledger,
        report,
        dump: Some(State::<L>::new()),
        acks: 0,
        begun: BTreeMap::new(),
        ended: false,
    };
    let mut kill_at = match plan {
        Plan::DuringOpen { delay } => Some(spawned + delay),
        _ => None,
    };
    let mut last_line = Instant::now();
    let mut killed = false;
    let mut result = Ok(());
    loop {
        let now = Instant::now();
        if kill_at.is_some_and(|at| at <= now) {
            killed = true;
            break;
        }
        if now.duration_since(last_line) > STALL {
            result = Err(format!(
                "the child printed nothing for {STALL:?} (hung?); round {round:?}"
            ));
            killed = true;
            break;
        }
        let wait = kill_at.map_or(STALL, |at| at.saturating_duration_since(now));
        let line = match rx.recv_timeout(wait.min(Duration::from_secs(1))) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        last_line = Instant::now();
        let event = match c.on_line(&line) {
            Ok(e) => e,
            Err(e) => {
                result = Err(e);
                killed = true;
                break;
            }
        };
        let soon = |delay: Duration| Some(Instant::now() + delay);
        match (event, plan) {
            (Event::Ready, _) => {
                let longest = Instant::now() + LONGEST;
                kill_at = Some(kill_at.map_or(longest, |at| at.min(longest)));
                match plan {
                    Plan::AtTime { delay } | Plan::AfterAcks { n: 0, delay } => {
                        kill_at = soon(delay)
                    }
                    _ => {}
                }
            }
            (Event::Ack, Plan::AfterAcks { n, delay }) if c.acks == n => kill_at = soon(delay),
            (
                Event::Began(kind),
                Plan::OnStep {
                    kind: k,
                    nth,
                    delay,
                },
            ) if kind == k && c.begun.get(kind) == Some(&nth) => kill_at = soon(delay),
            _ => {}
        }
    }
    if killed {
        let _ = child.kill();
    }
    let status = child.wait().map_err(|e| format!("wait: {e}"))?;
    let _ = handle.join();
    // Lines written before the kill: their calls returned, so they count.
    for line in rx.try_iter() {
        if result.is_ok()
            && let Err(e) = c.on_line(&line)
        {
            result = Err(e);
        }
    }
    result.map_err(|e| format!("{e}\nround {round:?}\nchild stderr:\n{}", tail(log)))?;
    if killed {
        c.report.kills += 1;
        *c.report.plans.entry(plan.name()).or_default() += 1;
        if c.dump.is_some() {
            c.report.kills_before_ready += 1;
        }
    } else if c.ended && status.success() {
        c.report.clean_exits += 1;
    } else {
        return Err(format!(
            "the child died by itself ({status}); round {round:?}\nchild stderr:\n{}",
            tail(log)
        ));
    }
    if settings.verbose {
        eprintln!(
            "[{}] cycle {cycle}: {} {}, {} acks, in flight at the end: {}, round {:?} {} threads, bg {}",
            L::NAME,
            if killed { "killed" } else { "exited" },
            plan.name(),
            c.acks,
            c.ledger.in_flight(),
            round.sync,
            round.threads,
            round.background
        );
    }
    Ok(())
}
