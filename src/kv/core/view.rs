//! The read state: the active memtable, the frozen ones and the table version, swapped
//! as one `Arc` so that a reader sees all three from the same moment.
//!
//! Readers clone the current `Arc<ReadView>` under a short read lock and never block
//! on flush or compaction; an iterator keeps its read view (and so its memtables and
//! table files) alive until it is dropped.

use std::sync::Arc;

use crate::Result;
use crate::kv::memtable::Memtable;
use crate::kv::stats::Counters;
use crate::kv::version::{Found, Version};

/// Everything a read looks at.
#[derive(Debug)]
pub(crate) struct ReadView {
    /// The memtable taking writes.
    pub active: Arc<Memtable>,
    /// Frozen memtables waiting for their flush, newest first.
    pub frozen: Vec<Arc<Memtable>>,
    /// The table files.
    pub version: Arc<Version>,
}

impl ReadView {
    /// The newest version of internal user key `key` with sequence number <= `seq`:
    /// memtables newest first, then the tables.
    pub(crate) fn get(&self, key: &[u8], seq: u64, counters: &Counters) -> Result<Option<Found>> {
        if let Some(found) = self.active.get(key, seq) {
            return Ok(Some(found));
        }
        for mem in &self.frozen {
            if let Some(found) = mem.get(key, seq) {
                return Ok(Some(found));
            }
        }
        self.version.get(key, seq, counters)
    }
}
