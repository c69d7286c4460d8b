//! [`Store`]: the public handle of the key-value LSM store.
//!
//! ```no_run
//! # fn main() -> tidestore::Result<()> {
//! use tidestore::kv::{Store, WriteBatch};
//!
//! let store = Store::open("./lsm_db")?;
//! store.put("column1", "key2", "{\"value\": 2}")?;
//! assert_eq!(store.get("column1", "key2")?, Some(b"{\"value\": 2}".to_vec()));
//! for entry in store.range("column1", "key0".."key5")? {
//!     let (key, value) = entry?;
//!     println!("{key:?} = {value:?}");
//! }
//! let mut batch = WriteBatch::new();
//! batch.put("column1", "a", "1");
//! batch.delete("column2", "b");
//! store.write(batch)?;
//! store.close()?;
//! # Ok(())
//! # }
//! ```

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::Result;
use crate::engine::lock::read;
use crate::engine::worker::Workers;
use crate::kv::background;
use crate::kv::column_family::ColumnFamily;
use crate::kv::core::inner::Inner;
use crate::kv::open;
use crate::kv::options::Options;
use crate::kv::read::range::{KeyRange, RangeIter, ReadAt};
use crate::kv::snapshot::Snapshot;
use crate::kv::stats::Stats;
use crate::kv::write::batch::WriteBatch;
use crate::kv::write::queue::WriteQueue;

/// An open key-value store: named column families of byte keys and values in one
/// directory.
///
/// `Store` is `Send + Sync`: share it with `Arc` and call it from any thread. Writes are
/// serialized with group commit; reads never block on writers, flushes or compactions.
/// Column families are created by their first write and persisted. Dropping the store
/// does what [`Store::close`] does, ignoring errors.
pub struct Store {
    inner: Arc<Inner>,
    /// The group-commit queue every write goes through.
    writers: WriteQueue,
    workers: Workers,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store in directory `path` with default [`Options`], creating it if
    /// needed. Recovers whatever the write-ahead log holds.
    ///
    /// Errors: [`crate::Error::Locked`] if another handle has it open,
    /// [`crate::Error::Corruption`] naming the file if a live file is damaged.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path, Options::default())
    }

    /// Opens the store in directory `path` with `options`.
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Store> {
        let inner = open::open(path.as_ref(), options)?;
        let store = Store {
            inner,
            writers: WriteQueue::default(),
            workers: Workers::default(),
        };
        if store.inner.opts.shared.background_work {
            background::start(&store.inner, &store.workers)?;
            // Recovered memtables are flushed by the workers just started.
            store.inner.wakeup.wake();
        } else {
            store.inner.run_inline_work()?;
        }
        if store.inner.wal_replay.cut_tail() {
            // Replay cut a torn or damaged WAL tail. Flushing now moves the recovered
            // writes into a table and retires that WAL segment, so the next open does
            // not meet the damage again in a segment that is no longer the last.
            store.flush()?;
        }
        Ok(store)
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.inner.dir
    }

    /// Sets `key` to `value` in column family `cf` (created if missing).
    ///
    /// Errors: [`crate::Error::InvalidArgument`] for an empty or over-long family name
    /// or a key or value over the limits (nothing is written);
    /// [`crate::Error::Poisoned`] after an earlier I/O failure.
    pub fn put(&self, cf: &str, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.put(cf, key, value);
        self.inner.write_batch(&self.writers, batch)
    }

    /// Deletes `key` from column family `cf`. Deleting from a family that does not
    /// exist does nothing (and does not create it).
    pub fn delete(&self, cf: &str, key: impl AsRef<[u8]>) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete(cf, key);
        self.inner.write_batch(&self.writers, batch)
    }

    /// Applies every operation of `batch` atomically: after a crash either all of them
    /// are there or none. Column families it puts into are created first; deletes in a
    /// family that does not exist are no-ops. Errors as for [`Store::put`]; on error
    /// nothing is written.
    pub fn write(&self, batch: WriteBatch) -> Result<()> {
        self.inner.write_batch(&self.writers, batch)
    }

    /// The value of `key` in column family `cf`, or `None` if it has none (or the
    /// family does not exist).
    pub fn get(&self, cf: &str, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.inner.get_at(cf, key.as_ref(), ReadAt::Latest)
    }

    /// The keys of column family `cf` in `range` with their values, in key order: any
    /// range form (`..`, `a..`, `..b`, `a..b`, `a..=b`, `..=b`) over `&str`, `&[u8]`,
    /// `Vec<u8>`, ... A family that does not exist reads as empty.
    pub fn range(&self, cf: &str, range: impl KeyRange) -> Result<RangeIter> {
        self.inner.range_at(cf, range, ReadAt::Latest)
    }

    /// Flushes the memtable to a table file and waits until every write made before
    /// the call is in a table.
    pub fn flush(&self) -> Result<()> {
        self.inner.freeze_active(&self.writers)?;
        self.inner.wait_for_flushes()
    }

    /// Flushes, then compacts everything into the deepest level, dropping overwritten
    /// versions and deleted keys (except what live snapshots still see). Waits for
    /// completion.
    pub fn compact(&self) -> Result<()> {
        self.flush()?;
        let result = self.inner.compact_all();
        if let Err(e) = &result {
            self.inner.poison_with(e);
        }
        result
    }

    /// A handle on column family `name`, created (durably) if missing. Its reads and
    /// writes skip the name lookup that every call of [`Store::get`] or [`Store::put`]
    /// makes: use it on hot paths.
    ///
    /// Errors: [`crate::Error::InvalidArgument`] for an empty or over-long name (or
    /// too many families); [`crate::Error::Poisoned`] after an earlier failure.
    pub fn cf(&self, name: &str) -> Result<ColumnFamily<'_>> {
        crate::kv::write::batch::validate_cf_name(name)?;
        let id = self.inner.resolve_cf(name, true)?.ok_or_else(|| {
            crate::Error::internal(format!("column family {name:?} has no id after creation"))
        })?;
        Ok(ColumnFamily::new(&self.inner, &self.writers, name, id))
    }

    /// The names of every column family, sorted.
    pub fn list_column_families(&self) -> Vec<String> {
        read(&self.inner.cfs).names()
    }

    /// A consistent view of the store as of now (see [`Snapshot`]).
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot::new(&self.inner)
    }

    /// The store's counters and the current shape of its LSM tree.
    pub fn stats(&self) -> Stats {
        let inner = &self.inner;
        let mut s = inner.counters.snapshot();
        s.wal_torn_tails = inner.wal_replay.torn_tails;
        s.wal_damaged_tails = u64::from(inner.wal_replay.damaged_tail);
        s.wal_dropped_bytes = inner.wal_replay.dropped_bytes;
        s.wal_damage = inner.wal_replay.damage.clone();
        let view = inner.current_view();
        s.memtable_bytes = view.active.approximate_bytes();
        s.frozen_memtables = view.frozen.len();
        s.levels = view.version.level_stats();
        s.live_snapshots = inner.snapshots.len();
        s.last_sequence = inner.visible_seq.load(Ordering::Acquire);
        s
    }

    /// Stops background work and makes every acknowledged write durable. Dropping the
    /// store does the same, ignoring errors.
    ///
    /// Errors: [`crate::Error::Poisoned`] if an earlier failure poisoned the store
    /// (reopen it to recover the last durable state), or the final fsync's error.
    pub fn close(self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&self) -> Result<()> {
        self.inner.wakeup.stop();
        self.workers.stop();
        self.inner.poison.check()?;
        self.inner.wal.sync()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
