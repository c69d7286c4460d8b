//! The streaming import: [`Import`] reads line protocol or CSV from a
//! [`std::io::BufRead`] in chunks and feeds a [`PointSink`], committing every N points.
//!
//! Memory stays bounded whatever the input's size: one chunk of text (plus the longest
//! line), the parser's buffers, and whatever the sink holds between commits.
//!
//! What a failure leaves: each commit is atomic (the sink's promise), and nothing is
//! committed after an error. So when the import stops midway (a bad line without
//! [`Import::skip_bad_lines`], a point the sink refuses, an I/O error), every batch
//! committed before stays written and the points added since the last commit are
//! dropped with the sink's batch. The error names the line. To resume, re-run the
//! import: points already written are written again with the same values (the engine
//! keeps the last write of a series and timestamp), so a re-run converges.

mod batch;
mod lines;

use std::io::BufRead;

use crate::error::Result;
#[cfg(feature = "csv")]
use crate::ts::ingest::csv::{CsvFormat, CsvReader};
use crate::ts::ingest::error::ParseError;
use crate::ts::ingest::point::PointSink;
use crate::ts::ingest::precision::Precision;
use crate::ts::ingest::summary::LineSummary;
use batch::Batch;

/// What the input is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportFormat {
    /// InfluxDB line protocol with timestamps in this unit.
    LineProtocol(Precision),
    /// CSV in this layout.
    #[cfg(feature = "csv")]
    Csv(CsvFormat),
}

/// A streaming import, configured with a builder, run with [`Import::run`].
///
/// ```
/// use tidestore::Point;
/// use tidestore::ts::Precision;
/// use tidestore::ts::ingest::Import;
///
/// let text = "cpu,host=a usage=1 10\ncpu,host=a usage=2 20\nnot a line\n";
/// let mut sink: Vec<Point> = Vec::new();
/// let summary = Import::line_protocol(Precision::Seconds)
///     .commit_every(1_000)
///     .skip_bad_lines(10)
///     .run(text.as_bytes(), &mut sink)?;
/// assert_eq!((summary.points, summary.bad_lines), (2, 1));
/// assert_eq!(summary.errors[0].line, 3);
/// # Ok::<(), tidestore::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    format: ImportFormat,
    commit_every: usize,
    keep_errors: Option<usize>,
    chunk_bytes: usize,
    max_line_bytes: usize,
    now: Option<i64>,
}

/// How far an import has got; handed to the progress callback.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of input read.
    pub bytes_read: u64,
    /// Lines (rows) with data taken so far.
    pub lines: u64,
    /// Points handed to the sink so far.
    pub points: u64,
    /// Points committed so far (written for good).
    pub points_committed: u64,
    /// Bad lines skipped so far.
    pub bad_lines: u64,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Lines of line protocol (rows of CSV) that were written.
    pub lines: usize,
    /// Points written.
    pub points: usize,
    /// String fields, counted and not stored.
    pub skipped_string_fields: usize,
    /// Lines (rows) skipped as malformed; always 0 unless [`Import::skip_bad_lines`].
    pub bad_lines: usize,
    /// The first bad lines' errors, in input order (at most the number asked for).
    pub errors: Vec<ParseError>,
    /// Commits made.
    pub commits: usize,
    /// Bytes of input read.
    pub bytes_read: u64,
}

impl ImportSummary {
    /// The counts as a [`LineSummary`].
    pub fn line_summary(&self) -> LineSummary {
        LineSummary {
            points: self.points,
            lines: self.lines,
            skipped_string_fields: self.skipped_string_fields,
        }
    }
}

impl Import {
    /// An import of `format` with the defaults: commit every 100 000 points, stop at
    /// the first bad line, read 1 MiB at a time, lines of at most 16 MiB.
    pub fn new(format: ImportFormat) -> Import {
        Import {
            format,
            commit_every: 100_000,
            keep_errors: None,
            chunk_bytes: 1 << 20,
            max_line_bytes: 16 << 20,
            now: None,
        }
    }

    /// An import of line protocol whose timestamps are in `precision`.
    pub fn line_protocol(precision: Precision) -> Import {
        Import::new(ImportFormat::LineProtocol(precision))
    }

    /// An import of CSV in `format`.
    #[cfg(feature = "csv")]
    pub fn csv(format: CsvFormat) -> Import {
        Import::new(ImportFormat::Csv(format))
    }

    /// Commits once at least `points` points are pending, after the line that
    /// reached the count (a line's points go into one batch). At least 1;
    /// `usize::MAX` commits only at the end, making the whole import one atomic
    /// write. Default: 100 000.
    pub fn commit_every(mut self, points: usize) -> Import {
        self.commit_every = points.max(1);
        self
    }

    /// Skips malformed lines (rows) instead of stopping, keeping the first
    /// `keep_errors` errors in the summary. A line is checked whole, the engine's key
    /// rules included, before any of its points is handed out, so a skipped line
    /// writes nothing. Default: stop at the first bad line.
    pub fn skip_bad_lines(mut self, keep_errors: usize) -> Import {
        self.keep_errors = Some(keep_errors);
        self
    }

    /// How many bytes to read and parse at a time (at least 1; progress is reported
    /// after each chunk). Default: 1 MiB.
    pub fn chunk_bytes(mut self, bytes: usize) -> Import {
        self.chunk_bytes = bytes.max(1);
        self
    }

    /// The longest line of line protocol accepted, in bytes; a longer one is a bad
    /// line. Bounds the memory an input without line ends can take. Default: 16 MiB.
    pub fn max_line_bytes(mut self, bytes: usize) -> Import {
        self.max_line_bytes = bytes.max(1);
        self
    }

    /// Gives lines without a timestamp this time (in the input's precision).
    /// Default: the clock's time, read again after each commit (each batch is like
    /// one InfluxDB write request).
    pub fn now(mut self, now: i64) -> Import {
        self.now = Some(now);
        self
    }

    /// The format being imported.
    pub fn format(&self) -> &ImportFormat {
        &self.format
    }

    /// Runs the import from `reader` into `sink`. See [`Import::run_with_progress`].
    pub fn run<R: BufRead, S: PointSink + ?Sized>(
        &self,
        reader: R,
        sink: &mut S,
    ) -> Result<ImportSummary> {
        self.run_with_progress(reader, sink, |_| {})
    }

    /// Runs the import from `reader` into `sink`, calling `progress` after each chunk
    /// of input and after the last commit. Returns what was written; an error stops
    /// the import as the module documentation says (earlier commits stay, the current
    /// batch is dropped).
    pub fn run_with_progress<R: BufRead, S: PointSink + ?Sized>(
        &self,
        reader: R,
        sink: &mut S,
        progress: impl FnMut(&Progress),
    ) -> Result<ImportSummary> {
        let mut batch = Batch::new(sink, self.commit_every, self.keep_errors, progress);
        match &self.format {
            ImportFormat::LineProtocol(precision) => {
                lines::run(self, *precision, reader, &mut batch)?;
            }
            #[cfg(feature = "csv")]
            ImportFormat::Csv(format) => {
                let mut csv = CsvReader::with_capacity(format, reader, self.chunk_bytes)?;
                let mut reported = 0;
                loop {
                    match csv.next_row()? {
                        None => break,
                        Some(Ok(row)) => batch.take(row)?,
                        Some(Err(e)) => batch.bad(e)?,
                    }
                    batch.commit_if_due()?;
                    let read = csv.bytes_read();
                    batch.set_bytes_read(read);
                    if read - reported >= self.chunk_bytes as u64 {
                        batch.report();
                        reported = read;
                    }
                }
                batch.set_bytes_read(csv.bytes_read());
            }
        }
        batch.finish()
    }
}
