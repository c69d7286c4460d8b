//! What [`super::verify`] reports: the files it read and the problems it found.

use std::path::PathBuf;

use super::DirKind;
use crate::error::Error;

/// What a file in a database directory is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A time-series segment, `{n:06}.seg`.
    Segment,
    /// A key-value SSTable, `{n:06}.sst`.
    Table,
    /// A WAL segment, `{id:020}.wal`.
    Wal,
    /// The time-series catalog file, `CATALOG-{n:06}`.
    Catalog,
    /// A manifest file, `MANIFEST-{n:06}`.
    Manifest,
    /// `CURRENT`, naming the live manifest.
    Current,
    /// `IDENTITY`, naming the engine.
    Identity,
    /// `LOCK`, the directory lock.
    Lock,
    /// A file being written (`*.tmp`), removed by the next open.
    Temporary,
    /// Anything else.
    Other,
}

impl FileKind {
    /// The kind of the file named `name`.
    pub fn of(name: &str) -> FileKind {
        use crate::io::{file_number, manifest, wal};
        let numbered = |suffix: &str| {
            name.strip_suffix(suffix)
                .and_then(file_number::parse)
                .is_some()
        };
        if name.ends_with(".tmp") {
            FileKind::Temporary
        } else if name == manifest::CURRENT {
            FileKind::Current
        } else if manifest::parse_manifest_file_name(name).is_some() {
            FileKind::Manifest
        } else if wal::parse_segment_file_name(name).is_some() {
            FileKind::Wal
        } else if numbered(".seg") {
            FileKind::Segment
        } else if numbered(".sst") {
            FileKind::Table
        } else if name
            .strip_prefix("CATALOG-")
            .and_then(file_number::parse)
            .is_some()
        {
            FileKind::Catalog
        } else if name == crate::io::identity::IDENTITY {
            FileKind::Identity
        } else if name == "LOCK" {
            FileKind::Lock
        } else {
            FileKind::Other
        }
    }

    /// A short lower-case name (`segment`, `table`, `wal`, `catalog`, `manifest`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Segment => "segment",
            FileKind::Table => "table",
            FileKind::Wal => "wal",
            FileKind::Catalog => "catalog",
            FileKind::Manifest => "manifest",
            FileKind::Current => "current",
            FileKind::Identity => "identity",
            FileKind::Lock => "lock",
            FileKind::Temporary => "temporary",
            FileKind::Other => "other",
        }
    }
}

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Bytes on disk are damaged, missing or unreadable: an open fails, or loses or
    /// misreads data.
    Damage,
    /// Worth knowing, not damage: a file the manifest does not list (an orphan the
    /// next open removes, or a foreign file), or a WAL segment ending in a torn
    /// record (a crash in the middle of a write, or a writer appending right now).
    Warning,
}

/// One thing [`super::verify`] found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Damage or a warning.
    pub severity: Severity,
    /// The file it is in.
    pub file: PathBuf,
    /// The byte offset in the file where it was found, when known.
    pub offset: Option<u64>,
    /// What is wrong.
    pub what: String,
}

impl Problem {
    /// The problem an error of the engine's readers stands for (damage), in `file`
    /// when the error names none.
    pub(crate) fn from_error(e: Error, file: PathBuf) -> Problem {
        let (file, offset, what) = match e {
            Error::Corruption { file, offset, what } => (file, Some(offset), what),
            Error::UnsupportedVersion {
                file,
                found,
                supported,
            } => (
                file,
                None,
                format!("format version {found}, this build reads versions up to {supported}"),
            ),
            other => (file, None, other.to_string()),
        };
        Problem {
            severity: Severity::Damage,
            file,
            offset,
            what,
        }
    }

    /// A warning about `file`.
    pub(crate) fn warning(file: PathBuf, offset: Option<u64>, what: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            file,
            offset,
            what: what.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let severity = match self.severity {
            Severity::Damage => "damage",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}: {}", self.file.display())?;
        if let Some(offset) = self.offset {
            write!(f, " at byte {offset}")?;
        }
        write!(f, ": {}", self.what)
    }
}

/// One file [`super::verify`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFile {
    /// The file's name in the directory.
    pub name: String,
    /// What it is.
    pub kind: FileKind,
    /// Its size in bytes.
    pub bytes: u64,
}

/// What one engine's check read and found, before [`super::verify`] adds the files
/// it did not read.
pub(crate) struct Checked {
    /// Names of the files read.
    pub read: std::collections::BTreeSet<String>,
    /// The problems found in them.
    pub problems: Vec<Problem>,
}

/// What [`super::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The kind of database.
    pub kind: DirKind,
    /// Every file read, in name order.
    pub files: Vec<CheckedFile>,
    /// Every problem, damage first, then by file and offset.
    pub problems: Vec<Problem>,
    /// Another handle held the directory's lock during the check: a running writer
    /// may have replaced files while they were read, so a missing file can be a race
    /// rather than damage (close the database and check again to be sure).
    pub open_elsewhere: bool,
}

impl VerifyReport {
    /// True when no problem is damage (warnings allowed).
    pub fn is_intact(&self) -> bool {
        self.damage().next().is_none()
    }

    /// The problems that are damage.
    pub fn damage(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Damage)
    }

    /// The problems that are warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Warning)
    }

    /// Total bytes of the files read.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}
