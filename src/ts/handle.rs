//! Series handles: the fast write path that skips key validation and lookup.

use crate::ts::series::key::SeriesKey;

/// A resolved series of one [`crate::ts::Db`], from [`crate::ts::Db::series`].
/// [`crate::ts::Db::append`] writes columns to it without hashing or validating tags.
/// Cheap to clone; valid for the database that made it (another database rejects it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesHandle {
    pub(crate) id: u32,
    pub(crate) instance: u64,
    pub(crate) key: SeriesKey,
}

impl SeriesHandle {
    /// The series.
    pub fn key(&self) -> &SeriesKey {
        &self.key
    }
}
