//! [`Segment`]: a mapped, validated segment file and its read paths.
//!
//! `open` verifies the footer, the header, the section layout and the checksums of the
//! chunk index, postings and tombstones, then checks every index entry and tombstone;
//! after that, every lookup is a binary search over the mapped bytes. Chunk bytes are
//! verified against their checksum on every decode.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use roaring::RoaringBitmap;
use zerocopy::FromBytes;

use super::format::{ChunkMeta, TERM_METRIC, TERM_TAG, TOMBSTONE_LEN, TombstoneRecord};
use super::postings::{Postings, decode_bitmap};
use super::{SegmentInfo, chunk, frame, index};
use crate::codec::checksum;
use crate::error::{Error, Result};
use crate::io::fs::{FileBytes, FileSystem};

/// An open segment file. Immutable, `Send + Sync`; share it behind an `Arc`.
#[derive(Debug)]
pub struct Segment {
    path: PathBuf,
    bytes: FileBytes,
    info: SegmentInfo,
    data: Range<usize>,
    index: Range<usize>,
    tombstones: Range<usize>,
    postings: Postings,
    all: RoaringBitmap,
}

impl Segment {
    /// Maps the segment at `path` and validates it (see [`Segment::from_bytes`]).
    pub fn open(fs: &dyn FileSystem, path: &Path) -> Result<Arc<Segment>> {
        let bytes = fs.map(path)?;
        Segment::from_bytes(path, bytes).map(Arc::new)
    }

    /// Validates `bytes` as a segment file named `path` (the name is used in errors).
    ///
    /// Returns [`Error::UnsupportedVersion`] for a newer format and
    /// [`Error::Corruption`] for any damage found in the footer, header, section
    /// layout, the checksums of the index, postings and tombstones, or the consistency
    /// of their contents. Chunk data is checked when decoded.
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: FileBytes) -> Result<Segment> {
        let path = path.into();
        let corrupt = |at: usize, what: &str| Error::corruption(&path, at as u64, what);
        let frame::Frame {
            footer,
            data,
            index,
            postings,
            tombstones,
        } = frame::verify(&path, &bytes)?;
        let footer_at = tombstones.end;
        let chunk_points = footer.chunk_points.get();
        let (postings, all) = Postings::open(&path, &bytes, postings)?;
        let table = bytes
            .get(index.clone())
            .and_then(|b| <[ChunkMeta]>::ref_from_bytes(b).ok())
            .filter(|t| t.len() as u64 == footer.chunk_count.get())
            .ok_or_else(|| corrupt(index.start, "chunk index size mismatch"))?;
        let totals = index::validate(&path, table, index.start, data.clone(), chunk_points, &all)?;
        let series = u32::try_from(all.len()).ok();
        if totals.points != footer.point_count.get()
            || totals.min_ts != footer.min_ts.get()
            || totals.max_ts != footer.max_ts.get()
            || series != Some(footer.series_count.get())
        {
            return Err(corrupt(
                footer_at,
                "footer totals disagree with the chunk index",
            ));
        }
        let records = bytes
            .get(tombstones.clone())
            .and_then(|b| <[TombstoneRecord]>::ref_from_bytes(b).ok())
            .ok_or_else(|| corrupt(tombstones.start, "tombstones section size mismatch"))?;
        validate_tombstones(records)
            .map_err(|(i, what)| corrupt(tombstones.start + i * TOMBSTONE_LEN, what))?;

        let info = SegmentInfo {
            file_size: bytes.len() as u64,
            points: totals.points,
            series: footer.series_count.get(),
            chunks: table.len() as u64,
            tombstones: records.len() as u64,
            min_ts: totals.min_ts,
            max_ts: totals.max_ts,
            chunk_points,
        };
        Ok(Segment {
            path,
            bytes,
            info,
            data,
            index,
            tombstones,
            postings,
            all,
        })
    }

    /// The file's name, as given to `open`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counts, time range and size of the segment.
    pub fn info(&self) -> &SegmentInfo {
        &self.info
    }

    /// The ids of every series with points in this segment.
    pub fn series_ids(&self) -> &RoaringBitmap {
        &self.all
    }

    /// The series of metric `metric`, or `None` if no series here has it.
    ///
    /// A binary search over the term dictionary, then the decode of one bitmap.
    pub fn metric_series(&self, metric: &str) -> Result<Option<RoaringBitmap>> {
        self.term_bitmap(TERM_METRIC, metric, "")
    }

    /// The series with tag `key=value`, or `None` if no series here has it.
    pub fn tag_series(&self, key: &str, value: &str) -> Result<Option<RoaringBitmap>> {
        self.term_bitmap(TERM_TAG, key, value)
    }

    fn term_bitmap(&self, kind: u8, key: &str, value: &str) -> Result<Option<RoaringBitmap>> {
        let Some(range) = self.postings.find(&self.bytes, kind, key, value) else {
            return Ok(None);
        };
        let at = range.start;
        self.bytes
            .get(range)
            .and_then(decode_bitmap)
            .filter(|b| b.is_subset(&self.all))
            .map(Some)
            .ok_or_else(|| Error::corruption(&self.path, at as u64, "bad postings bitmap"))
    }

    /// Every chunk index entry, sorted by series id, then time.
    pub fn all_chunks(&self) -> &[ChunkMeta] {
        // invariant: `from_bytes` checked that this range holds a whole table of
        // entries, so the fallback to an empty table is never taken.
        self.bytes
            .get(self.index.clone())
            .and_then(|b| <[ChunkMeta]>::ref_from_bytes(b).ok())
            .unwrap_or_default()
    }

    /// The chunks of `series_id` in time order (empty if the series has no points here).
    /// A binary search; the slice points into the mapped file.
    pub fn chunks(&self, series_id: u32) -> &[ChunkMeta] {
        index::series_chunks(self.all_chunks(), series_id)
    }

    /// The chunks of `series_id` holding any timestamp in `start..=end` (inclusive), in
    /// time order. Empty if `start > end`.
    pub fn chunks_in_range(&self, series_id: u32, start: i64, end: i64) -> &[ChunkMeta] {
        index::in_range(self.chunks(series_id), start, end)
    }

    /// Decodes `chunk` (an entry of this segment), APPENDING its timestamps to `ts` and
    /// its values to `values`: clear the buffers first to reuse them, or keep appending
    /// to gather several chunks. Verifies the chunk's checksum first. On error the
    /// buffers are left as they were.
    pub fn decode_chunk(
        &self,
        chunk: &ChunkMeta,
        ts: &mut Vec<i64>,
        values: &mut Vec<f64>,
    ) -> Result<()> {
        let at = chunk.offset();
        let corrupt = |what: &str| Error::corruption(&self.path, at, what);
        let bytes = usize::try_from(at)
            .ok()
            .and_then(|s| Some(s..s.checked_add(chunk.data_len() as usize)?))
            .filter(|r| r.start >= self.data.start && r.end <= self.data.end)
            .and_then(|r| self.bytes.get(r))
            .ok_or_else(|| corrupt("chunk out of bounds"))?;
        if checksum::masked(bytes) != chunk.crc() {
            return Err(corrupt("chunk checksum mismatch"));
        }
        if chunk.count() == 0 || chunk.count() > self.info.chunk_points {
            return Err(corrupt("chunk point count out of range"));
        }
        let count = chunk.count() as usize;
        let (ts0, values0) = (ts.len(), values.len());
        ts.reserve(count);
        values.reserve(count);
        let result = chunk::decode(bytes, count, ts, values).map_err(|e| corrupt(e.0));
        let result = result.and_then(|()| {
            let fits = ts.len() == ts0 + count
                && values.len() == values0 + count
                && ts.get(ts0) == Some(&chunk.min_ts())
                && ts.last() == Some(&chunk.max_ts());
            if fits {
                Ok(())
            } else {
                Err(corrupt(
                    "chunk decodes to points that disagree with its index entry",
                ))
            }
        });
        if result.is_err() {
            ts.truncate(ts0);
            values.truncate(values0);
        }
        result
    }

    /// The tombstones recorded in this segment, sorted by (series id, start, end). They
    /// apply to older segments: this segment's own points already exclude them.
    pub fn tombstones(&self) -> &[TombstoneRecord] {
        // invariant: `from_bytes` checked that this range holds whole records.
        self.bytes
            .get(self.tombstones.clone())
            .and_then(|b| <[TombstoneRecord]>::ref_from_bytes(b).ok())
            .unwrap_or_default()
    }

    /// The tombstones of `series_id`, sorted by (start, end).
    pub fn series_tombstones(&self, series_id: u32) -> &[TombstoneRecord] {
        let all = self.tombstones();
        let lo = all.partition_point(|t| t.series_id() < series_id);
        let rest = all.get(lo..).unwrap_or_default();
        rest.get(..rest.partition_point(|t| t.series_id() == series_id))
            .unwrap_or_default()
    }
}

/// Tombstones must be strictly ascending by (series, start, end), each with start <= end.
fn validate_tombstones(records: &[TombstoneRecord]) -> Result<(), (usize, &'static str)> {
    let key = |t: &TombstoneRecord| (t.series_id(), t.start(), t.end());
    for (i, t) in records.iter().enumerate() {
        if t.start() > t.end() {
            return Err((i, "tombstone starts after its end"));
        }
        let prev = i.checked_sub(1).and_then(|p| records.get(p));
        if prev.is_some_and(|p| key(p) >= key(t)) {
            return Err((i, "tombstones out of order"));
        }
    }
    Ok(())
}
