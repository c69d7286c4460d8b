//! Reading the WAL back: listing segments, replaying their records in order, and
//! removing segments whose records are safely stored elsewhere.

use std::path::{Path, PathBuf};

use super::{WalDamage, WalDamageHook, WalRecovery, parse_segment_file_name, segment_file_name};
use crate::error::{Error, Result};
use crate::io::fs::FileSystem;
use crate::io::log_header::{self, WAL_MAGIC};
use crate::io::record::{LogEnd, LogReader};

/// What [`replay`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayStats {
    /// Segments read.
    pub segments: u64,
    /// Records passed to the callback.
    pub records: u64,
    /// Payload bytes passed to the callback (after decompression).
    pub bytes: u64,
    /// Segments that ended in a torn record (including an empty or torn header).
    pub torn_tails: u64,
    /// Whether the last segment held a damaged record followed by more data (see
    /// [`replay`]); its bytes are counted in `dropped_bytes`. Worth a warning in the
    /// owner's log: unsynced data garbled by a power cut looks like this, but so does
    /// damage to synced data.
    pub damaged_tail: bool,
    /// Where that damage was, when `damaged_tail` is set.
    pub damage: Option<WalDamage>,
    /// Bytes dropped from torn and damaged tails.
    pub dropped_bytes: u64,
    /// The highest segment id read, if any: a new [`super::Wal`] must use a higher one.
    pub last_segment: Option<u64>,
}

impl ReplayStats {
    /// Whether replay cut a torn or damaged tail. An owner flushes what it recovered
    /// right after such an open, so the cut is made permanent before that segment
    /// stops being the last one (where damage is no longer tolerated).
    pub fn cut_tail(&self) -> bool {
        self.torn_tails > 0 || self.damaged_tail
    }
}

/// Ids of the WAL segments in `dir`, ascending. Names that are not exactly
/// `{id:020}.wal` are ignored.
pub fn list_segments(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<u64>> {
    let mut ids: Vec<u64> = fs
        .list(dir)?
        .iter()
        .filter_map(|name| parse_segment_file_name(name))
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Calls `f(segment_id, payload)` for every record of every segment in `dir` whose
/// id is at least `min_segment_id`, in order.
///
/// A segment ending in a torn record (a write cut short by a crash, or by a failed
/// write that poisoned the [`super::Wal`]) is read up to it; the tail is counted in the
/// stats and replay goes on with the next segment.
///
/// A damaged record followed by more data is handled by where it is:
/// - in the last segment, it is dropped with everything after it and reported in
///   [`ReplayStats::damaged_tail`] and [`ReplayStats::damage`]: data not yet fsync'd
///   may come back from a power cut garbled in any pattern (zero-filled or stale
///   blocks before good ones), so this recovers the longest intact prefix;
/// - in an earlier segment, it is [`Error::Corruption`]: that segment was fsync'd when
///   it was sealed, so the damage is not a crash's doing, and replaying later segments
///   over the hole would silently lose acknowledged records.
///
/// A segment whose header is damaged or names another segment is
/// [`Error::Corruption`]. An error from `f` stops the replay and is returned.
///
/// This is [`replay_with`] in [`WalRecovery::TolerateTornTail`] mode.
pub fn replay(
    fs: &dyn FileSystem,
    dir: &Path,
    min_segment_id: u64,
    f: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<ReplayStats> {
    replay_with(fs, dir, min_segment_id, WalRecovery::TolerateTornTail, f)
}

/// [`replay`] with the treatment of damage in the last segment chosen by `mode`: under
/// [`WalRecovery::Strict`] it is [`Error::Corruption`] (naming the segment and the
/// damaged record's offset) like damage anywhere else, instead of a dropped tail.
/// Torn tails are cut in every mode.
pub fn replay_with(
    fs: &dyn FileSystem,
    dir: &Path,
    min_segment_id: u64,
    mode: WalRecovery,
    mut f: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<ReplayStats> {
    let mut stats = ReplayStats::default();
    let ids: Vec<u64> = list_segments(fs, dir)?
        .into_iter()
        .filter(|&id| id >= min_segment_id)
        .collect();
    let last = ids.last().copied();
    for id in ids {
        let path = dir.join(segment_file_name(id));
        let data = fs.read(&path)?;
        stats.segments += 1;
        stats.last_segment = Some(id);
        let end = read_segment(&data, id, &path, |_, payload| {
            stats.records += 1;
            stats.bytes += payload.len() as u64;
            f(id, payload)
        })?;
        match end {
            LogEnd::Torn { dropped_bytes, .. } => {
                stats.torn_tails += 1;
                stats.dropped_bytes += dropped_bytes;
            }
            LogEnd::Corrupt { offset, what }
                if Some(id) == last && mode == WalRecovery::TolerateTornTail =>
            {
                let dropped_bytes = (data.len() as u64).saturating_sub(offset);
                stats.damaged_tail = true;
                stats.dropped_bytes += dropped_bytes;
                stats.damage = Some(WalDamage {
                    file: path,
                    offset,
                    dropped_bytes,
                    what,
                });
            }
            LogEnd::Corrupt { offset, what } => {
                return Err(Error::corruption(&path, offset, what));
            }
            LogEnd::Clean => {}
        }
    }
    Ok(stats)
}

/// The WAL replay of an owner's open: [`replay_with`] from `log_number` in `mode`,
/// calling `apply(segment id, segment file, payload)` for every record (the path is
/// for the owner's errors about a record it cannot decode). Damage tolerated in the
/// last segment is reported through `hook` (and in the returned stats).
pub(crate) fn recover(
    fs: &dyn FileSystem,
    dir: &Path,
    log_number: u64,
    mode: WalRecovery,
    hook: &WalDamageHook,
    mut apply: impl FnMut(u64, &Path, &[u8]) -> Result<()>,
) -> Result<ReplayStats> {
    let mut file: Option<(u64, PathBuf)> = None;
    let stats = replay_with(fs, dir, log_number, mode, |segment, payload| {
        let path = match &file {
            Some((id, path)) if *id == segment => path,
            _ => {
                &file
                    .insert((segment, dir.join(segment_file_name(segment))))
                    .1
            }
        };
        apply(segment, path, payload)
    })?;
    if let Some(damage) = &stats.damage {
        hook.report(damage);
    }
    Ok(stats)
}

/// Reads one WAL segment, segment `id` with contents `data` (`path` names it in
/// errors): checks its header, calls `f(offset, payload)` for every record after it,
/// and returns how the segment ended ([`LogEnd::Torn`] also for an empty segment or a
/// torn header). A damaged header, or one naming another segment, is
/// [`Error::Corruption`]; an error from `f` stops the read and is returned.
pub(crate) fn read_segment(
    data: &[u8],
    id: u64,
    path: &Path,
    mut f: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<LogEnd> {
    let mut reader = LogReader::new(data);
    match reader.next_record() {
        None => {
            if let Some(LogEnd::Corrupt { offset, what }) = reader.end() {
                return Err(Error::corruption(path, offset, what));
            }
        }
        Some(header) => {
            let named = log_header::decode(&header, WAL_MAGIC, path)?;
            if named != id {
                return Err(Error::corruption(
                    path,
                    0,
                    format!("segment header names segment {named}"),
                ));
            }
        }
    }
    loop {
        let offset = reader.position();
        let Some(payload) = reader.next_record() else {
            break;
        };
        f(offset, &payload)?;
    }
    Ok(reader.end().unwrap_or(LogEnd::Clean))
}

/// Makes every segment in `dir` with an id of at least `min_segment_id` durable (an
/// fsync of each file). An owner calls it at open, after [`replay`], before it
/// starts a new segment: the records it just replayed may only be in the operating
/// system's cache (a process crash under [`super::SyncMode::Interval`] or
/// [`super::SyncMode::Os`]), and once writes continue in a new segment nothing
/// would ever sync the old ones, so a later power cut could lose them while keeping
/// newer writes. After this, every segment but the one being appended to is
/// durable: the rest were sealed by [`super::Wal::rotate`], which fsyncs.
pub fn sync_segments(fs: &dyn FileSystem, dir: &Path, min_segment_id: u64) -> Result<()> {
    for id in list_segments(fs, dir)? {
        if id >= min_segment_id {
            fs.sync_file(&dir.join(segment_file_name(id)))?;
        }
    }
    Ok(())
}

/// Removes every segment in `dir` with an id below `segment_id`, then makes the
/// removals durable. Call it once their records are durable elsewhere.
pub fn remove_segments_below(fs: &dyn FileSystem, dir: &Path, segment_id: u64) -> Result<()> {
    let mut removed = false;
    for id in list_segments(fs, dir)? {
        if id >= segment_id {
            break;
        }
        fs.remove_file(&dir.join(segment_file_name(id)))?;
        removed = true;
    }
    if removed {
        fs.sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::record::{Compression, HEADER_LEN};
    use crate::io::sim_fs::SimFs;

    fn write_file(fs: &SimFs, path: &Path, bytes: &[u8]) {
        let mut f = fs.create(path).unwrap();
        f.write_all(bytes).unwrap();
        f.sync().unwrap();
    }

    fn segment(id: u64, payloads: &[&[u8]]) -> Vec<u8> {
        let mut b = log_header::encode(WAL_MAGIC, id).unwrap();
        for p in payloads {
            b.push(p, Compression::None).unwrap();
        }
        b.as_bytes().to_vec()
    }

    #[test]
    fn torn_tail_is_dropped_and_replay_continues() {
        let fs = SimFs::new();
        let dir = Path::new("/w");
        fs.create_dir_all(dir).unwrap();
        let mut first = segment(1, &[b"a", b"b"]);
        first.truncate(first.len() - 1);
        write_file(&fs, &dir.join(segment_file_name(1)), &first);
        write_file(&fs, &dir.join(segment_file_name(2)), &segment(2, &[b"c"]));
        write_file(&fs, &dir.join(segment_file_name(3)), b"");
        write_file(&fs, &dir.join("junk.wal"), b"not a segment");
        let mut got = Vec::new();
        let stats = replay(&fs, dir, 0, |s, p| {
            got.push((s, p.to_vec()));
            Ok(())
        })
        .unwrap();
        assert_eq!(got, vec![(1, b"a".to_vec()), (2, b"c".to_vec())]);
        assert_eq!(stats.segments, 3);
        assert_eq!(stats.records, 2);
        assert_eq!(stats.bytes, 2);
        assert_eq!(stats.torn_tails, 1);
        assert_eq!(stats.dropped_bytes, 9);
        assert_eq!(stats.last_segment, Some(3));
    }

    #[test]
    fn damage_is_a_dropped_tail_in_the_last_segment_and_an_error_before_it() {
        let fs = SimFs::new();
        let mut damaged = segment(1, &[b"good", b"bad", b"after"]);
        // The first byte of the payload "bad".
        let bad_at = damaged.len() - (HEADER_LEN + 5) - 3;
        damaged[bad_at] ^= 1;
        write_file(&fs, Path::new(&segment_file_name(1)), &damaged);
        let mut got = Vec::new();
        let stats = replay(&fs, Path::new(""), 0, |_, p| {
            got.push(p.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(got, vec![b"good".to_vec()]);
        assert!(stats.damaged_tail);
        let damage = stats.damage.clone().unwrap();
        assert_eq!(damage.file, Path::new(&segment_file_name(1)));
        assert_eq!(damage.offset, (bad_at - HEADER_LEN) as u64);
        assert_eq!(damage.dropped_bytes, stats.dropped_bytes);
        // Strict: the same segment is corruption, and nothing reaches the callback.
        let mut calls = 0;
        let err = replay_with(&fs, Path::new(""), 0, WalRecovery::Strict, |_, _| {
            calls += 1;
            Ok(())
        })
        .unwrap_err();
        assert!(
            matches!(&err, Error::Corruption { offset, .. } if *offset == damage.offset),
            "{err}"
        );
        assert_eq!(calls, 1, "the good record before the damage was read");
        assert_eq!(stats.torn_tails, 0);
        assert_eq!(stats.dropped_bytes, 2 * HEADER_LEN as u64 + 8);
        write_file(&fs, Path::new(&segment_file_name(2)), &segment(2, &[b"x"]));
        let err = replay(&fs, Path::new(""), 0, |_, _| Ok(())).unwrap_err();
        let record_start = (bad_at - HEADER_LEN) as u64;
        assert!(matches!(err, Error::Corruption { offset, .. } if offset == record_start));
        // Starting after the damaged segment skips it.
        assert_eq!(
            replay(&fs, Path::new(""), 2, |_, _| Ok(()))
                .unwrap()
                .records,
            1
        );
    }

    #[test]
    fn header_naming_another_segment_is_corruption() {
        let fs = SimFs::new();
        write_file(&fs, Path::new(&segment_file_name(7)), &segment(8, &[]));
        let err = replay(&fs, Path::new(""), 0, |_, _| Ok(())).unwrap_err();
        assert!(matches!(err, Error::Corruption { .. }));
    }

    #[test]
    fn callback_error_stops_replay() {
        let fs = SimFs::new();
        write_file(
            &fs,
            Path::new(&segment_file_name(1)),
            &segment(1, &[b"a", b"b"]),
        );
        let mut calls = 0;
        let err = replay(&fs, Path::new(""), 0, |_, _| {
            calls += 1;
            Err(Error::invalid("stop"))
        })
        .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)));
        assert_eq!(calls, 1);
    }

    #[test]
    fn remove_below_keeps_the_rest() {
        let fs = SimFs::new();
        for id in [1, 2, 5] {
            write_file(&fs, Path::new(&segment_file_name(id)), &segment(id, &[]));
        }
        write_file(&fs, Path::new("other"), b"");
        remove_segments_below(&fs, Path::new(""), 5).unwrap();
        assert_eq!(list_segments(&fs, Path::new("")).unwrap(), vec![5]);
        assert!(fs.exists(Path::new("other")));
    }
}
