//! Tests of the head: unit cases, a proptest against a last-write-wins model, and a
//! writer-plus-readers smoke test.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;

use super::*;

/// Reads series `id` over `[start, end]` as owned columns.
fn read(h: &Head, id: u32, start: i64, end: i64) -> (Vec<i64>, Vec<f64>) {
    let mut out = Columns::new();
    h.read_series(id, start, end, &mut out);
    (out.ts().to_vec(), out.vals().to_vec())
}

fn read_all(h: &Head, id: u32) -> (Vec<i64>, Vec<f64>) {
    read(h, id, i64::MIN, i64::MAX)
}

/// One point through the head's only write path.
fn append(h: &Head, id: u32, t: i64, v: f64) {
    h.append_many(id, &[t], &[v]).unwrap();
}

/// Points of many series, as the write path hands them over: one `append_many` per run
/// of the same series, in order.
fn append_runs(h: &Head, points: &[(u32, i64, f64)]) {
    for run in points.chunk_by(|a, b| a.0 == b.0) {
        let (t, v): (Vec<i64>, Vec<f64>) = run.iter().map(|p| (p.1, p.2)).unzip();
        h.append_many(run[0].0, &t, &v).unwrap();
    }
}

/// The ids of the series holding at least one point, from a frozen copy.
fn series_ids(h: &Head) -> Vec<u32> {
    h.to_sorted().series.iter().map(|s| s.id).collect()
}

#[test]
fn head_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Head>();
}

#[test]
fn appends_in_any_order_read_back_sorted_last_write_wins() {
    let h = Head::new();
    assert!(h.is_empty());
    assert_eq!((h.min_ts(), h.max_ts()), (None, None));
    append(&h, 1, 10, 1.0);
    append(&h, 1, 5, 2.0);
    append(&h, 1, 10, 3.0);
    h.append_many(1, &[7, 5], &[4.0, 5.0]).unwrap();
    append_runs(&h, &[(2, 1, 1.0), (1, 8, 6.0), (2, 0, 0.5), (1, 7, 7.0)]);
    assert_eq!(
        read_all(&h, 1),
        (vec![5, 7, 8, 10], vec![5.0, 7.0, 6.0, 3.0])
    );
    assert_eq!(read_all(&h, 2), (vec![0, 1], vec![0.5, 1.0]));
    assert_eq!(read_all(&h, 3), (vec![], vec![]));
    assert_eq!(h.point_count(), 6);
    assert_eq!((h.min_ts(), h.max_ts()), (Some(0), Some(10)));
    let mut out = Columns::new();
    out.extend_from(&[99], &[99.0]);
    h.read_series(1, 6, 8, &mut out);
    assert_eq!((out.ts(), out.vals()), (&[7, 8][..], &[7.0, 6.0][..]));
    assert_eq!(series_ids(&h), vec![1, 2]);
    assert!(h.approximate_bytes() >= 6 * 16);
}

#[test]
fn extreme_timestamps_and_nan_are_kept() {
    let h = Head::new();
    append(&h, 0, i64::MAX, f64::NAN);
    assert_eq!((h.min_ts(), h.max_ts()), (Some(i64::MAX), Some(i64::MAX)));
    append(&h, 0, i64::MIN, f64::INFINITY);
    let (t, v) = read_all(&h, 0);
    assert_eq!(t, vec![i64::MIN, i64::MAX]);
    assert_eq!(v[0], f64::INFINITY);
    assert!(v[1].is_nan());
}

#[test]
fn append_many_rejects_mismatched_columns() {
    let h = Head::new();
    assert!(matches!(
        h.append_many(0, &[1, 2], &[1.0]),
        Err(Error::InvalidArgument(_))
    ));
    h.append_many(0, &[], &[]).unwrap();
    assert!(h.is_empty());
    assert!(series_ids(&h).is_empty());
    assert_eq!(h.min_ts(), None);
}

#[test]
fn deletes_remove_earlier_points_keep_later_ones_and_record_tombstones() {
    let h = Head::new();
    h.append_many(1, &[1, 2, 3, 4, 5], &[1.0, 2.0, 3.0, 4.0, 5.0])
        .unwrap();
    h.delete_range(1, 2, 4);
    append(&h, 1, 3, 30.0);
    h.delete_range(9, 0, 100); // not in this head: still a tombstone for older data
    h.delete_range(1, 10, 0); // empty range: nothing at all
    assert_eq!(read_all(&h, 1), (vec![1, 3, 5], vec![1.0, 30.0, 5.0]));
    assert_eq!(h.tombstones(), vec![(1, 2, 4), (9, 0, 100)]);
    assert_eq!(h.point_count(), 3);
    h.delete_range(1, i64::MIN, i64::MAX);
    assert_eq!(h.point_count(), 0);
    assert!(series_ids(&h).is_empty());
    let frozen = h.to_sorted();
    assert!(frozen.series.is_empty());
    assert_eq!(frozen.tombstones.len(), 3);
}

#[test]
fn frozen_copies_are_sorted_deduplicated_and_leave_the_head_readable() {
    let h = Head::new();
    for id in [5u32, 1, 3] {
        for t in [4i64, 2, 9, 2] {
            append(&h, id, t, f64::from(id) * 100.0 + t as f64);
        }
    }
    h.delete_range(3, 0, 3);
    let copy = h.to_sorted();
    assert_eq!(h.point_count(), 8); // to_sorted deduplicated in place
    let owned = h.to_sorted();
    assert_eq!(copy, owned);
    assert_eq!(read_all(&h, 5).0, vec![2, 4, 9]);
    let ids: Vec<u32> = owned.series.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![1, 3, 5]);
    assert_eq!(owned.series[1].timestamps, vec![4, 9]);
    assert_eq!(owned.series[0].timestamps, vec![2, 4, 9]);
    assert_eq!(owned.tombstones, vec![(3, 0, 3)]);
}

#[derive(Debug, Clone)]
enum Op {
    Append(u32, i64, f64),
    Many(u32, Vec<(i64, f64)>),
    Batch(Vec<(u32, i64, f64)>),
    Delete(u32, i64, i64),
    Read(u32, i64, i64),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let id = 0u32..5;
    let ts = -20i64..20;
    let val = any::<f64>();
    prop_oneof![
        4 => (id.clone(), ts.clone(), val).prop_map(|(i, t, v)| Op::Append(i, t, v)),
        2 => (id.clone(), prop::collection::vec((ts.clone(), val), 0..12))
            .prop_map(|(i, p)| Op::Many(i, p)),
        2 => prop::collection::vec((id.clone(), ts.clone(), val), 0..24).prop_map(Op::Batch),
        1 => (id.clone(), ts.clone(), ts.clone()).prop_map(|(i, a, b)| Op::Delete(i, a, b)),
        1 => (id, ts.clone(), ts).prop_map(|(i, a, b)| Op::Read(i, a, b)),
    ]
}

type Model = BTreeMap<u32, BTreeMap<i64, u64>>;

fn model_range(m: &Model, id: u32, start: i64, end: i64) -> (Vec<i64>, Vec<u64>) {
    if start > end {
        return (vec![], vec![]);
    }
    m.get(&id)
        .map(|s| s.range(start..=end).map(|(&t, &v)| (t, v)).unzip())
        .unwrap_or_default()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn head_matches_last_write_wins_model(ops in prop::collection::vec(op_strategy(), 0..40)) {
        let h = Head::new();
        let mut model: Model = BTreeMap::new();
        let mut tombstones = Vec::new();
        let mut seen: Option<(i64, i64)> = None;
        let mut see = |t: i64| {
            seen = Some(seen.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
        };
        for op in ops {
            match op {
                Op::Append(i, t, v) => {
                    append(&h, i, t, v);
                    model.entry(i).or_default().insert(t, v.to_bits());
                    see(t);
                }
                Op::Many(i, pts) => {
                    let (t, v): (Vec<i64>, Vec<f64>) = pts.iter().copied().unzip();
                    h.append_many(i, &t, &v).unwrap();
                    for (t, v) in pts {
                        model.entry(i).or_default().insert(t, v.to_bits());
                        see(t);
                    }
                }
                Op::Batch(pts) => {
                    append_runs(&h, &pts);
                    for (i, t, v) in pts {
                        model.entry(i).or_default().insert(t, v.to_bits());
                        see(t);
                    }
                }
                Op::Delete(i, a, b) => {
                    h.delete_range(i, a, b);
                    if a <= b {
                        tombstones.push((i, a, b));
                        if let Some(s) = model.get_mut(&i) {
                            s.retain(|&t, _| t < a || t > b);
                        }
                    }
                }
                Op::Read(i, a, b) => {
                    let (t, v) = read(&h, i, a, b);
                    prop_assert_eq!((t, bits(&v)), model_range(&model, i, a, b));
                }
            }
        }
        for id in 0..5 {
            let (t, v) = read_all(&h, id);
            prop_assert_eq!((t, bits(&v)), model_range(&model, id, i64::MIN, i64::MAX));
        }
        // Every series was read, so every duplicate is gone from the count.
        let total: usize = model.values().map(BTreeMap::len).sum();
        prop_assert_eq!(h.point_count(), total);
        let want_ids: Vec<u32> =
            model.iter().filter(|(_, s)| !s.is_empty()).map(|(&i, _)| i).collect();
        prop_assert_eq!(series_ids(&h), want_ids.clone());
        prop_assert_eq!(h.tombstones(), tombstones.clone());
        if let (Some((lo, hi)), Some(min), Some(max)) = (seen, h.min_ts(), h.max_ts()) {
            prop_assert_eq!((min, max), (lo, hi));
        } else {
            prop_assert!(seen.is_none() && h.min_ts().is_none() && h.max_ts().is_none());
        }

        let frozen = h.to_sorted();
        prop_assert_eq!(frozen.tombstones, tombstones);
        prop_assert_eq!(frozen.series.iter().map(|s| s.id).collect::<Vec<_>>(), want_ids);
        for s in &frozen.series {
            let (t, v) = model_range(&model, s.id, i64::MIN, i64::MAX);
            prop_assert_eq!(&s.timestamps, &t);
            prop_assert_eq!(bits(&s.values), v);
        }
    }
}

/// One writer appends in order to some series and in reverse order to another, and
/// deletes nothing; readers check that every read is sorted, deduplicated, and a
/// contiguous run of what the writer has written so far.
#[test]
fn one_writer_many_readers() {
    const STEPS: i64 = 20_000;
    const IN_ORDER: u32 = 8;
    const REVERSED: u32 = IN_ORDER; // the series written newest-first
    let h = Arc::new(Head::new());
    std::thread::scope(|scope| {
        let writer = Arc::clone(&h);
        scope.spawn(move || {
            for step in 0..STEPS {
                let mut batch: Vec<(u32, i64, f64)> = (0..IN_ORDER)
                    .rev()
                    .map(|id| (id, step, step as f64))
                    .collect();
                let late = STEPS - 1 - step;
                batch.push((REVERSED, late, late as f64));
                append_runs(&writer, &batch);
                // Rewrite the same point: last write wins, same value.
                append(&writer, 0, step, step as f64);
            }
        });
        for reader_no in 0..2u32 {
            let reader = Arc::clone(&h);
            scope.spawn(move || {
                let mut out = Columns::new();
                for i in 0..400u32 {
                    let id = (i + reader_no) % (IN_ORDER + 1);
                    reader.read_series(id, i64::MIN, i64::MAX, &mut out);
                    let (t, v) = (out.ts(), out.vals());
                    assert!(t.windows(2).all(|w| w[1] == w[0] + 1), "not contiguous");
                    assert!(t.iter().zip(v).all(|(&t, &v)| t as f64 == v));
                    if id < IN_ORDER {
                        assert!(t.first().is_none_or(|&f| f == 0));
                    } else {
                        assert!(t.last().is_none_or(|&l| l == STEPS - 1));
                    }
                    if i % 100 == 0 {
                        let frozen = reader.to_sorted();
                        for s in &frozen.series {
                            assert!(s.timestamps.windows(2).all(|w| w[0] < w[1]));
                        }
                    }
                }
            });
        }
    });
    let expected = (IN_ORDER as usize + 1) * STEPS as usize;
    for id in 0..=IN_ORDER {
        assert_eq!(read_all(&h, id).0.len(), STEPS as usize);
    }
    assert_eq!(h.point_count(), expected);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    /// `append_batch` against `append_many` one series at a time: the same content,
    /// counters and time bounds, with series the head has and new ones, a series twice
    /// in one batch, and empty columns.
    #[test]
    fn a_batch_appends_as_one_append_per_series(
        earlier in prop::collection::vec((0u32..6, -50i64..50, any::<i32>()), 0..20),
        batches in prop::collection::vec(
            prop::collection::vec(
                (0u32..8, prop::collection::vec((-50i64..50, any::<i32>()), 0..6)),
                0..6,
            ),
            1..4,
        ),
    ) {
        let (one, many) = (Head::new(), Head::new());
        append_runs(&one, &earlier.iter().map(|&(id, t, v)| (id, t, f64::from(v))).collect::<Vec<_>>());
        append_runs(&many, &earlier.iter().map(|&(id, t, v)| (id, t, f64::from(v))).collect::<Vec<_>>());
        for batch in &batches {
            let cols: Vec<(u32, Vec<i64>, Vec<f64>)> = batch
                .iter()
                .map(|(id, pts)| (*id, pts.iter().map(|p| p.0).collect(), pts.iter().map(|p| f64::from(p.1)).collect()))
                .collect();
            for (id, ts, vals) in &cols {
                one.append_many(*id, ts, vals).unwrap();
            }
            many.append_batch(cols.iter().map(|(id, ts, vals)| (*id, &ts[..], &vals[..])));
            prop_assert_eq!(many.point_count(), one.point_count());
            prop_assert_eq!(many.approximate_bytes(), one.approximate_bytes());
            prop_assert_eq!((many.min_ts(), many.max_ts()), (one.min_ts(), one.max_ts()));
        }
        prop_assert_eq!(series_ids(&many), series_ids(&one));
        for id in series_ids(&one) {
            prop_assert_eq!(read_all(&many, id), read_all(&one, id));
        }
    }
}

#[test]
fn prefetching_the_end_changes_nothing() {
    let mut b = SeriesBuf::default();
    for n in [0, 1, 5, usize::MAX] {
        b.prefetch_end(n);
    }
    b.reserve(8);
    b.extend(&[1, 2, 3], &[1.0, 2.0, 3.0]);
    for n in [0, 1, 5, 6, 100, usize::MAX] {
        b.prefetch_end(n);
    }
    assert_eq!(b.len(), 3);
    assert_eq!(b.range(i64::MIN, i64::MAX), &[(1, 1.0), (2, 2.0), (3, 3.0)]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `append_batch` (series the head has, then series new to it under one lock of
    /// the map, a series possibly more than once) and `append_likely_new` leave the
    /// head as `append_many` one column at a time does, counters included.
    #[test]
    fn batches_and_new_series_match_one_column_at_a_time(
        before in proptest::collection::vec((0u32..6, proptest::collection::vec((-20i64..20, -5i32..5), 1..5)), 0..5),
        batch in proptest::collection::vec((0u32..12, proptest::collection::vec((-20i64..20, -5i32..5), 0..5)), 0..12),
    ) {
        let cols = |pts: &Vec<(i64, i32)>| -> (Vec<i64>, Vec<f64>) {
            pts.iter().map(|&(t, v)| (t, f64::from(v))).unzip()
        };
        let (one, many, likely_new) = (Head::new(), Head::new(), Head::new());
        for (id, pts) in &before {
            let (t, v) = cols(pts);
            for h in [&one, &many, &likely_new] {
                h.append_many(*id, &t, &v).unwrap();
            }
        }
        let columns: Vec<(u32, Vec<i64>, Vec<f64>)> = batch
            .iter()
            .map(|(id, pts)| {
                let (t, v) = cols(pts);
                (*id, t, v)
            })
            .collect();
        for (id, t, v) in &columns {
            one.append_many(*id, t, v).unwrap();
            likely_new.append_likely_new(*id, t, v).unwrap();
        }
        many.append_batch(columns.iter().map(|(id, t, v)| (*id, &t[..], &v[..])));
        // the counters first: a read sorts a series and counts a rewritten point once
        for (name, h) in [("batch", &many), ("likely new", &likely_new)] {
            prop_assert_eq!(h.point_count(), one.point_count(), "{}", name);
            prop_assert_eq!(h.approximate_bytes(), one.approximate_bytes(), "{}", name);
            prop_assert_eq!((h.min_ts(), h.max_ts()), (one.min_ts(), one.max_ts()));
        }
        for h in [&many, &likely_new] {
            prop_assert_eq!(series_ids(h), series_ids(&one));
            for id in 0..12 {
                prop_assert_eq!(read_all(h, id), read_all(&one, id));
            }
        }
    }
}
