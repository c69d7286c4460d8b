//! The manifest: an atomic, durable log of opaque edits, the single source of truth
//! of which files an owner (the kv store, the time-series engine) has live.
//!
//! # Files
//!
//! - `MANIFEST-{n:06}`: a log file ([`crate::io::record`] framing). Its first record is
//!   a header (magic `TIDE-MAN`, format version, `n`); each later record is one edit,
//!   or, first after a [`Manifest::rewrite`], a snapshot. Never reopened for writing.
//! - `CURRENT`: the text `MANIFEST-{n:06}\n`, naming the live manifest. Replaced
//!   atomically: written to `CURRENT.tmp`, fsync'd, renamed over `CURRENT`, and the
//!   directory fsync'd.
//!
//! # Commit protocol
//!
//! An edit is committed when [`Manifest::append`] returns: its record is fsync'd in a
//! manifest file whose directory entry, and `CURRENT`'s, were already durable. Owners
//! must fsync the files an edit names, and their directory, before appending it.
//!
//! Switching to a new manifest file (at every [`Manifest::open`] and
//! [`Manifest::rewrite`]): write the new file in full and fsync it, then replace
//! `CURRENT` as above. Until the rename is durable, a crash leaves the old `CURRENT`
//! naming the old, complete file; after it, the new one, also complete. Other manifest
//! files are then removed (best effort; any left behind are removed by the next open).
//!
//! # Opening
//!
//! Reads the file `CURRENT` names and applies its records in order. A torn final record
//! is an edit whose append never returned: it is ignored. A damaged record followed by
//! more data, a `CURRENT` that does not parse, a missing file named by `CURRENT`, or a
//! damaged header is [`Error::Corruption`] naming the file. Without `CURRENT`, the
//! directory is new (or its first open crashed) and an empty manifest is created,
//! unless a manifest file there holds edits, which only happens if `CURRENT` was lost:
//! then [`Error::Corruption`]. Opening always continues in a new file holding the
//! committed records, since files are never appended to after a reopen.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::poison::Poison;
use crate::error::{Error, Result};
use crate::io::fs::FileSystem;
use crate::io::log_header::{self, MANIFEST_MAGIC};
use crate::io::record::{Compression, LogEnd, LogReader, LogWriter, RecordBatch};

/// Name of the file that names the live manifest.
pub const CURRENT: &str = "CURRENT";

/// Temporary name `CURRENT` is written under before its rename.
pub const CURRENT_TMP: &str = "CURRENT.tmp";

/// The file name of manifest number `n`: `MANIFEST-{n:06}`.
pub fn manifest_file_name(n: u64) -> String {
    crate::io::file_number::MANIFEST.name(n)
}

/// The number of a manifest file name, or `None` if `name` is not exactly one, or
/// carries a number no manifest gets (2^62 or more: a stray file, left alone).
pub fn parse_manifest_file_name(name: &str) -> Option<u64> {
    crate::io::file_number::MANIFEST.parse(name)
}

/// Whether `name` is a file the manifest owns (`CURRENT`, `CURRENT.tmp` or a manifest
/// file, live or stale). An owner cleaning up orphan files must leave these alone.
pub fn is_manifest_file(name: &str) -> bool {
    name == CURRENT || name == CURRENT_TMP || parse_manifest_file_name(name).is_some()
}

/// An open manifest. Not shared between threads: its owner serializes edits.
pub struct Manifest {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    number: u64,
    /// The manifest file `open` read its edits from, if there was one.
    read_from: Option<PathBuf>,
    writer: LogWriter,
    /// Bytes of the live file right after the last [`Manifest::rewrite`] (0 if none
    /// since open): see [`Manifest::rewrite_due`].
    snapshot_size: u64,
    poison: Poison,
}

impl std::fmt::Debug for Manifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manifest")
            .field("dir", &self.dir)
            .field("file", &manifest_file_name(self.number))
            .field("size", &self.writer.len())
            .field("poisoned", &self.poison)
            .finish()
    }
}

impl Manifest {
    /// Opens the manifest in `dir` (which must exist) or creates an empty one; calls
    /// `apply` for every committed edit in order. An error from `apply` stops the open
    /// and is returned, and nothing is written; an [`Error::Corruption`] or
    /// [`Error::UnsupportedVersion`] from it is reported naming the manifest file (and
    /// the record's offset), whatever file it named.
    pub fn open(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        mut apply: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<Manifest> {
        let names = fs.list(dir)?;
        let numbers: Vec<u64> = names
            .iter()
            .filter_map(|name| parse_manifest_file_name(name))
            .collect();
        let mut committed = RecordBatch::new();
        let mut read_from = None;
        if names.iter().any(|name| name == CURRENT) {
            let live = read_current(fs.as_ref(), dir)?;
            let path = dir.join(manifest_file_name(live));
            read_from = Some(path.clone());
            if !numbers.contains(&live) {
                return Err(Error::corruption(
                    &path,
                    0,
                    "the manifest named by CURRENT is missing",
                ));
            }
            let data = fs.read(&path)?;
            read_manifest(&data, live, &path, |edit| {
                apply(edit)?;
                committed.push(edit, Compression::Snappy)
            })?;
        } else {
            for &n in &numbers {
                let path = dir.join(manifest_file_name(n));
                if holds_edits(&fs.read(&path)?) {
                    return Err(Error::corruption(
                        &path,
                        0,
                        "CURRENT is missing but this manifest holds edits",
                    ));
                }
            }
        }
        let number = numbers.iter().max().map_or(1, |&n| n + 1);
        let writer = install(fs.as_ref(), dir, number, &committed)?;
        let manifest = Manifest {
            fs,
            dir: dir.to_path_buf(),
            number,
            read_from,
            writer,
            snapshot_size: 0,
            poison: Poison::default(),
        };
        manifest.remove_stale_files(&names);
        Ok(manifest)
    }

    /// Appends one edit and makes it durable: when this returns `Ok`, the edit is
    /// committed. An edit over [`crate::io::record::MAX_PAYLOAD_LEN`] is rejected with
    /// [`Error::InvalidArgument`] and changes nothing. An I/O failure poisons the
    /// manifest ([`Error::Poisoned`] from then on): whether the edit committed is known
    /// only after reopening.
    pub fn append(&mut self, edit: &[u8]) -> Result<()> {
        self.poison.check()?;
        let mut batch = RecordBatch::new();
        batch.push(edit, Compression::Snappy)?;
        let written = self
            .writer
            .write_batch(&batch)
            .and_then(|_| self.writer.sync());
        self.poison_on_error(written)
    }

    /// Atomically replaces the whole log with one `snapshot` record (which the owner
    /// encodes so that applying it alone rebuilds its state), in a new manifest file,
    /// then removes the old file. Size limit and poisoning as for
    /// [`Manifest::append`]; after a failure, reopening finds either the old log or the
    /// snapshot.
    pub fn rewrite(&mut self, snapshot: &[u8]) -> Result<()> {
        self.poison.check()?;
        let mut batch = RecordBatch::new();
        batch.push(snapshot, Compression::Snappy)?;
        let number = self.number + 1;
        let writer = self.poison_on_error(install(self.fs.as_ref(), &self.dir, number, &batch))?;
        let old = self.dir.join(manifest_file_name(self.number));
        self.number = number;
        self.snapshot_size = writer.len();
        self.writer = writer;
        // The switch is durable; a file left behind is removed by the next open.
        let _ = self.fs.remove_file(&old);
        Ok(())
    }

    /// Bytes in the live manifest file: owners rewrite when it grows too large.
    pub fn size(&self) -> u64 {
        self.writer.len()
    }

    /// Whether an owner that rewrites past `threshold` bytes should
    /// [`Manifest::rewrite`] now: the file is larger than `threshold`, and at least
    /// half of it was appended since the last rewrite. The second condition makes
    /// rewriting cost O(1) bytes per byte of edits appended, whatever the threshold: a
    /// state whose snapshot alone passes it (many live files, or a threshold of 0) is
    /// not rewritten at every edit.
    pub fn rewrite_due(&self, threshold: u64) -> bool {
        rewrite_due(self.size(), self.snapshot_size, threshold)
    }

    /// The owners' rewrite rule, after an edit was appended: when
    /// [`Manifest::rewrite_due`] past `threshold`, rewrites the manifest as the
    /// `snapshot` (of the state *with* that edit). Returns nothing on purpose: the edit
    /// is committed whatever happens here, so a failed rewrite must not be reported as
    /// a failed edit (the owner would undo work that is already durable). A failure
    /// poisons the manifest instead, so the owner's next edit returns
    /// [`Error::Poisoned`] and the owner stops accepting writes.
    pub fn rewrite_if_due(&mut self, threshold: u64, snapshot: impl FnOnce() -> Vec<u8>) {
        if self.rewrite_due(threshold) {
            let _poisoned_on_failure = self.rewrite(&snapshot());
        }
    }

    /// The manifest file an owner names in errors about the state it holds: the file
    /// `open` replayed, or the live one for a new directory.
    pub fn file_for_errors(&self) -> PathBuf {
        self.read_from
            .clone()
            .unwrap_or_else(|| self.dir.join(manifest_file_name(self.number)))
    }

    /// The manifest file whose edits `open` replayed (`None` for a new directory): the
    /// file an owner names when its own checks find the replayed state inconsistent.
    pub fn read_from(&self) -> Option<&Path> {
        self.read_from.as_deref()
    }

    /// Names of the files the live manifest uses (`CURRENT` and the live manifest
    /// file). See also [`is_manifest_file`], which also matches stale ones.
    pub fn file_names(&self) -> [String; 2] {
        [CURRENT.to_owned(), manifest_file_name(self.number)]
    }

    fn poison_on_error<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            self.poison.set(e.to_string());
        }
        result
    }

    /// Removes manifest files other than the live one, and `CURRENT.tmp`, from
    /// `names`. Best effort: leftovers are harmless, since `CURRENT` decides.
    fn remove_stale_files(&self, names: &[String]) {
        for name in names {
            let stale = name == CURRENT_TMP
                || parse_manifest_file_name(name).is_some_and(|n| n != self.number);
            if stale {
                let _ = self.fs.remove_file(&self.dir.join(name));
            }
        }
    }
}

/// The rewrite rule of a log that starts with a snapshot and grows by appended
/// records (the manifest, and the time-series catalog file): rewrite once it is
/// larger than `threshold` and at least twice the `snapshot` it started from, so each
/// rewrite is paid for by as many bytes of appended records as it writes.
pub(crate) fn rewrite_due(size: u64, snapshot: u64, threshold: u64) -> bool {
    size > threshold && size >= snapshot.saturating_mul(2)
}

/// Reads and parses `CURRENT`.
pub(crate) fn read_current(fs: &dyn FileSystem, dir: &Path) -> Result<u64> {
    let path = dir.join(CURRENT);
    let text = fs.read(&path)?;
    std::str::from_utf8(&text)
        .ok()
        .and_then(|t| t.strip_suffix('\n'))
        .and_then(parse_manifest_file_name)
        .ok_or_else(|| Error::corruption(&path, 0, "CURRENT does not name a manifest file"))
}

/// Checks the header of manifest `number` and passes every committed record to `f`.
pub(crate) fn read_manifest(
    data: &[u8],
    number: u64,
    path: &Path,
    mut f: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let mut reader = LogReader::new(data);
    let Some(header) = reader.next_record() else {
        return Err(reader
            .end()
            .and_then(|end| end.corruption(path))
            .unwrap_or_else(|| Error::corruption(path, 0, "manifest header is missing")));
    };
    let named = log_header::decode(&header, MANIFEST_MAGIC, path)?;
    if named != number {
        return Err(Error::corruption(
            path,
            0,
            format!("manifest header names manifest {named}"),
        ));
    }
    loop {
        let offset = reader.position();
        let Some(record) = reader.next_record() else {
            break;
        };
        // The owner's decoder knows what is wrong, not where: name this file and the
        // record's offset.
        f(&record).map_err(|e| match e {
            Error::Corruption { what, .. } => Error::corruption(path, offset, what),
            Error::UnsupportedVersion {
                found, supported, ..
            } => Error::UnsupportedVersion {
                file: path.to_path_buf(),
                found,
                supported,
            },
            other => other,
        })?;
    }
    match reader.end().and_then(|end| end.corruption(path)) {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Whether a manifest file (found without `CURRENT`) holds anything beyond a header,
/// or is damaged in a way that hides whether it does.
fn holds_edits(data: &[u8]) -> bool {
    let mut reader = LogReader::new(data);
    let records = (0..2).filter_map(|_| reader.next_record()).count();
    records > 1 || matches!(reader.end(), Some(LogEnd::Corrupt { .. }))
}

/// Writes manifest `number` holding `body`, fsyncs it, and makes it the live one.
fn install(fs: &dyn FileSystem, dir: &Path, number: u64, body: &RecordBatch) -> Result<LogWriter> {
    let mut writer = LogWriter::new(fs.create(&dir.join(manifest_file_name(number)))?);
    writer.write_batch(&log_header::encode(MANIFEST_MAGIC, number)?)?;
    writer.write_batch(body)?;
    writer.sync()?;
    let tmp = dir.join(CURRENT_TMP);
    let mut current = fs.create(&tmp)?;
    current.write_all(format!("{}\n", manifest_file_name(number)).as_bytes())?;
    current.sync()?;
    drop(current);
    fs.rename(&tmp, &dir.join(CURRENT))?;
    fs.sync_dir(dir)?;
    Ok(writer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::sim_fs::SimFs;

    #[test]
    fn rewrites_are_due_past_the_threshold_and_twice_the_last_snapshot() {
        assert!(rewrite_due(101, 0, 100));
        assert!(!rewrite_due(100, 0, 100));
        assert!(!rewrite_due(150, 80, 100), "not yet twice the snapshot");
        assert!(rewrite_due(160, 80, 100));
        assert!(!rewrite_due(160, 80, 200), "not past the threshold");
        assert!(rewrite_due(1, 0, 0));
        assert!(!rewrite_due(u64::MAX - 1, u64::MAX / 2 + 1, 0));
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/m")).unwrap();
        let mut m = Manifest::open(Arc::new(fs), Path::new("/m"), |_| Ok(())).unwrap();
        m.append(&[7; 100]).unwrap();
        assert!(m.rewrite_due(0));
        // Incompressible, so the file holds all 1000 bytes.
        let mut x = 1u64;
        let snapshot: Vec<u8> = (0..1000)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (x >> 56) as u8
            })
            .collect();
        m.rewrite(&snapshot).unwrap();
        let fresh = m.size();
        assert!(fresh > 1000);
        assert!(!m.rewrite_due(0), "a fresh snapshot");
        let mut appends = 0;
        while !m.rewrite_due(0) {
            m.append(&[7; 100]).unwrap();
            appends += 1;
        }
        assert!(m.size() >= 2 * fresh);
        assert!(appends > 5, "{appends}");
    }

    fn open(fs: &SimFs) -> (Manifest, Vec<Vec<u8>>) {
        let mut edits = Vec::new();
        let m = Manifest::open(Arc::new(fs.clone()), Path::new("/m"), |e| {
            edits.push(e.to_vec());
            Ok(())
        })
        .unwrap();
        (m, edits)
    }

    fn fresh() -> SimFs {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/m")).unwrap();
        fs
    }

    #[test]
    fn manifest_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Manifest>();
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(manifest_file_name(7), "MANIFEST-000007");
        assert_eq!(parse_manifest_file_name("MANIFEST-000007"), Some(7));
        assert_eq!(parse_manifest_file_name("MANIFEST-7"), None);
        assert_eq!(parse_manifest_file_name("MANIFEST-+00007"), None);
        assert_eq!(
            parse_manifest_file_name(&manifest_file_name(1234567)),
            Some(1234567)
        );
        assert!(is_manifest_file("CURRENT") && is_manifest_file("CURRENT.tmp"));
        assert!(!is_manifest_file("00000000000000000001.wal"));
    }

    #[test]
    fn edits_survive_reopen_and_rewrite() {
        let fs = fresh();
        let (mut m, edits) = open(&fs);
        assert!(edits.is_empty());
        m.append(b"one").unwrap();
        m.append(&[9u8; 300]).unwrap();
        drop(m);
        fs.crash();
        let (mut m, edits) = open(&fs);
        assert_eq!(edits, vec![b"one".to_vec(), vec![9u8; 300]]);
        m.rewrite(b"snap").unwrap();
        m.append(b"two").unwrap();
        drop(m);
        fs.crash();
        let (m, edits) = open(&fs);
        assert_eq!(edits, vec![b"snap".to_vec(), b"two".to_vec()]);
        // Opening removed the old file that the crash brought back.
        assert_eq!(fs.list(Path::new("/m")).unwrap(), m.file_names().to_vec());
    }

    #[test]
    fn failed_append_poisons() {
        let fs = fresh();
        let (mut m, _) = open(&fs);
        fs.fail_after(0);
        assert!(matches!(m.append(b"x"), Err(Error::Io(_))));
        fs.clear_faults();
        assert!(matches!(m.append(b"y"), Err(Error::Poisoned(_))));
        assert!(matches!(m.rewrite(b"z"), Err(Error::Poisoned(_))));
        assert!(format!("{m:?}").contains("poisoned"));
    }

    #[test]
    fn apply_error_aborts_open_and_writes_nothing() {
        let fs = fresh();
        let (mut m, _) = open(&fs);
        m.append(b"bad").unwrap();
        drop(m);
        let before = fs.list(Path::new("/m")).unwrap();
        let err = Manifest::open(Arc::new(fs.clone()), Path::new("/m"), |_| {
            Err(Error::invalid("nope"))
        })
        .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)));
        assert_eq!(fs.list(Path::new("/m")).unwrap(), before);
    }

    #[test]
    fn size_grows_with_edits() {
        let fs = fresh();
        let (mut m, _) = open(&fs);
        let empty = m.size();
        m.append(b"abc").unwrap();
        assert_eq!(m.size(), empty + 12);
    }
}
