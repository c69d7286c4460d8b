//! `tsbs ingest`: the ingest paths side by side on TSBS devops data in arrival order,
//! and 1 M series (issue 11).
//!
//! ```text
//! cargo run --release --example tsbs -- ingest [--hosts 100] [--steps 2000] [--seed 42]
//!                                              [--series 1000000] [--dir PATH]
//!                                              [--paths writer,lines,handles,batch,open]
//! ```
//!
//! `--paths` runs only the named paths (all of them by default; `open` is the 1 M
//! series part), e.g. to profile one of them.
//!
//! Data: `hosts` hosts x the ten `cpu` fields = `hosts * 10` series, ten tags each,
//! two-decimal random walks; every series at t, then t + 10 s, for `steps` steps. Each
//! path writes the same points into a fresh database with the default `Options` (WAL
//! on, default `SyncMode`), 10 000 points per commit, and everything the caller must
//! do is inside the timed part:
//! - `Writer::add` from borrowed `&str` metric and tags (the tag array of `&str` pairs
//!   is built per host and step), a commit every 10 000 points;
//! - `write_lines` of TSBS's influx format (one line per host and step, ten integer
//!   fields): parse + write, 1 000 lines (10 000 points) per call; the text is the
//!   input, made before the clock starts;
//! - `append` with series handles (made inside the timed part), 10 points per call;
//! - `insert_batch`, building the 10 000 `Point`s of each call inside the timed part.
//!
//! Then `series` series of one point each are written, the database is closed, and a
//! child process (this example again, `ingest-open DIR`) opens it: its open time and
//! the growth of its resident set over the open, per series. `ingest-make DIR N`
//! writes such a directory of `N` series and closes it, to profile an open.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use tidestore::ts::Precision;
use tidestore::ts::ingest::{FieldValue, format_line};
use tidestore::{Db, Point, Result};

use super::{BATCH, Dataset, FIELDS, Flavour, START, STEP, cpu_model};

struct Args {
    hosts: usize,
    steps: usize,
    seed: u64,
    series: usize,
    dir: Option<std::path::PathBuf>,
    /// The paths to run (`--paths`); all when empty.
    paths: Vec<String>,
}

impl Args {
    fn runs(&self, path: &str) -> bool {
        self.paths.is_empty() || self.paths.iter().any(|p| p == path)
    }
}

const PATHS: [&str; 5] = ["writer", "lines", "handles", "batch", "open"];

fn parse(mut args: impl Iterator<Item = String>) -> std::result::Result<Args, String> {
    let mut a = Args {
        hosts: 100,
        steps: 2_000,
        seed: 42,
        series: 1_000_000,
        dir: None,
        paths: Vec::new(),
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let num = |s: String| s.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--hosts" => a.hosts = num(value()?)?,
            "--steps" => a.steps = num(value()?)?,
            "--seed" => a.seed = num(value()?)? as u64,
            "--series" => a.series = num(value()?)?,
            "--dir" => a.dir = Some(value()?.into()),
            "--paths" => {
                a.paths = value()?.split(',').map(str::to_owned).collect();
                if let Some(bad) = a.paths.iter().find(|p| !PATHS.contains(&p.as_str())) {
                    return Err(format!(
                        "unknown path {bad}; the paths: {}",
                        PATHS.join(",")
                    ));
                }
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if a.hosts == 0 || a.steps == 0 || a.series == 0 {
        return Err("--hosts, --steps and --series must be positive".into());
    }
    Ok(a)
}

/// Runs `tsbs ingest ARGS`; the process exit code.
pub fn main(args: impl Iterator<Item = String>) -> i32 {
    let a = match parse(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let tmp;
    let root = match &a.dir {
        Some(d) => d.clone(),
        None => match tempfile::tempdir() {
            Ok(t) => {
                tmp = t;
                tmp.path().to_owned()
            }
            Err(e) => {
                eprintln!("cannot make a temporary directory: {e}");
                return 1;
            }
        },
    };
    match run(&a, &root) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ingest benchmark failed: {e}");
            1
        }
    }
}

/// `tsbs ingest-open DIR`: opens the database in DIR and prints
/// `open_ns rss_before rss_after series`.
pub fn open_child(mut args: impl Iterator<Item = String>) -> i32 {
    let Some(dir) = args.next() else {
        eprintln!("ingest-open needs a directory");
        return 2;
    };
    let before = rss_bytes();
    let t = Instant::now();
    let db = match Db::open(&dir) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("open failed: {e}");
            return 1;
        }
    };
    let open = t.elapsed();
    let after = rss_bytes();
    let series = db.list_keys().map(|k| k.len()).unwrap_or(0);
    println!("{} {before} {after} {series}", open.as_nanos());
    0
}

/// The CPU time this thread has run, from `/proc/thread-self/schedstat` (zero where
/// that file is missing).
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// The resident set of this process, from `/proc/self/status`.
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn run(a: &Args, root: &Path) -> Result<()> {
    let data = Dataset::generate(a.hosts, a.steps, Flavour::Dec, a.seed);
    let points = data.points();
    println!(
        "tsbs ingest: {} series ({} hosts x 10 fields, 10 tags), {} steps, {} points per path",
        data.series.len(),
        a.hosts,
        a.steps,
        points
    );
    println!(
        "machine: {}, {} cores",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let text = if a.runs("lines") {
        influx_text(&data, a.hosts)
    } else {
        Vec::new()
    };
    let mut rows: Vec<(&str, usize, Duration, Option<f64>, Duration)> = Vec::new();
    let mut wal_per_point = None;
    let fresh = |name: &str| -> Result<Db> {
        let dir = root.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        Db::open(&dir)
    };
    for round in 0..2 {
        // the first round warms the allocator and the page cache; the second counts
        let count = round == 1;
        if a.runs("writer") {
            let db = fresh("writer")?;
            let cpu = thread_cpu();
            let d = writer_add(&db, &data, a.hosts)?;
            let cpu = thread_cpu().saturating_sub(cpu);
            check(&db, &data)?;
            // what the WAL took, when no flush removed any of it
            if db.stats().flushes == 0 {
                wal_per_point = Some(wal_bytes(&root.join("writer")) as f64 / points as f64);
            }
            if count {
                rows.push(("Writer::add from borrowed &str", points, d, Some(8e6), cpu));
            }
        }
        if a.runs("lines") {
            let db = fresh("lines")?;
            let cpu = thread_cpu();
            let (d, written) = lines(&db, &text)?;
            let cpu = thread_cpu().saturating_sub(cpu);
            if written != points {
                return Err(tidestore::Error::invalid(format!(
                    "write_lines wrote {written} points, not {points}"
                )));
            }
            if count {
                rows.push((
                    "write_lines, influx format (10 fields/line)",
                    points,
                    d,
                    Some(4e6),
                    cpu,
                ));
            }
        }
        if a.runs("handles") {
            let db = fresh("handles")?;
            let cpu = thread_cpu();
            let d = handles(&db, &data)?;
            let cpu = thread_cpu().saturating_sub(cpu);
            check(&db, &data)?;
            if count {
                rows.push((
                    "append with handles, 10 points/call",
                    points,
                    d,
                    Some(10e6),
                    cpu,
                ));
            }
        }
        if a.runs("batch") {
            let db = fresh("batch")?;
            let cpu = thread_cpu();
            let d = insert_batch(&db, &data)?;
            let cpu = thread_cpu().saturating_sub(cpu);
            check(&db, &data)?;
            if count {
                rows.push((
                    "insert_batch, Points built in the timed part",
                    points,
                    d,
                    None,
                    cpu,
                ));
            }
        }
    }
    println!();
    // The rate over the calling thread's CPU time as well: on a shared machine it
    // moves less than the wall-clock rate (the target is the wall-clock one).
    println!("| path | points/s | target | met | points/s of the caller's CPU time |");
    println!("|---|---:|---:|---|---:|");
    for (name, n, d, target, cpu) in &rows {
        let rate = *n as f64 / d.as_secs_f64().max(1e-9);
        let (t, met) = match target {
            Some(t) => (
                format!(">= {:.0} M/s", t / 1e6),
                if rate >= *t { "yes" } else { "no" },
            ),
            None => ("report".to_owned(), "-"),
        };
        let cpu_rate = if cpu.is_zero() {
            "-".to_owned()
        } else {
            format!("{:.2} M/s", *n as f64 / cpu.as_secs_f64() / 1e6)
        };
        println!(
            "| {name} | {:.2} M/s | {t} | {met} | {cpu_rate} |",
            rate / 1e6
        );
    }
    if let Some(b) = wal_per_point {
        println!("\nWAL bytes per point (Writer::add, 10 000 points per commit): {b:.2}");
    }
    if a.runs("open") {
        high_cardinality(a.series, root)?;
    }
    Ok(())
}

/// The bytes of the WAL segments in database directory `dir`.
fn wal_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "wal"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// The ten fields of host `h` at `step`, and their tags, as borrowed strings.
fn tag_refs(data: &Dataset, h: usize) -> [(&str, &str); 10] {
    let tags = &data.series[h * FIELDS.len()].tags;
    std::array::from_fn(|i| {
        tags.get(i)
            .map_or(("", ""), |(k, v)| (k.as_str(), v.as_str()))
    })
}

fn writer_add(db: &Db, data: &Dataset, hosts: usize) -> Result<Duration> {
    let t = Instant::now();
    let mut w = db.writer();
    for step in 0..data.steps {
        let ts = START + step as i64 * STEP;
        for h in 0..hosts {
            let tags = tag_refs(data, h);
            for f in 0..FIELDS.len() {
                let s = &data.series[h * FIELDS.len() + f];
                w.add(&s.metric, &tags, ts, s.values[step])?;
                if w.len() == BATCH {
                    w.commit()?;
                }
            }
        }
    }
    w.commit()?;
    Ok(t.elapsed())
}

/// TSBS's influx format: `cpu,<10 tags> <10 integer fields> <ns timestamp>`, one line
/// per host and step, in arrival order; chunks of 1 000 lines.
fn influx_text(data: &Dataset, hosts: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut chunk = String::new();
    let mut lines = 0;
    for step in 0..data.steps {
        let ts = (START + step as i64 * STEP) * 1_000_000_000;
        for h in 0..hosts {
            let tags = tag_refs(data, h);
            let fields: Vec<(&str, FieldValue<'_>)> = FIELDS
                .iter()
                .enumerate()
                .map(|(f, name)| {
                    let v = data.series[h * FIELDS.len() + f].values[step];
                    (*name, FieldValue::Integer(v.round() as i64))
                })
                .collect();
            if format_line(&mut chunk, "cpu", &tags, &fields, Some(ts)).is_err() {
                let _ = writeln!(chunk, "# unformattable line");
            }
            lines += 1;
            if lines % (BATCH / FIELDS.len()) == 0 {
                chunks.push(std::mem::take(&mut chunk));
            }
        }
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    chunks
}

fn lines(db: &Db, text: &[String]) -> Result<(Duration, usize)> {
    let t = Instant::now();
    let mut points = 0;
    for chunk in text {
        points += db.write_lines(chunk, Precision::Nanoseconds)?.points;
    }
    Ok((t.elapsed(), points))
}

fn handles(db: &Db, data: &Dataset) -> Result<Duration> {
    const PER_CALL: usize = 10;
    let t = Instant::now();
    let handles = data
        .series
        .iter()
        .map(|s| db.series(&s.metric, &s.tag_refs()))
        .collect::<Result<Vec<_>>>()?;
    let mut ts = [0i64; PER_CALL];
    for from in (0..data.steps).step_by(PER_CALL) {
        let to = (from + PER_CALL).min(data.steps);
        for (i, slot) in ts.iter_mut().enumerate() {
            *slot = START + (from + i) as i64 * STEP;
        }
        for (h, s) in handles.iter().zip(&data.series) {
            db.append(h, &ts[..to - from], &s.values[from..to])?;
        }
    }
    Ok(t.elapsed())
}

fn insert_batch(db: &Db, data: &Dataset) -> Result<Duration> {
    let n = data.series.len();
    let total = data.points();
    let t = Instant::now();
    let mut at = 0;
    while at < total {
        let len = BATCH.min(total - at);
        let batch: Vec<Point> = (at..at + len)
            .map(|i| {
                let s = &data.series[i % n];
                let step = i / n;
                Point::new(
                    &s.metric,
                    START + step as i64 * STEP,
                    s.values[step],
                    &s.tag_refs(),
                )
            })
            .collect();
        db.insert_batch(&batch)?;
        at += len;
    }
    Ok(t.elapsed())
}

/// Checks a few series of a path's database against the data set.
fn check(db: &Db, data: &Dataset) -> Result<()> {
    for s in data.series.iter().step_by(97) {
        let got = db.query_by_tags(&s.metric, &s.tag_refs())?;
        let ok = got.len() == data.steps && got.iter().zip(&s.values).all(|(p, v)| p.value == *v);
        if !ok {
            return Err(tidestore::Error::invalid(format!(
                "series {} reads back wrong",
                s.metric
            )));
        }
    }
    Ok(())
}

/// Has a child process open `dir` and prints its open time and resident set.
fn open_in_child(dir: &Path, n: usize, what: &str) -> Result<()> {
    let exe = std::env::current_exe()?;
    let out = std::process::Command::new(exe)
        .arg("ingest-open")
        .arg(dir)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<u64> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let [open_ns, before, after, series] = nums[..] else {
        return Err(tidestore::Error::invalid(format!(
            "the open child said {text:?} {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    };
    let per = after.saturating_sub(before) as f64 / n as f64;
    println!(
        "{what}: {series} series; RSS {:.1} MB before the open, {:.1} MB after",
        before as f64 / 1e6,
        after as f64 / 1e6,
    );
    println!(
        "| {what}: RSS growth per series | {per:.0} B | <= 400 B | {} |",
        if per <= 400.0 { "yes" } else { "no" }
    );
    println!(
        "| {what}: open time | {:.3} s | <= 1 s | {} |",
        open_ns as f64 / 1e9,
        if open_ns <= 1_000_000_000 {
            "yes"
        } else {
            "no"
        }
    );
    Ok(())
}

/// Writes `n` series of one point each, closes, and has a child process open them.
fn high_cardinality(n: usize, root: &Path) -> Result<()> {
    let dir = root.join("cardinality");
    let _ = std::fs::remove_dir_all(&dir);
    let t = Instant::now();
    write_cardinality(&dir, n)?;
    let wrote = t.elapsed();
    println!();
    println!(
        "{n} series x 1 point: written with a Writer in {:.2} s",
        wrote.as_secs_f64()
    );
    // first as closed (the head comes back from the WAL), then flushed to a segment
    open_in_child(&dir, n, "reopen replaying the WAL")?;
    {
        let db = Db::open(&dir)?;
        db.flush()?;
        db.close()?;
    }
    open_in_child(&dir, n, "reopen after a flush")?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// `tsbs ingest-make DIR N`: writes the `N` series of the cardinality run into DIR and
/// closes it without a flush (to profile an open that replays the WAL).
pub fn make_child(mut args: impl Iterator<Item = String>) -> i32 {
    let (Some(dir), Some(n)) = (args.next(), args.next().and_then(|n| n.parse().ok())) else {
        eprintln!("ingest-make needs a directory and a number of series");
        return 2;
    };
    match write_cardinality(Path::new(&dir), n) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ingest-make failed: {e}");
            1
        }
    }
}

/// Writes `n` series of one point each into a new database in `dir` and closes it.
fn write_cardinality(dir: &Path, n: usize) -> Result<()> {
    {
        let db = Db::open(dir)?;
        let mut w = db.writer();
        let mut host = String::new();
        let mut rack = String::new();
        for i in 0..n {
            host.clear();
            rack.clear();
            let _ = write!(host, "host_{i}");
            let _ = write!(rack, "{}", i % 1000);
            w.add(
                "cpu_usage_user",
                &[
                    ("hostname", &host),
                    ("rack", &rack),
                    ("region", "eu-west-1"),
                ],
                START,
                i as f64,
            )?;
            if w.len() == 100_000 {
                w.commit()?;
            }
        }
        w.commit()?;
        db.close()?;
    }
    Ok(())
}
