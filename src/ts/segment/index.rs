//! The chunk index: validation of the table read from the file, and the binary searches
//! that find a series' chunks and the chunks overlapping a time range.

use std::ops::Range;
use std::path::Path;

use roaring::RoaringBitmap;

use super::format::{CHUNK_META_LEN, ChunkMeta};
use crate::error::{Error, Result};

/// Totals of a validated chunk index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexTotals {
    /// Sum of the chunks' point counts.
    pub points: u64,
    /// Smallest chunk `min_ts` (`i64::MAX` for an empty index).
    pub min_ts: i64,
    /// Largest chunk `max_ts` (`i64::MIN` for an empty index).
    pub max_ts: i64,
}

/// Checks every entry of the chunk index `table` (found at file offset `at`):
///
/// - point counts in `1..=chunk_points`, timestamps consistent with the count of
///   strictly ascending unique timestamps, value statistics consistent;
/// - sorted by series id, then time, with chunks of one series not overlapping in time;
/// - chunk bytes exactly tiling `data` in index order (no gaps, no overlaps);
/// - the distinct series ids equal `all`.
pub(crate) fn validate(
    path: &Path,
    table: &[ChunkMeta],
    at: usize,
    data: Range<usize>,
    chunk_points: u32,
    all: &RoaringBitmap,
) -> Result<IndexTotals> {
    let mut totals = IndexTotals {
        points: 0,
        min_ts: i64::MAX,
        max_ts: i64::MIN,
    };
    let mut next_offset = data.start as u64;
    let mut ids = all.iter();
    let mut prev: Option<&ChunkMeta> = None;
    for (i, c) in table.iter().enumerate() {
        let corrupt = |what: &str| Error::corruption(path, (at + i * CHUNK_META_LEN) as u64, what);
        check_entry(c, chunk_points).map_err(corrupt)?;
        let new_series = match prev {
            None => true,
            Some(p) if p.series_id() == c.series_id() => {
                if p.max_ts() >= c.min_ts() {
                    return Err(corrupt("chunks of a series overlap or are out of order"));
                }
                false
            }
            Some(p) if p.series_id() < c.series_id() => true,
            Some(_) => return Err(corrupt("chunk index not sorted by series id")),
        };
        if new_series && ids.next() != Some(c.series_id()) {
            return Err(corrupt("chunk series id not in the series bitmap"));
        }
        if c.offset() != next_offset {
            return Err(corrupt("chunk offset does not follow the previous chunk"));
        }
        next_offset = next_offset
            .checked_add(u64::from(c.data_len()))
            .filter(|&end| end <= data.end as u64)
            .ok_or_else(|| corrupt("chunk runs past the data section"))?;
        totals.points = totals
            .points
            .checked_add(u64::from(c.count()))
            .ok_or_else(|| corrupt("point count overflows"))?;
        totals.min_ts = totals.min_ts.min(c.min_ts());
        totals.max_ts = totals.max_ts.max(c.max_ts());
        prev = Some(c);
    }
    let end = (at + table.len() * CHUNK_META_LEN) as u64;
    if next_offset != data.end as u64 {
        return Err(Error::corruption(
            path,
            next_offset,
            "data section has unindexed bytes",
        ));
    }
    if ids.next().is_some() {
        return Err(Error::corruption(
            path,
            end,
            "series bitmap names a series without chunks",
        ));
    }
    Ok(totals)
}

/// The checks on one entry that need no neighbour.
fn check_entry(c: &ChunkMeta, chunk_points: u32) -> Result<(), &'static str> {
    if c.count() == 0 || c.count() > chunk_points {
        return Err("chunk point count out of range");
    }
    // `count` unique ascending timestamps span at least `count - 1`.
    let span = i128::from(c.max_ts()) - i128::from(c.min_ts());
    if span < i128::from(c.count()) - 1 || (c.count() == 1 && span != 0) {
        return Err("chunk time range does not fit its point count");
    }
    let (min, max) = (c.min_value(), c.max_value());
    if min.is_nan() != max.is_nan() || (!min.is_nan() && min.total_cmp(&max).is_gt()) {
        return Err("chunk value range inconsistent");
    }
    Ok(())
}

/// Where each series' chunks start in the sorted, validated `table`: entry `r` is the
/// index of the first chunk of the `r`-th series by ascending id, and a last entry
/// holds `table.len()`. With the series bitmap's rank, a lookup is two array reads.
pub(crate) fn series_starts(table: &[ChunkMeta]) -> Vec<u32> {
    let mut starts = Vec::new();
    let mut prev = None;
    for (i, c) in table.iter().enumerate() {
        if prev != Some(c.series_id()) {
            starts.push(i as u32);
            prev = Some(c.series_id());
        }
    }
    starts.push(table.len() as u32);
    starts
}

/// The chunks of one series' `chunks` holding any timestamp in `start..=end`.
pub(crate) fn in_range(chunks: &[ChunkMeta], start: i64, end: i64) -> &[ChunkMeta] {
    if start > end {
        return &[];
    }
    let lo = chunks.partition_point(|c| c.max_ts() < start);
    let hi = chunks.partition_point(|c| c.min_ts() <= end);
    chunks.get(lo..hi.max(lo)).unwrap_or_default()
}
