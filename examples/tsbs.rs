//! TSBS-style benchmark of the time-series engine: the "devops, cpu-only" data set.
//!
//! ```text
//! cargo run --release --example tsbs -- [--hosts 100] [--hours 24] [--flavour int|dec|both]
//!                                       [--queries 20000] [--seed 42] [--dir PATH]
//! cargo run --release --example tsbs -- queries [--hosts 100] [--hours 24] [--runs 200]
//! cargo run --release --example tsbs -- aged [--days 116] [--hosts 100] [--seed 42]
//!                                       [--repeat 5] [--ranges 1,10,40,all] [--batch N]
//!                                       [--dir target/tsbs-data]
//! cargo run --release --example tsbs -- ingest [--hosts 100] [--steps 2000]
//!                                       [--series 1000000]   (see examples/tsbs_ingest)
//! ```
//!
//! Data (as TSBS generates it): `hosts` hosts, each with the ten `cpu` fields as metrics
//! `cpu_<field>` and ten tags fixed per host (hostname, region, datacenter, rack, os,
//! arch, team, service, service_version, service_environment); one point every 10 s for
//! `hours` hours. Each value is a random walk starting uniform in [0, 100] with N(0, 1)
//! steps, clamped to [0, 100], stored rounded to integers (`int`) or to two decimals
//! (`dec`). The generator is a fixed-seed splitmix64 + Box-Muller, so every run writes
//! the same bytes.
//!
//! Figures, per flavour (see `docs/benchmarks.md` for what each one means):
//! - ingest through `insert_batch` (batches of 10 000 points in time order) and through
//!   series handles (`Db::series` + `Db::append`, one call per series per 10 000-point
//!   block), WAL on with `SyncMode::Interval(100 ms)`: points/s of the write calls;
//! - bytes on disk per point once flushed and compacted (every file of the directory);
//! - the latency of a 1-hour range query of one series (360 points), as a columnar
//!   `scan` and as `query_range` (which builds one `Point` per row): median and p99;
//! - a full scan summing every point, on one thread (`Scan::next`) and on the rayon
//!   pool (`Scan::fold`): points/s.
//!
//! `queries` runs the TSBS devops query set instead (see `tsbs/queries.rs`):
//! `Db::query` and `Db::last` beside the equivalent loops over `Db::scan`, median of
//! `--runs` runs (default 200).
//!
//! `aged` runs the aged-data scan benchmark instead (see the `aged` module): scans of
//! the last day, 10 days, 40 days and everything of `days` days of data compacted into
//! one segment per day, on one thread and with `Scan::fold`, best and median of
//! `--repeat` runs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tidestore::SyncMode;
use tidestore::ts::Options;
use tidestore::{Db, Point, Result};

const FIELDS: [&str; 10] = [
    "usage_user",
    "usage_system",
    "usage_idle",
    "usage_nice",
    "usage_iowait",
    "usage_irq",
    "usage_softirq",
    "usage_steal",
    "usage_guest",
    "usage_guest_nice",
];
const REGIONS: [&str; 9] = [
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
];
const OSES: [&str; 3] = ["Ubuntu16.10", "Ubuntu16.04LTS", "Ubuntu15.10"];
const ARCHES: [&str; 2] = ["x64", "x86"];
const TEAMS: [&str; 4] = ["SF", "NYC", "LON", "CHI"];
const ENVIRONMENTS: [&str; 3] = ["production", "staging", "test"];
/// 2016-01-01T00:00:00Z, TSBS's default start, in Unix seconds.
const START: i64 = 1_451_606_400;
/// Seconds between two points of a series.
const STEP: i64 = 10;
/// Points per write call.
const BATCH: usize = 10_000;

/// splitmix64: a small, fast, well-mixed generator; plenty for synthetic data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
    /// Standard normal (Box-Muller; the second value of each pair is dropped).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln is finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Flavour {
    /// Values rounded to integers.
    Int,
    /// Values rounded to two decimals.
    Dec,
}

impl Flavour {
    fn name(self) -> &'static str {
        match self {
            Flavour::Int => "integers",
            Flavour::Dec => "two decimals",
        }
    }
    fn round(self, v: f64) -> f64 {
        match self {
            Flavour::Int => v.round(),
            Flavour::Dec => (v * 100.0).round() / 100.0,
        }
    }
}

struct Config {
    hosts: usize,
    hours: i64,
    flavours: Vec<Flavour>,
    queries: usize,
    seed: u64,
    dir: Option<PathBuf>,
    /// Run the aged-data scan benchmark instead of the standard one.
    aged: bool,
    /// Days of data of the aged data set.
    days: i64,
    /// Timed runs of each aged scan.
    repeat: usize,
    /// The aged scans: the last N days (`None`: everything).
    ranges: Vec<Option<i64>>,
    /// `Scan::batch_points` of the aged scans (`None`: the default).
    batch: Option<usize>,
    /// Run the devops query set instead, this many runs per query.
    queries_runs: Option<usize>,
}

fn parse_args() -> std::result::Result<Config, String> {
    let mut c = Config {
        hosts: 100,
        hours: 24,
        flavours: vec![Flavour::Int, Flavour::Dec],
        queries: 20_000,
        seed: 42,
        dir: None,
        aged: false,
        days: 116,
        repeat: 5,
        ranges: vec![Some(1), Some(10), Some(40), None],
        batch: None,
        queries_runs: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let num = |s: String| s.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--hosts" => c.hosts = num(value()?)? as usize,
            "--hours" => c.hours = num(value()?)? as i64,
            "--queries" => c.queries = num(value()?)? as usize,
            "--seed" => c.seed = num(value()?)?,
            "--dir" => c.dir = Some(PathBuf::from(value()?)),
            "aged" => c.aged = true,
            "queries" => c.queries_runs = Some(c.queries_runs.unwrap_or(200)),
            "--runs" => c.queries_runs = Some((num(value()?)? as usize).max(1)),
            "--days" => {
                c.days = num(value()?)? as i64;
                c.aged = true;
            }
            "--repeat" => c.repeat = (num(value()?)? as usize).max(1),
            "--batch" => c.batch = Some(num(value()?)? as usize),
            "--ranges" => {
                c.ranges = value()?
                    .split(',')
                    .map(|r| match r {
                        "all" => Ok(None),
                        n => n
                            .parse::<i64>()
                            .map(Some)
                            .map_err(|e| format!("--ranges: {e}")),
                    })
                    .collect::<std::result::Result<_, _>>()?;
            }
            "--flavour" => {
                c.flavours = match value()?.as_str() {
                    "int" => vec![Flavour::Int],
                    "dec" => vec![Flavour::Dec],
                    "both" => vec![Flavour::Int, Flavour::Dec],
                    other => return Err(format!("unknown flavour {other} (int, dec, both)")),
                }
            }
            "--help" | "-h" => {
                return Err(
                    "usage: tsbs [--hosts N] [--hours H] [--flavour int|dec|both] \
                            [--queries N] [--seed S] [--dir PATH]\n       \
                     tsbs queries [--hosts N] [--hours H] [--runs R] [--seed S] [--dir PATH]\n       \
                     tsbs aged [--days D] [--hosts N] [--seed S] [--repeat R] [--dir PATH]\n                \
                     [--ranges 1,10,40,all] [--batch POINTS]"
                        .into(),
                );
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if c.hosts == 0 || c.hours <= 0 || c.days <= 0 {
        return Err("--hosts, --hours and --days must be positive".into());
    }
    Ok(c)
}

/// The ten tags of host `h`, drawn from `rng` as TSBS does.
fn host_tags(h: usize, rng: &mut Rng) -> Vec<(String, String)> {
    let region = rng.pick(&REGIONS);
    let zone = ["a", "b", "c"][rng.below(3)];
    vec![
        ("hostname".to_owned(), format!("host_{h}")),
        ("region".to_owned(), region.to_owned()),
        ("datacenter".to_owned(), format!("{region}{zone}")),
        ("rack".to_owned(), rng.below(100).to_string()),
        ("os".to_owned(), rng.pick(&OSES).to_owned()),
        ("arch".to_owned(), rng.pick(&ARCHES).to_owned()),
        ("team".to_owned(), rng.pick(&TEAMS).to_owned()),
        ("service".to_owned(), rng.below(20).to_string()),
        ("service_version".to_owned(), rng.below(2).to_string()),
        (
            "service_environment".to_owned(),
            rng.pick(&ENVIRONMENTS).to_owned(),
        ),
    ]
}

/// A random walk in [0, 100]: starts uniform, moves by N(0, 1) steps.
struct Walk(f64);

impl Walk {
    fn start(rng: &mut Rng) -> Walk {
        Walk(rng.uniform() * 100.0)
    }
    /// The current value, rounded as `flavour` stores it; then one step.
    fn step(&mut self, rng: &mut Rng, flavour: Flavour) -> f64 {
        let v = flavour.round(self.0);
        self.0 = (self.0 + rng.normal()).clamp(0.0, 100.0);
        v
    }
}

/// One series: its metric, its tags, and its values (one per time step).
struct Series {
    metric: String,
    tags: Vec<(String, String)>,
    values: Vec<f64>,
}

impl Series {
    fn tag_refs(&self) -> Vec<(&str, &str)> {
        self.tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// The data set: `hosts * 10` series of `steps` points each, host-major.
struct Dataset {
    series: Vec<Series>,
    steps: usize,
}

impl Dataset {
    fn generate(hosts: usize, steps: usize, flavour: Flavour, seed: u64) -> Dataset {
        let mut rng = Rng(seed);
        let mut series = Vec::with_capacity(hosts * FIELDS.len());
        for h in 0..hosts {
            let tags = host_tags(h, &mut rng);
            for field in FIELDS {
                let mut walk = Walk::start(&mut rng);
                let values = (0..steps).map(|_| walk.step(&mut rng, flavour)).collect();
                series.push(Series {
                    metric: format!("cpu_{field}"),
                    tags: tags.clone(),
                    values,
                });
            }
        }
        Dataset { series, steps }
    }

    fn points(&self) -> usize {
        self.series.len() * self.steps
    }

    fn timestamp(step: usize) -> i64 {
        START + step as i64 * STEP
    }
}

fn options() -> Options {
    Options::default().sync_mode(SyncMode::Interval(Duration::from_millis(100)))
}

/// Writes the data set through `insert_batch`, 10 000 points per call, in time order
/// (every series at t0, then t1, ...). Returns the time spent in the write calls.
fn ingest_batches(db: &Db, data: &Dataset) -> Result<Duration> {
    let n = data.series.len();
    // A batch of 10 000 points spans whole time steps when n divides 10 000; in
    // general point i of the stream is series i % n at step i / n. The Point structs
    // are built once and only their timestamps and values change from batch to batch,
    // so the time measured is the engine's.
    let total = data.points();
    let mut batch: Vec<Point> = Vec::with_capacity(BATCH);
    let mut spent = Duration::ZERO;
    let mut at = 0usize;
    let mut template_offset = usize::MAX;
    while at < total {
        let len = BATCH.min(total - at);
        if batch.len() != len || at % n != template_offset {
            template_offset = at % n;
            batch.clear();
            for i in at..at + len {
                let s = &data.series[i % n];
                batch.push(Point::new(&s.metric, 0, 0.0, &s.tag_refs()));
            }
        }
        for (i, p) in (at..at + len).zip(batch.iter_mut()) {
            let step = i / n;
            p.timestamp = Dataset::timestamp(step);
            p.value = data.series[i % n].values[step];
        }
        let t = Instant::now();
        db.insert_batch(&batch)?;
        spent += t.elapsed();
        at += len;
    }
    Ok(spent)
}

/// Writes the data set through series handles: for each block of time steps, one
/// `append` per series (about 10 000 points per call). Returns the time spent in the
/// write calls, handle creation included.
fn ingest_handles(db: &Db, data: &Dataset) -> Result<Duration> {
    let t = Instant::now();
    let handles = data
        .series
        .iter()
        .map(|s| db.series(&s.metric, &s.tag_refs()))
        .collect::<Result<Vec<_>>>()?;
    let mut spent = t.elapsed();
    let timestamps: Vec<i64> = (0..data.steps).map(Dataset::timestamp).collect();
    let block = BATCH.min(data.steps);
    for from in (0..data.steps).step_by(block) {
        let to = (from + block).min(data.steps);
        let t = Instant::now();
        for (h, s) in handles.iter().zip(&data.series) {
            db.append(h, &timestamps[from..to], &s.values[from..to])?;
        }
        spent += t.elapsed();
    }
    Ok(spent)
}

/// Sums `values` with eight independent accumulators, so the adds pipeline (and
/// vectorize) instead of waiting on one another: a plain `iter().sum()` is bound by
/// the latency of one floating-point add per value.
fn fast_sum(values: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let mut chunks = values.chunks_exact(8);
    for c in &mut chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    let tail: f64 = chunks.remainder().iter().sum();
    acc.iter().sum::<f64>() + tail
}

fn dir_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let meta = entry?.metadata()?;
        if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}

fn median_and_p99(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(i).copied().unwrap_or_default()
    };
    (at(0.5), at(0.99))
}

/// Latency of 1-hour range queries of one series (by metric and hostname), at random
/// series and hours: (scan, query_range), each as (median, p99).
fn range_queries(db: &Db, data: &Dataset, queries: usize, seed: u64) -> Result<[Duration; 4]> {
    let hour_steps = (3600 / STEP) as usize;
    let hours = (data.steps / hour_steps).max(1);
    let mut rng = Rng(seed ^ 0xA5A5);
    let picks: Vec<(usize, i64)> = (0..queries)
        .map(|_| {
            let s = rng.below(data.series.len());
            let h = rng.below(hours);
            (s, Dataset::timestamp(h * hour_steps))
        })
        .collect();
    let expected = |s: usize, start: i64| -> usize {
        let first = ((start - START) / STEP) as usize;
        data.series[s].values[first..].len().min(hour_steps)
    };
    let mut scan_times = Vec::with_capacity(queries);
    let mut query_times = Vec::with_capacity(queries);
    let mut checksum = 0.0;
    for &(s, start) in &picks {
        let series = &data.series[s];
        let host = [("hostname", series.tags[0].1.as_str())];
        let end = start + 3600 - 1;
        let t = Instant::now();
        let mut scan = db.scan(&series.metric, start, end, &host)?;
        let mut n = 0;
        while let Some(v) = scan.next()? {
            n += v.len();
            checksum += fast_sum(v.values());
        }
        scan_times.push(t.elapsed());
        assert_eq!(
            n,
            expected(s, start),
            "scan of {} at {start}",
            series.metric
        );
    }
    for &(s, start) in &picks {
        let series = &data.series[s];
        let host = [("hostname", series.tags[0].1.as_str())];
        let t = Instant::now();
        let points = db.query_range(&series.metric, start, start + 3600 - 1, &host)?;
        query_times.push(t.elapsed());
        assert_eq!(points.len(), expected(s, start));
        checksum += points.first().map_or(0.0, |p| p.value);
    }
    std::hint::black_box(checksum);
    let (scan_median, scan_p99) = median_and_p99(scan_times);
    let (query_median, query_p99) = median_and_p99(query_times);
    Ok([scan_median, scan_p99, query_median, query_p99])
}

/// Full scans of every metric summing every value: (single thread, parallel) wall
/// times, best of three, after checking the count and the sum.
fn full_scans(db: &Db, data: &Dataset) -> Result<(Duration, Duration)> {
    let want_sum: f64 = data.series.iter().flat_map(|s| &s.values).sum();
    let want_points = data.points();
    let metrics: Vec<String> = FIELDS.iter().map(|f| format!("cpu_{f}")).collect();
    let check = |points: usize, sum: f64| {
        assert_eq!(points, want_points, "points seen by the scan");
        assert!(
            (sum - want_sum).abs() <= want_sum.abs() * 1e-9,
            "sum {sum} != {want_sum}"
        );
    };
    let mut single = Duration::MAX;
    let mut parallel = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let (mut points, mut sum) = (0usize, 0.0f64);
        for m in &metrics {
            let mut scan = db.scan(m, i64::MIN, i64::MAX, &[])?;
            while let Some(v) = scan.next()? {
                points += v.len();
                sum += fast_sum(v.values());
            }
        }
        single = single.min(t.elapsed());
        check(points, sum);

        let t = Instant::now();
        let (mut points, mut sum) = (0usize, 0.0f64);
        for m in &metrics {
            let (p, s) = db.scan(m, i64::MIN, i64::MAX, &[])?.fold(
                || (0usize, 0.0f64),
                |(p, s), v| (p + v.len(), s + fast_sum(v.values())),
                |a, b| (a.0 + b.0, a.1 + b.1),
            )?;
            points += p;
            sum += s;
        }
        parallel = parallel.min(t.elapsed());
        check(points, sum);
    }
    Ok((single, parallel))
}

/// Figures of one flavour.
struct Figures {
    flavour: Flavour,
    points: usize,
    batch_ingest: Duration,
    handle_ingest: Duration,
    flush: Duration,
    compact: Duration,
    bytes: u64,
    segments: u64,
    queries: [Duration; 4],
    scan_single: Duration,
    scan_parallel: Duration,
}

fn run_flavour(c: &Config, root: &Path, flavour: Flavour) -> Result<Figures> {
    let steps = (c.hours * 3600 / STEP) as usize;
    eprintln!(
        "[{}] generating {} series x {steps} points",
        flavour.name(),
        c.hosts * 10
    );
    let data = Dataset::generate(c.hosts, steps, flavour, c.seed);

    let batch_dir = root.join(format!("{flavour:?}-batch"));
    let handle_dir = root.join(format!("{flavour:?}-handles"));
    for d in [&batch_dir, &handle_dir] {
        if d.exists() {
            std::fs::remove_dir_all(d)?;
        }
    }

    eprintln!("[{}] ingest through insert_batch", flavour.name());
    let db = Db::open_with(&batch_dir, options())?;
    let batch_ingest = ingest_batches(&db, &data)?;
    db.close()?;
    std::fs::remove_dir_all(&batch_dir)?;

    eprintln!("[{}] ingest through series handles", flavour.name());
    let db = Db::open_with(&handle_dir, options())?;
    let handle_ingest = ingest_handles(&db, &data)?;
    let t = Instant::now();
    db.flush()?;
    let flush = t.elapsed();
    let t = Instant::now();
    db.compact()?;
    let compact = t.elapsed();
    db.close()?;

    // Reopen: the figures below are of a database as an application finds it.
    let db = Db::open_with(&handle_dir, options())?;
    let bytes = dir_bytes(&handle_dir)?;
    if std::env::var_os("TSBS_LIST").is_some() {
        for e in std::fs::read_dir(&handle_dir)? {
            let e = e?;
            eprintln!("  {:?} {}", e.file_name(), e.metadata()?.len());
        }
    }
    let segments = db.stats().segments;
    eprintln!("[{}] range queries and scans", flavour.name());
    let queries = range_queries(&db, &data, c.queries, c.seed)?;
    let (scan_single, scan_parallel) = full_scans(&db, &data)?;
    db.close()?;
    std::fs::remove_dir_all(&handle_dir)?;
    Ok(Figures {
        flavour,
        points: data.points(),
        batch_ingest,
        handle_ingest,
        flush,
        compact,
        bytes,
        segments,
        queries,
        scan_single,
        scan_parallel,
    })
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

fn rate(points: usize, d: Duration) -> String {
    let per_s = points as f64 / d.as_secs_f64().max(1e-9);
    if per_s >= 1e9 {
        format!("{:.2} G/s", per_s / 1e9)
    } else {
        format!("{:.2} M/s", per_s / 1e6)
    }
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn print_table(c: &Config, figures: &[Figures]) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = rayon::current_num_threads();
    println!();
    println!(
        "machine: {}, {cores} cores (rayon pool: {threads} threads)",
        cpu_model()
    );
    println!(
        "data: TSBS devops cpu-only, {} hosts x 10 metrics, {} h at 10 s, seed {}",
        c.hosts, c.hours, c.seed
    );
    println!();
    let mut header = format!("| {:<40} | {:>10} |", "figure", "target");
    let mut rule = format!("|{}|{}|", "-".repeat(42), "-".repeat(12));
    for f in figures {
        header.push_str(&format!(" {:>14} |", f.flavour.name()));
        rule.push_str(&format!("{}|", "-".repeat(16)));
    }
    println!("{header}");
    println!("{rule}");
    let row = |name: &str, target: &str, cell: &dyn Fn(&Figures) -> String| {
        let mut line = format!("| {name:<40} | {target:>10} |");
        for f in figures {
            line.push_str(&format!(" {:>14} |", cell(f)));
        }
        println!("{line}");
    };
    row("points", "", &|f| f.points.to_string());
    row("ingest, insert_batch (10k points/call)", ">= 3 M/s", &|f| {
        rate(f.points, f.batch_ingest)
    });
    row("ingest, series handles (append)", ">= 10 M/s", &|f| {
        rate(f.points, f.handle_ingest)
    });
    row("flush after ingest", "", &|f| {
        format!("{:.2} s", f.flush.as_secs_f64())
    });
    row("compaction", "", &|f| {
        format!("{:.2} s", f.compact.as_secs_f64())
    });
    row("bytes on disk per point", "<= 0.6/1.6", &|f| {
        format!("{:.3}", f.bytes as f64 / f.points as f64)
    });
    row("segments after compaction", "", &|f| f.segments.to_string());
    row("1-h range query, scan: median", "< 20 µs", &|f| {
        micros(f.queries[0])
    });
    row("1-h range query, scan: p99", "", &|f| micros(f.queries[1]));
    row("1-h range query, query_range: median", "", &|f| {
        micros(f.queries[2])
    });
    row("1-h range query, query_range: p99", "", &|f| {
        micros(f.queries[3])
    });
    row("full scan, one thread", ">= 1 G/s", &|f| {
        rate(f.points, f.scan_single)
    });
    row(
        &format!("full scan, parallel ({threads} threads)"),
        "",
        &|f| rate(f.points, f.scan_parallel),
    );
}

#[path = "tsbs_ingest/mod.rs"]
mod ingest;

fn main() {
    // `tsbs ingest ...`: the ingest paths and 1 M series (examples/tsbs_ingest).
    match std::env::args().nth(1).as_deref() {
        Some("ingest") => std::process::exit(ingest::main(std::env::args().skip(2))),
        Some("ingest-open") => std::process::exit(ingest::open_child(std::env::args().skip(2))),
        Some("ingest-make") => std::process::exit(ingest::make_child(std::env::args().skip(2))),
        _ => {}
    }
    let config = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Some(runs) = config.queries_runs {
        let root = config
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(aged::DEFAULT_DIR));
        if let Err(e) = queries::run(&config, &root, runs) {
            eprintln!("query set failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    if config.aged {
        let root = config
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(aged::DEFAULT_DIR));
        if let Err(e) = aged::run(&config, &root) {
            eprintln!("aged scan failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    let (root, _guard) = match &config.dir {
        Some(d) => (d.clone(), None),
        None => match tempfile::tempdir() {
            Ok(t) => (t.path().to_owned(), Some(t)),
            Err(e) => {
                eprintln!("cannot make a temporary directory: {e}");
                std::process::exit(1);
            }
        },
    };
    if let Err(e) = std::fs::create_dir_all(&root) {
        eprintln!("cannot create {}: {e}", root.display());
        std::process::exit(1);
    }
    let mut figures = Vec::new();
    for &flavour in &config.flavours {
        match run_flavour(&config, &root, flavour) {
            Ok(f) => figures.push(f),
            Err(e) => {
                eprintln!("{} failed: {e}", flavour.name());
                std::process::exit(1);
            }
        }
    }
    print_table(&config, &figures);
}

/// The aged-data scan benchmark (`tsbs aged`): `hosts * 10` series, one point every
/// 10 s for `days` days (two-decimal random walks), written in arrival order (every
/// series at t, then t + 10 s, 10 000 points per `insert_batch`), then flushed and
/// compacted into one segment per day. It times scans of the last day, the last 10,
/// the last 40 and of everything, on one thread (`Scan::next`) and with `Scan::fold`,
/// so the cost per point of a scan that spans many segments can be compared with one
/// that reads a single segment.
///
/// The data set (about 1.4 GB for the default 1 000 series x 116 days) is generated
/// once into `<dir>/aged-h<hosts>-d<days>-s<seed>` (`dir` defaults to
/// `target/tsbs-data`) and reused by later runs: a file `expected` written last, when
/// the database is complete, holds the points and the exact sum of every day, which
/// every scan is checked against. Remove the directory to generate it again.
#[path = "tsbs/queries.rs"]
mod queries;

mod aged {
    use super::*;

    /// Where data sets are kept when `--dir` is not given.
    pub const DEFAULT_DIR: &str = "target/tsbs-data";
    /// The file, written last, that marks a complete data set.
    const EXPECTED: &str = "expected";
    const DAY: i64 = 86_400;
    const STEPS_PER_DAY: usize = (DAY / STEP) as usize;
    const FLAVOUR: Flavour = Flavour::Dec;

    /// Per day of the data set: its points and the exact sum of its values, in
    /// hundredths (the values have two decimals, so the sum is exact).
    struct Expected {
        days: Vec<(u64, i128)>,
    }

    impl Expected {
        fn header(c: &Config) -> String {
            format!(
                "tsbs-aged 1 hosts {} days {} seed {}",
                c.hosts, c.days, c.seed
            )
        }

        fn save(&self, c: &Config, path: &Path) -> std::io::Result<()> {
            let mut text = Expected::header(c);
            text.push('\n');
            for (points, sum) in &self.days {
                text.push_str(&format!("{points} {sum}\n"));
            }
            std::fs::write(path, text)
        }

        /// The expected figures of a complete data set made with `c`, if there is one.
        fn load(c: &Config, path: &Path) -> Option<Expected> {
            let text = std::fs::read_to_string(path).ok()?;
            let mut lines = text.lines();
            if lines.next()? != Expected::header(c) {
                return None;
            }
            let days = lines
                .map(|l| {
                    let (p, s) = l.split_once(' ')?;
                    Some((p.parse().ok()?, s.parse().ok()?))
                })
                .collect::<Option<Vec<(u64, i128)>>>()?;
            (days.len() == c.days as usize).then_some(Expected { days })
        }

        /// Points and sum of the last `n` days (every day when `n` is `None`).
        fn last(&self, n: Option<usize>) -> (u64, f64) {
            let from = n.map_or(0, |n| self.days.len().saturating_sub(n));
            let tail = self.days.get(from..).unwrap_or_default();
            let points = tail.iter().map(|d| d.0).sum();
            let hundredths: i128 = tail.iter().map(|d| d.1).sum();
            (points, hundredths as f64 / 100.0)
        }
    }

    /// Writes the data set into `dir` (removing whatever was there), flushes,
    /// compacts, closes, and records what it holds.
    fn generate(c: &Config, dir: &Path) -> Result<Expected> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        let series = c.hosts * FIELDS.len();
        let steps = c.days as usize * STEPS_PER_DAY;
        eprintln!(
            "[aged] generating {series} series x {steps} points into {} (once; reused later)",
            dir.display()
        );
        let db = Db::open_with(dir, options())?;
        let mut rng = Rng(c.seed);
        let mut metas = Vec::with_capacity(series);
        let mut walks = Vec::with_capacity(series);
        for h in 0..c.hosts {
            let tags = host_tags(h, &mut rng);
            for field in FIELDS {
                let mut own = Rng(rng.next_u64());
                walks.push((Walk::start(&mut own), own));
                metas.push(Series {
                    metric: format!("cpu_{field}"),
                    tags: tags.clone(),
                    values: Vec::new(),
                });
            }
        }
        // Batches of whole time steps (every series at t, then t + 10 s, ...), built
        // once from the series' strings; only timestamps and values change.
        let steps_per_batch = (BATCH / series).max(1);
        let mut batch: Vec<Point> = Vec::with_capacity(steps_per_batch * series);
        for _ in 0..steps_per_batch {
            for s in &metas {
                batch.push(Point::new(&s.metric, 0, 0.0, &s.tag_refs()));
            }
        }
        let mut days = vec![(0u64, 0i128); c.days as usize];
        let t = Instant::now();
        let mut spent = Duration::ZERO;
        for from in (0..steps).step_by(steps_per_batch) {
            let n = steps_per_batch.min(steps - from);
            let batch = &mut batch[..n * series];
            for (i, p) in batch.iter_mut().enumerate() {
                let step = from + i / series;
                let (walk, rng) = &mut walks[i % series];
                let v = walk.step(rng, FLAVOUR);
                p.timestamp = Dataset::timestamp(step);
                p.value = v;
                let day = &mut days[step / STEPS_PER_DAY];
                day.0 += 1;
                day.1 += (v * 100.0).round() as i128;
            }
            let w = Instant::now();
            db.insert_batch(batch)?;
            spent += w.elapsed();
            if (from + n) % STEPS_PER_DAY < n {
                eprint!("\r[aged] day {} of {}", (from + n) / STEPS_PER_DAY, c.days);
            }
        }
        eprintln!();
        let written = Instant::now();
        db.flush()?;
        db.compact()?;
        db.close()?;
        eprintln!(
            "[aged] {steps} steps written in {:.0} s ({} in insert_batch), \
             flushed and compacted in {:.0} s",
            t.elapsed().as_secs_f64() - written.elapsed().as_secs_f64(),
            rate(series * steps, spent),
            written.elapsed().as_secs_f64()
        );
        let expected = Expected { days };
        expected.save(c, &dir.join(EXPECTED))?;
        Ok(expected)
    }

    /// Scans every metric over `[start, end]`, summing every value, on this thread
    /// (`fold == false`) or with `Scan::fold`: (points, sum).
    fn scan_all(
        db: &Db,
        (start, end): (i64, i64),
        batch: Option<usize>,
        fold: bool,
    ) -> Result<(u64, f64)> {
        let (mut points, mut sum) = (0u64, 0.0f64);
        for field in FIELDS {
            let mut scan = db.scan(&format!("cpu_{field}"), start, end, &[])?;
            if let Some(b) = batch {
                scan = scan.batch_points(b);
            }
            let (p, s) = if fold {
                scan.fold(
                    || (0u64, 0.0f64),
                    |(p, s), v| (p + v.len() as u64, s + fast_sum(v.values())),
                    |a, b| (a.0 + b.0, a.1 + b.1),
                )?
            } else {
                let mut scan = scan;
                let (mut p, mut s) = (0u64, 0.0f64);
                while let Some(v) = scan.next()? {
                    p += v.len() as u64;
                    s += fast_sum(v.values());
                }
                (p, s)
            };
            points += p;
            sum += s;
        }
        Ok((points, sum))
    }

    /// One row of the table: a range and its timings (one thread, fold).
    struct Row {
        name: String,
        points: u64,
        /// Wall time of the one-thread scans.
        single: Vec<Duration>,
        /// Wall time of the `Scan::fold` scans.
        fold: Vec<Duration>,
    }

    fn best(t: &[Duration]) -> Duration {
        t.iter().copied().min().unwrap_or_default()
    }

    fn median(t: &[Duration]) -> Duration {
        let mut t = t.to_vec();
        t.sort_unstable();
        t.get(t.len() / 2).copied().unwrap_or_default()
    }

    fn giga(points: u64, d: Duration) -> f64 {
        points as f64 / d.as_secs_f64().max(1e-9) / 1e9
    }

    pub fn run(c: &Config, root: &Path) -> Result<()> {
        std::fs::create_dir_all(root)?;
        let dir = root.join(format!("aged-h{}-d{}-s{}", c.hosts, c.days, c.seed));
        let expected = match Expected::load(c, &dir.join(EXPECTED)) {
            Some(e) => {
                eprintln!("[aged] reusing the data set in {}", dir.display());
                e
            }
            None => generate(c, &dir)?,
        };
        let db = Db::open_with(&dir, options())?;
        let stats = db.stats();
        let bytes = dir_bytes(&dir)?;
        let (total, _) = expected.last(None);

        let last = |n: i64| {
            let end = START + c.days * DAY - 1;
            (end - n * DAY + 1, end)
        };
        let ranges: Vec<(String, Option<usize>, i64, i64)> = c
            .ranges
            .iter()
            .map(|&r| match r {
                Some(n) if n < c.days => {
                    let (s, e) = last(n);
                    let name = if n == 1 {
                        "last day".to_owned()
                    } else {
                        format!("last {n} days")
                    };
                    (name, Some(n as usize), s, e)
                }
                _ => (
                    format!("everything ({} days)", c.days),
                    None,
                    i64::MIN,
                    i64::MAX,
                ),
            })
            .collect();
        let check = |what: &str, n: Option<usize>, got: (u64, f64)| {
            let (points, sum) = expected.last(n);
            assert_eq!(got.0, points, "points seen by the scan of {what}");
            assert!(
                (got.1 - sum).abs() <= sum.abs() * 1e-9,
                "sum of {what}: {} != {sum}",
                got.1
            );
        };
        // Warm-up: maps the pages read and verifies each chunk's checksum once.
        eprintln!("[aged] warm-up scans");
        for (name, n, start, end) in &ranges {
            check(name, *n, scan_all(&db, (*start, *end), c.batch, false)?);
        }

        let mut rows: Vec<Row> = ranges
            .iter()
            .map(|(name, n, _, _)| Row {
                name: name.clone(),
                points: expected.last(*n).0,
                single: Vec::new(),
                fold: Vec::new(),
            })
            .collect();
        for round in 0..c.repeat {
            eprintln!("[aged] round {} of {}", round + 1, c.repeat);
            for ((name, n, start, end), row) in ranges.iter().zip(&mut rows) {
                for fold in [false, true] {
                    let t = Instant::now();
                    let got = scan_all(&db, (*start, *end), c.batch, fold)?;
                    let took = t.elapsed();
                    check(name, *n, got);
                    if fold {
                        row.fold.push(took);
                    } else {
                        row.single.push(took);
                    }
                }
            }
        }
        db.close()?;

        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!();
        println!(
            "machine: {}, {cores} cores (rayon pool: {} threads)",
            cpu_model(),
            rayon::current_num_threads()
        );
        println!(
            "data: {} series x {} points ({} days at 10 s, two decimals), {} segments, \
             {:.2} GB on disk ({:.3} bytes/point); scan batches of {} points; \
             best and median of {} runs",
            c.hosts * FIELDS.len(),
            total / (c.hosts * FIELDS.len()) as u64,
            c.days,
            stats.segments,
            bytes as f64 / 1e9,
            bytes as f64 / total as f64,
            c.batch.map_or_else(
                || format!("{} (default)", tidestore::Scan::DEFAULT_BATCH_POINTS),
                |b| if b == usize::MAX {
                    "whole series".to_owned()
                } else {
                    b.to_string()
                }
            ),
            c.repeat
        );
        type Column = (&'static str, fn(&Row) -> Duration);
        let columns: [Column; 4] = [
            ("one thread, best", |r| best(&r.single)),
            ("median", |r| median(&r.single)),
            ("fold, best", |r| best(&r.fold)),
            ("median", |r| median(&r.fold)),
        ];
        println!();
        let mut header = format!("| {:<24} | {:>13} |", "scan of", "points");
        let mut rule = format!("|{}|{}|", "-".repeat(26), "-".repeat(15));
        for (name, _) in &columns {
            header.push_str(&format!(" {name:>16} |"));
            rule.push_str(&format!("{}|", "-".repeat(name.len().max(16) + 2)));
        }
        println!("{header}");
        println!("{rule}");
        for r in &rows {
            let mut line = format!("| {:<24} | {:>13} |", r.name, r.points);
            for (name, f) in &columns {
                let cell = match f(r) {
                    d if d.is_zero() => "-".to_owned(),
                    d => format!("{:.2} G/s", giga(r.points, d)),
                };
                line.push_str(&format!(" {cell:>w$} |", w = name.len().max(16)));
            }
            println!("{line}");
        }
        if let (Some(first), Some(all), true) = (rows.first(), rows.last(), rows.len() > 1) {
            let short = |r: &Row| r.name.split(" (").next().unwrap_or_default().to_owned();
            let ratio = format!("{} / {}", short(all), short(first));
            let mut line = format!("| {ratio:<24} | {:>13} |", "");
            for (name, f) in &columns {
                let (a, d) = (f(all), f(first));
                let cell = match a.is_zero() || d.is_zero() {
                    true => "-".to_owned(),
                    false => format!(
                        "{:.0} %",
                        100.0 * giga(all.points, a) / giga(first.points, d)
                    ),
                };
                line.push_str(&format!(" {cell:>w$} |", w = name.len().max(16)));
            }
            println!("{line}");
        }
        Ok(())
    }
}
