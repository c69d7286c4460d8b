//! `import`: line protocol or CSV files (or stdin) into a time-series database,
//! through the engine's streaming import (`Db::import_with_progress`), with a progress
//! bar, bad lines reported or fatal, and a summary.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use tidestore::Db;
use tidestore::ts::Precision;
use tidestore::ts::ingest::{CsvFormat, Import, ImportFormat, ImportSummary, Progress as Step};

use crate::args::{CsvArgs, CsvLayout, ImportArgs, InputFormat};
use crate::error::{CliError, CliResult};
use crate::open::{DirKind, kind_of};
use crate::progress::{Progress, Total, group_digits};
use crate::time::Unit;

/// How many bad lines of one file are reported one by one with `--skip-invalid`.
const REPORTED_ERRORS: usize = 1_000;

/// One input: a file or stdin, and its format.
struct Input {
    path: PathBuf,
    format: InputFormat,
}

impl Input {
    fn is_stdin(&self) -> bool {
        self.path.as_os_str() == "-"
    }

    fn name(&self) -> String {
        if self.is_stdin() {
            "<stdin>".to_owned()
        } else {
            self.path.display().to_string()
        }
    }
}

/// The engine's precision for a CLI unit.
fn precision_of(unit: Unit) -> Precision {
    match unit {
        Unit::S => Precision::Seconds,
        Unit::Ms => Precision::Milliseconds,
        Unit::Us => Precision::Microseconds,
        Unit::Ns => Precision::Nanoseconds,
    }
}

/// The CSV layout the flags describe.
fn csv_format(c: &CsvArgs, precision: Precision) -> CliResult<CsvFormat> {
    let mut f = match c.csv_layout {
        CsvLayout::Long => CsvFormat::long(),
        CsvLayout::Wide => CsvFormat::wide(),
    };
    let long_only =
        |flag: &str| CliError::usage(format!("{flag} applies to the long CSV layout only"));
    f = f.timestamp_column(&c.timestamp_column).precision(precision);
    if let Some(m) = &c.metric_column {
        if c.csv_layout != CsvLayout::Long {
            return Err(long_only("--metric-column"));
        }
        f = f.metric_column(m);
    }
    if let Some(v) = &c.value_column {
        if c.csv_layout != CsvLayout::Long {
            return Err(long_only("--value-column"));
        }
        f = f.value_column(v);
    }
    if let Some(m) = &c.measurement {
        if c.csv_layout != CsvLayout::Wide {
            return Err(CliError::usage(
                "--measurement applies to the wide CSV layout only",
            ));
        }
        f = f.measurement(m);
    }
    if let Some(tags) = &c.tag_columns {
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        f = f.tag_columns(&tags);
    }
    if !c.ignore_columns.is_empty() {
        let ignore: Vec<&str> = c.ignore_columns.iter().map(String::as_str).collect();
        f = f.ignore_columns(&ignore);
    }
    let delimiter = match c.delimiter.as_str() {
        "tab" | "\\t" | "\t" => b'\t',
        d if d.len() == 1 && d.is_ascii() => d.as_bytes()[0],
        d => {
            return Err(CliError::usage(format!(
                "--delimiter {d:?}: one ASCII character (or 'tab')"
            )));
        }
    };
    Ok(f.delimiter(delimiter))
}

/// The inputs with their formats; files must exist (checked before the database is
/// opened).
fn inputs(a: &ImportArgs) -> CliResult<Vec<Input>> {
    if a.files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(CliError::usage("stdin ('-') can be read only once"));
    }
    a.files
        .iter()
        .map(|path| {
            let stdin = path.as_os_str() == "-";
            if !stdin && !path.is_file() {
                return Err(CliError::runtime(format!(
                    "{}: no such file",
                    path.display()
                )));
            }
            let by_extension = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
            let format = a.format.unwrap_or(if by_extension {
                InputFormat::Csv
            } else {
                InputFormat::Lp
            });
            Ok(Input {
                path: path.clone(),
                format,
            })
        })
        .collect()
}

/// Opens (or creates) the database for writing. A directory that exists must be
/// empty or hold a database; a key-value store is refused by the library.
fn open_for_import(dir: &Path) -> CliResult<Db> {
    if dir.exists() && kind_of(dir) == DirKind::Unknown {
        let empty = std::fs::read_dir(dir)
            .map_err(|e| CliError::runtime(format!("{}: {e}", dir.display())))?
            .next()
            .is_none();
        if !empty && !dir.join("CURRENT").exists() {
            return Err(CliError::runtime(format!(
                "{}: not a tidestore database and not empty (import creates a database \
                 only in a new or empty directory)",
                dir.display()
            )));
        }
    }
    Ok(Db::open_with(dir, tidestore::ts::Options::default())?)
}

/// Totals over every input.
#[derive(Default)]
struct Totals {
    lines: usize,
    points: usize,
    skipped_string_fields: usize,
    bad_lines: usize,
}

impl Totals {
    fn add(&mut self, s: &ImportSummary) {
        self.lines += s.lines;
        self.points += s.points;
        self.skipped_string_fields += s.skipped_string_fields;
        self.bad_lines += s.bad_lines;
    }
}

/// `import`.
pub fn import(a: &ImportArgs, quiet: bool) -> CliResult {
    let inputs = inputs(a)?;
    let precision = precision_of(a.precision);
    let csv = csv_format(&a.csv, precision)?;
    let commit_every = usize::try_from(a.commit_every).unwrap_or(usize::MAX);
    let mut total_bytes = Some(0u64);
    for i in &inputs {
        total_bytes = match (total_bytes, i.is_stdin()) {
            (Some(n), false) => std::fs::metadata(&i.path)
                .ok()
                .map(|m| n.saturating_add(m.len())),
            _ => None,
        };
    }
    let db = open_for_import(&a.db.dir)?;
    let mut progress = Progress::new(total_bytes.map_or(Total::Unknown, Total::Bytes), quiet);
    let start = Instant::now();
    let mut totals = Totals::default();
    let mut stderr = std::io::stderr();
    for input in &inputs {
        let format = match input.format {
            InputFormat::Lp => ImportFormat::LineProtocol(precision),
            InputFormat::Csv => ImportFormat::Csv(csv.clone()),
        };
        let mut import = Import::new(format).commit_every(commit_every);
        if a.skip_invalid {
            import = import.skip_bad_lines(REPORTED_ERRORS);
        }
        // The callback's counts are per input and cumulative: hand the bar deltas.
        let (mut bytes, mut points, mut committed) = (0u64, 0u64, 0u64);
        let mut step = |s: &Step| {
            progress.add(
                s.bytes_read.saturating_sub(bytes),
                s.points.saturating_sub(points),
            );
            (bytes, points, committed) = (s.bytes_read, s.points, s.points_committed);
        };
        let result = if input.is_stdin() {
            let stdin = std::io::stdin();
            db.import_with_progress(stdin.lock(), &import, &mut step)
        } else {
            let file = File::open(&input.path)
                .map_err(|e| CliError::runtime(format!("{}: {e}", input.path.display())))?;
            db.import_with_progress(BufReader::with_capacity(1 << 20, file), &import, &mut step)
        };
        let summary = match result {
            Ok(s) => s,
            Err(e) => {
                progress.finish();
                let kept = if committed > 0 {
                    format!(
                        " ({} points of it committed before stay written)",
                        group_digits(committed)
                    )
                } else {
                    " (nothing of it was written)".to_owned()
                };
                let _ = db.close();
                let what = match e {
                    tidestore::Error::InvalidArgument(m) => m,
                    other => other.to_string(),
                };
                return Err(CliError::runtime(format!("{}: {what}{kept}", input.name())));
            }
        };
        for e in &summary.errors {
            progress.suspend(|| {
                let _ = writeln!(
                    stderr,
                    "{}: line {}, column {}: {} (skipped)",
                    input.name(),
                    e.line,
                    e.column,
                    e.message
                );
            });
        }
        if summary.bad_lines > summary.errors.len() {
            progress.suspend(|| {
                let _ = writeln!(
                    stderr,
                    "{}: {} more bad lines skipped",
                    input.name(),
                    summary.bad_lines - summary.errors.len()
                );
            });
        }
        totals.add(&summary);
    }
    progress.finish();
    db.close()?;
    if !quiet {
        let elapsed = start.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            totals.points as f64 / elapsed
        } else {
            0.0
        };
        let _ = writeln!(
            stderr,
            "imported {} lines, {} points, {} string fields skipped, {} bad lines in {elapsed:.2} s ({} points/s)",
            group_digits(totals.lines as u64),
            group_digits(totals.points as u64),
            group_digits(totals.skipped_string_fields as u64),
            group_digits(totals.bad_lines as u64),
            group_digits(rate.round() as u64),
        );
    }
    Ok(())
}
