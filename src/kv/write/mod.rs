//! The write path: encoding a [`batch`] and committing it through the group-commit
//! [`queue`] (WAL append, memtable insert, sequence publication, memtable freezing).

pub mod batch;
pub(crate) mod queue;
