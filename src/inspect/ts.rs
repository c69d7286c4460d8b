//! Inspection of a time-series (`Db`) directory: its manifest, catalog, segments and
//! WAL, read through the engine's own readers.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use super::dir::Dir;
use super::report::{Checked, FileKind, Problem};
use super::stats::{CodecUse, SegmentSummary, TsStats, WalSummary};
use crate::error::{Error, Result};
use crate::io::dir::check_manifest_complete;
use crate::io::file_number::{CATALOG, SEGMENT};
use crate::ts::catalog::Catalog;
use crate::ts::open::apply_manifest_record;
use crate::ts::segment::{Segment, SegmentLayout};
use crate::ts::series::catalog_log::CatalogLog;
use crate::ts::version::{ManifestState, SegmentMeta};
use crate::ts::write::wal_batch;

/// The manifest's state and the name of the file it came from.
fn read_state(dir: &Dir<'_>) -> Result<(ManifestState, String)> {
    let mut state = ManifestState::default();
    let placeholder = dir.file("MANIFEST");
    let name =
        dir.read_manifest(|payload| apply_manifest_record(&mut state, payload, &placeholder))?;
    Ok((state, name))
}

/// Points (and whether the series are known) of one WAL batch payload.
fn wal_record(
    payload: &[u8],
    catalog: Option<&Catalog>,
    defined: &mut HashSet<u32>,
) -> std::result::Result<u64, String> {
    if let Some(v) = wal_batch::foreign_version(payload) {
        return Err(format!(
            "WAL batch of format version {v}; this build reads versions {} to {}",
            wal_batch::OLDEST_VERSION,
            wal_batch::VERSION
        ));
    }
    let batch = wal_batch::decode(payload).map_err(|e| format!("WAL batch: {e}"))?;
    defined.extend(batch.defs.iter().map(|(id, _)| *id));
    let known = |id: &u32| defined.contains(id) || catalog.is_none_or(|c| c.key(*id).is_some());
    let ids = batch
        .cols
        .iter()
        .map(|c| &c.0)
        .chain(batch.dels.iter().map(|d| &d.0));
    if let Some(id) = ids.clone().find(|id| !known(id)) {
        return Err(format!("WAL batch names series {id}, defined nowhere"));
    }
    Ok(batch.cols.iter().map(|c| c.1.len() as u64).sum())
}

/// Checks one live segment against what the manifest says of it, then every chunk
/// and postings bitmap, and that its series are in the catalog.
fn verify_segment(
    dir: &Dir<'_>,
    name: &str,
    meta: Option<&SegmentMeta>,
    catalog: Option<(&Catalog, &str)>,
    problems: &mut Vec<Problem>,
) {
    let path = dir.file(name);
    let seg = match Segment::open(dir.fs, &path) {
        Ok(seg) => seg,
        Err(e) => return problems.push(Problem::from_error(e, path)),
    };
    let info = *seg.info();
    if let Some(m) = meta {
        let points_range = (info.points > 0).then_some((info.min_ts, info.max_ts));
        let listed_range = (m.points > 0).then_some((m.min_ts, m.max_ts));
        if info.file_size != m.file_size
            || info.points != m.points
            || info.series != m.series
            || points_range != listed_range
        {
            problems.push(Problem::from_error(
                Error::corruption(
                    &path,
                    0,
                    format!(
                        "the MANIFEST lists {} bytes, {} points, {} series; the file holds \
                         {} bytes, {} points, {} series",
                        m.file_size, m.points, m.series, info.file_size, info.points, info.series
                    ),
                ),
                path.clone(),
            ));
        }
    }
    seg.verify_all(|e| problems.push(Problem::from_error(e, path.clone())));
    if let Some((catalog, catalog_name)) = catalog
        && let Some(id) = seg
            .series_ids()
            .iter()
            .find(|&id| catalog.key(id).is_none())
    {
        problems.push(Problem::from_error(
            Error::corruption(
                dir.file(catalog_name),
                0,
                format!("series {id} of {name} is not in the catalog"),
            ),
            dir.file(catalog_name),
        ));
    }
}

/// Reads and checks every file of the time-series directory `dir`.
pub(crate) fn verify(dir: &Dir<'_>) -> Checked {
    let mut problems: Vec<Problem> = dir.identity_problem.iter().cloned().collect();
    let mut read: BTreeSet<String> = BTreeSet::new();
    read.insert("CURRENT".to_owned());
    let manifest = match read_state(dir) {
        Ok((state, name)) => {
            let path = dir.file(&name);
            read.insert(name);
            if let Err(e) = check_manifest_complete(state.log_number, &dir.names, SEGMENT, &path) {
                problems.push(Problem::from_error(e, path));
            }
            Some(state)
        }
        Err(e) => {
            problems.push(Problem::from_error(e, dir.file("CURRENT")));
            None
        }
    };

    let catalog = manifest
        .as_ref()
        .and_then(|s| s.catalog_file)
        .and_then(|n| {
            let name = CATALOG.name(n);
            read.insert(name.clone());
            match CatalogLog::load(dir.fs, &dir.path, n) {
                Ok(c) => Some((c, name)),
                Err(e) => {
                    problems.push(Problem::from_error(e, dir.file(&name)));
                    None
                }
            }
        });
    let catalog_ref = catalog.as_ref().map(|(c, n)| (c, n.as_str()));

    let listed = manifest.as_ref().map(|state| {
        state
            .segments
            .values()
            .map(|m| (SEGMENT.name(m.file_number), *m))
            .collect()
    });
    let mut checked = Checked { read, problems };
    dir.check_files(
        FileKind::Segment,
        listed,
        &mut checked,
        |name, meta, problems| verify_segment(dir, name, meta, catalog_ref, problems),
    );
    let Checked {
        mut read,
        mut problems,
    } = checked;
    let min_wal = manifest.as_ref().map_or(0, |s| s.log_number);
    let mut defined = HashSet::new();
    let (wal_read, _) = dir.read_wal(min_wal, &mut problems, |_, payload| {
        wal_record(payload, catalog_ref.map(|c| c.0), &mut defined)
    });
    read.extend(wal_read);
    Checked { read, problems }
}

/// The statistics of the time-series directory `dir`.
pub(crate) fn stats(dir: &Dir<'_>) -> Result<TsStats> {
    let (state, _) = read_state(dir)?;
    let series = match state.catalog_file {
        Some(n) => CatalogLog::load(dir.fs, &dir.path, n)?.len() as u64,
        None => 0,
    };
    let mut segments = Vec::new();
    let mut ts_codecs: BTreeMap<&'static str, CodecUse> = BTreeMap::new();
    let mut value_codecs: BTreeMap<&'static str, CodecUse> = BTreeMap::new();
    let mut chunks = 0;
    for meta in state.segments.values() {
        let name = SEGMENT.name(meta.file_number);
        let seg: Arc<Segment> = Segment::open(dir.fs, &dir.file(&name))?;
        let layout: SegmentLayout = seg.layout()?;
        for c in &layout.chunks {
            let Some(codecs) = c.codecs else { continue };
            let points = u64::from(c.meta.count());
            for (map, codec, bytes) in [
                (
                    &mut ts_codecs,
                    codecs.timestamps.name(),
                    codecs.timestamp_bytes,
                ),
                (&mut value_codecs, codecs.values.name(), codecs.value_bytes),
            ] {
                let e = map.entry(codec).or_insert(CodecUse {
                    codec,
                    chunks: 0,
                    points: 0,
                    bytes: 0,
                });
                e.chunks += 1;
                e.points += points;
                e.bytes += u64::from(bytes);
            }
        }
        let info = layout.info;
        chunks += info.chunks;
        segments.push(SegmentSummary {
            file: name,
            generation: meta.generation,
            points: info.points,
            series: info.series,
            chunks: info.chunks,
            tombstones: info.tombstones,
            time_range: (info.points > 0).then_some((info.min_ts, info.max_ts)),
            bytes: info.file_size,
        });
    }
    let time_range = segments
        .iter()
        .filter_map(|s| s.time_range)
        .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
    let mut ignored = Vec::new();
    let mut defined = HashSet::new();
    let (_, wal): (_, WalSummary) = dir.read_wal(state.log_number, &mut ignored, |_, payload| {
        wal_record(payload, None, &mut defined)
    });
    let by_chunks = |map: BTreeMap<&'static str, CodecUse>| {
        let mut v: Vec<CodecUse> = map.into_values().collect();
        v.sort_by(|a, b| b.chunks.cmp(&a.chunks).then(a.codec.cmp(b.codec)));
        v
    };
    Ok(TsStats {
        points: segments.iter().map(|s| s.points).sum(),
        series,
        chunks,
        segments,
        time_range,
        files: dir.kind_bytes(),
        wal,
        timestamp_codecs: by_chunks(ts_codecs),
        value_codecs: by_chunks(value_codecs),
    })
}
