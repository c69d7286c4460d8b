//! The import's bookkeeping between the parsers and the sink: the pending batch and
//! its commits, the counts, bad-line skipping, and progress reports.

use crate::error::Result;
#[cfg(feature = "csv")]
use crate::ts::ingest::csv::CsvRow;
use crate::ts::ingest::error::ParseError;
use crate::ts::ingest::import::{ImportSummary, Progress};
use crate::ts::ingest::line_protocol::ParsedLine;
use crate::ts::ingest::point::{PointRef, PointSink};

/// A line or row read: what the batch needs of it.
pub(super) trait Record {
    /// Checks the whole record against the engine's key rules.
    fn validate(&mut self) -> Result<(), ParseError>;
    /// String fields it had (not stored).
    fn string_fields(&self) -> usize;
    /// Hands out its points; returns how many.
    fn for_each_point(&mut self, each: impl FnMut(PointRef<'_>) -> Result<()>) -> Result<usize>;
}

impl Record for ParsedLine<'_> {
    fn validate(&mut self) -> Result<(), ParseError> {
        ParsedLine::validate(self)
    }
    fn string_fields(&self) -> usize {
        self.string_field_count()
    }
    fn for_each_point(&mut self, each: impl FnMut(PointRef<'_>) -> Result<()>) -> Result<usize> {
        ParsedLine::for_each_point(self, each)
    }
}

#[cfg(feature = "csv")]
impl Record for CsvRow<'_> {
    fn validate(&mut self) -> Result<(), ParseError> {
        CsvRow::validate(self)
    }
    fn string_fields(&self) -> usize {
        0
    }
    fn for_each_point(&mut self, each: impl FnMut(PointRef<'_>) -> Result<()>) -> Result<usize> {
        CsvRow::for_each_point(self, each)
    }
}

pub(super) struct Batch<'s, S: PointSink + ?Sized, P: FnMut(&Progress)> {
    sink: &'s mut S,
    commit_every: usize,
    keep_errors: Option<usize>,
    pending: usize,
    summary: ImportSummary,
    committed: usize,
    progress: P,
}

impl<'s, S: PointSink + ?Sized, P: FnMut(&Progress)> Batch<'s, S, P> {
    pub(super) fn new(
        sink: &'s mut S,
        commit_every: usize,
        keep_errors: Option<usize>,
        progress: P,
    ) -> Self {
        Batch {
            sink,
            commit_every,
            keep_errors,
            pending: 0,
            summary: ImportSummary::default(),
            committed: 0,
            progress,
        }
    }

    /// Hands a record's points to the sink. When skipping bad lines, a record that
    /// breaks the key rules is skipped whole instead.
    pub(super) fn take(&mut self, mut record: impl Record) -> Result<()> {
        if self.keep_errors.is_some()
            && let Err(e) = record.validate()
        {
            return self.bad(e);
        }
        let sink = &mut *self.sink;
        let n = record.for_each_point(|p| sink.add(p))?;
        self.summary.lines += 1;
        self.summary.skipped_string_fields += record.string_fields();
        self.summary.points += n;
        self.pending += n;
        Ok(())
    }

    /// A malformed record: the import's error, or counted and skipped.
    pub(super) fn bad(&mut self, e: ParseError) -> Result<()> {
        let Some(keep) = self.keep_errors else {
            return Err(e.into());
        };
        self.summary.bad_lines += 1;
        if self.summary.errors.len() < keep {
            self.summary.errors.push(e);
        }
        Ok(())
    }

    /// Commits when enough points are pending; true when it did.
    pub(super) fn commit_if_due(&mut self) -> Result<bool> {
        if self.pending < self.commit_every {
            return Ok(false);
        }
        self.commit()?;
        Ok(true)
    }

    fn commit(&mut self) -> Result<()> {
        self.sink.commit()?;
        self.summary.commits += 1;
        self.committed += self.pending;
        self.pending = 0;
        Ok(())
    }

    pub(super) fn set_bytes_read(&mut self, bytes: u64) {
        self.summary.bytes_read = bytes;
    }

    pub(super) fn add_bytes_read(&mut self, bytes: usize) {
        self.summary.bytes_read += bytes as u64;
    }

    /// Calls the progress callback.
    pub(super) fn report(&mut self) {
        let s = &self.summary;
        let progress = Progress {
            bytes_read: s.bytes_read,
            lines: s.lines as u64,
            points: s.points as u64,
            points_committed: self.committed as u64,
            bad_lines: s.bad_lines as u64,
        };
        (self.progress)(&progress);
    }

    /// Commits what is pending, reports, and returns the summary.
    pub(super) fn finish(mut self) -> Result<ImportSummary> {
        if self.pending > 0 {
            self.commit()?;
        }
        self.report();
        Ok(self.summary)
    }
}
