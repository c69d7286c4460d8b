//! Counters of a [`crate::ts::Db`] and the [`Stats`] snapshot it reports.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::io::wal::WalDamage;

/// Monotonic event counters, updated with relaxed atomics.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub points_written: AtomicU64,
    pub write_batches: AtomicU64,
    pub flushes: AtomicU64,
    pub flush_bytes: AtomicU64,
    pub compactions: AtomicU64,
    pub compaction_bytes: AtomicU64,
    pub segments_expired: AtomicU64,
    pub write_stalls: AtomicU64,
    pub query_chunks_decoded: AtomicU64,
    pub query_chunks_from_index: AtomicU64,
    pub query_chunks_skipped: AtomicU64,
    pub query_chunks_as_mantissas: AtomicU64,
}

impl Counters {
    /// Adds `n` to a counter.
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Relaxed);
    }
}

/// A snapshot of a database's sizes and counters ([`crate::ts::Db::stats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Series in the catalog.
    pub series: u64,
    /// Points in the head (a rewritten timestamp may count twice until it is read).
    pub head_points: u64,
    /// Approximate bytes held by the head.
    pub head_bytes: u64,
    /// Frozen heads waiting for their flush.
    pub frozen_heads: u64,
    /// Live segment files.
    pub segments: u64,
    /// Bytes of the live segment files.
    pub segment_bytes: u64,
    /// Points in the live segment files (overlapping segments may count a timestamp
    /// more than once until compaction).
    pub segment_points: u64,
    /// Points accepted by writes since open.
    pub points_written: u64,
    /// Write calls (batches, single points, handle appends, deletes) since open.
    pub write_batches: u64,
    /// Flushes since open.
    pub flushes: u64,
    /// Bytes of segments written by flushes since open.
    pub flush_bytes: u64,
    /// Compactions since open.
    pub compactions: u64,
    /// Bytes of segments written by compactions since open.
    pub compaction_bytes: u64,
    /// Whole segments dropped by retention since open.
    pub segments_expired: u64,
    /// Times a writer waited for a flush because too many heads were frozen.
    pub write_stalls: u64,
    /// WAL segments that ended in a torn record (an append cut short) at the last
    /// open; the torn record was dropped.
    pub wal_torn_tails: u64,
    /// WAL segments in which the last open found a damaged record followed by more
    /// data, and recovered only the records before it
    /// ([`crate::io::wal::WalRecovery::TolerateTornTail`]): 0 or 1.
    pub wal_damaged_tails: u64,
    /// Where that damage was, and how many bytes were dropped.
    pub wal_damage: Option<WalDamage>,
    /// WAL records replayed at the last open.
    pub wal_records_replayed: u64,
    /// Segment chunks that [`Db::query`](crate::ts::Db::query) and
    /// [`Db::last`](crate::ts::Db::last) decoded since open.
    pub query_chunks_decoded: u64,
    /// Segment chunks that queries answered from their chunk index entry, without
    /// decoding them, since open.
    pub query_chunks_from_index: u64,
    /// Segment chunks in a query's range that queries skipped without decoding because
    /// their index entry showed no value could pass the value filter, since open.
    pub query_chunks_skipped: u64,
    /// Of the chunks decoded, those whose values a query read as decimal mantissas and
    /// aggregated before converting (`Count`, `Min`, `Max`, `First`, `Last` over wide
    /// buckets), since open.
    pub query_chunks_as_mantissas: u64,
}

impl Stats {
    /// Fills the counter fields from `c`.
    pub(crate) fn with_counters(mut self, c: &Counters) -> Self {
        self.points_written = c.points_written.load(Relaxed);
        self.write_batches = c.write_batches.load(Relaxed);
        self.flushes = c.flushes.load(Relaxed);
        self.flush_bytes = c.flush_bytes.load(Relaxed);
        self.compactions = c.compactions.load(Relaxed);
        self.compaction_bytes = c.compaction_bytes.load(Relaxed);
        self.segments_expired = c.segments_expired.load(Relaxed);
        self.write_stalls = c.write_stalls.load(Relaxed);
        self.query_chunks_decoded = c.query_chunks_decoded.load(Relaxed);
        self.query_chunks_from_index = c.query_chunks_from_index.load(Relaxed);
        self.query_chunks_skipped = c.query_chunks_skipped.load(Relaxed);
        self.query_chunks_as_mantissas = c.query_chunks_as_mantissas.load(Relaxed);
        self
    }
}
