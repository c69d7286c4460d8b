//! The state a store's paths share, and the leaf types they are made of: the shared
//! handle state ([`inner`]), the read view ([`view`]), column families
//! ([`cf`]), live snapshots ([`snapshots`]), internal keys ([`key`]) and the iterator trait ([`iter`]). `core` never
//! imports the write, read, flush or compaction paths; they import it.

pub(crate) mod cf;
pub(crate) mod inner;
pub mod iter;
pub mod key;
pub(crate) mod snapshots;
pub(crate) mod view;
