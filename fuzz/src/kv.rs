//! Target `kv_model`: `kv::Store` on `SimFs` against the `BTreeMap` model of
//! `tests/support_kv/mod.rs`, with the op language of that file (put, delete, get, range
//! with every bound kind, multi-family batch, flush, compact, reopen, snapshots) over
//! its 21 keys in 3 column families.
//!
//! The input also varies the tables (compression, Bloom filters, restart interval) and
//! how often the manifest is rewritten.
//!
//! The input picks how every session ends (at each `Reopen` and at the end), and so
//! what recovery must give back:
//!
//! | ending | sync mode | after reopen |
//! | --- | --- | --- |
//! | `Close` | `Os` | exactly the acknowledged state (`close()` syncs) |
//! | `Kill` | `Os` | exactly the acknowledged state (`kill -9`: the OS keeps what it was handed) |
//! | `PowerCut` | `Always` | exactly the acknowledged state (every write was fsync'd) |
//! | `PowerCutOs` | `Os` | the state after SOME prefix of the acknowledged writes, no shorter than the last `flush` / `compact` |
//!
//! The first three run `support_kv::run_ops`, the very checker of the proptest in
//! `tests/kv_model.rs` (every step compared with the model; every key read after each
//! reopen), plus one last reopen. `PowerCutOs` needs a model that remembers every
//! acknowledged state since the last durable point: [`run_prefix`] (same ops, same
//! comparisons). Flushes and compactions run inline (`background_work(false)`), so a
//! run is deterministic.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};
use tidestore::io::fs::FileSystem;
use tidestore::io::gate_fs::GateFs;
use tidestore::io::sim_fs::SimFs;
use tidestore::kv::{Options, Store, SyncMode, TableOptions};

use crate::history::History;
use crate::support_kv::{
    self, BatchEntry, CFS, Env, Model, NUM_KEYS, Op, Rows, Step, check_all, check_gets, collect,
};

/// Most operations per run.
const MAX_OPS: usize = 64;
/// Most entries per batch (as in `support_kv::arb_op`).
const MAX_BATCH: usize = 9;
/// Where the store lives on the simulated file system.
const DIR: &str = "/db";

/// How every session of a run ends (see the module documentation).
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// `Store::close`, `SyncMode::Os`.
    Close,
    /// `SimFs::kill_process`, `SyncMode::Os`.
    Kill,
    /// `SimFs::crash`, `SyncMode::Always`.
    PowerCut,
    /// `SimFs::crash`, `SyncMode::Os`.
    PowerCutOs,
}

/// Table settings varied by the input, on top of the tiny sizes of the proptest.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Tuning {
    /// Snappy-compress blocks.
    pub compression: bool,
    /// Build Bloom filters (10 bits per key) or none.
    pub bloom: bool,
    /// Restart interval, 1 + this % 4.
    pub restart: u8,
    /// `manifest_rewrite_bytes`: the default (4 MiB, never reached here), 0, 256 or
    /// 2048, so the manifest is also rewritten (at every edit, or every few), across
    /// kills and power cuts.
    pub manifest: u8,
}

/// One run of the `kv_model` target.
#[derive(Debug)]
pub struct Input {
    /// How sessions end.
    pub ending: Ending,
    /// Table settings.
    pub tuning: Tuning,
    /// The operations, in the language of `tests/support_kv/mod.rs`.
    pub ops: Vec<Op>,
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let ending = u.arbitrary()?;
        let tuning = u.arbitrary()?;
        let mut ops = Vec::new();
        while !u.is_empty() && ops.len() < MAX_OPS {
            ops.push(arb_op(u)?);
        }
        Ok(Input {
            ending,
            tuning,
            ops,
        })
    }
}

fn arb_key(u: &mut Unstructured<'_>) -> arbitrary::Result<u8> {
    u.int_in_range(0..=NUM_KEYS - 1)
}

fn arb_bound(u: &mut Unstructured<'_>) -> arbitrary::Result<Bound<u8>> {
    Ok(match u.int_in_range(0..=2u8)? {
        0 => Bound::Unbounded,
        1 => Bound::Included(arb_key(u)?),
        _ => Bound::Excluded(arb_key(u)?),
    })
}

/// One operation, with the weights of `support_kv::arb_op` (out of 77).
fn arb_op(u: &mut Unstructured<'_>) -> arbitrary::Result<Op> {
    Ok(match u.int_in_range(0..=76u8)? {
        0..=29 => Op::Put {
            cf: u.arbitrary()?,
            key: arb_key(u)?,
            tag: u.arbitrary()?,
            len: u.int_in_range(0..=99)?,
        },
        30..=39 => Op::Delete {
            cf: u.arbitrary()?,
            key: arb_key(u)?,
        },
        40..=47 => Op::Get {
            cf: u.arbitrary()?,
            key: arb_key(u)?,
        },
        48..=55 => Op::Range {
            cf: u.arbitrary()?,
            lo: arb_bound(u)?,
            hi: arb_bound(u)?,
        },
        56..=65 => {
            let n = u.int_in_range(1..=MAX_BATCH)?;
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                let put = u.ratio(7, 10)?;
                entries.push(BatchEntry {
                    cf: u.arbitrary()?,
                    key: arb_key(u)?,
                    value: if put {
                        Some((u.arbitrary()?, u.int_in_range(0..=99)?))
                    } else {
                        None
                    },
                });
            }
            Op::Batch(entries)
        }
        66..=68 => Op::Flush,
        69 => Op::Compact,
        70..=71 => Op::Reopen,
        72..=73 => Op::TakeSnapshot,
        _ => Op::CheckSnapshot,
    })
}

/// The options of `tests/kv_model.rs` (`tiny`): flushes and compactions every few
/// operations. Background work off: deterministic.
fn options(fs: Arc<dyn FileSystem>, sync: SyncMode, t: Tuning) -> Options {
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
        .manifest_rewrite_bytes(match t.manifest % 4 {
            0 => Options::default().shared.manifest_rewrite_bytes,
            1 => 0,
            2 => 256,
            _ => 2048,
        })
        .table(TableOptions {
            block_size: 256,
            restart_interval: 1 + usize::from(t.restart % 4),
            bloom_bits_per_key: if t.bloom { 10 } else { 0 },
            compression: t.compression,
        })
        .background_work(false)
}

/// Runs one input; panics with the first divergence from the model.
pub fn run(input: &Input) {
    let result = match input.ending {
        Ending::PowerCutOs => run_prefix(input.tuning, &input.ops),
        ending => run_exact(ending, input.tuning, &input.ops),
    };
    if let Err(e) = result {
        panic!("kv_model ({:?}): {e}", input.ending);
    }
}

/// A session ends with a clean close, a process kill or a power cut under `Always`.
struct FuzzEnv {
    fs: SimFs,
    gate: GateFs,
    ending: Ending,
    tuning: Tuning,
}

impl Env for FuzzEnv {
    fn open(&mut self) -> Store {
        self.gate = GateFs::new(Arc::new(self.fs.clone()));
        let sync = match self.ending {
            Ending::PowerCut => SyncMode::Always,
            _ => SyncMode::Os,
        };
        let opts = options(self.gate.shared(), sync, self.tuning);
        Store::open_with(DIR, opts).unwrap_or_else(|e| panic!("open after {:?}: {e}", self.ending))
    }

    fn end(&mut self, store: Store) {
        match self.ending {
            Ending::Close => store
                .close()
                .unwrap_or_else(|e| panic!("close failed: {e}")),
            Ending::Kill => {
                self.fs.kill_process();
                self.gate.close();
                drop(store);
            }
            Ending::PowerCut | Ending::PowerCutOs => {
                self.fs.crash();
                self.gate.close();
                drop(store);
            }
        }
    }
}

fn run_exact(ending: Ending, tuning: Tuning, ops: &[Op]) -> Result<(), String> {
    let fs = SimFs::new();
    let mut env = FuzzEnv {
        gate: GateFs::new(Arc::new(fs.clone())),
        fs,
        ending,
        tuning,
    };
    let model = support_kv::run_ops(&mut env, ops)?;
    // One more recovery after the last session.
    let store = env.open();
    check_all(&store, &model).map_err(|e| format!("after the last reopen: {e}"))?;
    check_gets(&store, &model).map_err(|e| format!("after the last reopen: {e}"))?;
    env.end(store);
    Ok(())
}

/// `PowerCutOs`: like `support_kv::run_ops`, but a reopen (after a power cut) may find any
/// acknowledged state from the last durable one on; the run continues from the one
/// found. Column families are created durably before their first put, so a family may
/// outlive the put that created it.
fn run_prefix(tuning: Tuning, ops: &[Op]) -> Result<(), String> {
    let fs = SimFs::new();
    let mut history = History::new(&Model::default());
    let mut sessions = ops.split(|op| matches!(op, Op::Reopen));
    for round in 0.. {
        let gate = GateFs::new(Arc::new(fs.clone()));
        let opts = options(gate.shared(), SyncMode::Os, tuning);
        let store = Store::open_with(DIR, opts)
            .map_err(|e| format!("open after power cut {round}: {e}"))?;
        let mut model =
            recovered(&store, &history).map_err(|e| format!("after power cut {round}: {e}"))?;
        check_gets(&store, &model).map_err(|e| format!("after power cut {round}: {e}"))?;
        let Some(session) = sessions.next() else {
            return store.close().map_err(|e| format!("close: {e}"));
        };
        history = History::new(&model);
        run_session(&store, &mut model, &mut history, session)
            .map_err(|e| format!("session {round}: {e}"))?;
        fs.crash();
        gate.close();
        drop(store);
    }
    unreachable!("the loop ends with the last session")
}

fn scan_all(
    read: impl Fn(&str) -> tidestore::Result<tidestore::kv::RangeIter>,
) -> Result<Vec<Rows>, String> {
    CFS.iter()
        .map(|name| collect(read(name).map_err(|e| e.to_string())?))
        .collect()
}

fn model_rows(m: &Model) -> Vec<Rows> {
    CFS.iter()
        .map(|name| m.range(name, &Bound::Unbounded, &Bound::Unbounded))
        .collect()
}

/// The state of `history` the reopened `store` holds (newest match first), with the
/// families the store lists.
fn recovered(store: &Store, history: &History<Model>) -> Result<Model, String> {
    let rows = scan_all(|name| store.range(name, ..))?;
    let listed: BTreeSet<String> = store.list_column_families().into_iter().collect();
    let latest = history.latest();
    let found = history
        .allowed()
        .iter()
        .rev()
        .find(|m| model_rows(m) == rows)
        .ok_or_else(|| {
            format!(
                "the store holds {rows:?}, which is no acknowledged state from the last \
                 durable one ({} states, the oldest allowed {:?}, the newest {:?})",
                history.allowed().len(),
                model_rows(&history.allowed()[0]),
                model_rows(latest),
            )
        })?;
    if !found.cfs.is_subset(&listed) || !listed.is_subset(&latest.cfs) {
        return Err(format!(
            "families {listed:?}: not between {:?} and {:?}",
            found.cfs, latest.cfs
        ));
    }
    let mut model = found.clone();
    model.cfs = listed;
    Ok(model)
}

/// A session as `support_kv` runs it, recording every acknowledged state and every
/// point everything so far became durable.
fn run_session(
    store: &Store,
    model: &mut Model,
    history: &mut History<Model>,
    ops: &[Op],
) -> Result<(), String> {
    support_kv::run_session_observed(store, model, ops, &mut |step, m| match step {
        Step::Acked => history.acked(m),
        Step::Durable => history.durable(),
    })
}
