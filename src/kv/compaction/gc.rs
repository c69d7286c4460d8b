//! The compaction-side filter: drops the versions no reader can ever see again.
//!
//! [`VersionGc`] wraps the merged input of a compaction (or a flush) and is
//! itself a [`KvIterator`], so the table writer consumes it directly.
//!
//! # Rules
//!
//! Parameters: `smallest_snapshot` (`S`), the smallest sequence number any current or
//! future reader can read at: the oldest snapshot still held, or the last sequence number
//! of the store if none is held. `bottommost`: true when no table outside the compaction
//! (deeper levels) can hold an older version of any key in its range.
//!
//! The versions of one user key arrive newest first. A version `e` is dropped iff
//!
//! 1. *shadowed*: the version just before it (the next-newer one of the same key, kept
//!    or dropped) has a sequence number `<= S`, or the same sequence number as `e` (an
//!    exact duplicate, which only an older source can hold); or
//! 2. *obsolete tombstone*: `bottommost`, `e` is a tombstone and `e.seq <= S`.
//!
//! Why no reader notices: every reader reads at some snapshot `R >= S`.
//! Rule 1: the next-newer version `n` has `n.seq <= S <= R`, so every reader sees `n` (or
//! something newer still) before `e`. Since sequence numbers decrease along a key's
//! versions, the next-newer version is the oldest of the newer ones, so checking it
//! alone is enough. Rule 2: for every reader, `e` is either hidden by a newer visible
//! version or is the version it sees, reading "deleted". Every older version in the input
//! is dropped by rule 1 (`e.seq <= S`) and, at the bottommost level, no older version
//! exists elsewhere; without `e` the key is simply absent, which reads the same.
//!
//! Tombstones with `seq > S` stay (an old snapshot must still see the value below them),
//! and so does every tombstone when not bottommost (it must keep hiding older versions
//! in deeper levels).

use std::fmt;

use crate::Result;
use crate::kv::core::iter::KvIterator;
use crate::kv::core::key::ValueKind;

/// A [`KvIterator`] adapter that skips entries by the rules in the
/// [module documentation](self). Starts unpositioned, like its input.
pub struct VersionGc<I> {
    inner: I,
    smallest_snapshot: u64,
    bottommost: bool,
    /// The user key of the last entry examined, and that entry's sequence number.
    previous: Option<(Vec<u8>, u64)>,
    dropped: u64,
}

impl<I> fmt::Debug for VersionGc<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionGc")
            .field("smallest_snapshot", &self.smallest_snapshot)
            .field("bottommost", &self.bottommost)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl<I: KvIterator> VersionGc<I> {
    /// Filters `inner`, given the smallest snapshot still readable and whether the
    /// output goes to the bottommost level.
    pub fn new(inner: I, smallest_snapshot: u64, bottommost: bool) -> Self {
        VersionGc {
            inner,
            smallest_snapshot,
            bottommost,
            previous: None,
            dropped: 0,
        }
    }

    /// Number of entries dropped so far (what the tests check the rules with).
    #[cfg(test)]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Whether the entry `inner` is on must be dropped; records it as the previous one.
    fn examine(&mut self) -> bool {
        let (key, seq) = (self.inner.key(), self.inner.seq());
        let newer_seq = match &mut self.previous {
            Some((prev_key, prev_seq)) if prev_key.as_slice() == key => {
                Some(std::mem::replace(prev_seq, seq))
            }
            Some((prev_key, prev_seq)) => {
                prev_key.clear();
                prev_key.extend_from_slice(key);
                *prev_seq = seq;
                None
            }
            None => {
                self.previous = Some((key.to_vec(), seq));
                None
            }
        };
        let shadowed = newer_seq.is_some_and(|n| n <= self.smallest_snapshot || n == seq);
        let obsolete_tombstone = self.bottommost
            && self.inner.kind() == ValueKind::Delete
            && seq <= self.smallest_snapshot;
        shadowed || obsolete_tombstone
    }

    /// Moves `inner` forward to the first entry to keep, starting at the current one.
    fn skip_dropped(&mut self) -> Result<()> {
        while self.inner.valid() && self.examine() {
            self.dropped += 1;
            self.inner.next()?;
        }
        Ok(())
    }
}

impl<I: KvIterator> KvIterator for VersionGc<I> {
    #[inline]
    fn valid(&self) -> bool {
        self.inner.valid()
    }

    #[inline]
    fn key(&self) -> &[u8] {
        self.inner.key()
    }

    #[inline]
    fn seq(&self) -> u64 {
        self.inner.seq()
    }

    #[inline]
    fn kind(&self) -> ValueKind {
        self.inner.kind()
    }

    #[inline]
    fn value(&self) -> &[u8] {
        self.inner.value()
    }

    fn next(&mut self) -> Result<()> {
        if !self.inner.valid() {
            return Ok(());
        }
        self.inner.next()?;
        self.skip_dropped()
    }

    /// Positions on the first kept entry at or after `key`; `seek` lands on a key's
    /// newest version, so the rules see every version of it.
    fn seek(&mut self, key: &[u8]) -> Result<()> {
        self.previous = None;
        self.inner.seek(key)?;
        self.skip_dropped()
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.previous = None;
        self.inner.seek_to_first()?;
        self.skip_dropped()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::read::merge::MergingIterator;
    use crate::kv::read::merge::test_support::{Row, VecIter, drain};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// `(seq, kind, value)` of one key.
    type Version = (u64, ValueKind, Vec<u8>);

    /// Versions of each key, newest first.
    fn by_key(rows: &[Row]) -> BTreeMap<Vec<u8>, Vec<Version>> {
        let mut map: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for (k, s, kind, v) in rows {
            map.entry(k.clone())
                .or_default()
                .push((*s, *kind, v.clone()));
        }
        for versions in map.values_mut() {
            versions.sort_by_key(|v| std::cmp::Reverse(v.0));
        }
        map
    }

    /// The rules, restated over whole version lists.
    fn model(rows: &[Row], smallest: u64, bottommost: bool) -> Vec<Row> {
        let mut out = Vec::new();
        for (key, versions) in by_key(rows) {
            for (i, (seq, kind, value)) in versions.iter().enumerate() {
                let shadowed = versions[..i].iter().any(|n| n.0 <= smallest);
                let obsolete = bottommost && *kind == ValueKind::Delete && *seq <= smallest;
                if !shadowed && !obsolete {
                    out.push((key.clone(), *seq, *kind, value.clone()));
                }
            }
        }
        out
    }

    /// What a read of `key` at `snapshot` finds: the newest version `<= snapshot`.
    fn read(versions: Option<&Vec<Version>>, snapshot: u64) -> Option<(ValueKind, Vec<u8>)> {
        let v = versions?.iter().find(|v| v.0 <= snapshot)?;
        Some((v.1, v.2.clone()))
    }

    fn rows_strategy() -> impl Strategy<Value = Vec<Row>> {
        // Unique sequence numbers: a shuffled 1..=n, one per generated op.
        proptest::collection::vec(
            (
                proptest::collection::vec(0u8..3, 0..2),
                prop_oneof![Just(ValueKind::Put), Just(ValueKind::Delete)],
            ),
            0..60,
        )
        .prop_shuffle()
        .prop_map(|ops| {
            ops.into_iter()
                .enumerate()
                .map(|(i, (k, kind))| {
                    let seq = i as u64 + 1;
                    let v = if kind == ValueKind::Put {
                        seq.to_le_bytes().to_vec()
                    } else {
                        Vec::new()
                    };
                    (k, seq, kind, v)
                })
                .collect()
        })
    }

    fn filtered(rows: &[Row], smallest: u64, bottommost: bool) -> (Vec<Row>, u64) {
        let mut filter = VersionGc::new(VecIter::new(rows.to_vec()), smallest, bottommost);
        filter.seek_to_first().unwrap();
        let out = drain(&mut filter).unwrap();
        (out, filter.dropped())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn follows_the_rules(rows in rows_strategy(), smallest in 0u64..70, bottommost: bool) {
            let (out, dropped) = filtered(&rows, smallest, bottommost);
            prop_assert_eq!(&out, &model(&rows, smallest, bottommost));
            prop_assert_eq!(dropped as usize, rows.len() - out.len());
        }

        /// No reader at a snapshot `>= smallest` can tell the difference, and what is
        /// left holds at most one version per key that every reader sees.
        #[test]
        fn readers_cannot_tell(rows in rows_strategy(), smallest in 0u64..70, bottommost: bool) {
            let (out, _) = filtered(&rows, smallest, bottommost);
            let (before, after) = (by_key(&rows), by_key(&out));
            let max_seq = rows.iter().map(|r| r.1).max().unwrap_or(0);
            for key in before.keys() {
                for snapshot in smallest..=max_seq.max(smallest) + 1 {
                    let want = read(before.get(key), snapshot);
                    let got = read(after.get(key), snapshot);
                    if bottommost {
                        // Nothing lies below: a tombstone and no entry read the same.
                        let live = |r: Option<(ValueKind, Vec<u8>)>| r.filter(|r| r.0 == ValueKind::Put);
                        prop_assert_eq!(live(got), live(want));
                    } else {
                        prop_assert_eq!(got, want);
                    }
                }
                let old = after.get(key).map_or(&[][..], |v| v.as_slice());
                let old: Vec<_> = old.iter().filter(|v| v.0 <= smallest).collect();
                prop_assert!(old.len() <= 1);
                prop_assert!(!(bottommost && old.first().is_some_and(|v| v.1 == ValueKind::Delete)));
            }
        }

        #[test]
        fn seek_equals_filtering_then_seeking(
            rows in rows_strategy(),
            smallest in 0u64..70,
            bottommost: bool,
            target in proptest::collection::vec(0u8..3, 0..2),
        ) {
            let mut filter = VersionGc::new(VecIter::new(rows.clone()), smallest, bottommost);
            filter.seek(&target).unwrap();
            let want: Vec<Row> = model(&rows, smallest, bottommost)
                .into_iter()
                .filter(|r| r.0 >= target)
                .collect();
            prop_assert_eq!(drain(&mut filter).unwrap(), want);
        }
    }

    #[test]
    fn drops_exact_duplicates_from_older_sources() {
        let row = |v: &[u8]| (b"k".to_vec(), 9, ValueKind::Put, v.to_vec());
        let merged = MergingIterator::new(vec![
            Box::new(VecIter::new(vec![row(b"new")])),
            Box::new(VecIter::new(vec![row(b"old")])),
        ]);
        // Snapshot 1 is older than the duplicate, so only the duplicate rule applies.
        let mut filter = VersionGc::new(merged, 1, false);
        filter.seek_to_first().unwrap();
        assert_eq!(drain(&mut filter).unwrap(), [row(b"new")]);
        assert_eq!(filter.dropped(), 1);
    }

    #[test]
    fn keeps_what_an_old_snapshot_needs() {
        let rows = vec![
            (b"k".to_vec(), 7, ValueKind::Delete, Vec::new()),
            (b"k".to_vec(), 5, ValueKind::Put, b"five".to_vec()),
            (b"k".to_vec(), 3, ValueKind::Put, b"three".to_vec()),
            (b"k".to_vec(), 1, ValueKind::Put, b"one".to_vec()),
        ];
        // A reader at 5 sees "five"; the tombstone (7 > 5) must stay even at the bottom;
        // "three" and "one" are shadowed by "five".
        let (out, _) = filtered(&rows, 5, true);
        assert_eq!(out, rows[..2]);
        // Once every reader is past 7, nothing is left at the bottom...
        assert_eq!(filtered(&rows, 7, true).0, []);
        // ...but the tombstone stays above it, to hide deeper versions.
        assert_eq!(filtered(&rows, 7, false).0, rows[..1]);
    }
}
