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
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, RwLock};

use crate::engine::poison::Poison;
use crate::engine::worker::Wakeup;
use crate::io::dir;
use crate::io::file_number::TABLE;
use crate::io::identity::{self, Claim, Kind};
use crate::io::manifest::Manifest;
use crate::io::wal::{self, ReplayStats, Wal};
use crate::kv::core::cf;
use crate::kv::core::inner::{FrozenMemtable, Inner, State};
use crate::kv::core::snapshots::SnapshotList;
use crate::kv::memtable::Memtable;
use crate::kv::options::Options;
use crate::kv::stats::Counters;
use crate::kv::version::Version;
use crate::kv::version::edit::{EDIT_VERSION, VersionEdit};
use crate::kv::version::set::{Recovered, VersionSet};
use crate::kv::version::table_file::TableFile;
use crate::kv::write::batch;
use crate::{Error, Result};

/// Memtables rebuilt from the WAL, oldest first, with the first segment of each.
struct Replayed {
    mems: Vec<(Arc<Memtable>, u64)>,
    max_seq: u64,
    /// What the replay found (torn or damaged tails).
    stats: ReplayStats,
}

/// Opens (or creates) the store in `dir`.
pub(crate) fn open(dir: &Path, opts: Options) -> Result<Arc<Inner>> {
    opts.validate()?;
    let fs = Arc::clone(&opts.shared.fs);
    let claimed = dir::claim(fs.as_ref(), dir, Kind::KeyValue)?;

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

    let names = &claimed.names;
    let manifest_file = manifest.file_for_errors();
    dir::check_manifest_complete(rec.log_number, names, TABLE, &manifest_file)?;
    // Never hand out a number some file in the directory already has; this open
    // takes one (the new WAL segment).
    let mut next_file =
        dir::counter_at_open(rec.next_file_number, names, &[TABLE], 1, &manifest_file)?;

    let replayed = replay_wal(&opts, dir, &rec)?;
    if !replayed.mems.is_empty() {
        // The recovered writes stay in the old segments until their flush, which runs
        // in the background: make them durable before writes continue in a new
        // segment, or a power cut before that flush could lose them while keeping
        // newer writes (a process crash left them in the OS's cache only).
        wal::sync_segments(fs.as_ref(), dir, rec.log_number)?;
    }
    let segment = next_file;
    next_file += 1;
    let wal = Wal::create(Arc::clone(&fs), dir, segment, opts.shared.sync_mode)?;

    let mut versions = VersionSet::new(
        manifest,
        opts.shared.manifest_rewrite_bytes,
        dir,
        &rec,
        version,
    );
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
    let live: std::collections::HashSet<u64> = versions
        .current()
        .all_files()
        .map(|(_, f)| f.number())
        .collect();
    dir::sweep_orphans(
        fs.as_ref(),
        dir,
        names,
        versions.log_number(),
        &[TABLE],
        |_, n| live.contains(&n),
    )?;
    if claimed.identity == Claim::Legacy {
        identity::write(fs.as_ref(), dir, Kind::KeyValue)?;
    }

    let frozen: VecDeque<FrozenMemtable> = replayed
        .mems
        .into_iter()
        .enumerate()
        .map(|(i, (mem, first_segment))| FrozenMemtable {
            mem,
            first_segment,
            generation: i as u64 + 1,
        })
        .collect();
    let state = State {
        versions,
        active: Arc::new(Memtable::new()),
        active_first_segment: segment,
        active_generation: frozen.len() as u64 + 1,
        frozen,
        flushed_generation: 0,
    };
    let view = state.read_view();
    let visible = replayed.max_seq.max(state.versions.last_seq());

    Ok(Arc::new(Inner {
        dir: dir.to_path_buf(),
        fs,
        wal,
        cfs: RwLock::new(rec.cfs),
        visible_seq: AtomicU64::new(visible),
        next_file_number: AtomicU64::new(next_file),
        view: RwLock::new(Arc::new(view)),
        state: Mutex::new(state),
        wakeup: Wakeup::new(),
        progress_cv: Condvar::new(),
        compaction_lock: Mutex::new(()),
        flush_lock: Mutex::new(()),
        snapshots: SnapshotList::default(),
        counters: Counters::default(),
        wal_replay: replayed.stats,
        poison: Poison::default(),
        opts,
        _dir_lock: claimed.lock,
    }))
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
fn replay_wal(opts: &Options, dir: &Path, rec: &Recovered) -> Result<Replayed> {
    let mut mems = Vec::new();
    let mut max_seq = rec.last_seq;
    let mut current: Option<(Arc<Memtable>, u64)> = None;
    let stats = wal::recover(
        opts.shared.fs.as_ref(),
        dir,
        rec.log_number,
        opts.shared.wal_recovery,
        &opts.shared.on_wal_damage,
        |segment, file, payload| {
            let bad = |what: &str| Error::corruption(file, 0, format!("undecodable batch: {what}"));
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
                max_seq = max_seq.max(seq);
            }
            if mem.approximate_bytes() >= opts.memtable_bytes
                && let Some(full) = current.take()
            {
                mems.push(full);
            }
            Ok(())
        },
    )?;
    if let Some(last) = current.take() {
        mems.push(last);
    }
    mems.retain(|(m, _)| !m.is_empty());
    Ok(Replayed {
        mems,
        max_seq,
        stats,
    })
}
