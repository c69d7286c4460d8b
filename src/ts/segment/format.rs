//! The segment file's fixed-layout structures and constants: header, footer, chunk index
//! entry ([`ChunkMeta`]), tombstone record and postings table entries.
//!
//! Every struct here is little-endian, has no padding and no alignment requirement, so it
//! is read in place from the mapped file with `zerocopy`. The byte layout is documented
//! in `docs/format.md (part 5)`; the sizes are pinned by compile-time assertions.

use zerocopy::little_endian::{F64, I64, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use super::Tombstone;

/// The 8 bytes at the start and at the very end of every segment file.
pub const MAGIC: [u8; 8] = *b"TIDESEG\0";

/// The format version this build writes: 3, chunks that begin with their marks.
pub const FORMAT_VERSION: u32 = 3;

/// The oldest format version this build reads: 2, chunks without marks (read by
/// decoding a prefix). Version 1, before the lane layout of the codecs, is refused as
/// unsupported.
pub const OLDEST_READABLE_VERSION: u32 = 2;

/// Largest `chunk_points` a segment may use. It bounds the memory a decode can ask for
/// (a chunk index entry claiming more points than the file's `chunk_points` is corrupt).
pub const MAX_CHUNK_POINTS: usize = 1 << 20;

/// Size of [`Header`] in bytes.
pub const HEADER_LEN: usize = 16;
/// Size of [`Footer`] in bytes.
pub const FOOTER_LEN: usize = 120;
/// Size of a chunk index entry ([`ChunkMeta`]) in bytes.
pub const CHUNK_META_LEN: usize = 64;
/// Size of a tombstone record ([`TombstoneRecord`]) in bytes.
pub const TOMBSTONE_LEN: usize = 20;
/// Size of [`PostingsHeader`] in bytes.
pub const POSTINGS_HEADER_LEN: usize = 32;
/// Size of a postings term entry ([`TermEntry`]) in bytes.
pub const TERM_ENTRY_LEN: usize = 24;

/// The first bytes of the file.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: [u8; 8],
    /// The format version; equals the footer's.
    pub version: U32,
    /// Zero.
    pub reserved: U32,
}

/// The last bytes of the file: where the sections are and what they hold.
///
/// `version` and `magic` stay the last 12 bytes in every future version, so any reader
/// can tell a newer file from a damaged one.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Footer {
    /// File offset of the chunk index.
    pub index_offset: U64,
    /// Length in bytes of the chunk index (a multiple of [`CHUNK_META_LEN`]).
    pub index_len: U64,
    /// File offset of the postings section.
    pub postings_offset: U64,
    /// Length in bytes of the postings section.
    pub postings_len: U64,
    /// File offset of the tombstones section.
    pub tombstones_offset: U64,
    /// Length in bytes of the tombstones section (a multiple of [`TOMBSTONE_LEN`]).
    pub tombstones_len: U64,
    /// Masked CRC32C of the chunk index.
    pub index_crc: U32,
    /// Masked CRC32C of the postings section.
    pub postings_crc: U32,
    /// Masked CRC32C of the tombstones section.
    pub tombstones_crc: U32,
    /// Number of distinct series with points.
    pub series_count: U32,
    /// Smallest timestamp of any point (`i64::MAX` when there are none).
    pub min_ts: I64,
    /// Largest timestamp of any point (`i64::MIN` when there are none).
    pub max_ts: I64,
    /// Number of points.
    pub point_count: U64,
    /// Number of chunks (entries in the chunk index).
    pub chunk_count: U64,
    /// The writer's `chunk_points`: no chunk holds more points.
    pub chunk_points: U32,
    /// Zero.
    pub reserved: U32,
    /// Masked CRC32C of the footer's bytes before this field.
    pub footer_crc: U32,
    /// The format version.
    pub version: U32,
    /// [`MAGIC`].
    pub magic: [u8; 8],
}

/// Byte offset of [`Footer::footer_crc`] inside the footer: the CRC covers the bytes before.
pub const FOOTER_CRC_COVERS: usize = 104;

/// One chunk index entry: where a chunk's bytes are and what its points are, so that
/// range pruning and whole-chunk aggregates need no decoding.
///
/// Read in place from the mapped file; [`Segment::chunks`](super::Segment::chunks) hands
/// out slices of these. Statistics follow these rules:
///
/// - `min_value` / `max_value` ignore NaN and order `-0.0` below `+0.0`
///   ([`f64::total_cmp`] restricted to non-NaN values); both are NaN when every value is NaN;
/// - `sum` includes every value, NaN and infinities too, added one by one in timestamp
///   order starting from `0.0`; it is NaN if any value is NaN.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct ChunkMeta {
    series_id: U32,
    count: U32,
    min_ts: I64,
    max_ts: I64,
    min_value: F64,
    max_value: F64,
    sum: F64,
    offset: U64,
    len: U32,
    crc: U32,
}

/// The statistics of one chunk's points, computed by the writer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkStats {
    /// Number of points.
    pub count: u32,
    /// First (smallest) timestamp.
    pub min_ts: i64,
    /// Last (largest) timestamp.
    pub max_ts: i64,
    /// Smallest non-NaN value (NaN if all are NaN).
    pub min_value: f64,
    /// Largest non-NaN value (NaN if all are NaN).
    pub max_value: f64,
    /// Sum of all values in timestamp order.
    pub sum: f64,
}

impl ChunkMeta {
    /// Builds an entry. `offset` is the chunk's file offset, `len` its byte length and
    /// `crc` the masked CRC32C of those bytes.
    pub(crate) fn new(series_id: u32, stats: &ChunkStats, offset: u64, len: u32, crc: u32) -> Self {
        ChunkMeta {
            series_id: U32::new(series_id),
            count: U32::new(stats.count),
            min_ts: I64::new(stats.min_ts),
            max_ts: I64::new(stats.max_ts),
            min_value: F64::new(stats.min_value),
            max_value: F64::new(stats.max_value),
            sum: F64::new(stats.sum),
            offset: U64::new(offset),
            len: U32::new(len),
            crc: U32::new(crc),
        }
    }

    /// The series the chunk belongs to.
    #[inline]
    pub fn series_id(&self) -> u32 {
        self.series_id.get()
    }
    /// Number of points (at least 1).
    #[inline]
    pub fn count(&self) -> u32 {
        self.count.get()
    }
    /// Timestamp of the first point.
    #[inline]
    pub fn min_ts(&self) -> i64 {
        self.min_ts.get()
    }
    /// Timestamp of the last point.
    #[inline]
    pub fn max_ts(&self) -> i64 {
        self.max_ts.get()
    }
    /// Smallest non-NaN value (NaN when every value is NaN).
    #[inline]
    pub fn min_value(&self) -> f64 {
        self.min_value.get()
    }
    /// Largest non-NaN value (NaN when every value is NaN).
    #[inline]
    pub fn max_value(&self) -> f64 {
        self.max_value.get()
    }
    /// Sum of all values, in timestamp order (NaN if any value is NaN).
    #[inline]
    pub fn sum(&self) -> f64 {
        self.sum.get()
    }
    /// Encoded size of the chunk in bytes.
    #[inline]
    pub fn data_len(&self) -> u32 {
        self.len.get()
    }
    /// The chunk's statistics.
    pub fn stats(&self) -> ChunkStats {
        ChunkStats {
            count: self.count(),
            min_ts: self.min_ts(),
            max_ts: self.max_ts(),
            min_value: self.min_value(),
            max_value: self.max_value(),
            sum: self.sum(),
        }
    }
    /// File offset of the chunk's bytes.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.offset.get()
    }
    /// Masked CRC32C of the chunk's bytes.
    #[inline]
    pub(crate) fn crc(&self) -> u32 {
        self.crc.get()
    }
}

/// One tombstone as stored: the points of `series_id` with `start <= ts <= end` were
/// deleted. Read in place from the mapped file.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct TombstoneRecord {
    series_id: U32,
    start: I64,
    end: I64,
}

impl TombstoneRecord {
    /// Encodes a tombstone.
    pub(crate) fn new(t: &Tombstone) -> Self {
        TombstoneRecord {
            series_id: U32::new(t.series_id),
            start: I64::new(t.start),
            end: I64::new(t.end),
        }
    }
    /// The series whose points were deleted.
    #[inline]
    pub fn series_id(&self) -> u32 {
        self.series_id.get()
    }
    /// First deleted timestamp (inclusive).
    #[inline]
    pub fn start(&self) -> i64 {
        self.start.get()
    }
    /// Last deleted timestamp (inclusive).
    #[inline]
    pub fn end(&self) -> i64 {
        self.end.get()
    }
    /// The tombstone as a plain value.
    pub fn tombstone(&self) -> Tombstone {
        Tombstone {
            series_id: self.series_id(),
            start: self.start(),
            end: self.end(),
        }
    }
}

/// The fixed start of the postings section: the sizes of its four parts.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct PostingsHeader {
    /// Number of [`TermEntry`]s.
    pub term_count: U64,
    /// Length of the string blob.
    pub strings_len: U64,
    /// Length of the serialized bitmap of all series ids.
    pub all_len: U64,
    /// Length of the blob of per-term bitmaps.
    pub bitmaps_len: U64,
}

/// A term is a metric name ([`TERM_METRIC`]) or a tag pair ([`TERM_TAG`]).
pub const TERM_METRIC: u8 = 0;
/// Kind byte of a `(tag key, tag value)` term.
pub const TERM_TAG: u8 = 1;

/// One entry of the sorted term dictionary. A term's strings and bitmap start where the
/// previous entry's end (or at 0 for the first entry), so only ends are stored.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct TermEntry {
    /// End (exclusive) of this term's bytes in the string blob.
    pub str_end: U64,
    /// End (exclusive) of this term's serialized bitmap in the bitmap blob.
    pub bitmap_end: U64,
    /// Length of the key part of the term's bytes (the metric name, or the tag key);
    /// the rest is the tag value (empty for a metric).
    pub key_len: U32,
    /// [`TERM_METRIC`] or [`TERM_TAG`].
    pub kind: u8,
    /// Zero.
    pub reserved: [u8; 3],
}

const _: () = {
    assert!(size_of::<Header>() == HEADER_LEN);
    assert!(size_of::<Footer>() == FOOTER_LEN);
    assert!(std::mem::offset_of!(Footer, footer_crc) == FOOTER_CRC_COVERS);
    assert!(size_of::<ChunkMeta>() == CHUNK_META_LEN);
    assert!(size_of::<TombstoneRecord>() == TOMBSTONE_LEN);
    assert!(size_of::<PostingsHeader>() == POSTINGS_HEADER_LEN);
    assert!(size_of::<TermEntry>() == TERM_ENTRY_LEN);
};
