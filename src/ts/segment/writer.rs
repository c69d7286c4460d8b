//! [`write_segment`]: validates the input, encodes chunks in parallel, and writes the
//! file section by section (header, chunk data, chunk index, postings, tombstones,
//! footer), then fsyncs it.

use std::path::Path;

use rayon::prelude::*;
use zerocopy::IntoBytes;
use zerocopy::little_endian::{I64, U32, U64};

use super::chunk::{chunk_lengths, encode_chunk};
use super::format::{
    ChunkMeta, FOOTER_CRC_COVERS, FORMAT_VERSION, Footer, Header, MAGIC, MAX_CHUNK_POINTS,
    TombstoneRecord,
};
use super::{SegmentInfo, SegmentOptions, SeriesInput, Tombstone, postings};
use crate::codec::checksum;
use crate::error::{Error, Result};
use crate::io::fs::{FileSystem, WritableFile};

/// Points encoded per parallel batch: bounds the encoded bytes held in memory at once.
const BATCH_POINTS: usize = 1 << 21;

/// Writes a segment holding `series` and `tombstones` to `path`, and fsyncs it.
///
/// `series` must be sorted by strictly ascending id, each with strictly ascending
/// timestamps and one value per timestamp; a series without points is skipped (it is
/// in neither the chunk index nor the postings). Tombstones may come in any order (they
/// are stored sorted, duplicates dropped) but need `start <= end`. Chunks are encoded in
/// parallel on the rayon pool (across chunks, so across series and within long ones),
/// while the postings are built.
///
/// Bad input returns [`Error::InvalidArgument`] before `path` is created. If writing
/// fails later, `path` is removed (best effort) and the error returned. The caller
/// writes to a temporary name, renames it into place and syncs the directory.
pub fn write_segment(
    fs: &dyn FileSystem,
    path: &Path,
    series: &[SeriesInput<'_>],
    tombstones: &[Tombstone],
    opts: &SegmentOptions,
) -> Result<SegmentInfo> {
    validate(series, opts)?;
    let tombstones = sorted_tombstones(tombstones)?;
    let mut file = fs.create(path)?;
    match write_file(&mut *file, series, &tombstones, opts) {
        Ok(info) => Ok(info),
        Err(e) => {
            drop(file);
            // The write already failed; a failure to clean up adds nothing actionable.
            let _ = fs.remove_file(path);
            Err(e)
        }
    }
}

/// Checks options and series before anything is written.
fn validate(series: &[SeriesInput<'_>], opts: &SegmentOptions) -> Result<()> {
    if !(1..=MAX_CHUNK_POINTS).contains(&opts.chunk_points) {
        return Err(Error::invalid(format!(
            "chunk_points {} is not in 1..={MAX_CHUNK_POINTS}",
            opts.chunk_points
        )));
    }
    if let Some(w) = series.windows(2).find(|w| w[0].id >= w[1].id) {
        return Err(Error::invalid(format!(
            "series ids not strictly ascending: {} then {}",
            w[0].id, w[1].id
        )));
    }
    series.par_iter().try_for_each(|s| {
        if s.timestamps.len() != s.values.len() {
            return Err(Error::invalid(format!(
                "series {}: {} timestamps but {} values",
                s.id,
                s.timestamps.len(),
                s.values.len()
            )));
        }
        if let Some(w) = s.timestamps.windows(2).find(|w| w[0] >= w[1]) {
            return Err(Error::invalid(format!(
                "series {}: timestamps not strictly ascending: {} then {}",
                s.id, w[0], w[1]
            )));
        }
        let too_long = u32::try_from(s.metric.len()).is_err()
            || s.tags.iter().any(|(k, _)| u32::try_from(k.len()).is_err());
        if too_long {
            return Err(Error::invalid(format!(
                "series {}: metric name or tag key longer than 4 GiB",
                s.id
            )));
        }
        Ok(())
    })
}

/// Tombstones sorted by (series, start, end), duplicates removed.
fn sorted_tombstones(tombstones: &[Tombstone]) -> Result<Vec<TombstoneRecord>> {
    if let Some(t) = tombstones.iter().find(|t| t.start > t.end) {
        return Err(Error::invalid(format!(
            "tombstone of series {} starts at {} after its end {}",
            t.series_id, t.start, t.end
        )));
    }
    let mut sorted = tombstones.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    Ok(sorted.iter().map(TombstoneRecord::new).collect())
}

/// What the chunk data section came to.
struct Written {
    index: Vec<ChunkMeta>,
    points: u64,
    series: u32,
    min_ts: i64,
    max_ts: i64,
}

/// One chunk to encode: `len` points of series `series` from point `start`.
#[derive(Debug, Clone, Copy)]
struct Job {
    series: usize,
    start: usize,
    len: usize,
}

/// Writes every section of a validated input to `file` and syncs it.
fn write_file(
    file: &mut dyn WritableFile,
    series: &[SeriesInput<'_>],
    tombstones: &[TombstoneRecord],
    opts: &SegmentOptions,
) -> Result<SegmentInfo> {
    let header = Header {
        magic: MAGIC,
        version: U32::new(FORMAT_VERSION),
        reserved: U32::new(0),
    };
    file.write_all(header.as_bytes())?;
    let (written, postings) = rayon::join(
        || write_chunks(file, series, opts.chunk_points),
        || postings::build(series),
    );
    let (written, postings) = (written?, postings?);

    let index = written.index.as_bytes();
    let tombstone_bytes = tombstones.as_bytes();
    let index_offset = file.len();
    let postings_offset = index_offset + index.len() as u64;
    let tombstones_offset = postings_offset + postings.len() as u64;
    let chunk_points = u32::try_from(opts.chunk_points)
        .map_err(|_| Error::invalid("chunk_points does not fit in 32 bits"))?;
    let mut footer = Footer {
        index_offset: U64::new(index_offset),
        index_len: U64::new(index.len() as u64),
        postings_offset: U64::new(postings_offset),
        postings_len: U64::new(postings.len() as u64),
        tombstones_offset: U64::new(tombstones_offset),
        tombstones_len: U64::new(tombstone_bytes.len() as u64),
        index_crc: U32::new(checksum::masked(index)),
        postings_crc: U32::new(checksum::masked(&postings)),
        tombstones_crc: U32::new(checksum::masked(tombstone_bytes)),
        series_count: U32::new(written.series),
        min_ts: I64::new(written.min_ts),
        max_ts: I64::new(written.max_ts),
        point_count: U64::new(written.points),
        chunk_count: U64::new(written.index.len() as u64),
        chunk_points: U32::new(chunk_points),
        reserved: U32::new(0),
        footer_crc: U32::new(0),
        version: U32::new(FORMAT_VERSION),
        magic: MAGIC,
    };
    let covered = footer
        .as_bytes()
        .get(..FOOTER_CRC_COVERS)
        .unwrap_or_default();
    footer.footer_crc = U32::new(checksum::masked(covered));

    file.write_all(index)?;
    file.write_all(&postings)?;
    file.write_all(tombstone_bytes)?;
    file.write_all(footer.as_bytes())?;
    file.sync()?;
    Ok(SegmentInfo {
        file_size: file.len(),
        points: written.points,
        series: written.series,
        chunks: written.index.len() as u64,
        tombstones: tombstones.len() as u64,
        min_ts: written.min_ts,
        max_ts: written.max_ts,
        chunk_points,
    })
}

/// Encodes every chunk, in parallel across chunks (so one long series is spread over
/// the pool too), batch by batch, and appends them to `file` in index order. Returns
/// the chunk index and totals.
fn write_chunks(
    file: &mut dyn WritableFile,
    series: &[SeriesInput<'_>],
    chunk_points: usize,
) -> Result<Written> {
    let mut w = Written {
        index: Vec::new(),
        points: 0,
        series: 0,
        min_ts: i64::MAX,
        max_ts: i64::MIN,
    };
    let mut jobs = Vec::new();
    let mut batch_points = 0;
    for (i, s) in series.iter().enumerate() {
        let mut start = 0;
        for len in chunk_lengths(s.timestamps.len(), chunk_points) {
            jobs.push(Job {
                series: i,
                start,
                len,
            });
            start += len;
            batch_points += len;
            if batch_points >= BATCH_POINTS {
                write_batch(file, series, &jobs, &mut w)?;
                jobs.clear();
                batch_points = 0;
            }
        }
    }
    write_batch(file, series, &jobs, &mut w)?;
    Ok(w)
}

/// Encodes `jobs` in parallel, then appends them to `file` in order.
fn write_batch(
    file: &mut dyn WritableFile,
    series: &[SeriesInput<'_>],
    jobs: &[Job],
    w: &mut Written,
) -> Result<()> {
    let encoded: Vec<_> = jobs
        .par_iter()
        .map(|j| {
            let s = series.get(j.series)?;
            let range = j.start..j.start + j.len;
            encode_chunk(s.timestamps.get(range.clone())?, s.values.get(range)?)
        })
        .collect();
    for (job, chunk) in jobs.iter().zip(encoded) {
        // invariant: jobs index `series` within its validated lengths, so `None` can
        // only mean a chunk encoded to over 4 GiB, which no codec does for
        // MAX_CHUNK_POINTS points.
        let (Some(s), Some(chunk)) = (series.get(job.series), chunk) else {
            return Err(Error::invalid("a chunk encodes to more than 4 GiB"));
        };
        let offset = file.len();
        file.write_all(&chunk.bytes)?;
        w.index.push(ChunkMeta::new(
            s.id,
            &chunk.stats,
            offset,
            chunk.len,
            chunk.crc,
        ));
        w.points += u64::from(chunk.stats.count);
        w.min_ts = w.min_ts.min(chunk.stats.min_ts);
        w.max_ts = w.max_ts.max(chunk.stats.max_ts);
        w.series += u32::from(job.start == 0);
    }
    Ok(())
}
