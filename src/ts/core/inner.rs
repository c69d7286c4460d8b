//! The state shared by a [`crate::ts::Db`] handle and its background thread, and the
//! small helpers every part of the engine uses: the current read view, file numbers,
//! poisoning, and the signal that wakes the background thread.
//!
//! Locks, in the order they may be taken (never the reverse):
//! `writer` -> `files` -> `head_gate` -> `view` / `catalog` (each held briefly, never
//! together with a blocking call inside). `flush_lock` and `compaction_lock` are taken before
//! `files` and serialize flushes and compactions respectively.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use crate::engine::lock::{read, write};
use crate::engine::poison::Poison;
use crate::engine::worker::Wakeup;
use crate::error::{Error, Result};
use crate::io::fs::{DirLockGuard, FileSystem};
use crate::io::manifest::Manifest;
use crate::io::wal::{ReplayStats, Wal};
use crate::ts::core::series_order::SeriesOrder;
use crate::ts::core::view::ReadView;
use crate::ts::head::Head;
use crate::ts::options::Options;
use crate::ts::series::catalog::Catalog;
use crate::ts::series::catalog_log::CatalogLog;
use crate::ts::stats::Counters;
use crate::ts::version::{Edit, ManifestState};

/// State of the (single, serialized) writer.
#[derive(Debug)]
pub(crate) struct WriterState {
    /// The WAL payload being assembled.
    pub payload: Vec<u8>,
    /// The head of the current read view. Only a freeze, under the writer lock,
    /// replaces the view's head, and it updates this too: a write reaches the head
    /// without taking the view's lock and an `Arc` of the view.
    pub head: Arc<Head>,
}

impl WriterState {
    pub fn new(head: Arc<Head>) -> Self {
        WriterState {
            payload: Vec::new(),
            head,
        }
    }
}

/// The durable-state bookkeeping: the manifest, its in-memory mirror, and the catalog
/// file. Changed only under this lock, so manifest order equals install order.
#[derive(Debug)]
pub(crate) struct FileState {
    pub manifest: Manifest,
    pub state: ManifestState,
    pub catalog_log: CatalogLog,
}

/// Everything a database handle and its background thread share.
pub(crate) struct Inner {
    pub dir: PathBuf,
    pub opts: Options,
    pub fs: Arc<dyn FileSystem>,
    pub wal: Wal,
    pub catalog: RwLock<Catalog>,
    /// The series of each metric sorted by key, for scans and queries.
    pub series_order: SeriesOrder,
    pub view: RwLock<Arc<ReadView>>,
    /// Writers hold it exclusively while they apply a committed write to the catalog
    /// and the head; readers hold it shared while they capture the head, so they see
    /// every write whole or not at all.
    pub head_gate: RwLock<()>,
    pub writer: Mutex<WriterState>,
    pub files: Mutex<FileState>,
    pub flush_lock: Mutex<()>,
    pub compaction_lock: Mutex<()>,
    /// Wakes the background worker (a head was frozen or a flush landed: look for
    /// flushes and compactions); stopped at shutdown.
    pub wakeup: Arc<Wakeup>,
    /// The next file number to hand out (segments, WAL segments, catalog files).
    pub next_file: AtomicU64,
    /// The newest timestamp ever written (`i64::MIN` before the first point).
    pub max_ts: AtomicI64,
    /// The newest timestamp of the writes known durable: those recovered at open and
    /// those flushed since (recorded in manifest edits). Compaction drops expired
    /// points relative to it, never relative to a write a power cut could still
    /// take back.
    pub durable_max_ts: AtomicI64,
    /// Set by the first failure that leaves the durable state uncertain.
    pub poison: Poison,
    pub counters: Counters,
    /// What the open's WAL replay found (records, torn or damaged tails).
    pub wal_replay: ReplayStats,
    /// A process-unique id, so a series handle is only used with its own database.
    pub instance: u64,
    /// Held for the handle's lifetime; dropped last.
    pub _lock: Box<dyn DirLockGuard>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// The current read view.
    pub fn current_view(&self) -> Arc<ReadView> {
        Arc::clone(&read(&self.view))
    }

    /// Replaces the read view with `f(current)`.
    pub fn update_view(&self, f: impl FnOnce(&ReadView) -> ReadView) {
        let mut v = write(&self.view);
        *v = Arc::new(f(&v));
    }

    /// The head gate, shared (see [`Inner::head_gate`]).
    pub fn head_gate(&self) -> RwLockReadGuard<'_, ()> {
        read(&self.head_gate)
    }

    /// A read lock on the catalog.
    pub fn catalog(&self) -> RwLockReadGuard<'_, Catalog> {
        read(&self.catalog)
    }

    /// Hands out a new file number.
    pub fn new_file_number(&self) -> u64 {
        self.next_file.fetch_add(1, Ordering::Relaxed)
    }

    /// Appends `edit` to the manifest (stamped with the file counter), rewriting the
    /// manifest as a snapshot when it grew too large. Call with `files` locked.
    pub fn log_edit(&self, files: &mut FileState, mut edit: Edit) -> Result<()> {
        edit.next_file = Some(self.next_file.load(Ordering::Relaxed));
        let mut next = files.state.clone();
        // The engine built `edit` from its own state: one that does not apply is a bug,
        // which poisons the handle.
        self.poison.on_err(
            next.apply(&edit)
                .map_err(|e| Error::internal(format!("inconsistent manifest edit: {e}"))),
        )?;
        files.manifest.append(&edit.encode())?;
        files.state = next;
        if let Some(t) = edit.max_ts {
            self.durable_max_ts.fetch_max(t, Ordering::Relaxed);
        }
        // The edit is committed: a rewrite cannot fail it (see `rewrite_if_due`).
        let state = &files.state;
        files
            .manifest
            .rewrite_if_due(self.opts.shared.manifest_rewrite_bytes, || {
                state.snapshot().encode()
            });
        Ok(())
    }

    /// Raises the newest-timestamp watermark.
    pub fn note_max_ts(&self, ts: i64) {
        self.max_ts.fetch_max(ts, Ordering::Relaxed);
    }

    /// The start of the visible time range under the retention option: points older
    /// than `newest - retention` are hidden (and dropped by compaction).
    pub fn retention_cutoff(&self) -> Option<i64> {
        self.cutoff_from(&self.max_ts)
    }

    /// The retention cutoff compaction applies: relative to the newest *durable*
    /// write, so that what it drops stays dropped whatever a power cut takes back.
    pub fn durable_retention_cutoff(&self) -> Option<i64> {
        self.cutoff_from(&self.durable_max_ts)
    }

    fn cutoff_from(&self, newest: &AtomicI64) -> Option<i64> {
        let r = self.opts.retention?;
        let newest = newest.load(Ordering::Relaxed);
        (newest != i64::MIN).then(|| newest.saturating_sub(r))
    }
}
