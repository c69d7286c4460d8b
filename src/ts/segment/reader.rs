//! [`Segment`]: a mapped, validated segment file and its read paths.
//!
//! `open` verifies the footer, the header, the section layout and the checksums of the
//! chunk index, postings and tombstones, then checks every index entry and tombstone;
//! after that, every lookup is a binary search over the mapped bytes. Chunk bytes are
//! verified against their checksum the first time the chunk is decoded; a bit per
//! chunk remembers it, so later decodes (repeated scans of the same data) trust bytes
//! already verified: the file is immutable and mapped read-only.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use roaring::RoaringBitmap;
use zerocopy::FromBytes;

use super::chunk::{self, ChunkFormat};
use super::format::{ChunkMeta, TERM_METRIC, TERM_TAG, TOMBSTONE_LEN, TombstoneRecord};
use super::postings::{Postings, decode_bitmap};
use super::{SegmentInfo, frame, index};
use crate::codec::checksum;
use crate::engine::prefetch;
use crate::error::{Error, Result};
use crate::io::fs::{FileBytes, FileSystem};
use crate::ts::core::columns::Columns;

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
    /// Bit `i` set: chunk `i` of the index passed its checksum.
    verified: Box<[AtomicU64]>,
    /// Where each series' chunks lie in the index.
    directory: index::Directory,
    /// The time span of the points and tombstones, if there are any.
    extent: Option<(i64, i64)>,
    /// How the chunks are laid out (by the file's format version).
    chunk_format: ChunkFormat,
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

        let chunks = table.len();
        let directory = index::Directory::build(table);
        let points = (totals.points > 0).then_some((totals.min_ts, totals.max_ts));
        let extent = records
            .iter()
            .map(|t| (t.start(), t.end()))
            .chain(points)
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
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
            verified: (0..chunks.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            directory,
            extent,
            chunk_format: if footer.version.get() >= 3 {
                ChunkFormat::Marked
            } else {
                ChunkFormat::Plain
            },
        })
    }

    /// The file's name, as given to `open`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How the chunks are laid out (by the file's format version).
    pub(crate) fn chunk_format(&self) -> ChunkFormat {
        self.chunk_format
    }

    /// The file's bytes (for the inspection tools, which re-read its sections).
    pub(crate) fn file_bytes(&self) -> &FileBytes {
        &self.bytes
    }

    /// Counts, time range and size of the segment.
    pub fn info(&self) -> &SegmentInfo {
        &self.info
    }

    /// The smallest and largest timestamp of any point or tombstone (a tombstone counts
    /// from its start to its end), from the validated index and tombstones; `None`
    /// when the segment holds neither.
    pub fn extent(&self) -> Option<(i64, i64)> {
        self.extent
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
    /// Two reads of a directory made at open (or a binary search when the series ids
    /// are sparse), whatever the number of series; the slice points into the mapped
    /// file.
    pub fn chunks(&self, series_id: u32) -> &[ChunkMeta] {
        self.all_chunks()
            .get(self.directory.chunks_of(series_id))
            .unwrap_or_default()
    }

    /// The chunks of `series_id` holding any timestamp in `start..=end` (inclusive), in
    /// time order. Empty if `start > end`.
    pub fn chunks_in_range(&self, series_id: u32, start: i64, end: i64) -> &[ChunkMeta] {
        index::in_range(self.chunks(series_id), start, end)
    }

    /// Asks the CPU to start loading, without waiting, the index entries of
    /// `series_id`'s chunks (`data == false`) or the first bytes of its first chunk's
    /// data (`data == true`, which reads the entry: prefetch it first).
    pub(crate) fn prefetch(&self, series_id: u32, data: bool) {
        let range = self.directory.chunks_of(series_id);
        let Some(first) = self
            .all_chunks()
            .get(range.start)
            .filter(|_| !range.is_empty())
        else {
            return;
        };
        if data {
            let at = usize::try_from(first.offset()).unwrap_or(usize::MAX);
            if let Some(bytes) = self.bytes.get(at..) {
                for line in bytes.chunks(64).take(4) {
                    prefetch::for_read(line.as_ptr());
                }
            }
        } else {
            let n = range.len().min(4);
            let entries = self
                .all_chunks()
                .get(range.start..range.start + n)
                .unwrap_or_default();
            for e in entries {
                prefetch::for_read((e as *const ChunkMeta).cast());
            }
        }
    }

    /// [`Segment::chunks_in_range`] as indexes into [`Segment::all_chunks`].
    pub(crate) fn chunk_indexes_in_range(
        &self,
        series_id: u32,
        start: i64,
        end: i64,
    ) -> Range<usize> {
        let all = self.directory.chunks_of(series_id);
        let chunks = self.all_chunks().get(all.clone()).unwrap_or_default();
        let span = index::in_range_span(chunks, start, end);
        all.start + span.start..all.start + span.end
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
        let count = self.checked_count(chunk)?;
        let (ts0, values0) = (ts.len(), values.len());
        ts.resize(ts0 + count, 0);
        values.resize(values0 + count, 0.0);
        let result = self.decode_chunk_into(chunk, &mut ts[ts0..], &mut values[values0..]);
        if result.is_err() {
            ts.truncate(ts0);
            values.truncate(values0);
        }
        result
    }

    /// Decodes `chunk` (an entry of this segment) into `out`, after its points.
    /// Verifies the chunk's checksum first. On error `out` is left as it was.
    pub(crate) fn decode_chunk_to(&self, chunk: &ChunkMeta, out: &mut Columns) -> Result<()> {
        let count = self.checked_count(chunk)?;
        let (ts, values) = out.spare(count);
        self.decode_chunk_into(chunk, ts, values)?;
        out.commit(count);
        Ok(())
    }

    /// Decodes the points of `chunk` (an entry of this segment) from time `start` to
    /// time `end` into `out`, after its points: all of the chunk, or a run of it that
    /// holds every point in `start..=end` and possibly some around them (the caller
    /// trims). A chunk with marks (format version 3) is read from the 256-point block
    /// holding `start` through the block holding `end`; one without, from its start
    /// (see [`prefix_through`]). A point get, or an hour of an eleven-hour chunk, decodes
    /// that much. Verifies the chunk's checksum first. On error `out` is left as it was.
    pub(crate) fn decode_chunk_span(
        &self,
        chunk: &ChunkMeta,
        start: i64,
        end: i64,
        out: &mut Columns,
    ) -> Result<()> {
        let count = self.checked_count(chunk)?;
        if start <= chunk.min_ts() && end >= chunk.max_ts() {
            return self.decode_chunk_to(chunk, out);
        }
        let Some((bytes, span)) = self.locate_span(chunk, count, start, end)? else {
            return self.decode_prefix_through(chunk, count, end, out);
        };
        let (ts, values) = out.spare(span.len());
        chunk::decode_span(bytes, self.chunk_format, &span, ts, values)
            .map_err(|e| self.corrupt(chunk, e.0))?;
        self.check_span(chunk, &span, count, ts)?;
        out.commit(span.len());
        Ok(())
    }

    /// [`Segment::decode_chunk_span`] with the values as decimal mantissas, for
    /// aggregations that can work on them (see
    /// [`codec::float::decode_window_mantissas`](crate::codec::float::decode_window_mantissas)):
    /// fills the front of `ts` and `mantissas` (growing them as needed, never
    /// shrinking them) with a run of the chunk holding every point in `start..=end`,
    /// and returns the run's length and the mantissas' divisor. `None`, with the
    /// buffers unspecified, when the run's values are not all decimal or the chunk has
    /// no marks: the caller decodes values.
    pub(crate) fn decode_chunk_span_mantissas(
        &self,
        chunk: &ChunkMeta,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        mantissas: &mut Vec<i64>,
    ) -> Result<Option<(usize, f64)>> {
        let count = self.checked_count(chunk)?;
        let Some((bytes, span)) = self.locate_span(chunk, count, start, end)? else {
            return Ok(None);
        };
        let n = span.len();
        // grown, never shrunk: a shorter run after a longer one writes nothing twice
        for buf in [&mut *ts, &mut *mantissas] {
            if buf.len() < n {
                buf.resize(n, 0);
            }
        }
        let (Some(ts), Some(mantissas)) = (ts.get_mut(..n), mantissas.get_mut(..n)) else {
            return Ok(None);
        };
        let divisor = chunk::decode_span_mantissas(bytes, self.chunk_format, &span, ts, mantissas)
            .map_err(|e| self.corrupt(chunk, e.0))?;
        if divisor.is_some() {
            self.check_span(chunk, &span, count, ts)?;
        }
        Ok(divisor.map(|d| (n, d)))
    }

    /// The checked bytes of `chunk` (of `count` points) and the run of its points from
    /// the block holding `start` through the block holding `end`, found by its marks;
    /// `None` for a chunk without marks.
    fn locate_span(
        &self,
        chunk: &ChunkMeta,
        count: usize,
        start: i64,
        end: i64,
    ) -> Result<Option<(&[u8], chunk::Span)>> {
        let bytes = self.verified_chunk_bytes(chunk)?;
        // a read past the chunk's last point needs no mark after its start
        let to_end = if end >= chunk.max_ts() { i64::MAX } else { end };
        let span = chunk::locate(bytes, self.chunk_format, start, to_end)
            .map_err(|e| self.corrupt(chunk, e.0))?;
        match span {
            Some(span) if span.to() > count => {
                Err(self.corrupt(chunk, "chunk marks disagree with its index entry"))
            }
            span => Ok(span.map(|span| (bytes, span))),
        }
    }

    /// Checks the timestamps `ts` decoded for `span` of `chunk` (of `count` points)
    /// against the chunk's index entry: the first and last must sit where the span
    /// says.
    fn check_span(
        &self,
        chunk: &ChunkMeta,
        span: &chunk::Span,
        count: usize,
        ts: &[i64],
    ) -> Result<()> {
        let first_fits = match ts.first() {
            Some(&t) if span.from() == 0 => t == chunk.min_ts(),
            Some(&t) => t > chunk.min_ts(),
            None => true,
        };
        let last_fits = match ts.last() {
            Some(&t) if span.to() == count => t == chunk.max_ts(),
            Some(&t) => t < chunk.max_ts(),
            None => true,
        };
        if !first_fits || !last_fits {
            return Err(self.corrupt(
                chunk,
                "chunk decodes to points that disagree with its index entry",
            ));
        }
        Ok(())
    }

    /// The read of [`Segment::decode_chunk_span`] in a chunk without marks: a prefix
    /// that holds every point at or before `end`, the whole chunk if the estimate of
    /// [`prefix_through`] falls short.
    fn decode_prefix_through(
        &self,
        chunk: &ChunkMeta,
        count: usize,
        end: i64,
        out: &mut Columns,
    ) -> Result<()> {
        let prefix = prefix_through(chunk, end);
        if prefix < count {
            let (ts, values) = out.spare(prefix);
            let bytes = self.verified_chunk_bytes(chunk)?;
            chunk::decode_prefix(bytes, self.chunk_format, ts, values)
                .map_err(|e| self.corrupt(chunk, e.0))?;
            if ts.first() != Some(&chunk.min_ts())
                || ts.last().is_some_and(|&t| t >= chunk.max_ts())
            {
                return Err(self.corrupt(
                    chunk,
                    "chunk decodes to points that disagree with its index entry",
                ));
            }
            if ts.last().is_some_and(|&t| t > end) {
                out.commit(prefix);
                return Ok(());
            }
            // the points were not spread as evenly as the estimate assumed
        }
        self.decode_chunk_to(chunk, out)
    }

    /// Decodes `chunk` (an entry of this segment) into `ts` and `values`, which must be
    /// exactly as long as its point count. Verifies the chunk's checksum first. On error
    /// the slices hold unspecified values.
    pub fn decode_chunk_into(
        &self,
        chunk: &ChunkMeta,
        ts: &mut [i64],
        values: &mut [f64],
    ) -> Result<()> {
        let count = self.checked_count(chunk)?;
        if ts.len() != count || values.len() != count {
            return Err(Error::invalid(format!(
                "a chunk of {count} points does not fit buffers of {} and {}",
                ts.len(),
                values.len()
            )));
        }
        let bytes = self.verified_chunk_bytes(chunk)?;
        chunk::decode(bytes, self.chunk_format, ts, values)
            .map_err(|e| self.corrupt(chunk, e.0))?;
        let fits = ts.first() == Some(&chunk.min_ts()) && ts.last() == Some(&chunk.max_ts());
        if !fits {
            return Err(self.corrupt(
                chunk,
                "chunk decodes to points that disagree with its index entry",
            ));
        }
        Ok(())
    }

    /// The bytes of `chunk`, bounds-checked, their checksum verified (once per chunk).
    fn verified_chunk_bytes(&self, chunk: &ChunkMeta) -> Result<&[u8]> {
        let at = chunk.offset();
        let bytes = usize::try_from(at)
            .ok()
            .and_then(|s| Some(s..s.checked_add(chunk.data_len() as usize)?))
            .filter(|r| r.start >= self.data.start && r.end <= self.data.end)
            .and_then(|r| self.bytes.get(r))
            .ok_or_else(|| self.corrupt(chunk, "chunk out of bounds"))?;
        let slot = self.verified_slot(chunk);
        let verified = slot.is_some_and(|(word, bit)| word.load(Relaxed) & bit != 0);
        if !verified {
            if checksum::masked(bytes) != chunk.crc() {
                return Err(self.corrupt(chunk, "chunk checksum mismatch"));
            }
            if let Some((word, bit)) = slot {
                word.fetch_or(bit, Relaxed);
            }
        }
        Ok(bytes)
    }

    /// A corruption error at `chunk`'s bytes.
    fn corrupt(&self, chunk: &ChunkMeta, what: &str) -> Error {
        Error::corruption(&self.path, chunk.offset(), what)
    }

    /// The word and bit of [`Segment::verified`] for `chunk`, if it is an entry of this
    /// segment's index (and not a copy).
    fn verified_slot(&self, chunk: &ChunkMeta) -> Option<(&AtomicU64, u64)> {
        let table = self.all_chunks();
        let offset = (chunk as *const ChunkMeta as usize).checked_sub(table.as_ptr() as usize)?;
        let i = offset / std::mem::size_of::<ChunkMeta>();
        let exact = offset % std::mem::size_of::<ChunkMeta>() == 0 && i < table.len();
        let word = self.verified.get(i / 64).filter(|_| exact)?;
        Some((word, 1 << (i % 64)))
    }

    /// The point count of `chunk`, checked against the segment's chunk size.
    fn checked_count(&self, chunk: &ChunkMeta) -> Result<usize> {
        if chunk.count() == 0 || chunk.count() > self.info.chunk_points {
            return Err(Error::corruption(
                &self.path,
                chunk.offset(),
                "chunk point count out of range",
            ));
        }
        Ok(chunk.count() as usize)
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

/// Points a prefix decode of `chunk` reads to hold every point at or before `end`:
/// the count if `end` reaches the chunk's last point, else an estimate from the
/// chunk's time span (exact for evenly spaced points) with one point of margin,
/// rounded up to the codecs' blocks of 256 (a block costs the same whole or cut).
/// A prefix within an eighth of the whole is not worth a second pass: the count.
fn prefix_through(chunk: &ChunkMeta, end: i64) -> usize {
    const BLOCK: usize = 256;
    let count = chunk.count() as usize;
    let (lo, hi) = (chunk.min_ts(), chunk.max_ts());
    if end >= hi || count < 2 * BLOCK {
        return count;
    }
    let fraction = (end.saturating_sub(lo).max(0) as f64) / (hi.saturating_sub(lo) as f64);
    let estimate = (fraction * (count - 1) as f64) as usize + 2;
    let prefix = estimate.next_multiple_of(BLOCK) + 4;
    if prefix >= count - count / 8 {
        count
    } else {
        prefix
    }
}
