//! [`SharedOptions`]: the options both engines take, defined once.
//!
//! `kv::Options` and `ts::Options` each embed one (their `shared` field) and get its
//! setters from [`shared_setters`], so each option has one default and one doc.

use std::sync::Arc;
use std::time::Duration;

use crate::io::fs::{FileSystem, StdFs};
use crate::io::wal::{SyncMode, WalDamageHook, WalRecovery};

/// The options every tidestore handle takes, embedded in `kv::Options` and
/// `ts::Options` (field `shared`); their setters of the same names set them. Every
/// field has a documented default ([`SharedOptions::default`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SharedOptions {
    /// When an acknowledged write is durable. Default `SyncMode::Interval(100 ms)`:
    /// it survives a process crash at once and a power cut except for the last
    /// ~100 ms (see [`SyncMode`] and `docs/design.md`, "Durability").
    pub sync_mode: SyncMode,
    /// The manifest is rewritten as one snapshot once it grows past this many bytes
    /// and to at least twice its last snapshot (so rewrites cost O(1) per edit
    /// whatever the value). Default 4 MiB.
    pub manifest_rewrite_bytes: u64,
    /// Run flushes and compactions on background threads (default `true`). When
    /// `false` they run inline on the writing thread, which makes a handle's behaviour
    /// deterministic for tests.
    pub background_work: bool,
    /// What opening does with a damaged WAL record in the last WAL segment. Default
    /// [`WalRecovery::TolerateTornTail`]: recover up to it and report it;
    /// [`WalRecovery::Strict`] refuses to open ([`crate::Error::Corruption`]).
    pub wal_recovery: WalRecovery,
    /// Where an open reports a damaged WAL tail it tolerated (also in the handle's
    /// `Stats::wal_damage`). Default: one line on standard error.
    pub on_wal_damage: WalDamageHook,
    /// The file system. Default [`StdFs`]; tests pass a simulated one
    /// ([`crate::io::sim_fs::SimFs`]).
    pub fs: Arc<dyn FileSystem>,
}

impl Default for SharedOptions {
    fn default() -> Self {
        SharedOptions {
            sync_mode: SyncMode::Interval(Duration::from_millis(100)),
            manifest_rewrite_bytes: 4 << 20,
            background_work: true,
            wal_recovery: WalRecovery::default(),
            on_wal_damage: WalDamageHook::default(),
            fs: Arc::new(StdFs),
        }
    }
}

/// The setters of the [`SharedOptions`] fields, for an options type with a `shared`
/// field: one definition for `kv::Options` and `ts::Options`.
macro_rules! shared_setters {
    () => {
        /// Sets [`SharedOptions::sync_mode`](crate::SharedOptions::sync_mode).
        pub fn sync_mode(mut self, mode: $crate::io::wal::SyncMode) -> Self {
            self.shared.sync_mode = mode;
            self
        }
        /// Sets
        /// [`SharedOptions::manifest_rewrite_bytes`](crate::SharedOptions::manifest_rewrite_bytes).
        pub fn manifest_rewrite_bytes(mut self, bytes: u64) -> Self {
            self.shared.manifest_rewrite_bytes = bytes;
            self
        }
        /// Sets [`SharedOptions::background_work`](crate::SharedOptions::background_work).
        pub fn background_work(mut self, on: bool) -> Self {
            self.shared.background_work = on;
            self
        }
        /// Sets [`SharedOptions::wal_recovery`](crate::SharedOptions::wal_recovery).
        pub fn wal_recovery(mut self, mode: $crate::io::wal::WalRecovery) -> Self {
            self.shared.wal_recovery = mode;
            self
        }
        /// Sets [`SharedOptions::on_wal_damage`](crate::SharedOptions::on_wal_damage):
        /// `f` is called once per damaged WAL tail an open tolerates (`|_| {}` to stay
        /// silent).
        pub fn on_wal_damage(
            mut self,
            f: impl Fn(&$crate::io::wal::WalDamage) + Send + Sync + 'static,
        ) -> Self {
            self.shared.on_wal_damage = $crate::io::wal::WalDamageHook::new(f);
            self
        }
        /// Sets [`SharedOptions::fs`](crate::SharedOptions::fs).
        pub fn fs(mut self, fs: std::sync::Arc<dyn $crate::io::fs::FileSystem>) -> Self {
            self.shared.fs = fs;
            self
        }
        /// Replaces every [`SharedOptions`](crate::SharedOptions) field at once.
        pub fn shared(mut self, shared: $crate::SharedOptions) -> Self {
            self.shared = shared;
            self
        }
    };
}
pub(crate) use shared_setters;
