//! The state a store shares between its handle, its writers, its readers and its
//! background threads.
//!
//! Lock order (a thread holding one may only take those after it): write-queue leader
//! role -> `compaction_lock` -> `flush_lock` -> `state` -> `cfs` -> `view`. The snapshot
//! list's lock and the write queue's own mutex are leaves.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};

use crate::Error;
use crate::engine::lock::{lock, read, write};
use crate::engine::poison::Poison;
use crate::engine::worker::Wakeup;
use crate::io::fs::{DirLockGuard, FileSystem};
use crate::io::wal::Wal;
use crate::kv::core::cf::CfRegistry;
use crate::kv::core::snapshots::SnapshotList;
use crate::kv::core::view::ReadView;
use crate::kv::memtable::Memtable;
use crate::kv::options::Options;
use crate::kv::stats::Counters;
use crate::kv::version::set::VersionSet;

/// A memtable that no longer takes writes and waits for its flush.
#[derive(Debug, Clone)]
pub(crate) struct FrozenMemtable {
    /// The memtable.
    pub mem: Arc<Memtable>,
    /// The oldest WAL segment holding any of its entries.
    pub first_segment: u64,
    /// Its generation: memtables are numbered in the order they were created.
    pub generation: u64,
}

/// What the state mutex guards: the version set and the memtable lineup.
pub(crate) struct State {
    /// MANIFEST and current version.
    pub versions: VersionSet,
    /// The memtable taking writes.
    pub active: Arc<Memtable>,
    /// The oldest WAL segment holding entries of `active`.
    pub active_first_segment: u64,
    /// Generation of `active`.
    pub active_generation: u64,
    /// Frozen memtables, oldest first.
    pub frozen: VecDeque<FrozenMemtable>,
    /// Every memtable up to this generation is flushed.
    pub flushed_generation: u64,
}

impl State {
    /// The read state of these memtables and this version (frozen memtables newest
    /// first, as reads look at them).
    pub(crate) fn read_view(&self) -> ReadView {
        ReadView {
            active: Arc::clone(&self.active),
            frozen: self
                .frozen
                .iter()
                .rev()
                .map(|f| Arc::clone(&f.mem))
                .collect(),
            version: Arc::clone(self.versions.current()),
        }
    }
}

/// The shared core of a store.
pub(crate) struct Inner {
    /// The store's directory.
    pub dir: PathBuf,
    /// Options it was opened with.
    pub opts: Options,
    /// File system (a clone of `opts.fs`).
    pub fs: Arc<dyn FileSystem>,
    /// The write-ahead log.
    pub wal: Wal,
    /// Column families (reads look names up here without the state lock).
    pub cfs: RwLock<CfRegistry>,
    /// Sequence number of the newest write readers may see.
    pub visible_seq: AtomicU64,
    /// The next file number (WAL segments and tables share the counter).
    pub next_file_number: AtomicU64,
    /// The read state.
    pub view: RwLock<Arc<ReadView>>,
    /// Version set and memtables.
    pub state: Mutex<State>,
    /// Wakes the background workers (new frozen memtable, new version); stopped at
    /// shutdown, which long jobs poll to stop early.
    pub wakeup: Arc<Wakeup>,
    /// Wakes threads waiting for background progress (stalled writers, `flush()`).
    pub progress_cv: Condvar,
    /// Held while a compaction runs: one at a time.
    pub compaction_lock: Mutex<()>,
    /// Held while a flush runs: one at a time, oldest memtable first.
    pub flush_lock: Mutex<()>,
    /// Live snapshots.
    pub snapshots: SnapshotList,
    /// Counters behind `Stats`.
    pub counters: Counters,
    /// What the open's WAL replay found (torn or damaged tails).
    pub wal_replay: crate::io::wal::ReplayStats,
    /// Set by the first failed write, fsync or background job: no more writes.
    pub poison: Poison,
    /// The directory lock, released last.
    pub _dir_lock: Box<dyn DirLockGuard>,
}

impl Inner {
    /// Poisons the store after `err` (the first cause is kept) and wakes everyone
    /// waiting for progress, so they see it.
    pub(crate) fn poison_with(&self, err: &Error) {
        self.poison_because(err.to_string());
    }

    /// [`Inner::poison_with`], with the cause as text.
    pub(crate) fn poison_because(&self, why: String) {
        let _guard = lock(&self.state);
        self.poison.set(why);
        self.wake_waiters();
    }

    /// [`Inner::poison_with`] for a caller that holds the state lock (notifying under
    /// it means no waiter can miss the wake-up between its check and its wait).
    pub(crate) fn poison_with_locked(&self, err: &Error) {
        self.poison.set(err.to_string());
        self.wake_waiters();
    }

    /// Wakes writers waiting for progress and the background workers.
    pub(crate) fn wake_waiters(&self) {
        self.progress_cv.notify_all();
        self.wakeup.wake();
    }

    /// Whether the store is shutting down (long jobs stop early).
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.wakeup.is_stopping()
    }

    /// The current read state.
    pub(crate) fn current_view(&self) -> Arc<ReadView> {
        Arc::clone(&read(&self.view))
    }

    /// Publishes a read state built from `state` (call with the state lock held, after
    /// any change to the memtables or the version).
    pub(crate) fn install_view(&self, state: &State) {
        *write(&self.view) = Arc::new(state.read_view());
    }

    /// Hands out a fresh file number.
    pub(crate) fn new_file_number(&self) -> u64 {
        self.next_file_number.fetch_add(1, Ordering::SeqCst)
    }

    /// The next file number that will be handed out (recorded in MANIFEST edits).
    pub(crate) fn file_number_watermark(&self) -> u64 {
        self.next_file_number.load(Ordering::SeqCst)
    }
}
