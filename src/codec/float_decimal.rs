//! Decimal (ALP-style) coding of `f64` values that are short decimals.
//!
//! A value `v` is *decimal at exponent e* when an integer `n` with `|n| <= 2^51`
//! satisfies `(n as f64) / 10^e == v` bit for bit, the very expression the decoder
//! evaluates. A chunk picks one exponent `e` in `0..=18` and stores the integers (the
//! *mantissas*) as an [`super::intseq`] of differences four apart (lanes, which decode
//! four at a time) or of the mantissas themselves (frame of reference), whichever is
//! smaller (lanes on a tie). Consecutive deltas would be about a bit per value smaller
//! on a random walk, and decode three times slower: value columns are what scans read,
//! so they use only the orders that vector instructions decode. Values that are not decimal at `e` (NaN, infinities,
//! -0.0, too many digits) are *exceptions*: stored raw after the mantissas, with the
//! previous mantissa in their slot so they do not disturb the deltas. The encoder gives
//! up (returns `false`) when more than an eighth of the values would be exceptions.
//!
//! ```text
//! e u8                 exponent, 0..=18
//! intseq               order lanes or values, `count` mantissas
//! exceptions varint    k, at most count
//! k x (gap varint, bits u64 LE)   position = previous position + 1 + gap
//!                                 (the first: gap); positions ascend, below count
//! ```

use super::DecodeError;
use super::intseq::{self, Order, Output};
use super::varint::{self, Reader};

/// Highest decimal exponent.
pub const MAX_EXPONENT: u8 = 18;

const POW10: [f64; MAX_EXPONENT as usize + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];

/// Largest mantissa magnitude: integers this small round-trip through `f64` exactly,
/// and `(s + ROUND) - ROUND` rounds any `|s|` up to it to the nearest integer.
const MAX_MANTISSA: f64 = (1u64 << 51) as f64;
const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52

/// Values sampled before the full pass decides whether the codec is worth trying.
const SAMPLE: usize = 32;

/// The value a mantissa stands for at exponent `e`: the expression the decoder
/// evaluates (written out in [`decode`]'s loop), which the encoder checks.
#[inline(always)]
fn value(n: f64, e: usize) -> f64 {
    n / POW10[e]
}

/// The mantissa of `v` at exponent `e`, if `v` is decimal there (as an exact integer
/// held in an `f64`).
#[inline]
fn mantissa(v: f64, e: usize) -> Option<f64> {
    let s = v * POW10[e];
    // NaN fails this test too
    if s.abs().partial_cmp(&MAX_MANTISSA)?.is_gt() {
        return None;
    }
    let n = (s + ROUND) - ROUND;
    (value(n, e).to_bits() == v.to_bits()).then_some(n)
}

/// [`mantissa`] as an integer, for any exponent byte (`None` above
/// [`MAX_EXPONENT`]).
pub fn mantissa_at(v: f64, e: u8) -> Option<i64> {
    if e > MAX_EXPONENT {
        return None;
    }
    mantissa(v, usize::from(e)).map(|n| n as i64)
}

/// The divisor of exponent `e`, `10^e` (`None` above [`MAX_EXPONENT`]): the value
/// of mantissa `n` is [`value_of`]`(n, divisor)`.
pub fn divisor(e: u8) -> Option<f64> {
    POW10.get(usize::from(e)).copied()
}

/// The smallest exponent at which `v` is decimal.
fn min_exponent(v: f64) -> Option<u8> {
    (0..=MAX_EXPONENT).find(|&e| mantissa(v, usize::from(e)).is_some())
}

/// Appends the decimal encoding of `values` and returns `true`, or appends nothing
/// and returns `false` when the values are not (mostly) short decimals.
pub fn encode(values: &[f64], out: &mut Vec<u8>) -> bool {
    let budget = values.len() / 8;
    let step = (values.len() / SAMPLE).max(1);
    let sampled = values.iter().step_by(step).take(SAMPLE);
    if sampled.filter(|&&v| min_exponent(v).is_none()).count() > SAMPLE / 8 {
        return false;
    }
    // per value, the smallest exponent that fits (None: an exception at any exponent)
    let mut exponents = Vec::with_capacity(values.len());
    let mut hist = [0usize; MAX_EXPONENT as usize + 1];
    let mut misfits = 0;
    for &v in values {
        let e = min_exponent(v);
        match e {
            Some(e) => hist[usize::from(e)] += 1,
            None if misfits == budget => return false,
            None => misfits += 1,
        }
        exponents.push(e);
    }
    // candidates: the exponent fitting every decimal value, and the smallest one
    // leaving no more exceptions than the budget
    let all = hist.iter().rposition(|&n| n > 0).unwrap_or(0);
    let mut left = values.len() - misfits;
    let mut fewest = all;
    for (e, &n) in hist.iter().enumerate() {
        left -= n;
        if misfits + left <= budget {
            fewest = e;
            break;
        }
    }
    let mut best = Vec::new();
    encode_at(values, &exponents, all, &mut best);
    if fewest != all {
        let mut other = Vec::new();
        encode_at(values, &exponents, fewest, &mut other);
        if other.len() < best.len() {
            best = other;
        }
    }
    out.extend_from_slice(&best);
    true
}

/// Appends the encoding of `values` at exponent `e`.
fn encode_at(values: &[f64], exponents: &[Option<u8>], e: usize, out: &mut Vec<u8>) {
    let fits = |v: f64, m: Option<u8>| {
        m.filter(|&m| usize::from(m) <= e)
            .and_then(|_| mantissa(v, e))
    };
    // exceptions take the previous mantissa; leading ones the first regular one
    let mut prev = values
        .iter()
        .zip(exponents)
        .find_map(|(&v, &m)| fits(v, m))
        .unwrap_or(0.0);
    let mut exceptions = Vec::new();
    let mantissas: Vec<i64> = values
        .iter()
        .zip(exponents)
        .enumerate()
        .map(|(i, (&v, &m))| {
            match fits(v, m) {
                Some(n) => prev = n,
                None => exceptions.push(i),
            }
            prev as i64
        })
        .collect();
    out.push(e as u8);
    intseq::encode_best(&mantissas, &[Order::Lanes, Order::Values], out);
    varint::put_u64(out, exceptions.len() as u64);
    let mut next = 0;
    for i in exceptions {
        varint::put_u64(out, (i - next) as u64);
        out.extend_from_slice(&values[i].to_bits().to_le_bytes());
        next = i + 1;
    }
}

/// Fails fast when `buf` cannot hold `count` values, before a caller allocates.
pub fn check_len(buf: &[u8], count: usize) -> Result<(), DecodeError> {
    intseq::check_len(buf.get(1..).unwrap_or_default(), count)
}

/// Decodes `out.len()` values from the front of `buf`; returns the bytes consumed.
/// On error `out` holds unspecified values.
pub fn decode(buf: &[u8], out: &mut [f64]) -> Result<usize, DecodeError> {
    decode_prefix(buf, out.len(), out)
}

/// Decodes the first `out.len()` of the `count` values at the front of `buf` (the
/// later mantissas are skipped, the exceptions read and checked whole); returns the
/// bytes of all `count`. On error `out` holds unspecified values.
pub fn decode_prefix(buf: &[u8], count: usize, out: &mut [f64]) -> Result<usize, DecodeError> {
    let mut r = Reader::new(buf);
    let e = exponent(&mut r)?;
    // Each block of mantissas becomes values in the pass that decodes it, or right
    // after, in a loop that vectorizes (`vector.rs`).
    let bits: &mut [u64] = bytemuck::cast_slice_mut(out);
    let used = intseq::decode_prefix_to(r.remaining(), count, bits, Output::Quotients(e))?;
    r.bytes(used)?;
    each_exception(&mut r, count, count, true, |at, bits| {
        if let Some(slot) = out.get_mut(at) {
            *slot = f64::from_bits(bits);
        }
    })?;
    Ok(r.position())
}

/// Appends the marks of the decimal stream at the front of `buf` (of `count` values):
/// where its exceptions start (a varint byte offset from the stream's start), then the
/// marks of its mantissas ([`intseq::marks`]).
pub fn marks(buf: &[u8], count: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let seq = buf.get(1..).unwrap_or_default();
    let used = intseq::decode_prefix_to(seq, count, &mut [], Output::Ints)?;
    varint::put_u64(out, 1 + used as u64);
    intseq::marks(seq, count, out)
}

/// Decodes the values `from..from + out.len()` of the `count` values at the front of
/// `buf`, resuming at the last of the stream's `marks` (as [`marks`] wrote them) at or
/// before `from`; of the exceptions, those up to the window's end are read. On error
/// `out` holds unspecified values.
pub fn decode_window(
    buf: &[u8],
    count: usize,
    marks: &[u8],
    from: usize,
    out: &mut [f64],
) -> Result<(), DecodeError> {
    let bits: &mut [u64] = bytemuck::cast_slice_mut(out);
    let (_, mut r) = window_into(buf, count, marks, from, bits, Output::Quotients)?;
    let end = from.saturating_add(out.len());
    each_exception(&mut r, count, end, false, |at, bits| {
        if let Some(slot) = at.checked_sub(from).and_then(|i| out.get_mut(i)) {
            *slot = f64::from_bits(bits);
        }
    })
}

/// [`decode_window`] for aggregations that can work on the mantissas: decodes the
/// mantissas of the window into `out` and returns the divisor the values are their
/// quotients by (value `i` is [`value_of`]`(out[i], divisor)`, bit for bit), or `None`
/// when an exception lies in the window (`out` then holds unspecified values). Min,
/// max, first and last of the values are those of the mantissas, converted: the
/// correctly rounded quotient is monotone.
pub fn decode_window_mantissas(
    buf: &[u8],
    count: usize,
    marks: &[u8],
    from: usize,
    out: &mut [i64],
) -> Result<Option<f64>, DecodeError> {
    let bits: &mut [u64] = bytemuck::cast_slice_mut(out);
    let (divisor, mut r) = window_into(buf, count, marks, from, bits, |_| Output::Ints)?;
    let mut inside = false;
    let end = from.saturating_add(out.len());
    each_exception(&mut r, count, end, false, |at, _| inside |= at >= from)?;
    Ok((!inside).then_some(divisor))
}

/// The value a mantissa stands for at `divisor` (a power of ten): the quotient
/// correctly rounded, which is what the vector kernels compute.
#[inline]
pub fn value_of(mantissa: i64, divisor: f64) -> f64 {
    mantissa as f64 / divisor
}

/// The shared part of the window decodes: checks the window, decodes its mantissas
/// into `bits` as `output(divisor)` says, and returns the divisor and a reader at the
/// stream's exception list.
fn window_into<'b>(
    buf: &'b [u8],
    count: usize,
    marks: &[u8],
    from: usize,
    bits: &mut [u64],
    output: impl FnOnce(f64) -> Output,
) -> Result<(f64, Reader<'b>), DecodeError> {
    super::window(
        from,
        bits.len(),
        count,
        "decimal window past the end of the stream",
    )?;
    let mut r = Reader::new(buf);
    let e = exponent(&mut r)?;
    let mut m = Reader::new(marks);
    let exceptions_at = usize::try_from(m.u64()?)
        .map_err(|_| DecodeError("decimal exceptions offset out of range"))?;
    let seq = r.remaining();
    let mut reader = intseq::MarkReader::new(seq, count, m.remaining())?;
    let mut resume = None;
    while let Some(mark) = reader.next_mark()? {
        if mark.position > from {
            break;
        }
        resume = Some(mark);
    }
    intseq::decode_window_to(seq, count, resume.as_ref(), from, bits, output(e))?;
    let mut r = Reader::new(buf);
    r.bytes(exceptions_at)?;
    Ok((e, r))
}

/// Reads the exponent byte; returns the divisor it stands for.
fn exponent(r: &mut Reader<'_>) -> Result<f64, DecodeError> {
    let e = r.u8()?;
    POW10
        .get(usize::from(e))
        .copied()
        .ok_or(DecodeError("decimal exponent above 18"))
}

/// Reads the exception list at `r` (of a stream of `count` values) and hands each
/// exception's position and bits to `visit`, in ascending position. Reads the whole
/// list if `whole`, else stops at the first exception at or after `end`.
fn each_exception(
    r: &mut Reader<'_>,
    count: usize,
    end: usize,
    whole: bool,
    mut visit: impl FnMut(usize, u64),
) -> Result<(), DecodeError> {
    let exceptions = r.u64()?;
    if exceptions > count as u64 {
        return Err(DecodeError("more decimal exceptions than values"));
    }
    let mut next = 0usize;
    for _ in 0..exceptions {
        let at = usize::try_from(r.u64()?)
            .ok()
            .and_then(|gap| gap.checked_add(next))
            .filter(|&at| at < count)
            .ok_or(DecodeError("decimal exception position out of range"))?;
        if at >= end && !whole {
            break;
        }
        visit(at, r.u64_le()?);
        next = at + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[f64]) -> Option<usize> {
        let mut buf = Vec::new();
        if !encode(values, &mut buf) {
            assert!(buf.is_empty());
            return None;
        }
        let len = buf.len();
        buf.push(0xAB);
        let mut got = vec![0.0; values.len()];
        assert_eq!(decode(&buf, &mut got), Ok(len));
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(values));
        for cut in crate::codec::intseq::test_support::cuts(len) {
            assert!(decode(&buf[..cut], &mut got).is_err(), "cut {cut}");
        }
        Some(len)
    }

    #[test]
    fn exponents() {
        assert_eq!(min_exponent(0.0), Some(0));
        assert_eq!(min_exponent(-0.0), None);
        assert_eq!(min_exponent(12.0), Some(0));
        assert_eq!(min_exponent(0.1), Some(1));
        assert_eq!(min_exponent(-273.15), Some(2));
        assert_eq!(min_exponent(1e-18), Some(18));
        assert_eq!(min_exponent(f64::NAN), None);
        assert_eq!(min_exponent(f64::INFINITY), None);
        assert_eq!(min_exponent(1e300), None);
        assert_eq!(min_exponent(std::f64::consts::PI), None);
        assert_eq!(min_exponent(MAX_MANTISSA), Some(0));
        assert_eq!(min_exponent(MAX_MANTISSA * 2.0), None);
    }

    #[test]
    fn decimals_with_exceptions() {
        let mut values: Vec<f64> = (0..1000).map(|i| f64::from(i % 37 - 10) / 100.0).collect();
        assert!(round_trip(&values).is_some());
        values[0] = f64::NAN;
        values[500] = -0.0;
        values[999] = f64::from_bits(1);
        values[998] = 1.0 / 3.0;
        let len = round_trip(&values).unwrap();
        assert!(len < 1000, "{len}");
        // one value with many digits does not raise the exponent of the rest
        assert_eq!(len, {
            let mut buf = Vec::new();
            encode(&values, &mut buf);
            assert_eq!(buf[0], 2);
            buf.len()
        });
    }

    #[test]
    fn gives_up_on_noise() {
        let values: Vec<f64> = (1..1000).map(|i| (f64::from(i)).sqrt()).collect();
        assert_eq!(round_trip(&values), None);
        let mut values: Vec<f64> = (0..1000).map(f64::from).collect();
        for v in values.iter_mut().step_by(5) {
            *v = f64::NAN;
        }
        assert_eq!(round_trip(&values), None);
    }

    #[test]
    fn windows_past_the_end_are_errors() {
        let values: Vec<f64> = (0..600).map(|i| f64::from(i % 37) / 4.0).collect();
        let mut buf = Vec::new();
        assert!(encode(&values, &mut buf));
        let mut m = Vec::new();
        marks(&buf, 600, &mut m).unwrap();
        let mut out = [0.0; 2];
        assert!(decode_window(&buf, 600, &m, usize::MAX, &mut out).is_err());
        assert!(decode_window(&buf, 600, &m, 599, &mut out).is_err());
        decode_window(&buf, 600, &m, 598, &mut out).unwrap();
        assert_eq!(out, [values[598], values[599]]);
    }

    #[test]
    fn bad_buffers() {
        let mut out = [0.0; 2];
        assert!(decode(&[19, 0, 0, 0, 0], &mut out).is_err());
        // order 0, one uniform block of zeros, then exceptions
        assert!(decode(&[0, 0, 0, 0, 3], &mut out).is_err());
        let mut buf = vec![0, 0, 0, 0, 1, 2];
        buf.extend_from_slice(&[0; 8]);
        assert!(decode(&buf, &mut out).is_err());
        buf[5] = 1;
        assert_eq!(decode(&buf, &mut out), Ok(buf.len()));
        assert!(check_len(&[0], 1000).is_err());
    }
}
