//! Model-based tests of `kv::Store`: random sequences of puts, deletes, gets, ranges
//! (every bound kind), multi-family batches, flushes, compactions, snapshots and
//! reopens, checked after every step against a `BTreeMap` model (`support_kv::run_ops`).
//!
//! Tiny memtables (a few entries), small files and `l0_compaction_trigger = 2` make
//! flushes and compactions happen every few operations. Variants: real files with
//! background work on, the simulated file system with background work on and off, and
//! the simulated file system with a power cut (`SimFs::crash`) instead of a clean close
//! under `SyncMode::Always`, where the model is exactly the acknowledged state.

mod support_kv;

use std::path::PathBuf;
use std::sync::Arc;

use proptest::prelude::*;
use support_kv::{Env, Op, run_ops};
use tidestore::io::fs::FileSystem;
use tidestore::io::sim_fs::SimFs;
use tidestore::kv::{Options, Store, SyncMode, TableOptions};

/// Options that make flushes and compactions frequent.
fn tiny(fs: Arc<dyn FileSystem>, sync: SyncMode, background: bool) -> Options {
    Options::default()
        .fs(fs)
        .sync_mode(sync)
        .memtable_bytes(4096)
        .memtable_entries(6)
        .l0_compaction_trigger(2)
        .l0_stall_trigger(6)
        .level1_bytes(4096)
        .level_size_multiplier(2)
        .target_file_bytes(4096)
        .max_subcompactions(2)
        .table(TableOptions {
            block_size: 256,
            restart_interval: 3,
            ..TableOptions::default()
        })
        .background_work(background)
}

/// Real files in a temporary directory, clean close.
struct StdEnv {
    dir: tempfile::TempDir,
    background: bool,
}

impl Env for StdEnv {
    fn open(&mut self) -> Store {
        let fs: Arc<dyn FileSystem> = Arc::new(tidestore::io::fs::StdFs);
        Store::open_with(self.dir.path(), tiny(fs, SyncMode::Os, self.background)).unwrap()
    }
    fn end(&mut self, store: Store) {
        store.close().unwrap();
    }
}

/// The simulated file system; a clean close, or a power cut.
struct SimEnv {
    fs: SimFs,
    background: bool,
    crash: bool,
}

impl SimEnv {
    fn new(background: bool, crash: bool) -> Self {
        SimEnv {
            fs: SimFs::new(),
            background,
            crash,
        }
    }
}

impl Env for SimEnv {
    fn open(&mut self) -> Store {
        let fs: Arc<dyn FileSystem> = Arc::new(self.fs.clone());
        let sync = if self.crash {
            SyncMode::Always
        } else {
            SyncMode::Os
        };
        Store::open_with(PathBuf::from("/db"), tiny(fs, sync, self.background)).unwrap()
    }
    fn end(&mut self, store: Store) {
        if self.crash {
            // Power cut first, so that nothing the store does afterwards (its final WAL
            // sync, file deletions in destructors) can reach the "disk"; then leak the
            // handle, as a dead process would. No background threads run in this mode.
            self.fs.crash();
            std::mem::forget(store);
        } else {
            store.close().unwrap();
        }
    }
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn model_real_files_background(ops in support_kv::ops(120)) {
        let mut env = StdEnv { dir: tempfile::tempdir().unwrap(), background: true };
        run_ops(&mut env, &ops).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn model_sim_inline(ops in support_kv::ops(150)) {
        run_ops(&mut SimEnv::new(false, false), &ops).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn model_sim_background(ops in support_kv::ops(150)) {
        run_ops(&mut SimEnv::new(true, false), &ops).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn model_sim_power_cut_keeps_every_acked_write(ops in support_kv::ops(150)) {
        run_ops(&mut SimEnv::new(false, true), &ops).map_err(TestCaseError::fail)?;
    }
}

/// A long deterministic run that certainly reaches deeper levels: many overwrites of
/// few keys, a snapshot held across it, crashes in between.
#[test]
fn long_run_reaches_deep_levels_and_survives_power_cuts() {
    let mut ops = vec![Op::TakeSnapshot];
    for round in 0..6u16 {
        for i in 0..400u16 {
            let x = i.wrapping_mul(7919).wrapping_add(round * 131);
            ops.push(match x % 9 {
                0 | 1 => Op::Delete {
                    cf: (x % 3) as u8,
                    key: (x % 21) as u8,
                },
                2 => Op::Range {
                    cf: (x % 3) as u8,
                    lo: std::ops::Bound::Included((x % 21) as u8),
                    hi: std::ops::Bound::Unbounded,
                },
                _ => Op::Put {
                    cf: (x % 3) as u8,
                    key: (x % 21) as u8,
                    tag: x,
                    len: (x % 90) as u8,
                },
            });
        }
        ops.push(Op::CheckSnapshot);
        ops.push(Op::Reopen);
        ops.push(Op::TakeSnapshot);
    }
    let mut env = SimEnv::new(false, true);
    run_ops(&mut env, &ops).unwrap();
    let store = env.open();
    let stats = store.stats();
    assert!(
        stats.levels.iter().skip(1).any(|l| l.files > 0),
        "no table below L0: {:?}",
        stats.levels
    );
}
