//! Options of a [`crate::kv::Store`], with documented defaults.

use crate::engine::{SharedOptions, shared_setters};
use crate::kv::sstable::TableOptions;

/// How a [`crate::kv::Store`] is opened. Every field has a documented default
/// ([`Options::default`]); the setters return `self` so options chain. The options
/// both engines take (sync mode, file system, background work, ...) are in
/// [`Options::shared`], with setters of the same names here.
///
/// ```no_run
/// use tidestore::kv::{Options, Store, SyncMode};
/// # fn main() -> tidestore::Result<()> {
/// let opts = Options::default()
///     .sync_mode(SyncMode::Always) // fsync the WAL before every write returns
///     .memtable_bytes(16 << 20)
///     .l0_compaction_trigger(8);
/// let store = Store::open_with("./kv", opts)?;
/// # drop(store);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    /// The options every handle takes: sync mode, file system, background work,
    /// manifest rewrite size, WAL recovery mode and damage hook.
    pub shared: SharedOptions,
    /// The active memtable is frozen and flushed once it holds this many bytes of keys,
    /// values and overhead. Default 64 MiB.
    pub memtable_bytes: usize,
    /// Also freeze once the memtable holds this many entries (the seed's threshold).
    /// Default `None` (bytes only).
    pub memtable_entries: Option<usize>,
    /// Frozen memtables allowed to wait for their flush before writers stall. Default 2.
    pub max_frozen_memtables: usize,
    /// Level-0 files that trigger a compaction into level 1. Default 4.
    pub l0_compaction_trigger: usize,
    /// Level-0 files at which writers stall until compaction catches up. Default 20.
    pub l0_stall_trigger: usize,
    /// Target size of level 1; each further level is `level_size_multiplier` times
    /// larger. Default 64 MiB.
    pub level1_bytes: u64,
    /// Growth factor between levels. Default 10.
    pub level_size_multiplier: u64,
    /// Target size of one SSTable written by compaction. Default 32 MiB.
    pub target_file_bytes: u64,
    /// Block, Bloom filter and compression settings of the SSTables written.
    pub table: TableOptions,
    /// Most pieces one compaction is split into, merged in parallel (rayon). Default:
    /// the number of CPUs, at most 4.
    pub max_subcompactions: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            shared: SharedOptions::default(),
            memtable_bytes: 64 << 20,
            memtable_entries: None,
            max_frozen_memtables: 2,
            l0_compaction_trigger: 4,
            l0_stall_trigger: 20,
            level1_bytes: 64 << 20,
            level_size_multiplier: 10,
            target_file_bytes: 32 << 20,
            table: TableOptions::default(),
            max_subcompactions: std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(4),
        }
    }
}

impl Options {
    shared_setters!();

    /// Sets [`Options::memtable_bytes`].
    pub fn memtable_bytes(mut self, bytes: usize) -> Self {
        self.memtable_bytes = bytes;
        self
    }
    /// Sets [`Options::memtable_entries`].
    pub fn memtable_entries(mut self, entries: usize) -> Self {
        self.memtable_entries = Some(entries);
        self
    }
    /// Sets [`Options::l0_compaction_trigger`].
    pub fn l0_compaction_trigger(mut self, files: usize) -> Self {
        self.l0_compaction_trigger = files;
        self
    }
    /// Sets [`Options::level1_bytes`].
    pub fn level1_bytes(mut self, bytes: u64) -> Self {
        self.level1_bytes = bytes;
        self
    }
    /// Sets [`Options::target_file_bytes`].
    pub fn target_file_bytes(mut self, bytes: u64) -> Self {
        self.target_file_bytes = bytes;
        self
    }
    /// Sets [`Options::table`].
    pub fn table(mut self, table: TableOptions) -> Self {
        self.table = table;
        self
    }
    /// Sets [`Options::max_subcompactions`].
    pub fn max_subcompactions(mut self, n: usize) -> Self {
        self.max_subcompactions = n;
        self
    }
    /// Sets [`Options::max_frozen_memtables`].
    pub fn max_frozen_memtables(mut self, n: usize) -> Self {
        self.max_frozen_memtables = n;
        self
    }
    /// Sets [`Options::l0_stall_trigger`].
    pub fn l0_stall_trigger(mut self, files: usize) -> Self {
        self.l0_stall_trigger = files;
        self
    }
    /// Sets [`Options::level_size_multiplier`].
    pub fn level_size_multiplier(mut self, m: u64) -> Self {
        self.level_size_multiplier = m;
        self
    }

    /// Checks the options for values the engine cannot work with.
    pub(crate) fn validate(&self) -> crate::Result<()> {
        use crate::Error;
        if self.memtable_bytes < 4096 {
            return Err(Error::invalid("memtable_bytes must be at least 4096"));
        }
        if self.memtable_entries == Some(0) {
            return Err(Error::invalid("memtable_entries must be at least 1"));
        }
        self.table.validate()?;
        if self.max_subcompactions == 0 {
            return Err(Error::invalid("max_subcompactions must be at least 1"));
        }
        if self.max_frozen_memtables == 0 {
            return Err(Error::invalid("max_frozen_memtables must be at least 1"));
        }
        if self.l0_compaction_trigger < 1 || self.l0_stall_trigger <= self.l0_compaction_trigger {
            return Err(Error::invalid(
                "need 1 <= l0_compaction_trigger < l0_stall_trigger",
            ));
        }
        if self.level_size_multiplier < 2 {
            return Err(Error::invalid("level_size_multiplier must be at least 2"));
        }
        if self.level1_bytes < 4096 || self.target_file_bytes < 4096 {
            return Err(Error::invalid(
                "level1_bytes and target_file_bytes must be at least 4096",
            ));
        }
        Ok(())
    }
}
