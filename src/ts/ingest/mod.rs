//! Ingest of text: InfluxDB line protocol and CSV, parsed into borrowed points for a
//! [`PointSink`] (the engine's write batch), and a streaming import that reads either
//! from a [`std::io::BufRead`] in chunks and commits every N points.
//!
//! The text side keeps no engine state and writes nothing itself; [`Writer`] (from
//! `Db::writer`) is the engine's batch that the text goes into, and `Db::write_lines`
//! and `Db::import` join the two. Points come out as [`PointRef`]s that borrow the input (or a parser's
//! scratch buffer); nothing is allocated per line or per point unless a name has an
//! escape. See `docs/ingest.md` for the grammar, the type mapping, the metric naming,
//! the CSV layouts and the import's semantics.

#[cfg(feature = "csv")]
mod csv;
mod db;
mod error;
mod import;
mod keys;
mod line_protocol;
mod number;
mod point;
mod precision;
mod reuse;
#[cfg(feature = "csv")]
mod rfc3339;
pub(crate) mod series_cache;
mod summary;
mod writer;

#[cfg(feature = "csv")]
pub use csv::{CsvFormat, CsvReader, CsvRow};
pub use error::ParseError;
pub use import::{Import, ImportFormat, ImportSummary, Progress};
pub use line_protocol::{
    FieldValue, LineCursor, LineParser, MAX_STRING_FIELD_LEN, ParsedLine, format_line, format_point,
};
pub use point::{PointRef, PointSink, field_metric};
pub use precision::Precision;
pub use summary::LineSummary;
pub use writer::{MAX_CACHED_SERIES, Writer};
