//! The write-ahead log: numbered segment files of checksummed records
//! ([`crate::io::record`]), an appender with group commit ([`Wal`]), and replay.
//!
//! # Files
//!
//! A segment is `{id:020}.wal` (the id in decimal, zero-padded to 20 digits, so names
//! sort like ids) in the WAL's directory. Its first record is a header (magic
//! `TIDE-WAL`, format version, the segment's id); every later record is one payload
//! passed to [`Wal::append`]. Segments are never reopened for writing: each
//! [`Wal::create`] and [`Wal::rotate`] starts a new one with a higher id.
//!
//! # Sync modes
//!
//! See [`SyncMode`] for what each mode promises.
//!
//! # Recovery
//!
//! See [`WalRecovery`] for what replay does with a torn or damaged tail.

mod recovery;
mod replay;
mod writer;

pub use recovery::{WalDamage, WalDamageHook, WalRecovery};
pub use replay::{
    ReplayStats, list_segments, remove_segments_below, replay, replay_with, sync_segments,
};
pub(crate) use replay::{read_segment, recover};
pub use writer::Wal;

/// When [`Wal::append`] makes a record durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// `append` returns only after the record is fsync'd: it survives a power cut.
    /// Concurrent appenders share fsyncs (group commit).
    Always,
    /// `append` returns once the record is handed to the OS (it survives a crash of
    /// the process); a background thread fsyncs every given interval when there is
    /// anything new, so a power cut loses at most about the last interval (plus one
    /// fsync's duration). Dropping the [`Wal`] stops the thread promptly and fsyncs
    /// once more (best effort). The interval must not be zero.
    Interval(std::time::Duration),
    /// `append` returns once the record is handed to the OS (it survives a crash of
    /// the process, not a power cut). Records become durable only through
    /// [`Wal::sync`] or [`Wal::rotate`].
    Os,
}

/// The file name of segment `id`: `{id:020}.wal`.
pub fn segment_file_name(id: u64) -> String {
    crate::io::file_number::WAL.name(id)
}

/// The id of a segment file name, or `None` if `name` is not exactly one, or names an
/// id no engine hands out (2^62 or more: a stray file, left alone).
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    crate::io::file_number::WAL.parse(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_like_ids() {
        for id in [0, 1, 99, (1 << 62) - 1] {
            assert_eq!(parse_segment_file_name(&segment_file_name(id)), Some(id));
        }
        assert!(segment_file_name(9) < segment_file_name(10));
    }

    #[test]
    fn other_names_do_not_parse() {
        for name in [
            "1.wal",
            "0000000000000000001.wal",
            "000000000000000000001.wal",
            "0000000000000000000a.wal",
            "+0000000000000000001.wal",
            "00000000000000000001.wal.tmp",
            "00000000000000000001",
            "99999999999999999999.wal",
            "18446744073709551615.wal",
            "04611686018427387904.wal",
            "MANIFEST-1",
        ] {
            assert_eq!(parse_segment_file_name(name), None, "{name}");
        }
    }
}
