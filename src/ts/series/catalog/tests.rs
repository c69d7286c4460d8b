//! Tests of the catalog: lookups, id assignment and replay, postings against a
//! brute-force model, entry and snapshot payloads.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn key(metric: &str, tags: &[(&str, &str)]) -> SeriesKey {
    SeriesKey::new(metric, tags).unwrap()
}

fn ids(b: &RoaringBitmap) -> Vec<u32> {
    b.iter().collect()
}

#[test]
fn lookup_ignores_tag_order_and_ids_are_dense() {
    let mut c = Catalog::new();
    assert_eq!(
        c.get_or_insert("cpu", &[("host", "a"), ("dc", "x")])
            .unwrap(),
        (0, true)
    );
    assert_eq!(
        c.get_or_insert("cpu", &[("dc", "x"), ("host", "a")])
            .unwrap(),
        (0, false)
    );
    assert_eq!(c.get_or_insert("cpu", &[("host", "b")]).unwrap(), (1, true));
    assert_eq!(c.get_or_insert("cpu", &[]).unwrap(), (2, true));
    assert_eq!(c.lookup("cpu", &[("host", "a"), ("dc", "x")]), Some(0));
    assert_eq!(c.lookup("cpu", &[("dc", "x"), ("host", "a")]), Some(0));
    assert_eq!(c.lookup("cpu", &[("host", "a")]), None);
    assert_eq!(c.lookup("cpu", &[("dc", "x"), ("dc", "x")]), None);
    assert_eq!(c.lookup("mem", &[("host", "b")]), None);
    assert_eq!(c.lookup("cpu", &[]), Some(2));
    assert_eq!(c.lookup_key(&key("cpu", &[("host", "b")])), Some(1));
    assert_eq!(c.key(0).unwrap().to_string(), "cpu{dc=x,host=a}");
    assert_eq!(c.key(3), None);
    assert_eq!((c.len(), c.next_id()), (3, 3));
    assert_eq!(
        c.get_or_insert_key(key("cpu", &[("host", "b")])).unwrap(),
        (1, false)
    );
    assert_eq!(c.get_or_insert_key(key("mem", &[])).unwrap(), (3, true));
}

#[test]
fn invalid_input_changes_nothing() {
    let mut c = Catalog::new();
    c.get_or_insert("cpu", &[("a", "1")]).unwrap();
    let bad: [(&str, &[(&str, &str)]); 4] = [
        ("", &[]),
        ("cpu", &[("a", "1"), ("a", "1")]),
        ("cpu", &[("a", "")]),
        ("cpu\n", &[]),
    ];
    for (m, t) in bad {
        assert!(matches!(
            c.get_or_insert(m, t),
            Err(Error::InvalidArgument(_))
        ));
    }
    let unsorted = SeriesKey {
        metric: "m".into(),
        tags: vec![("b".into(), "1".into()), ("a".into(), "1".into())],
    };
    assert!(c.get_or_insert_key(unsorted.clone()).is_err());
    assert!(c.insert_with_id(1, unsorted).is_err());
    assert_eq!((c.len(), c.next_id()), (1, 1));
    assert_eq!(c.metrics(), vec!["cpu"]);
}

#[test]
fn replay_is_idempotent_and_rejects_conflicts() {
    let mut c = Catalog::new();
    let a = key("cpu", &[("h", "a")]);
    let b = key("cpu", &[("h", "b")]);
    c.insert_with_id(0, a.clone()).unwrap();
    c.insert_with_id(0, a.clone()).unwrap();
    assert_eq!(c.len(), 1);
    assert!(matches!(
        c.insert_with_id(0, b.clone()),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.insert_with_id(1, a.clone()),
        Err(Error::InvalidArgument(_))
    ));
    assert!(c.insert_with_id(RESERVED_ID, b.clone()).is_err());
    assert!(c.insert_with_id(1 + MAX_ID_GAP + 1, b.clone()).is_err());
    assert_eq!((c.len(), c.next_id()), (1, 1));

    // Out-of-order replay leaves a hole that a later replay may fill, but new series
    // never take it.
    c.insert_with_id(3, b.clone()).unwrap();
    assert_eq!((c.len(), c.next_id()), (2, 4));
    assert_eq!(c.get_or_insert("mem", &[]).unwrap(), (4, true));
    c.insert_with_id(2, key("disk", &[])).unwrap();
    assert_eq!(c.key(1), None);
    assert_eq!(c.lookup("disk", &[]), Some(2));
    assert_eq!(
        c.iter().map(|(id, _)| id).collect::<Vec<_>>(),
        vec![0, 2, 3, 4]
    );
    assert_eq!(ids(&c.series_of_metric("cpu")), vec![0, 3]);
    // The largest allowed id: MAX_ID_GAP past the number of series defined (4).
    assert!(c.insert_with_id(5 + MAX_ID_GAP, key("far", &[])).is_err());
    c.insert_with_id(4 + MAX_ID_GAP, key("far", &[])).unwrap();
    assert_eq!(c.next_id(), 5 + MAX_ID_GAP);
}

#[test]
fn postings_and_listings() {
    let mut c = Catalog::new();
    c.get_or_insert("cpu", &[("host", "a"), ("dc", "x")])
        .unwrap();
    c.get_or_insert("cpu", &[("host", "b"), ("dc", "x")])
        .unwrap();
    c.get_or_insert("cpu", &[("host", "c"), ("dc", "y")])
        .unwrap();
    c.get_or_insert("mem", &[("host", "a")]).unwrap();
    assert_eq!(ids(&c.matching("cpu", &[("dc", "x")])), vec![0, 1]);
    assert_eq!(
        ids(&c.matching("cpu", &[("dc", "x"), ("host", "b")])),
        vec![1]
    );
    assert_eq!(
        ids(&c.matching("cpu", &[("dc", "y"), ("host", "b")])),
        Vec::<u32>::new()
    );
    assert_eq!(ids(&c.matching("cpu", &[("host", "a")])), vec![0]);
    assert_eq!(ids(&c.matching("cpu", &[])), vec![0, 1, 2]);
    assert_eq!(ids(&c.matching("cpu", &[("zone", "q")])), Vec::<u32>::new());
    assert_eq!(ids(&c.matching("disk", &[])), Vec::<u32>::new());
    assert_eq!(ids(&c.series_with_tag("host", "a")), vec![0, 3]);
    assert_eq!(c.metrics(), vec!["cpu", "mem"]);
    assert_eq!(c.tag_keys(), vec!["dc", "host"]);
    assert_eq!(c.tag_values("host"), vec!["a", "b", "c"]);
    assert!(c.tag_values("nope").is_empty());
    let sorted: Vec<String> = c.keys_sorted().iter().map(|(_, k)| k.to_string()).collect();
    assert_eq!(
        sorted,
        vec![
            "cpu{dc=x,host=a}",
            "cpu{dc=x,host=b}",
            "cpu{dc=y,host=c}",
            "mem{host=a}"
        ]
    );
    assert!(c.approximate_bytes() > 0);
}

#[test]
fn entry_payload_layout_and_strictness() {
    let k = key("m", &[("a", "b")]);
    let mut out = Vec::new();
    Catalog::encode_entry(300, &k, &mut out);
    assert_eq!(out, [1, 0xac, 0x02, 1, b'm', 1, 1, b'a', 1, b'b']);
    assert_eq!(Catalog::decode_entry(&out).unwrap(), (300, k.clone()));
    // Unknown kind, non-minimal id, reserved id, trailing byte.
    assert!(Catalog::decode_entry(&[2, 0, 1, b'm', 0]).is_err());
    assert!(Catalog::decode_entry(&[1, 0x80, 0x00, 1, b'm', 0]).is_err());
    assert!(Catalog::decode_entry(&[1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, b'm', 0]).is_err());
    let mut trailing = out.clone();
    trailing.push(0);
    assert!(Catalog::decode_entry(&trailing).is_err());
    // Entries concatenate.
    Catalog::encode_entry(7, &key("n", &[]), &mut out);
    let mut r = Reader::new(&out);
    assert_eq!(Catalog::read_entry(&mut r).unwrap().0, 300);
    assert_eq!(Catalog::read_entry(&mut r).unwrap(), (7, key("n", &[])));
    assert!(r.is_empty());
}

#[test]
fn snapshot_keeps_holes_and_next_id() {
    let mut c = Catalog::new();
    c.insert_with_id(2, key("a", &[])).unwrap();
    c.insert_with_id(5, key("b", &[("t", "1")])).unwrap();
    let mut snap = Vec::new();
    c.encode_snapshot(&mut snap);
    let d = Catalog::decode_snapshot(&snap).unwrap();
    assert_eq!((d.len(), d.next_id()), (2, 6));
    assert_eq!(d.lookup("b", &[("t", "1")]), Some(5));
    // An empty catalog whose ids were used up to 9 keeps that.
    let empty = [SNAPSHOT_VERSION, 10, 0];
    assert_eq!(Catalog::decode_snapshot(&empty).unwrap().next_id(), 10);
    // Wrong version, ids not below next_id, descending ids, duplicate keys.
    assert!(Catalog::decode_snapshot(&[2, 0, 0]).is_err());
    let mut bad = vec![SNAPSHOT_VERSION, 1, 1];
    Catalog::encode_entry(1, &key("a", &[]), &mut bad);
    assert!(Catalog::decode_snapshot(&bad).is_err());
    let mut desc = vec![SNAPSHOT_VERSION, 9, 2];
    Catalog::encode_entry(4, &key("a", &[]), &mut desc);
    Catalog::encode_entry(3, &key("b", &[]), &mut desc);
    assert!(Catalog::decode_snapshot(&desc).is_err());
    let mut dup = vec![SNAPSHOT_VERSION, 9, 2];
    Catalog::encode_entry(3, &key("a", &[]), &mut dup);
    Catalog::encode_entry(4, &key("a", &[]), &mut dup);
    assert!(Catalog::decode_snapshot(&dup).is_err());
}

/// Found by the `catalog` fuzz target: a snapshot whose `next_id` or `count` varint is
/// not minimal decoded (so one catalog had several encodings, against format.md part
/// 6); `[1, 0xff, 0x7f, 0]` is the minimal form of the fuzzer's `[1, 0xff, 0xff, 0, 0]`.
#[test]
fn snapshot_varints_must_be_minimal() {
    assert_eq!(
        Catalog::decode_snapshot(&[SNAPSHOT_VERSION, 0xff, 0x7f, 0])
            .unwrap()
            .next_id(),
        0x3fff
    );
    for padded in [
        &[SNAPSHOT_VERSION, 0xff, 0xff, 0x00, 0x00][..],
        &[SNAPSHOT_VERSION, 0x8a, 0x00, 0x00],
        &[SNAPSHOT_VERSION, 0x0a, 0x80, 0x00],
    ] {
        assert!(
            Catalog::decode_snapshot(padded).is_err(),
            "{padded:?} decoded"
        );
    }
}

/// Series drawn from small alphabets, so filters often match and keys often repeat.
fn series_strategy() -> impl Strategy<Value = (String, Vec<(String, String)>)> {
    (
        prop::sample::select(vec!["cpu", "mem", "disk"]),
        prop::collection::btree_map(
            prop::sample::select(vec!["host", "dc", "env", "core"]),
            prop::sample::select(vec!["a", "b", "c"]),
            0..4usize,
        ),
    )
        .prop_map(|(m, tags)| {
            (
                m.to_owned(),
                tags.into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            )
        })
}

fn filter_strategy() -> impl Strategy<Value = (String, Vec<(String, String)>)> {
    (
        prop::sample::select(vec!["cpu", "mem", "disk", "net"]),
        prop::collection::vec(
            (
                prop::sample::select(vec!["host", "dc", "env", "zone"]),
                prop::sample::select(vec!["a", "b", "c"]),
            ),
            0..3usize,
        ),
    )
        .prop_map(|(m, f)| {
            (
                m.to_owned(),
                f.into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            )
        })
}

fn refs(tags: &[(String, String)]) -> Vec<(&str, &str)> {
    tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn matches_brute_force_model(
        series in prop::collection::vec(series_strategy(), 0..40),
        filters in prop::collection::vec(filter_strategy(), 1..12),
    ) {
        let mut c = Catalog::new();
        // The model: canonical key -> id, assigned in first-seen order.
        let mut model: BTreeMap<SeriesKey, u32> = BTreeMap::new();
        for (m, tags) in &series {
            let mut reversed = refs(tags);
            reversed.reverse();
            let k = key(m, &reversed);
            let next = model.len() as u32;
            let want_id = *model.entry(k.clone()).or_insert(next);
            let (id, new) = c.get_or_insert(m, &reversed).unwrap();
            prop_assert_eq!(id, want_id);
            prop_assert_eq!(new, id == next);
            prop_assert_eq!(c.lookup(m, &refs(tags)), Some(id));
            prop_assert_eq!(c.key(id), Some(k.clone()));
        }
        prop_assert_eq!(c.len(), model.len());
        for (m, filter) in &filters {
            let want: Vec<u32> = {
                let mut v: Vec<u32> = model
                    .iter()
                    .filter(|(k, _)| {
                        k.metric == *m && filter.iter().all(|(fk, fv)| k.tag(fk) == Some(fv.as_str()))
                    })
                    .map(|(_, &id)| id)
                    .collect();
                v.sort_unstable();
                v
            };
            prop_assert_eq!(ids(&c.matching(m, &refs(filter))), want);
        }
        let sorted: Vec<(u32, SeriesKey)> =
            c.keys_sorted().into_iter().map(|(id, k)| (id, k.clone())).collect();
        let model_sorted: Vec<(u32, SeriesKey)> =
            model.iter().map(|(k, &id)| (id, k.clone())).collect();
        prop_assert_eq!(sorted, model_sorted);

        // The snapshot rebuilds the same catalog.
        let mut snap = Vec::new();
        c.encode_snapshot(&mut snap);
        let d = Catalog::decode_snapshot(&snap).unwrap();
        prop_assert_eq!(d.next_id(), c.next_id());
        prop_assert!(d.iter().eq(c.iter()));
        for (m, filter) in &filters {
            prop_assert_eq!(d.matching(m, &refs(filter)), c.matching(m, &refs(filter)));
        }
        // Strict prefixes are errors (a sample of them: decoding is linear).
        for cut in (0..snap.len()).step_by(snap.len().div_ceil(24).max(1)) {
            prop_assert!(Catalog::decode_snapshot(&snap[..cut]).is_err());
        }
    }

    #[test]
    fn entry_round_trips(id in 0u32..RESERVED_ID, (m, tags) in series_strategy()) {
        let k = key(&m, &refs(&tags));
        let mut out = Vec::new();
        Catalog::encode_entry(id, &k, &mut out);
        prop_assert_eq!(Catalog::decode_entry(&out).unwrap(), (id, k));
        for cut in 0..out.len() {
            prop_assert!(Catalog::decode_entry(&out[..cut]).is_err());
        }
    }

    #[test]
    fn damaged_snapshots_never_panic(
        series in prop::collection::vec(series_strategy(), 1..10),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let mut c = Catalog::new();
        for (m, tags) in &series {
            c.get_or_insert(m, &refs(tags)).unwrap();
        }
        let mut snap = Vec::new();
        c.encode_snapshot(&mut snap);
        for (i, x) in flips {
            let i = i.index(snap.len());
            snap[i] ^= x;
        }
        if let Ok(d) = Catalog::decode_snapshot(&snap) {
            // Whatever decodes is self-consistent.
            for (id, k) in d.iter() {
                prop_assert_eq!(d.lookup_key(&k), Some(id));
            }
        }
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        let _ = Catalog::decode_entry(&bytes);
        let _ = Catalog::decode_snapshot(&bytes);
    }
}

#[test]
fn ids_far_past_the_defined_series_are_refused_even_when_stepped() {
    // Each id is within MAX_ID_GAP of the previous one, but far past the number of
    // series defined: a damaged file must not grow the id table step by step.
    let mut c = Catalog::new();
    let step = MAX_ID_GAP;
    c.insert_with_id(step, key("m", &[("i", "1")])).unwrap();
    let err = c
        .insert_with_id(2 * step + 2, key("m", &[("i", "2")]))
        .unwrap_err();
    assert!(matches!(err, crate::Error::InvalidArgument(_)), "{err}");
    assert_eq!(c.len(), 1);
    // Within the bound is still accepted (holes left by lost definitions).
    c.insert_with_id(step + 1, key("m", &[("i", "3")])).unwrap();
    assert_eq!(c.len(), 2);
}

#[test]
fn shared_keys_are_built_once_and_kept() {
    let mut c = Catalog::new();
    let (a, _) = c.get_or_insert("cpu", &[("host", "a")]).unwrap();
    let (b, _) = c.get_or_insert("cpu", &[("host", "b")]).unwrap();
    assert!(c.shared_key(7).is_none());
    let first = c.shared_key(b).unwrap();
    assert_eq!(*first, key("cpu", &[("host", "b")]));
    assert!(Arc::ptr_eq(&first, &c.shared_key(b).unwrap()));
    assert_eq!(*c.shared_key(a).unwrap(), key("cpu", &[("host", "a")]));
    assert_eq!(c.key(a), Some(key("cpu", &[("host", "a")])));
}

/// A definition for [`bulk_definition_equals_one_by_one`]: an id step (0 repeats the
/// previous id, a large one leaves holes) and a key, possibly one defined before.
fn definition_strategy() -> impl Strategy<Value = (i64, (String, Vec<(String, String)>))> {
    (
        prop_oneof![8 => Just(1i64), 2 => 2i64..5, 1 => Just(0i64), 1 => -3i64..0],
        series_strategy(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `BulkDefine` (keys stored first, indexed at the end) against `insert_parts`
    /// one by one, from a catalog that already holds series: the same outcome
    /// (success, or an error), and on success the same ids, keys, look-ups, postings
    /// and next id. Ids mostly ascend (as in a catalog file or a WAL), but repeat,
    /// step back and leave holes too, and keys repeat under new ids (an error).
    #[test]
    fn bulk_definition_equals_one_by_one(
        before in prop::collection::vec(series_strategy(), 0..8),
        defs in prop::collection::vec(definition_strategy(), 0..40),
        filters in prop::collection::vec(filter_strategy(), 1..6),
    ) {
        let mut base = Catalog::new();
        for (m, tags) in &before {
            base.get_or_insert(m, &refs(tags)).unwrap();
        }
        let mut id = i64::from(base.next_id()) - 1;
        let defs: Vec<(u32, SeriesKey)> = defs
            .iter()
            .map(|(step, (m, tags))| {
                id = (id + step).max(0);
                (id as u32, key(m, &refs(tags)))
            })
            .collect();
        let rebuild = || {
            let mut snap = Vec::new();
            base.encode_snapshot(&mut snap);
            Catalog::decode_snapshot(&snap).unwrap()
        };
        let mut one = rebuild();
        let one_ok = defs
            .iter()
            .all(|(id, k)| one.insert_parts(*id, &k.metric, &k.tag_refs().collect::<Vec<_>>()).is_ok());
        let mut bulk = rebuild();
        let bulk_ok = {
            let mut b = BulkDefine::new(&mut bulk);
            let defined = defs
                .iter()
                .all(|(id, k)| b.define(*id, &k.metric, &k.tag_refs().collect::<Vec<_>>()).is_ok());
            defined && b.finish().is_ok()
        };
        prop_assert_eq!(bulk_ok, one_ok);
        if one_ok {
            prop_assert_eq!(bulk.len(), one.len());
            prop_assert_eq!(bulk.next_id(), one.next_id());
            prop_assert!(bulk.iter().eq(one.iter()));
            for (id, k) in one.iter() {
                prop_assert_eq!(bulk.lookup_key(&k), Some(id));
            }
            for (m, filter) in &filters {
                prop_assert_eq!(bulk.matching(m, &refs(filter)), one.matching(m, &refs(filter)));
            }
            prop_assert_eq!(bulk.metrics(), one.metrics());
            prop_assert_eq!(bulk.tag_keys(), one.tag_keys());
        }
    }
}
