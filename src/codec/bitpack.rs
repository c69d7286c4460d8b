//! Fixed-width bit-packing of `u64` values.
//!
//! `count` values of `width` bits (0..=64) form one little-endian bit stream: value `i`
//! occupies bits `i * width .. (i + 1) * width`, least significant bit first, and the
//! stream takes [`packed_len`]`(count, width)` bytes; the unused high bits of the last
//! byte are zero. Nothing else is stored: the reader must know `count` and `width`.
//!
//! The work is done 64 values at a time (a *group*, exactly `8 * width` bytes), by a
//! routine specialised per width through a const generic, so every shift and mask is a
//! constant. A trailing partial group goes through a zero-padded copy.

use super::DecodeError;

/// Values per group: a group of `width`-bit values packs into exactly `width` words.
const GROUP: usize = 64;

/// Bytes taken by `count` values of `width` bits (saturates instead of overflowing).
#[inline]
pub fn packed_len(count: usize, width: u32) -> usize {
    let bits = (count as u128) * u128::from(width.min(64));
    usize::try_from(bits.div_ceil(8)).unwrap_or(usize::MAX)
}

/// Bits needed to represent `v` (0 for 0, 64 for values with the top bit set).
#[inline]
pub fn width_of(v: u64) -> u32 {
    u64::BITS - v.leading_zeros()
}

/// Appends `values` packed at `width` bits each (a width above 64 counts as 64).
/// Bits of a value above `width` are ignored.
pub fn pack(values: &[u64], width: u32, out: &mut Vec<u8>) {
    let width = width.min(64) as usize;
    out.reserve(packed_len(values.len(), width as u32));
    PACK[width](values, out);
}

/// Unpacks `out.len()` values of `width` bits from the front of `buf` into `out`.
/// Returns the bytes consumed, [`packed_len`]`(out.len(), width)`.
pub fn unpack(buf: &[u8], width: u32, out: &mut [u64]) -> Result<usize, DecodeError> {
    if width > 64 {
        return Err(DecodeError("bit width above 64"));
    }
    let len = packed_len(out.len(), width);
    let bytes = buf
        .get(..len)
        .ok_or(DecodeError("bit-packed run truncated"))?;
    UNPACK[width as usize](bytes, out);
    Ok(len)
}

type PackFn = fn(&[u64], &mut Vec<u8>);
type UnpackFn = fn(&[u8], &mut [u64]);

macro_rules! by_width {
    ($f:ident: $($w:literal)*) => { [$($f::<$w>),*] };
}

static PACK: [PackFn; 65] = by_width!(pack_w: 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20
    21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50
    51 52 53 54 55 56 57 58 59 60 61 62 63 64);

static UNPACK: [UnpackFn; 65] = by_width!(unpack_w: 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17
    18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47
    48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64);

#[inline(always)]
const fn mask<const W: usize>() -> u64 {
    if W >= 64 { u64::MAX } else { (1u64 << W) - 1 }
}

/// Packs every value of `values` at `W` bits.
fn pack_w<const W: usize>(values: &[u64], out: &mut Vec<u8>) {
    if W == 0 {
        return;
    }
    let (groups, tail) = values.as_chunks::<GROUP>();
    let mut words = [0u64; GROUP + 1];
    for group in groups {
        pack_group::<W>(group, &mut words);
        for w in &words[..W] {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    if !tail.is_empty() {
        let mut padded = [0u64; GROUP];
        padded[..tail.len()].copy_from_slice(tail);
        pack_group::<W>(&padded, &mut words);
        let len = packed_len(tail.len(), W as u32);
        let bytes = words[..W].iter().flat_map(|w| w.to_le_bytes());
        out.extend(bytes.take(len));
    }
}

/// Expands `$body` once per index of a group, with `$i` a constant, so that every
/// shift and word index in it folds to a constant.
macro_rules! each_in_group {
    ($i:ident => $body:block) => {
        each_in_group!(@ $i $body 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23
            24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51
            52 53 54 55 56 57 58 59 60 61 62 63)
    };
    (@ $i:ident $body:block $($n:literal)*) => {
        $({
            const $i: usize = $n;
            $body
        })*
    };
}

/// Packs one group into `words[..W]` (`words[W]` is scratch).
#[inline(always)]
fn pack_group<const W: usize>(group: &[u64; GROUP], words: &mut [u64; GROUP + 1]) {
    *words = [0; GROUP + 1];
    each_in_group!(I => {
        let v = group[I] & mask::<W>();
        let (word, shift) = (I * W / 64, I * W % 64);
        words[word] |= v << shift;
        if shift + W > 64 {
            words[word + 1] |= v >> (64 - shift);
        }
    });
}

/// Unpacks `out.len()` values of `W` bits; `bytes` holds exactly their packed length.
fn unpack_w<const W: usize>(bytes: &[u8], out: &mut [u64]) {
    if W == 0 {
        out.fill(0);
        return;
    }
    let (groups, tail) = out.as_chunks_mut::<GROUP>();
    let mut words = [0u64; GROUP + 1];
    let mut src = bytes;
    for group in groups {
        let (head, rest) = src.split_at_checked(8 * W).unwrap_or((src, &[]));
        load_words::<W>(head, &mut words);
        unpack_group::<W>(&words, group);
        src = rest;
    }
    if !tail.is_empty() {
        load_words::<W>(src, &mut words);
        let mut padded = [0u64; GROUP];
        unpack_group::<W>(&words, &mut padded);
        tail.copy_from_slice(&padded[..tail.len()]);
    }
}

/// Loads up to `W` little-endian words from `bytes`, zero-filling the rest.
#[inline(always)]
fn load_words<const W: usize>(bytes: &[u8], words: &mut [u64; GROUP + 1]) {
    let (whole, rest) = bytes.as_chunks::<8>();
    if whole.len() >= W {
        for (w, c) in words.iter_mut().zip(&whole[..W]) {
            *w = u64::from_le_bytes(*c);
        }
        return;
    }
    *words = [0; GROUP + 1];
    for (w, c) in words.iter_mut().zip(whole) {
        *w = u64::from_le_bytes(*c);
    }
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    words[whole.len()] = u64::from_le_bytes(last);
}

/// Unpacks one group from `words[..W]` (`words[W]` must be zero or ignored).
#[inline(always)]
fn unpack_group<const W: usize>(words: &[u64; GROUP + 1], out: &mut [u64; GROUP]) {
    each_in_group!(I => {
        let (word, shift) = (I * W / 64, I * W % 64);
        let mut v = words[word] >> shift;
        if shift + W > 64 {
            v |= words[word + 1] << (64 - shift);
        }
        out[I] = v & mask::<W>();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn masked(values: &[u64], width: u32) -> Vec<u64> {
        let m = if width >= 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        };
        values.iter().map(|v| v & m).collect()
    }

    /// The bit stream, written one bit at a time: the layout the docs promise.
    fn reference_pack(values: &[u64], width: u32) -> Vec<u8> {
        let mut out = vec![0u8; packed_len(values.len(), width)];
        for (i, &v) in values.iter().enumerate() {
            for b in 0..width as usize {
                if v >> b & 1 == 1 {
                    let bit = i * width as usize + b;
                    out[bit / 8] |= 1 << (bit % 8);
                }
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn round_trips_every_width(
            width in 0u32..=64,
            values in prop::collection::vec(any::<u64>(), 0..300),
        ) {
            let mut buf = vec![0xAA];
            pack(&values, width, &mut buf);
            prop_assert_eq!(buf.len(), 1 + packed_len(values.len(), width));
            prop_assert_eq!(&buf[1..], &reference_pack(&values, width)[..]);
            buf.extend_from_slice(&[0xFF; 9]);
            let mut got = vec![7u64; values.len()];
            let used = unpack(&buf[1..], width, &mut got).unwrap();
            prop_assert_eq!(used, packed_len(values.len(), width));
            prop_assert_eq!(got, masked(&values, width));
        }

        #[test]
        fn short_input_is_an_error(
            width in 1u32..=64,
            values in prop::collection::vec(any::<u64>(), 1..200),
            cut in 1usize..16,
        ) {
            let mut buf = Vec::new();
            pack(&values, width, &mut buf);
            let keep = buf.len().saturating_sub(cut);
            let mut got = vec![0u64; values.len()];
            prop_assert!(unpack(&buf[..keep], width, &mut got).is_err());
        }
    }

    #[test]
    fn edges() {
        assert_eq!(packed_len(0, 64), 0);
        assert_eq!(packed_len(3, 3), 2);
        assert_eq!(packed_len(usize::MAX, 64), usize::MAX);
        assert_eq!(width_of(0), 0);
        assert_eq!(width_of(1), 1);
        assert_eq!(width_of(u64::MAX), 64);
        let mut out = [0u64; 4];
        assert!(unpack(&[0; 64], 65, &mut out).is_err());
        assert_eq!(unpack(&[], 0, &mut out), Ok(0));
        assert_eq!(unpack(&[], 7, &mut []), Ok(0));
        let mut buf = Vec::new();
        pack(&[u64::MAX; 3], 99, &mut buf);
        assert_eq!(buf, vec![0xFF; 24]);
    }
}
