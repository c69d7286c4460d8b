//! Framing records: [`RecordBatch`] (encoding, compression) and [`LogWriter`] (appending
//! them to a file).

use super::{HEADER_LEN, MAX_PAYLOAD_LEN, TYPE_PLAIN, TYPE_SNAPPY};
use crate::codec::checksum;
use crate::error::{Error, Result};
use crate::io::fs::WritableFile;

/// Payloads shorter than this are never compressed: the saving cannot pay for the
/// decompression.
const MIN_COMPRESS_LEN: usize = 64;

/// How [`RecordBatch::push`] and [`LogWriter::add_record`] store a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Store the payload as is.
    None,
    /// Compress with snappy when that saves at least an eighth of the payload (and the
    /// payload is at least 64 bytes); otherwise store it as is.
    Snappy,
}

/// Encoded records, ready to be written with one call. Building a batch is pure CPU
/// work, so callers can do it outside their locks.
#[derive(Debug, Default, Clone)]
pub struct RecordBatch {
    buf: Vec<u8>,
    records: usize,
}

impl RecordBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Frames `payload` and appends it. Fails with [`Error::InvalidArgument`] (leaving
    /// the batch unchanged) if it is longer than [`MAX_PAYLOAD_LEN`].
    pub fn push(&mut self, payload: &[u8], compression: Compression) -> Result<()> {
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(Error::invalid(format!(
                "record payload of {} bytes exceeds the limit of {MAX_PAYLOAD_LEN}",
                payload.len()
            )));
        }
        let start = self.buf.len();
        self.buf.resize(start + HEADER_LEN, 0);
        let kind = if compression == Compression::Snappy && payload.len() >= MIN_COMPRESS_LEN {
            self.push_snappy_body(payload)
        } else {
            TYPE_PLAIN
        };
        if kind == TYPE_PLAIN {
            self.buf.extend_from_slice(payload);
        }
        let body = self.buf.get(start + HEADER_LEN..).unwrap_or_default();
        // invariant: body.len() <= MAX_PAYLOAD_LEN < u32::MAX (checked above; a
        // compressed body is kept only when shorter than the payload).
        let len = body.len() as u32;
        let crc = checksum::mask(checksum::crc32c_2(&[kind], body));
        let mut header = [0u8; HEADER_LEN];
        header[0..4].copy_from_slice(&crc.to_le_bytes());
        header[4..8].copy_from_slice(&len.to_le_bytes());
        header[8] = kind;
        // invariant: the header slot was reserved at `start` above, so this is Some.
        if let Some(slot) = self.buf.get_mut(start..start + HEADER_LEN) {
            slot.copy_from_slice(&header);
        }
        self.records += 1;
        Ok(())
    }

    /// Appends a snappy body to `buf` and returns [`TYPE_SNAPPY`] if that saves enough;
    /// otherwise leaves `buf` as it was and returns [`TYPE_PLAIN`].
    fn push_snappy_body(&mut self, payload: &[u8]) -> u8 {
        let body_start = self.buf.len();
        let worst = snap::raw::max_compress_len(payload.len());
        self.buf.resize(body_start + worst, 0);
        let out = self.buf.get_mut(body_start..).unwrap_or_default();
        let compressed = snap::raw::Encoder::new().compress(payload, out);
        match compressed {
            Ok(n) if n <= payload.len() - payload.len() / 8 => {
                self.buf.truncate(body_start + n);
                TYPE_SNAPPY
            }
            _ => {
                self.buf.truncate(body_start);
                TYPE_PLAIN
            }
        }
    }

    /// Appends every record of `other`.
    pub fn append(&mut self, other: &RecordBatch) {
        self.buf.extend_from_slice(&other.buf);
        self.records += other.records;
    }

    /// Encoded bytes.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Number of records.
    pub fn records(&self) -> usize {
        self.records
    }

    /// The encoded records.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Empties the batch, keeping its allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.records = 0;
    }
}

/// Appends records to a file.
pub struct LogWriter {
    file: Box<dyn WritableFile>,
    batch: RecordBatch,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("len", &self.file.len())
            .finish()
    }
}

impl LogWriter {
    /// Writes records to `file`, after whatever it already holds.
    pub fn new(file: Box<dyn WritableFile>) -> Self {
        LogWriter {
            file,
            batch: RecordBatch::new(),
        }
    }

    /// Appends one record (possibly buffered: see [`LogWriter::flush`]) and returns the
    /// file length after it.
    pub fn add_record(&mut self, payload: &[u8], compression: Compression) -> Result<u64> {
        self.batch.clear();
        self.batch.push(payload, compression)?;
        self.file.write_all(self.batch.as_bytes())?;
        Ok(self.file.len())
    }

    /// Appends every record of `batch` with one write and returns the file length
    /// after them.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<u64> {
        if !batch.as_bytes().is_empty() {
            self.file.write_all(batch.as_bytes())?;
        }
        Ok(self.file.len())
    }

    /// Hands buffered bytes to the operating system.
    pub fn flush(&mut self) -> Result<()> {
        self.file.flush()
    }

    /// Makes every record written so far durable.
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync()
    }

    /// Bytes written to the file so far.
    pub fn len(&self) -> u64 {
        self.file.len()
    }

    /// True when the file is empty.
    pub fn is_empty(&self) -> bool {
        self.file.is_empty()
    }
}
