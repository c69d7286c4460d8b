//! Log-record framing shared by the WAL and the manifest: checksummed, optionally
//! snappy-compressed records of opaque bytes, a writer, and a reader of untrusted bytes
//! that tells how the log ended (cleanly, with a torn tail, or with corruption).
//!
//! ```text
//! record := crc: u32 LE | len: u32 LE | type: u8 | body: [u8; len]
//!   crc  = masked CRC32C of (type || body)
//!   type = 1 plain: body is the payload
//!          2 snappy: body is the payload in snappy's raw format
//! ```
//!
//! Payloads are at most [`MAX_PAYLOAD_LEN`] bytes, before and after compression, so a
//! damaged length can never make a reader allocate more than that.

use std::borrow::Cow;

use super::fs::WritableFile;
use crate::codec::checksum;
use crate::error::{Error, Result};

/// Bytes in a record header: crc (4), length (4), type (1).
pub const HEADER_LEN: usize = 9;

/// The largest payload a record may carry (64 MiB), uncompressed and stored alike.
pub const MAX_PAYLOAD_LEN: usize = 64 << 20;

/// Payloads shorter than this are never compressed: the saving cannot pay for the
/// decompression.
const MIN_COMPRESS_LEN: usize = 64;

const TYPE_PLAIN: u8 = 1;
const TYPE_SNAPPY: u8 = 2;

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

/// How a [`LogReader`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogEnd {
    /// Every byte belonged to a good record.
    Clean,
    /// The log ends in an incomplete or damaged record, as a crash in the middle of a
    /// write leaves it: the last record is too short for its header, or its length
    /// runs past the end (and no good record starts after its header), or it fails its
    /// checksum with nothing but zero bytes after it. The bytes from `offset` on are
    /// not part of the log.
    Torn {
        /// Where the torn record starts.
        offset: u64,
        /// Bytes from `offset` to the end.
        dropped_bytes: u64,
    },
    /// A damaged record with more data after it, or whose length runs past the end
    /// while good records follow it: not something a crash in the middle of an
    /// append produces.
    Corrupt {
        /// Where the damaged record starts.
        offset: u64,
        /// What check failed.
        what: &'static str,
    },
}

impl LogEnd {
    /// The [`Error::Corruption`] for a [`LogEnd::Corrupt`] end in `file`, if it is one.
    pub fn corruption(&self, file: &std::path::Path) -> Option<Error> {
        match *self {
            LogEnd::Corrupt { offset, what } => Some(Error::corruption(file, offset, what)),
            _ => None,
        }
    }
}

/// Reads records from untrusted bytes. Never panics and never allocates more than
/// [`MAX_PAYLOAD_LEN`] for a record, whatever the input.
#[derive(Debug)]
pub struct LogReader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: Option<LogEnd>,
}

impl<'a> LogReader<'a> {
    /// Reads the records in `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        LogReader {
            buf,
            pos: 0,
            end: None,
        }
    }

    /// The next payload, or `None` once the log has ended (then [`LogReader::end`]
    /// says how). A plain payload borrows from the input; a compressed one is owned.
    pub fn next_record(&mut self) -> Option<Cow<'a, [u8]>> {
        if self.end.is_some() {
            return None;
        }
        match self.read_at(self.pos) {
            Ok((payload, next)) => {
                self.pos = next;
                Some(payload)
            }
            Err(end) => {
                self.end = Some(end);
                None
            }
        }
    }

    /// How the log ended, once [`LogReader::next_record`] has returned `None`.
    pub fn end(&self) -> Option<LogEnd> {
        self.end
    }

    /// Offset just past the last good record returned.
    pub fn position(&self) -> u64 {
        self.pos as u64
    }

    /// Decodes the record at `pos`: its payload and the offset after it, or how the
    /// log ends there.
    fn read_at(&self, pos: usize) -> Result<(Cow<'a, [u8]>, usize), LogEnd> {
        let rest = self.buf.get(pos..).unwrap_or_default();
        if rest.is_empty() {
            return Err(LogEnd::Clean);
        }
        let torn = LogEnd::Torn {
            offset: pos as u64,
            dropped_bytes: rest.len() as u64,
        };
        let Some((header, after_header)) = rest.split_first_chunk::<HEADER_LEN>() else {
            return Err(torn);
        };
        let [c0, c1, c2, c3, l0, l1, l2, l3, kind] = *header;
        let stored_crc = u32::from_le_bytes([c0, c1, c2, c3]);
        let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
        let Some(body) = after_header.get(..len) else {
            // The length runs past the end: the record's tail was never written, unless
            // the length itself is damaged, which good records after it give away.
            if good_record_within(after_header) {
                return Err(LogEnd::Corrupt {
                    offset: pos as u64,
                    what: "record length runs past the end, but good records follow",
                });
            }
            return Err(torn);
        };
        let after = after_header.get(len..).unwrap_or_default();
        let damaged = |what| {
            if after.iter().all(|&b| b == 0) {
                torn
            } else {
                LogEnd::Corrupt {
                    offset: pos as u64,
                    what,
                }
            }
        };
        if len > MAX_PAYLOAD_LEN {
            return Err(damaged("record length exceeds the limit"));
        }
        if checksum::unmask(stored_crc) != checksum::crc32c_2(&[kind], body) {
            return Err(damaged("record checksum mismatch"));
        }
        let corrupt = |what| LogEnd::Corrupt {
            offset: pos as u64,
            what,
        };
        let payload = match kind {
            TYPE_PLAIN => Cow::Borrowed(body),
            TYPE_SNAPPY => Cow::Owned(decompress(body).map_err(corrupt)?),
            _ => return Err(corrupt("unknown record type")),
        };
        Ok((payload, pos + HEADER_LEN + len))
    }
}

/// Checksum work (bytes) [`good_record_within`] may do before giving up.
const RESYNC_BUDGET: usize = 16 << 20;

/// Whether a good record (known type, length within `buf` and the limit, matching
/// checksum) starts anywhere in `buf`. Gives up (`false`) after [`RESYNC_BUDGET`] bytes
/// of checksum work, so crafted input cannot make it quadratic.
fn good_record_within(buf: &[u8]) -> bool {
    let mut budget = RESYNC_BUDGET;
    for start in 0..buf.len() {
        let Some((header, rest)) = buf
            .get(start..)
            .and_then(|b| b.split_first_chunk::<HEADER_LEN>())
        else {
            return false;
        };
        let [c0, c1, c2, c3, l0, l1, l2, l3, kind] = *header;
        let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
        if !matches!(kind, TYPE_PLAIN | TYPE_SNAPPY) || len > MAX_PAYLOAD_LEN {
            continue;
        }
        let Some(body) = rest.get(..len) else {
            continue;
        };
        let Some(left) = budget.checked_sub(len) else {
            return false;
        };
        budget = left;
        if checksum::unmask(u32::from_le_bytes([c0, c1, c2, c3]))
            == checksum::crc32c_2(&[kind], body)
        {
            return true;
        }
    }
    false
}

/// Decompresses a snappy body, refusing to allocate past [`MAX_PAYLOAD_LEN`].
fn decompress(body: &[u8]) -> Result<Vec<u8>, &'static str> {
    let n = snap::raw::decompress_len(body).map_err(|_| "bad snappy header")?;
    if n > MAX_PAYLOAD_LEN {
        return Err("decompressed record exceeds the limit");
    }
    let mut out = vec![0u8; n];
    let written = snap::raw::Decoder::new()
        .decompress(body, &mut out)
        .map_err(|_| "bad snappy data")?;
    if written != n {
        return Err("snappy length mismatch");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(payloads: &[&[u8]], c: Compression) -> Vec<u8> {
        let mut b = RecordBatch::new();
        for p in payloads {
            b.push(p, c).unwrap();
        }
        b.as_bytes().to_vec()
    }

    fn read_all(buf: &[u8]) -> (Vec<Vec<u8>>, LogEnd) {
        let mut r = LogReader::new(buf);
        let mut out = Vec::new();
        while let Some(p) = r.next_record() {
            out.push(p.into_owned());
        }
        (out, r.end().unwrap())
    }

    #[test]
    fn round_trip_plain_and_snappy() {
        let long = vec![7u8; 1000];
        let payloads: Vec<&[u8]> = vec![b"", b"a", &long, b"hello world"];
        for c in [Compression::None, Compression::Snappy] {
            let buf = encode(&payloads, c);
            let (got, end) = read_all(&buf);
            assert_eq!(end, LogEnd::Clean);
            assert_eq!(got, payloads.iter().map(|p| p.to_vec()).collect::<Vec<_>>());
        }
    }

    #[test]
    fn compressible_payloads_shrink_and_random_ones_do_not_grow() {
        let zeros = vec![0u8; 4096];
        let snappy = encode(&[&zeros], Compression::Snappy);
        assert!(snappy.len() < 1000);
        assert_eq!(snappy[8], TYPE_SNAPPY);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 56) as u8
            })
            .collect();
        let stored = encode(&[&noise], Compression::Snappy);
        assert_eq!(stored.len(), HEADER_LEN + noise.len());
        assert_eq!(stored[8], TYPE_PLAIN);
    }

    #[test]
    fn oversized_payload_is_rejected() {
        let big = vec![0u8; MAX_PAYLOAD_LEN + 1];
        let mut b = RecordBatch::new();
        assert!(matches!(
            b.push(&big, Compression::None),
            Err(Error::InvalidArgument(_))
        ));
        assert!(b.is_empty() && b.as_bytes().is_empty());
    }

    #[test]
    fn huge_length_is_torn_not_allocated() {
        let mut buf = encode(&[b"abc"], Compression::None);
        buf[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let (got, end) = read_all(&buf);
        assert!(got.is_empty());
        assert_eq!(
            end,
            LogEnd::Torn {
                offset: 0,
                dropped_bytes: buf.len() as u64
            }
        );
    }

    #[test]
    fn damaged_length_with_good_records_after_it_is_corruption() {
        let mut buf = encode(&[b"abc", b"def", b"ghi"], Compression::None);
        buf[6] = 0x10;
        let (got, end) = read_all(&buf);
        assert!(got.is_empty());
        assert!(matches!(end, LogEnd::Corrupt { offset: 0, .. }));
    }

    #[test]
    fn a_torn_record_embedding_a_framed_record_reads_as_corruption() {
        // A documented limit of the resync check: a payload that itself holds a
        // well-framed record, cut short by a crash, cannot be told from a damaged
        // length with good records after it.
        let inner = encode(&[b"inner"], Compression::None);
        let mut outer = inner.clone();
        outer.extend_from_slice(b"and more");
        let buf = encode(&[&outer], Compression::None);
        let cut = &buf[..buf.len() - 3];
        assert!(matches!(read_all(cut).1, LogEnd::Corrupt { .. }));
    }

    #[test]
    fn resync_scan_gives_up_within_its_budget() {
        // Many candidate headers claiming long bodies: the scan stops at its budget
        // and reports a torn tail rather than doing quadratic work.
        let mut buf = vec![0u8; HEADER_LEN];
        buf[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let unit = [0u8, 0, 0, 0, 0, 0, 0x10, 0, TYPE_PLAIN];
        while buf.len() < 3 << 20 {
            buf.extend_from_slice(&unit);
        }
        let (got, end) = read_all(&buf);
        assert!(got.is_empty());
        assert!(matches!(end, LogEnd::Torn { offset: 0, .. }));
    }

    #[test]
    fn zero_filled_tail_is_torn() {
        let mut buf = encode(&[b"abc", b"def"], Compression::None);
        let good = buf.len();
        buf.resize(good + 100, 0);
        let (got, end) = read_all(&buf);
        assert_eq!(got.len(), 2);
        assert_eq!(
            end,
            LogEnd::Torn {
                offset: good as u64,
                dropped_bytes: 100
            }
        );
    }

    #[test]
    fn bad_record_before_good_one_is_corruption() {
        let mut buf = encode(&[b"abc", b"def"], Compression::None);
        buf[HEADER_LEN] ^= 1;
        let (got, end) = read_all(&buf);
        assert!(got.is_empty());
        assert!(matches!(end, LogEnd::Corrupt { offset: 0, .. }));
        assert!(end.corruption(std::path::Path::new("x")).is_some());
    }

    #[test]
    fn unknown_type_with_good_crc_is_corruption() {
        let mut buf = encode(&[b"abc"], Compression::None);
        buf[8] = 9;
        let crc = checksum::mask(checksum::crc32c(&buf[8..]));
        buf[0..4].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(read_all(&buf).1, LogEnd::Corrupt { .. }));
    }

    #[test]
    fn lying_snappy_header_is_corruption() {
        // A checksum-valid snappy record whose preamble claims 4 GiB.
        let body = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
        let mut buf = Vec::new();
        let crc = checksum::mask(checksum::crc32c_2(&[TYPE_SNAPPY], &body));
        buf.extend_from_slice(&crc.to_le_bytes());
        buf.extend_from_slice(&(body.len() as u32).to_le_bytes());
        buf.push(TYPE_SNAPPY);
        buf.extend_from_slice(&body);
        assert!(matches!(read_all(&buf).1, LogEnd::Corrupt { .. }));
    }

    #[test]
    fn writer_reports_lengths() {
        let fs = crate::io::sim_fs::SimFs::new();
        let file = crate::io::fs::FileSystem::create(&fs, std::path::Path::new("log")).unwrap();
        let mut w = LogWriter::new(file);
        assert!(w.is_empty());
        let end = w.add_record(b"abc", Compression::Snappy).unwrap();
        assert_eq!(end, (HEADER_LEN + 3) as u64);
        let mut b = RecordBatch::new();
        b.push(b"x", Compression::None).unwrap();
        b.push(b"yz", Compression::None).unwrap();
        assert_eq!(b.records(), 2);
        assert_eq!(w.write_batch(&b).unwrap(), end + b.len() as u64);
        w.sync().unwrap();
        let data = crate::io::fs::FileSystem::read(&fs, std::path::Path::new("log")).unwrap();
        let (got, end) = read_all(&data);
        assert_eq!(end, LogEnd::Clean);
        assert_eq!(got, vec![b"abc".to_vec(), b"x".to_vec(), b"yz".to_vec()]);
    }
}
