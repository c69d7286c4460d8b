//! Throughput of the timestamp and value codecs on 4096-point chunks.
//!
//! `cargo bench --bench codecs`. Inputs are deterministic (splitmix64 + Box-Muller):
//! timestamps 10 s apart in milliseconds, regular or with up to ±50 ms of jitter;
//! values a random walk in [0, 100] with N(0, 1) steps rounded to integers or to two
//! decimals, and uniform random floats in [0, 1).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tidestore::codec::{float, timestamp};

const N: usize = 4096;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(f64::MIN_POSITIVE);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }
}

fn timestamps() -> Vec<(&'static str, Vec<i64>)> {
    let start = 1_700_000_000_000i64;
    let regular = (0..N as i64).map(|i| start + 10_000 * i).collect();
    let mut rng = Rng(1);
    let jittered = (0..N as i64)
        .map(|i| start + 10_000 * i + (rng.next() % 101) as i64 - 50)
        .collect();
    vec![("regular", regular), ("jittered", jittered)]
}

fn values() -> Vec<(&'static str, Vec<f64>)> {
    let mut rng = Rng(2);
    let mut x = 50.0f64;
    let walk: Vec<f64> = (0..N)
        .map(|_| {
            x = (x + rng.normal()).clamp(0.0, 100.0);
            x
        })
        .collect();
    let ints = walk.iter().map(|v| v.round()).collect();
    let cents = walk.iter().map(|v| (v * 100.0).round() / 100.0).collect();
    let random = (0..N).map(|_| rng.unit()).collect();
    vec![("int_walk", ints), ("2dec_walk", cents), ("random", random)]
}

fn bench_timestamps(c: &mut Criterion) {
    let mut g = c.benchmark_group("timestamp");
    g.throughput(Throughput::Elements(N as u64));
    for (name, ts) in timestamps() {
        let mut buf = Vec::new();
        timestamp::encode(&ts, &mut buf);
        println!(
            "timestamp/{name}: {:.3} bytes/point",
            buf.len() as f64 / N as f64
        );
        g.bench_with_input(BenchmarkId::new("encode", name), &ts, |b, ts| {
            let mut out = Vec::with_capacity(buf.len() * 2);
            b.iter(|| {
                out.clear();
                timestamp::encode(black_box(ts), &mut out);
            })
        });
        g.bench_with_input(BenchmarkId::new("decode", name), &buf, |b, buf| {
            let mut out = Vec::with_capacity(N);
            b.iter(|| {
                out.clear();
                timestamp::decode(black_box(buf), N, &mut out).expect("decodes")
            })
        });
    }
    g.finish();
}

fn bench_values(c: &mut Criterion) {
    let mut g = c.benchmark_group("value");
    g.throughput(Throughput::Elements(N as u64));
    for (name, vs) in values() {
        let mut buf = Vec::new();
        float::encode(&vs, &mut buf);
        let (codec, _) = float::describe(&buf).expect("describes");
        println!(
            "value/{name}: {codec:?}, {:.3} bytes/point",
            buf.len() as f64 / N as f64
        );
        g.bench_with_input(BenchmarkId::new("encode", name), &vs, |b, vs| {
            let mut out = Vec::with_capacity(buf.len() * 2);
            b.iter(|| {
                out.clear();
                float::encode(black_box(vs), &mut out);
            })
        });
        g.bench_with_input(BenchmarkId::new("decode", name), &buf, |b, buf| {
            let mut out = Vec::with_capacity(N);
            b.iter(|| {
                out.clear();
                float::decode(black_box(buf), N, &mut out).expect("decodes")
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench_timestamps, bench_values
}
criterion_main!(benches);
