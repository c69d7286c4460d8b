//! The time-series engine (seed: SimpleEmbedTimeSeriesDB).
//!
//! [`Db`] is the public face; the rest of the engine is private. See
//! `docs/design-ts.md` for how the pieces fit together.

mod background;
mod compaction;
pub(crate) mod core;
mod db;
mod flush;
mod handle;
pub mod head;
pub(crate) mod open;
mod options;
mod read;
pub mod segment;
pub mod series;
mod stats;
pub(crate) mod version;
pub(crate) mod write;

pub mod analytics;
pub mod ingest;
pub use series::catalog;

pub use analytics::{Aggregation, Group, LastPoints, Matcher, Query, ValueFilter};
pub use db::Db;
pub use handle::SeriesHandle;
pub use ingest::{LineSummary, Precision, Writer};
pub use options::Options;
pub use read::scan::{Scan, SeriesView};
pub use series::key::{Point, SeriesKey};
pub use stats::Stats;
