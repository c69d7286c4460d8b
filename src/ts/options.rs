//! Options of a [`crate::ts::Db`], with documented defaults.

use crate::engine::{SharedOptions, shared_setters};
use crate::error::{Error, Result};
use crate::ts::segment::MAX_CHUNK_POINTS;

/// How a [`crate::ts::Db`] is opened. Every field has a documented default
/// ([`Options::default`]); the setters return `self` so options chain. The options
/// both engines take (sync mode, file system, background work, ...) are in
/// [`Options::shared`], with setters of the same names here:
///
/// ```no_run
/// use tidestore::ts::Options;
/// let opts = Options::default().head_bytes(32 << 20).partition_width(3_600);
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    /// The options every handle takes: sync mode, file system, background work,
    /// manifest rewrite size, WAL recovery mode and damage hook.
    pub shared: SharedOptions,
    /// The head (the in-memory table of recent points) is frozen and flushed to a
    /// segment once it holds about this many bytes. Default 64 MiB.
    pub head_bytes: usize,
    /// Frozen heads allowed to wait for their flush before writers wait for the
    /// flush thread. Default 2.
    pub max_frozen_heads: usize,
    /// Points per chunk in the segments written. Default 4096.
    pub chunk_points: usize,
    /// Width of a compaction time partition, in timestamp units: compaction writes one
    /// segment per partition `[k * width, (k + 1) * width)`. Default 86 400 (one day
    /// when timestamps are Unix seconds; multiply for milliseconds or nanoseconds).
    pub partition_width: i64,
    /// Compaction merges the segments of a time partition once this many overlap it.
    /// Default 4.
    pub compaction_trigger: usize,
    /// Points older than `newest timestamp written - retention` are dropped by
    /// compaction and hidden from queries. Default `None` (keep everything).
    pub retention: Option<i64>,
    /// The catalog file is rewritten as one snapshot once it grows past this many
    /// bytes and to at least twice its last snapshot (so rewrites cost O(1) per new
    /// series whatever the value). Default 4 MiB.
    pub catalog_rewrite_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            shared: SharedOptions::default(),
            head_bytes: 64 << 20,
            max_frozen_heads: 2,
            chunk_points: 4096,
            partition_width: 86_400,
            compaction_trigger: 4,
            retention: None,
            catalog_rewrite_bytes: 4 << 20,
        }
    }
}

impl Options {
    shared_setters!();

    /// Sets [`Options::head_bytes`].
    pub fn head_bytes(mut self, bytes: usize) -> Self {
        self.head_bytes = bytes;
        self
    }
    /// Sets [`Options::max_frozen_heads`].
    pub fn max_frozen_heads(mut self, heads: usize) -> Self {
        self.max_frozen_heads = heads;
        self
    }
    /// Sets [`Options::chunk_points`].
    pub fn chunk_points(mut self, points: usize) -> Self {
        self.chunk_points = points;
        self
    }
    /// Sets [`Options::partition_width`].
    pub fn partition_width(mut self, width: i64) -> Self {
        self.partition_width = width;
        self
    }
    /// Sets [`Options::compaction_trigger`].
    pub fn compaction_trigger(mut self, segments: usize) -> Self {
        self.compaction_trigger = segments;
        self
    }
    /// Sets [`Options::retention`].
    pub fn retention(mut self, retention: Option<i64>) -> Self {
        self.retention = retention;
        self
    }
    /// Sets [`Options::catalog_rewrite_bytes`].
    pub fn catalog_rewrite_bytes(mut self, bytes: u64) -> Self {
        self.catalog_rewrite_bytes = bytes;
        self
    }

    /// Checks the options for values the engine cannot work with.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.head_bytes < 4096 {
            return Err(Error::invalid("head_bytes must be at least 4096"));
        }
        if self.max_frozen_heads == 0 {
            return Err(Error::invalid("max_frozen_heads must be at least 1"));
        }
        if !(16..=MAX_CHUNK_POINTS).contains(&self.chunk_points) {
            return Err(Error::invalid(format!(
                "chunk_points must be in 16..={MAX_CHUNK_POINTS}"
            )));
        }
        if self.partition_width <= 0 {
            return Err(Error::invalid("partition_width must be positive"));
        }
        if self.compaction_trigger < 2 {
            return Err(Error::invalid("compaction_trigger must be at least 2"));
        }
        if self.retention.is_some_and(|r| r < 0) {
            return Err(Error::invalid("retention must not be negative"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_rejected() {
        Options::default().validate().unwrap();
        let bad = [
            Options::default().head_bytes(10),
            Options::default().max_frozen_heads(0),
            Options::default().chunk_points(1),
            Options::default().partition_width(0),
            Options::default().compaction_trigger(1),
            Options::default().retention(Some(-1)),
        ];
        for o in bad {
            assert!(matches!(o.validate(), Err(Error::InvalidArgument(_))));
        }
    }
}
