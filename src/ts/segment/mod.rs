//! Segments: the immutable, memory-mapped, columnar files of the time-series engine.
//!
//! A segment holds, for a set of series, all their points in some time range, cut into
//! chunks of at most `chunk_points` points; each chunk is a timestamp column and a value
//! column encoded by [`crate::codec::timestamp`] and [`crate::codec::float`]. Next to the
//! data sit a fixed-layout chunk index (one 64-byte [`ChunkMeta`] per chunk, sorted by
//! series id then time, carrying count / time range / min / max / sum), the tag postings
//! (metric and tag pair -> RoaringBitmap of series ids) and the tombstones recorded by
//! deletes. The byte layout is in `docs/format.md (part 5)`.
//!
//! [`write_segment`] builds a file; [`Segment::open`] maps and validates one. After
//! `open`, lookups are binary searches over the mapped bytes and a chunk decode is one
//! checksum plus the codecs, into buffers the caller reuses.

mod chunk;
mod format;
mod frame;
mod index;
mod layout;
mod postings;
mod reader;
mod writer;

pub use format::{ChunkMeta, ChunkStats, FORMAT_VERSION, MAX_CHUNK_POINTS, TombstoneRecord};
pub use layout::{ChunkCodecs, ChunkLayout, Section, SegmentLayout};
pub use reader::Segment;
pub use writer::write_segment;

/// Default [`SegmentOptions::chunk_points`].
pub const DEFAULT_CHUNK_POINTS: usize = 4096;

/// How [`write_segment`] lays out a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentOptions {
    /// Most points per chunk; between 1 and [`MAX_CHUNK_POINTS`]. Default
    /// [`DEFAULT_CHUNK_POINTS`] (4096). A series of `n` points is cut into
    /// `ceil(n / chunk_points)` chunks of nearly equal size.
    pub chunk_points: usize,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        SegmentOptions {
            chunk_points: DEFAULT_CHUNK_POINTS,
        }
    }
}

/// One series to write: its id, key and points.
#[derive(Debug, Clone, Copy)]
pub struct SeriesInput<'a> {
    /// The series id; ids must be strictly ascending across the input.
    pub id: u32,
    /// The metric name (indexed in the postings).
    pub metric: &'a str,
    /// The tags (every pair is indexed in the postings).
    pub tags: &'a [(String, String)],
    /// Timestamps, strictly ascending (any `i64`).
    pub timestamps: &'a [i64],
    /// Values, one per timestamp (any bit pattern round-trips).
    pub values: &'a [f64],
}

/// A deleted range: the points of `series_id` with `start <= timestamp <= end`.
///
/// A segment's tombstones apply to OLDER segments; its own points already exclude them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tombstone {
    /// The series.
    pub series_id: u32,
    /// First deleted timestamp (inclusive).
    pub start: i64,
    /// Last deleted timestamp (inclusive).
    pub end: i64,
}

/// What a segment holds, from its footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentInfo {
    /// Size of the file in bytes.
    pub file_size: u64,
    /// Number of points.
    pub points: u64,
    /// Number of series with at least one point.
    pub series: u32,
    /// Number of chunks.
    pub chunks: u64,
    /// Number of tombstones.
    pub tombstones: u64,
    /// Smallest timestamp of any point; `i64::MAX` when the segment has no points.
    pub min_ts: i64,
    /// Largest timestamp of any point; `i64::MIN` when the segment has no points.
    pub max_ts: i64,
    /// The `chunk_points` the segment was written with.
    pub chunk_points: u32,
}
