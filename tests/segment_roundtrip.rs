//! Round-trip of segment files: random series, tags, timestamps (negative and extreme)
//! and adversarial float bits, plus tombstones, are written with `StdFs`, opened, and
//! every read path is compared with a model built from the input.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use roaring::RoaringBitmap;
use tidestore::io::fs::StdFs;
use tidestore::ts::segment::{
    ChunkMeta, Segment, SegmentOptions, SeriesInput, Tombstone, write_segment,
};

#[derive(Debug, Clone)]
struct Series {
    id: u32,
    metric: String,
    tags: Vec<(String, String)>,
    ts: Vec<i64>,
    values: Vec<f64>,
}

fn timestamp() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => -50i64..50,
        2 => any::<i64>(),
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
        1 => i64::MIN..i64::MIN + 5,
        1 => i64::MAX - 5..=i64::MAX,
    ]
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<u64>().prop_map(f64::from_bits),
        2 => (-1000i32..1000).prop_map(|v| f64::from(v) / 10.0),
        1 => prop::sample::select(vec![
            f64::NAN, -f64::NAN, f64::from_bits(0x7ff0_0000_0000_0001), 0.0, -0.0,
            f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE, 5e-324, f64::MAX, f64::MIN,
        ]),
    ]
}

fn series() -> impl Strategy<Value = Series> {
    let tag = (
        prop::sample::select(vec!["host", "dc", "", "k\u{e9}y"]),
        prop::sample::select(vec!["a", "b", "", "zz", "\u{1F600}"]),
    );
    (
        any::<u32>(),
        prop::sample::select(vec!["cpu", "mem", "", "disk.io"]),
        prop::collection::vec(tag, 0..4),
        prop::collection::btree_set(timestamp(), 0..40),
    )
        .prop_flat_map(|(id, metric, tags, ts)| {
            let n = ts.len();
            (
                Just(id),
                Just(metric),
                Just(tags),
                Just(ts),
                prop::collection::vec(value(), n),
            )
        })
        .prop_map(|(id, metric, tags, ts, values)| Series {
            id,
            metric: metric.to_owned(),
            tags: tags
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ts: ts.into_iter().collect(),
            values,
        })
}

fn input() -> impl Strategy<Value = (Vec<Series>, Vec<Tombstone>, usize)> {
    let all = prop::collection::vec(series(), 0..12).prop_map(|mut v| {
        v.sort_by_key(|s| s.id);
        v.dedup_by_key(|s| s.id);
        v
    });
    let tomb = (0u32..5, timestamp(), timestamp()).prop_map(|(id, a, b)| Tombstone {
        series_id: id,
        start: a.min(b),
        end: a.max(b),
    });
    let chunk_points = prop_oneof![3 => 1usize..6, 1 => 6usize..64, 1 => Just(4096)];
    (all, prop::collection::vec(tomb, 0..6), chunk_points)
}

/// The statistics the format promises, computed the simple way.
fn model_stats(values: &[f64]) -> (f64, f64, f64) {
    let mut sum = 0.0;
    for v in values {
        sum += v;
    }
    let mut finite: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    finite.sort_by(f64::total_cmp);
    let min = finite.first().copied().unwrap_or(f64::NAN);
    let max = finite.last().copied().unwrap_or(f64::NAN);
    (min, max, sum)
}

fn same_f64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn check(series: &[Series], tombstones: &[Tombstone], chunk_points: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seg");
    let inputs: Vec<SeriesInput<'_>> = series
        .iter()
        .map(|s| SeriesInput {
            id: s.id,
            metric: &s.metric,
            tags: &s.tags,
            timestamps: &s.ts,
            values: &s.values,
        })
        .collect();
    let opts = SegmentOptions { chunk_points };
    let written = write_segment(&StdFs, &path, &inputs, tombstones, &opts).unwrap();
    let seg = Segment::open(&StdFs, &path).unwrap();
    assert_eq!(*seg.info(), written);

    let present: Vec<&Series> = series.iter().filter(|s| !s.ts.is_empty()).collect();
    let points: usize = present.iter().map(|s| s.ts.len()).sum();
    let info = seg.info();
    assert_eq!(info.points, points as u64);
    assert_eq!(info.series as usize, present.len());
    assert_eq!(info.file_size, std::fs::metadata(&path).unwrap().len());
    let min_ts = present.iter().map(|s| s.ts[0]).min().unwrap_or(i64::MAX);
    let max_ts = present
        .iter()
        .map(|s| *s.ts.last().unwrap())
        .max()
        .unwrap_or(i64::MIN);
    assert_eq!((info.min_ts, info.max_ts), (min_ts, max_ts));
    let ids: RoaringBitmap = present.iter().map(|s| s.id).collect();
    assert_eq!(seg.series_ids(), &ids);
    assert_eq!(seg.all_chunks().len() as u64, info.chunks);

    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    for s in series {
        let chunks = seg.chunks(s.id);
        assert_eq!(chunks.len(), s.ts.len().div_ceil(chunk_points));
        ts.clear();
        vs.clear();
        for c in chunks {
            assert_eq!(c.series_id(), s.id);
            assert!(c.count() as usize <= chunk_points);
            let from = ts.len();
            seg.decode_chunk(c, &mut ts, &mut vs).unwrap();
            let (cts, cvs) = (&ts[from..], &vs[from..]);
            assert_eq!(cts.len(), c.count() as usize);
            assert_eq!((c.min_ts(), c.max_ts()), (cts[0], *cts.last().unwrap()));
            let (min, max, sum) = model_stats(cvs);
            assert!(same_f64(c.min_value(), min), "{} vs {min}", c.min_value());
            assert!(same_f64(c.max_value(), max), "{} vs {max}", c.max_value());
            assert!(same_f64(c.sum(), sum), "{} vs {sum}", c.sum());
        }
        assert_eq!(ts, s.ts);
        assert_eq!(bits(&vs), bits(&s.values));
        check_ranges(&seg, s, chunks);
    }
    // An id with no series has no chunks.
    let absent = (0..).find(|id| !ids.contains(*id)).unwrap();
    assert!(seg.chunks(absent).is_empty());

    check_postings(&seg, &present);

    let mut want: Vec<Tombstone> = tombstones.to_vec();
    want.sort();
    want.dedup();
    let got: Vec<Tombstone> = seg.tombstones().iter().map(|t| t.tombstone()).collect();
    assert_eq!(got, want);
    assert_eq!(info.tombstones, want.len() as u64);
    for id in 0..5 {
        let got: Vec<Tombstone> = seg
            .series_tombstones(id)
            .iter()
            .map(|t| t.tombstone())
            .collect();
        let model: Vec<Tombstone> = want.iter().filter(|t| t.series_id == id).copied().collect();
        assert_eq!(got, model);
    }
}

/// `chunks_in_range` equals a brute-force filter, and decoding it covers exactly the
/// points in range.
fn check_ranges(seg: &Segment, s: &Series, chunks: &[ChunkMeta]) {
    let mut edges: Vec<i64> = vec![i64::MIN, i64::MAX, 0, -1, 1];
    for &t in s.ts.iter().take(8) {
        edges.extend([t, t.saturating_sub(1), t.saturating_add(1)]);
    }
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    for &a in &edges {
        for &b in &edges {
            let got = seg.chunks_in_range(s.id, a, b);
            let want: Vec<&ChunkMeta> = chunks
                .iter()
                .filter(|c| a <= b && c.max_ts() >= a && c.min_ts() <= b)
                .collect();
            assert_eq!(got.iter().collect::<Vec<_>>(), want, "range {a}..={b}");
            ts.clear();
            vs.clear();
            for c in got {
                seg.decode_chunk(c, &mut ts, &mut vs).unwrap();
            }
            let in_range = |t: &i64| a <= *t && *t <= b;
            let got_points: Vec<i64> = ts.iter().copied().filter(in_range).collect();
            let want_points: Vec<i64> = s.ts.iter().copied().filter(in_range).collect();
            assert_eq!(got_points, want_points);
        }
    }
}

fn check_postings(seg: &Segment, present: &[&Series]) {
    let mut metrics: BTreeMap<&str, RoaringBitmap> = BTreeMap::new();
    let mut tags: BTreeMap<(&str, &str), RoaringBitmap> = BTreeMap::new();
    for s in present {
        metrics.entry(&s.metric).or_default().insert(s.id);
        for (k, v) in &s.tags {
            tags.entry((k, v)).or_default().insert(s.id);
        }
    }
    for (m, want) in &metrics {
        assert_eq!(
            seg.metric_series(m).unwrap().as_ref(),
            Some(want),
            "metric {m:?}"
        );
        // A metric name is not a tag key with an empty value, and vice versa.
        if !tags.contains_key(&(*m, "")) {
            assert_eq!(seg.tag_series(m, "").unwrap(), None);
        }
    }
    for ((k, v), want) in &tags {
        assert_eq!(
            seg.tag_series(k, v).unwrap().as_ref(),
            Some(want),
            "tag {k:?}={v:?}"
        );
    }
    let names: BTreeSet<&str> = ["cpu", "mem", "", "disk.io", "nope", "cpu0"].into();
    for m in names.iter().filter(|m| !metrics.contains_key(*m)) {
        assert_eq!(seg.metric_series(m).unwrap(), None);
    }
    for (k, v) in [("host", "c"), ("nope", "a"), ("hos", "a"), ("host", "")] {
        if !tags.contains_key(&(k, v)) {
            assert_eq!(seg.tag_series(k, v).unwrap(), None);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn segments_round_trip((series, tombstones, chunk_points) in input()) {
        check(&series, &tombstones, chunk_points);
    }
}

#[test]
fn many_series_with_many_tag_pairs() {
    let tags: Vec<Vec<(String, String)>> = (0..20_000u32)
        .map(|i| {
            vec![
                ("host".to_owned(), format!("h{}", i % 2000)),
                ("dc".to_owned(), format!("dc{}", i % 7)),
                ("id".to_owned(), i.to_string()),
            ]
        })
        .collect();
    let ts: Vec<i64> = (0..3).map(|i| i * 10).collect();
    let values = [1.5, 2.5, -1.0];
    let inputs: Vec<SeriesInput<'_>> = tags
        .iter()
        .enumerate()
        .map(|(i, t)| SeriesInput {
            id: i as u32 * 3,
            metric: if i % 2 == 0 { "even" } else { "odd" },
            tags: t,
            timestamps: &ts,
            values: &values,
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seg");
    write_segment(&StdFs, &path, &inputs, &[], &SegmentOptions::default()).unwrap();
    let seg = Segment::open(&StdFs, &path).unwrap();
    assert_eq!(seg.info().series, 20_000);
    assert_eq!(seg.info().points, 60_000);
    let even = seg.metric_series("even").unwrap().unwrap();
    assert_eq!(even.len(), 10_000);
    assert!(even.iter().all(|id| (id / 3) % 2 == 0));
    let h = seg.tag_series("host", "h17").unwrap().unwrap();
    let want: RoaringBitmap = (0..20_000u32)
        .filter(|i| i % 2000 == 17)
        .map(|i| i * 3)
        .collect();
    assert_eq!(h, want);
    assert_eq!(
        seg.tag_series("id", "19999")
            .unwrap()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        vec![59_997]
    );
    assert_eq!(seg.tag_series("host", "h2000").unwrap(), None);
    let c = seg.chunks(59_997);
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].count(), c[0].min_ts(), c[0].max_ts(), c[0].sum()),
        (3, 0, 20, 3.0)
    );
    assert!(seg.chunks(59_998).is_empty());
}
