//! Opening database directories for a command, with the checks the library leaves to
//! its callers: `Db::open` and `kv::Store::open` create a directory that does not
//! exist, which a command that reads must not do.

use std::path::Path;

use tidestore::Db;
use tidestore::kv::Store;

use crate::error::{CliError, CliResult};

/// What a directory holds, by its `IDENTITY` file (see the library's
/// `docs/format.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirKind {
    /// A time-series `Db`.
    TimeSeries,
    /// A key-value `kv::Store`.
    KeyValue,
    /// No `IDENTITY` (a directory from before it existed), or an unknown one: the
    /// library's open decides.
    Unknown,
}

/// The kind of database in `dir`.
pub fn kind_of(dir: &Path) -> DirKind {
    match std::fs::read(dir.join("IDENTITY")).as_deref() {
        Ok(b"tidestore time-series\n") => DirKind::TimeSeries,
        Ok(b"tidestore key-value\n") => DirKind::KeyValue,
        _ => DirKind::Unknown,
    }
}

/// Checks that `dir` is an existing directory holding a tidestore database.
pub fn require_database(dir: &Path) -> CliResult {
    let meta = std::fs::metadata(dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CliError::runtime(format!("{}: no such directory", dir.display()))
        } else {
            CliError::runtime(format!("{}: {e}", dir.display()))
        }
    })?;
    if !meta.is_dir() {
        return Err(CliError::runtime(format!(
            "{}: not a directory",
            dir.display()
        )));
    }
    if !dir.join("IDENTITY").exists() && !dir.join("CURRENT").exists() {
        return Err(CliError::runtime(format!(
            "{}: not a tidestore database (no IDENTITY or CURRENT file)",
            dir.display()
        )));
    }
    Ok(())
}

/// Opens the existing time-series database in `dir`, without background work (a
/// command does its work in the foreground and exits).
pub fn open_db(dir: &Path) -> CliResult<Db> {
    require_database(dir)?;
    let opts = tidestore::ts::Options::default().background_work(false);
    Ok(Db::open_with(dir, opts)?)
}

/// Opens the key-value store in `dir`; `create` allows a new one.
pub fn open_store(dir: &Path, create: bool) -> CliResult<Store> {
    if !create || dir.exists() {
        require_database(dir).or_else(|e| {
            // An existing empty directory may become a store when creating.
            let empty = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
            if create && empty { Ok(()) } else { Err(e) }
        })?;
    }
    let opts = tidestore::kv::Options::default().background_work(false);
    Ok(Store::open_with(dir, opts)?)
}
