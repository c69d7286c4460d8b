//! Target `ts_model`: the time-series `Db` on `SimFs` against the model of
//! `tests/support_ts/mod.rs` (`BTreeMap<(series, timestamp), value bits>` plus the
//! series defined), with the op shapes of the proptest in `tests/ts_model.rs`: insert,
//! insert_batch, series handle + append, update, delete_range, query_range (also
//! through `scan`, `query_by_tags` and the parallel `Scan::fold`), get, flush, compact,
//! and three ways to restart: a clean reopen, a process kill and a power cut.
//!
//! Options are those of the proptest: background work off, a 4 KiB head, 16-point
//! chunks, partitions 16 wide, compaction of 2 overlapping segments. Timestamps repeat
//! and arrive out of order (`i64` extremes included); values carry NaN payloads,
//! -0.0, subnormals and infinities and are compared bit for bit. After every op the
//! whole database (`query_metric` of both metrics, `list_keys`, `metrics`) must equal
//! the model.
//!
//! An input whose first byte is `0xFE` also picks how often the manifest and the
//! catalog file are rewritten ([`Tuning`]); other inputs (those saved before) keep the
//! defaults.
//!
//! The input picks the sync mode. A reopen and a kill keep exactly the acknowledged
//! state in both; a power cut keeps exactly it under `SyncMode::Always`, and under
//! `SyncMode::Os` the state after SOME prefix of the acknowledged writes, no shorter
//! than the last flush, compaction or clean reopen.

use std::path::Path;
use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};
use tidestore::SyncMode;
use tidestore::io::gate_fs::GateFs;
use tidestore::io::sim_fs::SimFs;
use tidestore::ts::Options;
use tidestore::{Db, Error, Point};

use crate::history::History;
use crate::support_ts::{
    FILTERS, METRICS, Model, Op, Row, SERIES, all_rows, assert_matches, key, rows, scan_rows,
};

/// Most operations per run.
const MAX_OPS: usize = 64;
/// Most points of one batch (as in `tests/ts_model.rs`).
const MAX_BATCH: usize = 30;
/// Most points of one append (as in `tests/ts_model.rs`).
const MAX_APPEND: usize = 40;
/// Where the database lives on the simulated file system.
const DIR: &str = "/model";

/// The sync mode of a run.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    /// `SyncMode::Os`.
    Os,
    /// `SyncMode::Always`.
    Always,
}

/// One run of the `ts_model` target.
#[derive(Debug)]
pub struct Input {
    /// Options beyond those of the proptest.
    pub tuning: Tuning,
    /// The sync mode.
    pub sync: Sync,
    /// The operations.
    pub ops: Vec<Op>,
}

/// How often the manifest and the catalog file are rewritten (each: the default, never
/// reached here, or at every edit, or every few edits), so rewrites meet kills and
/// power cuts.
#[derive(Arbitrary, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tuning {
    /// `manifest_rewrite_bytes`, by [`rewrite_bytes`].
    pub manifest: u8,
    /// `catalog_rewrite_bytes`, by [`rewrite_bytes`].
    pub catalog: u8,
}

/// The first byte of an input with a [`Tuning`]. Inputs saved before the tuning existed
/// (`fuzz/regressions/ts_model/`) start with another byte, and keep decoding, and
/// running, exactly as they did.
const TUNED: u8 = 0xFE;

/// A rewrite threshold: `default`, 0, 256 or 2048 bytes.
fn rewrite_bytes(pick: u8, default: u64) -> u64 {
    match pick % 4 {
        0 => default,
        1 => 0,
        2 => 256,
        _ => 2048,
    }
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let tuning = if u.peek_bytes(1) == Some(&[TUNED]) {
            u.bytes(1)?;
            u.arbitrary()?
        } else {
            Tuning::default()
        };
        let sync = u.arbitrary()?;
        let mut ops = Vec::new();
        while !u.is_empty() && ops.len() < MAX_OPS {
            ops.push(arb_op(u)?);
        }
        Ok(Input { tuning, sync, ops })
    }
}

const EXTREMES: [i64; 6] = [
    i64::MIN,
    i64::MIN + 1,
    i64::MAX - 1,
    i64::MAX,
    -1_000_000_000_000,
    4_000_000_000_000,
];

const SPECIALS: [u64; 12] = [
    0x0000_0000_0000_0000, // 0.0
    0x8000_0000_0000_0000, // -0.0
    0x7FF8_0000_0000_0000, // NaN
    0xFFF8_0000_0000_0000, // -NaN
    0x7FF0_0000_0000_0001, // signalling NaN with a payload
    0xFFF8_DEAD_BEEF_0001, // NaN with a payload
    0x7FF0_0000_0000_0000, // inf
    0xFFF0_0000_0000_0000, // -inf
    0x0010_0000_0000_0000, // MIN_POSITIVE
    0x0000_0000_0000_0001, // smallest subnormal
    0x7FEF_FFFF_FFFF_FFFF, // MAX
    0xFFEF_FFFF_FFFF_FFFF, // MIN
];

fn timestamp(u: &mut Unstructured<'_>) -> arbitrary::Result<i64> {
    Ok(if u.ratio(12, 13)? {
        u.int_in_range(-60..=59)?
    } else {
        EXTREMES[u.choose_index(EXTREMES.len())?]
    })
}

fn value(u: &mut Unstructured<'_>) -> arbitrary::Result<f64> {
    Ok(match u.int_in_range(0..=8u8)? {
        0..=3 => f64::from(u.int_in_range(-1000..=999i32)?),
        4..=5 => u.int_in_range(-100_000..=99_999i64)? as f64 / 100.0,
        6..=7 => f64::from_bits(u.arbitrary()?),
        _ => f64::from_bits(SPECIALS[u.choose_index(SPECIALS.len())?]),
    })
}

fn series(u: &mut Unstructured<'_>) -> arbitrary::Result<usize> {
    u.choose_index(SERIES.len())
}

fn range(u: &mut Unstructured<'_>) -> arbitrary::Result<(i64, i64)> {
    Ok(if u.ratio(4, 5)? {
        let (a, b) = (timestamp(u)?, timestamp(u)?);
        (a.min(b), a.max(b))
    } else {
        (i64::MIN, i64::MAX)
    })
}

/// One operation, with the weights of `tests/ts_model.rs` (out of 24).
fn arb_op(u: &mut Unstructured<'_>) -> arbitrary::Result<Op> {
    Ok(match u.int_in_range(0..=23u8)? {
        0..=5 => Op::Insert {
            s: series(u)?,
            t: timestamp(u)?,
            v: value(u)?,
        },
        6..=9 => {
            let n = u.int_in_range(0..=MAX_BATCH)?;
            let mut points = Vec::with_capacity(n);
            for _ in 0..n {
                points.push((series(u)?, timestamp(u)?, value(u)?));
            }
            Op::Batch(points)
        }
        10..=12 => {
            let s = series(u)?;
            let n = u.int_in_range(0..=MAX_APPEND)?;
            let mut points = Vec::with_capacity(n);
            for _ in 0..n {
                points.push((timestamp(u)?, value(u)?));
            }
            Op::Append { s, points }
        }
        13..=14 => Op::Update {
            s: series(u)?,
            t: timestamp(u)?,
            v: value(u)?,
        },
        15..=16 => {
            let (m, f, (a, b)) = (
                u.choose_index(METRICS.len())?,
                u.choose_index(FILTERS.len())?,
                range(u)?,
            );
            Op::Delete { m, f, a, b }
        }
        17..=19 => {
            let (m, f, (a, b)) = (
                u.choose_index(METRICS.len())?,
                u.choose_index(FILTERS.len())?,
                range(u)?,
            );
            Op::Query { m, f, a, b }
        }
        20 => Op::Get {
            m: u.choose_index(METRICS.len())?,
            t: timestamp(u)?,
        },
        21 => Op::Flush,
        22 => Op::Compact,
        _ => match u.int_in_range(0..=2u8)? {
            0 => Op::Reopen,
            1 => Op::Kill,
            _ => Op::PowerCut,
        },
    })
}

/// The options of `tests/ts_model.rs` (segments form quickly and overlap), with the
/// input's rewrite thresholds.
fn options(gate: &GateFs, sync: SyncMode, tuning: Tuning) -> Options {
    Options::default()
        .manifest_rewrite_bytes(rewrite_bytes(
            tuning.manifest,
            Options::default().shared.manifest_rewrite_bytes,
        ))
        .catalog_rewrite_bytes(rewrite_bytes(
            tuning.catalog,
            Options::default().catalog_rewrite_bytes,
        ))
        .background_work(false)
        .sync_mode(sync)
        .head_bytes(4096)
        .chunk_points(16)
        .partition_width(16)
        .compaction_trigger(2)
        .fs(gate.shared())
}

/// An open database and the gate its file system goes through.
struct Open {
    fs: SimFs,
    sync: SyncMode,
    tuning: Tuning,
    gate: GateFs,
    db: Db,
}

impl Open {
    fn new(fs: &SimFs, sync: SyncMode, tuning: Tuning) -> Open {
        let gate = GateFs::new(Arc::new(fs.clone()));
        let db = Db::open_with(Path::new(DIR), options(&gate, sync, tuning))
            .unwrap_or_else(|e| panic!("open: {e}"));
        Open {
            fs: fs.clone(),
            sync,
            tuning,
            gate,
            db,
        }
    }

    /// Ends this process's life by `how`, then opens the database again.
    fn restart(self, how: &Op) -> Open {
        let Open {
            fs,
            sync,
            tuning,
            gate,
            db,
        } = self;
        match how {
            Op::Reopen => db.close().unwrap_or_else(|e| panic!("close: {e}")),
            Op::Kill => {
                fs.kill_process();
                gate.close();
                drop(db);
            }
            _ => {
                fs.crash();
                gate.close();
                drop(db);
            }
        }
        Open::new(&fs, sync, tuning)
    }
}

/// The whole database, as compared: every point of both metrics, and the series keys.
fn state(db: &Db) -> (Vec<Row>, Vec<tidestore::SeriesKey>) {
    (all_rows(db), db.list_keys().expect("list_keys"))
}

fn model_state(m: &Model) -> (Vec<Row>, Vec<tidestore::SeriesKey>) {
    let rows = METRICS
        .iter()
        .flat_map(|metric| m.range(metric, i64::MIN, i64::MAX, &[]))
        .collect();
    (rows, m.keys())
}

fn metrics_of(model: &Model) -> Vec<String> {
    let mut m: Vec<String> = model
        .defined
        .iter()
        .map(|&s| SERIES[s].0.to_owned())
        .collect();
    m.dedup();
    m
}

/// Runs one input; panics with the first divergence from the model.
pub fn run(input: &Input) {
    let sync = match input.sync {
        Sync::Os => SyncMode::Os,
        Sync::Always => SyncMode::Always,
    };
    let fs = SimFs::new();
    let mut open = Open::new(&fs, sync, input.tuning);
    let mut model = Model::default();
    let mut history = History::new(&model);
    for (step, op) in input.ops.iter().enumerate() {
        let db = &open.db;
        let ctx = || format!("step {step} ({op:?}, {sync:?})");
        match op {
            Op::Insert { s, t, v } => {
                let (m, tags) = SERIES[*s];
                db.insert(m, *t, *v, tags)
                    .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
                model.insert(*s, *t, *v);
                history.acked(&model);
            }
            Op::Batch(points) => {
                let batch: Vec<Point> = points
                    .iter()
                    .map(|&(s, t, v)| Point::new(SERIES[s].0, t, v, SERIES[s].1))
                    .collect();
                db.insert_batch(&batch)
                    .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
                // Within a batch, a later point of the same series and timestamp wins.
                for &(s, t, v) in points {
                    model.insert(s, t, v);
                }
                history.acked(&model);
            }
            Op::Append { s, points } => {
                let (m, tags) = SERIES[*s];
                let h = db
                    .series(m, tags)
                    .unwrap_or_else(|e| panic!("{}: series: {e}", ctx()));
                assert_eq!(h.key(), &key(*s), "{}: handle key", ctx());
                model.defined.insert(*s);
                history.acked(&model);
                let (ts, vs): (Vec<i64>, Vec<f64>) = points.iter().copied().unzip();
                db.append(&h, &ts, &vs)
                    .unwrap_or_else(|e| panic!("{}: append: {e}", ctx()));
                for &(t, v) in points {
                    model.insert(*s, t, v);
                }
                history.acked(&model);
            }
            Op::Update { s, t, v } => {
                let (m, tags) = SERIES[*s];
                let r = db.update(m, *t, *v, tags);
                if model.points.contains_key(&(*s, *t)) {
                    r.unwrap_or_else(|e| panic!("{}: {e}", ctx()));
                    model.insert(*s, *t, *v);
                    history.acked(&model);
                } else {
                    assert!(
                        matches!(r, Err(Error::NotFound(_))),
                        "{}: update of a missing point gave {r:?}",
                        ctx()
                    );
                }
            }
            Op::Delete { m, f, a, b } => {
                db.delete_range(METRICS[*m], *a, *b, FILTERS[*f])
                    .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
                model.delete(METRICS[*m], *a, *b, FILTERS[*f]);
                history.acked(&model);
            }
            Op::Query { m, f, a, b } => query(db, &model, METRICS[*m], FILTERS[*f], *a, *b, &ctx()),
            Op::Get { m, t } => {
                let got = rows(
                    &db.get(METRICS[*m], *t)
                        .unwrap_or_else(|e| panic!("{}: {e}", ctx())),
                );
                assert_eq!(got, model.range(METRICS[*m], *t, *t, &[]), "{}: get", ctx());
            }
            Op::Flush => {
                db.flush().unwrap_or_else(|e| panic!("{}: {e}", ctx()));
                history.durable();
            }
            Op::Compact => {
                db.compact().unwrap_or_else(|e| panic!("{}: {e}", ctx()));
                let stats = db.stats();
                assert_eq!(stats.head_points, 0, "{}: head points after compact", ctx());
                assert_eq!(
                    stats.frozen_heads,
                    0,
                    "{}: frozen heads after compact",
                    ctx()
                );
                history.durable();
            }
            Op::Reopen | Op::Kill | Op::PowerCut => {
                open = open.restart(op);
                let exact = !matches!(op, Op::PowerCut) || sync == SyncMode::Always;
                if !exact {
                    let got = state(&open.db);
                    let found = history
                        .allowed()
                        .iter()
                        .rev()
                        .find(|m| model_state(m) == got);
                    match found {
                        Some(m) => model = m.clone(),
                        None => panic!(
                            "{}: after a power cut the database holds {got:?}, which is no \
                             acknowledged state from the last durable one on ({} states; \
                             the oldest allowed {:?}, the newest {:?})",
                            ctx(),
                            history.allowed().len(),
                            model_state(&history.allowed()[0]),
                            model_state(&model),
                        ),
                    }
                }
                history = History::new(&model);
            }
        }
        assert_matches(&open.db, &model);
        assert_eq!(open.db.metrics(), metrics_of(&model), "{}: metrics", ctx());
    }
    // A last compaction and clean reopen keep everything.
    open.db
        .compact()
        .unwrap_or_else(|e| panic!("last compact: {e}"));
    let open = open.restart(&Op::Reopen);
    assert_matches(&open.db, &model);
    assert_eq!(all_rows(&open.db).len(), model.points.len());
    open.db
        .close()
        .unwrap_or_else(|e| panic!("last close: {e}"));
}

/// `query_range`, `scan`, `query_by_tags` and `Scan::fold` against the model.
fn query(db: &Db, model: &Model, metric: &str, filter: &[(&str, &str)], a: i64, b: i64, ctx: &str) {
    let want = model.range(metric, a, b, filter);
    let got = rows(
        &db.query_range(metric, a, b, filter)
            .unwrap_or_else(|e| panic!("{ctx}: {e}")),
    );
    assert_eq!(got, want, "{ctx}: query_range");
    assert_eq!(scan_rows(db, metric, a, b, filter), want, "{ctx}: scan");
    let whole = model.range(metric, i64::MIN, i64::MAX, filter);
    let by_tags = rows(
        &db.query_by_tags(metric, filter)
            .unwrap_or_else(|e| panic!("{ctx}: {e}")),
    );
    assert_eq!(by_tags, whole, "{ctx}: query_by_tags");
    let (n, bits) = db
        .scan(metric, a, b, filter)
        .unwrap_or_else(|e| panic!("{ctx}: {e}"))
        .fold(
            || (0usize, 0u64),
            |(n, x), v| {
                let h = v.values().iter().fold(0u64, |h, f| h ^ f.to_bits());
                (n + v.len(), x ^ h)
            },
            |p, q| (p.0 + q.0, p.1 ^ q.1),
        )
        .unwrap_or_else(|e| panic!("{ctx}: fold: {e}"));
    assert_eq!(n, want.len(), "{ctx}: fold count");
    assert_eq!(
        bits,
        want.iter().fold(0u64, |h, r| h ^ r.2),
        "{ctx}: fold bits"
    );
}
