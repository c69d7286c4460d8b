//! [`CsvReader`]: rows of a CSV input as points, through the `csv` crate; and
//! [`CsvRow`], one row read.
//!
//! The header is resolved once into a plan (which column is the timestamp, the
//! metric, a value, a tag, or ignored); each row is then read into a reused record and
//! its cells parsed in place. Tags and metrics borrow the header and the record.

use std::io::Read;

use ::csv::{ByteRecord, ReaderBuilder};

use crate::error::{Error, Result};
use crate::ts::ingest::csv::cell::{parse_timestamp, parse_value};
use crate::ts::ingest::csv::format::CsvFormat;
use crate::ts::ingest::error::{ParseError, locate};
use crate::ts::ingest::keys::{check_metric, check_tags};
use crate::ts::ingest::point::{PointRef, field_metric};
use crate::ts::ingest::precision::Precision;
use crate::ts::ingest::reuse::recycle;

/// A row's tags, borrowing the record.
type TagVec<'a> = Vec<(&'a str, &'a str)>;

/// Reads points from CSV in a [`CsvFormat`].
///
/// ```
/// use tidestore::ts::ingest::{CsvFormat, CsvReader};
///
/// let text = "time,host,usage,idle\n10,a,58,\n20,b,60,40\n";
/// let format = CsvFormat::wide().timestamp_column("time").tag_columns(&["host"]);
/// let mut reader = CsvReader::new(&format, text.as_bytes())?;
/// let mut points = Vec::new();
/// while let Some(row) = reader.next_row()? {
///     row?.for_each_point(|p| {
///         points.push(format!("{}{:?}@{}={}", p.metric, p.tags, p.timestamp, p.value));
///         Ok(())
///     })?;
/// }
/// assert_eq!(
///     points,
///     [
///         r#"usage[("host", "a")]@10=58"#,
///         r#"usage[("host", "b")]@20=60"#,
///         r#"idle[("host", "b")]@20=40"#,
///     ]
/// );
/// # Ok::<(), tidestore::Error>(())
/// ```
#[derive(Debug)]
pub struct CsvReader<R: Read> {
    csv: ::csv::Reader<R>,
    header: Vec<String>,
    plan: Plan,
    precision: Precision,
    record: ByteRecord,
    /// Reused allocations of a row's tags (with their columns) and points.
    tag_slot: Vec<(&'static str, &'static str)>,
    tag_columns: Vec<usize>,
    point_slot: Vec<(&'static str, f64, usize)>,
}

/// Which column is what.
#[derive(Debug)]
struct Plan {
    timestamp: usize,
    /// Long layout: the metric column.
    metric: Option<usize>,
    /// The value columns, with their metric names (wide layout; empty names in long).
    values: Vec<(usize, String)>,
    tags: Vec<usize>,
}

impl<R: Read> CsvReader<R> {
    /// Reads the header (unless the format names the columns) and resolves the
    /// format's columns. An error when a named column is missing, a header name
    /// appears twice, an option does not fit the layout, or the input is empty.
    pub fn new(format: &CsvFormat, reader: R) -> Result<CsvReader<R>> {
        CsvReader::with_capacity(format, reader, 64 * 1024)
    }

    /// [`CsvReader::new`] with a read buffer of `capacity` bytes.
    pub fn with_capacity(format: &CsvFormat, reader: R, capacity: usize) -> Result<Self> {
        let mut csv = ReaderBuilder::new()
            .delimiter(format.delimiter)
            .quote(format.quote)
            .comment(format.comment)
            .has_headers(format.column_names.is_none())
            .flexible(true)
            .buffer_capacity(capacity.max(1024))
            .from_reader(reader);
        let header = match &format.column_names {
            Some(names) => names.clone(),
            None => {
                let raw = csv.byte_headers().map_err(csv_error)?;
                if raw.is_empty() {
                    return Err(Error::invalid(
                        "the CSV input is empty: expected a header row",
                    ));
                }
                let mut names = Vec::with_capacity(raw.len());
                for (i, cell) in raw.iter().enumerate() {
                    let name = std::str::from_utf8(cell).map_err(|_| {
                        Error::from(ParseError::new(1, i + 1, "invalid UTF-8 in the header"))
                    })?;
                    // a byte order mark before the first name is not part of it
                    let name = if i == 0 {
                        name.trim_start_matches('\u{feff}')
                    } else {
                        name
                    };
                    names.push(name.to_owned());
                }
                names
            }
        };
        let plan = Plan::resolve(format, &header)?;
        Ok(CsvReader {
            csv,
            header,
            plan,
            precision: format.precision,
            record: ByteRecord::new(),
            tag_slot: Vec::new(),
            tag_columns: Vec::new(),
            point_slot: Vec::new(),
        })
    }

    /// The columns' names.
    pub fn columns(&self) -> &[String] {
        &self.header
    }

    /// Bytes of the input consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.csv.position().byte()
    }

    /// The next row: `Ok(None)` at the end; `Ok(Some(Err(..)))` for a bad row (the
    /// reader is past it and may go on); `Err(..)` when the input cannot be read.
    pub fn next_row(&mut self) -> Result<Option<Result<CsvRow<'_>, ParseError>>> {
        if !self
            .csv
            .read_byte_record(&mut self.record)
            .map_err(csv_error)?
        {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line());
        let CsvReader {
            header,
            plan,
            precision,
            record,
            tag_slot,
            tag_columns,
            point_slot,
            ..
        } = self;
        let record: &ByteRecord = record;
        let header: &[String] = header;
        let err = |col: usize, msg: String| ParseError::new(line, col + 1, msg);
        if record.len() != header.len() {
            let col = record.len().min(header.len());
            return Ok(Some(Err(err(
                col,
                format!("expected {} cells, found {}", header.len(), record.len()),
            ))));
        }
        let cell = |col: usize| -> Result<&str, ParseError> {
            let bytes = record.get(col).unwrap_or_default();
            std::str::from_utf8(bytes).map_err(|_| {
                let name = header.get(col).map_or("", String::as_str);
                err(col, format!("invalid UTF-8 in column {name:?}"))
            })
        };
        let named = |col: usize, msg: String| {
            let name = header.get(col).map_or("", String::as_str);
            err(col, format!("column {name:?}: {msg}"))
        };

        let mut points: Vec<(&str, f64, usize)> = recycle(std::mem::take(point_slot));
        let mut row = || -> Result<(i64, TagVec<'_>), ParseError> {
            for (col, name) in &plan.values {
                let Some(value) = parse_value(cell(*col)?).map_err(|m| named(*col, m))? else {
                    continue;
                };
                let metric = match plan.metric {
                    Some(m) => {
                        let metric = cell(m)?;
                        if metric.is_empty() {
                            return Err(named(m, "the metric is empty".to_owned()));
                        }
                        metric
                    }
                    None => name.as_str(),
                };
                points.push((metric, value, *col));
            }
            let mut tags: Vec<(&str, &str)> = recycle(std::mem::take(tag_slot));
            tag_columns.clear();
            if points.is_empty() {
                return Ok((0, tags));
            }
            let timestamp = parse_timestamp(cell(plan.timestamp)?, *precision)
                .map_err(|m| named(plan.timestamp, m))?;
            for &col in &plan.tags {
                let value = cell(col)?;
                if !value.is_empty() {
                    tags.push((header.get(col).map_or("", String::as_str), value));
                    tag_columns.push(col);
                }
            }
            Ok((timestamp, tags))
        };
        Ok(Some(match row() {
            Ok((timestamp, tags)) => Ok(CsvRow {
                line,
                timestamp,
                tags,
                tag_columns,
                points,
                tag_slot,
                point_slot,
            }),
            Err(e) => {
                *point_slot = recycle(points);
                Err(e)
            }
        }))
    }
}

impl Plan {
    fn resolve(format: &CsvFormat, header: &[String]) -> Result<Plan> {
        let fail = |msg: String| Error::from(ParseError::new(1, 1, msg));
        for (i, name) in header.iter().enumerate() {
            if header.get(..i).is_some_and(|seen| seen.contains(name)) {
                return Err(Error::from(ParseError::new(
                    1,
                    i + 1,
                    format!("column {name:?} appears twice in the header"),
                )));
            }
        }
        let find = |name: &str| {
            header.iter().position(|h| h == name).ok_or_else(|| {
                fail(format!(
                    "no column {name:?} in the header ({})",
                    header.join(", ")
                ))
            })
        };
        for name in &format.ignore_columns {
            find(name)?;
        }
        let ignored = |i: usize| {
            format
                .ignore_columns
                .iter()
                .any(|n| Some(n) == header.get(i))
        };
        let timestamp = find(&format.timestamp_column)?;
        let listed_tags = match &format.tag_columns {
            Some(names) => Some(names.iter().map(|n| find(n)).collect::<Result<Vec<_>>>()?),
            None => None,
        };
        if format.long {
            if format.measurement.is_some() {
                return Err(fail(
                    "measurement() applies to the wide CSV format only".into(),
                ));
            }
            let metric = find(format.metric_column.as_deref().unwrap_or("metric"))?;
            let value = find(format.value_column.as_deref().unwrap_or("value"))?;
            let taken = [timestamp, metric, value];
            let tags = listed_tags.unwrap_or_else(|| {
                (0..header.len())
                    .filter(|i| !taken.contains(i) && !ignored(*i))
                    .collect()
            });
            if let Some(&t) = tags.iter().find(|t| taken.contains(t)) {
                let name = header.get(t).map_or("", String::as_str);
                return Err(fail(format!(
                    "column {name:?} cannot be a tag and a {}",
                    if t == timestamp {
                        "timestamp"
                    } else if t == metric {
                        "metric"
                    } else {
                        "value"
                    }
                )));
            }
            Ok(Plan {
                timestamp,
                metric: Some(metric),
                values: vec![(value, String::new())],
                tags,
            })
        } else {
            if format.metric_column.is_some() || format.value_column.is_some() {
                return Err(fail(
                    "metric_column() and value_column() apply to the long CSV format only".into(),
                ));
            }
            let tags = listed_tags.unwrap_or_default();
            if tags.contains(&timestamp) {
                return Err(fail(format!(
                    "column {:?} cannot be a tag and the timestamp",
                    format.timestamp_column
                )));
            }
            let mut buf = String::new();
            let values: Vec<(usize, String)> = header
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != timestamp && !tags.contains(&i) && !ignored(i))
                .map(|(i, name)| {
                    let metric = match &format.measurement {
                        Some(m) => field_metric(m, name, &mut buf).to_owned(),
                        None => name.clone(),
                    };
                    (i, metric)
                })
                .collect();
            if values.is_empty() {
                return Err(fail(
                    "no value column: every column is the timestamp, a tag or ignored".into(),
                ));
            }
            Ok(Plan {
                timestamp,
                metric: None,
                values,
                tags,
            })
        }
    }
}

/// One row of CSV, read, from [`CsvReader::next_row`]: its timestamp, tags and points.
/// Borrows the reader until dropped.
#[derive(Debug)]
pub struct CsvRow<'a> {
    line: u64,
    timestamp: i64,
    tags: Vec<(&'a str, &'a str)>,
    tag_columns: &'a [usize],
    /// (metric, value, column)
    points: Vec<(&'a str, f64, usize)>,
    tag_slot: &'a mut Vec<(&'static str, &'static str)>,
    point_slot: &'a mut Vec<(&'static str, f64, usize)>,
}

impl<'a> CsvRow<'a> {
    /// The line where the row starts (from 1).
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// The row's timestamp (0 when the row has no point and so no timestamp was read).
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The tags of the row's points: its non-empty tag cells.
    pub fn tags(&self) -> &[(&'a str, &'a str)] {
        &self.tags
    }

    /// How many points the row holds (non-empty value cells).
    pub fn point_count(&self) -> usize {
        self.points.len()
    }

    /// Checks every point of the row against the engine's key rules, so that the row
    /// can be refused whole; the error points at the cell at fault.
    pub fn validate(&self) -> Result<(), ParseError> {
        if let Err((i, msg)) = check_tags(&self.tags) {
            let col = self.tag_columns.get(i).copied().unwrap_or_default();
            return Err(ParseError::new(self.line, col + 1, msg));
        }
        for &(metric, _, col) in &self.points {
            check_metric(metric).map_err(|m| ParseError::new(self.line, col + 1, m))?;
        }
        Ok(())
    }

    /// Hands every point of the row to `each`; returns how many. An
    /// [`Error::InvalidArgument`] from `each` gets the line and the value's column.
    pub fn for_each_point(
        &self,
        mut each: impl FnMut(PointRef<'_>) -> Result<()>,
    ) -> Result<usize> {
        for &(metric, value, col) in &self.points {
            let point = PointRef {
                metric,
                tags: &self.tags,
                timestamp: self.timestamp,
                value,
            };
            each(point).map_err(|e| locate(e, self.line, col + 1))?;
        }
        Ok(self.points.len())
    }
}

impl Drop for CsvRow<'_> {
    fn drop(&mut self) {
        *self.tag_slot = recycle(std::mem::take(&mut self.tags));
        *self.point_slot = recycle(std::mem::take(&mut self.points));
    }
}

fn csv_error(e: ::csv::Error) -> Error {
    if e.is_io_error() {
        match e.into_kind() {
            ::csv::ErrorKind::Io(io) => Error::from(io),
            other => Error::invalid(format!("{other:?}")),
        }
    } else {
        Error::invalid(format!("CSV: {e}"))
    }
}
