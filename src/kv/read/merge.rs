//! The merging iterator: one sorted stream out of several sorted [`KvIterator`]s.
//!
//! Reads merge the memtable, the frozen memtables and the SSTables; compaction merges
//! its input tables. Children are given newest source first. The output is in
//! [`crate::kv::core::key::compare`] order; if two children hold the same `(key, seq)` (which
//! the store never produces) the earlier child's entry comes first.
//!
//! # Algorithm
//!
//! A *loser tree* (tournament tree): each internal node remembers the child that lost
//! the match played there, the overall winner sits at the top. After the winner
//! advances, only the matches on its leaf-to-root path are replayed: `ceil(log2 k)`
//! comparisons per [`KvIterator::next`], half of what a binary heap's sift-down does.
//! An exhausted child compares greater than every positioned one.

use std::fmt;

use crate::Result;
use crate::kv::core::iter::KvIterator;
use crate::kv::core::key::{ValueKind, compare};

/// A k-way merge of [`KvIterator`]s; see the [module documentation](self).
///
/// Starts unpositioned: call [`KvIterator::seek_to_first`] or [`KvIterator::seek`]
/// first. If a child fails, the error is returned and the iterator becomes invalid until
/// the next successful seek.
pub struct MergingIterator {
    children: Vec<Box<dyn KvIterator>>,
    /// `tree[0]` is the winner; `tree[i]` for `1 <= i < k` the loser of node `i`. Child
    /// `c` is the leaf at (implicit) node `k + c`; node `i`'s parent is `i / 2`.
    tree: Vec<usize>,
    /// False until a seek succeeds, and after a child error.
    positioned: bool,
}

impl fmt::Debug for MergingIterator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MergingIterator")
            .field("children", &self.children.len())
            .field("valid", &self.valid())
            .finish_non_exhaustive()
    }
}

impl MergingIterator {
    /// Merges `children`, given newest source first.
    pub fn new(children: Vec<Box<dyn KvIterator>>) -> Self {
        MergingIterator {
            tree: vec![0; children.len().max(1)],
            children,
            positioned: false,
        }
    }

    /// True if child `a` must come out before child `b`.
    #[inline]
    fn before(&self, a: usize, b: usize) -> bool {
        let (Some(x), Some(y)) = (self.children.get(a), self.children.get(b)) else {
            return a < b;
        };
        match (x.valid(), y.valid()) {
            (true, true) => compare(x.key(), x.seq(), y.key(), y.seq())
                .then(a.cmp(&b))
                .is_lt(),
            (true, false) => true,
            (false, true) => false,
            (false, false) => a < b,
        }
    }

    // Indexing in `rebuild` and `replay` cannot go out of bounds. invariant: with `k`
    // children, `tree.len() == max(k, 1)` and internal nodes are `1..k`; `winners` has
    // `2k` slots and is indexed by nodes `< 2k`; `replay` visits only parents of leaves.

    /// Plays every match from scratch, after all children were repositioned.
    fn rebuild(&mut self) {
        let k = self.children.len();
        // `winners[i]` is the winner of the subtree at node `i`, for nodes `1..2k`.
        let mut winners = vec![0; 2 * k];
        for (c, w) in winners.iter_mut().skip(k).enumerate() {
            *w = c;
        }
        for node in (1..k).rev() {
            let (left, right) = (winners[2 * node], winners[2 * node + 1]);
            let (win, lose) = if self.before(left, right) {
                (left, right)
            } else {
                (right, left)
            };
            winners[node] = win;
            self.tree[node] = lose;
        }
        self.tree[0] = if k > 1 { winners[1] } else { 0 };
    }

    /// Replays the matches on the path of child `c`, which just moved.
    #[inline]
    fn replay(&mut self, c: usize) {
        let mut winner = c;
        let mut node = (self.children.len() + c) / 2;
        while node > 0 {
            let loser = self.tree[node];
            if self.before(loser, winner) {
                self.tree[node] = winner;
                winner = loser;
            }
            node /= 2;
        }
        self.tree[0] = winner;
    }

    #[inline]
    fn current(&self) -> Option<&dyn KvIterator> {
        self.children.get(self.tree[0]).map(|c| &**c)
    }

    /// Runs `op` on every child, then rebuilds the tree; on error, becomes invalid.
    fn reposition(&mut self, mut op: impl FnMut(&mut dyn KvIterator) -> Result<()>) -> Result<()> {
        self.positioned = false;
        for child in &mut self.children {
            op(&mut **child)?;
        }
        self.rebuild();
        self.positioned = true;
        Ok(())
    }
}

impl KvIterator for MergingIterator {
    #[inline]
    fn valid(&self) -> bool {
        self.positioned && self.current().is_some_and(|c| c.valid())
    }

    #[inline]
    fn key(&self) -> &[u8] {
        self.current().map_or(&[], |c| c.key())
    }

    #[inline]
    fn seq(&self) -> u64 {
        self.current().map_or(0, |c| c.seq())
    }

    #[inline]
    fn kind(&self) -> ValueKind {
        self.current().map_or(ValueKind::Delete, |c| c.kind())
    }

    #[inline]
    fn value(&self) -> &[u8] {
        self.current().map_or(&[], |c| c.value())
    }

    fn next(&mut self) -> Result<()> {
        if !self.valid() {
            return Ok(());
        }
        let winner = self.tree[0];
        if let Some(child) = self.children.get_mut(winner)
            && let Err(e) = child.next()
        {
            self.positioned = false;
            return Err(e);
        }
        self.replay(winner);
        Ok(())
    }

    fn seek(&mut self, key: &[u8]) -> Result<()> {
        self.reposition(|c| c.seek(key))
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.reposition(|c| c.seek_to_first())
    }
}

/// An in-memory [`KvIterator`] over a sorted vector, with optional injected failures.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::Error;

    /// One internal entry: `(key, seq, kind, value)`.
    pub(crate) type Row = (Vec<u8>, u64, ValueKind, Vec<u8>);

    /// Iterates `rows`, which must be sorted in internal-key order.
    pub(crate) struct VecIter {
        rows: Vec<Row>,
        pos: usize,
        /// `next` fails when it would move onto this index (`rows.len()` = the end).
        fail_at: Option<usize>,
    }

    impl VecIter {
        /// An unpositioned iterator over `rows` (sorted here).
        pub(crate) fn new(mut rows: Vec<Row>) -> Self {
            rows.sort_by(|a, b| compare(&a.0, a.1, &b.0, b.1));
            let pos = rows.len();
            VecIter {
                rows,
                pos,
                fail_at: None,
            }
        }

        /// Makes `next` fail when it would move onto row `index`.
        pub(crate) fn failing_at(mut self, index: usize) -> Self {
            self.fail_at = Some(index);
            self
        }
    }

    impl KvIterator for VecIter {
        fn valid(&self) -> bool {
            self.pos < self.rows.len()
        }
        fn key(&self) -> &[u8] {
            &self.rows[self.pos].0
        }
        fn seq(&self) -> u64 {
            self.rows[self.pos].1
        }
        fn kind(&self) -> ValueKind {
            self.rows[self.pos].2
        }
        fn value(&self) -> &[u8] {
            &self.rows[self.pos].3
        }
        fn next(&mut self) -> Result<()> {
            if self.fail_at == Some(self.pos + 1) {
                return Err(Error::corruption("vec", self.pos as u64 + 1, "injected"));
            }
            self.pos += 1;
            Ok(())
        }
        fn seek(&mut self, key: &[u8]) -> Result<()> {
            self.pos = self.rows.partition_point(|r| r.0.as_slice() < key);
            Ok(())
        }
        fn seek_to_first(&mut self) -> Result<()> {
            self.pos = 0;
            Ok(())
        }
    }

    /// Drains `it` from its current position.
    pub(crate) fn drain(it: &mut dyn KvIterator) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        while it.valid() {
            out.push((it.key().to_vec(), it.seq(), it.kind(), it.value().to_vec()));
            it.next()?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{Row, VecIter, drain};
    use super::*;
    use crate::kv::memtable::Memtable;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn rows_strategy() -> impl Strategy<Value = Vec<Row>> {
        proptest::collection::vec(
            (
                proptest::collection::vec(0u8..4, 0..3),
                0u64..8,
                prop_oneof![Just(ValueKind::Put), Just(ValueKind::Delete)],
                proptest::collection::vec(any::<u8>(), 0..4),
            ),
            0..40,
        )
    }

    /// Every child's rows, tagged with the child index, sorted stably: what a merge
    /// must produce.
    fn expected(children: &[Vec<Row>], from: Option<&[u8]>) -> Vec<Row> {
        let mut all: Vec<(usize, Row)> = Vec::new();
        for (c, rows) in children.iter().enumerate() {
            let mut rows = rows.clone();
            rows.sort_by(|a, b| compare(&a.0, a.1, &b.0, b.1));
            all.extend(rows.into_iter().map(|r| (c, r)));
        }
        all.sort_by(|(ca, a), (cb, b)| compare(&a.0, a.1, &b.0, b.1).then(ca.cmp(cb)));
        all.into_iter()
            .map(|(_, r)| r)
            .filter(|r| from.is_none_or(|k| r.0.as_slice() >= k))
            .collect()
    }

    fn merge_of(children: &[Vec<Row>]) -> MergingIterator {
        MergingIterator::new(
            children
                .iter()
                .map(|rows| Box::new(VecIter::new(rows.clone())) as Box<dyn KvIterator>)
                .collect(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn equals_sorted_concatenation(
            children in proptest::collection::vec(rows_strategy(), 0..9),
            seeks in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..3), 0..4),
        ) {
            let mut merged = merge_of(&children);
            prop_assert!(!merged.valid());
            merged.seek_to_first().unwrap();
            prop_assert_eq!(drain(&mut merged).unwrap(), expected(&children, None));
            for key in &seeks {
                merged.seek(key).unwrap();
                prop_assert_eq!(drain(&mut merged).unwrap(), expected(&children, Some(key)));
            }
        }

        #[test]
        fn merges_memtables(children in proptest::collection::vec(rows_strategy(), 1..5)) {
            // Memtables hold one entry per (key, seq): make them unique across children.
            let mut seen = std::collections::HashSet::new();
            let children: Vec<Vec<Row>> = children
                .into_iter()
                .map(|rows| rows.into_iter().filter(|r| seen.insert((r.0.clone(), r.1))).collect())
                .collect();
            let iters = children
                .iter()
                .map(|rows| {
                    let table = Arc::new(Memtable::new());
                    for (k, s, kind, v) in rows {
                        table.insert_prefixed(&[], k, *s, *kind, v);
                    }
                    Box::new(table.iter()) as Box<dyn KvIterator>
                })
                .collect();
            let mut merged = MergingIterator::new(iters);
            merged.seek_to_first().unwrap();
            prop_assert_eq!(drain(&mut merged).unwrap(), expected(&children, None));
        }

        #[test]
        fn propagates_child_errors(
            children in proptest::collection::vec(rows_strategy(), 1..5),
            victim in any::<prop::sample::Index>(),
            at in 1usize..40,
        ) {
            let victim = victim.index(children.len());
            let iters = children
                .iter()
                .enumerate()
                .map(|(c, rows)| {
                    let it = VecIter::new(rows.clone());
                    let it = if c == victim { it.failing_at(at) } else { it };
                    Box::new(it) as Box<dyn KvIterator>
                })
                .collect();
            let mut merged = MergingIterator::new(iters);
            merged.seek_to_first().unwrap();
            let result = drain(&mut merged);
            if at <= children[victim].len() {
                prop_assert!(result.is_err());
                prop_assert!(!merged.valid());
                merged.seek_to_first().unwrap();
                prop_assert!(merged.valid());
            } else {
                prop_assert_eq!(result.unwrap(), expected(&children, None));
            }
        }
    }

    #[test]
    fn equal_entries_come_from_the_earlier_child_first() {
        let newer = vec![(b"k".to_vec(), 5, ValueKind::Put, b"new".to_vec())];
        let older = vec![(b"k".to_vec(), 5, ValueKind::Put, b"old".to_vec())];
        let mut merged = merge_of(&[older.clone(), newer.clone(), older.clone()]);
        merged.seek_to_first().unwrap();
        let values: Vec<Vec<u8>> = drain(&mut merged)
            .unwrap()
            .into_iter()
            .map(|r| r.3)
            .collect();
        assert_eq!(values, [b"old".to_vec(), b"new".to_vec(), b"old".to_vec()]);
    }

    #[test]
    fn no_children_is_empty() {
        let mut merged = MergingIterator::new(Vec::new());
        merged.seek_to_first().unwrap();
        assert!(!merged.valid());
        merged.next().unwrap();
        assert_eq!(merged.key(), b"");
    }
}
