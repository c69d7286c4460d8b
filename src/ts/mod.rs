//! The time-series engine (seed: SimpleEmbedTimeSeriesDB).
//!
//! The public face: [`Db`] (open, insert, scan, query, delete, flush, compact, stats),
//! [`SeriesHandle`], [`Point`] and [`SeriesKey`], [`Scan`] and [`SeriesView`], the
//! analytic [`Query`] types, the ingest [`Writer`] and text formats ([`ingest`]),
//! [`Options`] (with the [`SharedOptions`] both engines take), [`Stats`], [`SyncMode`],
//! [`WalRecovery`] and the error types [`Error`] and [`Result`]. Everything else is
//! crate-private, except the pieces the fuzz targets and the segment tests drive
//! directly (`segment`, `catalog`), which are public but hidden from the documentation
//! and carry no stability promise. See `docs/design-ts.md` for how the pieces fit
//! together and the folder of each path.

mod background;
mod compaction;
pub(crate) mod core;
mod db;
mod flush;
mod handle;
pub(crate) mod head;
pub(crate) mod open;
mod options;
mod read;
#[doc(hidden)]
pub mod segment;
pub(crate) mod series;
mod stats;
pub(crate) mod version;
pub(crate) mod write;

pub mod analytics;
pub mod ingest;
#[doc(hidden)]
pub use series::catalog;

pub use crate::engine::SharedOptions;
pub use crate::error::{Error, Result};
pub use crate::io::wal::{SyncMode, WalDamage, WalDamageHook, WalRecovery};
pub use analytics::{
    Aggregation, Group, GroupKey, GroupView, LastPoints, Matcher, Query, QueryColumns, ValueFilter,
};
pub use db::Db;
pub use handle::SeriesHandle;
pub use ingest::{LineSummary, Precision, Writer};
pub use options::Options;
pub use read::scan::{Scan, SeriesView};
pub use series::key::{Point, SeriesKey};
pub use stats::Stats;
