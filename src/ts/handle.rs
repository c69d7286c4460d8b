//! Series handles: the fast write path that skips key validation and lookup.

use crate::ts::series::key::SeriesKey;

/// A resolved series of one [`crate::ts::Db`], from [`crate::ts::Db::series`].
/// [`crate::ts::Db::append`] writes columns to it without hashing or validating tags.
/// Cheap to clone; valid for the database that made it (another database rejects it).
///
/// ```
/// # use std::sync::Arc;
/// # use tidestore::io::sim_fs::SimFs;
/// use tidestore::{Db, ts};
/// # fn main() -> tidestore::Result<()> {
/// # let db = Db::open_with("/ts", ts::Options::default().fs(Arc::new(SimFs::new())))?;
/// let cpu = db.series("cpu", &[("host", "a")])?;
/// db.append(&cpu, &[1, 2, 3], &[0.5, 0.7, 0.6])?;
/// assert_eq!(cpu.key().metric(), "cpu");
/// assert_eq!(db.query_range("cpu", 1, 3, &[("host", "a")])?.len(), 3);
/// # Ok(())
/// # }
/// ```
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
