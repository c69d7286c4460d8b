//! The TSBS devops query set (`tsbs queries`): each query answered by `Db::query` /
//! `Db::last` and by the loop over `Db::scan` a user would write without them, over
//! the two-decimal data set (`hosts * 10` series, one point every 10 s for `hours`
//! hours), ingested through series handles, flushed, compacted and reopened.
//!
//! Each query runs `--runs` times with fresh random parameters (hosts, start times),
//! and the median is reported; everything the user builds (the `Query`, its
//! matchers) is built inside the timed part. The first run of each query checks that
//! both ways give the same answer.

use super::*;
use tidestore::ts::{Aggregation, Group, Matcher, Query, QueryColumns, ValueFilter};

const HOUR: i64 = 3600;
const MINUTE: i64 = 60;
const DAY: i64 = 86_400;

/// One query of the set: its TSBS name and target, and its two timings.
struct Row {
    name: &'static str,
    target: &'static str,
    query: Duration,
    scan: Duration,
}

fn median(mut t: Vec<Duration>) -> Duration {
    t.sort_unstable();
    t.get(t.len() / 2).copied().unwrap_or_default()
}

/// Times `runs` runs of `f(run)`: the median.
fn timed(runs: usize, mut f: impl FnMut(usize) -> Result<()>) -> Result<Duration> {
    let mut t = Vec::with_capacity(runs);
    for i in 0..runs {
        let start = Instant::now();
        f(i)?;
        t.push(start.elapsed());
    }
    Ok(median(t))
}

/// `(tags, timestamps, values)` per series or group, sorted: the common shape of both
/// answers, for the check.
type Answer = Vec<(Vec<(String, String)>, Vec<i64>, Vec<f64>)>;

fn of_groups(groups: Vec<Group>) -> Answer {
    groups
        .into_iter()
        .map(|g| (g.tags, g.timestamps, g.values))
        .collect()
}

fn of_columns(c: QueryColumns) -> Answer {
    of_groups(c.into_groups())
}

/// [`assert_close`] of two answers whose groups may come in different orders.
fn assert_close_sorted(name: &str, (mut got, mut want): (Answer, Answer)) {
    got.sort_by(|x, y| x.0.cmp(&y.0));
    want.sort_by(|x, y| x.0.cmp(&y.0));
    assert_close(name, &got, &want);
}

fn assert_close(name: &str, got: &Answer, want: &Answer) {
    let same = got.len() == want.len()
        && got.iter().zip(want).all(|(g, w)| {
            g.0 == w.0
                && g.1 == w.1
                && g.2.len() == w.2.len()
                && g.2
                    .iter()
                    .zip(&w.2)
                    .all(|(a, b)| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
        });
    assert!(same, "{name}: query and scan loop disagree");
}

/// The scan loop of a bucketed aggregation: one `(tags, bucket starts, values)` per
/// series of `metric` matching `tags` over `[start, end]`, folding each bucket with
/// `fold` from `init` and finishing it with `finish(acc, count)`. A bucket may span
/// two views of a series: its state carries over.
#[allow(clippy::too_many_arguments)]
fn scan_buckets(
    db: &Db,
    metric: &str,
    tags: &[(&str, &str)],
    start: i64,
    end: i64,
    width: i64,
    init: f64,
    fold: fn(f64, f64) -> f64,
    finish: fn(f64, u64) -> f64,
    out: &mut Answer,
) -> Result<()> {
    let mut scan = db.scan(metric, start, end, tags)?;
    // The open bucket of the series being read: (start, state, points).
    let mut open: Option<(i64, f64, u64)> = None;
    let close = |open: &mut Option<(i64, f64, u64)>, out: &mut Answer| {
        if let (Some((b, acc, n)), Some(last)) = (open.take(), out.last_mut()) {
            last.1.push(b);
            last.2.push(finish(acc, n));
        }
    };
    while let Some(v) = scan.next()? {
        if !v.continues_series() {
            close(&mut open, out);
            out.push((v.key().tags().to_vec(), Vec::new(), Vec::new()));
        }
        for (&t, &x) in v.timestamps().iter().zip(v.values()) {
            let b = t.div_euclid(width) * width;
            if open.is_some_and(|o| o.0 != b) {
                close(&mut open, out);
            }
            let o = open.get_or_insert((b, init, 0));
            o.1 = fold(o.1, x);
            o.2 += 1;
        }
    }
    close(&mut open, out);
    Ok(())
}

fn max_fold(a: f64, x: f64) -> f64 {
    a.max(x)
}
fn sum_fold(a: f64, x: f64) -> f64 {
    a + x
}
fn identity(a: f64, _: u64) -> f64 {
    a
}
fn mean(a: f64, n: u64) -> f64 {
    a / n as f64
}

pub fn run(c: &Config, root: &Path, runs: usize) -> Result<()> {
    let steps = (c.hours * HOUR / STEP) as usize;
    eprintln!(
        "[queries] generating {} series x {steps} points",
        c.hosts * 10
    );
    let data = Dataset::generate(c.hosts, steps, Flavour::Dec, c.seed);
    let dir = root.join("queries");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let db = Db::open_with(&dir, options())?;
    ingest_handles(&db, &data)?;
    db.compact()?;
    db.close()?;
    let db = Db::open_with(&dir, options())?;
    eprintln!("[queries] {} segments; running", db.stats().segments);

    let metrics: Vec<String> = FIELDS.iter().map(|f| format!("cpu_{f}")).collect();
    let hosts: Vec<String> = (0..c.hosts).map(|h| format!("host_{h}")).collect();
    let mut rng = Rng(c.seed ^ 0x5EED);
    // Random parameters, drawn before timing: a start hour with `span` hours of data
    // after it, `n` distinct hosts.
    let mut start_hour = |span: i64| {
        let hours = (c.hours - span).max(0) as usize + 1;
        START + rng.below(hours) as i64 * HOUR
    };
    let pick_hosts = |n: usize, rng: &mut Rng| -> Vec<String> {
        let mut v: Vec<usize> = Vec::with_capacity(n);
        while v.len() < n.min(hosts.len()) {
            let h = rng.below(hosts.len());
            if !v.contains(&h) {
                v.push(h);
            }
        }
        v.sort_unstable();
        v.into_iter().map(|h| hosts[h].clone()).collect()
    };
    let mut rng2 = Rng(c.seed ^ 0xC0FFEE);
    let starts = |span: i64, f: &mut dyn FnMut(i64) -> i64| -> Vec<i64> {
        (0..runs).map(|_| f(span)).collect()
    };
    let mut rows = Vec::new();

    // lastpoint: the newest point of every series.
    {
        let mut check = (Answer::new(), Answer::new());
        let query = timed(runs, |i| {
            let mut all = Vec::new();
            for m in &metrics {
                all.extend(db.last(m, &[])?);
            }
            if i == 0 {
                check.0 = of_groups(all);
            }
            Ok(())
        })?;
        let scan = timed(runs.min(20), |i| {
            let mut out = Answer::new();
            for m in &metrics {
                let mut scan = db.scan(m, i64::MIN, i64::MAX, &[])?;
                while let Some(v) = scan.next()? {
                    let (Some(&t), Some(&x)) = (v.timestamps().last(), v.values().last()) else {
                        continue;
                    };
                    if v.continues_series()
                        && let Some(last) = out.last_mut()
                    {
                        *last = (last.0.clone(), vec![t], vec![x]);
                    } else {
                        out.push((v.key().tags().to_vec(), vec![t], vec![x]));
                    }
                }
            }
            if i == 0 {
                check.1 = out;
            }
            Ok(())
        })?;
        assert_close("lastpoint", &check.0, &check.1);
        rows.push(Row {
            name: "lastpoint",
            target: "<= 100 µs",
            query,
            scan,
        });
        // The same answer as columns (`Db::last_points`): no tag copied per series.
        let mut columns = Answer::new();
        let query = timed(runs, |i| {
            let mut all = Vec::new();
            for m in &metrics {
                all.push(db.last_points(m, &[])?);
            }
            if i == 0 {
                columns = all
                    .iter()
                    .flat_map(|p| p.iter())
                    .map(|(k, t, v)| (k.tags().to_vec(), vec![t], vec![v]))
                    .collect();
            }
            Ok(())
        })?;
        assert_close("lastpoint, columns", &columns, &check.1);
        rows.push(Row {
            name: "lastpoint, columns",
            target: "<= 100 µs",
            query,
            scan,
        });
    }

    // single-groupby-M-H-1 and cpu-max-all-8: max per `width` over `span` hours of
    // `m` metrics and `h` hosts.
    for (name, target, m, h, span, width) in [
        ("single-groupby-1-1-1", "<= 3 µs", 1, 1, 1, MINUTE),
        ("single-groupby-5-8-1", "<= 100 µs", 5, 8, 1, MINUTE),
        ("cpu-max-all-8", "<= 300 µs", 10, 8, 8, HOUR),
    ] {
        let columns_name = match name {
            "single-groupby-1-1-1" => "single-groupby-1-1-1, columns",
            "single-groupby-5-8-1" => "single-groupby-5-8-1, columns",
            _ => "cpu-max-all-8, columns",
        };
        let params: Vec<(i64, Vec<String>)> = starts(span, &mut start_hour)
            .into_iter()
            .map(|s| (s, pick_hosts(h, &mut rng2)))
            .collect();
        let mut check = (Answer::new(), Answer::new());
        let max_query = |metric: &str, (s, hs): &(i64, Vec<String>)| {
            let refs: Vec<&str> = hs.iter().map(String::as_str).collect();
            let matcher = if refs.len() == 1 {
                Matcher::eq("hostname", refs[0])
            } else {
                Matcher::one_of("hostname", &refs)
            };
            Query::new(metric, Aggregation::Max)
                .filter(matcher)
                .range(*s, s + span * HOUR - 1)
                .every(width)
        };
        let query = timed(runs, |i| {
            let mut all = Vec::new();
            for metric in &metrics[..m] {
                all.extend(db.query(&max_query(metric, &params[i]))?);
            }
            if i == 0 {
                check.0 = of_groups(all);
            }
            Ok(())
        })?;
        let mut in_columns = Answer::new();
        let query_columns = timed(runs, |i| {
            let mut all = Vec::new();
            for metric in &metrics[..m] {
                all.push(db.query_columns(&max_query(metric, &params[i]))?);
            }
            if i == 0 {
                in_columns = all.into_iter().flat_map(of_columns).collect();
            }
            Ok(())
        })?;
        let scan = timed(runs, |i| {
            let (s, hs) = &params[i];
            let mut out = Answer::new();
            for metric in &metrics[..m] {
                for host in hs {
                    scan_buckets(
                        &db,
                        metric,
                        &[("hostname", host)],
                        *s,
                        s + span * HOUR - 1,
                        width,
                        f64::NEG_INFINITY,
                        max_fold,
                        identity,
                        &mut out,
                    )?;
                }
            }
            if i == 0 {
                check.1 = out;
            }
            Ok(())
        })?;
        // The query groups by series key (all tags); the scan loop by host within a
        // metric: the same order here, as hostname sorts first among equal metrics.
        assert_close_sorted(columns_name, (in_columns, check.1.clone()));
        assert_close_sorted(name, check);
        rows.push(Row {
            name,
            target,
            query,
            scan,
        });
        rows.push(Row {
            name: columns_name,
            target,
            query: query_columns,
            scan,
        });
    }

    // double-groupby-1 / -all: mean per hour per host over 12 h, of 1 or 10 metrics.
    for (name, target, m) in [
        ("double-groupby-1", "<= 1 ms", 1),
        ("double-groupby-all", "<= 6 ms", 10),
    ] {
        let params = starts(12, &mut start_hour);
        let small = if m > 1 { runs.min(50) } else { runs.min(100) };
        let mut check = (Answer::new(), Answer::new());
        let query = timed(small, |i| {
            let s = params[i];
            let mut all = Vec::new();
            for metric in &metrics[..m] {
                let q = Query::new(metric, Aggregation::Mean)
                    .range(s, s + 12 * HOUR - 1)
                    .every(HOUR)
                    .group_by(&["hostname"]);
                all.extend(db.query(&q)?);
            }
            if i == 0 {
                check.0 = of_groups(all);
            }
            Ok(())
        })?;
        let scan = timed(small, |i| {
            let s = params[i];
            let mut out = Answer::new();
            for metric in &metrics[..m] {
                let mut per = Answer::new();
                scan_buckets(
                    &db,
                    metric,
                    &[],
                    s,
                    s + 12 * HOUR - 1,
                    HOUR,
                    0.0,
                    sum_fold,
                    mean,
                    &mut per,
                )?;
                // one group per host: the host's tag alone
                for (tags, ts, vs) in per {
                    let host = tags.into_iter().filter(|(k, _)| k == "hostname").collect();
                    out.push((host, ts, vs));
                }
            }
            if i == 0 {
                check.1 = out;
            }
            Ok(())
        })?;
        assert_close_sorted(name, check);
        rows.push(Row {
            name,
            target,
            query,
            scan,
        });
    }

    // high-cpu-all: the points of usage_user > 90 over 12 h, every host, as columns.
    {
        let params = starts(12, &mut start_hour);
        let small = runs.min(100);
        let mut check = (0usize, 0usize);
        let query = timed(small, |i| {
            let s = params[i];
            let q = Query::raw("cpu_usage_user")
                .range(s, s + 12 * HOUR - 1)
                .where_value(ValueFilter::gt(90.0));
            let groups = db.query(&q)?;
            if i == 0 {
                check.0 = groups.iter().map(|g| g.values.len()).sum();
            }
            Ok(())
        })?;
        let scan = timed(small, |i| {
            let s = params[i];
            let mut scan = db
                .scan("cpu_usage_user", s, s + 12 * HOUR - 1, &[])?
                .where_value(ValueFilter::gt(90.0))?;
            let mut out: Vec<(Vec<i64>, Vec<f64>)> = Vec::new();
            while let Some(v) = scan.next()? {
                out.push((v.timestamps().to_vec(), v.values().to_vec()));
            }
            if i == 0 {
                check.1 = out.iter().map(|o| o.0.len()).sum();
            }
            Ok(())
        })?;
        assert_eq!(
            check.0, check.1,
            "high-cpu-all: query and scan loop disagree"
        );
        rows.push(Row {
            name: "high-cpu-all",
            target: "<= 1 ms",
            query,
            scan,
        });
    }

    // whole-day rollup: the sum per day of every series over the first day.
    {
        let (s, e) = (
            START.div_euclid(DAY) * DAY,
            START.div_euclid(DAY) * DAY + DAY - 1,
        );
        let small = runs.min(50);
        let mut check = (Answer::new(), Answer::new());
        let query = timed(small, |i| {
            let mut all = Vec::new();
            for metric in &metrics {
                let q = Query::new(metric, Aggregation::Sum).range(s, e).every(DAY);
                all.extend(db.query(&q)?);
            }
            if i == 0 {
                check.0 = of_groups(all);
            }
            Ok(())
        })?;
        let mut in_columns = Answer::new();
        let query_columns = timed(small, |i| {
            let mut all = Vec::new();
            for metric in &metrics {
                let q = Query::new(metric, Aggregation::Sum).range(s, e).every(DAY);
                all.push(db.query_columns(&q)?);
            }
            if i == 0 {
                in_columns = all.into_iter().flat_map(of_columns).collect();
            }
            Ok(())
        })?;
        let scan = timed(small, |i| {
            let mut out = Answer::new();
            for metric in &metrics {
                scan_buckets(
                    &db,
                    metric,
                    &[],
                    s,
                    e,
                    DAY,
                    0.0,
                    sum_fold,
                    identity,
                    &mut out,
                )?;
            }
            if i == 0 {
                check.1 = out;
            }
            Ok(())
        })?;
        assert_close("whole-day rollup", &check.0, &check.1);
        assert_close("whole-day rollup, columns", &in_columns, &check.1);
        rows.push(Row {
            name: "whole-day rollup",
            target: "<= 1 ms",
            query,
            scan,
        });
        rows.push(Row {
            name: "whole-day rollup, columns",
            target: "<= 1 ms",
            query: query_columns,
            scan,
        });
    }

    // point get: one series by its full tag set, one timestamp.
    {
        let params: Vec<(usize, i64)> = (0..runs)
            .map(|_| {
                let s = rng2.below(data.series.len());
                (s, Dataset::timestamp(rng2.below(steps)))
            })
            .collect();
        let query = timed(runs, |i| {
            let (s, t) = params[i];
            let series = &data.series[s];
            let q = series.tags.iter().fold(
                Query::new(&series.metric, Aggregation::Last).range(t, t),
                |q, (k, v)| q.filter(Matcher::eq(k, v)),
            );
            let groups = db.query(&q)?;
            let want = series.values[((t - START) / STEP) as usize];
            assert_eq!(
                groups.first().map(|g| g.values.as_slice()),
                Some(&[want][..])
            );
            Ok(())
        })?;
        let scan = timed(runs, |i| {
            let (s, t) = params[i];
            let series = &data.series[s];
            let mut scan = db.scan(&series.metric, t, t, &series.tag_refs())?;
            let got = scan.next()?.and_then(|v| v.values().first().copied());
            assert_eq!(got, Some(series.values[((t - START) / STEP) as usize]));
            Ok(())
        })?;
        rows.push(Row {
            name: "point get",
            target: "<= 1.2 µs",
            query,
            scan,
        });
        // The same get through `Db::value_at`: the tags as the caller holds them.
        let query = timed(runs, |i| {
            let (s, t) = params[i];
            let series = &data.series[s];
            let got = db.value_at(&series.metric, &series.tag_refs(), t)?;
            assert_eq!(got, Some(series.values[((t - START) / STEP) as usize]));
            Ok(())
        })?;
        rows.push(Row {
            name: "point get, value_at",
            target: "<= 1.2 µs",
            query,
            scan,
        });
    }
    db.close()?;
    std::fs::remove_dir_all(&dir)?;

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!();
    println!("machine: {}, {cores} cores", cpu_model());
    println!(
        "data: TSBS devops cpu-only, two decimals, {} hosts x 10 metrics, {} h at 10 s \
         ({} points), compacted; median of up to {runs} runs",
        c.hosts,
        c.hours,
        data.points()
    );
    println!();
    println!(
        "| {:<29} | {:>10} | {:>12} | {:>12} | {:>7} |",
        "query", "target", "answer", "scan loop", "gain"
    );
    println!(
        "|{}|{}|{}|{}|{}|",
        "-".repeat(31),
        "-".repeat(12),
        "-".repeat(14),
        "-".repeat(14),
        "-".repeat(9)
    );
    for r in rows {
        println!(
            "| {:<29} | {:>10} | {:>12} | {:>12} | {:>6.1}x |",
            r.name,
            r.target,
            micros(r.query),
            micros(r.scan),
            r.scan.as_secs_f64() / r.query.as_secs_f64().max(1e-12)
        );
    }
    Ok(())
}
