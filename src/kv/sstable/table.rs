//! An open table: the mapped file, its verified footer, decoded index and Bloom filter;
//! point lookups and block loading (checksum first, then decompression or a zero-copy
//! view of the mapped bytes).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use zerocopy::FromBytes;

use super::TableInfo;
use super::block::{BlockBytes, BlockIter};
use super::format::{
    FOOTER_LEN, FORMAT_VERSION, Footer, HEADER_LEN, Header, MAGIC, decode_key_range,
};
use super::frame::{self, BLOCK_TRAILER_LEN, BlockHandle, RAW, SNAPPY};
use super::index::Index;
use crate::codec::DecodeError;
use crate::codec::bloom::BloomFilter;
use crate::io::fs::{FileBytes, FileSystem};
use crate::kv::core::key::{MAX_SEQ, ValueKind};
use crate::{Error, Result};

/// Counters of the work a table did, for tests and monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableStats {
    /// Data blocks fetched (checksum-verified, or taken from the decoded-block cache).
    pub data_block_reads: u64,
    /// Of those, how many came from the cache of the last decompressed block.
    pub block_cache_hits: u64,
}

/// An open, immutable table. `Send + Sync`; share it as `Arc<Table>`.
#[derive(Debug)]
pub struct Table {
    path: PathBuf,
    file: FileBytes,
    index: Index,
    /// The Bloom filter's encoding, in place in the file (verified at open).
    filter: Range<usize>,
    info: TableInfo,
    data_block_reads: AtomicU64,
    block_cache_hits: AtomicU64,
    /// The last block [`Table::get`] decompressed, by offset.
    last_block: Mutex<Option<(u64, Arc<[u8]>)>>,
}

impl Table {
    /// Maps the table file at `path` and opens it ([`Table::from_bytes`]).
    pub fn open(fs: &dyn FileSystem, path: &Path) -> Result<Arc<Table>> {
        Table::from_bytes(path, fs.map(path)?)
    }

    /// Opens a table from its whole contents (`path` only names it in errors). Verifies
    /// the header, the footer, and the checksums of the index, filter and key-range
    /// blocks; data blocks are verified each time they are read.
    pub fn from_bytes(path: &Path, file: FileBytes) -> Result<Arc<Table>> {
        let corrupt = |offset: usize, what: &str| Error::corruption(path, offset as u64, what);
        let len = file.len();
        if len < HEADER_LEN + FOOTER_LEN {
            return Err(corrupt(0, "file too short to be a table"));
        }
        let footer_at = len - FOOTER_LEN;
        let footer = file
            .get(footer_at..)
            .and_then(|b| Footer::ref_from_bytes(b).ok())
            .ok_or_else(|| corrupt(footer_at, "footer unreadable"))?;
        if footer.magic != MAGIC {
            return Err(corrupt(len - 8, "bad magic number at the end of the file"));
        }
        if footer.checksum.get() != footer.compute_checksum() {
            return Err(corrupt(footer_at, "footer checksum mismatch"));
        }
        let version = footer.version.get();
        if version == 0 {
            return Err(corrupt(footer_at, "format version 0"));
        }
        if version > FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                file: path.to_path_buf(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let header = file
            .get(..HEADER_LEN)
            .and_then(|b| Header::ref_from_bytes(b).ok())
            .ok_or_else(|| corrupt(0, "header unreadable"))?;
        if header.magic != MAGIC {
            return Err(corrupt(0, "bad magic number at the start of the file"));
        }
        if header.version.get() != version || header.reserved.get() != 0 {
            return Err(corrupt(8, "header disagrees with the footer"));
        }

        // Layout: header | data blocks | filter | key range | index | footer.
        let (filter_h, range_h, index_h) = (footer.filter(), footer.range(), footer.index());
        let chained = range_h.offset == filter_h.end().unwrap_or(u64::MAX)
            && index_h.offset == range_h.end().unwrap_or(u64::MAX)
            && index_h.end() == Some(footer_at as u64)
            && filter_h.offset >= HEADER_LEN as u64;
        if !chained {
            return Err(corrupt(
                footer_at,
                "footer block handles do not tile the file",
            ));
        }
        let data_end = filter_h.offset;

        let (filter_range, filter_kind) = verified_range(&file, filter_h)
            .map_err(|e| corrupt(filter_h.offset as usize, &format!("filter block: {e}")))?;
        if filter_kind != RAW {
            return Err(corrupt(
                filter_h.offset as usize,
                "filter block is compressed",
            ));
        }
        if let Err(e) = BloomFilter::new(file.get(filter_range.clone()).unwrap_or(&[])) {
            return Err(corrupt(
                filter_h.offset as usize,
                &format!("filter block: {e}"),
            ));
        }

        let at = |h: BlockHandle| h.offset as usize;
        let range_block = read_block(&file, range_h)
            .map_err(|e| corrupt(at(range_h), &format!("key-range block: {e}")))?;
        let (smallest, largest) = decode_key_range(range_block.bytes())
            .map_err(|e| corrupt(at(range_h), &format!("key-range block: {e}")))?;

        let index = read_block(&file, index_h)
            .and_then(|b| Index::decode(b, HEADER_LEN as u64, data_end))
            .map_err(|e| corrupt(at(index_h), &format!("index block: {e}")))?;

        let info = TableInfo {
            file_size: len as u64,
            entries: footer.entries.get(),
            smallest,
            largest,
            min_seq: footer.min_seq.get(),
            max_seq: footer.max_seq.get(),
            tombstones: footer.tombstones.get(),
        };
        let consistent = if info.entries == 0 {
            index.is_empty()
                && info.tombstones == 0
                && info.min_seq == 0
                && info.max_seq == 0
                && info.smallest.is_empty()
                && info.largest.is_empty()
        } else {
            !index.is_empty()
                && info.tombstones <= info.entries
                && info.min_seq <= info.max_seq
                && info.max_seq <= MAX_SEQ
                && info.smallest <= info.largest
        };
        if !consistent {
            return Err(corrupt(footer_at, "footer counts disagree with the index"));
        }

        Ok(Arc::new(Table {
            path: path.to_path_buf(),
            file,
            index,
            filter: filter_range,
            info,
            data_block_reads: AtomicU64::new(0),
            block_cache_hits: AtomicU64::new(0),
            last_block: Mutex::new(None),
        }))
    }

    /// The file this table was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's bytes (for the inspection tools, which re-read its blocks).
    pub(crate) fn file_bytes(&self) -> &FileBytes {
        &self.file
    }

    /// What the table holds: key range, counts, sequence numbers, file size.
    pub fn info(&self) -> &TableInfo {
        &self.info
    }

    /// Counters of the blocks this table has read since it was opened.
    pub fn stats(&self) -> TableStats {
        TableStats {
            data_block_reads: self.data_block_reads.load(Ordering::Relaxed),
            block_cache_hits: self.block_cache_hits.load(Ordering::Relaxed),
        }
    }

    fn filter(&self) -> Option<BloomFilter<'_>> {
        BloomFilter::new(self.file.get(self.filter.clone())?).ok()
    }

    /// False when the Bloom filter proves no version of `key` is in the table.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        self.filter().is_none_or(|f| f.may_contain(key))
    }

    /// [`Table::may_contain`] for a key hashed with [`crate::codec::bloom::hash`], so a
    /// caller probing many tables hashes the key once.
    pub fn may_contain_hash(&self, hash: u64) -> bool {
        self.filter().is_none_or(|f| f.may_contain_hash(hash))
    }

    /// The newest version of `key` with a sequence number `<= snapshot_seq`, as
    /// `(seq, kind, value)` (tombstones have an empty value). Consults the Bloom filter
    /// first: a key it rules out costs no data-block read.
    pub fn get(&self, key: &[u8], snapshot_seq: u64) -> Result<Option<(u64, ValueKind, Vec<u8>)>> {
        if !self.may_contain(key) {
            return Ok(None);
        }
        // The first block whose separator is >= (key, snapshot_seq) holds the first entry
        // >= it, if any entry of `key` qualifies: a later block starts past the
        // separator, and separators never equal the user key of a following block.
        let i = self.index.find(key, snapshot_seq);
        let Some(handle) = self.index.handle(i) else {
            return Ok(None);
        };
        let mut it = self.block_iter(handle, true)?;
        it.seek(key, snapshot_seq)
            .map_err(|e| self.data_corruption(handle, e))?;
        if it.valid() && it.key() == key {
            Ok(Some((it.seq(), it.kind(), it.value().to_vec())))
        } else {
            Ok(None)
        }
    }

    /// Number of data blocks.
    pub(crate) fn block_count(&self) -> usize {
        self.index.len()
    }

    /// The first data block that can hold an entry `>= (key, seq)`.
    pub(crate) fn find_block(&self, key: &[u8], seq: u64) -> usize {
        self.index.find(key, seq)
    }

    /// Data block `i`, checksum-verified, ready to iterate; `None` past the last block.
    pub(crate) fn data_block(&self, i: usize) -> Result<Option<(BlockHandle, BlockIter)>> {
        match self.index.handle(i) {
            None => Ok(None),
            Some(h) => Ok(Some((h, self.block_iter(h, false)?))),
        }
    }

    /// The corruption error for damage found inside the data block at `handle`.
    pub(crate) fn data_corruption(&self, handle: BlockHandle, e: DecodeError) -> Error {
        Error::corruption(&self.path, handle.offset, format!("data block: {e}"))
    }

    /// Loads a data block. `cached`: consult and fill the last-decompressed-block cache
    /// (point lookups do; scans, which never come back, do not).
    fn block_iter(&self, handle: BlockHandle, cached: bool) -> Result<BlockIter> {
        self.data_block_reads.fetch_add(1, Ordering::Relaxed);
        let hit = cached
            .then(|| {
                let slot = self.last_block.lock().ok()?;
                let (offset, block) = slot.as_ref()?;
                (*offset == handle.offset).then(|| Arc::clone(block))
            })
            .flatten();
        let bytes = match hit {
            Some(b) => {
                self.block_cache_hits.fetch_add(1, Ordering::Relaxed);
                BlockBytes::Owned(b)
            }
            None => {
                let b =
                    read_block(&self.file, handle).map_err(|e| self.data_corruption(handle, e))?;
                if let (true, BlockBytes::Owned(v)) = (cached, &b)
                    && let Ok(mut slot) = self.last_block.lock()
                {
                    *slot = Some((handle.offset, Arc::clone(v)));
                }
                b
            }
        };
        let it = BlockIter::new(bytes).map_err(|e| self.data_corruption(handle, e))?;
        if it.is_empty() {
            return Err(self.data_corruption(handle, DecodeError("empty data block")));
        }
        Ok(it)
    }
}

/// Checks the trailer of the block at `h` and returns where its stored bytes are and
/// its compression type.
fn verified_range(file: &[u8], h: BlockHandle) -> Result<(Range<usize>, u8), DecodeError> {
    let start = usize::try_from(h.offset).map_err(|_| DecodeError("block offset overflows"))?;
    let end = usize::try_from(h.size)
        .ok()
        .and_then(|s| start.checked_add(s))
        .ok_or(DecodeError("block size overflows"))?;
    let stored = file
        .get(start..end)
        .ok_or(DecodeError("block runs past the end of the file"))?;
    let trailer = file
        .get(end..end.saturating_add(BLOCK_TRAILER_LEN))
        .ok_or(DecodeError("block trailer runs past the end of the file"))?;
    let kind = frame::verify(stored, trailer)?;
    Ok((start..end, kind))
}

/// Reads and verifies the block at `h`: in place when stored raw, decompressed when not.
fn read_block(file: &FileBytes, h: BlockHandle) -> Result<BlockBytes, DecodeError> {
    let (range, kind) = verified_range(file, h)?;
    match kind {
        SNAPPY => {
            let stored = file.get(range).unwrap_or(&[]);
            Ok(BlockBytes::Owned(Arc::from(frame::decompress(stored)?)))
        }
        _ => Ok(BlockBytes::Mapped {
            file: file.clone(),
            start: range.start,
            end: range.end,
        }),
    }
}
