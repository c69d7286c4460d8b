//! A database directory opened for inspection: its files, its kind, its lock (taken
//! when free, never waited for), and the read-only reading of its manifest.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use super::DirKind;
use super::report::{Checked, FileKind, Problem};
use super::stats::{KindBytes, WalSummary};
use crate::error::{Error, Result};
use crate::io::fs::{DirLockGuard, FileSystem};
use crate::io::identity::{self, Kind};
use crate::io::manifest::{self, manifest_file_name};
use crate::io::record::LogEnd;
use crate::io::wal;

/// A directory being inspected.
pub(crate) struct Dir<'a> {
    pub fs: &'a dyn FileSystem,
    pub path: PathBuf,
    /// The files in it, sorted.
    pub names: Vec<String>,
    pub kind: DirKind,
    /// A damaged `IDENTITY` (the kind was then told by the files).
    pub identity_problem: Option<Problem>,
    /// Another handle held the lock.
    pub open_elsewhere: bool,
    /// Held while inspecting, so no writer opens the directory meanwhile.
    _lock: Option<Box<dyn DirLockGuard>>,
}

impl<'a> Dir<'a> {
    /// Opens `path` for inspection: it must be an existing directory whose
    /// `IDENTITY` (or, in a directory from before `IDENTITY` files, whose files) says
    /// which engine it belongs to. Takes the directory lock if it is free (and the
    /// `LOCK` file exists: nothing is created); when another handle holds it, goes on
    /// without it and says so in `open_elsewhere`.
    pub fn open(fs: &'a dyn FileSystem, path: &Path) -> Result<Dir<'a>> {
        let names = fs.list(path).map_err(|e| match e {
            Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
                Error::invalid(format!("{}: no such directory", path.display()))
            }
            Error::Io(io) if io.kind() == std::io::ErrorKind::NotADirectory => {
                Error::invalid(format!("{}: not a directory", path.display()))
            }
            other => other,
        })?;
        // A damaged IDENTITY is a problem to report when the files still tell the
        // kind, and the error otherwise.
        let (found, identity_error) = match identity::read(fs, path, &names) {
            Ok(found) => (found, None),
            Err(e) => (None, Some(e)),
        };
        let kind = match found.or_else(|| identity::by_files(&names)) {
            Some(Kind::TimeSeries) => DirKind::TimeSeries,
            Some(Kind::KeyValue) => DirKind::KeyValue,
            None => {
                if let Some(e) = identity_error {
                    return Err(e);
                }
                return Err(Error::invalid(format!(
                    "{}: not a tidestore database (no IDENTITY file, and no file tells \
                     which engine wrote it)",
                    path.display()
                )));
            }
        };
        let (lock, open_elsewhere) = if names.iter().any(|n| n == "LOCK") {
            match fs.lock_dir(path) {
                Ok(guard) => (Some(guard), false),
                Err(Error::Locked(_)) => (None, true),
                Err(e) => return Err(e),
            }
        } else {
            (None, false)
        };
        Ok(Dir {
            fs,
            path: path.to_path_buf(),
            names,
            kind,
            identity_problem: identity_error.map(|e| Problem::from_error(e, path.join("IDENTITY"))),
            open_elsewhere,
            _lock: lock,
        })
    }

    /// The full path of file `name`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The size of file `name` in bytes (0 if it vanished). Only immutable files
    /// (segments, tables) are mapped; the others, which a running writer may be
    /// appending to, are read.
    pub fn size(&self, name: &str) -> u64 {
        let path = self.file(name);
        match FileKind::of(name) {
            FileKind::Segment | FileKind::Table => self.fs.map(&path).map(|b| b.len()),
            _ => self.fs.read(&path).map(|b| b.len()),
        }
        .map_or(0, |len| len as u64)
    }

    /// The names of the files of `kind`.
    pub fn names_of(&self, kind: FileKind) -> impl Iterator<Item = &str> {
        self.names
            .iter()
            .map(String::as_str)
            .filter(move |n| FileKind::of(n) == kind)
    }

    /// Reads the live manifest without writing anything: `CURRENT`, then every
    /// record of the file it names, each passed to `apply` (which decodes and applies
    /// it). Returns the manifest file's name. A torn final record is ignored, as an
    /// open does; damage is [`Error::Corruption`] naming the file and offset.
    pub fn read_manifest(&self, apply: impl FnMut(&[u8]) -> Result<()>) -> Result<String> {
        if !self.names.iter().any(|n| n == manifest::CURRENT) {
            return Err(Error::corruption(
                self.file(manifest::CURRENT),
                0,
                "CURRENT is missing: no manifest names the live files",
            ));
        }
        let number = manifest::read_current(self.fs, &self.path)?;
        let name = manifest_file_name(number);
        let path = self.file(&name);
        if !self.names.contains(&name) {
            return Err(Error::corruption(
                &path,
                0,
                "the manifest named by CURRENT is missing",
            ));
        }
        let data = self.fs.read(&path)?;
        manifest::read_manifest(&data, number, &path, apply)?;
        Ok(name)
    }
}

impl Dir<'_> {
    /// Bytes on disk per kind of file, every file counted.
    pub fn kind_bytes(&self) -> Vec<KindBytes> {
        let mut kinds: BTreeMap<FileKind, KindBytes> = BTreeMap::new();
        for name in &self.names {
            let kind = FileKind::of(name);
            let e = kinds.entry(kind).or_insert(KindBytes {
                kind,
                files: 0,
                bytes: 0,
            });
            e.files += 1;
            e.bytes += self.size(name);
        }
        kinds.into_values().collect()
    }

    /// Reads every WAL segment from `min_id` on, record by record, passing each
    /// record's file, offset and payload to `record`, which decodes it and returns how
    /// many points or operations it holds (or what is wrong with it: damage at that
    /// offset). A torn tail is a warning; a damaged record, header or unreadable file
    /// is damage. Returns the segments' names and what they hold.
    pub fn read_wal(
        &self,
        min_id: u64,
        problems: &mut Vec<Problem>,
        mut record: impl FnMut(&Path, &[u8]) -> std::result::Result<u64, String>,
    ) -> (Vec<String>, WalSummary) {
        let mut summary = WalSummary::default();
        let mut read = Vec::new();
        for name in self.names_of(FileKind::Wal) {
            let Some(id) = wal::parse_segment_file_name(name).filter(|&id| id >= min_id) else {
                continue;
            };
            let path = self.file(name);
            read.push(name.to_owned());
            summary.segments += 1;
            let data = match self.fs.read(&path) {
                Ok(data) => data,
                Err(e) => {
                    problems.push(Problem::from_error(e, path));
                    continue;
                }
            };
            summary.bytes += data.len() as u64;
            let end = wal::read_segment(&data, id, &path, |offset, payload| {
                summary.records += 1;
                match record(&path, payload) {
                    Ok(items) => summary.items += items,
                    Err(what) => problems.push(Problem::from_error(
                        Error::corruption(&path, offset, what),
                        path.clone(),
                    )),
                }
                Ok(())
            });
            match end {
                Err(e) => problems.push(Problem::from_error(e, path)),
                Ok(LogEnd::Clean) => {}
                Ok(LogEnd::Torn {
                    offset,
                    dropped_bytes,
                }) => problems.push(Problem::warning(
                    path,
                    Some(offset),
                    format!(
                        "torn tail of {dropped_bytes} bytes (a write cut short by a crash, \
                         or one in progress); the next open drops it"
                    ),
                )),
                Ok(LogEnd::Corrupt { offset, what }) => {
                    problems.push(Problem::from_error(
                        Error::corruption(&path, offset, what),
                        path.clone(),
                    ));
                }
            }
        }
        (read, summary)
    }
}

impl Dir<'_> {
    /// Checks the data files of `kind` the manifest lists (`listed`: name and what the
    /// manifest says of each), or every such file when the manifest could not be
    /// read (`None`), with `check`; a listed file that is missing is damage.
    pub fn check_files<M>(
        &self,
        kind: FileKind,
        listed: Option<Vec<(String, M)>>,
        checked: &mut Checked,
        mut check: impl FnMut(&str, Option<&M>, &mut Vec<Problem>),
    ) {
        let files: Vec<(String, Option<M>)> = match listed {
            Some(files) => files.into_iter().map(|(n, m)| (n, Some(m))).collect(),
            None => self.names_of(kind).map(|n| (n.to_owned(), None)).collect(),
        };
        for (name, meta) in &files {
            let path = self.file(name);
            if !self.names.contains(name) {
                let e = Error::corruption(&path, 0, "listed in the MANIFEST but missing");
                checked.problems.push(Problem::from_error(e, path));
                continue;
            }
            checked.read.insert(name.clone());
            check(name, meta.as_ref(), &mut checked.problems);
        }
    }
}
