//! tidestore: an embedded time-series and key-value storage engine.
//!
//! Two faces over one log-structured engine whose on-disk tables are immutable,
//! memory-mapped files:
//!
//! - [`kv::Store`]: named column families of byte keys and values (seed: LSMTree);
//! - [`Db`]: metrics with tags, stored in columnar, compressed segments (seed:
//!   SimpleEmbedTimeSeriesDB).

#![deny(unsafe_op_in_unsafe_fn)]
// No public function panics (see STYLE): library code has no unwrap, expect or panic;
// tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]
#![warn(missing_docs)]

pub mod codec;
mod engine;
mod error;
pub mod inspect;
pub mod io;
pub mod kv;
pub mod ts;

pub use engine::SharedOptions;
pub use error::{Error, Result};
pub use io::wal::{SyncMode, WalDamage, WalRecovery};
pub use ts::{Db, Point, Scan, SeriesHandle, SeriesKey, SeriesView};
