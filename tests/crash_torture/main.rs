//! The crash-torture harness (issue 8; in the spirit of RocksDB's `db_crashtest`):
//! random workloads against both engines, killed and power-cut at random moments,
//! every recovery checked against the log of acknowledged writes. See
//! `docs/testing.md` for what it proves and how to run it long.
//!
//! - `kill_cycles_ts`, `kill_cycles_kv` (`kill.rs`): a child process on real files,
//!   1 to 4 writer threads, SIGKILL at random moments; every acknowledged write must
//!   survive in every `SyncMode`.
//! - `power_cuts_ts`, `power_cuts_kv` (`power.rs`): sessions on `SimFs` ended by a
//!   close, a kill or a power cut; after a power cut each `SyncMode` keeps what it
//!   promises.
//! - `child_entry`: the child process of the kill cycles (`child.rs`); does nothing
//!   in an ordinary run.
//!
//! The engines are behind one trait (`load.rs`; `ts_load.rs`, `kv_load.rs`), the
//! checks are in `ledger.rs`, the environment variables in `settings.rs`.

mod child;
mod kill;
mod kv_load;
mod ledger;
mod load;
mod power;
mod rng;
mod settings;
mod ts_load;

use std::path::Path;

use child::{CHILD_VAR, DIR_VAR};
use kv_load::Kv;
use load::Load;
use settings::Settings;
use ts_load::Ts;

fn in_child() -> bool {
    std::env::var_os(CHILD_VAR).is_some()
}

/// Not a test of its own: the entry point of the kill cycles' child process.
#[test]
fn child_entry() {
    let Ok(spec) = std::env::var(CHILD_VAR) else {
        return;
    };
    let dir = std::env::var_os(DIR_VAR).expect("the child's directory");
    let mut f = spec.split(' ');
    let engine = f.next().unwrap_or("");
    let seed: u64 = f.next().and_then(|s| s.parse().ok()).expect("seed");
    let round: u64 = f.next().and_then(|s| s.parse().ok()).expect("round");
    match engine {
        "ts" => child::run::<Ts>(Path::new(&dir), seed, round),
        "kv" => child::run::<Kv>(Path::new(&dir), seed, round),
        other => panic!("unknown engine {other:?}"),
    }
}

fn kill_cycles<L: Load>() {
    if in_child() {
        return;
    }
    let settings = Settings::from_env();
    eprintln!(
        "[{}] kill cycles: base seed {} ({} cycles)",
        L::NAME,
        settings.seed,
        settings.cycles
    );
    let r = kill::run::<L>(&settings);
    eprintln!(
        "[{}] {} kill cycles in {:.1?}: {} kills ({} inside open/recovery, by plan {:?}), {} \
         clean exits; {} writes acknowledged, {} recoveries checked ({} key comparisons), in \
         flight at a kill: {} applied / {} not; steps {:?}",
        L::NAME,
        r.cycles,
        r.elapsed,
        r.kills,
        r.kills_before_ready,
        r.plans,
        r.clean_exits,
        r.tally.acked,
        r.tally.recoveries,
        r.tally.keys_verified,
        r.tally.inflight_applied,
        r.tally.inflight_lost,
        r.steps
    );
    if settings.cycles >= 20 {
        assert!(
            r.kills >= settings.cycles / 2,
            "most cycles end with a kill"
        );
        assert!(r.tally.acked > settings.cycles, "the children wrote");
        for kind in ["flush", "compact"] {
            assert!(r.steps.get(kind).is_some_and(|&n| n > 0), "no {kind} ran");
        }
    }
}

fn power_cuts<L: Load>() {
    if in_child() {
        return;
    }
    let settings = Settings::from_env();
    eprintln!(
        "[{}] power cuts: base seed {} ({} runs)",
        L::NAME,
        settings.seed,
        settings.power_runs
    );
    let r = power::run::<L>(&settings);
    eprintln!(
        "[{} power] {} runs, {} sessions in {:.1?}: ends {:?}; {} writes acknowledged, {} \
         recoveries checked ({} key comparisons), {} acknowledged writes lost where the sync \
         mode allows it; steps {:?}",
        L::NAME,
        r.runs,
        r.sessions,
        r.elapsed,
        r.ends,
        r.tally.acked,
        r.tally.recoveries,
        r.tally.keys_verified,
        r.lost_allowed,
        r.steps
    );
    if settings.power_runs > 0 {
        assert!(r.tally.acked > 0, "the sessions wrote");
    }
}

#[test]
fn kill_cycles_ts() {
    kill_cycles::<Ts>();
}

#[test]
fn kill_cycles_kv() {
    kill_cycles::<Kv>();
}

#[test]
fn power_cuts_ts() {
    power_cuts::<Ts>();
}

#[test]
fn power_cuts_kv() {
    power_cuts::<Kv>();
}
