//! Reads that start or stop partway through a chunk: a range, a query or a point get
//! inside a chunk decodes only the 256-point blocks that hold it, found by the chunk's
//! marks (in segments of format version 2, without marks, the chunk's first blocks, up
//! to an estimate from its time span, with a fallback when the points are not evenly
//! spread: `tests/ts_format_v2.rs`). Every answer here is checked against the points
//! written, over series whose timestamps are regular, dense-then-sparse and
//! sparse-then-dense (blocks of very different time spans), with values in each value
//! codec, in one segment and in overlapping ones.

use tidestore::Db;
use tidestore::ts::{Aggregation, Matcher, Options, Query};

/// A small deterministic generator (no test depends on the thread's randomness).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// The timestamps of one series shape, ascending and unique.
fn timestamps(shape: &str) -> Vec<i64> {
    match shape {
        "regular" => (0..9_000).map(|i| 1_000 + i * 10).collect(),
        // 3,000 points a unit apart, then 1,000 a thousand apart
        "dense-then-sparse" => (0..3_000)
            .chain((1..=1_000).map(|i| 3_000 + i * 1_000))
            .collect(),
        "sparse-then-dense" => (0..1_000)
            .map(|i| i * 1_000)
            .chain((0..3_000).map(|i| 1_000_000 + i))
            .collect(),
        _ => unreachable!(),
    }
}

/// The values of one codec's kind for `n` points.
fn values(kind: &str, n: usize, rng: &mut Rng) -> Vec<f64> {
    let mut walk = 50.0f64;
    (0..n)
        .map(|_| match kind {
            "decimal" => {
                walk = (walk + (rng.next() % 200) as f64 / 100.0 - 1.0).clamp(0.0, 100.0);
                (walk * 100.0).round() / 100.0
            }
            "xor" => f64::from_bits(rng.next() << 20 | 0x3ff0_0000_0000_0000),
            _ => 7.25,
        })
        .collect()
}

#[test]
fn reads_ending_inside_chunks_see_exactly_the_points_before_their_end() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || Options::default().background_work(false);
    let db = Db::open_with(dir.path(), opts()).unwrap();
    let mut rng = Rng(7);
    let mut model: Vec<(String, Vec<(i64, f64)>)> = Vec::new();
    for shape in ["regular", "dense-then-sparse", "sparse-then-dense"] {
        for kind in ["decimal", "xor", "constant"] {
            let ts = timestamps(shape);
            let vs = values(kind, ts.len(), &mut rng);
            let host = format!("{shape}-{kind}");
            let h = db.series("cpu", &[("host", &host)]).unwrap();
            db.append(&h, &ts, &vs).unwrap();
            model.push((host, ts.into_iter().zip(vs).collect()));
        }
    }
    db.flush().unwrap();
    // a second segment overlapping the first in time: every tenth point rewritten
    for (host, points) in &mut model {
        let h = db.series("cpu", &[("host", host)]).unwrap();
        let mut ts = Vec::new();
        let mut vs = Vec::new();
        for p in points.iter_mut().step_by(10) {
            p.1 += 1.0;
            ts.push(p.0);
            vs.push(p.1);
        }
        db.append(&h, &ts, &vs).unwrap();
    }
    let mut db = db;
    for round in ["overlapping segments", "compacted", "reopened"] {
        match round {
            "compacted" => db.compact().unwrap(),
            "reopened" => {
                db.close().unwrap();
                db = Db::open_with(dir.path(), opts()).unwrap();
            }
            _ => db.flush().unwrap(),
        }
        for (host, points) in &model {
            let (lo, hi) = (points[0].0, points[points.len() - 1].0);
            for _ in 0..40 {
                let span = (hi - lo + 1) as u64;
                let a = lo + (rng.next() % span) as i64;
                let b = lo + (rng.next() % span) as i64;
                let (start, end) = (a.min(b), a.max(b));
                let want: Vec<(i64, f64)> = points
                    .iter()
                    .copied()
                    .filter(|p| start <= p.0 && p.0 <= end)
                    .collect();
                let got: Vec<(i64, f64)> = db
                    .query_range("cpu", start, end, &[("host", host)])
                    .unwrap()
                    .iter()
                    .map(|p| (p.timestamp, p.value))
                    .collect();
                assert_eq!(got, want, "{round}: {host} {start}..={end}");
                let q = Query::new("cpu", Aggregation::Count)
                    .filter(Matcher::eq("host", host))
                    .range(start, end);
                let count = db.query(&q).unwrap();
                let n = count.first().map_or(0.0, |g| g.values[0]);
                assert_eq!(
                    n,
                    want.len() as f64,
                    "{round}: {host} count {start}..={end}"
                );
                let q = Query::new("cpu", Aggregation::Last)
                    .filter(Matcher::eq("host", host))
                    .range(start, end);
                let last = db.query(&q).unwrap();
                let got = last.first().map(|g| g.values[0].to_bits());
                assert_eq!(
                    got,
                    want.last().map(|p| p.1.to_bits()),
                    "{round}: {host} last"
                );
            }
            for _ in 0..40 {
                let (t, v) = points[rng.next() as usize % points.len()];
                let got = db.value_at("cpu", &[("host", host)], t).unwrap();
                assert_eq!(
                    got.map(f64::to_bits),
                    Some(v.to_bits()),
                    "{round}: {host} at {t}"
                );
                let missing = db.value_at("cpu", &[("host", host)], t + 1).unwrap();
                let present = points.binary_search_by_key(&(t + 1), |p| p.0).ok();
                assert_eq!(
                    missing,
                    present.map(|i| points[i].1),
                    "{round}: {host} at {}",
                    t + 1
                );
            }
        }
    }
}
