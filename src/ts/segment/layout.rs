//! The layout of an open segment, for inspection tools (`tidestore dump`, `verify`):
//! where each section lies, and per chunk its place, statistics and codecs.
//!
//! [`Segment::layout`] re-reads the file through the segment's own readers (the frame
//! check, the postings, the chunk decoder); [`Segment::verify_all`] decodes every chunk
//! and every postings bitmap, which `open` leaves to the first query that needs them.

use roaring::RoaringBitmap;

use super::chunk;
use super::format::{ChunkMeta, FOOTER_LEN, HEADER_LEN};
use super::postings::{Postings, decode_bitmap};
use super::reader::Segment;
use super::{SegmentInfo, frame};
use crate::codec::intseq::Order;
use crate::codec::{self, DecodeError, float::ValueCodec};
use crate::error::{Error, Result};

/// One section of a file: its name, offset and length in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// What the section holds (`header`, `chunk data`, `chunk index`, `postings`,
    /// `tombstones`, `footer`).
    pub name: &'static str,
    /// File offset of its first byte.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
}

/// The codecs of one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkCodecs {
    /// The residuals the timestamp column stores.
    pub timestamps: Order,
    /// The value column's codec.
    pub values: ValueCodec,
    /// Bytes of the timestamp column.
    pub timestamp_bytes: u32,
    /// Bytes of the value column.
    pub value_bytes: u32,
}

/// One chunk index entry and what its bytes hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkLayout {
    /// Position in the chunk index.
    pub index: usize,
    /// The entry (series id, count, time range, min / max / sum, size).
    pub meta: ChunkMeta,
    /// File offset of the chunk's bytes.
    pub offset: u64,
    /// The codecs, or `None` when the chunk's bytes do not decode (see
    /// [`Segment::verify_all`] for why).
    pub codecs: Option<ChunkCodecs>,
}

/// The layout of a segment file.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentLayout {
    /// Counts, time range, size (from the footer and the validated index).
    pub info: SegmentInfo,
    /// The format version.
    pub version: u32,
    /// The sections, in file order.
    pub sections: Vec<Section>,
    /// Metric and tag terms in the postings.
    pub terms: u64,
    /// Every chunk, in index order (series id, then time).
    pub chunks: Vec<ChunkLayout>,
}

/// The codecs of a chunk's bytes holding `count` points.
fn chunk_codecs(
    bytes: &[u8],
    format: chunk::ChunkFormat,
    count: usize,
) -> Result<ChunkCodecs, DecodeError> {
    let bytes = chunk::columns(bytes, format)?;
    let (order, stored) = codec::timestamp::describe(bytes)?;
    if stored != count {
        return Err(DecodeError("timestamp count differs from the chunk's"));
    }
    let mut ts = vec![0i64; count];
    let ts_len = codec::timestamp::decode_into(bytes, &mut ts)?;
    let rest = bytes
        .get(ts_len..)
        .ok_or(DecodeError("timestamp column overruns the chunk"))?;
    let (values, _) = codec::float::describe(rest)?;
    let len = |n: usize| u32::try_from(n).map_err(|_| DecodeError("chunk too large"));
    Ok(ChunkCodecs {
        timestamps: order,
        values,
        timestamp_bytes: len(ts_len)?,
        value_bytes: len(rest.len())?,
    })
}

/// Whether two statistics are the same number (NaN equal to NaN).
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

impl Segment {
    /// The bytes of `chunk`, an entry of this segment's index.
    fn chunk_bytes(&self, chunk: &ChunkMeta) -> Option<&[u8]> {
        let start = usize::try_from(chunk.offset()).ok()?;
        let end = start.checked_add(chunk.data_len() as usize)?;
        self.file_bytes().get(start..end)
    }

    /// The layout of the file: its sections and every chunk with its codecs. Reads
    /// only the head of each chunk's columns (plus the timestamps, to find where the
    /// values start); a chunk that does not decode has `codecs: None`.
    pub fn layout(&self) -> Result<SegmentLayout> {
        let bytes = self.file_bytes();
        let f = frame::verify(self.path(), bytes)?;
        let (postings, _) = Postings::open(self.path(), bytes, f.postings.clone())?;
        let section = |name, r: &std::ops::Range<usize>| Section {
            name,
            offset: r.start as u64,
            len: r.len() as u64,
        };
        let footer_at = f.tombstones.end;
        let sections = vec![
            section("header", &(0..HEADER_LEN)),
            section("chunk data", &f.data),
            section("chunk index", &f.index),
            section("postings", &f.postings),
            section("tombstones", &f.tombstones),
            section("footer", &(footer_at..footer_at + FOOTER_LEN)),
        ];
        let chunks = self
            .all_chunks()
            .iter()
            .enumerate()
            .map(|(index, meta)| ChunkLayout {
                index,
                meta: *meta,
                offset: meta.offset(),
                codecs: self
                    .chunk_bytes(meta)
                    .and_then(|b| chunk_codecs(b, self.chunk_format(), meta.count() as usize).ok()),
            })
            .collect();
        Ok(SegmentLayout {
            info: *self.info(),
            version: f.footer.version.get(),
            sections,
            terms: postings.bitmap_ranges(bytes).len() as u64,
            chunks,
        })
    }

    /// Checks what `open` leaves for later: decodes every chunk (checksum, codecs,
    /// the first and last timestamps against the index entry), checks that its
    /// points are strictly ascending and that its count, min, max and sum equal the
    /// entry's, and decodes every postings bitmap (it must be a subset of the series
    /// with points). Calls `problem` for each damaged chunk or bitmap and goes on.
    pub fn verify_all(&self, mut problem: impl FnMut(Error)) {
        let (mut ts, mut values) = (Vec::new(), Vec::new());
        for (i, meta) in self.all_chunks().iter().enumerate() {
            ts.clear();
            values.clear();
            if let Err(e) = self.decode_chunk(meta, &mut ts, &mut values) {
                problem(e);
                continue;
            }
            let at = meta.offset();
            let bad = |what: String| Error::corruption(self.path(), at, what);
            if ts.windows(2).any(|w| w[0] >= w[1]) {
                problem(bad(format!("chunk {i}: timestamps not strictly ascending")));
                continue;
            }
            let marks = self
                .chunk_bytes(meta)
                .ok_or(DecodeError("chunk out of bounds"))
                .and_then(|b| chunk::verify_marks(b, self.chunk_format()));
            if let Err(e) = marks {
                problem(bad(format!("chunk {i}: {}", e.0)));
                continue;
            }
            let Some(stats) = chunk::stats(&ts, &values) else {
                problem(bad(format!("chunk {i}: no points")));
                continue;
            };
            let want = meta.stats();
            if stats.count != want.count
                || !same(stats.min_value, want.min_value)
                || !same(stats.max_value, want.max_value)
                || !same(stats.sum, want.sum)
            {
                problem(bad(format!(
                    "chunk {i}: statistics in the index disagree with its points"
                )));
            }
        }
        let bytes = self.file_bytes();
        let postings = frame::verify(self.path(), bytes)
            .and_then(|f| Postings::open(self.path(), bytes, f.postings));
        match postings {
            Err(e) => problem(e),
            Ok((postings, all)) => {
                for range in postings.bitmap_ranges(bytes) {
                    let at = range.start as u64;
                    let ok = bytes
                        .get(range)
                        .and_then(decode_bitmap)
                        .is_some_and(|b: RoaringBitmap| b.is_subset(&all) && !b.is_empty());
                    if !ok {
                        problem(Error::corruption(self.path(), at, "bad postings bitmap"));
                    }
                }
            }
        }
    }
}
