//! [`Settings`]: the environment variables of a run.
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `TORTURE_SEED` | from the clock | base seed (printed; set it to replay a run) |
//! | `TORTURE_CYCLES` | 50 | kill cycles per engine |
//! | `TORTURE_POWER_RUNS` | 6 | power-cut runs per engine (each 6 to 14 sessions on a fresh `SimFs`) |
//! | `TORTURE_VERBOSE` | off | a line per cycle and session |

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The knobs of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base seed: every random choice of the run derives from it.
    pub seed: u64,
    /// Kill cycles per engine.
    pub cycles: u64,
    /// Power-cut runs per engine.
    pub power_runs: u64,
    /// A line per cycle.
    pub verbose: bool,
}

fn var<T: std::str::FromStr>(name: &str) -> Option<T> {
    let v = std::env::var(name).ok()?;
    match v.parse() {
        Ok(x) => Some(x),
        Err(_) => panic!("{name}={v:?} does not parse"),
    }
}

impl Settings {
    /// The settings given by the environment.
    pub fn from_env() -> Settings {
        // One seed for every test of the process, so one number replays them all.
        static CLOCK: OnceLock<u64> = OnceLock::new();
        let seed = var("TORTURE_SEED").unwrap_or_else(|| {
            *CLOCK.get_or_init(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            })
        });
        Settings {
            seed,
            cycles: var("TORTURE_CYCLES").unwrap_or(50),
            power_runs: var("TORTURE_POWER_RUNS").unwrap_or(6),
            verbose: std::env::var_os("TORTURE_VERBOSE").is_some(),
        }
    }

    /// The environment that replays this run.
    pub fn replay_hint(&self) -> String {
        format!(
            "TORTURE_SEED={} TORTURE_CYCLES={} TORTURE_POWER_RUNS={} cargo test --release \
             --test crash_torture -- --nocapture",
            self.seed, self.cycles, self.power_runs
        )
    }
}
