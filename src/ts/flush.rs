//! Flush: the oldest frozen head becomes a segment file.
//!
//! Steps, each durable before the next (so a crash anywhere leaves either the frozen
//! head's WAL segments or its segment, never neither):
//! 1. sort the head (rayon across series) and write `NNNNNN.seg.tmp` (fsynced);
//! 2. rename it to `NNNNNN.seg` and fsync the directory;
//! 3. append every series definition not yet in the catalog file, fsynced;
//! 4. one manifest edit: add the segment, advance the WAL log number past the head;
//! 5. install: readers now see the segment instead of the frozen head;
//! 6. remove the WAL segments below the log number.
//!
//! Flushes run one at a time (`flush_lock`), oldest frozen head first, so the WAL log
//! number only moves forward. A failure poisons the database.

use std::path::Path;
use std::sync::Arc;

use crate::engine::lock::lock;
use crate::error::{Error, Result};
use crate::io::file_number::SEGMENT;
use crate::io::wal;
use crate::ts::core::inner::{FileState, Inner};
use crate::ts::core::view::ReadView;
use crate::ts::head::{SeriesColumns, Tombstone as HeadTombstone};
use crate::ts::segment::{SegmentOptions, SeriesInput, Tombstone, write_segment};
use crate::ts::series::catalog_log::CatalogLog;
use crate::ts::series::key::SeriesKey;
use crate::ts::stats::Counters;
use crate::ts::version::{Edit, SegmentFile, SegmentMeta};

/// Flushes every frozen head, oldest first.
pub(crate) fn flush_all(inner: &Inner) -> Result<()> {
    while flush_one(inner)? {}
    Ok(())
}

/// Flushes the oldest frozen head, if any. Returns whether there was one.
pub(crate) fn flush_one(inner: &Inner) -> Result<bool> {
    let _serial = lock(&inner.flush_lock);
    inner.poison.check()?;
    let view = inner.current_view();
    let Some(frozen) = view.frozen.last().cloned() else {
        return Ok(false);
    };
    drop(view);
    let result = flush_frozen(inner, &frozen.head.to_sorted(), frozen.wal_next, &frozen);
    inner.poison.on_err(result)?;
    Ok(true)
}

fn flush_frozen(
    inner: &Inner,
    sorted: &crate::ts::head::SortedHead,
    wal_next: u64,
    frozen: &Arc<crate::ts::core::view::FrozenHead>,
) -> Result<()> {
    let added = if sorted.series.is_empty() && sorted.tombstones.is_empty() {
        None
    } else {
        let n = inner.new_file_number();
        let keys = series_keys(inner, &sorted.series)?;
        let meta = write_segment_file(inner, n, n, &sorted.series, &keys, &sorted.tombstones)?;
        let file = SegmentFile::open(&inner.fs, &inner.dir, meta)?;
        Counters::add(&inner.counters.flush_bytes, meta.file_size);
        Some(Arc::new(file))
    };

    let mut files = lock(&inner.files);
    persist_catalog(inner, &mut files)?;
    let edit = Edit {
        log_number: Some(wal_next),
        added: added.iter().map(|f| f.meta).collect(),
        // Points of the head deleted before this flush are in no segment, but they
        // were written: retention must not forget them after a reopen.
        max_ts: frozen.head.max_ts(),
        ..Edit::default()
    };
    inner.log_edit(&mut files, edit)?;
    inner.update_view(|v| ReadView {
        head: Arc::clone(&v.head),
        frozen: v
            .frozen
            .iter()
            .filter(|s| !Arc::ptr_eq(s, frozen))
            .cloned()
            .collect(),
        version: Arc::new(v.version.apply(added.into_iter().collect(), &[])),
    });
    drop(files);
    Counters::add(&inner.counters.flushes, 1);
    // The head's records are in the segment now; a failure to remove a WAL segment
    // only leaves a file the next open removes.
    let _ = wal::remove_segments_below(inner.fs.as_ref(), &inner.dir, wal_next);
    Ok(())
}

/// The keys of `series`, cloned so the catalog is not locked during the write. Every
/// series in a head or a segment is in the catalog; one missing means the catalog
/// lost a definition, which is reported (and poisons) rather than written.
pub(crate) fn series_keys(inner: &Inner, series: &[SeriesColumns]) -> Result<Vec<SeriesKey>> {
    let catalog = inner.catalog();
    series
        .iter()
        .map(|c| {
            catalog.key(c.id).ok_or_else(|| {
                Error::corruption(
                    inner.dir.join("CATALOG"),
                    0,
                    format!("series {} has data but no catalog entry", c.id),
                )
            })
        })
        .collect()
}

/// Writes segment `n` from sorted columns and tombstones: temp name, fsync, rename,
/// directory fsync. Returns its manifest record.
pub(crate) fn write_segment_file(
    inner: &Inner,
    n: u64,
    generation: u64,
    series: &[SeriesColumns],
    keys: &[SeriesKey],
    tombstones: &[HeadTombstone],
) -> Result<SegmentMeta> {
    let inputs: Vec<SeriesInput<'_>> = series
        .iter()
        .zip(keys)
        .map(|(c, k)| SeriesInput {
            id: c.id,
            metric: &k.metric,
            tags: &k.tags,
            timestamps: &c.timestamps,
            values: &c.values,
        })
        .collect();
    let tombs: Vec<Tombstone> = tombstones
        .iter()
        .map(|&(series_id, start, end)| Tombstone {
            series_id,
            start,
            end,
        })
        .collect();
    let tmp = inner.dir.join(SEGMENT.tmp_name(n));
    let path = inner.dir.join(SEGMENT.name(n));
    let opts = SegmentOptions {
        chunk_points: inner.opts.chunk_points,
    };
    let info = write_segment(inner.fs.as_ref(), &tmp, &inputs, &tombs, &opts)?;
    inner.fs.rename(&tmp, &path)?;
    inner.fs.sync_dir(&inner.dir)?;
    let (mut ext_min, mut ext_max) = (info.min_ts, info.max_ts);
    for t in tombstones {
        ext_min = ext_min.min(t.1);
        ext_max = ext_max.max(t.2);
    }
    Ok(SegmentMeta {
        file_number: n,
        generation,
        min_ts: info.min_ts,
        max_ts: info.max_ts,
        ext_min,
        ext_max,
        points: info.points,
        series: info.series,
        file_size: info.file_size,
    })
}

/// Makes every series definition durable in the catalog file, rewriting the file as a
/// snapshot when it grew too large. Called with `files` locked, before a manifest
/// edit that adds segments.
pub(crate) fn persist_catalog(inner: &Inner, files: &mut FileState) -> Result<()> {
    let catalog = inner.catalog();
    if !files
        .catalog_log
        .rewrite_due(inner.opts.catalog_rewrite_bytes)
    {
        return files.catalog_log.persist(&catalog);
    }
    let n = inner.new_file_number();
    let fresh = CatalogLog::create(&inner.fs, &inner.dir, n, &catalog)?;
    drop(catalog);
    let old = files.catalog_log.path().to_path_buf();
    inner.log_edit(
        files,
        Edit {
            catalog_file: Some(n),
            ..Edit::default()
        },
    )?;
    files.catalog_log = fresh;
    remove_quietly(inner, &old);
    Ok(())
}

/// Removes a file that is no longer referenced; a failure leaves an orphan for the
/// next open to remove.
pub(crate) fn remove_quietly(inner: &Inner, path: &Path) {
    let _ = inner.fs.remove_file(path);
}
