//! tidestore: an embedded time-series and key-value storage engine.
//!
//! Two faces over one log-structured engine whose on-disk tables are immutable,
//! memory-mapped files:
//!
//! - [`kv::Store`]: named column families of byte keys and values (seed: LSMTree);
//! - [`Db`]: metrics with tags, stored in columnar, compressed segments (seed:
//!   SimpleEmbedTimeSeriesDB).

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod codec;
mod error;
pub mod io;
pub mod kv;
pub mod ts;

pub use error::{Error, Result};
pub use ts::{Db, Point, Scan, SeriesHandle, SeriesKey, SeriesView};
