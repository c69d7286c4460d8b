//! InfluxDB line protocol (v2 grammar): the parser, its parsed line, and the formatter.
//!
//! ```text
//! measurement[,tag_key=tag_value...] field_key=field_value[,field_key=field_value...] [timestamp]
//! ```
//!
//! - sections are separated by one or more spaces or tabs; leading and trailing
//!   spaces and tabs are ignored, and so is the `\r` of a `\r\n` line end;
//! - blank lines and lines whose first non-blank character is `#` are skipped;
//! - escapes: see [`escape`] (`\,` `\ ` `\\` in measurements; `\,` `\=` `\ ` `\\` in tag
//!   keys, tag values and field keys; `\"` `\\` in string values; any other backslash
//!   is an ordinary character);
//! - values: see [`value`]; string values are double-quoted, at most 64 KiB, and may
//!   hold commas, spaces and `=` but no newline;
//! - the timestamp is an optional integer (negative allowed), in the `i64` range;
//! - tags may come in any order; a tag key twice is refused by the engine's key rules
//!   ([`ParsedLine::validate`]); a field key twice gives two points of the same series
//!   and time, and the later one wins, as in InfluxDB.

mod escape;
mod format;
mod parsed;
mod parser;
mod value;

pub use format::{format_line, format_point};
pub use parsed::ParsedLine;
pub use parser::{LineCursor, LineParser, MAX_STRING_FIELD_LEN};
pub use value::FieldValue;
