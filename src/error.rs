//! The crate's one error type and its `Result` alias.
//!
//! Every public call returns [`Result`]. Variants say what went wrong in terms a caller
//! can act on: bad input ([`Error::InvalidArgument`]), damaged files
//! ([`Error::Corruption`], naming the file and offset), a directory already in use
//! ([`Error::Locked`]), or a store that stopped accepting writes after a failed sync
//! ([`Error::Poisoned`]).

use std::path::PathBuf;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

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
}
