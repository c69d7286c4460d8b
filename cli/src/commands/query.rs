//! `query`, `last` and `plot`: points of the series a selector matches, read through
//! the engine's scan and filtered by [`crate::filter::Filter`].

use std::io::Write;

use crate::args::{Aggregation, LastArgs, PlotArgs, QueryArgs};
use crate::commands::{filter_of, time_range};
use crate::error::{CliError, CliResult};
use crate::open::open_db;
use crate::output::{PointWriter, RunLabel};
use crate::plot::{self, Chart, Line};
use crate::time::{Now, parse_duration};

/// Refuses aggregation options: the engine's aggregation is not in this build yet.
/// Checks `--every` first, so a bad duration is still reported as such.
fn no_aggregation(a: &Aggregation, unit: Option<crate::time::Unit>) -> CliResult {
    if let Some(every) = &a.every {
        parse_duration(every, unit).map_err(|e| e.context("--every"))?;
    }
    if a.agg.is_some() {
        return Err(CliError::runtime(
            "--agg is not available in this build yet: it needs the engine's \
             aggregation queries; without --agg, raw points are printed",
        ));
    }
    Ok(())
}

/// `query`: every point in range of every matching series.
pub fn query(a: &QueryArgs, out: &mut impl Write) -> CliResult {
    let (_, filter) = filter_of(&a.selector)?;
    let (start, end) = time_range(&a.range, Now::system())?;
    no_aggregation(&a.aggregation, a.range.unit)?;
    let db = open_db(&a.db.dir)?;
    let mut w = PointWriter::new(out, a.format, a.range.unit)?;
    let mut label: Option<RunLabel> = None;
    filter.scan(&db, start, end, |view| {
        if !view.continues_series() || label.is_none() {
            label = Some(RunLabel::of_series(view.key()));
        }
        match &label {
            Some(l) => w.write_run(l, view.continues_series(), view.timestamps(), view.values()),
            None => Ok(()),
        }
    })?;
    w.finish()?;
    db.close()?;
    Ok(())
}

/// `last`: the newest point in range of every matching series.
pub fn last(a: &LastArgs, out: &mut impl Write) -> CliResult {
    let (_, filter) = filter_of(&a.selector)?;
    let (start, end) = time_range(&a.range, Now::system())?;
    let db = open_db(&a.db.dir)?;
    // The views of a series come in time order: the last view's last point wins.
    let mut newest: Vec<(RunLabel, i64, f64)> = Vec::new();
    filter.scan(&db, start, end, |view| {
        if let (Some(&t), Some(&v)) = (view.timestamps().last(), view.values().last()) {
            match newest.last_mut() {
                Some(entry) if view.continues_series() => (entry.1, entry.2) = (t, v),
                _ => newest.push((RunLabel::of_series(view.key()), t, v)),
            }
        }
        Ok(())
    })?;
    db.close()?;
    let mut w = PointWriter::new(out, a.format, a.range.unit)?;
    for (label, t, v) in &newest {
        w.write_run(label, false, &[*t], &[*v])?;
    }
    w.finish()?;
    Ok(())
}

/// `plot`: a line per matching series, to a PNG or SVG file.
pub fn plot(a: &PlotArgs, quiet: bool) -> CliResult {
    let (sel, filter) = filter_of(&a.selector)?;
    let (start, end) = time_range(&a.range, Now::system())?;
    no_aggregation(&a.aggregation, a.range.unit)?;
    plot::kind_of(&a.output)?;
    let db = open_db(&a.db.dir)?;
    let mut lines: Vec<Line> = Vec::new();
    filter.scan(&db, start, end, |view| {
        match lines.last_mut() {
            Some(line) if view.continues_series() => {
                line.timestamps.extend_from_slice(view.timestamps());
                line.values.extend_from_slice(view.values());
            }
            _ => lines.push(Line {
                label: view.key().to_string(),
                timestamps: view.timestamps().to_vec(),
                values: view.values().to_vec(),
            }),
        }
        Ok(())
    })?;
    db.close()?;
    if lines.is_empty() {
        return Err(CliError::runtime(format!(
            "no points match {} in the range: nothing to draw",
            a.selector
        )));
    }
    let points: usize = lines.iter().map(|l| l.timestamps.len()).sum();
    let chart = Chart {
        title: a.title.clone().unwrap_or_else(|| sel.to_string()),
        width: a.width,
        height: a.height,
        unit: a.range.unit,
        lines,
    };
    plot::render_file(&chart, &a.output)?;
    if !quiet {
        let _ = writeln!(
            std::io::stderr(),
            "wrote {} ({} series, {points} points)",
            a.output.display(),
            chart.lines.len()
        );
    }
    Ok(())
}
