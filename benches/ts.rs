//! Criterion benchmarks of the time-series read path on a small pre-built dataset:
//! a 1-hour range query of one series (360 points, as a columnar `scan` and as
//! `query_range`) and a full scan summing every point (one thread and parallel).
//!
//! The dataset: 10 hosts x 10 metrics, one point every 10 s for 24 h (864 000 points),
//! random-walk values rounded to two decimals, flushed and compacted.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tidestore::SyncMode;
use tidestore::ts::Options;
use tidestore::{Db, Point};

const HOSTS: usize = 10;
const METRICS: usize = 10;
const STEPS: i64 = 8640;
const START: i64 = 1_451_606_400;

fn build(dir: &std::path::Path) -> Db {
    let db = Db::open_with(dir, Options::default().sync_mode(SyncMode::Os)).unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for h in 0..HOSTS {
        let host = format!("host_{h}");
        for m in 0..METRICS {
            let metric = format!("cpu_{m}");
            let series = db.series(&metric, &[("hostname", &host)]).unwrap();
            let mut v = next() * 100.0;
            let mut ts = Vec::with_capacity(STEPS as usize);
            let mut vals = Vec::with_capacity(STEPS as usize);
            for i in 0..STEPS {
                ts.push(START + i * 10);
                vals.push((v * 100.0).round() / 100.0);
                v = (v + (next() - 0.5) * 2.0).clamp(0.0, 100.0);
            }
            db.append(&series, &ts, &vals).unwrap();
        }
    }
    // One point through the row API too, so both write paths built the dataset.
    db.insert_batch(&[Point::new("cpu_0", START, 1.0, &[("hostname", "host_0")])])
        .unwrap();
    db.compact().unwrap();
    db
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

fn read_path(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    let mut g = c.benchmark_group("ts");
    g.sample_size(10);

    let mut pick = 0usize;
    let mut next_query = move || {
        pick = pick
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let host = format!("host_{}", (pick >> 33) % HOSTS);
        let metric = format!("cpu_{}", (pick >> 40) % METRICS);
        let hour = ((pick >> 20) % 24) as i64;
        (metric, host, START + hour * 3600)
    };
    g.bench_function("range_1h_scan", |b| {
        b.iter(|| {
            let (metric, host, start) = next_query();
            let mut scan = db
                .scan(&metric, start, start + 3599, &[("hostname", &host)])
                .unwrap();
            let mut sum = 0.0;
            while let Some(v) = scan.next().unwrap() {
                sum += fast_sum(v.values());
            }
            black_box(sum)
        })
    });
    g.bench_function("range_1h_query_range", |b| {
        b.iter(|| {
            let (metric, host, start) = next_query();
            black_box(
                db.query_range(&metric, start, start + 3599, &[("hostname", &host)])
                    .unwrap(),
            )
        })
    });
    g.bench_function("full_scan_one_thread", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            for m in 0..METRICS {
                let mut scan = db
                    .scan(&format!("cpu_{m}"), i64::MIN, i64::MAX, &[])
                    .unwrap();
                while let Some(v) = scan.next().unwrap() {
                    sum += fast_sum(v.values());
                }
            }
            black_box(sum)
        })
    });
    g.bench_function("full_scan_parallel", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            for m in 0..METRICS {
                sum += db
                    .scan(&format!("cpu_{m}"), i64::MIN, i64::MAX, &[])
                    .unwrap()
                    .fold(|| 0.0, |acc, v| acc + fast_sum(v.values()), |a, b| a + b)
                    .unwrap();
            }
            black_box(sum)
        })
    });
    g.finish();
}

criterion_group!(benches, read_path);
criterion_main!(benches);
