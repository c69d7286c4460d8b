//! Looking inside database directories without opening them for writing: what
//! `tidestore verify`, `stats` and `dump` show.
//!
//! This module owns the read-only walk over a directory of either kind (a [`Db`]
//! directory or a [`kv::Store`] one, told apart by its `IDENTITY` file, or by its
//! files in a directory from before `IDENTITY`):
//!
//! - [`verify`] reads every file the manifest lists and checks every checksum and
//!   structural invariant the engine's readers check, plus what they leave to later
//!   reads (every segment chunk and postings bitmap, every SSTable data block and
//!   entry, every WAL record), and reports each problem with its file and offset,
//!   and files present but not listed (warnings);
//! - [`stats`] counts points, series, segments, chunks and codecs (time series) or
//!   column families, levels, tables and entries (key-value), and bytes on disk per
//!   kind of file;
//! - [`dump`] shows the layout of one segment or SSTable.
//!
//! The file formats are parsed only by the engine's own readers
//! ([`crate::ts::segment`], [`crate::kv::sstable`], the manifest, catalog and WAL
//! readers); this module decides what to read and collects what they report.
//!
//! **Read-only.** Nothing in the directory is created, changed or removed: the
//! manifest is read without the new-file install an open does, no `IDENTITY` is
//! written, and no orphan is cleaned up.
//!
//! **A database open elsewhere.** When the directory's lock is free, it is held for
//! the duration of the call, so no writer opens the directory meanwhile. When another
//! handle holds it (a running writer, in this process or another), the inspection
//! goes on without it and never blocks or disturbs that writer; but its flushes and
//! compactions may replace files while they are read, so a file the manifest named
//! may be gone when it is read. [`VerifyReport::open_elsewhere`] says so; close the
//! database and check again to tell such a race from damage. The WAL segment being
//! appended to may end in a torn record at that moment: a warning, not damage.
//!
//! No function here panics, whatever the files hold.
//!
//! [`Db`]: crate::Db
//! [`kv::Store`]: crate::kv::Store

mod dir;
mod dump;
mod kv;
mod report;
mod stats;
mod ts;

use std::path::Path;

pub use dump::FileDump;
pub use report::{CheckedFile, FileKind, Problem, Severity, VerifyReport};
pub use stats::{
    CodecUse, DirStats, KindBytes, KvStats, LevelSummary, SegmentSummary, TableSummary, TsStats,
    WalSummary,
};

use crate::error::Result;
use crate::io::fs::{FileSystem, StdFs};
use dir::Dir;
use report::Checked;

/// Which engine a directory belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirKind {
    /// A time-series [`crate::Db`].
    TimeSeries,
    /// A key-value [`crate::kv::Store`].
    KeyValue,
}

impl DirKind {
    /// What users call it.
    pub fn name(self) -> &'static str {
        match self {
            DirKind::TimeSeries => "time-series",
            DirKind::KeyValue => "key-value",
        }
    }
}

/// The kind of database in `dir`. A missing directory, or one no file of which tells
/// which engine wrote it, is [`crate::Error::InvalidArgument`].
pub fn dir_kind(dir: impl AsRef<Path>) -> Result<DirKind> {
    Ok(Dir::open(&StdFs, dir.as_ref())?.kind)
}

/// Reads every file of the database in `dir` and checks it (see the module docs).
/// Damage is reported in the [`VerifyReport`], not as an error; an error means the
/// directory could not be inspected at all (missing, not a database, unreadable).
pub fn verify(dir: impl AsRef<Path>) -> Result<VerifyReport> {
    verify_with(&StdFs, dir.as_ref())
}

/// [`verify`] on the file system `fs`.
pub fn verify_with(fs: &dyn FileSystem, dir: &Path) -> Result<VerifyReport> {
    let d = Dir::open(fs, dir)?;
    let Checked { read, mut problems } = match d.kind {
        DirKind::TimeSeries => ts::verify(&d),
        DirKind::KeyValue => kv::verify(&d),
    };
    let mut files = Vec::new();
    for name in &d.names {
        let kind = FileKind::of(name);
        if read.contains(name) || kind == FileKind::Identity {
            files.push(CheckedFile {
                name: name.clone(),
                kind,
                bytes: d.size(name),
            });
        } else if !matches!(kind, FileKind::Lock | FileKind::Current) {
            problems.push(Problem::warning(d.file(name), None, unlisted(d.kind, kind)));
        }
    }
    problems.sort_by(|a, b| (a.severity, &a.file, a.offset).cmp(&(b.severity, &b.file, b.offset)));
    problems.dedup();
    Ok(VerifyReport {
        kind: d.kind,
        files,
        problems,
        open_elsewhere: d.open_elsewhere,
    })
}

/// The warning for a file of a `dir_kind` directory that verify did not read.
fn unlisted(dir_kind: DirKind, kind: FileKind) -> &'static str {
    match (dir_kind, kind) {
        (DirKind::TimeSeries, FileKind::Segment) | (DirKind::KeyValue, FileKind::Table) => {
            "not listed in the MANIFEST (an orphan the next open removes)"
        }
        (_, FileKind::Wal) => {
            "WAL segment below the MANIFEST's log number (flushed; the next open removes it)"
        }
        (_, FileKind::Catalog) if dir_kind == DirKind::TimeSeries => {
            "catalog file the MANIFEST does not name (the next open removes it)"
        }
        (_, FileKind::Manifest) => "manifest file CURRENT does not name (the next open removes it)",
        (_, FileKind::Temporary) => {
            "temporary file (being written, or left by a crash; the next open removes it)"
        }
        (DirKind::TimeSeries, FileKind::Table) => "an SSTable in a time-series directory",
        (DirKind::KeyValue, FileKind::Segment | FileKind::Catalog) => {
            "a time-series file in a key-value directory"
        }
        _ => "not a file tidestore writes",
    }
}

/// Counts and sizes of the database in `dir` (see [`DirStats`]). Reads the manifest,
/// the catalog, the footers and chunk heads of the live segments (time series) and the
/// WAL; damage found on the way is an error (run [`verify`] for the full picture).
pub fn stats(dir: impl AsRef<Path>) -> Result<DirStats> {
    let d = Dir::open(&StdFs, dir.as_ref())?;
    Ok(match d.kind {
        DirKind::TimeSeries => DirStats::TimeSeries(ts::stats(&d)?),
        DirKind::KeyValue => DirStats::KeyValue(kv::stats(&d)?),
    })
}

/// The layout of one segment (`NNNNNN.seg`) or SSTable (`NNNNNN.sst`) of the database
/// in `dir`, given by name (looked up in `dir`) or by path. Any other file is
/// [`crate::Error::InvalidArgument`]; a damaged one is the error its reader reports.
pub fn dump(dir: impl AsRef<Path>, file: impl AsRef<Path>) -> Result<FileDump> {
    let d = Dir::open(&StdFs, dir.as_ref())?;
    dump::dump(&d, file.as_ref())
}
