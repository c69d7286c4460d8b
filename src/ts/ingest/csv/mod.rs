//! CSV input through the `csv` crate (cargo feature `csv`, on by default): the
//! [`CsvFormat`] builder (long and wide layouts) and the [`CsvReader`] that turns rows
//! into borrowed points.

mod cell;
mod format;
mod reader;

pub use format::CsvFormat;
pub use reader::{CsvReader, CsvRow};
