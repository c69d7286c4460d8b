//! Series identity: [`Point`], [`SeriesKey`], the rules a key must follow, and the
//! key's canonical binary encoding.
//!
//! A *series* is a metric name plus a set of `key=value` tags. Its canonical form, a
//! [`SeriesKey`], holds the tags sorted by key. Two keys are the same series exactly
//! when their canonical forms are equal, and then their encodings are byte-identical.
//!
//! The hot path never has to build a `SeriesKey` to find a series: [`validate_parts`]
//! checks a borrowed `(metric, &[(&str, &str)])` in any tag order without allocating,
//! and [`SeriesKey::matches`] compares a stored key with such a borrowed form.
//!
//! # Rules (checked on every write and on every decoded key)
//! - the metric, every tag key and every tag value is 1 to [`MAX_NAME_LEN`] bytes of
//!   UTF-8 and contains no control character (`char::is_control`: U+0000..U+001F,
//!   U+007F..U+009F);
//! - at most [`MAX_TAGS`] tags, no tag key twice.
//!
//! The layout of the encoding is documented in `docs/format.md (part 6)`.

use std::cmp::Ordering;
use std::fmt;

use crate::codec::DecodeError;
use crate::codec::varint::{self, Reader};
use crate::error::{Error, Result};

/// The longest metric name, tag key or tag value, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// The most tags one series may have.
pub const MAX_TAGS: usize = 64;

/// One measurement: a value of a series at a timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The metric name, e.g. `cpu`.
    pub metric: String,
    /// The tags, in any order.
    pub tags: Vec<(String, String)>,
    /// The timestamp, in whatever unit the caller uses consistently.
    pub timestamp: i64,
    /// The value; NaN and infinities are stored as given.
    pub value: f64,
}

impl Point {
    /// Builds a point. Nothing is checked here; [`Point::series_key`] (and every write
    /// path) validates.
    pub fn new(metric: &str, timestamp: i64, value: f64, tags: &[(&str, &str)]) -> Point {
        Point {
            metric: metric.to_owned(),
            tags: tags
                .iter()
                .map(|&(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            timestamp,
            value,
        }
    }

    /// The canonical key of this point's series, or [`Error::InvalidArgument`] if the
    /// metric or tags break the rules.
    pub fn series_key(&self) -> Result<SeriesKey> {
        SeriesKey::from_parts(self.metric.clone(), self.tags.clone())
    }
}

/// The canonical identity of a series: a metric and its tags sorted by tag key.
///
/// Ordering is by metric, then by the sorted tag list. `Display` renders
/// `cpu{host=a,region=x}` (a key without tags renders as just `cpu`), escaping
/// `\ { } = ,` with a backslash so the text is unambiguous.
///
/// Build one with [`SeriesKey::new`], which checks and sorts; read it with
/// [`SeriesKey::metric`] and [`SeriesKey::tags`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    /// The metric name.
    pub(crate) metric: String,
    /// The tags, sorted by key, keys unique.
    pub(crate) tags: Vec<(String, String)>,
}

/// Sorts `items` by their series keys, in the order of [`SeriesKey::cmp`].
///
/// Every scan sorts its series; comparing keys directly chases a dozen pointers per
/// comparison (the strings of two keys, wherever the allocator put them). Here each
/// key is written once into one buffer in an order-preserving encoding (each string,
/// with a 0 byte escaped as 0, 255, then the terminator 0, 0), and the sort compares
/// those contiguous bytes.
pub(crate) fn sort_by_key<T>(items: &mut Vec<T>, key: impl Fn(&T) -> &SeriesKey) {
    fn push(out: &mut Vec<u8>, s: &str) {
        // a fold, not `contains`: no call and no early exit, so it vectorizes, and the
        // strings are short (a validated key has no 0 byte at all)
        if s.bytes().fold(false, |seen, b| seen | (b == 0)) {
            for &b in s.as_bytes() {
                out.push(b);
                if b == 0 {
                    out.push(0xFF);
                }
            }
        } else {
            out.extend_from_slice(s.as_bytes());
        }
        out.extend_from_slice(&[0, 0]);
    }
    if items.len() < 2 {
        return;
    }
    let mut bytes = Vec::new();
    let mut spans = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let k = key(item);
        let from = bytes.len();
        push(&mut bytes, &k.metric);
        for (name, value) in &k.tags {
            push(&mut bytes, name);
            push(&mut bytes, value);
        }
        spans.push((from, bytes.len(), i));
    }
    let encoded = |&(from, to, _): &(usize, usize, usize)| bytes.get(from..to).unwrap_or_default();
    spans.sort_unstable_by(|a, b| encoded(a).cmp(encoded(b)));
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(
        spans
            .iter()
            .filter_map(|&(_, _, i)| slots.get_mut(i)?.take()),
    );
}

/// Checks a metric and tags (in any order) against the rules, without allocating.
pub fn validate_parts(metric: &str, tags: &[(&str, &str)]) -> Result<()> {
    check_name("metric name", metric)?;
    check_tag_count(tags.len())?;
    for (i, &(k, v)) in tags.iter().enumerate() {
        check_name("tag key", k)?;
        check_name("tag value", v)?;
        // At most MAX_TAGS tags: a quadratic scan beats sorting at this size.
        if tags
            .get(..i)
            .is_some_and(|seen| seen.iter().any(|&(s, _)| s == k))
        {
            return Err(Error::invalid(format!("tag key {k:?} appears twice")));
        }
    }
    Ok(())
}

fn check_tag_count(n: usize) -> Result<()> {
    if n > MAX_TAGS {
        return Err(Error::invalid(format!(
            "{n} tags; a series has at most {MAX_TAGS}"
        )));
    }
    Ok(())
}

fn check_name(what: &str, s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::invalid(format!("{what} is empty")));
    }
    if s.len() > MAX_NAME_LEN {
        return Err(Error::invalid(format!(
            "{what} is {} bytes; the limit is {MAX_NAME_LEN}",
            s.len()
        )));
    }
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(Error::invalid(format!(
            "{what} {s:?} contains the control character {c:?}"
        )));
    }
    Ok(())
}

/// True when `s` passes [`check_name`]; the decoder's cheap form of it.
fn name_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_NAME_LEN && !has_control(s)
}

/// `s.chars().any(char::is_control)` on bytes: the controls are U+0000..U+001F and
/// U+007F (single bytes) and U+0080..U+009F (`0xC2 0x80..=0x9F` in UTF-8). A fold over
/// the bytes, which vectorizes, instead of decoding every char: catalog loads check
/// every name of every series.
fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter()
        .fold(false, |seen, &c| seen | (c < 0x20) | (c == 0x7f))
        || (!s.is_ascii() && b.windows(2).any(|w| w == [0xC2, w[1]] && w[1] < 0xA0))
}

impl SeriesKey {
    /// The metric name.
    pub fn metric(&self) -> &str {
        &self.metric
    }

    /// The tags, sorted by key, keys unique.
    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }

    /// Validates and canonicalizes borrowed parts (tags in any order).
    pub fn new(metric: &str, tags: &[(&str, &str)]) -> Result<SeriesKey> {
        validate_parts(metric, tags)?;
        let mut owned: Vec<(String, String)> = tags
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        owned.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(SeriesKey {
            metric: metric.to_owned(),
            tags: owned,
        })
    }

    /// Validates and canonicalizes owned parts (tags in any order), reusing their
    /// allocations.
    pub fn from_parts(metric: String, mut tags: Vec<(String, String)>) -> Result<SeriesKey> {
        check_tag_count(tags.len())?;
        tags.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let key = SeriesKey { metric, tags };
        key.validate()?;
        Ok(key)
    }

    /// Checks that this key follows the rules and is canonical (tags strictly sorted by
    /// key, which also rules out a key appearing twice).
    pub fn validate(&self) -> Result<()> {
        check_name("metric name", &self.metric)?;
        check_tag_count(self.tags.len())?;
        let mut prev: Option<&str> = None;
        for (k, v) in &self.tags {
            check_name("tag key", k)?;
            check_name("tag value", v)?;
            match prev.map(|p| p.cmp(k.as_str())) {
                Some(Ordering::Equal) => {
                    return Err(Error::invalid(format!("tag key {k:?} appears twice")));
                }
                Some(Ordering::Greater) => {
                    return Err(Error::invalid(format!(
                        "tags of {self} are not sorted by key"
                    )));
                }
                _ => {}
            }
            prev = Some(k);
        }
        Ok(())
    }

    /// The value of tag `key`, if the series has it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .and_then(|i| self.tags.get(i))
            .map(|(_, v)| v.as_str())
    }

    /// True when this (canonical) key is the series named by `metric` and `tags`, the
    /// tags given in any order. A borrowed tag list naming a key twice never matches.
    /// Allocation-free.
    pub fn matches(&self, metric: &str, tags: &[(&str, &str)]) -> bool {
        self.metric == metric
            && tags_match(
                self.tags.len(),
                |i| {
                    self.tags
                        .get(i)
                        .map_or(("", ""), |(k, v)| (k.as_str(), v.as_str()))
                },
                tags,
            )
    }

    /// The tags as borrowed pairs.
    pub fn tag_refs(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + Clone + '_ {
        self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Appends the canonical encoding of this key to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        encode_parts(out, &self.metric, self.tag_refs());
    }

    /// The length in bytes of [`SeriesKey::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        let prefixed = |s: &str| varint_len(s.len() as u64) + s.len();
        prefixed(&self.metric)
            + varint_len(self.tags.len() as u64)
            + self
                .tags
                .iter()
                .map(|(k, v)| prefixed(k) + prefixed(v))
                .sum::<usize>()
    }

    /// Decodes a key that fills all of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<SeriesKey, DecodeError> {
        let mut r = Reader::new(bytes);
        let key = SeriesKey::read_from(&mut r)?;
        if !r.is_empty() {
            return Err(DecodeError("trailing bytes after series key"));
        }
        Ok(key)
    }

    /// Decodes one key from the front of `r`, leaving `r` just past it. Accepts only
    /// canonical encodings of keys that follow the rules: minimal varints, tags strictly
    /// sorted by key, names within limits. So a decoded key re-encodes to the same bytes.
    pub fn read_from(r: &mut Reader<'_>) -> Result<SeriesKey, DecodeError> {
        let mut tags = Vec::new();
        let metric = read_parts(r, &mut tags)?;
        Ok(SeriesKey::from_canonical(metric, tags))
    }

    /// An owned key of parts already valid and canonical (decoded or stored ones).
    pub(crate) fn from_canonical<'a>(
        metric: &str,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> SeriesKey {
        SeriesKey {
            metric: metric.to_owned(),
            tags: tags
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }
}

/// True when the `n` canonical tags `stored(0..n)` (sorted by key, keys unique) are
/// exactly `tags` in any order. A borrowed list naming a key twice never matches.
/// Allocation-free: the comparison behind [`SeriesKey::matches`] and the catalog's.
pub(crate) fn tags_match<'s>(
    n: usize,
    stored: impl Fn(usize) -> (&'s str, &'s str),
    tags: &[(&str, &str)],
) -> bool {
    if n != tags.len() || n > MAX_TAGS {
        return false;
    }
    // The borrowed pairs put in key order (an insertion sort of their positions, on
    // the stack: the borrowed strings are at hand, each stored one costs a symbol
    // lookup), then compared with the stored pairs side by side: with unique stored
    // keys, equal lists in key order mean a permutation.
    let mut order = [0u8; MAX_TAGS];
    for i in 0..n {
        let mut j = i;
        while j > 0 && tags[usize::from(order[j - 1])].0 > tags[i].0 {
            order[j] = order[j - 1];
            j -= 1;
        }
        order[j] = i as u8;
    }
    order
        .get(..n)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .all(|(i, &t)| tags.get(usize::from(t)) == Some(&stored(i)))
}

/// Appends the canonical encoding of the series `metric` + `tags` (canonical: tags
/// sorted by key, keys unique) to `out`: the layout of [`SeriesKey::encode`].
pub(crate) fn encode_parts<'a>(
    out: &mut Vec<u8>,
    metric: &str,
    tags: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) {
    varint::put_len_prefixed(out, metric.as_bytes());
    varint::put_u64(out, tags.len() as u64);
    for (k, v) in tags {
        varint::put_len_prefixed(out, k.as_bytes());
        varint::put_len_prefixed(out, v.as_bytes());
    }
}

/// Decodes one key from the front of `r` as borrowed parts, with the checks of
/// [`SeriesKey::read_from`]: the metric is returned, the tags replace the content of
/// `tags`. Allocates nothing once `tags` has room.
pub(crate) fn read_parts<'a>(
    r: &mut Reader<'a>,
    tags: &mut Vec<(&'a str, &'a str)>,
) -> Result<&'a str, DecodeError> {
    tags.clear();
    let start = r.position();
    let metric = read_name(r, "invalid metric name")?;
    let n = r.u64()?;
    if n > MAX_TAGS as u64 {
        return Err(DecodeError("too many tags"));
    }
    let mut len = varint_len(metric.len() as u64) + metric.len() + varint_len(n);
    for _ in 0..n {
        let k = read_name(r, "invalid tag key")?;
        let v = read_name(r, "invalid tag value")?;
        if tags.last().is_some_and(|&(prev, _)| prev >= k) {
            return Err(DecodeError("tag keys not strictly sorted"));
        }
        len += varint_len(k.len() as u64) + k.len() + varint_len(v.len() as u64) + v.len();
        tags.push((k, v));
    }
    if r.position() - start != len {
        return Err(DecodeError("non-minimal varint in series key"));
    }
    Ok(metric)
}

fn read_name<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<&'a str, DecodeError> {
    let bytes = r.len_prefixed()?;
    if bytes.len() > MAX_NAME_LEN {
        return Err(DecodeError(what));
    }
    let s = std::str::from_utf8(bytes).map_err(|_| DecodeError(what))?;
    if !name_ok(s) {
        return Err(DecodeError(what));
    }
    Ok(s)
}

/// Bytes taken by the LEB128 encoding of `v`.
fn varint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

fn write_escaped(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    for c in s.chars() {
        if matches!(c, '\\' | '{' | '}' | '=' | ',') {
            f.write_str("\\")?;
        }
        fmt::Write::write_char(f, c)?;
    }
    Ok(())
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, &self.metric)?;
        if self.tags.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (k, v)) in self.tags.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write_escaped(f, k)?;
            f.write_str("=")?;
            write_escaped(f, v)?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn assert_invalid(r: Result<impl fmt::Debug>) {
        match r {
            Err(Error::InvalidArgument(msg)) => assert!(!msg.is_empty()),
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn every_bad_input_is_invalid_argument() {
        let long = "x".repeat(MAX_NAME_LEN + 1);
        let max = "x".repeat(MAX_NAME_LEN);
        let many: Vec<(String, String)> = (0..=MAX_TAGS)
            .map(|i| (format!("k{i}"), "v".to_owned()))
            .collect();
        let many_refs: Vec<(&str, &str)> =
            many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let bad: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("", vec![]),
            (&long, vec![]),
            ("cpu\n", vec![]),
            ("cpu\u{0}", vec![]),
            ("cpu\u{85}", vec![]),
            ("cpu", vec![("", "v")]),
            ("cpu", vec![("k", "")]),
            ("cpu", vec![(&long, "v")]),
            ("cpu", vec![("k", &long)]),
            ("cpu", vec![("k\t", "v")]),
            ("cpu", vec![("k", "v\u{7f}")]),
            ("cpu", vec![("a", "1"), ("b", "2"), ("a", "1")]),
            ("cpu", vec![("a", "1"), ("a", "2")]),
            ("cpu", many_refs.clone()),
        ];
        for (metric, tags) in &bad {
            assert_invalid(validate_parts(metric, tags));
            assert_invalid(SeriesKey::new(metric, tags));
            assert_invalid(Point::new(metric, 0, 0.0, tags).series_key());
        }
        // The limits themselves are accepted.
        let at_limit: Vec<(&str, &str)> = many_refs[..MAX_TAGS].to_vec();
        SeriesKey::new(&max, &at_limit).unwrap();
        SeriesKey::new("cpu", &[(&max, &max)]).unwrap();
        SeriesKey::new("température", &[("hôte", "été")]).unwrap();
    }

    #[test]
    fn validate_rejects_non_canonical_hand_built_keys() {
        let unsorted = SeriesKey {
            metric: "m".into(),
            tags: vec![("b".into(), "1".into()), ("a".into(), "1".into())],
        };
        assert_invalid(unsorted.validate());
        let dup = SeriesKey {
            metric: "m".into(),
            tags: vec![("a".into(), "1".into()), ("a".into(), "1".into())],
        };
        assert_invalid(dup.validate());
        assert_invalid(SeriesKey::from_parts("m".into(), dup.tags.clone()));
    }

    #[test]
    fn canonical_form_and_display() {
        let k = SeriesKey::new("cpu", &[("region", "x"), ("host", "a")]).unwrap();
        assert_eq!(k.to_string(), "cpu{host=a,region=x}");
        assert_eq!(k.tag("host"), Some("a"));
        assert_eq!(k.tag("zone"), None);
        assert_eq!(SeriesKey::new("up", &[]).unwrap().to_string(), "up");
        let odd = SeriesKey::new("a{b", &[("k=1", "v,}\\")]).unwrap();
        assert_eq!(odd.to_string(), r"a\{b{k\=1=v\,\}\\}");
        let p = Point::new("cpu", 5, 1.5, &[("host", "a"), ("region", "x")]);
        assert_eq!(p.series_key().unwrap(), k);
    }

    #[test]
    fn matches_any_order_and_rejects_duplicates() {
        let k = SeriesKey::new("cpu", &[("a", "1"), ("b", "2")]).unwrap();
        assert!(k.matches("cpu", &[("b", "2"), ("a", "1")]));
        assert!(k.matches("cpu", &[("a", "1"), ("b", "2")]));
        assert!(!k.matches("cpu", &[("a", "1"), ("a", "1")]));
        assert!(!k.matches("cpu", &[("a", "1")]));
        assert!(!k.matches("cpu", &[("a", "1"), ("b", "3")]));
        assert!(!k.matches("mem", &[("a", "1"), ("b", "2")]));
    }

    proptest::proptest! {
        #[test]
        fn tags_match_is_permutation_equality(
            stored in proptest::collection::btree_map("[a-d]{0,2}", "[xy]{0,1}", 0..12),
            borrowed in proptest::collection::vec(("[a-d]{0,2}", "[xy]{0,1}"), 0..12),
            shuffle in proptest::collection::vec(proptest::prelude::any::<u16>(), 12),
            use_stored in proptest::prelude::any::<bool>(),
        ) {
            let stored: Vec<(String, String)> = stored.into_iter().collect();
            // half the cases: a permutation of the stored tags (a match unless changed)
            let mut borrowed = if use_stored { stored.clone() } else { borrowed };
            for (i, &s) in shuffle.iter().enumerate().take(borrowed.len()) {
                let j = usize::from(s) % borrowed.len();
                borrowed.swap(i, j);
            }
            let refs: Vec<(&str, &str)> =
                borrowed.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let mut sorted = borrowed.clone();
            sorted.sort();
            let want = sorted == stored;
            let got = tags_match(stored.len(), |i| (stored[i].0.as_str(), stored[i].1.as_str()), &refs);
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn decoder_rejects_non_canonical_bytes() {
        let k = SeriesKey::new("m", &[("a", "1"), ("b", "2")]).unwrap();
        let mut good = Vec::new();
        k.encode(&mut good);
        assert_eq!(SeriesKey::decode(&good).unwrap(), k);
        // Overlong varint for the metric length: 0x81 0x00 also means 1.
        let mut overlong = vec![0x81, 0x00];
        overlong.extend_from_slice(&good[1..]);
        assert!(SeriesKey::decode(&overlong).is_err());
        // Tags out of order.
        let mut swapped = Vec::new();
        SeriesKey {
            metric: "m".into(),
            tags: vec![("b".into(), "2".into()), ("a".into(), "1".into())],
        }
        .encode(&mut swapped);
        assert!(SeriesKey::decode(&swapped).is_err());
        // Empty metric, trailing byte, bad UTF-8, too many tags.
        assert!(SeriesKey::decode(&[0, 0]).is_err());
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(SeriesKey::decode(&trailing).is_err());
        assert!(SeriesKey::decode(&[1, 0xff, 0]).is_err());
        assert!(SeriesKey::decode(&[1, b'm', 65]).is_err());
        assert!(SeriesKey::decode(&[1, b'\n', 0]).is_err());
    }

    #[test]
    fn varint_len_matches_encoder() {
        for v in [
            0u64,
            1,
            127,
            128,
            255,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut b = Vec::new();
            varint::put_u64(&mut b, v);
            assert_eq!(varint_len(v), b.len(), "{v}");
        }
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z_.]{1,12}",
            "[^\\p{Cc}]{1,8}",
            Just("x".repeat(MAX_NAME_LEN)),
        ]
    }

    fn key_strategy() -> impl Strategy<Value = SeriesKey> {
        (
            name(),
            proptest::collection::btree_map(name(), name(), 0..8usize),
        )
            .prop_map(|(metric, tags)| SeriesKey {
                metric,
                tags: tags.into_iter().collect(),
            })
    }

    /// Strings that share prefixes, embed NUL bytes and straddle eight bytes.
    fn close_str() -> impl Strategy<Value = String> {
        "(ab|a\\x00|a|b|host_[0-9]{1,2}|hostname|\\x00){0,6}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn sorting_by_encoded_keys_is_sorting_by_keys(
            keys in proptest::collection::vec(
                (close_str(), proptest::collection::vec((close_str(), close_str()), 0..3)),
                0..20,
            ),
        ) {
            let keys: Vec<SeriesKey> =
                keys.into_iter().map(|(metric, tags)| SeriesKey { metric, tags }).collect();
            let mut items: Vec<(usize, &SeriesKey)> = keys.iter().enumerate().collect();
            sort_by_key(&mut items, |item| item.1);
            let mut want = keys.clone();
            want.sort();
            let got: Vec<SeriesKey> = items.iter().map(|item| item.1.clone()).collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(items.len(), keys.len());
        }

    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn has_control_is_char_is_control(s in "(\\PC|\\p{Cc}|\u{80}|\u{9f}|\u{a0}|\u{c2}|\u{100}){0,12}") {
            prop_assert_eq!(has_control(&s), s.chars().any(char::is_control), "{:?}", s);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn encoding_round_trips(key in key_strategy()) {
            key.validate().unwrap();
            let mut b = Vec::new();
            key.encode(&mut b);
            prop_assert_eq!(b.len(), key.encoded_len());
            prop_assert_eq!(SeriesKey::decode(&b).unwrap(), key);
        }

        #[test]
        fn truncation_is_an_error(key in key_strategy(), cut in any::<prop::sample::Index>()) {
            let mut b = Vec::new();
            key.encode(&mut b);
            let cut = cut.index(b.len());
            prop_assert!(SeriesKey::decode(&b[..cut]).is_err());
        }

        #[test]
        fn damaged_bytes_never_panic_and_decode_canonically(
            key in key_strategy(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        ) {
            let mut b = Vec::new();
            key.encode(&mut b);
            for (i, x) in flips {
                let i = i.index(b.len());
                b[i] ^= x;
            }
            if let Ok(k) = SeriesKey::decode(&b) {
                // Whatever decodes is a valid key whose encoding is exactly these bytes.
                k.validate().unwrap();
                let mut again = Vec::new();
                k.encode(&mut again);
                prop_assert_eq!(again, b);
            }
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(k) = SeriesKey::decode(&bytes) {
                k.validate().unwrap();
            }
        }

        #[test]
        fn new_is_order_independent(key in key_strategy(), seed in any::<u64>()) {
            let mut refs: Vec<(&str, &str)> = key.tag_refs().collect();
            // A deterministic shuffle driven by the seed.
            let mut s = seed | 1;
            for i in (1..refs.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                refs.swap(i, (s % (i as u64 + 1)) as usize);
            }
            prop_assert!(key.matches(&key.metric, &refs));
            prop_assert_eq!(SeriesKey::new(&key.metric, &refs).unwrap(), key);
        }
    }
}
