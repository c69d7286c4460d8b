//! The ingest calls of [`Db`]: [`Db::writer`], [`Db::write_lines`] and
//! [`Db::import`]. They only join the text layer of this module to the engine's
//! [`Writer`]; the semantics live there and in [`Import`].

use std::io::BufRead;

use crate::error::Result;
use crate::ts::db::Db;
use crate::ts::ingest::import::{Import, ImportSummary, Progress};
use crate::ts::ingest::line_protocol::LineParser;
use crate::ts::ingest::precision::Precision;
use crate::ts::ingest::summary::LineSummary;
use crate::ts::ingest::writer::Writer;

impl Db {
    /// An empty write batch that takes borrowed names; see [`Writer`].
    pub fn writer(&self) -> Writer<'_> {
        Writer::new(self)
    }

    /// Writes InfluxDB line protocol (see `docs/ingest.md`), atomically: a malformed
    /// line ([`crate::Error::InvalidArgument`] naming its line, its column and what was
    /// expected) or a refused point writes nothing of the call. Each numeric or
    /// boolean field is one point; timestamps are stored as written, in the unit
    /// `precision` says, and lines without one get the current time in that unit.
    ///
    /// One call is one write, so it holds at most 4 Mi points; use [`Db::import`] for
    /// larger inputs.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// use tidestore::Db;
    /// use tidestore::ts::Precision;
    /// let db = Db::open(dir.path())?;
    /// let summary = db.write_lines(
    ///     "cpu,hostname=host_1 usage_user=58i,usage_idle=24.5 1704067200000\n",
    ///     Precision::Milliseconds,
    /// )?;
    /// assert_eq!((summary.points, summary.lines), (2, 1));
    /// assert_eq!(db.query_metric("cpu_usage_idle")?[0].value, 24.5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_lines(&self, text: &str, precision: Precision) -> Result<LineSummary> {
        let mut w = self.writer();
        let parsed = LineParser::new(precision)
            .parse_str(text, |p| w.add(p.metric, p.tags, p.timestamp, p.value));
        let written = parsed.and_then(|summary| w.commit().map(|()| summary));
        w.recycle();
        written
    }

    /// Streams line protocol or CSV from `reader` into the database as `import`
    /// says, committing every N points; see [`Import`] for what a failure midway
    /// leaves. [`Db::import_with_progress`] reports progress too.
    pub fn import<R: BufRead>(&self, reader: R, import: &Import) -> Result<ImportSummary> {
        let mut w = self.writer();
        let summary = import.run(reader, &mut w);
        w.recycle();
        summary
    }

    /// [`Db::import`], calling `progress` after each chunk of input read and after
    /// the last commit.
    pub fn import_with_progress<R: BufRead>(
        &self,
        reader: R,
        import: &Import,
        progress: impl FnMut(&Progress),
    ) -> Result<ImportSummary> {
        let mut w = self.writer();
        let summary = import.run_with_progress(reader, &mut w, progress);
        w.recycle();
        summary
    }
}
