//! Benchmarks of `kv::Store` after LevelDB's db_bench: 16-byte keys, 100-byte values
//! (half compressible), the WAL on with the default `SyncMode::Interval(100 ms)` and
//! background flushes and compactions (default options otherwise).
//!
//! - `fillseq` / `fillrandom`: 100 000 puts into a fresh store, keys in order / in a
//!   random order;
//! - `readrandom_hit` / `readrandom_miss`: 1 000 point reads of present / absent keys
//!   (absent keys interleave the present ones, so the Bloom filters answer) on a store
//!   pre-filled with 1 000 000 entries, flushed and compacted;
//! - `readseq`: a full range scan of those 1 000 000 entries.
//!
//! Run: `cargo bench --bench kv`. Throughput is in elements (operations); one element
//! is 116 bytes of user data.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tidestore::kv::{Options, Store};

const KEY_LEN: usize = 16;
const VALUE_LEN: usize = 100;
const FILL: u64 = 100_000;
const PREFILL: u64 = 1_000_000;
const READS: u64 = 1_000;
const CF: &str = "bench";

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn key(i: u64) -> [u8; KEY_LEN] {
    let mut k = [0u8; KEY_LEN];
    k.copy_from_slice(format!("{i:016}").as_bytes());
    k
}

/// A 100-byte value: 50 random bytes, repeated (snappy halves it, as in db_bench).
fn value(rng: &mut Rng) -> [u8; VALUE_LEN] {
    let mut v = [0u8; VALUE_LEN];
    for chunk in v[..VALUE_LEN / 2].chunks_mut(8) {
        let r = rng.next().to_le_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
    v.copy_within(..VALUE_LEN / 2, VALUE_LEN / 2);
    v
}

/// A random permutation of `0..n`.
fn shuffled(n: u64, rng: &mut Rng) -> Vec<u64> {
    let mut v: Vec<u64> = (0..n).collect();
    for i in (1..v.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

fn fill(store: &Store, keys: &[u64], rng: &mut Rng) {
    for &i in keys {
        store.put(CF, key(i), value(rng)).unwrap();
    }
}

fn fills(c: &mut Criterion) {
    let mut group = c.benchmark_group("kv");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(FILL));
    let mut rng = Rng(42);
    let sequential: Vec<u64> = (0..FILL).collect();
    let random = shuffled(FILL, &mut rng);
    for (name, keys) in [("fillseq", &sequential), ("fillrandom", &random)] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().unwrap();
                    let store = Store::open_with(dir.path(), Options::default()).unwrap();
                    (dir, store)
                },
                |(dir, store)| {
                    fill(&store, keys, &mut rng);
                    (dir, store)
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn reads(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), Options::default()).unwrap();
    let mut rng = Rng(7);
    let started = Instant::now();
    // Present keys are the even numbers; odd ones are absent but inside the range.
    let present: Vec<u64> = shuffled(PREFILL, &mut rng)
        .into_iter()
        .map(|i| 2 * i)
        .collect();
    fill(&store, &present, &mut rng);
    store.compact().unwrap();
    let stats = store.stats();
    eprintln!(
        "prefilled {PREFILL} entries in {:.1?}: levels {:?}, write amplification {:.2}",
        started.elapsed(),
        stats.levels,
        stats.write_amplification
    );

    let mut group = c.benchmark_group("kv");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(READS));
    group.bench_function("readrandom_hit", |b| {
        b.iter(|| {
            for _ in 0..READS {
                let i = 2 * (rng.next() % PREFILL);
                let v = store.get(CF, key(i)).unwrap();
                assert!(black_box(v).is_some());
            }
        });
    });
    group.bench_function("readrandom_miss", |b| {
        b.iter(|| {
            for _ in 0..READS {
                let i = 2 * (rng.next() % PREFILL) + 1;
                let v = store.get(CF, key(i)).unwrap();
                assert!(black_box(v).is_none());
            }
        });
    });
    group.throughput(Throughput::Elements(PREFILL));
    group.bench_function("readseq", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for row in store.range(CF, ..).unwrap() {
                let (k, v) = row.unwrap();
                black_box((k, v));
                n += 1;
            }
            assert_eq!(n, PREFILL);
        });
    });
    group.finish();
    let stats = store.stats();
    eprintln!(
        "bloom negatives during the reads: {}",
        stats.bloom_negatives
    );
    store.close().unwrap();
}

criterion_group!(benches, fills, reads);
criterion_main!(benches);
