//! The kernels of [`super::bitpack`]: packing and unpacking a block in the lane layout.
//!
//! Position `k` of every lane sits at the same bit offset `k * w` of its lane, so the
//! kernels work on rows of four words (one per lane) with one set of constant shifts,
//! one instantiation per width: code the compiler turns into vector instructions.
//! Each unpacking kernel exists twice on x86-64, compiled for the baseline target and
//! for AVX2, picked by the callers in `bitpack.rs`. Kernels always work on a whole
//! block of 64 rows; `bitpack.rs` pads a short block.

use super::vector::{BASELINE_FMA, ROUND, ROUND_BITS, quotient};

/// What a fused kernel stores for each row of four integers.
pub trait RowMap: Copy {
    /// Added (wrapping) to the running sums while the kernel works, so that `apply`
    /// receives them biased: it saves the conversion an instruction.
    const BIAS: u64;
    /// The four words to store for the running sums `row` (each plus [`RowMap::BIAS`]).
    fn apply(self, row: [u64; LANES]) -> [u64; LANES];
}

/// The integers themselves.
#[derive(Debug, Clone, Copy)]
pub struct Ints;

impl RowMap for Ints {
    const BIAS: u64 = 0;

    #[inline(always)]
    fn apply(self, row: [u64; LANES]) -> [u64; LANES] {
        row
    }
}

/// `n as f64`, for integers known to lie in `[-2^51, 2^51)`.
#[derive(Debug, Clone, Copy)]
pub struct Floats;

impl RowMap for Floats {
    const BIAS: u64 = ROUND_BITS;

    #[inline(always)]
    fn apply(self, row: [u64; LANES]) -> [u64; LANES] {
        row.map(|b| (f64::from_bits(b) - ROUND).to_bits())
    }
}

/// `n as f64 / divisor`, correctly rounded, as `f64` bits, for integers known to lie
/// in `[-2^51, 2^51)`; `FMA` picks the division-free quotient.
#[derive(Debug, Clone, Copy)]
pub struct Quotients<const FMA: bool> {
    divisor: f64,
    reciprocal: f64,
}

impl<const FMA: bool> Quotients<FMA> {
    /// Quotients by `divisor` (a power of ten).
    pub fn new(divisor: f64) -> Self {
        Quotients {
            divisor,
            reciprocal: 1.0 / divisor,
        }
    }
}

impl<const FMA: bool> RowMap for Quotients<FMA> {
    // the bits of 1.5 * 2^52: a biased sum is the bits of the f64 `ROUND + n`
    const BIAS: u64 = ROUND_BITS;

    #[inline(always)]
    fn apply(self, row: [u64; LANES]) -> [u64; LANES] {
        row.map(|b| {
            quotient::<FMA>(f64::from_bits(b) - ROUND, self.divisor, self.reciprocal).to_bits()
        })
    }
}

/// The quotients the baseline kernels compute.
pub type PortableQuotients = Quotients<BASELINE_FMA>;

/// Lanes of a block.
pub const LANES: usize = 4;
/// Values of a lane.
pub const LANE_LEN: usize = 64;
/// Values of a block in the lane layout.
pub const BLOCK: usize = LANES * LANE_LEN;

/// Row `a` of the words: word `a` of each lane, or zeros past the end.
#[inline(always)]
fn row<const W: usize>(rows: &[[[u8; 8]; LANES]; W], a: usize) -> [u64; LANES] {
    match rows.get(a) {
        Some(r) => r.map(u64::from_le_bytes),
        None => [0; LANES],
    }
}

/// Position `k` of each lane.
#[inline(always)]
fn values_at<const W: usize>(rows: &[[[u8; 8]; LANES]; W], k: usize) -> [u64; LANES] {
    let (a, shift) = (k * W / 64, k * W % 64);
    let lo = row(rows, a);
    let straddles = shift + W > 64;
    let hi = if straddles {
        row(rows, a + 1)
    } else {
        [0; LANES]
    };
    let mut v = [0; LANES];
    for l in 0..LANES {
        let mut x = lo[l] >> shift;
        if straddles {
            x |= hi[l] << (64 - shift);
        }
        v[l] = x & mask::<W>();
    }
    v
}

/// Expands `$body` once per position of a lane, with `$k` a constant.
macro_rules! each_position {
    ($k:ident => $body:block) => {
        each_position!(@ $k $body 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23
            24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51
            52 53 54 55 56 57 58 59 60 61 62 63)
    };
    (@ $k:ident $body:block $($n:literal)*) => {
        $({
            const $k: usize = $n;
            $body
        })*
    };
}

/// The words of a block of width `W` at the front of `bytes` as rows, and the output
/// as rows of four values. `None` if `bytes` is too short (callers check first).
#[inline(always)]
#[allow(clippy::type_complexity)]
fn split<'a, 'b, const W: usize>(
    bytes: &'a [u8],
    out: &'b mut [u64; BLOCK],
) -> Option<(&'a [[[u8; 8]; LANES]; W], &'b mut [[u64; LANES]; LANE_LEN])> {
    let rows = bytes.as_chunks::<8>().0.as_chunks::<LANES>().0;
    let rows = rows.get(..W)?.try_into().ok()?;
    let out = out.as_chunks_mut::<LANES>().0.try_into().ok()?;
    Some((rows, out))
}

#[inline(always)]
fn unpack_body<const W: usize>(bytes: &[u8], out: &mut [u64; BLOCK]) {
    let Some((rows, out)) = split::<W>(bytes, out) else {
        return;
    };
    each_position!(K => {
        out[K] = values_at::<W>(rows, K);
    });
}

#[inline(always)]
fn running4_body<const W: usize, M: RowMap>(
    bytes: &[u8],
    add: u64,
    acc: &mut [u64; LANES],
    map: M,
    out: &mut [u64; BLOCK],
) {
    let Some((rows, out)) = split::<W>(bytes, out) else {
        return;
    };
    let mut sum = acc.map(|a| a.wrapping_add(M::BIAS));
    each_position!(K => {
        let v = values_at::<W>(rows, K);
        for l in 0..LANES {
            sum[l] = sum[l].wrapping_add(v[l].wrapping_add(add));
        }
        out[K] = map.apply(sum);
    });
    *acc = sum.map(|s| s.wrapping_sub(M::BIAS));
}

/// The running sums of [`running4_body`] over rows already unpacked (and patched) in
/// `block`, in place.
#[inline(always)]
fn sum_rows_body<M: RowMap>(block: &mut [u64; BLOCK], add: u64, acc: &mut [u64; LANES], map: M) {
    let mut sum = acc.map(|a| a.wrapping_add(M::BIAS));
    for row in block.as_chunks_mut::<LANES>().0 {
        for (s, x) in sum.iter_mut().zip(row.iter()) {
            *s = s.wrapping_add(x.wrapping_add(add));
        }
        *row = map.apply(sum);
    }
    *acc = sum.map(|s| s.wrapping_sub(M::BIAS));
}

/// A mask of the low `W` bits.
#[inline(always)]
const fn mask<const W: usize>() -> u64 {
    if W >= 64 { u64::MAX } else { (1u64 << W) - 1 }
}

/// Packs a block (zero-padded to [`BLOCK`] values) at `W` bits and appends its first
/// `rows` rows of four words, `32 rows` bytes.
fn pack_w<const W: usize>(values: &[u64; BLOCK], rows: usize, out: &mut Vec<u8>) {
    let mut words = [[0u64; LANES]; 64 + 1];
    each_position!(K => {
        let (a, shift) = (K * W / 64, K * W % 64);
        for l in 0..LANES {
            let v = values[LANES * K + l] & mask::<W>();
            words[a][l] |= v << shift;
            if shift + W > 64 {
                words[a + 1][l] |= v >> (64 - shift);
            }
        }
    });
    for row in words.iter().take(rows.min(W)) {
        for w in row {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
}

/// An unpacking kernel: a full block from the front of `bytes` (at least `32 w` bytes).
pub type UnpackFn = fn(&[u8], &mut [u64; BLOCK]);
/// A kernel storing, per lane, `map` of the running sum of `value + add` from `acc`.
pub type Running4Fn<M> = fn(&[u8], u64, &mut [u64; LANES], M, &mut [u64; BLOCK]);
/// The same kernels compiled for AVX2: call only on a CPU that has it.
pub type UnpackAvx2Fn = unsafe fn(&[u8], &mut [u64; BLOCK]);
/// See [`UnpackAvx2Fn`].
pub type Running4Avx2Fn<M> = unsafe fn(&[u8], u64, &mut [u64; LANES], M, &mut [u64; BLOCK]);

macro_rules! by_width {
    ($f:ident: $($w:literal)*) => { [$($f::<$w> as _),*] };
}

/// The kernels compiled for the baseline target.
pub mod portable {
    use super::*;

    fn unpack_w<const W: usize>(bytes: &[u8], out: &mut [u64; BLOCK]) {
        unpack_body::<W>(bytes, out)
    }

    fn ints_w<const W: usize>(
        b: &[u8],
        add: u64,
        acc: &mut [u64; LANES],
        map: Ints,
        out: &mut [u64; BLOCK],
    ) {
        running4_body::<W, Ints>(b, add, acc, map, out)
    }

    fn quotients_w<const W: usize>(
        b: &[u8],
        add: u64,
        acc: &mut [u64; LANES],
        map: PortableQuotients,
        out: &mut [u64; BLOCK],
    ) {
        running4_body::<W, PortableQuotients>(b, add, acc, map, out)
    }

    fn floats_w<const W: usize>(
        b: &[u8],
        add: u64,
        acc: &mut [u64; LANES],
        map: Floats,
        out: &mut [u64; BLOCK],
    ) {
        running4_body::<W, Floats>(b, add, acc, map, out)
    }

    /// [`sum_rows_body`] storing floats.
    pub fn sum_rows_floats(block: &mut [u64; BLOCK], add: u64, acc: &mut [u64; LANES]) {
        sum_rows_body(block, add, acc, Floats)
    }

    /// [`sum_rows_body`] storing integers.
    pub fn sum_rows(block: &mut [u64; BLOCK], add: u64, acc: &mut [u64; LANES]) {
        sum_rows_body(block, add, acc, Ints)
    }

    /// [`sum_rows_body`] storing quotients.
    pub fn sum_rows_quotients(
        block: &mut [u64; BLOCK],
        add: u64,
        acc: &mut [u64; LANES],
        map: PortableQuotients,
    ) {
        sum_rows_body(block, add, acc, map)
    }

    /// Unpacking by width.
    pub static UNPACK: [UnpackFn; 65] = by_width!(unpack_w: 0 1 2 3 4 5 6 7 8 9 10 11 12 13
        14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42
        43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64);

    /// Running sums by width, stored as integers.
    pub static RUNNING4: [Running4Fn<Ints>; 65] = by_width!(ints_w: 0 1 2 3 4 5 6 7 8 9 10 11
        12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40
        41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64);

    /// Running sums by width, stored as quotients.
    pub static RUNNING4_QUOTIENTS: [Running4Fn<PortableQuotients>; 65] = by_width!(quotients_w:
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
        33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62
        63 64);

    /// Running sums by width, stored as floats.
    pub static RUNNING4_FLOATS: [Running4Fn<Floats>; 65] = by_width!(floats_w: 0 1 2 3 4 5 6 7
        8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38
        39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64);
}

/// The kernels compiled for AVX2.
#[cfg(target_arch = "x86_64")]
pub mod avx2 {
    use super::*;

    #[target_feature(enable = "avx2,fma")]
    fn unpack_w<const W: usize>(bytes: &[u8], out: &mut [u64; BLOCK]) {
        unpack_body::<W>(bytes, out)
    }

    #[target_feature(enable = "avx2,fma")]
    fn ints_w<const W: usize>(
        b: &[u8],
        add: u64,
        acc: &mut [u64; LANES],
        map: Ints,
        out: &mut [u64; BLOCK],
    ) {
        running4_body::<W, Ints>(b, add, acc, map, out)
    }

    #[target_feature(enable = "avx2,fma")]
    fn quotients_w<const W: usize>(
        b: &[u8],
        add: u64,
        acc: &mut [u64; LANES],
        map: Quotients<true>,
        out: &mut [u64; BLOCK],
    ) {
        running4_body::<W, Quotients<true>>(b, add, acc, map, out)
    }

    #[target_feature(enable = "avx2,fma")]
    fn floats_w<const W: usize>(
        b: &[u8],
        add: u64,
        acc: &mut [u64; LANES],
        map: Floats,
        out: &mut [u64; BLOCK],
    ) {
        running4_body::<W, Floats>(b, add, acc, map, out)
    }

    /// [`sum_rows_body`] storing floats.
    #[target_feature(enable = "avx2,fma")]
    pub fn sum_rows_floats(block: &mut [u64; BLOCK], add: u64, acc: &mut [u64; LANES]) {
        sum_rows_body(block, add, acc, Floats)
    }

    /// [`sum_rows_body`] storing integers.
    #[target_feature(enable = "avx2,fma")]
    pub fn sum_rows(block: &mut [u64; BLOCK], add: u64, acc: &mut [u64; LANES]) {
        sum_rows_body(block, add, acc, Ints)
    }

    /// [`sum_rows_body`] storing quotients.
    #[target_feature(enable = "avx2,fma")]
    pub fn sum_rows_quotients(
        block: &mut [u64; BLOCK],
        add: u64,
        acc: &mut [u64; LANES],
        map: Quotients<true>,
    ) {
        sum_rows_body(block, add, acc, map)
    }

    /// Unpacking by width.
    pub static UNPACK: [UnpackAvx2Fn; 65] = by_width!(unpack_w: 0 1 2 3 4 5 6 7 8 9 10 11 12
        13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41
        42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64);

    /// Running sums by width, stored as integers.
    pub static RUNNING4: [Running4Avx2Fn<Ints>; 65] = by_width!(ints_w: 0 1 2 3 4 5 6 7 8 9 10
        11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39
        40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64);

    /// Running sums by width, stored as quotients.
    pub static RUNNING4_QUOTIENTS: [Running4Avx2Fn<Quotients<true>>; 65] = by_width!(
        quotients_w: 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28
        29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58
        59 60 61 62 63 64);

    /// Running sums by width, stored as floats.
    pub static RUNNING4_FLOATS: [Running4Avx2Fn<Floats>; 65] = by_width!(floats_w: 0 1 2 3 4 5
        6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36
        37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64);
}

/// A packing kernel: a block (zero-padded) and the number of rows to append.
pub type PackFn = fn(&[u64; BLOCK], usize, &mut Vec<u8>);

/// Packing by width.
pub static PACK: [PackFn; 65] = by_width!(pack_w: 0 1 2 3 4 5 6 7 8
    9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39
    40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn masked(values: &[u64; BLOCK], width: usize) -> [u64; BLOCK] {
        let m = if width >= 64 {
            u64::MAX
        } else {
            (1 << width) - 1
        };
        values.map(|v| v & m)
    }

    /// Running sums by lane, as the kernels define them.
    fn reference_sums(values: &[u64; BLOCK], add: u64, acc: &mut [u64; LANES]) -> [u64; BLOCK] {
        let mut out = [0; BLOCK];
        for (j, &v) in values.iter().enumerate() {
            acc[j % LANES] = acc[j % LANES].wrapping_add(v.wrapping_add(add));
            out[j] = acc[j % LANES];
        }
        out
    }

    fn block() -> impl Strategy<Value = [u64; BLOCK]> {
        prop::collection::vec(any::<u64>(), BLOCK).prop_map(|v| v.try_into().unwrap())
    }

    /// Every unpacking kernel of `width`: the baseline one and, where the CPU has it,
    /// the AVX2 one.
    type Unpacker = Box<dyn Fn(&[u8], &mut [u64; BLOCK])>;
    type Summer<'a> = Box<dyn Fn(&mut [u64; LANES], &mut [u64; BLOCK]) + 'a>;

    fn unpackers(width: usize) -> Vec<Unpacker> {
        let mut all: Vec<Unpacker> = vec![Box::new(portable::UNPACK[width])];
        #[cfg(target_arch = "x86_64")]
        if crate::codec::vector::avx2_available() {
            // SAFETY: the CPU has AVX2 and FMA, checked just above.
            all.push(Box::new(move |b, o| unsafe { avx2::UNPACK[width](b, o) }));
        }
        all
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn packs_the_documented_layout_and_unpacks_it(width in 0usize..=64, values in block()) {
            let mut buf = vec![0xAA];
            PACK[width](&values, width, &mut buf);
            prop_assert_eq!(buf.len(), 1 + BLOCK / 8 * width);
            prop_assert_eq!(&buf[1..], &crate::codec::bitpack::tests::reference_pack(&values, width as u32)[..]);
            for unpack in unpackers(width) {
                let mut got = [7u64; BLOCK];
                unpack(&buf[1..], &mut got);
                prop_assert_eq!(got, masked(&values, width));
            }
        }

        #[test]
        fn running_sums_of_every_kernel(
            width in 0usize..=64,
            values in block(),
            add in any::<u64>(),
            start in any::<[u64; LANES]>(),
        ) {
            let mut buf = Vec::new();
            PACK[width](&values, width, &mut buf);
            let mut want_acc = start;
            let want = reference_sums(&masked(&values, width), add, &mut want_acc);
            let mut kernels: Vec<Summer> = vec![
                Box::new(|acc, out| portable::RUNNING4[width](&buf, add, acc, Ints, out)),
                Box::new(|acc, out| {
                    *out = masked(&values, width);
                    portable::sum_rows(out, add, acc)
                }),
            ];
            #[cfg(target_arch = "x86_64")]
            if crate::codec::vector::avx2_available() {
                // SAFETY: the CPU has AVX2 and FMA, checked just above.
                kernels.push(Box::new(|acc, out| unsafe { avx2::RUNNING4[width](&buf, add, acc, Ints, out) }));
                kernels.push(Box::new(|acc, out| {
                    *out = masked(&values, width);
                    // SAFETY: as above.
                    unsafe { avx2::sum_rows(out, add, acc) }
                }));
            }
            for kernel in kernels {
                let (mut acc, mut out) = (start, [0u64; BLOCK]);
                kernel(&mut acc, &mut out);
                prop_assert_eq!(out, want);
                prop_assert_eq!(acc, want_acc);
            }
        }

        #[test]
        fn quotients_of_every_kernel(
            width in 0usize..=40,
            values in block(),
            add in -1000i64..1000,
            start in any::<[i32; LANES]>(),
            e in 0usize..=18,
        ) {
            // small sums: the starts, plus 64 residuals of at most 2^40 + 1000
            let divisor = 10f64.powi(e as i32);
            let start = start.map(|s| i64::from(s) as u64);
            let mut buf = Vec::new();
            PACK[width](&values, width, &mut buf);
            let mut want_acc = start;
            let sums = reference_sums(&masked(&values, width), add as u64, &mut want_acc);
            let want = sums.map(|n| (n as i64 as f64 / divisor).to_bits());
            let mut kernels: Vec<Summer> = vec![
                Box::new(|acc, out| {
                    let map = PortableQuotients::new(divisor);
                    portable::RUNNING4_QUOTIENTS[width](&buf, add as u64, acc, map, out)
                }),
                Box::new(|acc, out| {
                    *out = masked(&values, width);
                    portable::sum_rows_quotients(out, add as u64, acc, PortableQuotients::new(divisor))
                }),
            ];
            #[cfg(target_arch = "x86_64")]
            if crate::codec::vector::avx2_available() {
                kernels.push(Box::new(|acc, out| {
                    let map = Quotients::<true>::new(divisor);
                    // SAFETY: the CPU has AVX2 and FMA, checked just above.
                    unsafe { avx2::RUNNING4_QUOTIENTS[width](&buf, add as u64, acc, map, out) }
                }));
                kernels.push(Box::new(|acc, out| {
                    *out = masked(&values, width);
                    // SAFETY: as above.
                    unsafe { avx2::sum_rows_quotients(out, add as u64, acc, Quotients::<true>::new(divisor)) }
                }));
            }
            for kernel in kernels {
                let (mut acc, mut out) = (start, [0u64; BLOCK]);
                kernel(&mut acc, &mut out);
                prop_assert_eq!(out, want);
                prop_assert_eq!(acc, want_acc);
            }
        }
    }
}
