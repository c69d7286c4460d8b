//! The in-memory read path end to end: write batches are
//! encoded, decoded and applied to a chain of memtables (one active, older ones frozen),
//! then point and range reads at saved snapshots are checked against a `BTreeMap` model
//! of what each snapshot must see.

use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use crate::kv::batch::{WriteBatch, decode};
use crate::kv::iter::KvIterator;
use crate::kv::key::ValueKind;
use crate::kv::memtable::Memtable;
use crate::kv::read::merge::MergingIterator;
use crate::kv::read::visible::VisibleIter;
use proptest::prelude::*;

const CFS: [&str; 2] = ["default", "other"];

#[derive(Debug, Clone)]
enum Op {
    Put(usize, Vec<u8>, Vec<u8>),
    Delete(usize, Vec<u8>),
    /// Ends the current batch.
    Commit,
    /// Freezes the active memtable and starts a new one.
    Freeze,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let key = proptest::collection::vec(0u8..4, 0..3);
    prop_oneof![
        4 => (0..CFS.len(), key.clone(), proptest::collection::vec(any::<u8>(), 0..4))
            .prop_map(|(cf, k, v)| Op::Put(cf, k, v)),
        2 => (0..CFS.len(), key).prop_map(|(cf, k)| Op::Delete(cf, k)),
        2 => Just(Op::Commit),
        1 => Just(Op::Freeze),
    ]
}

/// The key a column family's user key is stored under.
fn prefix(cf: u32) -> [u8; 4] {
    cf.to_be_bytes()
}

/// The committed contents of each column family.
type Contents = [BTreeMap<Vec<u8>, Vec<u8>>; 2];

struct Store {
    /// Newest first.
    memtables: Vec<Arc<Memtable>>,
    last_seq: u64,
    /// The committed contents after each sequence number, per column family.
    states: Vec<(u64, Contents)>,
}

impl Store {
    fn commit(&mut self, batch: &mut WriteBatch, model: &mut Contents) {
        if batch.is_empty() {
            return;
        }
        batch.validate().unwrap();
        let payload = batch
            .encode(self.last_seq + 1, |name| {
                Ok(CFS.iter().position(|c| *c == name).unwrap() as u32)
            })
            .unwrap();
        let decoded = decode(&payload).unwrap();
        for (seq, op) in decoded.iter() {
            let (cf, key) = (op.cf as usize, op.key.to_vec());
            self.memtables[0].insert_prefixed(&prefix(op.cf), op.key, seq, op.kind, op.value);
            match op.kind {
                ValueKind::Put => model[cf].insert(key, op.value.to_vec()),
                ValueKind::Delete => model[cf].remove(&key),
            };
        }
        self.last_seq = decoded.last_seq().unwrap();
        self.states.push((self.last_seq, model.clone()));
        batch.clear();
    }

    fn get(&self, cf: u32, key: &[u8], snapshot: u64) -> Option<Vec<u8>> {
        self.memtables.iter().find_map(|m| {
            m.get_prefixed(&prefix(cf), key, snapshot)
                .map(|(_, kind, v)| (kind == ValueKind::Put).then_some(v))
        })?
    }

    fn range(
        &self,
        cf: u32,
        snapshot: u64,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let children = self
            .memtables
            .iter()
            .map(|m| Box::new(m.iter()) as Box<dyn KvIterator>)
            .collect();
        let pinned = self.memtables.clone();
        VisibleIter::new(
            MergingIterator::new(children),
            snapshot,
            prefix(cf).to_vec(),
            start,
            end,
        )
        .keep_alive(Box::new(pinned))
        .collect::<crate::Result<_>>()
        .unwrap()
    }
}

fn bound_strategy() -> impl Strategy<Value = Bound<Vec<u8>>> {
    let key = proptest::collection::vec(0u8..4, 0..3);
    prop_oneof![
        Just(Bound::Unbounded),
        key.clone().prop_map(Bound::Included),
        key.prop_map(Bound::Excluded),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn snapshots_read_what_was_committed(
        ops in proptest::collection::vec(op_strategy(), 0..120),
        start in bound_strategy(),
        end in bound_strategy(),
    ) {
        let mut store = Store {
            memtables: vec![Arc::new(Memtable::new())],
            last_seq: 0,
            states: vec![(0, Default::default())],
        };
        let mut model = Contents::default();
        let mut batch = WriteBatch::new();
        for op in ops.into_iter().chain([Op::Commit]) {
            match op {
                Op::Put(cf, k, v) => { batch.put(CFS[cf], k, v); }
                Op::Delete(cf, k) => { batch.delete(CFS[cf], k); }
                Op::Commit => store.commit(&mut batch, &mut model),
                Op::Freeze => store.memtables.insert(0, Arc::new(Memtable::new())),
            }
        }
        // Every key ever written, per column family: deleted ones must read as absent.
        let mut touched: [std::collections::BTreeSet<Vec<u8>>; 2] = Default::default();
        for (_, state) in &store.states {
            for (cf, contents) in state.iter().enumerate() {
                touched[cf].extend(contents.keys().cloned());
            }
        }
        for (snapshot, state) in &store.states {
            for (cf, contents) in state.iter().enumerate() {
                let cf_id = cf as u32;
                let want: Vec<(Vec<u8>, Vec<u8>)> = contents
                    .iter()
                    // `BTreeMap::range` panics on inverted bounds: filter instead.
                    .filter(|(k, _)| (start.as_ref(), end.as_ref()).contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let got = store.range(cf_id, *snapshot, start.clone(), end.clone());
                prop_assert_eq!(got, want);
                for k in &touched[cf] {
                    prop_assert_eq!(store.get(cf_id, k, *snapshot), contents.get(k).cloned());
                }
            }
        }
    }
}
