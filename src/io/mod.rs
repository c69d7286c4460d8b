//! File primitives shared by the key-value store and the time-series engine: the
//! file-system seam, the write-ahead log, the manifest and the directory lock.
//!
//! - [`fs`]: the [`fs::FileSystem`] trait and the real [`fs::StdFs`];
//! - [`sim_fs`]: [`sim_fs::SimFs`], an in-memory file system for fault-injection and
//!   power-cut tests;
//! - [`gate_fs`]: [`gate_fs::GateFs`], a file system view that a simulated process
//!   death closes, for crash tests;
//! - `record`: the checksummed record framing of every log file;
//! - `wal`: the write-ahead log;
//! - `manifest`: the atomic, durable log of edits naming an owner's live files;
//! - `file_number`: the numbered file names of an engine directory, and which numbers
//!   are the engines';
//! - `dir`: what every open does with its directory (lock, identity, file counter,
//!   manifest-completeness check, orphan sweep);
//! - `identity`: the `IDENTITY` file saying which engine a directory belongs to.
//!
//! Only `fs`, `sim_fs` and `gate_fs` are part of the public API. `record`, `wal` and `manifest`
//! are public but hidden from the documentation, for the fuzz targets and the format
//! tests; they carry no stability promise.
//!
//! The on-disk formats and the durability model are described byte by byte in
//! `docs/format.md (part 1)`.

pub(crate) mod dir;
pub(crate) mod file_number;
pub mod fs;
pub mod gate_fs;
pub(crate) mod identity;
mod log_header;
#[doc(hidden)]
pub mod manifest;
#[doc(hidden)]
pub mod record;
pub mod sim_fs;
#[doc(hidden)]
pub mod wal;
