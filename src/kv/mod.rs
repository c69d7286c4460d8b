//! The key-value LSM store (seed: LSMTree).

pub mod iter;
pub mod key;
pub mod sstable;
