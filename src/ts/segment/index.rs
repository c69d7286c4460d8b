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

/// Where each series' chunks lie in a sorted, validated chunk table, by series id:
/// a lookup is two array reads (dense ids) or a binary search (sparse ids), whatever
/// the number of series, so a reader that visits a series in many segments pays
/// `O(log)` per segment, not a scan of the segment's series bitmap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Directory {
    /// Ids within `base..base + first.len() - 1`: `first[i]` is the index of the first
    /// chunk whose series id is `>= base + i` (the last entry is the table's length),
    /// so the chunks of `id` are `first[id - base]..first[id - base + 1]`, empty for an
    /// id without chunks. Used when that span is at most about twice the series count.
    Dense { base: u32, first: Vec<u32> },
    /// The distinct ids, ascending, and where each one's chunks start (`starts` has one
    /// more entry: the table's length).
    Sparse { ids: Vec<u32>, starts: Vec<u32> },
}

impl Directory {
    /// The directory of `table` (sorted by series id, as `validate` checks).
    pub fn build(table: &[ChunkMeta]) -> Directory {
        let mut ids = Vec::new();
        let mut starts = Vec::new();
        for (i, c) in table.iter().enumerate() {
            if ids.last() != Some(&c.series_id()) {
                ids.push(c.series_id());
                starts.push(i as u32);
            }
        }
        starts.push(table.len() as u32);
        let (Some(&lo), Some(&hi)) = (ids.first(), ids.last()) else {
            return Directory::Sparse { ids, starts };
        };
        let span = (hi - lo) as usize + 1;
        if span > 2 * ids.len() + 64 {
            return Directory::Sparse { ids, starts };
        }
        // `first[i]` for every id of the span: the start of the next present id.
        let mut first = Vec::with_capacity(span + 1);
        for (&id, &start) in ids.iter().zip(&starts) {
            first.resize((id - lo) as usize + 1, start);
        }
        first.push(table.len() as u32);
        Directory::Dense { base: lo, first }
    }

    /// The indexes in the table of the chunks of `id` (empty if it has none).
    pub fn chunks_of(&self, id: u32) -> Range<usize> {
        let (from, to) = match self {
            Directory::Dense { base, first } => {
                let Some(i) = id.checked_sub(*base).map(|i| i as usize) else {
                    return 0..0;
                };
                (first.get(i), first.get(i + 1))
            }
            Directory::Sparse { ids, starts } => {
                let Ok(i) = ids.binary_search(&id) else {
                    return 0..0;
                };
                (starts.get(i), starts.get(i + 1))
            }
        };
        match (from, to) {
            (Some(&f), Some(&t)) => f as usize..t as usize,
            _ => 0..0,
        }
    }
}

/// The chunks of one series' `chunks` holding any timestamp in `start..=end`.
pub(crate) fn in_range(chunks: &[ChunkMeta], start: i64, end: i64) -> &[ChunkMeta] {
    chunks
        .get(in_range_span(chunks, start, end))
        .unwrap_or_default()
}

/// Where in one series' `chunks` (sorted, disjoint in time) lie those holding any
/// timestamp in `start..=end`: two binary searches.
pub(crate) fn in_range_span(chunks: &[ChunkMeta], start: i64, end: i64) -> Range<usize> {
    if start > end {
        return 0..0;
    }
    let lo = chunks.partition_point(|c| c.max_ts() < start);
    let hi = chunks.partition_point(|c| c.min_ts() <= end);
    lo..hi.max(lo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ts::segment::ChunkStats;
    use proptest::prelude::*;

    fn table(series: &[(u32, u32)]) -> Vec<ChunkMeta> {
        let stats = ChunkStats {
            count: 1,
            min_ts: 0,
            max_ts: 0,
            min_value: 0.0,
            max_value: 0.0,
            sum: 0.0,
        };
        series
            .iter()
            .flat_map(|&(id, chunks)| (0..chunks).map(move |_| ChunkMeta::new(id, &stats, 0, 0, 0)))
            .collect()
    }

    fn check(series: &[(u32, u32)]) -> Directory {
        let t = table(series);
        let dir = Directory::build(&t);
        let probe = series
            .iter()
            .flat_map(|&(id, _)| [id.wrapping_sub(1), id, id.wrapping_add(1)])
            .chain([0, 1, u32::MAX - 1, u32::MAX]);
        for id in probe {
            let want: Vec<usize> = (0..t.len()).filter(|&i| t[i].series_id() == id).collect();
            let got: Vec<usize> = dir.chunks_of(id).collect();
            assert_eq!(got, want, "series {id} in {series:?}");
        }
        dir
    }

    #[test]
    fn dense_and_sparse_ids() {
        assert!(matches!(
            check(&[(3, 2), (4, 1), (6, 3)]),
            Directory::Dense { .. }
        ));
        assert!(matches!(
            check(&[(0, 1), (1_000_000, 2)]),
            Directory::Sparse { .. }
        ));
        assert!(matches!(check(&[(u32::MAX, 2)]), Directory::Dense { .. }));
        check(&[(0, 1), (u32::MAX, 1)]);
        check(&[]);
    }

    proptest! {
        #[test]
        fn lookups_equal_a_filter(
            ids in proptest::collection::btree_map(0u32..400, 1u32..4, 0..60),
            far in proptest::option::of(400u32..u32::MAX),
        ) {
            let mut series: Vec<(u32, u32)> = ids.into_iter().collect();
            if let Some(f) = far {
                series.push((f, 1));
            }
            check(&series);
        }
    }
}
