//! Target `catalog`: the series catalog and its payloads (`ts::catalog::Catalog`,
//! `ts::series::SeriesKey`, docs/format.md part 6).
//!
//! - `Key`, `Entry`, `Snapshot`: arbitrary bytes decoded as a series key, a catalog
//!   entry and a catalog snapshot (the payloads of the catalog file and of the series
//!   definitions in WAL batches). Errors are fine. What decodes follows the rules
//!   (`SeriesKey::validate`), and re-encodes to exactly the bytes it came from: the
//!   format is canonical (minimal varints, sorted tags), so two encodings of one value
//!   would let damage pass as a different but valid file. A decoded snapshot is a
//!   consistent catalog (the checks of `Build`).
//! - `Build`: a catalog built by `get_or_insert` (names valid or not: empty, too long,
//!   control characters, repeated tag keys, tags in any order) and by
//!   `insert_with_id` (the replay path: ids near, far from and at the reserved end of
//!   the id space), against a model (`BTreeMap`s key <-> id and the next id). After
//!   every step every lookup, the postings (`series_of_metric`, `series_with_tag`,
//!   `matching`, `metrics`, `tag_keys`, `tag_values`) and `iter` agree with the model;
//!   a snapshot decodes to the same catalog and re-encodes to the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use arbitrary::Arbitrary;
use tidestore::Error;
use tidestore::SeriesKey;
use tidestore::ts::catalog::{Catalog, MAX_ID_GAP, RESERVED_ID};

/// Most steps of a `Build` run.
const MAX_STEPS: usize = 48;

/// One run of the `catalog` target.
#[derive(Arbitrary, Debug)]
pub enum Input {
    /// Bytes decoded as a series key.
    Key(Vec<u8>),
    /// Bytes decoded as a catalog entry.
    Entry(Vec<u8>),
    /// Bytes decoded as a catalog snapshot.
    Snapshot(Vec<u8>),
    /// A catalog built step by step against a model.
    Build(Vec<Step>),
}

/// One step of a `Build` run.
#[derive(Arbitrary, Debug)]
pub enum Step {
    /// `get_or_insert(metric, tags)`, tags in the given order.
    Define {
        /// The metric.
        metric: Name,
        /// The tags.
        tags: Vec<(Name, Name)>,
    },
    /// `insert_with_id(id, key)` of a valid key.
    Replay {
        /// The id.
        id: Id,
        /// The metric.
        metric: Name,
        /// The tags.
        tags: Vec<(Name, Name)>,
    },
    /// Snapshot round trip; the catalog continues as the decoded copy.
    Snapshot,
}

/// A name (metric, tag key or tag value).
#[derive(Arbitrary, Debug)]
pub enum Name {
    /// One of [`NAMES`]: valid names that collide, and invalid ones.
    Pick(u8),
    /// Any string.
    Raw(String),
}

/// An id for `insert_with_id`.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Id {
    /// A small id.
    Small(u8),
    /// The next id plus an offset.
    Near(i8),
    /// At or past the largest id replay accepts.
    Gap(u8),
    /// `RESERVED_ID` minus this.
    Top(u8),
    /// Any id.
    Raw(u32),
}

/// Names picked by [`Name::Pick`].
const NAMES: [&str; 12] = [
    "cpu",
    "mem",
    "host",
    "dc",
    "a",
    "b",
    "",
    "tab\there",
    "\u{7f}",
    "é=,{}\\",
    "z",
    "host ",
];

impl Name {
    fn build(&self) -> String {
        match self {
            Name::Pick(i) => match usize::from(*i) {
                i if i < NAMES.len() => NAMES[i].to_owned(),
                // 255 and 256 bytes: at and past the limit.
                i if i % 2 == 0 => "n".repeat(255),
                _ => "n".repeat(256),
            },
            Name::Raw(s) => s.clone(),
        }
    }
}

fn parts(metric: &Name, tags: &[(Name, Name)]) -> (String, Vec<(String, String)>) {
    let tags = tags
        .iter()
        .take(70)
        .map(|(k, v)| (k.build(), v.build()))
        .collect();
    (metric.build(), tags)
}

fn refs(tags: &[(String, String)]) -> Vec<(&str, &str)> {
    tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The model of a catalog.
#[derive(Default)]
struct Model {
    by_key: BTreeMap<SeriesKey, u32>,
    by_id: BTreeMap<u32, SeriesKey>,
    next_id: u32,
}

/// Runs one input; panics on any violated property.
pub fn run(input: &Input) {
    match input {
        Input::Key(bytes) => {
            if let Ok(key) = SeriesKey::decode(bytes) {
                key.validate()
                    .unwrap_or_else(|e| panic!("decoded an invalid key {key:?}: {e}"));
                let mut out = Vec::new();
                key.encode(&mut out);
                assert_eq!(&out, bytes, "a decoded key re-encodes differently");
                assert_eq!(key.encoded_len(), out.len(), "encoded_len");
                let again = SeriesKey::new(key.metric(), &refs(key.tags()))
                    .unwrap_or_else(|e| panic!("SeriesKey::new refuses a decoded key: {e}"));
                assert_eq!(again, key, "SeriesKey::new of a decoded key's parts");
            }
        }
        Input::Entry(bytes) => {
            if let Ok((id, key)) = Catalog::decode_entry(bytes) {
                assert_ne!(id, RESERVED_ID, "decoded the reserved id");
                key.validate()
                    .unwrap_or_else(|e| panic!("decoded an invalid key {key:?}: {e}"));
                let mut out = Vec::new();
                Catalog::encode_entry(id, &key, &mut out);
                assert_eq!(&out, bytes, "a decoded entry re-encodes differently");
            }
        }
        Input::Snapshot(bytes) => {
            if let Ok(cat) = Catalog::decode_snapshot(bytes) {
                let mut out = Vec::new();
                cat.encode_snapshot(&mut out);
                assert_eq!(&out, bytes, "a decoded snapshot re-encodes differently");
                let model = Model {
                    by_key: cat.iter().map(|(id, k)| (k.clone(), id)).collect(),
                    by_id: cat.iter().map(|(id, k)| (id, k.clone())).collect(),
                    next_id: cat.next_id(),
                };
                check(&cat, &model);
            }
        }
        Input::Build(steps) => build(steps),
    }
}

fn build(steps: &[Step]) {
    let mut cat = Catalog::new();
    let mut model = Model::default();
    for step in steps.iter().take(MAX_STEPS) {
        match step {
            Step::Define { metric, tags } => {
                let (metric, tags) = parts(metric, tags);
                let tag_refs = refs(&tags);
                let got = cat.get_or_insert(&metric, &tag_refs);
                match SeriesKey::new(&metric, &tag_refs) {
                    Err(_) => assert!(
                        matches!(got, Err(Error::InvalidArgument(_))),
                        "get_or_insert({metric:?}, {tags:?}) of an invalid key gave {got:?}"
                    ),
                    Ok(key) => {
                        let want = match model.by_key.get(&key) {
                            Some(&id) => (id, false),
                            None => {
                                let id = model.next_id;
                                model.next_id += 1;
                                model.by_key.insert(key.clone(), id);
                                model.by_id.insert(id, key);
                                (id, true)
                            }
                        };
                        let got = got
                            .unwrap_or_else(|e| panic!("get_or_insert({metric:?}, {tags:?}): {e}"));
                        assert_eq!(got, want, "get_or_insert({metric:?}, {tags:?})");
                    }
                }
            }
            Step::Replay { id, metric, tags } => {
                let (metric, tags) = parts(metric, tags);
                let Ok(key) = SeriesKey::new(&metric, &refs(&tags)) else {
                    continue;
                };
                let id = match *id {
                    Id::Small(i) => u32::from(i),
                    Id::Near(d) => model.next_id.wrapping_add_signed(i32::from(d)),
                    Id::Gap(d) => (model.by_id.len() as u32 + MAX_ID_GAP)
                        .saturating_add(u32::from(d % 4))
                        .saturating_sub(2),
                    Id::Top(d) => RESERVED_ID - u32::from(d % 4),
                    Id::Raw(id) => id,
                };
                let got = cat.insert_with_id(id, key.clone());
                let ok = match (model.by_id.get(&id), model.by_key.get(&key)) {
                    _ if id == RESERVED_ID => false,
                    (Some(existing), _) => *existing == key,
                    (None, Some(_)) => false,
                    (None, None) => {
                        u64::from(id) <= model.by_id.len() as u64 + u64::from(MAX_ID_GAP)
                    }
                };
                if ok {
                    got.unwrap_or_else(|e| panic!("insert_with_id({id}, {key}): {e}"));
                    model.by_key.insert(key.clone(), id);
                    model.by_id.insert(id, key);
                    model.next_id = model.next_id.max(id + 1);
                } else {
                    assert!(
                        matches!(got, Err(Error::InvalidArgument(_))),
                        "insert_with_id({id}, {key}) gave {got:?}"
                    );
                }
            }
            Step::Snapshot => {
                let mut bytes = Vec::new();
                cat.encode_snapshot(&mut bytes);
                let back = Catalog::decode_snapshot(&bytes)
                    .unwrap_or_else(|e| panic!("a snapshot does not decode: {e}"));
                let mut again = Vec::new();
                back.encode_snapshot(&mut again);
                assert_eq!(again, bytes, "a snapshot re-encodes differently");
                cat = back;
            }
        }
        check(&cat, &model);
    }
}

/// Everything `cat` answers, against `model`.
fn check(cat: &Catalog, m: &Model) {
    assert_eq!(cat.len(), m.by_id.len(), "len");
    assert_eq!(cat.is_empty(), m.by_id.is_empty(), "is_empty");
    assert_eq!(cat.next_id(), m.next_id, "next_id");
    let listed: Vec<(u32, SeriesKey)> = cat.iter().map(|(id, k)| (id, k.clone())).collect();
    let want: Vec<(u32, SeriesKey)> = m.by_id.iter().map(|(&id, k)| (id, k.clone())).collect();
    assert_eq!(listed, want, "iter");
    let sorted: Vec<u32> = cat.keys_sorted().iter().map(|(id, _)| *id).collect();
    let want_sorted: Vec<u32> = m.by_key.values().copied().collect();
    assert_eq!(sorted, want_sorted, "keys_sorted");
    let mut metrics: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    let mut tags: BTreeMap<(&str, &str), BTreeSet<u32>> = BTreeMap::new();
    for (key, &id) in &m.by_key {
        assert_eq!(cat.lookup_key(key), Some(id), "lookup_key({key})");
        assert_eq!(cat.key(id).as_ref(), Some(key), "key({id})");
        assert_eq!(cat.shared_key(id).as_deref(), Some(key), "shared_key({id})");
        // Tags in reverse order: lookups take any order.
        let mut r = refs(key.tags());
        r.reverse();
        assert_eq!(cat.lookup(key.metric(), &r), Some(id), "lookup({key})");
        metrics.entry(key.metric()).or_default().insert(id);
        for (k, v) in key.tags() {
            tags.entry((k, v)).or_default().insert(id);
        }
    }
    for probe in [m.next_id, RESERVED_ID, m.next_id.wrapping_add(7)] {
        if !m.by_id.contains_key(&probe) {
            assert_eq!(cat.key(probe), None, "key({probe}) of an undefined id");
        }
    }
    let names: Vec<&str> = metrics.keys().copied().collect();
    assert_eq!(cat.metrics(), names, "metrics");
    for (metric, ids) in &metrics {
        let got: BTreeSet<u32> = cat.series_of_metric(metric).iter().collect();
        assert_eq!(&got, ids, "series_of_metric({metric})");
        let got: BTreeSet<u32> = cat.matching(metric, &[]).iter().collect();
        assert_eq!(&got, ids, "matching({metric}, [])");
        for (&(k, v), tagged) in &tags {
            let got: BTreeSet<u32> = cat.matching(metric, &[(k, v)]).iter().collect();
            let want: BTreeSet<u32> = ids.intersection(tagged).copied().collect();
            assert_eq!(got, want, "matching({metric}, {k}={v})");
        }
    }
    let keys: BTreeSet<&str> = tags.keys().map(|(k, _)| *k).collect();
    assert_eq!(
        cat.tag_keys(),
        keys.iter().copied().collect::<Vec<_>>(),
        "tag_keys"
    );
    for k in keys {
        let values: Vec<&str> = tags
            .keys()
            .filter(|(tk, _)| *tk == k)
            .map(|(_, v)| *v)
            .collect();
        assert_eq!(cat.tag_values(k), values, "tag_values({k})");
    }
    for (&(k, v), ids) in &tags {
        let got: BTreeSet<u32> = cat.series_with_tag(k, v).iter().collect();
        assert_eq!(&got, ids, "series_with_tag({k}, {v})");
    }
    assert_eq!(cat.series_of_metric("no such metric").len(), 0);
}
