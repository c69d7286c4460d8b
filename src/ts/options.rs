//! Options of a [`crate::ts::Db`], with documented defaults.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::io::fs::{FileSystem, StdFs};
use crate::io::wal::{SyncMode, WalDamage, WalDamageHook, WalRecovery};
use crate::ts::segment::MAX_CHUNK_POINTS;

/// How a [`crate::ts::Db`] is opened. Every field has a documented default
/// ([`Options::default`]); the setters return `self` so options chain:
///
/// ```no_run
/// use tidestore::ts::Options;
/// let opts = Options::default().head_bytes(32 << 20).partition_width(3_600);
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    /// When an acknowledged write is durable. Default `SyncMode::Interval(100 ms)`:
    /// survives a process crash at once and a power cut except for the last ~100 ms.
    pub sync_mode: SyncMode,
    /// The head (the in-memory table of recent points) is frozen and flushed to a
    /// segment once it holds about this many bytes. Default 64 MiB.
    pub head_bytes: usize,
    /// Frozen heads allowed to wait for their flush before writers wait for the
    /// flush thread. Default 2.
    pub max_frozen_heads: usize,
    /// Points per chunk in the segments written. Default 4096.
    pub chunk_points: usize,
    /// Width of a compaction time partition, in timestamp units: compaction writes one
    /// segment per partition `[k * width, (k + 1) * width)`. Default 86 400 (one day
    /// when timestamps are Unix seconds; multiply for milliseconds or nanoseconds).
    pub partition_width: i64,
    /// Compaction merges the segments of a time partition once this many overlap it.
    /// Default 4.
    pub compaction_trigger: usize,
    /// Points older than `newest timestamp written - retention` are dropped by
    /// compaction and hidden from queries. Default `None` (keep everything).
    pub retention: Option<i64>,
    /// The catalog file is rewritten as one snapshot once it grows past this many
    /// bytes and to at least twice its last snapshot (so rewrites cost O(1) per new
    /// series whatever the value). Default 4 MiB.
    pub catalog_rewrite_bytes: u64,
    /// The manifest is rewritten as one snapshot once it grows past this many bytes
    /// and to at least twice its last snapshot (so rewrites cost O(1) per edit
    /// whatever the value). Default 4 MiB.
    pub manifest_rewrite_bytes: u64,
    /// Run flushes and compactions on a background thread (default `true`). When
    /// `false` they run inline on the writing thread, which makes a database's
    /// behaviour deterministic for tests.
    pub background_work: bool,
    /// What opening does with a damaged WAL record in the last WAL segment. Default
    /// [`WalRecovery::TolerateTornTail`]: recover up to it and report it;
    /// [`WalRecovery::Strict`] refuses to open ([`crate::Error::Corruption`]).
    pub wal_recovery: WalRecovery,
    /// Where an open reports a damaged WAL tail it tolerated (also in
    /// [`crate::ts::Stats::wal_damage`]). Default: one line on standard error.
    pub on_wal_damage: WalDamageHook,
    /// The file system. Default [`StdFs`]; tests pass a simulated one.
    pub fs: Arc<dyn FileSystem>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sync_mode: SyncMode::Interval(std::time::Duration::from_millis(100)),
            head_bytes: 64 << 20,
            max_frozen_heads: 2,
            chunk_points: 4096,
            partition_width: 86_400,
            compaction_trigger: 4,
            retention: None,
            catalog_rewrite_bytes: 4 << 20,
            manifest_rewrite_bytes: 4 << 20,
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
    /// Sets [`Options::head_bytes`].
    pub fn head_bytes(mut self, bytes: usize) -> Self {
        self.head_bytes = bytes;
        self
    }
    /// Sets [`Options::max_frozen_heads`].
    pub fn max_frozen_heads(mut self, heads: usize) -> Self {
        self.max_frozen_heads = heads;
        self
    }
    /// Sets [`Options::chunk_points`].
    pub fn chunk_points(mut self, points: usize) -> Self {
        self.chunk_points = points;
        self
    }
    /// Sets [`Options::partition_width`].
    pub fn partition_width(mut self, width: i64) -> Self {
        self.partition_width = width;
        self
    }
    /// Sets [`Options::compaction_trigger`].
    pub fn compaction_trigger(mut self, segments: usize) -> Self {
        self.compaction_trigger = segments;
        self
    }
    /// Sets [`Options::retention`].
    pub fn retention(mut self, retention: Option<i64>) -> Self {
        self.retention = retention;
        self
    }
    /// Sets [`Options::catalog_rewrite_bytes`].
    pub fn catalog_rewrite_bytes(mut self, bytes: u64) -> Self {
        self.catalog_rewrite_bytes = bytes;
        self
    }
    /// Sets [`Options::manifest_rewrite_bytes`].
    pub fn manifest_rewrite_bytes(mut self, bytes: u64) -> Self {
        self.manifest_rewrite_bytes = bytes;
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
    pub(crate) fn validate(&self) -> Result<()> {
        if self.head_bytes < 4096 {
            return Err(Error::invalid("head_bytes must be at least 4096"));
        }
        if self.max_frozen_heads == 0 {
            return Err(Error::invalid("max_frozen_heads must be at least 1"));
        }
        if !(16..=MAX_CHUNK_POINTS).contains(&self.chunk_points) {
            return Err(Error::invalid(format!(
                "chunk_points must be in 16..={MAX_CHUNK_POINTS}"
            )));
        }
        if self.partition_width <= 0 {
            return Err(Error::invalid("partition_width must be positive"));
        }
        if self.compaction_trigger < 2 {
            return Err(Error::invalid("compaction_trigger must be at least 2"));
        }
        if self.retention.is_some_and(|r| r < 0) {
            return Err(Error::invalid("retention must not be negative"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_rejected() {
        Options::default().validate().unwrap();
        let bad = [
            Options::default().head_bytes(10),
            Options::default().max_frozen_heads(0),
            Options::default().chunk_points(1),
            Options::default().partition_width(0),
            Options::default().compaction_trigger(1),
            Options::default().retention(Some(-1)),
        ];
        for o in bad {
            assert!(matches!(o.validate(), Err(Error::InvalidArgument(_))));
        }
    }
}
