//! [`Db::value_at`]: one series' value at one timestamp, the point get.
//!
//! The series is found by a hash lookup on the borrowed metric and tags (no key is
//! built), and read over the one-timestamp range through the same per-series merge as
//! a scan, so heads, tombstones, overlapping segments and retention behave exactly as
//! there. Only the chunk holding the timestamp is decoded, into buffers taken from the
//! thread's pool of [`Columns`] memory.

use std::sync::Arc;

use crate::error::Result;
use crate::ts::Db;
use crate::ts::core::columns::Columns;
use crate::ts::read::merge::{HeadSnapshot, SeriesReader};
use crate::ts::series::key::validate_parts;

impl Db {
    /// The value of the series `metric` + `tags` (exactly these tags, in any order) at
    /// `timestamp`: `None` when the series does not exist or has no live point there
    /// (deleted, expired by retention, never written). Reads one consistent snapshot;
    /// the newest write of the timestamp wins, as everywhere.
    ///
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a metric or tags
    /// that no series could have (the rules of [`Db::insert`]).
    ///
    /// ```
    /// use tidestore::ts::Db;
    /// # let dir = tempfile::tempdir()?;
    /// let db = Db::open(dir.path())?;
    /// db.insert("cpu", 60, 12.5, &[("host", "a"), ("dc", "eu")])?;
    /// assert_eq!(db.value_at("cpu", &[("dc", "eu"), ("host", "a")], 60)?, Some(12.5));
    /// assert_eq!(db.value_at("cpu", &[("host", "a")], 60)?, None); // another series
    /// assert_eq!(db.value_at("cpu", &[("host", "a"), ("dc", "eu")], 61)?, None);
    /// # Ok::<(), tidestore::Error>(())
    /// ```
    pub fn value_at(
        &self,
        metric: &str,
        tags: &[(&str, &str)],
        timestamp: i64,
    ) -> Result<Option<f64>> {
        let inner = self.inner();
        let Some(id) = inner.catalog().lookup(metric, tags) else {
            // A stored key is valid: only a miss can be bad input.
            validate_parts(metric, tags)?;
            return Ok(None);
        };
        if inner
            .retention_cutoff()
            .is_some_and(|cutoff| timestamp < cutoff)
        {
            return Ok(None);
        }
        // Under the head gate no write reaches the head: the view and the head's copy
        // show the same writes.
        let gate = inner.head_gate();
        let view = inner.current_view();
        let head = HeadSnapshot::capture(&view.head, [id], timestamp, timestamp);
        drop(gate);
        let mut reader = SeriesReader::new(view, Arc::new(head), timestamp, timestamp);
        let mut out = Columns::new();
        reader.read(id, &mut out)?;
        Ok(out.vals().first().copied())
    }
}
