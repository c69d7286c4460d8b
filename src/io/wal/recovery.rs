//! What WAL replay does with damage: the recovery mode an owner opens with
//! ([`WalRecovery`]), what it reports about damage it tolerated ([`WalDamage`]), and
//! where that report goes ([`WalDamageHook`]).
//!
//! Replay tells two kinds of bad ends apart (`crate::io::record::LogEnd`): a *torn
//! tail*, the incomplete last record a crash in the middle of an append leaves, and
//! *damage*, a record that fails its checksum (or does not decode) while more data
//! follows it, which an append cut short does not produce. A torn tail is always cut
//! and recovery goes on. Damage in a segment before the last is always
//! [`crate::Error::Corruption`]: those segments were fsync'd when they were sealed.
//! Damage in the last segment is what this module decides.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// How WAL replay at open treats a damaged record in the last WAL segment (one that
/// fails its checksum while more data follows it). Set it with
/// `Options::wal_recovery` of either engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WalRecovery {
    /// The default. A torn tail is cut. Damage in the last segment is reported (the
    /// engine's `Stats::wal_damage` and `Stats::wal_damaged_tails`, and the
    /// [`WalDamageHook`]), and the segment is recovered up to it: everything from the
    /// damaged record on is dropped, so the database opens in the state of a prefix
    /// of the writes (point-in-time recovery). Unsynced writes can come back from a
    /// power cut garbled like this under `SyncMode::Interval` and `SyncMode::Os`.
    #[default]
    TolerateTornTail,
    /// A torn tail is still cut (a crash leaves one), but damage anywhere is
    /// [`crate::Error::Corruption`] naming the segment and offset, and nothing is
    /// dropped: the open fails, and the operator decides. Meant for
    /// `SyncMode::Always`, where every acknowledged record was fsync'd: damage followed
    /// by more records is then either storage that lost written data or a power cut
    /// that garbled records still in flight, which only a look at the files tells
    /// apart. To recover what precedes the damage, open once with
    /// [`WalRecovery::TolerateTornTail`].
    Strict,
}

/// Damage that replay tolerated under [`WalRecovery::TolerateTornTail`]: where it was
/// and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WalDamage {
    /// The WAL segment file.
    pub file: PathBuf,
    /// Byte offset of the damaged record in it.
    pub offset: u64,
    /// Bytes dropped from there to the end of the segment.
    pub dropped_bytes: u64,
    /// What check failed.
    pub what: &'static str,
}

impl fmt::Display for WalDamage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tidestore: WAL segment {} is damaged at byte {} ({}); recovered the writes \
             before it and dropped the last {} bytes",
            self.file.display(),
            self.offset,
            self.what,
            self.dropped_bytes
        )
    }
}

/// Receives a [`WalDamage`] when an open tolerates one (set it with
/// `Options::on_wal_damage` of either engine). The default writes the damage's
/// one-line description to standard error; [`WalDamageHook::ignore`] drops it (the
/// engine's `Stats` still have it).
#[derive(Clone)]
pub struct WalDamageHook(Arc<dyn Fn(&WalDamage) + Send + Sync>);

impl WalDamageHook {
    /// A hook that calls `f`.
    pub fn new(f: impl Fn(&WalDamage) + Send + Sync + 'static) -> Self {
        WalDamageHook(Arc::new(f))
    }

    /// The default: one line on standard error.
    pub fn stderr() -> Self {
        WalDamageHook::new(|d| eprintln!("{d}"))
    }

    /// A hook that does nothing.
    pub fn ignore() -> Self {
        WalDamageHook::new(|_| {})
    }

    /// Reports `damage`.
    pub fn report(&self, damage: &WalDamage) {
        (self.0)(damage);
    }
}

impl Default for WalDamageHook {
    fn default() -> Self {
        WalDamageHook::stderr()
    }
}

impl fmt::Debug for WalDamageHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WalDamageHook(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn damage_describes_itself_and_hooks_receive_it() {
        let d = WalDamage {
            file: PathBuf::from("/db/00000000000000000007.wal"),
            offset: 120,
            dropped_bytes: 400,
            what: "record checksum mismatch",
        };
        assert_eq!(
            d.to_string(),
            "tidestore: WAL segment /db/00000000000000000007.wal is damaged at byte 120 \
             (record checksum mismatch); recovered the writes before it and dropped the \
             last 400 bytes"
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let hook = WalDamageHook::new(move |d| sink.lock().unwrap().push(d.clone()));
        hook.clone().report(&d);
        WalDamageHook::ignore().report(&d);
        assert_eq!(*seen.lock().unwrap(), vec![d]);
        assert_eq!(format!("{hook:?}"), "WalDamageHook(..)");
        assert_eq!(WalRecovery::default(), WalRecovery::TolerateTornTail);
    }
}
