//! Options of a [`crate::kv::Store`], with documented defaults.

use std::sync::Arc;

use crate::io::fs::{FileSystem, StdFs};
use crate::io::wal::{SyncMode, WalDamage, WalDamageHook, WalRecovery};
use crate::kv::sstable::TableOptions;

/// How a [`crate::kv::Store`] is opened. Every field has a documented default
/// ([`Options::default`]); the setters return `self` so options chain.
#[derive(Clone, Debug)]
pub struct Options {
    /// When an acknowledged write is durable. Default:
    /// `SyncMode::Interval(100 ms)` — survives a process crash at once and a power cut
    /// except for the last ~100 ms.
    pub sync_mode: SyncMode,
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
    /// The MANIFEST is rewritten as a single snapshot of the state once it grows past
    /// this many bytes and to at least twice its last snapshot (so rewrites cost O(1)
    /// per edit whatever the value). Default 4 MiB.
    pub manifest_rewrite_bytes: u64,
    /// Most pieces one compaction is split into, merged in parallel (rayon). Default:
    /// the number of CPUs, at most 4.
    pub max_subcompactions: usize,
    /// Run flushes and compactions on a background thread (default `true`). When
    /// `false` they run inline on the writing thread, which makes a store's behaviour
    /// deterministic for tests.
    pub background_work: bool,
    /// What opening does with a damaged WAL record in the last WAL segment. Default
    /// [`WalRecovery::TolerateTornTail`]: recover up to it and report it;
    /// [`WalRecovery::Strict`] refuses to open ([`crate::Error::Corruption`]).
    pub wal_recovery: WalRecovery,
    /// Where an open reports a damaged WAL tail it tolerated (also in
    /// [`crate::kv::Stats::wal_damage`]). Default: one line on standard error.
    pub on_wal_damage: WalDamageHook,
    /// The file system. Default [`StdFs`]; tests pass a simulated one.
    pub fs: Arc<dyn FileSystem>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sync_mode: SyncMode::Interval(std::time::Duration::from_millis(100)),
            memtable_bytes: 64 << 20,
            memtable_entries: None,
            max_frozen_memtables: 2,
            l0_compaction_trigger: 4,
            l0_stall_trigger: 20,
            level1_bytes: 64 << 20,
            level_size_multiplier: 10,
            target_file_bytes: 32 << 20,
            table: TableOptions::default(),
            manifest_rewrite_bytes: 4 << 20,
            max_subcompactions: std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(4),
            background_work: true,
            wal_recovery: WalRecovery::default(),
            on_wal_damage: WalDamageHook::default(),
            fs: Arc::new(StdFs),
        }
    }
}

impl Options {
    /// Sets [`Options::sync_mode`].
    pub fn sync_mode(mut self, mode: SyncMode) -> Self {
        self.sync_mode = mode;
        self
    }
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
    /// Sets [`Options::manifest_rewrite_bytes`].
    pub fn manifest_rewrite_bytes(mut self, bytes: u64) -> Self {
        self.manifest_rewrite_bytes = bytes;
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
    /// Sets [`Options::background_work`].
    pub fn background_work(mut self, on: bool) -> Self {
        self.background_work = on;
        self
    }
    /// Sets [`Options::wal_recovery`].
    pub fn wal_recovery(mut self, mode: WalRecovery) -> Self {
        self.wal_recovery = mode;
        self
    }
    /// Sets [`Options::on_wal_damage`]: `f` is called once per damaged WAL tail an
    /// open tolerates (`|_| {}` to stay silent).
    pub fn on_wal_damage(mut self, f: impl Fn(&WalDamage) + Send + Sync + 'static) -> Self {
        self.on_wal_damage = WalDamageHook::new(f);
        self
    }
    /// Sets [`Options::fs`].
    pub fn fs(mut self, fs: Arc<dyn FileSystem>) -> Self {
        self.fs = fs;
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
