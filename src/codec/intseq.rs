//! Sequences of `i64` as differences of order 0, 1 or 2 in PFOR blocks.
//!
//! The building block of the timestamp column (order 1 or 2: deltas or
//! delta-of-deltas) and of decimal values (order 0 or 1: plain frame of reference or
//! deltas). Order `k` stores the first `k` values as *seeds* (the first value, then
//! for order 2 the first delta) and the `count - k` residuals (the `k`-th differences,
//! wrapping) in PFOR blocks (`pfor.rs`) of up to 128. Any sequence round-trips,
//! however large its jumps: all arithmetic wraps modulo 2^64 in both directions.
//!
//! ```text
//! order u8                        0, 1 or 2
//! seeds min(order, count) x zigzag varint    v0, then v1 - v0
//! blocks ceil((count - seeds) / 128) x pfor block
//! ```
//!
//! The count itself is not stored; the caller supplies it.

use super::DecodeError;
use super::pfor::{self, BLOCK, Block};
use super::varint::{self, Reader};

/// Highest difference order.
pub const MAX_ORDER: u8 = 2;

/// Appends `values` encoded with differences of `order` (clamped to [`MAX_ORDER`]).
pub fn encode(values: &[i64], order: u8, out: &mut Vec<u8>) {
    let order = order.min(MAX_ORDER);
    out.push(order);
    let seeds = usize::from(order).min(values.len());
    let mut prev = 0i64;
    for &v in &values[..seeds] {
        varint::put_u64(out, varint::zigzag(v.wrapping_sub(prev)));
        prev = v;
    }
    let mut block = [0i64; BLOCK];
    let mut base = 0;
    let mut start = seeds;
    while start < values.len() {
        let end = values.len().min(start + BLOCK);
        let residuals = &mut block[..end - start];
        for (r, i) in residuals.iter_mut().zip(start..) {
            let d1 = |i: usize| values[i].wrapping_sub(values[i - 1]);
            *r = match order {
                0 => values[i],
                1 => d1(i),
                _ => d1(i).wrapping_sub(d1(i - 1)),
            };
        }
        pfor::encode(residuals, &mut base, out);
        start = end;
    }
}

/// Appends the smallest of the encodings of `values` with each order in `orders`
/// (the earliest on a tie). With no order given, uses order 1.
pub fn encode_best(values: &[i64], orders: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let Some((&first, others)) = orders.split_first() else {
        return encode(values, 1, out);
    };
    encode(values, first, out);
    let mut other = Vec::new();
    for &order in others {
        other.clear();
        encode(values, order, &mut other);
        if other.len() < out.len() - start {
            out.truncate(start);
            out.extend_from_slice(&other);
        }
    }
}

/// Fails fast when `buf` is too short to hold `count` values in any encoding, so a
/// caller can refuse a huge count before allocating for it. Passing says nothing
/// more: [`decode`] still checks everything.
pub fn check_len(buf: &[u8], count: usize) -> Result<(), DecodeError> {
    // the order byte, and at least two bytes per block
    let blocks = count.saturating_sub(usize::from(MAX_ORDER)).div_ceil(BLOCK);
    if buf.is_empty() || blocks > (buf.len() - 1) / 2 {
        return Err(DecodeError("integer sequence truncated"));
    }
    Ok(())
}

/// Decodes `out.len()` values from the front of `buf` into `out`. Returns the bytes
/// consumed. On error `out` holds unspecified values.
pub fn decode(buf: &[u8], out: &mut [i64]) -> Result<usize, DecodeError> {
    decode_map(buf, bytemuck::cast_slice_mut(out), |v| v as u64)
}

/// Decodes `out.len()` values from the front of `buf`, storing `map(value)` for each.
/// Returns the bytes consumed. On error `out` holds unspecified values.
///
/// `map` runs inside the decoding loop, while the block is hot and off the prefix
/// sum's dependency chain: a conversion costs little more than a separate pass's loads.
#[inline]
pub fn decode_map<F: Fn(i64) -> u64>(
    buf: &[u8],
    out: &mut [u64],
    map: F,
) -> Result<usize, DecodeError> {
    let mut r = Reader::new(buf);
    let order = r.u8()?;
    if order > MAX_ORDER {
        return Err(DecodeError("integer sequence order above 2"));
    }
    check_len(buf, out.len())?;
    let seeds = usize::from(order).min(out.len());
    let (head, rest) = out.split_at_mut(seeds);
    // state: the last value and (order 2) the last delta, rebuilt from the seeds
    let (mut last, mut delta) = (0u64, 0u64);
    for (i, s) in head.iter_mut().enumerate() {
        let seed = r.i64()? as u64;
        (last, delta) = if i == 0 {
            (seed, 0)
        } else {
            (last.wrapping_add(seed), seed)
        };
        *s = map(last as i64);
    }
    let mut base = 0;
    for chunk in rest.chunks_mut(BLOCK) {
        let block = pfor::decode(&mut r, &mut base, chunk)?;
        let (Block::Uniform { base } | Block::Offsets { base }) = block;
        let base = base as u64;
        match (block, order) {
            (Block::Uniform { .. }, 0) => chunk.fill(map(base as i64)),
            (Block::Uniform { .. }, 1) => {
                for x in chunk.iter_mut() {
                    last = last.wrapping_add(base);
                    *x = map(last as i64);
                }
            }
            (Block::Uniform { .. }, _) => {
                for x in chunk.iter_mut() {
                    delta = delta.wrapping_add(base);
                    last = last.wrapping_add(delta);
                    *x = map(last as i64);
                }
            }
            (Block::Offsets { .. }, 0) => {
                for x in chunk.iter_mut() {
                    *x = map(x.wrapping_add(base) as i64);
                }
            }
            (Block::Offsets { .. }, 1) => {
                for x in chunk.iter_mut() {
                    last = last.wrapping_add(x.wrapping_add(base));
                    *x = map(last as i64);
                }
            }
            (Block::Offsets { .. }, _) => {
                for x in chunk.iter_mut() {
                    delta = delta.wrapping_add(x.wrapping_add(base));
                    last = last.wrapping_add(delta);
                    *x = map(last as i64);
                }
            }
        }
    }
    Ok(r.position())
}

/// Helpers shared by the codec tests.
#[cfg(test)]
pub(crate) mod test_support {
    /// Where to truncate an encoding of `len` bytes: everywhere when it is short,
    /// else the first and last 32 positions and 32 evenly spread between them.
    pub fn cuts(len: usize) -> Vec<usize> {
        if len <= 96 {
            return (0..len).collect();
        }
        let mut cuts: Vec<usize> = (0..32).chain(len - 32..len).collect();
        cuts.extend((1..=32).map(|k| 32 + k * (len - 64) / 33));
        cuts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(values: &[i64], order: u8) -> usize {
        let mut buf = Vec::new();
        encode(values, order, &mut buf);
        buf.extend_from_slice(b"tail");
        let mut got = vec![0i64; values.len()];
        let used = decode(&buf, &mut got).unwrap();
        assert_eq!(got, values, "order {order}");
        assert_eq!(used, buf.len() - 4);
        for cut in test_support::cuts(used) {
            let mut got = vec![0i64; values.len()];
            assert!(
                decode(&buf[..cut], &mut got).is_err(),
                "cut {cut} of {used}"
            );
        }
        used
    }

    fn series() -> impl Strategy<Value = Vec<i64>> {
        prop_oneof![
            prop::collection::vec(any::<i64>(), 0..400),
            prop::collection::vec(
                prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), Just(-1)],
                0..300
            ),
            (
                any::<i64>(),
                -1000i64..1000,
                prop::collection::vec(-3i64..3, 0..700)
            )
                .prop_map(|(start, step, jitter)| {
                    let mut t = start;
                    jitter
                        .iter()
                        .map(|j| {
                            t = t.wrapping_add(step + j);
                            t
                        })
                        .collect()
                }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn round_trips_every_order(values in series()) {
            for order in 0..=MAX_ORDER {
                check(&values, order);
            }
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300), len in 0usize..2000) {
            let mut out = vec![0i64; len];
            let _ = decode(&bytes, &mut out);
        }
    }

    #[test]
    fn regular_and_quadratic_sequences_are_tiny() {
        let regular: Vec<i64> = (0..4096).map(|i| 1_700_000_000_000 + 10_000 * i).collect();
        assert!(check(&regular, 1) <= 2 + 6 + 3 + 32 * 2);
        let quadratic: Vec<i64> = (0..4096i64).map(|i| i * i - 7).collect();
        assert!(check(&quadratic, 2) <= 1 + 2 + 32 * 2);
        let mut best = Vec::new();
        encode_best(&quadratic, &[0, 1, 2], &mut best);
        let mut order2 = Vec::new();
        encode(&quadratic, 2, &mut order2);
        assert_eq!(best, order2);
    }

    #[test]
    fn empty_and_short() {
        for order in 0..=MAX_ORDER {
            assert_eq!(check(&[], order), 1);
            check(&[i64::MIN], order);
            check(&[i64::MAX, i64::MIN], order);
        }
        assert!(decode(&[3], &mut []).is_err());
        assert!(decode(&[], &mut []).is_err());
        assert!(decode(&[1, 0], &mut vec![0; 10_000_000]).is_err());
    }
}
