//! What a reader sees: the head, the frozen heads waiting for their flush, and the
//! live segments, captured together as one immutable [`ReadView`].
//!
//! The engine keeps the current view behind a lock and swaps in a new one whenever a
//! head is frozen, a flush lands or a compaction lands; a reader clones the `Arc` and
//! then reads without any engine lock, while flushes and compactions proceed.
//!
//! Recency order of the sources, newest first: the head, the frozen heads (newest
//! first), then the segments by descending generation. A newer source's value for a
//! timestamp wins; a newer source's tombstone hides older sources' points.

use std::sync::Arc;

use crate::ts::head::{Head, Tombstone};
use crate::ts::version::Version;

/// A head that no longer takes writes and waits for (or is in) its flush.
#[derive(Debug)]
pub(crate) struct FrozenHead {
    /// The frozen head; only read from now on.
    pub head: Arc<Head>,
    /// Its tombstones, sorted by (series, start, end).
    pub tombstones: Vec<Tombstone>,
    /// The first WAL segment that holds writes NOT in this head (and in no older one):
    /// once this head is flushed, WAL segments below this number are obsolete.
    pub wal_next: u64,
}

impl FrozenHead {
    /// Freezes `head`, whose writes are all in WAL segments below `wal_next`.
    pub fn new(head: Arc<Head>, wal_next: u64) -> Self {
        let mut tombstones = head.tombstones();
        tombstones.sort_unstable();
        FrozenHead {
            head,
            tombstones,
            wal_next,
        }
    }
}

/// One consistent view of every source of data.
#[derive(Debug, Default)]
pub(crate) struct ReadView {
    /// The head taking writes.
    pub head: Arc<Head>,
    /// Frozen heads, newest first.
    pub frozen: Vec<Arc<FrozenHead>>,
    /// The live segments.
    pub version: Arc<Version>,
}

impl ReadView {
    /// The newest timestamp in any source, if there is data.
    pub fn max_ts(&self) -> Option<i64> {
        let heads = std::iter::once(self.head.max_ts())
            .chain(self.frozen.iter().map(|s| s.head.max_ts()))
            .flatten();
        heads.chain(self.version.max_ts()).max()
    }
}

/// The tombstones of `series` in `sorted` (sorted by series first).
pub(crate) fn series_tombstones(sorted: &[Tombstone], series: u32) -> &[Tombstone] {
    let lo = sorted.partition_point(|t| t.0 < series);
    let rest = sorted.get(lo..).unwrap_or_default();
    rest.get(..rest.partition_point(|t| t.0 == series))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_tombstones_finds_the_run_of_one_series() {
        let t = vec![(1, 0, 5), (3, -2, 2), (3, 4, 9), (7, 1, 1)];
        assert_eq!(series_tombstones(&t, 3), &[(3, -2, 2), (3, 4, 9)]);
        assert_eq!(series_tombstones(&t, 1), &[(1, 0, 5)]);
        assert!(series_tombstones(&t, 2).is_empty());
        assert!(series_tombstones(&t, 9).is_empty());
        assert!(series_tombstones(&[], 0).is_empty());
    }
}
