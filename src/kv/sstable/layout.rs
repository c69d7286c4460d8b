//! The layout of an open table, for inspection tools (`tidestore dump`, `verify`):
//! every block with its place, size and compression, and per data block its entries.
//!
//! [`Table::layout`] walks every data block through the table's own block reader, so
//! it also checks what `open` leaves to reads: each data block's checksum and
//! encoding, that entries are strictly ascending in internal-key order across the
//! whole table, that the index leads to each block's entries, that the Bloom filter
//! admits every key, and that the footer's counts match the entries.

use std::cmp::Ordering;

use zerocopy::FromBytes;

use super::TableInfo;
use super::format::{FOOTER_LEN, Footer};
use super::frame::{BlockHandle, SNAPPY};
use super::table::Table;
use crate::codec::bloom::{self, BloomFilter};
use crate::kv::key::{ValueKind, compare};
use crate::{Error, Result};

/// Where a block is stored and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBlock {
    /// File offset of the stored bytes.
    pub offset: u64,
    /// Stored size in bytes, without the 5-byte trailer.
    pub stored_size: u64,
    /// Whether the stored bytes are snappy-compressed.
    pub compressed: bool,
}

/// One data block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataBlockLayout {
    /// Where and how it is stored.
    pub stored: StoredBlock,
    /// Bytes of its contents (after decompression).
    pub size: u64,
    /// Restart points.
    pub restarts: u64,
    /// Entries (versions, tombstones included).
    pub entries: u64,
    /// Entries that are tombstones.
    pub tombstones: u64,
    /// Bytes of the entries' user keys, whole (before prefix compression).
    pub key_bytes: u64,
    /// Bytes of values.
    pub value_bytes: u64,
    /// The first entry's user key.
    pub first_key: Vec<u8>,
    /// The last entry's user key.
    pub last_key: Vec<u8>,
}

/// The layout of a table file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLayout {
    /// Counts, key range, sequence numbers and size, from the footer and key-range
    /// block.
    pub info: TableInfo,
    /// The data blocks, in file order.
    pub data_blocks: Vec<DataBlockLayout>,
    /// The Bloom filter block.
    pub filter: StoredBlock,
    /// Bits of the Bloom filter (0: no filter).
    pub bloom_bits: u64,
    /// Probes per key of the Bloom filter (0: no filter).
    pub bloom_probes: u8,
    /// The key-range block.
    pub key_range: StoredBlock,
    /// The index block.
    pub index: StoredBlock,
    /// File offset of the footer.
    pub footer_offset: u64,
}

impl Table {
    fn stored(&self, h: BlockHandle) -> StoredBlock {
        let trailer_at = h.offset.saturating_add(h.size);
        let kind = usize::try_from(trailer_at)
            .ok()
            .and_then(|at| self.file_bytes().get(at).copied());
        StoredBlock {
            offset: h.offset,
            stored_size: h.size,
            compressed: kind == Some(SNAPPY),
        }
    }

    /// Reads every block of the table and returns its layout, or the first damage
    /// found ([`Error::Corruption`] naming the file and the offset of the block).
    pub fn layout(&self) -> Result<TableLayout> {
        let file = self.file_bytes();
        let footer_at = file.len().saturating_sub(FOOTER_LEN);
        let footer_bad = || Error::corruption(self.path(), footer_at as u64, "footer unreadable");
        let footer = file
            .get(footer_at..)
            .and_then(|b| Footer::ref_from_bytes(b).ok())
            .ok_or_else(footer_bad)?;
        let filter_h = footer.filter();
        let filter_bytes = usize::try_from(filter_h.offset)
            .ok()
            .zip(usize::try_from(filter_h.size).ok())
            .and_then(|(o, s)| file.get(o..o.checked_add(s)?))
            .ok_or_else(footer_bad)?;
        let filter = BloomFilter::new(filter_bytes)
            .map_err(|e| Error::corruption(self.path(), filter_h.offset, e.0))?;

        let info = self.info();
        let mut blocks = Vec::with_capacity(self.block_count());
        let mut prev: Option<(Vec<u8>, u64)> = None;
        let (mut entries, mut tombstones) = (0u64, 0u64);
        let (mut min_seq, mut max_seq) = (u64::MAX, 0u64);
        let mut i = 0;
        while let Some((h, mut it)) = self.data_block(i)? {
            let bad = |what: String| Error::corruption(self.path(), h.offset, what);
            let (size, restarts) = it.sizes();
            let mut b = DataBlockLayout {
                stored: self.stored(h),
                size: size as u64,
                restarts: restarts as u64,
                entries: 0,
                tombstones: 0,
                key_bytes: 0,
                value_bytes: 0,
                first_key: Vec::new(),
                last_key: Vec::new(),
            };
            it.seek_to_first().map_err(|e| self.data_corruption(h, e))?;
            while it.valid() {
                let (key, seq) = (it.key(), it.seq());
                if let Some((pk, ps)) = &prev
                    && compare(pk, *ps, key, seq) != Ordering::Less
                {
                    return Err(bad(format!(
                        "data block {i}: entries out of internal-key order"
                    )));
                }
                if b.entries == 0 {
                    b.first_key = key.to_vec();
                    if self.find_block(key, seq) != i {
                        return Err(bad(format!(
                            "data block {i}: the index does not lead to its first entry"
                        )));
                    }
                }
                if prev.as_ref().is_none_or(|(pk, _)| pk.as_slice() != key)
                    && !filter.may_contain_hash(bloom::hash(key))
                {
                    return Err(bad(format!(
                        "data block {i}: the Bloom filter rules out a key the table holds"
                    )));
                }
                b.entries += 1;
                b.key_bytes += key.len() as u64;
                b.value_bytes += it.value().len() as u64;
                if it.kind() == ValueKind::Delete {
                    b.tombstones += 1;
                }
                min_seq = min_seq.min(seq);
                max_seq = max_seq.max(seq);
                prev = Some((key.to_vec(), seq));
                it.next().map_err(|e| self.data_corruption(h, e))?;
            }
            if let Some((last, seq)) = &prev {
                if self.find_block(last, *seq) != i {
                    return Err(bad(format!(
                        "data block {i}: the index does not lead to its last entry"
                    )));
                }
                b.last_key = last.clone();
            }
            entries += b.entries;
            tombstones += b.tombstones;
            blocks.push(b);
            i += 1;
        }
        let first = blocks.first().map(|b| b.first_key.as_slice());
        let last = prev.as_ref().map(|(k, _)| k.as_slice());
        let seqs = if entries == 0 {
            (0, 0)
        } else {
            (min_seq, max_seq)
        };
        let agrees = entries == info.entries
            && tombstones == info.tombstones
            && seqs == (info.min_seq, info.max_seq)
            && first.unwrap_or_default() == info.smallest.as_slice()
            && last.unwrap_or_default() == info.largest.as_slice();
        if !agrees {
            return Err(Error::corruption(
                self.path(),
                footer_at as u64,
                "footer counts or key range disagree with the entries",
            ));
        }
        Ok(TableLayout {
            info: info.clone(),
            data_blocks: blocks,
            filter: self.stored(filter_h),
            bloom_bits: filter.bits(),
            bloom_probes: filter.probes(),
            key_range: self.stored(footer.range()),
            index: self.stored(footer.index()),
            footer_offset: footer_at as u64,
        })
    }
}
