//! Opening a store: lock the directory, check that it is a key-value store's
//! (`crate::io::identity`), rebuild the state from the MANIFEST, open every live
//! table, replay the WAL, start a new WAL segment, delete what a crash left behind.
//!
//! Replay skips entries whose sequence number is at or below the MANIFEST's last
//! flushed sequence number (they are in tables already) and fills memtables of at most
//! `memtable_bytes`; they are frozen, so the usual flush path writes them to L0 and
//! advances the log number. The file-number counter restarts above both the MANIFEST's
//! and every number found in the directory, so a crash can never make the store reuse
//! (and truncate) a live file.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};

use crate::io::file_number::MAX_FILE_NUMBER;
use crate::io::identity::{self, Claim, Kind};
use crate::io::manifest::Manifest;
use crate::io::wal::{self, Wal};
use crate::kv::batch;
use crate::kv::cf;
use crate::kv::inner::{Frozen, Inner, State};
use crate::kv::memtable::Memtable;
use crate::kv::options::Options;
use crate::kv::snapshot::SnapshotList;
use crate::kv::stats::{self, Counters};
use crate::kv::super_version::SuperVersion;
use crate::kv::table_file::{TMP_SUFFIX, TableFile, parse_table_file_name};
use crate::kv::version::Version;
use crate::kv::version_edit::{EDIT_VERSION, VersionEdit};
use crate::kv::version_set::{Recovered, VersionSet};
use crate::kv::write::WriteQueue;
use crate::{Error, Result};

/// Memtables rebuilt from the WAL, oldest first, with the first segment of each.
struct Replayed {
    mems: Vec<(Arc<Memtable>, u64)>,
    max_seq: u64,
    /// The damaged tail tolerated, if any.
    damage: Option<wal::WalDamage>,
}

/// Opens (or creates) the store in `dir`.
pub(crate) fn open(dir: &Path, opts: Options) -> Result<Arc<Inner>> {
    opts.validate()?;
    let fs = Arc::clone(&opts.fs);
    fs.create_dir_all(dir)?;
    let dir_lock = fs.lock_dir(dir)?;
    let claim = identity::check(fs.as_ref(), dir, &fs.list(dir)?, Kind::KeyValue)?;

    let mut rec = Recovered::default();
    let manifest = Manifest::open(Arc::clone(&fs), dir, |bytes| {
        let edit = decode_edit(bytes, dir)?;
        rec.apply(edit, dir)
    })?;

    let mut live = Vec::new();
    for (level, files) in rec.files.iter().enumerate() {
        for meta in files.values() {
            live.push((level, TableFile::open(Arc::clone(&fs), dir, meta.clone())?));
        }
    }
    let version = Version::default()
        .apply(&[], &live)
        .map_err(|what| Error::corruption(dir.join("MANIFEST"), 0, what))?;

    // Never hand out a number some file in the directory already has.
    let names = fs.list(dir)?;
    let segments = wal::list_segments(fs.as_ref(), dir)?;
    check_manifest_complete(&rec, &names, &segments, || {
        manifest
            .read_from()
            .map_or_else(|| dir.join(&manifest.file_names()[1]), Path::to_path_buf)
    })?;
    let mut next_file = rec.next_file_number.max(1);
    let numbered = names
        .iter()
        .filter_map(|n| parse_table_file_name(n.strip_suffix(TMP_SUFFIX).unwrap_or(n)))
        .chain(segments.iter().copied());
    for n in numbered {
        next_file = next_file.max(n.saturating_add(1));
    }

    let counters = Counters::default();
    let replayed = replay_wal(&opts, dir, &rec, &counters)?;

    // Numbers are never reused; refuse to start near the end of the counter (only a
    // damaged MANIFEST can get it there: names with larger numbers are not ours).
    if next_file > MAX_FILE_NUMBER {
        return Err(Error::corruption(
            dir.join("MANIFEST"),
            0,
            format!("file number {next_file} is past the supported maximum"),
        ));
    }
    if !replayed.mems.is_empty() {
        // The recovered writes stay in the old segments until their flush, which runs
        // in the background: make them durable before writes continue in a new
        // segment, or a power cut before that flush could lose them while keeping
        // newer writes (a process crash left them in the OS's cache only).
        wal::sync_segments(fs.as_ref(), dir, rec.log_number)?;
    }
    let segment = next_file;
    next_file += 1;
    let wal = Wal::create(Arc::clone(&fs), dir, segment, opts.sync_mode)?;

    let mut versions = VersionSet::new(manifest, opts.manifest_rewrite_bytes, dir, &rec, version);
    // Record the counter (and, with nothing to flush, that older segments are done).
    let log_number = if replayed.mems.is_empty() {
        segment
    } else {
        versions.log_number()
    };
    let edit = VersionEdit {
        log_number: Some(log_number),
        ..Default::default()
    };
    versions.log_and_apply(edit, &[], next_file)?;
    remove_orphans(&opts, dir, &names, &versions)?;
    if claim == Claim::Legacy {
        identity::write(fs.as_ref(), dir, Kind::KeyValue)?;
    }
    wal::remove_segments_below(fs.as_ref(), dir, versions.log_number())?;

    let frozen: VecDeque<Frozen> = replayed
        .mems
        .into_iter()
        .enumerate()
        .map(|(i, (mem, first_segment))| Frozen {
            mem,
            first_segment,
            generation: i as u64 + 1,
        })
        .collect();
    let active = Arc::new(Memtable::new());
    let state = State {
        versions,
        active: Arc::clone(&active),
        active_first_segment: segment,
        active_generation: frozen.len() as u64 + 1,
        frozen,
        flushed_generation: 0,
        shutdown: false,
    };
    let sv = SuperVersion {
        active,
        frozen: state
            .frozen
            .iter()
            .rev()
            .map(|f| Arc::clone(&f.mem))
            .collect(),
        version: Arc::clone(state.versions.current()),
    };
    let visible = replayed.max_seq.max(state.versions.last_seq());

    Ok(Arc::new(Inner {
        dir: dir.to_path_buf(),
        fs,
        wal,
        cfs: RwLock::new(rec.cfs),
        queue: WriteQueue::default(),
        visible_seq: AtomicU64::new(visible),
        next_file_number: AtomicU64::new(next_file),
        sv: RwLock::new(Arc::new(sv)),
        state: Mutex::new(state),
        work_cv: Condvar::new(),
        progress_cv: Condvar::new(),
        compaction_lock: Mutex::new(()),
        flush_lock: Mutex::new(()),
        snapshots: SnapshotList::default(),
        counters,
        wal_damage: replayed.damage,
        poison: OnceLock::new(),
        shutting_down: AtomicBool::new(false),
        opts,
        _dir_lock: dir_lock,
    }))
}

/// Detects a MANIFEST that lost committed edits (a damaged final record reads like a
/// torn one and is ignored; a truncated file reads like an older one), which would
/// otherwise silently bring back an older state and delete newer tables as orphans.
///
/// Every edit that sets the log number names a WAL segment created and made durable
/// before it, and segments are only removed below the log number of a durable edit: so
/// the segment the log number names exists. And a table is only written after the
/// first open's edit (which sets a log number) is durable: so with no log number there
/// is no table.
pub(crate) fn check_manifest_complete(
    rec: &Recovered,
    names: &[String],
    segments: &[u64],
    manifest_path: impl FnOnce() -> std::path::PathBuf,
) -> Result<()> {
    let what = if rec.log_number > 0 && !segments.contains(&rec.log_number) {
        format!(
            "WAL segment {} named by the log number is missing: a committed edit was lost",
            rec.log_number
        )
    } else if rec.log_number == 0 && names.iter().any(|n| parse_table_file_name(n).is_some()) {
        "table files exist but the MANIFEST records no edit: committed edits were lost".into()
    } else {
        return Ok(());
    };
    Err(Error::corruption(manifest_path(), 0, what))
}

/// Decodes one MANIFEST record.
pub(crate) fn decode_edit(bytes: &[u8], dir: &Path) -> Result<VersionEdit> {
    let file = dir.join("MANIFEST");
    if let Some(&v) = bytes.first()
        && v > EDIT_VERSION
    {
        return Err(Error::UnsupportedVersion {
            file,
            found: u32::from(v),
            supported: u32::from(EDIT_VERSION),
        });
    }
    VersionEdit::decode(bytes).map_err(|e| Error::corruption(file, 0, e.0))
}

/// Rebuilds memtables from the WAL segments the MANIFEST still needs.
fn replay_wal(
    opts: &Options,
    dir: &Path,
    rec: &Recovered,
    counters: &Counters,
) -> Result<Replayed> {
    let mut out = Replayed {
        mems: Vec::new(),
        max_seq: rec.last_seq,
        damage: None,
    };
    let mut current: Option<(Arc<Memtable>, u64)> = None;
    let fs = opts.fs.as_ref();
    let report = wal::replay_with(
        fs,
        dir,
        rec.log_number,
        opts.wal_recovery,
        |segment, payload| {
            let bad = |what: &str| {
                Error::corruption(
                    dir.join(wal::segment_file_name(segment)),
                    0,
                    format!("undecodable batch: {what}"),
                )
            };
            let decoded = batch::decode(payload).map_err(|e| bad(e.0))?;
            let mem = match &current {
                Some((mem, _)) => Arc::clone(mem),
                None => {
                    let mem = Arc::new(Memtable::new());
                    current = Some((Arc::clone(&mem), segment));
                    mem
                }
            };
            for (seq, op) in decoded.iter() {
                if seq <= rec.last_seq {
                    continue;
                }
                if !rec.cfs.contains_id(op.cf) {
                    return Err(bad("unknown column family id"));
                }
                mem.insert_prefixed(&cf::prefix(op.cf), op.key, seq, op.kind, op.value);
                out.max_seq = out.max_seq.max(seq);
            }
            if mem.approximate_bytes() >= opts.memtable_bytes
                && let Some(full) = current.take()
            {
                out.mems.push(full);
            }
            Ok(())
        },
    )?;
    if let Some(last) = current.take() {
        out.mems.push(last);
    }
    out.mems.retain(|(m, _)| !m.is_empty());
    stats::add(&counters.wal_torn_tails, report.torn_tails);
    stats::add(&counters.wal_dropped_bytes, report.dropped_bytes);
    if let Some(damage) = report.damage {
        stats::add(&counters.wal_damaged_tails, 1);
        opts.on_wal_damage.report(&damage);
        out.damage = Some(damage);
    }
    Ok(out)
}

/// Deletes tables no version lists and temporaries a crash left behind.
fn remove_orphans(
    opts: &Options,
    dir: &Path,
    names: &[String],
    versions: &VersionSet,
) -> Result<()> {
    let live: std::collections::HashSet<u64> = versions
        .current()
        .all_files()
        .map(|(_, f)| f.number())
        .collect();
    let mut removed = false;
    for name in names {
        let orphan = match name.strip_suffix(TMP_SUFFIX) {
            Some(base) => parse_table_file_name(base).is_some(),
            None => parse_table_file_name(name).is_some_and(|n| !live.contains(&n)),
        };
        if orphan {
            opts.fs.remove_file(&dir.join(name))?;
            removed = true;
        }
    }
    if removed {
        opts.fs.sync_dir(dir)?;
    }
    Ok(())
}
