//! Which engine a directory belongs to: the `IDENTITY` file.
//!
//! Both engines keep a manifest in the same framing, so without a marker a
//! `kv::Store` directory opened as a `Db` (or the reverse) reads as a damaged manifest.
//! Each engine writes `IDENTITY` when it creates a directory, and checks it at every
//! open: the other engine's directory is [`Error::InvalidArgument`] saying what it is,
//! and nothing in it is touched.
//!
//! ```text
//! IDENTITY := "tidestore time-series\n"     (a Db directory)
//!           | "tidestore key-value\n"       (a kv::Store directory)
//! ```
//! It is written as `IDENTITY.tmp`, fsync'd, renamed, and the directory fsync'd, so
//! it is either absent or complete.
//!
//! Directories made before `IDENTITY` existed have none: they are recognized by the
//! table files only one engine writes (`*.sst` for the key-value store; `*.seg` and
//! `CATALOG-*` for the time-series engine), and get their `IDENTITY` once an open has
//! read their manifest successfully.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::fs::FileSystem;

/// The file name.
pub(crate) const IDENTITY: &str = "IDENTITY";
/// The temporary name it is written under.
const IDENTITY_TMP: &str = "IDENTITY.tmp";

/// The engine a directory belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `tidestore::Db`.
    TimeSeries,
    /// `tidestore::kv::Store`.
    KeyValue,
}

impl Kind {
    /// The contents of its `IDENTITY` file.
    fn contents(self) -> &'static [u8] {
        match self {
            Kind::TimeSeries => b"tidestore time-series\n",
            Kind::KeyValue => b"tidestore key-value\n",
        }
    }

    /// What users call it.
    fn noun(self) -> &'static str {
        match self {
            Kind::TimeSeries => "time-series Db",
            Kind::KeyValue => "kv::Store",
        }
    }

    /// Whether `name` is a file only this engine writes.
    fn owns_name(self, name: &str) -> bool {
        let base = name.strip_suffix(".tmp").unwrap_or(name);
        match self {
            Kind::TimeSeries => base.ends_with(".seg") || base.starts_with("CATALOG-"),
            Kind::KeyValue => base.ends_with(".sst"),
        }
    }

    fn other(self) -> Kind {
        match self {
            Kind::TimeSeries => Kind::KeyValue,
            Kind::KeyValue => Kind::TimeSeries,
        }
    }
}

/// What [`check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum Claim {
    /// `IDENTITY` names this engine (or was just written for a new directory).
    Ours,
    /// No `IDENTITY` and a manifest from before it existed: call [`write`] once the
    /// manifest has been read.
    Legacy,
}

/// Checks that the directory `dir`, whose files are `names`, belongs to `kind`. A new
/// directory (no manifest yet) gets its `IDENTITY` now.
pub(crate) fn check(
    fs: &dyn FileSystem,
    dir: &Path,
    names: &[String],
    kind: Kind,
) -> Result<Claim> {
    match read(fs, dir, names)? {
        Some(found) if found == kind => return Ok(Claim::Ours),
        Some(found) => return Err(wrong_kind(dir, found, kind)),
        None => {}
    }
    if names.iter().any(|n| kind.other().owns_name(n)) {
        return Err(wrong_kind(dir, kind.other(), kind));
    }
    if names
        .iter()
        .any(|n| crate::io::manifest::is_manifest_file(n))
    {
        return Ok(Claim::Legacy);
    }
    write(fs, dir, kind)?;
    Ok(Claim::Ours)
}

/// The engine `dir`'s `IDENTITY` file names, without writing anything: `None` when
/// `names` (the directory's files) has no `IDENTITY`; [`Error::Corruption`] when it
/// names no engine.
pub(crate) fn read(fs: &dyn FileSystem, dir: &Path, names: &[String]) -> Result<Option<Kind>> {
    if !names.iter().any(|n| n == IDENTITY) {
        return Ok(None);
    }
    let path = dir.join(IDENTITY);
    let bytes = fs.read(&path)?;
    [Kind::TimeSeries, Kind::KeyValue]
        .into_iter()
        .find(|k| k.contents() == bytes.as_slice())
        .map(Some)
        .ok_or_else(|| Error::corruption(path, 0, "not a tidestore IDENTITY file"))
}

/// The engine whose files are among `names`, for a directory without a readable
/// `IDENTITY` (one from before it existed): `None` when no file tells.
pub(crate) fn by_files(names: &[String]) -> Option<Kind> {
    [Kind::TimeSeries, Kind::KeyValue]
        .into_iter()
        .find(|k| names.iter().any(|n| k.owns_name(n)))
}

/// Writes `dir`'s `IDENTITY` for `kind` (temporary name, fsync, rename, directory
/// fsync).
pub(crate) fn write(fs: &dyn FileSystem, dir: &Path, kind: Kind) -> Result<()> {
    let tmp = dir.join(IDENTITY_TMP);
    let mut f = fs.create(&tmp)?;
    f.write_all(kind.contents())?;
    f.sync()?;
    drop(f);
    fs.rename(&tmp, &dir.join(IDENTITY))?;
    fs.sync_dir(dir)
}

/// The error for opening `found`'s directory `dir` as `wanted`.
pub(crate) fn wrong_kind(dir: &Path, found: Kind, wanted: Kind) -> Error {
    Error::invalid(format!(
        "{} is a tidestore {} directory, not a {}",
        dir.display(),
        found.noun(),
        wanted.noun()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::sim_fs::SimFs;

    fn names(fs: &SimFs, dir: &Path) -> Vec<String> {
        fs.list(dir).unwrap()
    }

    #[test]
    fn a_new_directory_is_claimed_and_the_other_engine_refused() {
        let fs = SimFs::new();
        let dir = Path::new("/d");
        fs.create_dir_all(dir).unwrap();
        assert_eq!(
            check(&fs, dir, &names(&fs, dir), Kind::KeyValue).unwrap(),
            Claim::Ours
        );
        fs.crash();
        assert_eq!(
            fs.read(&dir.join(IDENTITY)).unwrap(),
            b"tidestore key-value\n"
        );
        assert_eq!(
            check(&fs, dir, &names(&fs, dir), Kind::KeyValue).unwrap(),
            Claim::Ours
        );
        let err = check(&fs, dir, &names(&fs, dir), Kind::TimeSeries).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid argument: /d is a tidestore kv::Store directory, not a time-series Db"
        );
    }

    #[test]
    fn old_directories_are_recognized_by_their_files() {
        let fs = SimFs::new();
        let dir = Path::new("/d");
        fs.create_dir_all(dir).unwrap();
        let listed = |extra: &str| vec!["CURRENT".to_owned(), extra.to_owned()];
        for (file, owner) in [
            ("000004.sst", Kind::KeyValue),
            ("000004.sst.tmp", Kind::KeyValue),
            ("000004.seg", Kind::TimeSeries),
            ("CATALOG-000003", Kind::TimeSeries),
        ] {
            assert_eq!(
                check(&fs, dir, &listed(file), owner).unwrap(),
                Claim::Legacy,
                "{file}"
            );
            assert!(
                matches!(
                    check(&fs, dir, &listed(file), owner.other()),
                    Err(Error::InvalidArgument(_))
                ),
                "{file}"
            );
        }
        assert!(!fs.exists(&dir.join(IDENTITY)), "nothing written yet");
    }

    #[test]
    fn a_damaged_identity_is_corruption() {
        let fs = SimFs::new();
        let dir = Path::new("/d");
        fs.create_dir_all(dir).unwrap();
        let mut f = fs.create(&dir.join(IDENTITY)).unwrap();
        f.write_all(b"tidestore key-valuE\n").unwrap();
        drop(f);
        assert!(matches!(
            check(&fs, dir, &names(&fs, dir), Kind::KeyValue),
            Err(Error::Corruption { .. })
        ));
    }
}
