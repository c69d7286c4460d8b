//! The sequence numbers of a store's live snapshots (the public handle is
//! [`crate::kv::Snapshot`]): what compaction asks for to keep every version a live
//! snapshot can still see.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::lock::lock;

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
