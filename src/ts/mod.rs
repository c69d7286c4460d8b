//! The time-series engine (seed: SimpleEmbedTimeSeriesDB).
//!
//! [`Db`] is the public face; the rest of the engine is private. See
//! `docs/design-ts.md` for how the pieces fit together.

pub mod analytics;
pub mod catalog;
pub mod head;
pub mod ingest;
mod key_index;
mod postings_mem;
pub mod segment;
pub mod series;
mod series_buf;

mod background;
pub(crate) mod catalog_log;
mod columns;
mod compaction;
mod db;
mod engine;
mod flush;
mod handle;
pub(crate) mod open;
mod options;
mod overlap;
mod plan;
mod query;
mod scan;
mod stats;
pub(crate) mod version;
mod view;
pub(crate) mod wal_batch;
mod write;

pub use analytics::{Aggregation, Group, Matcher, Query, ValueFilter};
pub use db::Db;
pub use handle::SeriesHandle;
pub use ingest::{LineSummary, Precision, Writer};
pub use options::Options;
pub use scan::{Scan, SeriesView};
pub use series::{Point, SeriesKey};
pub use stats::Stats;
