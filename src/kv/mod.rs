//! The key-value LSM store (seed: LSMTree).

pub mod batch;
pub mod compaction_filter;
pub mod iter;
pub mod key;
pub mod memtable;
pub mod merge;
pub mod sstable;
pub mod visible;
