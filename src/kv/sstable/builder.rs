//! [`TableBuilder`]: writes a table file from entries given in internal-key order.
//!
//! Data blocks are written as they fill; the index entry of a block waits for the first
//! key of the next one, so its separator can be shortened. [`TableBuilder::finish`]
//! appends the Bloom filter, key-range and index blocks and the footer, then fsyncs.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromZeros, IntoBytes};

use super::block_builder::BlockBuilder;
use super::format::{FORMAT_VERSION, Footer, Header, MAGIC, encode_key_range};
use super::frame::{self, BlockHandle, Framer};
use super::index::separator;
use super::{MAX_KEY_LEN, MAX_VALUE_LEN, TableInfo, TableOptions};
use crate::codec::bloom::BloomBuilder;
use crate::io::fs::{FileSystem, WritableFile};
use crate::kv::core::key::{MAX_SEQ, ValueKind, compare, pack_trailer};
use crate::{Error, Result};

/// Appends framed blocks to the file and tracks the write offset.
struct BlockWriter {
    file: Box<dyn WritableFile>,
    framer: Framer,
    offset: u64,
}

impl BlockWriter {
    fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.file.write_all(bytes)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Writes `contents` as a block (compressed when `compress` and it pays) and
    /// returns its handle.
    fn write_block(&mut self, contents: &[u8], compress: bool) -> Result<BlockHandle> {
        let (stored, kind) = self.framer.frame(contents, compress);
        let trailer = frame::trailer(stored, kind);
        let handle = BlockHandle::new(self.offset, stored.len() as u64);
        self.file.write_all(stored)?;
        self.file.write_all(&trailer)?;
        self.offset += (stored.len() + trailer.len()) as u64;
        Ok(handle)
    }
}

/// Writes one table file. Entries must come in [`crate::kv::core::key::compare`] order,
/// each `(user key, seq)` once.
///
/// Dropping a builder without [`TableBuilder::finish`] leaves a partial file behind for
/// the caller to remove; so does any error. After an I/O error every further call fails
/// with [`Error::Poisoned`].
pub struct TableBuilder {
    path: PathBuf,
    opts: TableOptions,
    writer: BlockWriter,
    data: BlockBuilder,
    index: BlockBuilder,
    bloom: BloomBuilder,
    /// The last block written, whose index entry waits for the next key.
    pending: Option<BlockHandle>,
    /// The last entry added (`None` before the first).
    last: Option<(Vec<u8>, u64)>,
    info: TableInfo,
    /// An earlier write failed: the file is unusable.
    failed: bool,
}

impl TableBuilder {
    /// Creates (or truncates) the file at `path` and writes the table header.
    pub fn new(fs: &dyn FileSystem, path: &Path, opts: TableOptions) -> Result<Self> {
        opts.validate()?;
        let file = fs.create(path)?;
        let mut b = TableBuilder {
            path: path.to_path_buf(),
            opts,
            writer: BlockWriter {
                file,
                framer: Framer::new(),
                offset: 0,
            },
            data: BlockBuilder::new(opts.restart_interval),
            index: BlockBuilder::new(opts.restart_interval),
            bloom: BloomBuilder::new(opts.bloom_bits_per_key),
            pending: None,
            last: None,
            info: TableInfo::default(),
            failed: false,
        };
        b.writer.write_raw(Header::current().as_bytes())?;
        Ok(b)
    }

    /// Appends an entry. Rejects, changing nothing, an entry that is not after the
    /// previous one in internal-key order, a sequence number above
    /// [`crate::kv::core::key::MAX_SEQ`], a key over [`super::MAX_KEY_LEN`] or a value over
    /// [`super::MAX_VALUE_LEN`] bytes.
    pub fn add(&mut self, key: &[u8], seq: u64, kind: ValueKind, value: &[u8]) -> Result<()> {
        self.check_usable()?;
        if seq > MAX_SEQ {
            return Err(Error::invalid(format!(
                "sequence number {seq} above MAX_SEQ"
            )));
        }
        if key.len() > MAX_KEY_LEN || value.len() > MAX_VALUE_LEN {
            return Err(Error::invalid(format!(
                "entry of {} key bytes and {} value bytes exceeds the table limits",
                key.len(),
                value.len()
            )));
        }
        let new_user_key = match &self.last {
            None => true,
            Some((k, s)) => {
                if compare(k, *s, key, seq) != Ordering::Less {
                    return Err(Error::invalid(
                        "table entries must be added in strictly increasing key order",
                    ));
                }
                k.as_slice() != key
            }
        };
        let r = self.add_checked(key, seq, kind, value, new_user_key);
        self.failed |= r.is_err();
        r
    }

    fn add_checked(
        &mut self,
        key: &[u8],
        seq: u64,
        kind: ValueKind,
        value: &[u8],
        new_user_key: bool,
    ) -> Result<()> {
        if let (Some(handle), Some((last_key, last_seq))) = (self.pending.take(), &self.last) {
            let (sep, sep_seq) = match separator(last_key, key) {
                Some(s) => (s, 0),
                None => (last_key.clone(), *last_seq),
            };
            add_index_entry(&mut self.index, &sep, sep_seq, handle)?;
        }
        if new_user_key {
            self.bloom.add_key(key);
        }
        self.data.add(key, pack_trailer(seq, kind), value)?;

        let info = &mut self.info;
        if info.entries == 0 {
            info.smallest = key.to_vec();
            info.min_seq = seq;
            info.max_seq = seq;
        }
        info.entries += 1;
        info.tombstones += u64::from(kind == ValueKind::Delete);
        info.min_seq = info.min_seq.min(seq);
        info.max_seq = info.max_seq.max(seq);
        match &mut self.last {
            Some((k, s)) => {
                k.clear();
                k.extend_from_slice(key);
                *s = seq;
            }
            None => self.last = Some((key.to_vec(), seq)),
        }

        if self.data.estimated_size() >= self.opts.block_size {
            self.flush_data_block()?;
        }
        Ok(())
    }

    /// Writes the current data block; its index entry waits for the next key.
    fn flush_data_block(&mut self) -> Result<()> {
        if self.data.is_empty() {
            return Ok(());
        }
        let handle = self
            .writer
            .write_block(self.data.finish(), self.opts.compression)?;
        self.data.reset();
        self.pending = Some(handle);
        Ok(())
    }

    fn check_usable(&self) -> Result<()> {
        if self.failed {
            return Err(Error::Poisoned(format!(
                "an earlier write to table {} failed",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// Entries added so far.
    pub fn entries(&self) -> u64 {
        self.info.entries
    }

    /// About how large the file would be if finished now, in bytes.
    pub fn estimated_size(&self) -> u64 {
        let pending = self.data.estimated_size()
            + self.index.estimated_size()
            + self.bloom.encoded_len()
            + size_of::<Footer>();
        self.writer.offset + pending as u64
    }

    /// Writes the last data block, the Bloom filter, key-range and index blocks and the
    /// footer, then fsyncs the file. Returns what the table holds.
    pub fn finish(mut self) -> Result<TableInfo> {
        self.check_usable()?;
        self.flush_data_block()?;
        if let (Some(handle), Some((last_key, last_seq))) = (self.pending.take(), &self.last) {
            add_index_entry(&mut self.index, last_key, *last_seq, handle)?;
        }
        if let Some((last_key, _)) = self.last.take() {
            self.info.largest = last_key;
        }

        // The filter is stored raw (its bits are random) so it is read in place.
        let mut buf = Vec::new();
        self.bloom.finish(&mut buf);
        let filter = self.writer.write_block(&buf, false)?;
        buf.clear();
        encode_key_range(&self.info.smallest, &self.info.largest, &mut buf);
        let range = self.writer.write_block(&buf, self.opts.compression)?;
        let index = self
            .writer
            .write_block(self.index.finish(), self.opts.compression)?;

        let mut footer = Footer::new_zeroed();
        footer.filter_offset = U64::new(filter.offset);
        footer.filter_size = U64::new(filter.size);
        footer.range_offset = U64::new(range.offset);
        footer.range_size = U64::new(range.size);
        footer.index_offset = U64::new(index.offset);
        footer.index_size = U64::new(index.size);
        footer.entries = U64::new(self.info.entries);
        footer.tombstones = U64::new(self.info.tombstones);
        footer.min_seq = U64::new(self.info.min_seq);
        footer.max_seq = U64::new(self.info.max_seq);
        footer.version = U32::new(FORMAT_VERSION);
        footer.magic = MAGIC;
        footer.checksum = U32::new(footer.compute_checksum());
        self.writer.write_raw(footer.as_bytes())?;
        self.writer.file.sync()?;

        self.info.file_size = self.writer.offset;
        Ok(self.info)
    }
}

/// Adds the index entry `(key, seq) -> handle`.
fn add_index_entry(
    index: &mut BlockBuilder,
    key: &[u8],
    seq: u64,
    handle: BlockHandle,
) -> Result<()> {
    let mut value = Vec::with_capacity(20);
    handle.encode(&mut value);
    index.add(key, pack_trailer(seq, ValueKind::Put), &value)
}
