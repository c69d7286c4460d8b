//! Counters of the key-value store and the [`Stats`] snapshot handed to users.
//!
//! Counters are relaxed atomics bumped on the paths that do the work (flush, compaction,
//! write stall, Bloom filter, WAL replay); [`Stats`] is a plain copy taken at one moment
//! plus the shape of the current version.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::io::wal::WalDamage;

/// Files and bytes of one level of the LSM tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LevelStats {
    /// Table files in the level.
    pub files: usize,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// A snapshot of a store's counters, from [`crate::kv::Store::stats`].
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// Write batches committed (each one WAL record at most).
    pub writes: u64,
    /// Bytes of keys and values accepted by writes.
    pub user_bytes_written: u64,
    /// Memtables flushed to level-0 tables.
    pub flushes: u64,
    /// Bytes of the tables written by flushes.
    pub flush_bytes: u64,
    /// Compactions run (trivial moves included).
    pub compactions: u64,
    /// Compactions that only moved a file one level down, without rewriting it.
    pub trivial_moves: u64,
    /// Bytes of input tables read by compactions.
    pub compaction_bytes_read: u64,
    /// Bytes of tables written by compactions.
    pub compaction_bytes_written: u64,
    /// Table bytes written (flush + compaction) per byte flushed: 1.0 means no
    /// compaction rewrote anything yet; 0.0 before the first flush. The WAL is not
    /// counted.
    pub write_amplification: f64,
    /// Writes that had to wait for a flush or compaction to catch up.
    pub stalls: u64,
    /// Total time writers spent waiting in stalls.
    pub stall_time: Duration,
    /// Table lookups answered "absent" by a Bloom filter, without reading a block.
    pub bloom_negatives: u64,
    /// WAL segments whose incomplete tail (an append cut short) was dropped by the
    /// last open.
    pub wal_torn_tails: u64,
    /// WAL segments in which the last open found a damaged record followed by more
    /// data, and recovered only the records before it
    /// ([`crate::io::wal::WalRecovery::TolerateTornTail`]): 0 or 1.
    pub wal_damaged_tails: u64,
    /// Bytes dropped with torn and damaged tails.
    pub wal_dropped_bytes: u64,
    /// Where the damage was, and how many bytes were dropped.
    pub wal_damage: Option<WalDamage>,
    /// Bytes in the active memtable.
    pub memtable_bytes: usize,
    /// Frozen memtables waiting for their flush.
    pub frozen_memtables: usize,
    /// Snapshots currently alive.
    pub live_snapshots: usize,
    /// Sequence number of the newest visible write.
    pub last_sequence: u64,
    /// Files and bytes per level, L0 first.
    pub levels: Vec<LevelStats>,
}

/// The live counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub writes: AtomicU64,
    pub user_bytes_written: AtomicU64,
    pub flushes: AtomicU64,
    pub flush_bytes: AtomicU64,
    pub compactions: AtomicU64,
    pub trivial_moves: AtomicU64,
    pub compaction_bytes_read: AtomicU64,
    pub compaction_bytes_written: AtomicU64,
    pub stalls: AtomicU64,
    pub stall_nanos: AtomicU64,
    pub bloom_negatives: AtomicU64,
}

/// Adds `n` to a counter.
#[inline]
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    /// Copies the counters into a [`Stats`] (the caller fills in the rest).
    pub(crate) fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let flushed = get(&self.flush_bytes);
        let written = flushed.saturating_add(get(&self.compaction_bytes_written));
        Stats {
            writes: get(&self.writes),
            user_bytes_written: get(&self.user_bytes_written),
            flushes: get(&self.flushes),
            flush_bytes: flushed,
            compactions: get(&self.compactions),
            trivial_moves: get(&self.trivial_moves),
            compaction_bytes_read: get(&self.compaction_bytes_read),
            compaction_bytes_written: get(&self.compaction_bytes_written),
            write_amplification: if flushed == 0 {
                0.0
            } else {
                written as f64 / flushed as f64
            },
            stalls: get(&self.stalls),
            stall_time: Duration::from_nanos(get(&self.stall_nanos)),
            bloom_negatives: get(&self.bloom_negatives),
            ..Stats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_amplification_counts_compaction_rewrites() {
        let c = Counters::default();
        assert_eq!(c.snapshot().write_amplification, 0.0);
        add(&c.flush_bytes, 100);
        assert_eq!(c.snapshot().write_amplification, 1.0);
        add(&c.compaction_bytes_written, 150);
        let s = c.snapshot();
        assert_eq!(s.write_amplification, 2.5);
        assert_eq!(s.compaction_bytes_written, 150);
    }
}
