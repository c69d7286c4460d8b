//! Ingest of text: InfluxDB line protocol and CSV, parsed into borrowed points for a
//! [`PointSink`] (the engine's write batch), and a streaming import that reads either
//! from a [`std::io::BufRead`] in chunks and commits every N points.
//!
//! This module owns the text side only: it keeps no engine state and writes nothing
//! itself. Points come out as [`PointRef`]s that borrow the input (or a parser's
//! scratch buffer); nothing is allocated per line or per point unless a name has an
//! escape. See `docs/ingest.md` for the grammar, the type mapping, the metric naming,
//! the CSV layouts and the import's semantics.

#[cfg(feature = "csv")]
mod csv;
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
mod summary;

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
