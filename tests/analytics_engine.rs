//! `Db::query`, `Db::last`, `Db::last_points` and `Db::value_at` against the brute-force
//! reference of `support_analytics`
//! evaluated over `Db::query_range`: random series and tags, points written out of
//! order, overwritten and deleted, across flushes, compactions and reopens (tiny chunks
//! and partitions, so segments, overlapping segments and multi-chunk series form), then
//! random queries (matchers of every kind, ranges, bucket widths from 1 to wider than
//! the data, every aggregation, raw points, value filters, group-by on zero, one and
//! several keys). Also: pushdown really happens (the `query_chunks_*` counters), the
//! latest-point cache stays right across writes, deletes, retention and reopen, and bad
//! input is an error.

mod support_analytics;

use proptest::prelude::*;
use support_analytics::strategies::{KEYS, VALUES, exact_value, query};
use support_analytics::{assert_same, exactness};
use tidestore::ts::{Aggregation, Group, Matcher, Options, Query, ValueFilter};
use tidestore::{Db, Error, Point};

/// A series of the pool: metric and tags (sorted, one value per key).
type Series = (&'static str, Vec<(String, String)>);

#[derive(Debug, Clone)]
enum Op {
    Insert { s: usize, t: i64, v: f64 },
    Batch(Vec<(usize, i64, f64)>),
    Delete { s: Option<usize>, lo: i64, hi: i64 },
    Flush,
    Compact,
    Reopen,
}

fn series_pool() -> impl Strategy<Value = Vec<Series>> {
    let one = (
        prop_oneof![5 => Just("cpu"), 1 => Just("mem")],
        prop::collection::vec((0..KEYS.len(), 0..VALUES.len()), 0..4),
    )
        .prop_map(|(m, tags)| {
            let mut t: Vec<(String, String)> = tags
                .into_iter()
                .map(|(k, v)| (KEYS[k].to_owned(), VALUES[v].to_owned()))
                .collect();
            t.sort();
            t.dedup_by(|a, b| a.0 == b.0);
            (m, t)
        });
    prop::collection::vec(one, 1..7)
}

fn ops(base: i64, n_series: usize) -> impl Strategy<Value = Vec<Op>> {
    let t = move || (0i64..120).prop_map(move |o| base.saturating_add(o));
    let s = 0..n_series;
    let op = prop_oneof![
        8 => (s.clone(), t(), exact_value()).prop_map(|(s, t, v)| Op::Insert { s, t, v }),
        4 => prop::collection::vec((s.clone(), t(), exact_value()), 1..30).prop_map(Op::Batch),
        1 => (prop::option::of(s), t(), 0i64..30)
            .prop_map(|(s, lo, d)| Op::Delete { s, lo, hi: lo.saturating_add(d) }),
        2 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ];
    prop::collection::vec(op, 1..40)
}

fn base() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => Just(0i64),
        1 => Just(-60i64),
        1 => Just(i64::MIN),
        1 => Just(i64::MAX - 119),
        1 => Just(1_451_606_400_000i64),
    ]
}

fn options() -> Options {
    Options::default()
        .chunk_points(16)
        .partition_width(40)
        .background_work(false)
}

fn tag_refs(tags: &[(String, String)]) -> Vec<(&str, &str)> {
    tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Applies `ops` to a database in `dir`; returns it open.
fn build(dir: &std::path::Path, pool: &[Series], ops: &[Op]) -> Db {
    let mut db = Db::open_with(dir, options()).unwrap();
    for op in ops {
        match op {
            Op::Insert { s, t, v } => {
                let (m, tags) = &pool[*s];
                db.insert(m, *t, *v, &tag_refs(tags)).unwrap();
            }
            Op::Batch(points) => {
                let batch: Vec<Point> = points
                    .iter()
                    .map(|&(s, t, v)| {
                        let (m, tags) = &pool[s];
                        Point::new(m, t, v, &tag_refs(tags))
                    })
                    .collect();
                db.insert_batch(&batch).unwrap();
            }
            Op::Delete { s, lo, hi } => match s {
                Some(s) => {
                    let (m, tags) = &pool[*s];
                    db.delete_range(m, *lo, *hi, &tag_refs(tags)).unwrap();
                }
                None => db.delete_range("cpu", *lo, *hi, &[]).unwrap(),
            },
            Op::Flush => db.flush().unwrap(),
            Op::Compact => db.compact().unwrap(),
            Op::Reopen => {
                db.close().unwrap();
                db = Db::open_with(dir, options()).unwrap();
            }
        }
    }
    db
}

/// Checks `q` and `last` with `q`'s matchers against the reference over `query_range`.
fn check(db: &Db, q: &Query) {
    let points = db.query_range("cpu", i64::MIN, i64::MAX, &[]).unwrap();
    let want = support_analytics::evaluate(q, &points);
    let got = db.query(q).unwrap();
    assert_same(&got, &want, exactness(q.aggregation()));
    // The columnar answer: the same groups, bit for bit, keys shared when per series.
    let columns = db.query_columns(q).unwrap();
    assert_eq!(columns.offsets.len(), columns.len() + 1);
    for key in &columns.keys {
        assert_eq!(key.series_key().is_some(), q.group_keys().is_none());
    }
    assert_same(
        &columns.into_groups(),
        &got,
        support_analytics::Exactness::Bits,
    );
    let want = support_analytics::last("cpu", q.matchers(), &points);
    let got = db.last("cpu", q.matchers()).unwrap();
    assert_same(&got, &want, support_analytics::Exactness::Bits);
    // The columnar form holds the same points, in the same order.
    let columns = db.last_points("cpu", q.matchers()).unwrap();
    assert_eq!(columns.len(), want.len());
    for ((key, t, v), g) in columns.iter().zip(&want) {
        assert_eq!(key.metric(), "cpu");
        assert_eq!(key.tags(), g.tags.as_slice());
        assert_eq!((t, v.to_bits()), (g.timestamps[0], g.values[0].to_bits()));
    }
}

/// `value_at` of every series of the pool at every timestamp a point has (and one
/// before them all) against `query_range`; series are named with their tags reversed.
fn check_value_at(db: &Db, pool: &[Series]) {
    for metric in ["cpu", "mem"] {
        let points = db.query_range(metric, i64::MIN, i64::MAX, &[]).unwrap();
        let mut times: Vec<i64> = points.iter().map(|p| p.timestamp).collect();
        times.push(i64::MIN);
        times.sort_unstable();
        times.dedup();
        for (m, tags) in pool.iter().filter(|s| s.0 == metric) {
            let mut refs = tag_refs(tags);
            refs.reverse();
            for &t in &times {
                let want = points
                    .iter()
                    .find(|p| p.timestamp == t && &p.tags == tags)
                    .map(|p| p.value.to_bits());
                let got = db.value_at(m, &refs, t).unwrap().map(f64::to_bits);
                assert_eq!(got, want, "value_at({m}, {tags:?}, {t})");
            }
        }
    }
}

fn case() -> impl Strategy<Value = (Vec<Series>, Vec<Op>, Vec<Query>, Vec<Query>)> {
    (base(), series_pool()).prop_flat_map(|(base, pool)| {
        let n = pool.len();
        (
            Just(pool),
            ops(base, n),
            prop::collection::vec(query(base), 1..4),
            prop::collection::vec(query(base), 1..4),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn query_and_last_match_the_reference((pool, ops, mid, end) in case()) {
        let dir = tempfile::tempdir().unwrap();
        let half = ops.len() / 2;
        let db = build(dir.path(), &pool, &ops[..half]);
        // Midway, with whatever the head, frozen heads and segments hold now.
        for q in &mid {
            check(&db, q);
        }
        check_value_at(&db, &pool);
        drop(db);
        let db = build(dir.path(), &pool, &ops[half..]);
        for q in mid.iter().chain(&end) {
            check(&db, q);
        }
        check_value_at(&db, &pool);
        db.compact().unwrap();
        for q in &end {
            check(&db, q);
        }
        check_value_at(&db, &pool);
    }
}

/// What one query did: its answer and the growth of the chunk counters.
struct Counted {
    got: Vec<Group>,
    from_index: u64,
    decoded: u64,
    skipped: u64,
    as_mantissas: u64,
}

/// Runs `q` on `db`, checks the answer against the reference over `query_range` to
/// `exact`, and reports what the query did.
fn counted(db: &Db, q: &Query, exact: support_analytics::Exactness) -> Counted {
    let points = db.query_range("cpu", i64::MIN, i64::MAX, &[]).unwrap();
    let s0 = db.stats();
    let got = db.query(q).unwrap();
    let s1 = db.stats();
    assert_same(&got, &support_analytics::evaluate(q, &points), exact);
    Counted {
        got,
        from_index: s1.query_chunks_from_index - s0.query_chunks_from_index,
        decoded: s1.query_chunks_decoded - s0.query_chunks_decoded,
        skipped: s1.query_chunks_skipped - s0.query_chunks_skipped,
        as_mantissas: s1.query_chunks_as_mantissas - s0.query_chunks_as_mantissas,
    }
}

/// Writes `hosts` series of `cpu` with one point per second for `seconds` seconds.
fn fill(db: &Db, hosts: usize, seconds: i64) {
    for h in 0..hosts {
        let host = format!("h{h}");
        let series = db.series("cpu", &[("host", &host)]).unwrap();
        let ts: Vec<i64> = (0..seconds).map(|s| s * 1000).collect();
        let vs: Vec<f64> = (0..seconds).map(|s| (s % 100) as f64).collect();
        db.append(&series, &ts, &vs).unwrap();
    }
}

#[test]
fn whole_chunks_in_one_bucket_are_answered_from_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options::default().chunk_points(16).background_work(false);
    let db = Db::open_with(dir.path(), opts).unwrap();
    fill(&db, 3, 640);
    db.compact().unwrap();
    let run = |q: &Query| {
        let c = counted(&db, q, exactness(q.aggregation()));
        (c.from_index, c.decoded, c.skipped)
    };
    // One bucket over everything: every chunk is answered from its index entry.
    let (chunks, decoded, _) = run(&Query::new("cpu", Aggregation::Sum));
    assert!(chunks >= 3 * 640 / 16, "{chunks} chunks");
    assert_eq!(decoded, 0);
    for a in [
        Aggregation::Count,
        Aggregation::Min,
        Aggregation::Max,
        Aggregation::Mean,
    ] {
        assert_eq!(run(&Query::new("cpu", a).group_by(&[])), (chunks, 0, 0));
    }
    // 80 s buckets: only the chunks across a bucket boundary (7 per series at most)
    // are decoded.
    let (from_index, decoded, _) = run(&Query::new("cpu", Aggregation::Max).every(80_000));
    assert_eq!(from_index + decoded, chunks);
    assert!(decoded <= 3 * 7, "{decoded} decoded");
    // A range cutting the first and last chunks: those are decoded too.
    let q = Query::new("cpu", Aggregation::Sum)
        .range(5_000, 634_999)
        .every(80_000);
    let (_, cut_decoded, _) = run(&q);
    assert!(cut_decoded <= decoded + 6 && cut_decoded > 0);
    // First needs the first value, which the index does not keep: all decoded.
    assert_eq!(run(&Query::new("cpu", Aggregation::First)), (0, chunks, 0));
    // `> 95`: the chunks whose values (second % 100) all lie at or below 95 are
    // skipped, the others decoded.
    let q = Query::new("cpu", Aggregation::Count).where_value(ValueFilter::gt(95.0));
    let (from_index, decoded, skipped) = run(&q);
    assert_eq!(from_index + decoded + skipped, chunks);
    assert!(
        skipped > 2 * decoded && decoded >= 3 * 6,
        "{decoded} {skipped}"
    );
    // `>= 0`: every chunk passes whole: answered from the index.
    let q = Query::new("cpu", Aggregation::Count).where_value(ValueFilter::ge(0.0));
    assert_eq!(run(&q), (chunks, 0, 0));

    // A head point or a head delete inside a chunk makes that chunk decoded, and the
    // answer right.
    db.insert("cpu", 30_000, 1000.0, &[("host", "h0")]).unwrap();
    db.delete_range("cpu", 300_000, 300_000, &[("host", "h1")])
        .unwrap();
    let points = db.query_range("cpu", i64::MIN, i64::MAX, &[]).unwrap();
    let q = Query::new("cpu", Aggregation::Max);
    let s0 = db.stats();
    assert_same(
        &db.query(&q).unwrap(),
        &support_analytics::evaluate(&q, &points),
        support_analytics::Exactness::Bits,
    );
    let s1 = db.stats();
    assert_eq!(s1.query_chunks_decoded - s0.query_chunks_decoded, 2);
    assert_eq!(
        s1.query_chunks_from_index - s0.query_chunks_from_index,
        chunks - 2
    );
}

#[test]
fn last_uses_its_cache_and_stays_right() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || Options::default().chunk_points(16).background_work(false);
    let db = Db::open_with(dir.path(), opts()).unwrap();
    fill(&db, 4, 100);
    db.compact().unwrap();
    let first = db.last("cpu", &[]).unwrap();
    assert_eq!(first.len(), 4);
    assert!(
        first
            .iter()
            .all(|g| g.timestamps == [99_000] && g.values == [99.0])
    );
    // The second call decodes nothing: the newest points are cached.
    let s0 = db.stats();
    assert_eq!(db.last("cpu", &[]).unwrap(), first);
    assert_eq!(db.stats().query_chunks_decoded, s0.query_chunks_decoded);

    let check = |db: &Db| {
        let points = db.query_range("cpu", i64::MIN, i64::MAX, &[]).unwrap();
        for m in [
            vec![],
            vec![Matcher::eq("host", "h1")],
            vec![Matcher::ne("host", "h1")],
        ] {
            assert_same(
                &db.last("cpu", &m).unwrap(),
                &support_analytics::last("cpu", &m, &points),
                support_analytics::Exactness::Bits,
            );
        }
    };
    // An out-of-order write older than the newest point changes nothing; an overwrite
    // of the newest point and a delete of it do.
    db.insert("cpu", 5_000, -1.0, &[("host", "h0")]).unwrap();
    db.insert("cpu", 99_000, -2.0, &[("host", "h1")]).unwrap();
    db.delete_range("cpu", 95_000, 99_000, &[("host", "h2")])
        .unwrap();
    check(&db);
    let h2 = db.last("cpu", &[Matcher::eq("host", "h2")]).unwrap();
    assert_eq!(h2[0].timestamps, [94_000]);
    // Delete every point of h3: it has no newest point any more.
    db.delete_range("cpu", i64::MIN, i64::MAX, &[("host", "h3")])
        .unwrap();
    check(&db);
    assert!(
        db.last("cpu", &[Matcher::eq("host", "h3")])
            .unwrap()
            .is_empty()
    );
    db.flush().unwrap();
    check(&db);
    db.compact().unwrap();
    check(&db);
    // Dropped without close (the WAL replays) and reopened: the same answers.
    drop(db);
    let db = Db::open_with(dir.path(), opts()).unwrap();
    check(&db);
    assert_eq!(
        db.last("cpu", &[Matcher::eq("host", "h1")]).unwrap()[0].values,
        [-2.0]
    );
}

/// The latest-point cache survives a new version: a compaction keeps it whole, a flush
/// keeps it for the series the new segment does not touch.
#[test]
fn last_keeps_its_cache_across_flush_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options::default().chunk_points(16).background_work(false);
    let db = Db::open_with(dir.path(), opts).unwrap();
    fill(&db, 4, 100);
    db.flush().unwrap();
    let first = db.last_points("cpu", &[]).unwrap();
    assert_eq!(first.len(), 4);
    let decoded = |db: &Db| db.stats().query_chunks_decoded;
    // A compaction: nothing to decode again.
    db.compact().unwrap();
    let before = decoded(&db);
    let again = db.last_points("cpu", &[]).unwrap();
    assert_eq!(decoded(&db), before, "the compaction kept the cache");
    assert_eq!(
        (again.timestamps, again.values),
        (first.timestamps.clone(), first.values.clone())
    );
    // A flush touching one series: only that one is read again, and it is right.
    db.insert("cpu", 200_000, 7.0, &[("host", "h2")]).unwrap();
    db.flush().unwrap();
    let before = decoded(&db);
    let after = db.last_points("cpu", &[]).unwrap();
    assert_eq!(decoded(&db), before + 1, "one series decoded again");
    let h2 = after
        .iter()
        .find(|(k, _, _)| k.tags()[0].1 == "h2")
        .unwrap();
    assert_eq!((h2.1, h2.2), (200_000, 7.0));
    // A flush of a tombstone deleting a series' newest point invalidates it too.
    db.delete_range("cpu", 99_000, 99_000, &[("host", "h0")])
        .unwrap();
    db.flush().unwrap();
    let h0 = db.last("cpu", &[Matcher::eq("host", "h0")]).unwrap();
    assert_eq!(h0[0].timestamps, [98_000]);
}

#[test]
fn retention_hides_old_points_from_query_and_last() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options::default()
        .chunk_points(16)
        .partition_width(10_000)
        .retention(Some(50_000))
        .background_work(false);
    let db = Db::open_with(dir.path(), opts).unwrap();
    fill(&db, 2, 100);
    db.insert("cpu", 1_000, 5.0, &[("host", "old")]).unwrap();
    db.compact().unwrap();
    let points = db.query_range("cpu", i64::MIN, i64::MAX, &[]).unwrap();
    assert!(!points.is_empty() && points.iter().all(|p| p.timestamp > 40_000));
    for q in [
        Query::new("cpu", Aggregation::Count),
        Query::new("cpu", Aggregation::Sum).every(7_000),
        Query::new("cpu", Aggregation::Min)
            .range(0, 60_000)
            .group_by(&[]),
    ] {
        assert_same(
            &db.query(&q).unwrap(),
            &support_analytics::evaluate(&q, &points),
            support_analytics::Exactness::Bits,
        );
    }
    assert_same(
        &db.last("cpu", &[]).unwrap(),
        &support_analytics::last("cpu", &[], &points),
        support_analytics::Exactness::Bits,
    );
    assert!(
        db.last("cpu", &[Matcher::eq("host", "old")])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn exact_series_and_supersets() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    db.insert("cpu", 1, 1.0, &[("host", "a"), ("dc", "x")])
        .unwrap();
    db.insert("cpu", 1, 2.0, &[("host", "a"), ("dc", "x"), ("rack", "1")])
        .unwrap();
    db.insert("cpu", 1, 3.0, &[("host", "b"), ("dc", "x")])
        .unwrap();
    db.insert("mem", 1, 4.0, &[("host", "a"), ("dc", "x")])
        .unwrap();
    // Supersets that must not match: another metric, another value of a named key.
    db.insert("mem", 1, 5.0, &[("host", "a"), ("dc", "x"), ("rack", "2")])
        .unwrap();
    db.insert("cpu", 1, 6.0, &[("host", "a"), ("dc", "y"), ("rack", "1")])
        .unwrap();
    let q = Query::new("cpu", Aggregation::Sum)
        .filter(Matcher::eq("host", "a"))
        .filter(Matcher::eq("dc", "x"));
    let got = db.query(&q).unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].values, [1.0]);
    assert_eq!(got[1].values, [2.0]);
    let got = db.query(&q.clone().group_by(&[])).unwrap();
    assert_eq!(got[0].values, [3.0]);
    assert!(
        db.query(&Query::new("disk", Aggregation::Sum))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn bad_input_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    db.insert("cpu", 1, 1.0, &[("host", "a")]).unwrap();
    let invalid = |r: Result<_, Error>| matches!(r, Err(Error::InvalidArgument(_)));
    let q = || Query::new("cpu", Aggregation::Max);
    assert!(invalid(db.query(&q().every(0))));
    assert!(invalid(db.query(&q().every(-5))));
    assert!(invalid(db.query(&q().range(10, 9))));
    assert!(invalid(db.query(&Query::new("", Aggregation::Max))));
    assert!(invalid(db.query(&q().filter(Matcher::eq("", "a")))));
    assert!(invalid(
        db.query(&q().where_value(ValueFilter::between(2.0, 1.0)))
    ));
    assert!(invalid(db.last("", &[])));
    let invalid_as = |r: Result<(), Error>| matches!(r, Err(Error::InvalidArgument(_)));
    assert!(invalid_as(db.last_points("", &[]).map(drop)));
    assert!(invalid_as(db.value_at("", &[], 1).map(drop)));
    let twice = db.value_at("cpu", &[("host", "a"), ("host", "b")], 1);
    assert!(invalid_as(twice.map(drop)));
    assert!(invalid_as(
        db.value_at("cpu", &[("bad\nkey", "a")], 1).map(drop)
    ));
    assert_eq!(db.value_at("cpu", &[("host", "a")], 1).unwrap(), Some(1.0));
    assert_eq!(db.value_at("cpu", &[("host", "b")], 1).unwrap(), None);
    assert!(invalid(db.last("cpu", &[Matcher::ne("bad\nkey", "a")])));
    assert!(matches!(
        Matcher::regex("host", "("),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Matcher::not_regex("host", "[a-"),
        Err(Error::InvalidArgument(_))
    ));
}

/// Found by `query_and_last_match_the_reference`: a series absent from a group of
/// overlapping segments (here a segment of tombstones over an older one) had its head
/// points handed to the aggregation before a later group's older point of the same
/// timestamp, and the query failed with "points pushed out of time order".
#[test]
fn head_points_wait_for_the_groups_after_an_empty_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), options()).unwrap();
    let (t0, t1) = (i64::MIN + 26, i64::MIN + 48);
    let a = [("host", "a")];
    let b = [("dc", "x-1"), ("rack", "a")];
    db.insert_batch(&[
        Point::new("cpu", t1, 1.0, &b),
        Point::new("cpu", t0, 0.0, &a),
    ])
    .unwrap();
    db.compact().unwrap();
    db.delete_range("cpu", i64::MIN + 6, t0, &[]).unwrap();
    db.flush().unwrap();
    db.insert("cpu", t1, 2.0, &b).unwrap();
    let got = db.query(&Query::new("cpu", Aggregation::Count)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].values, [1.0]);
    let got = db.query(&Query::new("cpu", Aggregation::Last)).unwrap();
    assert_eq!(got[0].values, [2.0]);
}

/// Ten-second points of `hosts` series of `cpu` from `T0`: a random walk in cents
/// (two decimals, the decimal codec's case) from `seed`, with `specials` (values the
/// codec keeps as exceptions) at the given steps.
fn decimal_walk(db: &Db, hosts: usize, steps: usize, seed: u64, specials: &[(usize, f64)]) {
    let mut x = seed | 1;
    for h in 0..hosts {
        let series = db.series("cpu", &[("host", &format!("h{h}"))]).unwrap();
        let mut cents = 5_000i64;
        let ts: Vec<i64> = (0..steps).map(|i| T0 + i as i64 * STEP).collect();
        let mut vs: Vec<f64> = (0..steps)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                cents = (cents + (x % 201) as i64 - 100).clamp(0, 10_000);
                cents as f64 / 100.0
            })
            .collect();
        for &(at, v) in specials {
            if let Some(slot) = vs.get_mut(at) {
                *slot = v;
            }
        }
        db.append(&series, &ts, &vs).unwrap();
    }
}

const T0: i64 = 1_451_606_400_000;
const STEP: i64 = 10_000;

fn mantissa_aggregation() -> impl Strategy<Value = Aggregation> {
    prop_oneof![
        Just(Aggregation::Count),
        Just(Aggregation::Min),
        Just(Aggregation::Max),
        Just(Aggregation::First),
        Just(Aggregation::Last),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The aggregations that read decimal chunks as mantissas (`Count`, `Min`, `Max`,
    /// `First`, `Last` over buckets of many points) answer bit for bit as the reference
    /// over `query_range`: with exceptions in some blocks, head points overwriting
    /// segment points, and a delete, before and after compaction.
    #[test]
    fn mantissa_reads_match_the_reference(
        hosts in 1usize..4,
        steps in 300usize..1600,
        seed in any::<u64>(),
        specials in prop::collection::vec((0usize..1600, prop_oneof![
            Just(f64::NAN), Just(-0.0), Just(f64::INFINITY), Just(f64::NEG_INFINITY),
            Just(1e300), Just(-1e300), Just(0.1 + 0.2),
        ]), 0..12),
        overwrites in prop::collection::vec((0usize..1600, -10_000i64..10_000), 0..5),
        delete in prop::option::of((0usize..1600, 0i64..300)),
        queries in prop::collection::vec((
            mantissa_aggregation(),
            0usize..1600,
            0usize..1600,
            // from eleven minutes (64 points a bucket: read as mantissas) to two days
            prop_oneof![Just(None), (11i64..=2_880).prop_map(|m| Some(m * 60_000))],
        ), 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options::default()
            .chunk_points(600)
            .partition_width(86_400_000)
            .background_work(false);
        let db = Db::open_with(dir.path(), opts).unwrap();
        decimal_walk(&db, hosts, steps, seed, &specials);
        db.compact().unwrap();
        let check = |db: &Db| {
            let points = db.query_range("cpu", i64::MIN, i64::MAX, &[]).unwrap();
            for &(a, from, to, every) in &queries {
                let (from, to) = (from.min(to), from.max(to));
                let mut q = Query::new("cpu", a)
                    .range(T0 + from as i64 * STEP, T0 + to as i64 * STEP + 5_000);
                if let Some(w) = every {
                    q = q.every(w);
                }
                let want = support_analytics::evaluate(&q, &points);
                assert_same(&db.query(&q).unwrap(), &want, exactness(q.aggregation()));
                let by_host = q.clone().group_by(&["host"]);
                let want = support_analytics::evaluate(&by_host, &points);
                assert_same(&db.query(&by_host).unwrap(), &want, exactness(q.aggregation()));
            }
        };
        check(&db);
        for &(at, cents) in &overwrites {
            db.insert("cpu", T0 + at as i64 * STEP, cents as f64 / 100.0, &[("host", "h0")])
                .unwrap();
        }
        if let Some((at, len)) = delete {
            let lo = T0 + at as i64 * STEP;
            db.delete_range("cpu", lo, lo + len * STEP, &[]).unwrap();
        }
        check(&db);
        db.compact().unwrap();
        check(&db);
    }
}

/// Reading decimal chunks as mantissas happens where it pays (wide buckets of the
/// aggregations it serves) and only there; the answers match the reference.
#[test]
fn decimal_chunks_are_read_as_mantissas_for_wide_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || {
        Options::default()
            .chunk_points(600)
            .partition_width(86_400_000)
            .background_work(false)
    };
    let db = Db::open_with(dir.path(), opts()).unwrap();
    decimal_walk(&db, 2, 3_000, 7, &[]);
    db.compact().unwrap();
    let run = |q: &Query| {
        // cents are not binary fractions: sums depend on their order
        let exact = match q.aggregation() {
            Some(Aggregation::Sum) => support_analytics::Exactness::Relative(1e-12),
            a => exactness(a),
        };
        let c = counted(&db, q, exact);
        (c.decoded, c.as_mantissas)
    };
    // An hour of 10 s points per bucket, over a range that cuts chunks: the chunks
    // decoded are read as mantissas.
    let range = (T0 + 5 * STEP, T0 + 2_900 * STEP);
    for a in [
        Aggregation::Count,
        Aggregation::Min,
        Aggregation::Max,
        Aggregation::First,
        Aggregation::Last,
    ] {
        let q = Query::new("cpu", a)
            .range(range.0, range.1)
            .every(3_600_000);
        let (decoded, mantissas) = run(&q);
        assert!(decoded > 0);
        assert_eq!(mantissas, decoded, "{a:?}");
    }
    // Sums and means convert every value; buckets of a minute hold six points.
    let (decoded, mantissas) = run(&Query::new("cpu", Aggregation::Sum).every(3_600_000));
    assert!(decoded > 0);
    assert_eq!(mantissas, 0);
    let narrow = Query::new("cpu", Aggregation::Max)
        .range(range.0, range.1)
        .every(60_000);
    let (decoded, mantissas) = run(&narrow);
    assert!(decoded > 0);
    assert_eq!(mantissas, 0);
    // A value filter needs the values.
    let filtered = Query::new("cpu", Aggregation::Max)
        .range(range.0, range.1)
        .every(3_600_000)
        .where_value(ValueFilter::gt(50.0));
    assert_eq!(run(&filtered).1, 0);
    // An exception in a block the read decodes (the range cuts the chunks at both
    // ends): that chunk is read as values.
    let dir = tempfile::tempdir().unwrap();
    let db2 = Db::open_with(dir.path(), opts()).unwrap();
    decimal_walk(&db2, 1, 3_000, 7, &[(10, f64::INFINITY), (2_895, f64::NAN)]);
    db2.compact().unwrap();
    let q = Query::new("cpu", Aggregation::Max)
        .range(range.0, range.1)
        .every(3_600_000);
    let c = counted(&db2, &q, exactness(q.aggregation()));
    assert!(c.got[0].values.contains(&f64::INFINITY));
    assert!(
        0 < c.as_mantissas && c.as_mantissas < c.decoded,
        "{} of {}",
        c.as_mantissas,
        c.decoded
    );
    // A head point inside a chunk's span: that chunk is read as values.
    db.insert("cpu", T0 + 1_000 * STEP, 1e6, &[("host", "h1")])
        .unwrap();
    let q = Query::new("cpu", Aggregation::Max)
        .range(range.0, range.1)
        .every(3_600_000);
    let c = counted(&db, &q, exactness(q.aggregation()));
    assert!(c.got[1].values.contains(&1e6));
    assert!(c.as_mantissas < c.decoded);
}
