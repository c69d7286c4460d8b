//! Opening a database directory: lock it, read the manifest, the catalog and the live
//! segments, replay the WAL into a new head, start a new catalog file and a new WAL
//! segment, and remove what a crash left behind.
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
use std::sync::{Arc, Condvar, Mutex, RwLock};

use crate::error::{Error, Result};
use crate::io::file_number::{self as numbers, MAX_FILE_NUMBER};
use crate::io::fs::FileSystem;
use crate::io::identity::{self, Claim, Kind};
use crate::io::manifest::{Manifest, is_manifest_file};
use crate::io::wal::{self, Wal};
use crate::ts::catalog::Catalog;
use crate::ts::catalog_log::CatalogLog;
use crate::ts::engine::{BgState, FileState, Inner, WriterState};
use crate::ts::head::Head;
use crate::ts::options::Options;
use crate::ts::stats::{Counters, Stats};
use crate::ts::version::{
    EDIT_VERSION, Edit, ManifestState, SegmentFile, Version, catalog_file_name, segment_file_name,
};
use crate::ts::view::ReadView;
use crate::ts::{wal_batch, write};

static INSTANCES: AtomicU64 = AtomicU64::new(1);

/// Opens (creating if needed) the database in `dir`.
pub(crate) fn open(dir: &Path, opts: Options) -> Result<Inner> {
    opts.validate()?;
    let fs = Arc::clone(&opts.fs);
    fs.create_dir_all(dir)?;
    let dir_lock = fs.lock_dir(dir)?;
    let names_at_open = fs.list(dir)?;
    let claim = identity::check(fs.as_ref(), dir, &names_at_open, Kind::TimeSeries)?;

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
    if claim == Claim::Legacy
        && records > 0
        && !names_at_open.iter().any(|n| n.starts_with("CATALOG-"))
    {
        return Err(identity::wrong_kind(dir, Kind::KeyValue, Kind::TimeSeries));
    }
    let mut manifest = opened?;
    let read_from = manifest.read_from().unwrap_or(&manifest_path).to_path_buf();
    check_manifest_complete(fs.as_ref(), dir, &state, &read_from)?;

    let mut catalog = match state.catalog_file {
        Some(n) => CatalogLog::load(fs.as_ref(), dir, n)?,
        None => Catalog::new(),
    };
    let catalog_name = state
        .catalog_file
        .map_or_else(|| dir.join("CATALOG"), |n| dir.join(catalog_file_name(n)));

    let mut segments = Vec::with_capacity(state.segments.len());
    for meta in state.segments.values() {
        let file = SegmentFile::open(&fs, dir, *meta)?;
        if let Some(id) = file
            .seg
            .series_ids()
            .iter()
            .find(|&id| catalog.key(id).is_none())
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

    let names = fs.list(dir)?;
    let mut next_file = state.next_file.max(1);
    for name in &names {
        if let Some(n) = file_number(name) {
            next_file = next_file.max(n + 1);
        }
    }
    // Names only carry numbers below the maximum; a counter past it (this open takes
    // two more numbers) comes from a damaged manifest.
    if next_file > MAX_FILE_NUMBER - 2 {
        return Err(Error::corruption(
            &read_from,
            0,
            format!("file number {next_file} is past the supported maximum"),
        ));
    }

    let head = Head::new();
    let replay = replay_wal(
        fs.as_ref(),
        dir,
        state.log_number,
        opts.wal_recovery,
        &mut catalog,
        &head,
    )?;
    if let Some(damage) = &replay.damage {
        opts.on_wal_damage.report(damage);
    }

    // Without points or deletes to keep, the old WAL segments only carried series
    // definitions, which the new catalog file now holds: they can go. Otherwise they
    // stay live, and what was just recovered from them must not be lost by a power
    // cut once writes continue in a new segment (a process crash left them in the
    // OS's cache only): make them durable first.
    let wal_needed = !head.is_empty() || !head.tombstones().is_empty();
    if wal_needed {
        wal::sync_segments(fs.as_ref(), dir, state.log_number)?;
    }
    let catalog_n = next_file;
    let wal_n = next_file + 1;
    next_file += 2;
    let catalog_log = CatalogLog::create(&fs, dir, catalog_n, &catalog)?;
    let wal = Wal::create(Arc::clone(&fs), dir, wal_n, write::wal_mode(opts.sync_mode))?;
    let view = ReadView {
        head: Arc::new(head),
        sealed: Vec::new(),
        version: Arc::new(Version::new(segments)),
    };
    // The newest timestamp ever written: what the manifest recorded (deleted points
    // included), what the segments and the replayed WAL (durable now) hold.
    let durable_max_ts = state.max_ts.max(view.max_ts());
    let edit = Edit {
        next_file: Some(next_file),
        catalog_file: Some(catalog_n),
        log_number: (!wal_needed).then_some(wal_n),
        max_ts: durable_max_ts,
        ..Edit::default()
    };
    manifest.append(&edit.encode())?;
    state
        .apply(&edit)
        .map_err(|e| Error::corruption(&manifest_path, 0, e.0))?;

    remove_orphans(fs.as_ref(), dir, &names, &state, catalog_n)?;
    if claim == Claim::Legacy {
        identity::write(fs.as_ref(), dir, Kind::TimeSeries)?;
    }

    let max_ts = durable_max_ts.unwrap_or(i64::MIN);
    let counters = Counters::default();
    // After a cut tail `Db::open_with` flushes, so the cut is made permanent before
    // that segment stops being the last one (where damage is reported as corruption).
    Counters::add(&counters.wal_torn_tails, replay.torn_tails);
    Counters::add(
        &counters.wal_damaged_tails,
        u64::from(replay.damage.is_some()),
    );
    Counters::add(&counters.wal_records_replayed, replay.records);
    Ok(Inner {
        dir: dir.to_path_buf(),
        fs,
        wal,
        catalog: RwLock::new(catalog),
        view: RwLock::new(Arc::new(view)),
        head_gate: RwLock::new(()),
        writer: Mutex::new(WriterState::default()),
        write_cache: Mutex::new(Default::default()),
        files: Mutex::new(FileState {
            manifest,
            state,
            catalog_log,
        }),
        flush_lock: Mutex::new(()),
        compaction_lock: Mutex::new(()),
        bg: Mutex::new(BgState::default()),
        bg_wake: Condvar::new(),
        next_file: AtomicU64::new(next_file),
        max_ts: AtomicI64::new(max_ts),
        durable_max_ts: AtomicI64::new(max_ts),
        poisoned: Mutex::new(None),
        counters,
        wal_damage: replay.damage,
        instance: INSTANCES.fetch_add(1, Ordering::Relaxed),
        opts,
        _lock: dir_lock,
    })
}

/// Detects a MANIFEST that lost committed edits: a damaged final record reads like a
/// torn append and is ignored, and a truncated file reads like an older one. Opening
/// such a state would bring back an older file set and delete newer segments as
/// orphans, losing points silently.
///
/// Every edit that sets the log number names a WAL segment that was created and made
/// durable (file and directory fsync'd) before the edit, and segments are removed only
/// below the log number of a durable edit, so the segment it names exists. The first
/// open's edit sets a log number before any segment is written, so with no log number
/// there is no segment file.
pub(crate) fn check_manifest_complete(
    fs: &dyn FileSystem,
    dir: &Path,
    state: &ManifestState,
    manifest_path: &Path,
) -> Result<()> {
    let what = if state.log_number > 0 {
        if wal::list_segments(fs, dir)?.contains(&state.log_number) {
            return Ok(());
        }
        format!(
            "WAL segment {} named by the log number is missing: a committed edit was lost",
            state.log_number
        )
    } else if fs.list(dir)?.iter().any(|n| n.ends_with(".seg")) {
        "segment files exist but the MANIFEST records no edit: committed edits were lost".into()
    } else {
        return Ok(());
    };
    Err(Error::corruption(manifest_path, 0, what))
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

/// What WAL replay found.
#[derive(Debug, Default)]
struct Replayed {
    records: u64,
    torn_tails: u64,
    damage: Option<wal::WalDamage>,
}

/// Replays the WAL segments from `log_number` on into `head`, defining the series
/// they carry in `catalog`.
fn replay_wal(
    fs: &dyn FileSystem,
    dir: &Path,
    log_number: u64,
    mode: wal::WalRecovery,
    catalog: &mut Catalog,
    head: &Head,
) -> Result<Replayed> {
    let stats = wal::replay_with(fs, dir, log_number, mode, |segment, payload| {
        let file = dir.join(wal::segment_file_name(segment));
        let bad = |what: String| Error::corruption(&file, 0, what);
        // A batch of another format version (an older build's unflushed WAL) is not
        // damage: say so, so nobody discards the log as corrupt. Flush with the build
        // that wrote it before upgrading.
        if let Some(found) = wal_batch::foreign_version(payload) {
            return Err(Error::UnsupportedVersion {
                file,
                found: u32::from(found),
                supported: u32::from(wal_batch::VERSION),
            });
        }
        let batch = wal_batch::decode(payload).map_err(|e| bad(format!("WAL batch: {e}")))?;
        for (id, key) in batch.defs {
            catalog
                .insert_with_id(id, key)
                .map_err(|e| bad(format!("WAL series definition: {e}")))?;
        }
        for (id, ts, vals) in &batch.cols {
            if catalog.key(*id).is_none() {
                return Err(bad(format!("WAL batch writes to unknown series {id}")));
            }
            head.append_many(*id, ts, vals)
                .map_err(|e| bad(format!("WAL batch column: {e}")))?;
        }
        for &(id, start, end) in &batch.dels {
            head.delete_range(id, start, end);
        }
        Ok(())
    })?;
    Ok(Replayed {
        records: stats.records,
        torn_tails: stats.torn_tails,
        damage: stats.damage,
    })
}

/// The file number in a segment, WAL or catalog file name (also under `.tmp`).
fn file_number(name: &str) -> Option<u64> {
    let base = name.strip_suffix(".tmp").unwrap_or(name);
    if let Some(n) = wal::parse_segment_file_name(base) {
        return Some(n);
    }
    let digits = base
        .strip_suffix(".seg")
        .or_else(|| base.strip_prefix("CATALOG-"))?;
    numbers::parse(digits)
}

/// Removes files a crash left behind: temporaries, segments the manifest does not
/// name, catalog files other than the live one, and flushed WAL segments. Files the
/// engine does not recognize are left alone.
fn remove_orphans(
    fs: &dyn FileSystem,
    dir: &Path,
    names: &[String],
    state: &ManifestState,
    live_catalog: u64,
) -> Result<()> {
    let mut removed = false;
    for name in names {
        if name == "LOCK" || is_manifest_file(name) {
            continue;
        }
        let orphan = if name.ends_with(".tmp") {
            file_number(name).is_some()
        } else if let Some(n) = wal::parse_segment_file_name(name) {
            n < state.log_number
        } else if let Some(n) = file_number(name) {
            if name.ends_with(".seg") {
                !state.segments.contains_key(&n) || segment_file_name(n) != *name
            } else {
                n != live_catalog
            }
        } else {
            false
        };
        if orphan {
            fs.remove_file(&dir.join(name))?;
            removed = true;
        }
    }
    if removed {
        fs.sync_dir(dir)?;
    }
    Ok(())
}

/// The stats that do not come from counters.
pub(crate) fn sizes(inner: &Inner) -> Stats {
    let view = inner.current_view();
    let (segment_bytes, segment_points) = view.version.totals();
    Stats {
        wal_damage: inner.wal_damage.clone(),
        series: inner.catalog().len() as u64,
        head_points: view.head.point_count() as u64,
        head_bytes: view.head.approximate_bytes() as u64,
        frozen_heads: view.sealed.len() as u64,
        segments: view.version.segments.len() as u64,
        segment_bytes,
        segment_points,
        ..Stats::default()
    }
    .with_counters(&inner.counters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_numbers_parse_only_engine_names() {
        assert_eq!(file_number("000012.seg"), Some(12));
        assert_eq!(file_number("000012.seg.tmp"), Some(12));
        assert_eq!(file_number("CATALOG-000007"), Some(7));
        assert_eq!(file_number(&wal::segment_file_name(99)), Some(99));
        assert_eq!(file_number("MANIFEST-000003"), None);
        assert_eq!(file_number("LOCK"), None);
        assert_eq!(file_number(".seg"), None);
        assert_eq!(file_number("notes.txt"), None);
        assert_eq!(file_number("18446744073709551615.seg"), None);
        assert_eq!(file_number("4611686018427387904.seg.tmp"), None);
    }
}
