//! The crate's one error type and its `Result` alias.
//!
//! Every public call returns [`Result`]. Variants say what went wrong in terms a caller
//! can act on: bad input ([`Error::InvalidArgument`]), damaged files
//! ([`Error::Corruption`], naming the file and offset), a directory already in use
//! ([`Error::Locked`]), a store that stopped accepting writes after a failed sync
//! ([`Error::Poisoned`]), or a broken internal invariant ([`Error::Internal`], a bug in
//! tidestore, never the caller's input).
//!
//! `Error` is `Clone` (I/O errors are shared behind an [`Arc`]), so one failure can be
//! handed to every writer of a group commit.

use std::path::PathBuf;
use std::sync::Arc;

/// What went wrong.
///
/// ```
/// # use std::sync::Arc;
/// # use tidestore::io::sim_fs::SimFs;
/// use tidestore::{Db, Error, ts};
/// # fn main() -> tidestore::Result<()> {
/// # let db = Db::open_with("/ts", ts::Options::default().fs(Arc::new(SimFs::new())))?;
/// // Bad input is the caller's to fix, and writes nothing.
/// match db.insert("", 1, 1.0, &[]) {
///     Err(Error::InvalidArgument(why)) => eprintln!("refused: {why}"),
///     other => panic!("expected a refusal, got {other:?}"),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error (shared, so that `Error` is `Clone`; build one
    /// with `Error::from(io_error)`).
    #[error("I/O error: {0}")]
    Io(Arc<std::io::Error>),

    /// Bytes on disk failed a checksum or did not parse: the file is damaged.
    #[error("corruption in {}: {what} (at byte offset {offset})", file.display())]
    Corruption {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset in the file where the damage was detected.
        offset: u64,
        /// What check failed.
        what: String,
    },

    /// A file was written by a newer (or unknown) format version.
    #[error("{} has format version {found}, this build reads versions up to {supported}", file.display())]
    UnsupportedVersion {
        /// The file.
        file: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },

    /// Another handle (in this process or another) holds the directory's lock.
    #[error("{} is locked by another open handle", .0.display())]
    Locked(PathBuf),

    /// A caller passed input the engine does not accept; nothing was written.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The thing asked for does not exist (for example `Db::update` of a missing point).
    #[error("not found: {0}")]
    NotFound(String),

    /// A write or fsync failed earlier; the handle no longer accepts writes.
    /// Reopen the directory to recover from the last durable state.
    #[error("the handle is poisoned after an earlier I/O failure ({0}); reopen it")]
    Poisoned(String),

    /// An internal invariant broke: a bug in tidestore, not bad input. The handle is
    /// poisoned (later writes return [`Error::Poisoned`]); reopening recovers the last
    /// durable state. Please report it.
    #[error("internal error (a bug in tidestore; the handle is poisoned): {0}")]
    Internal(String),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(Arc::new(e))
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Builds an [`Error::Corruption`].
    pub fn corruption(file: impl Into<PathBuf>, offset: u64, what: impl Into<String>) -> Self {
        Error::Corruption {
            file: file.into(),
            offset,
            what: what.into(),
        }
    }

    /// Builds an [`Error::InvalidArgument`].
    pub fn invalid(what: impl Into<String>) -> Self {
        Error::InvalidArgument(what.into())
    }

    /// Builds an [`Error::Internal`].
    pub(crate) fn internal(what: impl Into<String>) -> Self {
        Error::Internal(what.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cloned_io_error_keeps_kind_and_message() {
        let e = Error::from(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            "disk full",
        ));
        let c = e.clone();
        match (&e, &c) {
            (Error::Io(a), Error::Io(b)) => {
                assert_eq!(b.kind(), std::io::ErrorKind::StorageFull);
                assert!(Arc::ptr_eq(a, b));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.to_string(), c.to_string());
    }
}
