//! tidestore: an embedded time-series and key-value storage engine.
//!
//! Two log-structured engines, each with its own public face and directory, whose
//! on-disk tables are immutable, memory-mapped files:
//!
//! - [`kv`]: the key-value store [`kv::Store`], named column families of byte keys and
//!   values in SSTables (seed: LSMTree);
//! - [`ts`]: the time-series database [`Db`], metrics with tags stored in columnar,
//!   compressed segments (seed: SimpleEmbedTimeSeriesDB).
//!
//! Both stand on the same substrate: `io` (log records, the write-ahead log, the
//! manifest, directory handling; of it only the file-system seam [`io::fs`] and the
//! in-memory [`io::sim_fs`] are public), `codec` (checksums and the encodings of keys,
//! timestamps and values) and `engine` (locks, poisoning, background workers and the
//! [`SharedOptions`] both take). [`inspect`] checks, summarizes and dumps a directory of
//! either engine. The common types are re-exported here: [`Error`], [`Result`],
//! [`SyncMode`], [`WalRecovery`] and the time-series handle types. `docs/design.md`
//! describes how the pieces fit.
//!
//! ```
//! use std::sync::Arc;
//! use tidestore::io::sim_fs::SimFs;
//! use tidestore::{Db, Point, SyncMode, kv, ts};
//!
//! # fn main() -> tidestore::Result<()> {
//! // An in-memory file system keeps the example off the disk; leave it out for real files.
//! let fs = Arc::new(SimFs::new());
//!
//! let store = kv::Store::open_with("/kv", kv::Options::default().fs(fs.clone()))?;
//! store.put("users", "alice", "admin")?;
//! assert_eq!(store.get("users", "alice")?, Some(b"admin".to_vec()));
//!
//! let opts = ts::Options::default().fs(fs).sync_mode(SyncMode::Os);
//! let db = Db::open_with("/ts", opts)?;
//! db.insert_batch(&[Point::new("cpu", 1_000, 0.5, &[("host", "a")])])?;
//! assert_eq!(db.query_range("cpu", 0, 2_000, &[])?.len(), 1);
//! # Ok(())
//! # }
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
// No public function panics: library code has no unwrap, expect or panic; tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]
#![warn(missing_docs)]

#[doc(hidden)]
pub mod codec;
mod engine;
mod error;
pub mod inspect;
pub mod io;
pub mod kv;
pub mod ts;

pub use engine::SharedOptions;
pub use error::{Error, Result};
pub use io::wal::{SyncMode, WalDamage, WalDamageHook, WalRecovery};
pub use ts::{Db, Point, Scan, SeriesHandle, SeriesKey, SeriesView};
