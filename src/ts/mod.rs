//! The time-series engine (seed: SimpleEmbedTimeSeriesDB).
//!
//! [`Db`] is the public face; the rest of the engine is private. See
//! `docs/design-ts.md` for how the pieces fit together.

mod background;
mod compaction;
mod core;
mod db;
mod flush;
mod handle;
pub mod head;
mod open;
mod options;
mod read;
pub mod segment;
pub mod series;
mod stats;
mod version;
mod write;

pub use series::catalog;

pub use db::Db;
pub use handle::SeriesHandle;
pub use options::Options;
pub use read::scan::{Scan, SeriesView};
pub use series::key::{Point, SeriesKey};
pub use stats::Stats;
