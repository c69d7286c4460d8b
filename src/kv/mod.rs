//! The key-value LSM store (seed: LSMTree): named column families of byte keys and
//! values, with a write-ahead log, memtables, SSTables with Bloom filters and snappy,
//! and leveled compaction.
//!
//! The public surface is flat: [`Store`] (open, put/get/delete/range, batches,
//! snapshots, flush, compact, stats), [`Options`], [`WriteBatch`], [`Snapshot`],
//! [`RangeIter`], [`Stats`] and [`SyncMode`]. The building blocks (memtable, tables,
//! iterators) are public modules for the engine's own tools and tests. The design is in
//! `docs/design-kv.md`.

mod background;
pub mod batch;
pub(crate) mod cf;
mod compaction;
pub mod compaction_filter;
mod flush;
mod inner;
pub mod iter;
pub mod key;
mod level_iter;
pub mod memtable;
pub mod merge;
mod options;
mod read;
pub(crate) mod recovery;
mod snapshot;
pub mod sstable;
mod stats;
mod store;
mod super_version;
pub(crate) mod table_file;
mod table_writer;
#[cfg(test)]
mod test_util;
mod version;
pub(crate) mod version_edit;
pub(crate) mod version_set;
pub mod visible;
mod write;

pub use crate::io::wal::SyncMode;
pub use batch::WriteBatch;
pub use options::Options;
pub use read::{KeyRange, RangeIter};
pub use snapshot::Snapshot;
pub use sstable::TableOptions;
pub use stats::{LevelStats, Stats};
pub use store::Store;
