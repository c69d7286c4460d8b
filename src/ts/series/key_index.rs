//! The hash index from a series' identity to its id, probed with borrowed parts.
//!
//! The index stores only `hash -> id`; the key itself lives in the catalog, which
//! passes an equality check to [`KeyIndex::find`]. The hash of a series does not depend
//! on the order of its tags (the per-tag hashes are summed), so a caller's tags are
//! hashed as given: no sorting, no allocation.
//!
//! The hash is a small folded-multiply hash over 8-byte words (a few ns per name,
//! several times faster than SipHash on these short strings), keyed with per-process
//! random seeds drawn from `RandomState`, so names cannot be crafted offline to
//! collide. Collisions only cost time: every candidate is compared with the real key.
//!
//! Distinct keys with equal 64-bit hashes are handled (they go to a small overflow
//! map); they are just vanishingly rare.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

/// Odd constants from the fractional digits of pi, used as multipliers.
const K: [u64; 4] = [
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7345,
    0xa409_3822_299f_31d1,
    0x082e_fa98_ec4e_6c89,
];

/// The 64x64 -> 128 bit product, high and low halves xor-folded: a cheap, strong mixer.
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Per-process random seeds.
#[derive(Clone, Copy)]
pub(crate) struct Seeds([u64; 4]);

impl Default for Seeds {
    fn default() -> Self {
        let s = RandomState::new();
        Seeds([0u64, 1, 2, 3].map(|i| s.hash_one(i) | 1))
    }
}

impl Seeds {
    /// Hashes `bytes`, their length included, with seed number `which`.
    #[inline]
    pub(crate) fn bytes(&self, which: usize, bytes: &[u8]) -> u64 {
        let seed = self.0.get(which).copied().unwrap_or(K[0]);
        let mut h = fold_mul(seed ^ bytes.len() as u64, K[1]);
        let (words, tail) = bytes.as_chunks::<8>();
        for w in words {
            h = fold_mul(h ^ u64::from_le_bytes(*w), K[2]);
        }
        if !tail.is_empty() {
            h = fold_mul(h ^ tail_word(tail), K[3]);
        }
        h
    }
}

/// Packs a 1 to 7 byte tail into a word without a byte loop: two overlapping 4-byte
/// reads, or first/middle/last byte. Injective for each length (the length is hashed
/// separately).
#[inline]
fn tail_word(t: &[u8]) -> u64 {
    if let (Some(a), Some(b)) = (t.first_chunk::<4>(), t.last_chunk::<4>()) {
        return u64::from(u32::from_le_bytes(*a)) << 32 | u64::from(u32::from_le_bytes(*b));
    }
    let byte = |i: usize| u64::from(t.get(i).copied().unwrap_or(0));
    byte(0) << 16 | byte(t.len() / 2) << 8 | byte(t.len().wrapping_sub(1))
}

/// A `Hasher` for keys that already are well-mixed 64-bit hashes (passed through) or
/// dense `u32` ids (spread over all 64 bits by a Fibonacci multiply).
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by the maps below; fold anything else in anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type HashKeyed<V> = HashMap<u64, V, BuildHasherDefault<PassThrough>>;

/// A map keyed by dense `u32` ids (symbol or series ids).
pub(crate) type IdKeyed<V> = HashMap<u32, V, BuildHasherDefault<PassThrough>>;

/// `series hash -> id`.
#[derive(Default)]
pub(crate) struct KeyIndex {
    seeds: Seeds,
    /// The first id seen with each hash.
    first: HashKeyed<u32>,
    /// Further ids whose (different) keys share a hash with `first`'s.
    overflow: HashKeyed<Vec<u32>>,
}

impl KeyIndex {
    /// The order-independent hash of a series.
    pub(crate) fn hash<'a>(
        &self,
        metric: &str,
        tags: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
    ) -> u64 {
        let n = tags.len();
        self.hash_with_tags(metric, self.tags_hash(tags), n)
    }

    /// The tags' part of [`KeyIndex::hash`] (order-independent), for a caller that
    /// hashes many metrics under one tag set.
    pub(crate) fn tags_hash<'a>(&self, tags: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
        let mut sum = 0u64;
        for (k, v) in tags {
            let pair = fold_mul(
                self.seeds.bytes(1, k.as_bytes()) ^ K[0],
                self.seeds.bytes(2, v.as_bytes()) ^ K[2],
            );
            sum = sum.wrapping_add(pair);
        }
        sum
    }

    /// [`KeyIndex::hash`] of `metric` under `n` tags whose [`KeyIndex::tags_hash`] is
    /// `tags_hash`.
    pub(crate) fn hash_with_tags(&self, metric: &str, tags_hash: u64, n: usize) -> u64 {
        let m = self.seeds.bytes(0, metric.as_bytes());
        fold_mul(fold_mul(m ^ tags_hash, K[1] ^ n as u64), self.seeds.0[3])
    }

    /// The id with this hash for which `is_key(id)` holds.
    pub(crate) fn find(&self, hash: u64, mut is_key: impl FnMut(u32) -> bool) -> Option<u32> {
        let first = *self.first.get(&hash)?;
        if is_key(first) {
            return Some(first);
        }
        self.overflow
            .get(&hash)?
            .iter()
            .copied()
            .find(|&id| is_key(id))
    }

    /// Records `id` under `hash`. The caller has checked that its key is not present.
    pub(crate) fn insert(&mut self, hash: u64, id: u32) {
        match self.first.entry(hash) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(id);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.overflow.entry(hash).or_default().push(id);
            }
        }
    }

    /// Records `id` under `hash` unless an id already there is the same series
    /// (`same(other)`); false then, and nothing changes. One probe for both.
    pub(crate) fn insert_new(
        &mut self,
        hash: u64,
        id: u32,
        mut same: impl FnMut(u32) -> bool,
    ) -> bool {
        match self.first.entry(hash) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(id);
                true
            }
            std::collections::hash_map::Entry::Occupied(e) => {
                let seen = same(*e.get())
                    || self
                        .overflow
                        .get(&hash)
                        .is_some_and(|more| more.iter().any(|&other| same(other)));
                if !seen {
                    self.overflow.entry(hash).or_default().push(id);
                }
                !seen
            }
        }
    }

    /// Makes room for `n` more series without rehashing.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.first.reserve(n);
    }

    /// Approximate heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        // hashbrown: one control byte plus the entry per bucket.
        self.first.capacity() * (size_of::<(u64, u32)>() + 1)
            + self.overflow.capacity() * (size_of::<(u64, Vec<u32>)>() + 1)
            + self
                .overflow
                .values()
                .map(|v| v.capacity() * 4)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_tag_order_but_not_content() {
        let ix = KeyIndex::default();
        let a = ix.hash("cpu", [("a", "1"), ("b", "2")].into_iter());
        let b = ix.hash("cpu", [("b", "2"), ("a", "1")].into_iter());
        assert_eq!(a, b);
        assert_ne!(a, ix.hash("cpu", [("a", "1")].into_iter()));
        assert_ne!(a, ix.hash("cpu", [("a", "2"), ("b", "1")].into_iter()));
        assert_ne!(a, ix.hash("mem", [("a", "1"), ("b", "2")].into_iter()));
        // Pair boundaries matter: ("ab","c") is not ("a","bc").
        assert_ne!(
            ix.hash("m", [("ab", "c")].into_iter()),
            ix.hash("m", [("a", "bc")].into_iter())
        );
    }

    #[test]
    fn every_byte_of_short_names_counts() {
        let ix = KeyIndex::default();
        let name = b"abcdefghijklmnopq";
        for len in 1..name.len() {
            let base = ix.seeds.bytes(0, &name[..len]);
            for i in 0..len {
                let mut changed = name[..len].to_vec();
                changed[i] ^= 0x20;
                assert_ne!(ix.seeds.bytes(0, &changed), base, "len {len} byte {i}");
            }
        }
        assert_ne!(ix.seeds.bytes(0, b""), ix.seeds.bytes(0, b"\0"));
    }

    #[test]
    fn colliding_hashes_keep_every_id() {
        let mut ix = KeyIndex::default();
        ix.insert(7, 1);
        ix.insert(7, 2);
        ix.insert(7, 3);
        ix.insert(8, 4);
        assert_eq!(ix.find(7, |id| id == 1), Some(1));
        assert_eq!(ix.find(7, |id| id == 3), Some(3));
        assert_eq!(ix.find(7, |id| id == 4), None);
        assert_eq!(ix.find(8, |_| true), Some(4));
        assert_eq!(ix.find(9, |_| true), None);
        assert!(ix.heap_bytes() > 0);
        // insert_new: refused when a colliding id is the same series, else kept.
        assert!(!ix.insert_new(7, 5, |other| other == 2));
        assert_eq!(ix.find(7, |id| id == 5), None);
        assert!(ix.insert_new(7, 5, |_| false));
        assert_eq!(ix.find(7, |id| id == 5), Some(5));
        assert!(ix.insert_new(9, 6, |_| true));
        assert_eq!(ix.find(9, |_| true), Some(6));
    }
}
