//! Whole-block loops of the decoders, written so that the compiler vectorizes them, and
//! compiled twice on x86-64: for the baseline target and for AVX2 + FMA, picked at run
//! time from what the CPU has. (The bit-unpacking kernels, in `bitpack_lanes.rs`, are
//! compiled the same way and use the conversions' building blocks from here.)
//!
//! [`fill_arithmetic`] and [`fill_lanes`] write arithmetic progressions (a regular run
//! of timestamps, as consecutive or as lane differences). The conversions work in place
//! on the bits of the integers (`i64` as `u64`):
//!
//! - [`ints_to_floats`]: `n as f64`;
//! - [`ints_to_decimals`]: `n as f64 / 10^e`, correctly rounded. With FMA the quotient
//!   is computed without a division instruction (Markstein's correction: `q = d * r`
//!   with `r` the rounded reciprocal of `10^e`, then `q + (d - q * 10^e) * r` with two
//!   fused multiply-adds), which gives the correctly rounded quotient, bit for bit what
//!   the division gives; without FMA it divides. The tests check the two against each
//!   other.
//!
//! Integers with `|n| < 2^51` (every mantissa the decimal encoder writes) convert
//! through the exponent bias trick, `from_bits(n + bits(1.5 * 2^52)) - 1.5 * 2^52`,
//! which is exact and vectorizes where the `i64` to `f64` instruction does not exist
//! before AVX-512; a block with any larger integer takes the plain conversion.

/// `1.5 * 2^52`: adding an integer below 2^51 in magnitude to its bits adds it exactly.
pub(super) const ROUND: f64 = 6_755_399_441_055_744.0;
/// The bits of [`ROUND`].
pub(super) const ROUND_BITS: u64 = ROUND.to_bits();

/// Every integer in `block` (as `i64`) lies in `[-2^51, 2^51)`.
#[inline(always)]
fn all_small(block: &[u64]) -> bool {
    const BIAS: u64 = 1 << 51;
    block
        .iter()
        .fold(0u64, |acc, &n| acc | (n.wrapping_add(BIAS) >> 52))
        == 0
}

/// The largest (`MAX`) or smallest of `values`, `None` if there is none: in
/// independent lanes, which compile to vector compares and blends where the target
/// has 64-bit integer compares (AVX2), not one chain of dependent selections.
#[inline(always)]
fn extreme<const MAX: bool>(values: &[i64]) -> Option<i64> {
    // four registers of four: a compare and a blend take several cycles each
    const LANES: usize = 16;
    let first = *values.first()?;
    let pick = |m: i64, v: i64| {
        let better = if MAX { v > m } else { v < m };
        if better { v } else { m }
    };
    let mut acc = [first; LANES];
    let mut blocks = values.chunks_exact(LANES);
    for block in &mut blocks {
        for (a, &v) in acc.iter_mut().zip(block) {
            *a = pick(*a, v);
        }
    }
    let m = acc.into_iter().fold(first, pick);
    Some(blocks.remainder().iter().fold(m, |m, &v| pick(m, v)))
}

/// `n as f64` for `n` in `[-2^51, 2^51)`.
#[inline(always)]
pub(super) fn small_to_f64(n: u64) -> f64 {
    f64::from_bits(n.wrapping_add(ROUND_BITS)) - ROUND
}

/// `d / p`, correctly rounded, given `r = 1 / p` correctly rounded: with FMA through
/// Markstein's correction, else by division.
#[inline(always)]
pub(super) fn quotient<const FMA: bool>(d: f64, p: f64, r: f64) -> f64 {
    if FMA {
        let q = d * r;
        let residual = (-q).mul_add(p, d);
        residual.mul_add(r, q)
    } else {
        d / p
    }
}

#[inline(always)]
fn fill(out: &mut [u64], first: u64, step: u64) {
    // an induction variable, which the vectorizer widens into vector adds
    let mut v = first;
    for x in out.iter_mut() {
        *x = v;
        v = v.wrapping_add(step);
    }
}

#[inline(always)]
fn fill4(out: &mut [u64], lanes: &mut [u64; 4], step: u64) {
    let mut cur = *lanes;
    let (rows, tail) = out.as_chunks_mut::<4>();
    for row in rows {
        for (c, x) in cur.iter_mut().zip(row.iter_mut()) {
            *c = c.wrapping_add(step);
            *x = *c;
        }
    }
    for (c, x) in cur.iter_mut().zip(tail.iter_mut()) {
        *c = c.wrapping_add(step);
        *x = *c;
    }
    // the last value of each lane, ordered as the four values at the end
    let n = out.len();
    *lanes = std::array::from_fn(|k| cur[(n + k) % 4]);
}

#[inline(always)]
fn to_floats(block: &mut [u64]) {
    if all_small(block) {
        for x in block.iter_mut() {
            *x = small_to_f64(*x).to_bits();
        }
    } else {
        for x in block.iter_mut() {
            *x = (*x as i64 as f64).to_bits();
        }
    }
}

#[inline(always)]
fn to_decimals<const FMA: bool>(block: &mut [u64], p: f64) {
    let r = 1.0 / p;
    if all_small(block) {
        for x in block.iter_mut() {
            *x = quotient::<FMA>(small_to_f64(*x), p, r).to_bits();
        }
    } else {
        for x in block.iter_mut() {
            *x = quotient::<FMA>(*x as i64 as f64, p, r).to_bits();
        }
    }
}

/// Hardware fused multiply-add is part of the target the crate is compiled for: its
/// baseline loops may use the division-free quotient.
pub(super) const BASELINE_FMA: bool = cfg!(any(target_arch = "aarch64", target_feature = "fma"));

/// Magnitude below which integers convert with [`small_to_f64`].
pub(super) const SMALL: u64 = 1 << 51;

/// The loops for the target the crate is compiled for.
mod portable {
    const FMA: bool = super::BASELINE_FMA;

    pub fn fill_arithmetic(out: &mut [u64], first: u64, step: u64) {
        super::fill(out, first, step)
    }

    pub fn fill_lanes(out: &mut [u64], lanes: &mut [u64; 4], step: u64) {
        super::fill4(out, lanes, step)
    }

    pub fn ints_to_floats(block: &mut [u64]) {
        super::to_floats(block)
    }

    pub fn ints_to_decimals(block: &mut [u64], p: f64) {
        super::to_decimals::<FMA>(block, p)
    }

    pub fn extreme<const MAX: bool>(values: &[i64]) -> Option<i64> {
        super::extreme::<MAX>(values)
    }
}

/// The same loops compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    #[target_feature(enable = "avx2,fma")]
    pub fn fill_arithmetic(out: &mut [u64], first: u64, step: u64) {
        super::fill(out, first, step)
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn fill_lanes(out: &mut [u64], lanes: &mut [u64; 4], step: u64) {
        super::fill4(out, lanes, step)
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn ints_to_floats(block: &mut [u64]) {
        super::to_floats(block)
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn ints_to_decimals(block: &mut [u64], p: f64) {
        super::to_decimals::<true>(block, p)
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn extreme<const MAX: bool>(values: &[i64]) -> Option<i64> {
        super::extreme::<MAX>(values)
    }

    /// The CPU has AVX2 and FMA (the standard library caches the answer).
    #[inline]
    pub fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
}

/// The CPU has AVX2 and FMA, the target features of every vector kernel of the codecs.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn avx2_available() -> bool {
    avx2::available()
}

/// Fills `out` with `first, first + step, first + 2 step, ...` (wrapping) and returns
/// the last value written (`first - step` when `out` is empty).
pub fn fill_arithmetic(out: &mut [u64], first: u64, step: u64) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: `avx2::available` checked that this CPU has AVX2 and FMA, the target
        // features the function is compiled with.
        unsafe { avx2::fill_arithmetic(out, first, step) };
    } else {
        portable::fill_arithmetic(out, first, step);
    }
    #[cfg(not(target_arch = "x86_64"))]
    portable::fill_arithmetic(out, first, step);
    first.wrapping_add(step.wrapping_mul(out.len() as u64).wrapping_sub(step))
}

/// Continues four interleaved arithmetic progressions of common difference `step`:
/// `out[j]` is the previous value of its lane `j % 4` plus `step`, where `lanes` holds
/// the four values before `out`, oldest first; on return it holds the last four.
pub fn fill_lanes(out: &mut [u64], lanes: &mut [u64; 4], step: u64) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: as in `fill_arithmetic`.
        return unsafe { avx2::fill_lanes(out, lanes, step) };
    }
    portable::fill_lanes(out, lanes, step)
}

/// Replaces each `i64` in `block` (as bits) by the bits of `n as f64`.
pub fn ints_to_floats(block: &mut [u64]) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: as in `fill_arithmetic`.
        return unsafe { avx2::ints_to_floats(block) };
    }
    portable::ints_to_floats(block)
}

/// Replaces each `i64` in `block` (as bits) by the bits of `n as f64 / p`, correctly
/// rounded, where `p` is a power of ten (or any `f64` whose reciprocal is normal).
pub fn ints_to_decimals(block: &mut [u64], p: f64) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: as in `fill_arithmetic`.
        return unsafe { avx2::ints_to_decimals(block, p) };
    }
    portable::ints_to_decimals(block, p)
}

/// Below this many values the extremes are taken one by one, inline: a bucket of a
/// minute of 10-second points is six.
const SHORT: usize = 32;

/// The largest (`MAX`) or smallest of `values`, `None` if there is none.
#[inline]
pub fn extreme_i64<const MAX: bool>(values: &[i64]) -> Option<i64> {
    if values.len() < SHORT {
        let plain = values.iter().copied();
        return if MAX { plain.max() } else { plain.min() };
    }
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: as in `fill_arithmetic`.
        return unsafe { avx2::extreme::<MAX>(values) };
    }
    portable::extreme::<MAX>(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const POW10: [f64; 19] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18,
    ];

    /// Every implementation of the decimal conversion, by name.
    type DecimalPath = (&'static str, fn(&mut [u64], f64));
    type FloatPath = (&'static str, fn(&mut [u64]));

    fn decimal_paths() -> Vec<DecimalPath> {
        let mut paths: Vec<DecimalPath> = vec![
            ("dispatched", ints_to_decimals),
            ("portable", portable::ints_to_decimals),
            ("division", |b, p| to_decimals::<false>(b, p)),
            ("fused", |b, p| to_decimals::<true>(b, p)),
        ];
        #[cfg(target_arch = "x86_64")]
        if avx2::available() {
            // SAFETY: the CPU has the features, checked by `available`.
            paths.push(("avx2", |b, p| unsafe { avx2::ints_to_decimals(b, p) }));
        }
        paths
    }

    fn check_decimals(ints: &[i64]) {
        for (name, f) in decimal_paths() {
            for (e, &p) in POW10.iter().enumerate() {
                let mut block: Vec<u64> = ints.iter().map(|&n| n as u64).collect();
                f(&mut block, p);
                for (&n, &got) in ints.iter().zip(&block) {
                    let want = (n as f64 / p).to_bits();
                    assert_eq!(got, want, "{name}: {n} / 1e{e}");
                }
            }
        }
    }

    fn check_floats(ints: &[i64]) {
        let mut paths: Vec<FloatPath> = vec![
            ("dispatched", ints_to_floats),
            ("portable", portable::ints_to_floats),
        ];
        #[cfg(target_arch = "x86_64")]
        if avx2::available() {
            // SAFETY: the CPU has the features, checked by `available`.
            paths.push(("avx2", |b| unsafe { avx2::ints_to_floats(b) }));
        }
        for (name, f) in paths {
            let mut block: Vec<u64> = ints.iter().map(|&n| n as u64).collect();
            f(&mut block);
            for (&n, &got) in ints.iter().zip(&block) {
                assert_eq!(got, (n as f64).to_bits(), "{name}: {n}");
            }
        }
    }

    #[test]
    fn edges_convert_as_the_plain_expressions() {
        let small = [0, 1, -1, 12_345, -(1 << 51), (1 << 51) - 1, 999_999_999];
        let large = [1 << 51, -(1 << 51) - 1, i64::MAX, i64::MIN, (1 << 53) + 1];
        // the first set takes the bias trick, the second (with an integer out of its
        // range) the plain conversion
        for set in [&small[..], &[&small[..], &large[..]].concat()] {
            check_decimals(set);
            check_floats(set);
        }
        let near_powers: Vec<i64> = (0..52)
            .flat_map(|k| (-3..=3).flat_map(move |d| [(1i64 << k) + d, -(1i64 << k) + d]))
            .collect();
        check_decimals(&near_powers);
        check_floats(&near_powers);
    }

    #[test]
    fn fills_continue_their_progressions() {
        for n in [0usize, 1, 3, 4, 5, 63, 256, 1000] {
            let mut out = vec![7u64; n];
            let last = fill_arithmetic(&mut out, 10, u64::MAX - 2);
            let want: Vec<u64> = (0..n as u64)
                .map(|i| 10u64.wrapping_add(i.wrapping_mul(u64::MAX - 2)))
                .collect();
            assert_eq!(out, want);
            assert_eq!(
                last,
                10u64
                    .wrapping_sub(u64::MAX - 2)
                    .wrapping_add((n as u64).wrapping_mul(u64::MAX - 2))
            );
            let start = [100, 200, 300, u64::MAX];
            let mut lanes = start;
            fill_lanes(&mut out, &mut lanes, 5);
            let mut model = start.to_vec();
            for j in 0..n {
                model.push(model[j].wrapping_add(5));
            }
            assert_eq!(out, model[4..]);
            assert_eq!(
                lanes,
                <[u64; 4]>::try_from(&model[model.len() - 4..]).unwrap()
            );
        }
    }

    #[test]
    fn dense_small_mantissas_divide_exactly() {
        let ints: Vec<i64> = (-200_000..=200_000).collect();
        check_decimals(&ints);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Every path's extremes are those of the iterator, for any integers and
        /// lengths around the lanes.
        #[test]
        fn extremes_are_the_iterators(values in prop::collection::vec(any::<i64>(), 0..100)) {
            let want = (values.iter().copied().max(), values.iter().copied().min());
            let got = (extreme_i64::<true>(&values), extreme_i64::<false>(&values));
            prop_assert_eq!(got, want);
            let portable = (
                portable::extreme::<true>(&values),
                portable::extreme::<false>(&values),
            );
            prop_assert_eq!(portable, want);
        }

        #[test]
        fn random_mantissas_divide_exactly(
            ints in prop::collection::vec(-(1i64 << 51)..(1i64 << 51), 1..200),
        ) {
            check_decimals(&ints);
            check_floats(&ints);
        }

        #[test]
        fn any_integers_convert(ints in prop::collection::vec(any::<i64>(), 1..100)) {
            check_decimals(&ints);
            check_floats(&ints);
        }
    }
}
