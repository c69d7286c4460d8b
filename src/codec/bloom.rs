//! Bloom filters over byte keys, as stored in SSTables, and the 64-bit key hash they use.
//!
//! A filter is a bit array of `m` bits (a whole number of bytes) and a probe count `k`.
//! Each key is hashed once with [`hash`] (XXH64, seed 0); its `k` bit positions come
//! from double hashing of that one hash (Kirsch–Mitzenmacher):
//!
//! ```text
//! h     = XXH64(key, seed 0)
//! delta = h.rotate_left(32)
//! g_i   = h + i * delta            (wrapping u64 arithmetic), i = 0 .. k-1
//! bit_i = (g_i * m) >> 64          (128-bit product: maps g_i onto 0 .. m-1)
//! ```
//!
//! Bit `b` lives in byte `b / 8`, at bit `b % 8` counted from the least significant.
//! With `bits_per_key` bits per key, `k = round(bits_per_key * ln 2)` clamped to 1..=30,
//! and the false-positive rate is about `(1 - e^(-k/bits_per_key))^k`: 0.82 % at 10
//! bits per key (k = 7).
//!
//! The encoded filter is the bit array followed by one byte holding `k`. A filter with
//! no bits and `k = 0` means "no filter" and answers "maybe" for every key; it is what
//! `bits_per_key = 0` produces. The hash and the probe sequence are part of the on-disk
//! format (docs/format.md (part 3)): changing either needs a new format version.

use super::DecodeError;

/// Largest probe count a filter may use.
pub const MAX_PROBES: u8 = 30;

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

#[inline]
fn round(acc: u64, lane: u64) -> u64 {
    acc.wrapping_add(lane.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

#[inline]
fn merge_round(acc: u64, v: u64) -> u64 {
    (acc ^ round(0, v)).wrapping_mul(P1).wrapping_add(P4)
}

#[inline]
fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    u64::from_le_bytes(a)
}

#[inline]
fn le_u32(b: &[u8]) -> u64 {
    let mut a = [0u8; 4];
    a.copy_from_slice(b);
    u64::from(u32::from_le_bytes(a))
}

/// The key hash of the filter format: XXH64 of `key` with seed 0 (written from the
/// published XXH64 specification).
pub fn hash(key: &[u8]) -> u64 {
    let len = key.len() as u64;
    let mut stripes = key.chunks_exact(32);
    let mut acc = if key.len() >= 32 {
        let (mut v1, mut v2, mut v3, mut v4) = (P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1));
        for s in &mut stripes {
            v1 = round(v1, le_u64(&s[0..8]));
            v2 = round(v2, le_u64(&s[8..16]));
            v3 = round(v3, le_u64(&s[16..24]));
            v4 = round(v4, le_u64(&s[24..32]));
        }
        let acc = v1
            .rotate_left(1)
            .wrapping_add(v2.rotate_left(7))
            .wrapping_add(v3.rotate_left(12))
            .wrapping_add(v4.rotate_left(18));
        merge_round(merge_round(merge_round(merge_round(acc, v1), v2), v3), v4)
    } else {
        P5
    };
    acc = acc.wrapping_add(len);

    let tail = stripes.remainder();
    let mut words = tail.chunks_exact(8);
    for w in &mut words {
        acc ^= round(0, le_u64(w));
        acc = acc.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
    }
    let mut rest = words.remainder();
    if rest.len() >= 4 {
        acc ^= le_u32(&rest[..4]).wrapping_mul(P1);
        acc = acc.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        rest = &rest[4..];
    }
    for &b in rest {
        acc ^= u64::from(b).wrapping_mul(P5);
        acc = acc.rotate_left(11).wrapping_mul(P1);
    }

    acc ^= acc >> 33;
    acc = acc.wrapping_mul(P2);
    acc ^= acc >> 29;
    acc = acc.wrapping_mul(P3);
    acc ^ (acc >> 32)
}

/// The probe count for `bits_per_key`: `round(bits_per_key * ln 2)`, clamped to
/// 1..=[`MAX_PROBES`]; 0 when `bits_per_key` is 0 (no filter).
pub fn probes_for(bits_per_key: u32) -> u8 {
    if bits_per_key == 0 {
        return 0;
    }
    let k = (f64::from(bits_per_key) * std::f64::consts::LN_2).round();
    // The clamp keeps the value in 1..=30, so the cast is exact.
    k.clamp(1.0, f64::from(MAX_PROBES)) as u8
}

/// Sets or tests the `k` probe bits of hash `h` in a bit array of `m` bits.
#[inline]
fn bit_positions(h: u64, k: u8, m: u64) -> impl Iterator<Item = u64> {
    let delta = h.rotate_left(32);
    (0..u64::from(k)).map(move |i| {
        let g = h.wrapping_add(i.wrapping_mul(delta));
        // (g * m) >> 64 < m <= u64::MAX: the narrowing is exact.
        ((u128::from(g) * u128::from(m)) >> 64) as u64
    })
}

/// Collects key hashes, then encodes a filter sized for them.
#[derive(Debug, Clone)]
pub struct BloomBuilder {
    bits_per_key: u32,
    hashes: Vec<u64>,
}

impl BloomBuilder {
    /// A builder for a filter of about `bits_per_key` bits per key (0: no filter).
    pub fn new(bits_per_key: u32) -> Self {
        BloomBuilder {
            bits_per_key,
            hashes: Vec::new(),
        }
    }

    /// Adds a key. Adding the same key twice only costs space.
    pub fn add_key(&mut self, key: &[u8]) {
        self.add_hash(hash(key));
    }

    /// Adds a key by its [`hash`].
    pub fn add_hash(&mut self, h: u64) {
        if self.bits_per_key > 0 {
            self.hashes.push(h);
        }
    }

    /// Keys added so far (0 when the builder makes no filter).
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// True when no key was added.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Bytes of the bit array for the keys added so far: at least 8 when there is a
    /// filter at all, so an empty filter says "absent" for every key.
    fn bit_bytes(&self) -> usize {
        if self.bits_per_key == 0 {
            return 0;
        }
        let bits = (self.hashes.len() as u64).saturating_mul(u64::from(self.bits_per_key));
        let bytes = bits.div_ceil(8).max(8);
        usize::try_from(bytes).unwrap_or(usize::MAX)
    }

    /// Size in bytes of the encoded filter if it were finished now.
    pub fn encoded_len(&self) -> usize {
        self.bit_bytes().saturating_add(1)
    }

    /// Appends the encoded filter (bit array, then the probe count) to `out`.
    pub fn finish(&self, out: &mut Vec<u8>) {
        let bytes = self.bit_bytes();
        let k = probes_for(self.bits_per_key);
        let start = out.len();
        out.resize(start + bytes, 0);
        let bits = &mut out[start..];
        let m = (bytes as u64) * 8;
        for &h in &self.hashes {
            for b in bit_positions(h, k, m) {
                // b < m = 8 * bits.len(), so b / 8 indexes the array.
                bits[(b / 8) as usize] |= 1 << (b % 8);
            }
        }
        out.push(k);
    }
}

/// A read-only view of an encoded filter.
#[derive(Debug, Clone, Copy)]
pub struct BloomFilter<'a> {
    bits: &'a [u8],
    k: u8,
}

impl<'a> BloomFilter<'a> {
    /// Parses an encoded filter, checking its probe count and size.
    pub fn new(encoded: &'a [u8]) -> Result<Self, DecodeError> {
        let (&k, bits) = encoded
            .split_last()
            .ok_or(DecodeError("bloom filter is empty"))?;
        match (k, bits.is_empty()) {
            (0, true) => Ok(BloomFilter { bits, k }),
            (0, false) => Err(DecodeError("bloom filter has bits but no probes")),
            (_, true) => Err(DecodeError("bloom filter has probes but no bits")),
            (k, false) if k > MAX_PROBES => Err(DecodeError("bloom filter probe count too large")),
            (k, false) => Ok(BloomFilter { bits, k }),
        }
    }

    /// The number of probes per key (0 for the "no filter" encoding).
    pub fn probes(&self) -> u8 {
        self.k
    }

    /// The number of bits of the filter.
    pub fn bits(&self) -> u64 {
        self.bits.len() as u64 * 8
    }

    /// True when this is the "no filter" encoding, which answers "maybe" for every key.
    pub fn is_disabled(&self) -> bool {
        self.k == 0
    }

    /// False when `key` was certainly not added; true when it may have been.
    #[inline]
    pub fn may_contain(&self, key: &[u8]) -> bool {
        self.k == 0 || self.may_contain_hash(hash(key))
    }

    /// [`BloomFilter::may_contain`] for a key already hashed with [`hash`], so a caller
    /// probing many filters hashes the key once.
    #[inline]
    pub fn may_contain_hash(&self, h: u64) -> bool {
        if self.k == 0 {
            return true;
        }
        let m = (self.bits.len() as u64) * 8;
        bit_positions(h, self.k, m).all(|b| {
            self.bits
                .get((b / 8) as usize)
                .is_some_and(|byte| byte & (1 << (b % 8)) != 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hash_matches_published_xxh64_vectors() {
        let long: Vec<u8> = (0u8..100).collect();
        let cases: [(&[u8], u64); 7] = [
            (b"", 0xef46_db37_51d8_e999),
            (b"a", 0xd24e_c4f1_a98c_6e5b),
            (b"abc", 0x44bc_2cf5_ad77_0999),
            (b"12345678", 0xd2d0_2f08_cf7c_fd4a),
            (b"123456789abc", 0xa5b5_c36f_9984_8384),
            (
                b"Nobody inspects the spammish repetition",
                0xfbce_a83c_8a37_8bf1,
            ),
            (&long, 0x6ac1_e580_3216_6597),
        ];
        for (input, want) in cases {
            assert_eq!(hash(input), want, "xxh64 of {} bytes", input.len());
        }
    }

    #[test]
    fn probe_counts() {
        assert_eq!(probes_for(0), 0);
        assert_eq!(probes_for(1), 1);
        assert_eq!(probes_for(10), 7);
        assert_eq!(probes_for(20), 14);
        assert_eq!(probes_for(1000), MAX_PROBES);
    }

    #[test]
    fn empty_filter_rejects_everything_and_disabled_accepts_everything() {
        let mut enc = Vec::new();
        BloomBuilder::new(10).finish(&mut enc);
        let f = BloomFilter::new(&enc).unwrap();
        assert!(!f.may_contain(b"x"));
        assert!(!f.may_contain(b""));

        let mut enc = Vec::new();
        let mut b = BloomBuilder::new(0);
        b.add_key(b"x");
        b.finish(&mut enc);
        assert_eq!(enc, [0]);
        let f = BloomFilter::new(&enc).unwrap();
        assert!(f.is_disabled());
        assert!(f.may_contain(b"anything"));
    }

    #[test]
    fn rejects_malformed_encodings() {
        assert!(BloomFilter::new(&[]).is_err());
        assert!(BloomFilter::new(&[0xff, 0]).is_err());
        assert!(BloomFilter::new(&[7]).is_err());
        assert!(BloomFilter::new(&[0xff, 31]).is_err());
        assert!(BloomFilter::new(&[0xff, 30]).is_ok());
    }

    #[test]
    fn false_positive_rate_near_theory() {
        let mut b = BloomBuilder::new(10);
        for i in 0..10_000u32 {
            b.add_key(format!("present-{i}").as_bytes());
        }
        let mut enc = Vec::new();
        b.finish(&mut enc);
        let f = BloomFilter::new(&enc).unwrap();
        let fp = (0..10_000u32)
            .filter(|i| f.may_contain(format!("absent-{i}").as_bytes()))
            .count();
        // Theory: 0.82 %, i.e. about 82 of 10 000.
        assert!(fp < 200, "{fp} false positives in 10 000");
    }

    proptest! {
        #[test]
        fn no_false_negatives(keys: Vec<Vec<u8>>, bits in 1u32..24) {
            let mut b = BloomBuilder::new(bits);
            for k in &keys {
                b.add_key(k);
            }
            let mut enc = Vec::new();
            b.finish(&mut enc);
            prop_assert_eq!(enc.len(), b.encoded_len());
            let f = BloomFilter::new(&enc).unwrap();
            for k in &keys {
                prop_assert!(f.may_contain(k));
            }
        }

        #[test]
        fn garbage_never_panics(bytes: Vec<u8>, key: Vec<u8>) {
            if let Ok(f) = BloomFilter::new(&bytes) {
                let _ = f.may_contain(&key);
            }
        }
    }
}
