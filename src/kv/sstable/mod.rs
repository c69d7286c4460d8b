//! Sorted string tables: the immutable, memory-mapped files of the key-value store.
//!
//! A table holds internal entries `(user key, seq, kind, value)` in
//! [`crate::kv::core::key::compare`] order, in prefix-compressed data blocks (each
//! snappy-compressed when that pays and checksummed), followed by a Bloom filter over the
//! user keys, the key range, a block index and a fixed-layout footer. The byte layout is
//! documented in `docs/format.md (part 3)`.
//!
//! [`TableBuilder`] writes a table from sorted entries; [`Table`] opens one (verifying
//! footer, index and filter), answers point lookups ([`Table::get`], Bloom filter first)
//! and hands out [`TableIter`]s, which implement [`crate::kv::core::iter::KvIterator`].
//!
//! Module map: `format` (header, footer, constants), `frame` (block trailer:
//! compression and checksum), `block_builder` / `block` (the block encoding),
//! `index` (separators, the decoded index), `builder`, `table`, `iter`.

mod block;
mod block_builder;
mod builder;
mod format;
mod frame;
mod index;
mod iter;
mod layout;
mod table;

pub use builder::TableBuilder;
pub use iter::TableIter;
pub use layout::{DataBlockLayout, StoredBlock, TableLayout};
pub use table::{Table, TableStats};

use crate::{Error, Result};

/// Longest user key a table accepts (16 MiB; the store's own limit is lower).
pub const MAX_KEY_LEN: usize = 16 << 20;
/// Longest value a table accepts (1 GiB; the store's own limit is lower).
pub const MAX_VALUE_LEN: usize = 1 << 30;
/// Largest [`TableOptions::block_size`] (256 MiB). With [`MAX_KEY_LEN`] and
/// [`MAX_VALUE_LEN`] this keeps every data block under 4 GiB, the limit of its 32-bit
/// restart offsets.
pub const MAX_BLOCK_SIZE: usize = 256 << 20;

/// How a table is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    /// Target uncompressed size of a data block, in bytes: a block is closed once it
    /// reaches this size. Default 4096. Valid: 1 ..= [`MAX_BLOCK_SIZE`].
    pub block_size: usize,
    /// A full key (a restart point) every this many entries of a block; the keys in
    /// between are prefix-compressed against their predecessor. Default 16. Valid: >= 1.
    pub restart_interval: usize,
    /// Bloom filter bits per distinct user key; 0 writes no filter. Default 10
    /// (about 0.8 % false positives). Valid: 0 ..= 64.
    pub bloom_bits_per_key: u32,
    /// Snappy-compress blocks (each one is stored compressed only when that saves at
    /// least 1/8 of its size). Default true.
    pub compression: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            block_size: 4096,
            restart_interval: 16,
            bloom_bits_per_key: 10,
            compression: true,
        }
    }
}

impl TableOptions {
    /// Checks the options for values a table cannot be built with.
    pub fn validate(&self) -> Result<()> {
        if self.block_size == 0 || self.block_size > MAX_BLOCK_SIZE {
            return Err(Error::invalid(format!(
                "block_size must be in 1..={MAX_BLOCK_SIZE}, got {}",
                self.block_size
            )));
        }
        if self.restart_interval == 0 {
            return Err(Error::invalid("restart_interval must be at least 1"));
        }
        if self.bloom_bits_per_key > 64 {
            return Err(Error::invalid(format!(
                "bloom_bits_per_key must be in 0..=64, got {}",
                self.bloom_bits_per_key
            )));
        }
        Ok(())
    }
}

/// What a finished table holds: returned by [`TableBuilder::finish`] and
/// [`Table::info`]. For an empty table the keys are empty and the sequence numbers 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableInfo {
    /// Size of the file in bytes.
    pub file_size: u64,
    /// Entries (versions, tombstones included).
    pub entries: u64,
    /// The smallest user key.
    pub smallest: Vec<u8>,
    /// The largest user key.
    pub largest: Vec<u8>,
    /// The smallest sequence number of any entry.
    pub min_seq: u64,
    /// The largest sequence number of any entry.
    pub max_seq: u64,
    /// Entries that are tombstones ([`crate::kv::core::key::ValueKind::Delete`]).
    pub tombstones: u64,
}
