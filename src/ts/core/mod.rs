//! The state the database's paths share, and the leaf types they are made of: the
//! shared handle state ([`inner`]), the read view readers hold ([`view`]), one
//! series' points as columns ([`columns`]) and the sorted series of each metric
//! ([`series_order`]). `core` never imports the write, read,
//! flush or compaction paths; they import it.

pub(crate) mod columns;
pub(crate) mod inner;
pub(crate) mod series_order;
pub(crate) mod view;
