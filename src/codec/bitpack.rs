//! Fixed-width bit-packing of blocks of `u64` values in four interleaved lanes.
//!
//! A block holds up to [`BLOCK`] (256) values of `width` bits (0..=64). Value `j`
//! belongs to lane `j % 4`, at position `j / 4`; each lane packs its positions least
//! significant bit first into 64-bit words, position `k` at bits `k * width ..` of the
//! lane; and the lanes' words are interleaved in *rows*: row `i` is word `i` of lanes
//! 0, 1, 2, 3, each little-endian. A block of `n` values stores the rows that hold any
//! of them, [`rows`]`(n, width)` = `ceil(ceil(n / 4) * width / 64)`, 32 bytes each
//! ([`packed_len`]); unused bits are zero. Nothing else is stored: the reader must
//! know `n` and `width`.
//!
//! A full block takes `32 * width` bytes, no more than packing the values one after
//! the other would; a short one at most 56 bytes more. In exchange, position `k` of
//! every lane sits at the same offset of its lane, so one vector instruction unpacks
//! four values (`bitpack_lanes.rs`), and a running sum per lane decodes differences
//! taken four values apart at the same speed ([`unpack_running4`]).

use super::DecodeError;
use super::bitpack_lanes as lanes;
pub use super::bitpack_lanes::{BLOCK, LANES};

/// Bits needed to represent `v` (0 for 0, 64 for values with the top bit set).
#[inline]
pub fn width_of(v: u64) -> u32 {
    u64::BITS - v.leading_zeros()
}

/// Rows of four words a block of `count` values (at most [`BLOCK`]) at `width` bits
/// takes (a width above 64 counts as 64).
#[inline]
pub const fn rows(count: usize, width: u32) -> usize {
    let width = if width > 64 { 64 } else { width } as usize;
    let count = if count > BLOCK { BLOCK } else { count };
    (count.div_ceil(LANES) * width).div_ceil(64)
}

/// Bytes a block of `count` values (at most [`BLOCK`]) at `width` bits takes.
#[inline]
pub const fn packed_len(count: usize, width: u32) -> usize {
    rows(count, width) * 8 * LANES
}

/// Appends the block of `values` (at most [`BLOCK`]; more are not packed) at `width`
/// bits (a width above 64 counts as 64). Bits of a value above `width` are ignored.
pub fn pack(values: &[u64], width: u32, out: &mut Vec<u8>) {
    let values = values.get(..BLOCK).unwrap_or(values);
    let mut block = [0u64; BLOCK];
    if let Some(dst) = block.get_mut(..values.len()) {
        dst.copy_from_slice(values);
    }
    let width = width.min(64);
    out.reserve(packed_len(values.len(), width));
    lanes::PACK[width as usize](&block, rows(values.len(), width), out);
}

/// Unpacks a block of `out.len()` values (at most [`BLOCK`]) of `width` bits from the
/// front of `buf`. Returns the bytes consumed, [`packed_len`]`(out.len(), width)`.
pub fn unpack(buf: &[u8], width: u32, out: &mut [u64]) -> Result<usize, DecodeError> {
    let bytes = block_bytes(buf, width, out.len())?;
    match <&mut [u64; BLOCK]>::try_from(&mut *out) {
        Ok(full) => unpack_full(bytes, width, full),
        Err(_) => {
            let mut padded = [0u8; PADDED];
            let mut full = [0u64; BLOCK];
            unpack_full(pad(bytes, &mut padded), width, &mut full);
            if let Some(values) = full.get(..out.len()) {
                out.copy_from_slice(values);
            }
        }
    }
    Ok(bytes.len())
}

/// Unpacks a full block from the front of `bytes` (at least `32 * width` long).
fn unpack_full(bytes: &[u8], width: u32, out: &mut [u64; BLOCK]) {
    let w = width as usize;
    #[cfg(target_arch = "x86_64")]
    if super::vector::avx2_available() {
        // SAFETY: the CPU has AVX2 (checked just above), the target feature of the
        // kernels in `avx2::UNPACK`.
        unsafe { lanes::avx2::UNPACK[w](bytes, out) };
        return;
    }
    lanes::portable::UNPACK[w](bytes, out);
}

/// Unpacks a full block from the front of `buf` and stores, lane by lane, running
/// sums of `value + add` (wrapping): value `j` becomes
/// `acc[j % 4] + (v[j % 4] + add) + (v[j % 4 + 4] + add) + ... + (v[j] + add)`, and
/// `acc` ends holding the last sum of each lane. This decodes differences taken four values apart. With `divisor`,
/// stores each sum `n` as the bits of `n as f64 / divisor`, correctly rounded, which
/// needs every sum to lie in `[-2^51, 2^51)` (the caller bounds them; others come out
/// wrong, though never unsafely). Returns the bytes consumed, `32 * width`.
pub fn unpack_running4(
    buf: &[u8],
    width: u32,
    add: u64,
    acc: &mut [u64; LANES],
    divisor: Option<f64>,
    out: &mut [u64; BLOCK],
) -> Result<usize, DecodeError> {
    let bytes = block_bytes(buf, width, BLOCK)?;
    let w = width as usize;
    #[cfg(target_arch = "x86_64")]
    if super::vector::avx2_available() {
        // SAFETY: as in `unpack_full`.
        unsafe {
            match divisor {
                None => lanes::avx2::RUNNING4[w](bytes, add, acc, lanes::Ints, out),
                Some(1.0) => lanes::avx2::RUNNING4_FLOATS[w](bytes, add, acc, lanes::Floats, out),
                Some(d) => {
                    let map = lanes::Quotients::<true>::new(d);
                    lanes::avx2::RUNNING4_QUOTIENTS[w](bytes, add, acc, map, out)
                }
            }
        }
        return Ok(bytes.len());
    }
    match divisor {
        None => lanes::portable::RUNNING4[w](bytes, add, acc, lanes::Ints, out),
        Some(1.0) => lanes::portable::RUNNING4_FLOATS[w](bytes, add, acc, lanes::Floats, out),
        Some(d) => {
            let map = lanes::PortableQuotients::new(d);
            lanes::portable::RUNNING4_QUOTIENTS[w](bytes, add, acc, map, out)
        }
    }
    Ok(bytes.len())
}

/// The running sums of [`unpack_running4`] over a full block already unpacked (and
/// patched) in place; the same rules for `divisor`.
pub fn sum_lanes(block: &mut [u64; BLOCK], add: u64, acc: &mut [u64; LANES], divisor: Option<f64>) {
    #[cfg(target_arch = "x86_64")]
    if super::vector::avx2_available() {
        // SAFETY: as in `unpack_full`.
        unsafe {
            match divisor {
                None => lanes::avx2::sum_rows(block, add, acc),
                Some(1.0) => lanes::avx2::sum_rows_floats(block, add, acc),
                Some(d) => lanes::avx2::sum_rows_quotients(
                    block,
                    add,
                    acc,
                    lanes::Quotients::<true>::new(d),
                ),
            }
        }
        return;
    }
    match divisor {
        None => lanes::portable::sum_rows(block, add, acc),
        Some(1.0) => lanes::portable::sum_rows_floats(block, add, acc),
        Some(d) => {
            lanes::portable::sum_rows_quotients(block, add, acc, lanes::PortableQuotients::new(d))
        }
    }
}

/// Bytes of a full block at the widest width.
const PADDED: usize = BLOCK / 8 * 64;

/// `bytes` (a short block's rows) at the front of `padded`, zeros after.
fn pad<'a>(bytes: &[u8], padded: &'a mut [u8; PADDED]) -> &'a [u8] {
    if let Some(dst) = padded.get_mut(..bytes.len()) {
        dst.copy_from_slice(bytes);
    }
    padded
}

/// The bytes of a block of `count` values at `width` at the front of `buf`.
fn block_bytes(buf: &[u8], width: u32, count: usize) -> Result<&[u8], DecodeError> {
    if width > 64 {
        return Err(DecodeError("bit width above 64"));
    }
    if count > BLOCK {
        return Err(DecodeError("bit-packed block too long"));
    }
    buf.get(..packed_len(count, width))
        .ok_or(DecodeError("bit-packed run truncated"))
}

#[cfg(test)]
pub(crate) mod tests {
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

    /// The layout written one bit at a time: what the module docs promise.
    pub(crate) fn reference_pack(values: &[u64], width: u32) -> Vec<u8> {
        let width = width as usize;
        let rows = (values.len().div_ceil(LANES) * width).div_ceil(64);
        let mut words = vec![0u64; LANES * rows];
        for (j, &v) in values.iter().enumerate() {
            let (lane, pos) = (j % LANES, j / LANES);
            for b in 0..width {
                if v >> b & 1 == 1 {
                    let bit = pos * width + b;
                    words[LANES * (bit / 64) + lane] |= 1 << (bit % 64);
                }
            }
        }
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn round_trips_every_width_and_length(
            width in 0u32..=64,
            values in prop::collection::vec(any::<u64>(), 0..=BLOCK),
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
            values in prop::collection::vec(any::<u64>(), 1..=BLOCK),
            cut in 1usize..40,
        ) {
            let mut buf = Vec::new();
            pack(&values, width, &mut buf);
            let keep = buf.len().saturating_sub(cut);
            let mut got = vec![0u64; values.len()];
            prop_assert!(unpack(&buf[..keep], width, &mut got).is_err());
        }
    }

    #[test]
    fn sizes_and_edges() {
        assert_eq!(packed_len(0, 64), 0);
        assert_eq!(packed_len(BLOCK, 10), 32 * 10);
        assert_eq!(packed_len(1, 1), 32);
        // 60 values at 11 bits: 15 positions a lane, 165 bits, 3 rows
        assert_eq!(packed_len(60, 11), 96);
        assert_eq!(packed_len(BLOCK + 1, 99), packed_len(BLOCK, 64));
        assert_eq!(width_of(0), 0);
        assert_eq!(width_of(1), 1);
        assert_eq!(width_of(u64::MAX), 64);
        let mut out = [0u64; 4];
        assert!(unpack(&[0; 64], 65, &mut out).is_err());
        assert_eq!(unpack(&[], 0, &mut out), Ok(0));
        assert_eq!(unpack(&[], 7, &mut []), Ok(0));
        assert!(unpack(&[0; 4096], 7, &mut [0; BLOCK + 1]).is_err());
        let mut buf = Vec::new();
        pack(&[u64::MAX; 3], 99, &mut buf);
        assert_eq!(buf.len(), 32);
        assert_eq!(&buf[..24], &[0xFF; 24]);
        // more than a block: only the first block is packed
        let mut buf = Vec::new();
        pack(&[1; BLOCK + 10], 1, &mut buf);
        assert_eq!(buf.len(), packed_len(BLOCK, 1));
    }
}
