//! The key-value LSM store (seed: LSMTree): named column families of byte keys and
//! values, with a write-ahead log, memtables, SSTables with Bloom filters and snappy,
//! and leveled compaction.
//!
//! The public surface is flat: [`Store`] (open, put/get/delete/range, batches,
//! snapshots, flush, compact, stats), [`ColumnFamily`] (one family's handle), [`Options`], [`WriteBatch`], [`Snapshot`],
//! [`RangeIter`], [`Stats`] and [`SyncMode`]. The building blocks (memtable, tables,
//! iterators) are public modules for the engine's own tools and tests. The design is in
//! `docs/design-kv.md`.

mod background;
mod column_family;
mod compaction;
pub(crate) mod core;
mod flush;
pub mod memtable;
pub(crate) mod open;
mod options;
mod read;
mod snapshot;
pub mod sstable;
mod stats;
mod store;
#[cfg(test)]
mod test_util;
pub(crate) mod version;
mod write;

pub use self::core::{iter, key};
pub use read::{merge, visible};
pub use write::batch;

pub use crate::io::wal::SyncMode;
pub use batch::WriteBatch;
pub use column_family::ColumnFamily;
pub use options::Options;
pub use read::range::{KeyRange, RangeIter};
pub use snapshot::Snapshot;
pub use sstable::TableOptions;
pub use stats::{LevelStats, Stats};
pub use store::Store;
