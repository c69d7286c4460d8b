//! The directory an engine owns, and what every open does with it before and after
//! reading its own state: lock it and check whose it is ([`claim`]); start the
//! file-number counter above every number in it ([`counter_at_open`]); check that the
//! manifest lost no committed edit ([`check_manifest_complete`]); and remove what a
//! crash left behind ([`sweep_orphans`]).
//!
//! An engine names its numbered files with [`FileKind`]s: the WAL's segments
//! ([`file_number::WAL`]) and its own (tables; segments and catalog files). Manifest
//! files, `CURRENT`, `LOCK` and `IDENTITY` belong to their own modules and are never
//! swept here; files of no known kind are left alone.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::file_number::{self, FileKind, MAX_FILE_NUMBER};
use crate::io::fs::{DirLockGuard, FileSystem};
use crate::io::identity::{self, Claim, Kind};

/// A directory locked for one handle.
pub(crate) struct Claimed {
    /// The directory lock, held for the handle's lifetime.
    pub lock: Box<dyn DirLockGuard>,
    /// The files in the directory when it was claimed.
    pub names: Vec<String>,
    /// Whether its `IDENTITY` is there or still to be written (see `identity`).
    pub identity: Claim,
}

/// The first steps of every open: creates `dir` if needed, locks it
/// ([`Error::Locked`] if another handle holds it) and checks that it belongs to
/// `kind` ([`Error::InvalidArgument`] if it is the other engine's).
pub(crate) fn claim(fs: &dyn FileSystem, dir: &Path, kind: Kind) -> Result<Claimed> {
    fs.create_dir_all(dir)?;
    let lock = fs.lock_dir(dir)?;
    let names = fs.list(dir)?;
    let identity = identity::check(fs, dir, &names, kind)?;
    Ok(Claimed {
        lock,
        names,
        identity,
    })
}

/// The file-number counter at open: above `recorded` (the manifest's), above every
/// number of `kinds` (and the WAL's) in `names`, temporaries included, and at least 1.
/// The open is about to take `reserve` numbers: a counter that leaves fewer than that
/// below [`MAX_FILE_NUMBER`] can only come from a damaged manifest (names with larger
/// numbers are not the engine's), which is [`Error::Corruption`] naming
/// `manifest_file`.
pub(crate) fn counter_at_open(
    recorded: u64,
    names: &[String],
    kinds: &[FileKind],
    reserve: u64,
    manifest_file: &Path,
) -> Result<u64> {
    let mut next = recorded.max(1);
    for name in names {
        let found = std::iter::once(&file_number::WAL)
            .chain(kinds)
            .find_map(|k| k.parse_maybe_tmp(name));
        if let Some((n, _)) = found {
            next = next.max(n + 1);
        }
    }
    if next > MAX_FILE_NUMBER.saturating_sub(reserve) {
        return Err(Error::corruption(
            manifest_file,
            0,
            format!("file number {next} is past the supported maximum"),
        ));
    }
    Ok(next)
}

/// Detects a manifest that lost committed edits: a damaged final record reads like a
/// torn append and is ignored, and a truncated file reads like an older one. Opening
/// such a state would bring back an older file set and delete newer tables as
/// orphans, losing data silently.
///
/// Every edit that sets the log number names a WAL segment that was created and made
/// durable (file and directory fsync'd) before the edit, and segments are removed
/// only below the log number of a durable edit: so the segment the log number names
/// exists. The first open's edit sets a log number before any table is written: so
/// with no log number there is no file of kind `tables`. Otherwise
/// [`Error::Corruption`] naming `manifest_file`.
pub(crate) fn check_manifest_complete(
    log_number: u64,
    names: &[String],
    tables: FileKind,
    manifest_file: &Path,
) -> Result<()> {
    let what = if log_number > 0 {
        if names
            .iter()
            .any(|n| file_number::WAL.parse(n) == Some(log_number))
        {
            return Ok(());
        }
        format!(
            "WAL segment {log_number} named by the log number is missing: a committed edit was lost"
        )
    } else if names.iter().any(|n| tables.parse(n).is_some()) {
        "table files exist but the MANIFEST records no edit: committed edits were lost".into()
    } else {
        return Ok(());
    };
    Err(Error::corruption(manifest_file, 0, what))
}

/// Removes what a crash left behind in `dir`, whose files are `names`: every
/// temporary of the WAL's or one of `kinds`, every WAL segment below `log_number`
/// (flushed), and every file of `kinds` for which `is_live(kind, number)` is false.
/// Everything else is left alone. The removals are made durable.
pub(crate) fn sweep_orphans(
    fs: &dyn FileSystem,
    dir: &Path,
    names: &[String],
    log_number: u64,
    kinds: &[FileKind],
    is_live: impl Fn(FileKind, u64) -> bool,
) -> Result<()> {
    let mut removed = false;
    for name in names {
        let orphan = if let Some((n, tmp)) = file_number::WAL.parse_maybe_tmp(name) {
            tmp || n < log_number
        } else if let Some((kind, n, tmp)) = kinds
            .iter()
            .find_map(|k| k.parse_maybe_tmp(name).map(|(n, tmp)| (*k, n, tmp)))
        {
            tmp || !is_live(kind, n)
        } else {
            false
        };
        if orphan {
            fs.remove_file(&dir.join(name))?;
            removed = true;
        }
    }
    if removed {
        fs.sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::file_number::{CATALOG, SEGMENT, TABLE, WAL};
    use crate::io::sim_fs::SimFs;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_counter_starts_above_every_number_of_the_engine() {
        let m = Path::new("/d/MANIFEST-000001");
        let found = names(&[
            "000012.seg.tmp",
            "CATALOG-000007",
            &WAL.name(30),
            "000099.sst",
            "MANIFEST-000500",
            "18446744073709551615.seg",
            "LOCK",
        ]);
        assert_eq!(
            counter_at_open(5, &found, &[SEGMENT, CATALOG], 2, m).unwrap(),
            31
        );
        assert_eq!(counter_at_open(0, &[], &[TABLE], 1, m).unwrap(), 1);
        assert_eq!(counter_at_open(40, &found, &[TABLE], 1, m).unwrap(), 100);
        let at_end = counter_at_open(MAX_FILE_NUMBER - 1, &[], &[TABLE], 2, m).unwrap_err();
        assert!(matches!(at_end, Error::Corruption { file, .. } if file == m));
        assert!(counter_at_open(MAX_FILE_NUMBER - 2, &[], &[TABLE], 2, m).is_ok());
    }

    #[test]
    fn a_lost_edit_is_detected() {
        let m = Path::new("/d/MANIFEST-000001");
        let wal3 = WAL.name(3);
        assert!(check_manifest_complete(3, &names(&[&wal3]), TABLE, m).is_ok());
        assert!(check_manifest_complete(0, &names(&["000001.seg"]), TABLE, m).is_ok());
        assert!(check_manifest_complete(0, &[], TABLE, m).is_ok());
        for (log, files) in [(4, names(&[&wal3])), (0, names(&["000001.sst"]))] {
            let err = check_manifest_complete(log, &files, TABLE, m).unwrap_err();
            assert!(matches!(err, Error::Corruption { file, .. } if file == m));
        }
    }

    #[test]
    fn the_sweep_removes_orphans_and_leaves_the_rest() {
        let fs = SimFs::new();
        let dir = Path::new("/d");
        fs.create_dir_all(dir).unwrap();
        let all = names(&[
            &WAL.name(1),
            &WAL.name(5),
            "000002.seg",
            "000003.seg",
            "000003.seg.tmp",
            "CATALOG-000004",
            "CATALOG-000006",
            "12.seg",
            "notes.txt",
            "CURRENT",
            "MANIFEST-000009",
            "IDENTITY",
        ]);
        for name in &all {
            fs.create(&dir.join(name)).unwrap().sync().unwrap();
        }
        sweep_orphans(&fs, dir, &all, 5, &[SEGMENT, CATALOG], |kind, n| {
            (kind == SEGMENT && n == 2) || (kind == CATALOG && n == 6)
        })
        .unwrap();
        fs.crash();
        let left = fs.list(dir).unwrap();
        assert_eq!(
            left,
            names(&[
                &WAL.name(5),
                "000002.seg",
                "12.seg",
                "CATALOG-000006",
                "CURRENT",
                "IDENTITY",
                "MANIFEST-000009",
                "notes.txt",
            ])
        );
    }
}
