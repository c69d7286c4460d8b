//! Snapshots: a consistent, read-only view of the store at one sequence number.
//!
//! A snapshot is just a sequence number registered in a multiset; compaction asks for
//! the oldest registered one and keeps every version a live snapshot can still see.
//! Dropping the [`Snapshot`] unregisters it.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Result;
use crate::engine::lock::lock;
use crate::kv::core::inner::Inner;
use crate::kv::read::range::{KeyRange, RangeIter};

/// The sequence numbers of live snapshots (a multiset: several may share one).
#[derive(Debug, Default)]
pub(crate) struct SnapshotList {
    seqs: Mutex<BTreeMap<u64, usize>>,
}

impl SnapshotList {
    /// Registers a snapshot at the current visible sequence number and returns it.
    /// Reading `visible` under the list's lock orders the registration with
    /// [`SnapshotList::oldest`].
    pub(crate) fn register(&self, visible: &AtomicU64) -> u64 {
        let mut seqs = lock(&self.seqs);
        let seq = visible.load(Ordering::Acquire);
        *seqs.entry(seq).or_insert(0) += 1;
        seq
    }

    /// Unregisters one snapshot at `seq`.
    pub(crate) fn release(&self, seq: u64) {
        let mut seqs = lock(&self.seqs);
        if let Some(n) = seqs.get_mut(&seq) {
            *n -= 1;
            if *n == 0 {
                seqs.remove(&seq);
            }
        }
    }

    /// The oldest sequence number any reader can ask for: the oldest snapshot, or the
    /// current visible sequence number when there is none. Versions shadowed by a newer
    /// version at or below it are invisible to everyone.
    pub(crate) fn oldest(&self, visible: &AtomicU64) -> u64 {
        let seqs = lock(&self.seqs);
        let now = visible.load(Ordering::Acquire);
        seqs.keys().next().map_or(now, |&s| s.min(now))
    }

    /// Live snapshots.
    pub(crate) fn len(&self) -> usize {
        lock(&self.seqs).values().sum()
    }
}

/// A consistent, read-only view of a [`crate::kv::Store`] as of the moment
/// [`crate::kv::Store::snapshot`] was called: later writes, flushes and compactions do
/// not change what it reads. Release it (drop it) when done: while it lives, compaction
/// keeps the versions it can see.
pub struct Snapshot<'a> {
    inner: &'a Inner,
    seq: u64,
}

impl<'a> Snapshot<'a> {
    pub(crate) fn new(inner: &'a Inner) -> Self {
        let seq = inner.snapshots.register(&inner.visible_seq);
        Snapshot { inner, seq }
    }

    /// The sequence number the snapshot reads at.
    pub fn sequence(&self) -> u64 {
        self.seq
    }

    /// The value of `key` in column family `cf` as of the snapshot.
    pub fn get(&self, cf: &str, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.inner.get_at(cf, key.as_ref(), self.seq)
    }

    /// The keys of `cf` in `range` and their values as of the snapshot, in key order.
    pub fn range(&self, cf: &str, range: impl KeyRange) -> Result<RangeIter> {
        self.inner.range_at(cf, range, self.seq)
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        self.inner.snapshots.release(self.seq);
    }
}

impl std::fmt::Debug for Snapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("seq", &self.seq).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_is_the_smallest_live_snapshot_or_now() {
        let list = SnapshotList::default();
        let visible = AtomicU64::new(5);
        assert_eq!(list.oldest(&visible), 5);
        let a = list.register(&visible);
        let b = list.register(&visible);
        visible.store(9, Ordering::Release);
        let c = list.register(&visible);
        assert_eq!((a, b, c), (5, 5, 9));
        assert_eq!(list.len(), 3);
        assert_eq!(list.oldest(&visible), 5);
        list.release(a);
        assert_eq!(list.oldest(&visible), 5, "b still holds 5");
        list.release(b);
        assert_eq!(list.oldest(&visible), 9);
        list.release(c);
        visible.store(12, Ordering::Release);
        assert_eq!(list.oldest(&visible), 12);
        assert_eq!(list.len(), 0);
        list.release(77); // unknown: ignored
    }
}
