//! Shared helpers of the key-value store's integration tests: the operation language of
//! the model-based tests ([`Op`], its proptest generator [`ops`]), the reference model
//! ([`Model`], a `BTreeMap` of `(family, key) -> value`), and [`run_ops`], which applies
//! a sequence of operations to a real store and checks it against the model after every
//! step. `run_ops` takes plain `Op`s and returns a `Result`, so a future cargo-fuzz
//! target can drive it with `arbitrary` input as easily as proptest does.
//!
//! Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use proptest::prelude::*;
use tidestore::kv::{Snapshot, Store, WriteBatch};

/// The column families the generated operations touch.
pub const CFS: [&str; 3] = ["alpha", "beta", "gamma"];

/// The key alphabet: keys are 0 to 2 of these bytes, so there are only 21 distinct keys
/// (the empty key included) and writes collide; 0x00 and 0xff test byte ordering.
pub const ALPHABET: [u8; 4] = [0x00, b'a', b'b', 0xff];

/// Number of distinct keys: 1 + 4 + 16.
pub const NUM_KEYS: u8 = 21;

/// The key with index `i` (taken modulo [`NUM_KEYS`]).
pub fn key(i: u8) -> Vec<u8> {
    let i = usize::from(i % NUM_KEYS);
    match i {
        0 => Vec::new(),
        1..=4 => vec![ALPHABET[i - 1]],
        _ => {
            let j = i - 5;
            vec![ALPHABET[j / 4], ALPHABET[j % 4]]
        }
    }
}

/// The value written by a put with `tag` and length class `len`: distinct tags give
/// distinct values; lengths range from empty to a few hundred bytes.
pub fn value(tag: u16, len: u8) -> Vec<u8> {
    let n = usize::from(len) * 3;
    let mut v = format!("v{tag}:").into_bytes();
    while v.len() < n {
        v.push(b'a' + (v.len() % 26) as u8);
    }
    if len == 0 {
        v.clear();
    }
    v
}

/// The family name of index `i` (modulo the number of families).
pub fn cf(i: u8) -> &'static str {
    CFS[usize::from(i) % CFS.len()]
}

/// One write inside a batch: `value == None` is a delete.
#[derive(Debug, Clone)]
pub struct BatchEntry {
    /// Family index (see [`cf`]).
    pub cf: u8,
    /// Key index (see [`key`]).
    pub key: u8,
    /// `Some((tag, len))` for a put (see [`value`]), `None` for a delete.
    pub value: Option<(u16, u8)>,
}

/// One step of a model-based test.
#[derive(Debug, Clone)]
pub enum Op {
    /// `put(cf, key, value(tag, len))`.
    Put { cf: u8, key: u8, tag: u16, len: u8 },
    /// `delete(cf, key)`.
    Delete { cf: u8, key: u8 },
    /// `get(cf, key)`, compared with the model.
    Get { cf: u8, key: u8 },
    /// `range(cf, (lo, hi))` with key indexes as bounds, compared with the model.
    Range {
        cf: u8,
        lo: Bound<u8>,
        hi: Bound<u8>,
    },
    /// One atomic batch.
    Batch(Vec<BatchEntry>),
    /// `Store::flush`.
    Flush,
    /// `Store::compact`.
    Compact,
    /// Close (or crash, depending on the [`Env`]) and reopen.
    Reopen,
    /// Take a snapshot (replacing the previous one), remembering the model.
    TakeSnapshot,
    /// Check the snapshot (if any) still reads the model as of when it was taken.
    CheckSnapshot,
}

fn arb_bound() -> impl Strategy<Value = Bound<u8>> {
    prop_oneof![
        Just(Bound::Unbounded),
        (0..NUM_KEYS).prop_map(Bound::Included),
        (0..NUM_KEYS).prop_map(Bound::Excluded),
    ]
}

fn arb_entry() -> impl Strategy<Value = BatchEntry> {
    (
        any::<u8>(),
        0..NUM_KEYS,
        prop::option::weighted(0.7, (any::<u16>(), 0..100u8)),
    )
        .prop_map(|(cf, key, value)| BatchEntry { cf, key, value })
}

/// One random operation, weighted towards writes.
pub fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (any::<u8>(), 0..NUM_KEYS, any::<u16>(), 0..100u8)
            .prop_map(|(cf, key, tag, len)| Op::Put { cf, key, tag, len }),
        10 => (any::<u8>(), 0..NUM_KEYS).prop_map(|(cf, key)| Op::Delete { cf, key }),
        8 => (any::<u8>(), 0..NUM_KEYS).prop_map(|(cf, key)| Op::Get { cf, key }),
        8 => (any::<u8>(), arb_bound(), arb_bound()).prop_map(|(cf, lo, hi)| Op::Range { cf, lo, hi }),
        10 => prop::collection::vec(arb_entry(), 1..10).prop_map(Op::Batch),
        3 => Just(Op::Flush),
        1 => Just(Op::Compact),
        2 => Just(Op::Reopen),
        2 => Just(Op::TakeSnapshot),
        3 => Just(Op::CheckSnapshot),
    ]
}

/// A random sequence of up to `max` operations.
pub fn ops(max: usize) -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(arb_op(), 1..max)
}

/// The reference model: what every family holds, and which families exist.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    /// `(family, key) -> value` for every live key.
    pub map: BTreeMap<(String, Vec<u8>), Vec<u8>>,
    /// Families created (by a put) so far; deletes never create one.
    pub cfs: BTreeSet<String>,
}

impl Model {
    /// Applies a put.
    pub fn put(&mut self, cf: &str, key: Vec<u8>, value: Vec<u8>) {
        self.cfs.insert(cf.to_string());
        self.map.insert((cf.to_string(), key), value);
    }

    /// Applies a delete.
    pub fn delete(&mut self, cf: &str, key: Vec<u8>) {
        self.map.remove(&(cf.to_string(), key));
    }

    /// The value of `key` in `cf`.
    pub fn get(&self, cf: &str, key: &[u8]) -> Option<Vec<u8>> {
        self.map.get(&(cf.to_string(), key.to_vec())).cloned()
    }

    /// The entries of `cf` within `(lo, hi)`, in key order (an inverted range is empty).
    pub fn range(&self, cf: &str, lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> Rows {
        self.map
            .iter()
            .filter(|((c, k), _)| c == cf && in_bounds(k, lo, hi))
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Rows of a range scan.
pub type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// Whether `k` lies within `(lo, hi)`.
pub fn in_bounds(k: &[u8], lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    let above = match lo {
        Bound::Included(l) => k >= l.as_slice(),
        Bound::Excluded(l) => k > l.as_slice(),
        Bound::Unbounded => true,
    };
    let below = match hi {
        Bound::Included(h) => k <= h.as_slice(),
        Bound::Excluded(h) => k < h.as_slice(),
        Bound::Unbounded => true,
    };
    above && below
}

/// Maps a bound on key indexes to a bound on keys.
pub fn key_bound(b: Bound<u8>) -> Bound<Vec<u8>> {
    match b {
        Bound::Included(i) => Bound::Included(key(i)),
        Bound::Excluded(i) => Bound::Excluded(key(i)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Collects a range scan, turning an error into a message.
pub fn collect(it: tidestore::kv::RangeIter) -> Result<Rows, String> {
    it.collect::<tidestore::Result<Rows>>()
        .map_err(|e| format!("range scan failed: {e}"))
}

/// How [`run_ops`] opens a store and ends a session at [`Op::Reopen`].
pub trait Env {
    /// Opens (or reopens) the store.
    fn open(&mut self) -> Store;
    /// Ends the store's life: a clean close, or a simulated crash.
    fn end(&mut self, store: Store);
}

/// Compares the whole store (every family, full scans and point reads of every key, the
/// list of families) with `model`.
pub fn check_all(store: &Store, model: &Model) -> Result<(), String> {
    let listed: BTreeSet<String> = store.list_column_families().into_iter().collect();
    if listed != model.cfs {
        return Err(format!("families: store {listed:?}, model {:?}", model.cfs));
    }
    for name in CFS {
        let got = collect(store.range(name, ..).map_err(|e| e.to_string())?)?;
        let want = model.range(name, &Bound::Unbounded, &Bound::Unbounded);
        if got != want {
            return Err(format!(
                "full scan of {name}: store {got:?}, model {want:?}"
            ));
        }
    }
    Ok(())
}

/// Point reads of every key of every family, compared with `model`.
pub fn check_gets(store: &Store, model: &Model) -> Result<(), String> {
    for name in CFS {
        for i in 0..NUM_KEYS {
            let k = key(i);
            let got = store.get(name, &k).map_err(|e| e.to_string())?;
            let want = model.get(name, &k);
            if got != want {
                return Err(format!("get({name}, {k:?}): store {got:?}, model {want:?}"));
            }
        }
    }
    Ok(())
}

fn check_snapshot(snap: &Snapshot<'_>, model: &Model) -> Result<(), String> {
    for name in CFS {
        let got = collect(snap.range(name, ..).map_err(|e| e.to_string())?)?;
        let want = model.range(name, &Bound::Unbounded, &Bound::Unbounded);
        if got != want {
            return Err(format!(
                "snapshot scan of {name}: store {got:?}, model {want:?}"
            ));
        }
        for i in (0..NUM_KEYS).step_by(4) {
            let k = key(i);
            let got = snap.get(name, &k).map_err(|e| e.to_string())?;
            if got != model.get(name, &k) {
                return Err(format!("snapshot get({name}, {k:?}): {got:?}"));
            }
        }
    }
    Ok(())
}

/// Applies `ops` to a store opened by `env`, checking it against a model after every
/// step (and every key after every reopen). Returns the final model, or a message
/// describing the first divergence. Every write is acknowledged before the model
/// records it, so after a crash the model is exactly the acknowledged state.
pub fn run_ops(env: &mut dyn Env, ops: &[Op]) -> Result<Model, String> {
    let mut model = Model::default();
    let mut rest = ops;
    loop {
        let store = env.open();
        check_all(&store, &model)?;
        check_gets(&store, &model)?;
        let end = rest
            .iter()
            .position(|op| matches!(op, Op::Reopen))
            .unwrap_or(rest.len());
        run_session(&store, &mut model, &rest[..end])?;
        env.end(store);
        if end == rest.len() {
            return Ok(model);
        }
        rest = &rest[end + 1..];
    }
}

/// Applies operations without a reopen to one open store.
fn run_session(store: &Store, model: &mut Model, ops: &[Op]) -> Result<(), String> {
    run_session_observed(store, model, ops, &mut |_, _| {})
}

/// What a step of a session made of the model: a write acknowledged (`model` is the
/// new acknowledged state) or everything so far made durable (a flush or compaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A write was acknowledged.
    Acked,
    /// A flush or compaction succeeded.
    Durable,
}

/// [`run_session`], telling `observe` of every acknowledged write and durable point
/// (the power-cut fuzz target records the states a crash may leave).
pub fn run_session_observed(
    store: &Store,
    model: &mut Model,
    ops: &[Op],
    observe: &mut dyn FnMut(Step, &Model),
) -> Result<(), String> {
    let mut snap: Option<(Snapshot<'_>, Model)> = None;
    for (step, op) in ops.iter().enumerate() {
        let fail = |e: String| format!("step {step} ({op:?}): {e}");
        apply(store, model, &mut snap, op, observe).map_err(fail)?;
        check_all(store, model).map_err(fail)?;
    }
    if let Some((s, m)) = &snap {
        check_snapshot(s, m)?;
    }
    Ok(())
}

fn apply<'a>(
    store: &'a Store,
    model: &mut Model,
    snap: &mut Option<(Snapshot<'a>, Model)>,
    op: &Op,
    observe: &mut dyn FnMut(Step, &Model),
) -> Result<(), String> {
    let err = |e: tidestore::Error| e.to_string();
    match op {
        Op::Put {
            cf: c,
            key: k,
            tag,
            len,
        } => {
            let (name, k, v) = (cf(*c), key(*k), value(*tag, *len));
            store.put(name, &k, &v).map_err(err)?;
            model.put(name, k, v);
            observe(Step::Acked, model);
        }
        Op::Delete { cf: c, key: k } => {
            let (name, k) = (cf(*c), key(*k));
            store.delete(name, &k).map_err(err)?;
            model.delete(name, k);
            observe(Step::Acked, model);
        }
        Op::Get { cf: c, key: k } => {
            let (name, k) = (cf(*c), key(*k));
            let got = store.get(name, &k).map_err(err)?;
            let want = model.get(name, &k);
            if got != want {
                return Err(format!("get: store {got:?}, model {want:?}"));
            }
        }
        Op::Range { cf: c, lo, hi } => {
            let name = cf(*c);
            let (lo, hi) = (key_bound(*lo), key_bound(*hi));
            let got = collect(store.range(name, (lo.clone(), hi.clone())).map_err(err)?)?;
            let want = model.range(name, &lo, &hi);
            if got != want {
                return Err(format!("range: store {got:?}, model {want:?}"));
            }
        }
        Op::Batch(entries) => {
            let mut batch = WriteBatch::new();
            let mut next = model.clone();
            for e in entries {
                let (name, k) = (cf(e.cf), key(e.key));
                match e.value {
                    Some((tag, len)) => {
                        let v = value(tag, len);
                        batch.put(name, &k, &v);
                        next.put(name, k, v);
                    }
                    None => {
                        batch.delete(name, &k);
                        next.delete(name, k);
                    }
                }
            }
            store.write(batch).map_err(err)?;
            *model = next;
            observe(Step::Acked, model);
        }
        Op::Flush => {
            store.flush().map_err(err)?;
            observe(Step::Durable, model);
        }
        Op::Compact => {
            store.compact().map_err(err)?;
            observe(Step::Durable, model);
        }
        Op::Reopen => return Err("Reopen inside a session".into()),
        Op::TakeSnapshot => *snap = Some((store.snapshot(), model.clone())),
        Op::CheckSnapshot => {
            if let Some((s, m)) = snap.as_ref() {
                check_snapshot(s, m)?;
            }
        }
    }
    Ok(())
}
