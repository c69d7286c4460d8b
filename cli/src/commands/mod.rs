//! The commands: each takes its parsed arguments and the output stream, and returns
//! a [`CliResult`]. Arguments are checked before any database is opened, so a usage
//! error never touches a directory.

mod import;
mod inspect;
mod kv;
mod maintenance;
mod query;
mod series;

use std::io::Write;

use crate::args::{Cli, Command, GenerateCommand, Range};
use crate::error::{CliError, CliResult};
use crate::filter::Filter;
use crate::generate;
use crate::progress::{Progress, Total};
use crate::selector;
use crate::time::{Now, parse_duration, parse_time};

/// Runs the command of `cli`, writing its output to `out`.
pub fn run(cli: Cli, out: &mut impl Write) -> CliResult {
    let quiet = cli.quiet;
    match cli.command {
        Command::Query(a) => query::query(&a, out),
        Command::Last(a) => query::last(&a, out),
        Command::Plot(a) => query::plot(&a, quiet),
        Command::Series(a) => series::series(&a, out),
        Command::Compact(a) => maintenance::compact(&a.db.dir, quiet),
        Command::Delete(a) => maintenance::delete(&a, out),
        Command::Kv(a) => kv::run(&a, out),
        Command::Generate(GenerateCommand::Tsbs(a)) => generate_tsbs(&a, quiet, out),
        Command::Import(a) => import::import(&a, quiet),
        Command::Stats(a) => inspect::stats(&a, out),
        Command::Dump(a) => inspect::dump(&a, out),
        Command::Verify(a) => inspect::verify(&a, out),
    }
}

/// Parses a selector argument and compiles it; errors are usage errors naming the
/// column.
pub fn filter_of(text: &str) -> CliResult<(selector::Selector, Filter)> {
    let sel = selector::parse(text)
        .map_err(|e| CliError::usage(format!("bad selector {text:?}: {e}")))?;
    let filter = Filter::new(&sel).map_err(|e| e.context(format!("bad selector {text:?}")))?;
    Ok((sel, filter))
}

/// The inclusive range `[start, end]` of `--from`/`--to` (the whole of `i64` when
/// absent).
pub fn time_range(range: &Range, now: Now) -> CliResult<(i64, i64)> {
    let start = match &range.from {
        Some(s) => parse_time(s, range.unit, now).map_err(|e| e.context("--from"))?,
        None => i64::MIN,
    };
    let end = match &range.to {
        Some(s) => parse_time(s, range.unit, now).map_err(|e| e.context("--to"))?,
        None => i64::MAX,
    };
    if start > end {
        return Err(CliError::usage(format!(
            "--from ({start}) is after --to ({end})"
        )));
    }
    Ok((start, end))
}

fn generate_tsbs(a: &crate::args::TsbsArgs, quiet: bool, out: &mut impl Write) -> CliResult {
    let now = Now::system();
    let start = parse_time(&a.start, Some(a.precision), now).map_err(|e| e.context("--start"))?;
    let interval =
        parse_duration(&a.interval, Some(a.precision)).map_err(|e| e.context("--interval"))?;
    let span = i128::from(a.hours) * 3_600 * 1_000_000_000;
    let step = i128::from(interval) * a.precision.nanos();
    let steps = u64::try_from(span / step).unwrap_or(u64::MAX);
    let spec = generate::Spec {
        hosts: a.hosts,
        steps,
        start,
        interval,
        seed: a.seed,
        integers: a.integers,
    };
    spec.check()?;
    let total = spec.lines().saturating_mul(generate::FIELDS.len() as u64);
    let mut progress = Progress::new(Total::Points(total), quiet || !a.progress);
    generate::write_tsbs(&spec, out, &mut progress)?;
    let summary = progress.finish();
    if a.progress && !quiet {
        let mut err = std::io::stderr();
        let _ = writeln!(err, "generated {summary}");
    }
    Ok(())
}
