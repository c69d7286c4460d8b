//! [`CsvFormat`]: how a CSV file lays out its points.

use crate::ts::ingest::precision::Precision;

/// The layout of a CSV input, built from [`CsvFormat::long`] or [`CsvFormat::wide`].
///
/// - **long**: one point per row: a metric column, a timestamp column and a value
///   column; every other column is a tag (or only the [`CsvFormat::tag_columns`] when
///   given);
/// - **wide**: one row per time and tag set: a timestamp column, the
///   [`CsvFormat::tag_columns`], and every other column a metric (named after its
///   header, or `measurement_header` with [`CsvFormat::measurement`]).
///
/// In both, an empty value cell is no point, an empty tag cell is no tag, and a cell
/// that is not a number is an error naming its line and column. Timestamps are
/// integers in the [`CsvFormat::precision`] unit, or RFC 3339 times converted to it.
/// The first row is the header unless [`CsvFormat::column_names`] names the columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvFormat {
    pub(crate) long: bool,
    pub(crate) timestamp_column: String,
    pub(crate) metric_column: Option<String>,
    pub(crate) value_column: Option<String>,
    pub(crate) measurement: Option<String>,
    pub(crate) tag_columns: Option<Vec<String>>,
    pub(crate) ignore_columns: Vec<String>,
    pub(crate) column_names: Option<Vec<String>>,
    pub(crate) delimiter: u8,
    pub(crate) quote: u8,
    pub(crate) comment: Option<u8>,
    pub(crate) precision: Precision,
}

impl CsvFormat {
    /// The long layout: columns `metric`, `timestamp` and `value`, every other column a
    /// tag.
    pub fn long() -> CsvFormat {
        CsvFormat {
            long: true,
            timestamp_column: "timestamp".to_owned(),
            metric_column: None,
            value_column: None,
            measurement: None,
            tag_columns: None,
            ignore_columns: Vec::new(),
            column_names: None,
            delimiter: b',',
            quote: b'"',
            comment: None,
            precision: Precision::Nanoseconds,
        }
    }

    /// The wide layout: a `timestamp` column, no tag columns until
    /// [`CsvFormat::tag_columns`] names them, every other column a metric.
    pub fn wide() -> CsvFormat {
        CsvFormat {
            long: false,
            ..CsvFormat::long()
        }
    }

    /// True for the long layout.
    pub fn is_long(&self) -> bool {
        self.long
    }

    /// The timestamp column's header. Default: `timestamp`.
    pub fn timestamp_column(mut self, name: &str) -> CsvFormat {
        self.timestamp_column = name.to_owned();
        self
    }

    /// Long layout only: the metric column's header. Default: `metric`. (Set on a wide
    /// layout, reading fails with an error saying so.)
    pub fn metric_column(mut self, name: &str) -> CsvFormat {
        self.metric_column = Some(name.to_owned());
        self
    }

    /// Long layout only: the value column's header. Default: `value`.
    pub fn value_column(mut self, name: &str) -> CsvFormat {
        self.value_column = Some(name.to_owned());
        self
    }

    /// Wide layout only: names the metric of column `c` `measurement_c` (and the
    /// metric of a column named `value` just `measurement`), as line protocol names
    /// fields. Default: none, the metric is the header.
    pub fn measurement(mut self, name: &str) -> CsvFormat {
        self.measurement = Some(name.to_owned());
        self
    }

    /// The tag columns. Long layout: only these are tags and the other remaining
    /// columns are ignored (default: every remaining column is a tag). Wide layout:
    /// these are the tags, every remaining column a metric (default: no tags).
    pub fn tag_columns(mut self, names: &[&str]) -> CsvFormat {
        self.tag_columns = Some(names.iter().map(|&n| n.to_owned()).collect());
        self
    }

    /// Columns to skip entirely. Default: none.
    pub fn ignore_columns(mut self, names: &[&str]) -> CsvFormat {
        self.ignore_columns = names.iter().map(|&n| n.to_owned()).collect();
        self
    }

    /// The input has no header row; these are its columns' names, in order. Default:
    /// the first row is the header.
    pub fn column_names(mut self, names: &[&str]) -> CsvFormat {
        self.column_names = Some(names.iter().map(|&n| n.to_owned()).collect());
        self
    }

    /// The cell delimiter. Default: `,`.
    pub fn delimiter(mut self, delimiter: u8) -> CsvFormat {
        self.delimiter = delimiter;
        self
    }

    /// The quote character. Default: `"`.
    pub fn quote(mut self, quote: u8) -> CsvFormat {
        self.quote = quote;
        self
    }

    /// Lines starting with this byte are comments. Default: none.
    pub fn comment(mut self, comment: Option<u8>) -> CsvFormat {
        self.comment = comment;
        self
    }

    /// The unit of the timestamps: integer cells are taken as they are, RFC 3339 cells
    /// are converted to it (rounded down). Default: nanoseconds.
    pub fn precision(mut self, precision: Precision) -> CsvFormat {
        self.precision = precision;
        self
    }
}
