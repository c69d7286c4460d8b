//! The state the database's paths share, and the leaf types they are made of: the
//! shared handle state ([`inner`]), the read view readers hold ([`view`]) and one
//! series' points as columns ([`columns`]). `core` never imports the write, read,
//! flush or compaction paths; they import it.

pub(crate) mod columns;
pub(crate) mod inner;
pub(crate) mod view;
