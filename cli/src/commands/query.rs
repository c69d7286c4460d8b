//! `query`, `last` and `plot`: points of the series a selector matches. Raw points are
//! read through the engine's scan and filtered by [`crate::filter::Filter`];
//! aggregations (`--agg`) go through `Db::query`, and `last` without a range through
//! `Db::last`.

use std::io::Write;

use tidestore::Db;
use tidestore::ts::{Group, Query, ValueFilter};

use crate::args::{Aggregation, LastArgs, PlotArgs, QueryArgs};
use crate::commands::{filter_of, time_range};
use crate::error::{CliError, CliResult};
use crate::filter::Filter;
use crate::matchers::{self, EngineSelector};
use crate::open::open_db;
use crate::output::{PointWriter, RunLabel};
use crate::plot::{self, Chart, Line};
use crate::selector::Selector;
use crate::time::{Now, Unit, parse_duration};
use crate::value_filter;

/// An aggregated query, checked before the database is opened.
struct AggQuery {
    sel: EngineSelector,
    query: Query,
}

/// Builds the engine query of `--agg` (with `--every`, `--group-by`, the range and
/// `--where`); `None` without `--agg`. Every mistake is a usage error.
fn agg_query(
    a: &Aggregation,
    sel: &Selector,
    text: &str,
    (start, end): (i64, i64),
    unit: Option<Unit>,
    value_where: Option<ValueFilter>,
) -> CliResult<Option<AggQuery>> {
    let every = match &a.every {
        Some(e) => Some(parse_duration(e, unit).map_err(|e| e.context("--every"))?),
        None => None,
    };
    let Some(agg) = a.agg else {
        return Ok(None);
    };
    let es = matchers::require_metric(sel, text, "--agg")?;
    let mut q = es
        .matchers
        .iter()
        .cloned()
        .fold(Query::new(&es.metric, agg), Query::filter)
        .range(start, end);
    if let Some(w) = every {
        q = q.every(w);
    }
    if let Some(keys) = &a.group_by {
        let keys: Vec<&str> = keys
            .iter()
            .map(|k| k.trim())
            .filter(|k| !k.is_empty())
            .collect();
        q = q.group_by(&keys);
    }
    if let Some(f) = value_where {
        q = q.where_value(f);
    }
    q.validate()
        .map_err(|e| CliError::usage(format!("bad query: {e}")))?;
    Ok(Some(AggQuery { sel: es, query: q }))
}

/// Runs an aggregated query: its groups, none when a `__name__` matcher rules the
/// metric out.
fn run_agg(db: &Db, q: &AggQuery) -> CliResult<Vec<Group>> {
    if !q.sel.metric_matches {
        return Ok(Vec::new());
    }
    Ok(db.query(&q.query)?)
}

/// Calls `f` with each matching series' points in range that pass `keep`, in runs:
/// the label of the series and whether the run continues the previous one.
fn scan_points(
    db: &Db,
    filter: &Filter,
    (start, end): (i64, i64),
    keep: Option<ValueFilter>,
    mut f: impl FnMut(&RunLabel, bool, &[i64], &[f64]) -> CliResult,
) -> CliResult {
    let mut label: Option<RunLabel> = None;
    filter.scan(db, (start, end), keep, |view| {
        if !view.continues_series() || label.is_none() {
            label = Some(RunLabel::of_series(view.key()));
        }
        let Some(l) = &label else { return Ok(()) };
        f(l, view.continues_series(), view.timestamps(), view.values())
    })
}

/// `query`: every point in range of every matching series, or with `--agg` one run
/// per group.
pub fn query(a: &QueryArgs, out: &mut impl Write) -> CliResult {
    let (sel, filter) = filter_of(&a.selector)?;
    let range = time_range(&a.range, Now::system())?;
    let keep = value_filter::combine(&a.value_where.value_where);
    let agg = agg_query(&a.aggregation, &sel, &a.selector, range, a.range.unit, keep)?;
    let db = open_db(&a.db.dir)?;
    let mut w = PointWriter::new(out, a.format, a.range.unit)?;
    if agg.is_some() && a.aggregation.every.is_none() && a.range.from.is_none() {
        // One window from the beginning of time: its start prints empty.
        w = w.open_start();
    }
    match &agg {
        Some(q) => {
            for g in run_agg(&db, q)? {
                let label = RunLabel::of_group(&q.sel.metric, g.tags);
                w.write_run(&label, false, &g.timestamps, &g.values)?;
            }
        }
        None => scan_points(&db, &filter, range, keep, |l, continues, ts, vs| {
            w.write_run(l, continues, ts, vs)
        })?,
    }
    w.finish()?;
    db.close()?;
    Ok(())
}

/// `last`: the newest point (in range) of every matching series. Without a range and
/// with a metric in the selector the engine answers (`Db::last`, from its cache and
/// chunk indexes); otherwise the series are scanned.
pub fn last(a: &LastArgs, out: &mut impl Write) -> CliResult {
    let (sel, filter) = filter_of(&a.selector)?;
    let (start, end) = time_range(&a.range, Now::system())?;
    let engine = if a.range.from.is_none() && a.range.to.is_none() {
        matchers::to_engine(&sel)?
    } else {
        None
    };
    let db = open_db(&a.db.dir)?;
    let mut newest: Vec<(RunLabel, i64, f64)> = Vec::new();
    match &engine {
        Some(es) if !es.metric_matches => {}
        Some(es) => {
            for g in db.last(&es.metric, &es.matchers)? {
                if let (Some(&t), Some(&v)) = (g.timestamps.last(), g.values.last()) {
                    newest.push((RunLabel::of_group(&es.metric, g.tags), t, v));
                }
            }
        }
        None => {
            // The views of a series come in time order: the last view's last point wins.
            filter.scan(&db, (start, end), None, |view| {
                if let (Some(&t), Some(&v)) = (view.timestamps().last(), view.values().last()) {
                    match newest.last_mut() {
                        Some(entry) if view.continues_series() => (entry.1, entry.2) = (t, v),
                        _ => newest.push((RunLabel::of_series(view.key()), t, v)),
                    }
                }
                Ok(())
            })?;
        }
    }
    db.close()?;
    let mut w = PointWriter::new(out, a.format, a.range.unit)?;
    for (label, t, v) in &newest {
        w.write_run(label, false, &[*t], &[*v])?;
    }
    w.finish()?;
    Ok(())
}

/// `plot`: a line per matching series (or per group with `--agg`), to a PNG or SVG
/// file.
pub fn plot(a: &PlotArgs, quiet: bool) -> CliResult {
    let (sel, filter) = filter_of(&a.selector)?;
    let range = time_range(&a.range, Now::system())?;
    let keep = value_filter::combine(&a.value_where.value_where);
    let agg = agg_query(&a.aggregation, &sel, &a.selector, range, a.range.unit, keep)?;
    if agg.is_some() && a.aggregation.every.is_none() {
        return Err(CliError::usage(
            "plot --agg needs --every: one window per group would draw single points",
        ));
    }
    plot::kind_of(&a.output)?;
    let db = open_db(&a.db.dir)?;
    let mut lines: Vec<Line> = Vec::new();
    match &agg {
        Some(q) => {
            for g in run_agg(&db, q)? {
                if g.timestamps.is_empty() {
                    continue;
                }
                lines.push(Line {
                    label: RunLabel::of_group(&q.sel.metric, g.tags).display,
                    timestamps: g.timestamps,
                    values: g.values,
                });
            }
        }
        None => scan_points(&db, &filter, range, keep, |l, continues, ts, vs| {
            match lines.last_mut() {
                Some(line) if continues => {
                    line.timestamps.extend_from_slice(ts);
                    line.values.extend_from_slice(vs);
                }
                _ => lines.push(Line {
                    label: l.display.clone(),
                    timestamps: ts.to_vec(),
                    values: vs.to_vec(),
                }),
            }
            Ok(())
        })?,
    }
    db.close()?;
    lines.retain(|l| !l.timestamps.is_empty());
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
        let what = if agg.is_some() { "groups" } else { "series" };
        let _ = writeln!(
            std::io::stderr(),
            "wrote {} ({} {what}, {points} points)",
            a.output.display(),
            chart.lines.len()
        );
    }
    Ok(())
}
