//! The key-value LSM store (seed: LSMTree): named column families of byte keys and
//! values, with a write-ahead log, memtables, SSTables with Bloom filters and snappy,
//! and leveled compaction.
//!
//! The public face: [`Store`] (open, put/get/delete/range, batches, snapshots, flush,
//! compact, stats), [`ColumnFamily`] (one family's handle), [`Options`] (with the
//! [`SharedOptions`] both engines take), [`WriteBatch`], [`Snapshot`], [`RangeIter`],
//! [`Stats`], [`SyncMode`], [`WalRecovery`] and the error types [`Error`] and
//! [`Result`]. Everything else is crate-private, except the building blocks the fuzz
//! targets and the table tests drive directly (`sstable`, `batch`, `key`, `iter`),
//! which are public but hidden from the documentation and carry no stability promise.
//! The design, and the folder of each path, is in `docs/design-kv.md`.

mod background;
mod column_family;
mod compaction;
pub(crate) mod core;
mod flush;
pub(crate) mod memtable;
pub(crate) mod open;
mod options;
mod read;
mod snapshot;
#[doc(hidden)]
pub mod sstable;
mod stats;
mod store;
#[cfg(test)]
mod test_util;
pub(crate) mod version;
mod write;

#[doc(hidden)]
pub use self::core::{iter, key};
#[doc(hidden)]
pub use write::batch;

pub use crate::engine::SharedOptions;
pub use crate::error::{Error, Result};
pub use crate::io::wal::{SyncMode, WalDamage, WalDamageHook, WalRecovery};
pub use batch::WriteBatch;
pub use column_family::ColumnFamily;
pub use options::Options;
pub use read::range::{KeyRange, RangeIter};
pub use snapshot::Snapshot;
pub use sstable::TableOptions;
pub use stats::{LevelStats, Stats};
pub use store::Store;
