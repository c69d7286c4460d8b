//! Opening a database directory: lock it, read the manifest, the catalog and the live
//! segments, replay the WAL into a new head, start a new WAL segment (and a new
//! catalog file only when WAL segments this open drops defined series), and remove
//! what a crash left behind.
//!
//! Directory layout:
//!
//! ```text
//! LOCK                 the directory lock (held while open)
//! IDENTITY             "tidestore time-series\n" (crate::io::identity)
//! CURRENT, MANIFEST-*  the manifest (crate::io::manifest)
//! {n:020}.wal          WAL segments (crate::io::wal), records = wal_batch payloads
//! CATALOG-{n:06}       the catalog file named by the manifest (catalog_log.rs)
//! {n:06}.seg           segments named by the manifest (crate::ts::segment)
//! *.tmp                files being written; removed on open
//! ```
//! Segment, WAL and catalog files share one file-number counter. On open the counter
//! becomes the larger of the manifest's and one past every number found in the
//! directory, so a number is never reused after a crash, even for a file the manifest
//! never learned about.

use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::engine::poison::Poison;
use crate::engine::worker::Wakeup;
use crate::error::{Error, Result};
use crate::io::dir;
use crate::io::file_number::{CATALOG, SEGMENT};
use crate::io::identity::{self, Claim, Kind};
use crate::io::manifest::Manifest;
use crate::io::wal::{self, ReplayStats, Wal};
use crate::ts::core::inner::{FileState, Inner, WriterState};
use crate::ts::core::series_order::SeriesOrder;
use crate::ts::core::view::ReadView;
use crate::ts::head::Head;
use crate::ts::options::Options;
use crate::ts::series::catalog::{BulkDefine, Catalog};
use crate::ts::series::catalog_log::CatalogLog;
use crate::ts::stats::{Counters, Stats};
use crate::ts::version::{EDIT_VERSION, Edit, ManifestState, SegmentFile, Version};
use crate::ts::write;
use crate::ts::write::wal_batch::{self, BatchSink, Visit};

static INSTANCES: AtomicU64 = AtomicU64::new(1);

/// Opens (creating if needed) the database in `dir`.
pub(crate) fn open(dir: &Path, opts: Options) -> Result<Inner> {
    opts.validate()?;
    let fs = Arc::clone(&opts.shared.fs);
    let claimed = dir::claim(fs.as_ref(), dir, Kind::TimeSeries)?;
    let names = &claimed.names;

    let mut state = ManifestState::default();
    let manifest_path = dir.join("MANIFEST");
    let mut records = 0u64;
    let opened = Manifest::open(Arc::clone(&fs), dir, |payload| {
        records += 1;
        apply_manifest_record(&mut state, payload, &manifest_path)
    });
    // A directory from before IDENTITY files, with manifest edits but no catalog file:
    // every edit of a time-series manifest comes after its first catalog file was
    // written, and one always exists from then on. So these edits are a key-value
    // store's (one that never wrote a table, or its table files would have told).
    if claimed.identity == Claim::Legacy
        && records > 0
        && !names.iter().any(|n| n.starts_with("CATALOG-"))
    {
        return Err(identity::wrong_kind(dir, Kind::KeyValue, Kind::TimeSeries));
    }
    let mut manifest = opened?;
    let manifest_file = manifest.file_for_errors();
    dir::check_manifest_complete(state.log_number, names, SEGMENT, &manifest_file)?;

    // The catalog and the segments load side by side (each reads its own files).
    let (catalog, opened) = rayon::join(
        || match state.catalog_file {
            Some(n) => CatalogLog::load(fs.as_ref(), dir, n),
            None => Ok(Catalog::new()),
        },
        || {
            state
                .segments
                .values()
                .map(|meta| SegmentFile::open(&fs, dir, *meta))
                .collect::<Result<Vec<_>>>()
        },
    );
    let mut catalog = catalog?;
    let catalog_name = state
        .catalog_file
        .map_or_else(|| dir.join("CATALOG"), |n| dir.join(CATALOG.name(n)));

    let mut segments = Vec::with_capacity(state.segments.len());
    for file in opened? {
        if let Some(id) = file
            .seg
            .series_ids()
            .iter()
            .find(|&id| !catalog.contains(id))
        {
            return Err(Error::corruption(
                &catalog_name,
                0,
                format!(
                    "series {id} of {} is not in the catalog",
                    file.path().display()
                ),
            ));
        }
        segments.push(Arc::new(file));
    }

    // Never hand out a number some file in the directory already has; this open
    // takes at most two (a new WAL segment, and maybe a new catalog file).
    let mut next_file = dir::counter_at_open(
        state.next_file,
        names,
        &[SEGMENT, CATALOG],
        2,
        &manifest_file,
    )?;

    let head = Head::new();
    let in_catalog_file = catalog.len();
    let replay = replay_wal(&opts, dir, state.log_number, &mut catalog, &head)?;

    // Without points or deletes to keep, the old WAL segments only carried series
    // definitions, which a new catalog file then holds: they can go. Otherwise they
    // stay live, and what was just recovered from them must not be lost by a power
    // cut once writes continue in a new segment (a process crash left them in the
    // OS's cache only): make them durable first.
    let wal_needed = !head.is_empty() || !head.tombstones().is_empty();
    if wal_needed {
        wal::sync_segments(fs.as_ref(), dir, state.log_number)?;
    }
    // The catalog file loaded stays the live one, unwritten, when it holds every
    // series, or when the WAL segments that define the others stay live: the next
    // flush rewrites it before it lets them go (`CatalogLog::inherit`). Only series
    // defined by WAL segments this open drops need a new catalog file now.
    let defined_by_wal = catalog.len() != in_catalog_file;
    let wal_n = next_file;
    next_file += 1;
    let (catalog_n, catalog_log, new_catalog) = match state.catalog_file {
        Some(n) if wal_needed || !defined_by_wal => (n, CatalogLog::inherit(dir, n), false),
        _ => {
            let n = next_file;
            next_file += 1;
            (n, CatalogLog::create(&fs, dir, n, &catalog)?, true)
        }
    };
    let wal = Wal::create(
        Arc::clone(&fs),
        dir,
        wal_n,
        write::wal_mode(opts.shared.sync_mode),
    )?;
    let view = ReadView {
        head: Arc::new(head),
        frozen: Vec::new(),
        version: Arc::new(Version::new(segments)),
    };
    // The newest timestamp ever written: what the manifest recorded (deleted points
    // included), what the segments and the replayed WAL (durable now) hold.
    let durable_max_ts = state.max_ts.max(view.max_ts());
    let edit = Edit {
        next_file: Some(next_file),
        catalog_file: new_catalog.then_some(catalog_n),
        log_number: (!wal_needed).then_some(wal_n),
        max_ts: durable_max_ts,
        ..Edit::default()
    };
    manifest.append(&edit.encode())?;
    state
        .apply(&edit)
        .map_err(|e| Error::corruption(&manifest_path, 0, e.0))?;

    // Temporaries, segments the manifest does not name, catalog files other than the
    // live one, flushed WAL segments.
    dir::sweep_orphans(
        fs.as_ref(),
        dir,
        names,
        state.log_number,
        &[SEGMENT, CATALOG],
        |kind, n| match kind {
            SEGMENT => state.segments.contains_key(&n),
            _ => n == catalog_n,
        },
    )?;
    if claimed.identity == Claim::Legacy {
        identity::write(fs.as_ref(), dir, Kind::TimeSeries)?;
    }

    let max_ts = durable_max_ts.unwrap_or(i64::MIN);
    let writer = WriterState::new(Arc::clone(&view.head));
    Ok(Inner {
        dir: dir.to_path_buf(),
        fs,
        wal,
        catalog: RwLock::new(catalog),
        series_order: SeriesOrder::default(),
        view: RwLock::new(Arc::new(view)),
        head_gate: RwLock::new(()),
        writer: Mutex::new(writer),
        files: Mutex::new(FileState {
            manifest,
            state,
            catalog_log,
        }),
        flush_lock: Mutex::new(()),
        compaction_lock: Mutex::new(()),
        wakeup: Wakeup::new(),
        next_file: AtomicU64::new(next_file),
        max_ts: AtomicI64::new(max_ts),
        durable_max_ts: AtomicI64::new(max_ts),
        poison: Poison::default(),
        counters: Counters::default(),
        // After a cut tail `Db::open_with` flushes, so the cut is made permanent before
        // that segment stops being the last one (where damage is reported as
        // corruption).
        wal_replay: replay,
        instance: INSTANCES.fetch_add(1, Ordering::Relaxed),
        opts,
        _lock: claimed.lock,
    })
}

/// Decodes one manifest record and applies it to `state`. An edit of a newer version
/// is [`Error::UnsupportedVersion`], an undecodable or inconsistent one
/// [`Error::Corruption`] (naming `manifest_path`; the manifest reader puts in the
/// record's file and offset).
pub(crate) fn apply_manifest_record(
    state: &mut ManifestState,
    payload: &[u8],
    manifest_path: &Path,
) -> Result<()> {
    if let Some(&v) = payload.first()
        && v > EDIT_VERSION
    {
        return Err(Error::UnsupportedVersion {
            file: manifest_path.to_path_buf(),
            found: u32::from(v),
            supported: u32::from(EDIT_VERSION),
        });
    }
    let edit = Edit::decode(payload)
        .map_err(|e| Error::corruption(manifest_path, 0, format!("manifest edit: {e}")))?;
    state
        .apply(&edit)
        .map_err(|e| Error::corruption(manifest_path, 0, e.0))
}

/// Replays the WAL segments from `log_number` on into `head`, defining the series
/// they carry in `catalog`.
fn replay_wal(
    opts: &Options,
    dir: &Path,
    log_number: u64,
    catalog: &mut Catalog,
    head: &Head,
) -> Result<ReplayStats> {
    // Definitions in bulk: their ids ascend past the catalog file's (`BulkDefine`).
    let mut bulk = BulkDefine::new(catalog);
    let stats = wal::recover(
        opts.shared.fs.as_ref(),
        dir,
        log_number,
        opts.shared.wal_recovery,
        &opts.shared.on_wal_damage,
        |_, file, payload| {
            let bad = |what: String| Error::corruption(file, 0, what);
            // A batch of another format version (an older build's unflushed WAL) is not
            // damage: say so, so nobody discards the log as corrupt. Flush with the
            // build that wrote it before upgrading.
            if let Some(found) = wal_batch::foreign_version(payload) {
                return Err(Error::UnsupportedVersion {
                    file: file.to_path_buf(),
                    found: u32::from(found),
                    supported: u32::from(wal_batch::VERSION),
                });
            }
            let mut sink = Replay {
                catalog: &mut bulk,
                head,
            };
            wal_batch::visit(payload, &mut sink).map_err(|e| match e {
                Visit::Decode(e) => bad(format!("WAL batch: {e}")),
                Visit::Apply(what) => bad(what),
            })?;
            Ok(())
        },
    )?;
    bulk.finish()
        .map_err(|e| Error::corruption(dir, 0, format!("WAL series definitions: {e}")))?;
    Ok(stats)
}

/// Applies replayed WAL batches: definitions to the catalog, points and deletes to
/// the head.
struct Replay<'a, 'c> {
    catalog: &'a mut BulkDefine<'c>,
    head: &'a Head,
}

impl BatchSink for Replay<'_, '_> {
    type Error = String;

    fn def(&mut self, id: u32, metric: &str, tags: &[(&str, &str)]) -> Result<(), String> {
        self.catalog
            .define(id, metric, tags)
            .map_err(|e| format!("WAL series definition: {e}"))
    }

    fn col(&mut self, id: u32, ts: &[i64], vals: &[f64]) -> Result<(), String> {
        if !self.catalog.catalog().contains(id) {
            return Err(format!("WAL batch writes to unknown series {id}"));
        }
        // replayed batches mostly bring series the new head does not have yet
        self.head
            .append_likely_new(id, ts, vals)
            .map_err(|e| format!("WAL batch column: {e}"))
    }

    fn del(&mut self, id: u32, start: i64, end: i64) -> Result<(), String> {
        self.head.delete_range(id, start, end);
        Ok(())
    }
}

/// The stats that do not come from counters.
pub(crate) fn sizes(inner: &Inner) -> Stats {
    let view = inner.current_view();
    let (segment_bytes, segment_points) = view.version.totals();
    Stats {
        wal_torn_tails: inner.wal_replay.torn_tails,
        wal_damaged_tails: u64::from(inner.wal_replay.damaged_tail),
        wal_damage: inner.wal_replay.damage.clone(),
        wal_records_replayed: inner.wal_replay.records,
        series: inner.catalog().len() as u64,
        head_points: view.head.point_count() as u64,
        head_bytes: view.head.approximate_bytes() as u64,
        frozen_heads: view.frozen.len() as u64,
        segments: view.version.segments.len() as u64,
        segment_bytes,
        segment_points,
        ..Stats::default()
    }
    .with_counters(&inner.counters)
}
