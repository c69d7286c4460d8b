//! Timestamp column codec: one chunk of one series.
//!
//! Differences four apart ([`Order::Lanes`], the fastest to decode), consecutive
//! deltas or delta-of-deltas, whichever is smallest for the chunk (the first on a
//! tie), in patched frame-of-reference blocks of 256 ([`super::intseq`]). A regular
//! interval makes every block two bytes (width 0: a fill on decode); jitter costs the
//! bits of its spread, the same in the first two. Any `i64` sequence round-trips
//! (unsorted, duplicates, extremes): differences wrap.
//!
//! ```text
//! tag u8          0x02 (0x01 was the layout of 128-value blocks, before the lane layout)
//! count varint    number of timestamps
//! intseq          order lanes, deltas or delta-of-deltas, `count` values
//! ```

use super::DecodeError;
use super::intseq::{self, Mark, MarkReader, Order};
use super::varint::Reader;

/// First byte of every timestamp chunk; a new layout gets a new tag.
const TAG: u8 = 0x02;

/// Appends the encoding of `ts` (any order, any values, including i64::MIN/MAX) to `out`.
pub fn encode(ts: &[i64], out: &mut Vec<u8>) {
    out.push(TAG);
    super::varint::put_u64(out, ts.len() as u64);
    intseq::encode_best(ts, &[Order::Lanes, Order::Deltas, Order::DeltaDeltas], out);
}

/// Decodes exactly `count` timestamps from the front of `buf`, appending them to `out`.
/// Returns the number of bytes consumed. On error `out` is left as it was.
pub fn decode(buf: &[u8], count: usize, out: &mut Vec<i64>) -> Result<usize, DecodeError> {
    let (stored, header) = read_header(buf)?;
    if stored != count {
        return Err(DecodeError("timestamp count differs from the chunk's"));
    }
    let body = buf.get(header..).unwrap_or_default();
    intseq::check_len(body, count)?;
    let start = out.len();
    out.try_reserve(count)
        .map_err(|_| DecodeError("timestamp count too large"))?;
    out.resize(start + count, 0);
    match decode_body(buf, header, &mut out[start..]) {
        Ok(used) => Ok(used),
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Decodes exactly `out.len()` timestamps from the front of `buf` into `out`.
/// Returns the number of bytes consumed. On error `out` holds unspecified values.
pub fn decode_into(buf: &[u8], out: &mut [i64]) -> Result<usize, DecodeError> {
    let (stored, header) = read_header(buf)?;
    if stored != out.len() {
        return Err(DecodeError("timestamp count differs from the chunk's"));
    }
    decode_body(buf, header, out)
}

/// Decodes the first `out.len()` timestamps of the chunk at the front of `buf` (which
/// may hold more) into `out`. Returns the bytes of the whole column. On error `out`
/// holds unspecified values.
pub fn decode_prefix_into(buf: &[u8], out: &mut [i64]) -> Result<usize, DecodeError> {
    let (stored, header) = read_header(buf)?;
    if stored < out.len() {
        return Err(DecodeError("timestamp prefix longer than the chunk"));
    }
    let body = buf.get(header..).unwrap_or_default();
    let bits: &mut [u64] = bytemuck::cast_slice_mut(out);
    Ok(header + intseq::decode_prefix_to(body, stored, bits, intseq::Output::Ints)?)
}

/// Appends the marks of the timestamp column at the front of `buf` (one per 256-value
/// block after the first: where a decode can resume; see [`intseq::marks`]).
pub fn marks(buf: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let (count, header) = read_header(buf)?;
    intseq::marks(buf.get(header..).unwrap_or_default(), count, out)
}

/// The positions `from..to` of a column's timestamps that hold every timestamp in
/// `start..=end` (and a few more around them: whole blocks), and where a decode of
/// `from` resumes. Found by [`locate`] from the column's marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First position.
    pub from: usize,
    /// Position after the last.
    pub to: usize,
    resume: Option<Mark>,
}

impl Window {
    /// Number of timestamps in the window.
    pub fn len(&self) -> usize {
        self.to - self.from
    }

    /// True when the window holds no position.
    pub fn is_empty(&self) -> bool {
        self.to == self.from
    }
}

/// The window of the strictly ascending timestamp column at the front of `buf` that
/// holds every timestamp in `start..=end`, from the column's `marks` (as [`marks`]
/// wrote them): starting at the last block whose previous value is before `start`,
/// ending before the first block whose previous value is at or after `end`. Reads
/// only the column's header and seeds and the marks, and with `end == i64::MAX` (the
/// window runs to the column's end) no mark after the window's start.
pub fn locate(buf: &[u8], marks: &[u8], start: i64, end: i64) -> Result<Window, DecodeError> {
    let (count, header) = read_header(buf)?;
    let mut reader = MarkReader::new(buf.get(header..).unwrap_or_default(), count, marks)?;
    let mut window = Window {
        from: 0,
        to: count,
        resume: None,
    };
    while let Some(mark) = reader.next_mark()? {
        if mark.last < start {
            window.from = mark.position;
            window.resume = Some(mark);
        } else if end == i64::MAX {
            break;
        }
        if mark.last >= end {
            window.to = mark.position.max(window.from);
            break;
        }
    }
    Ok(window)
}

/// Decodes the timestamps of `window` (found by [`locate`] in this column) into `out`,
/// which must be as long as the window. On error `out` holds unspecified values.
pub fn decode_window(buf: &[u8], window: &Window, out: &mut [i64]) -> Result<(), DecodeError> {
    let (count, header) = read_header(buf)?;
    if out.len() != window.len() {
        return Err(DecodeError("timestamp window differs from its buffer"));
    }
    let body = buf.get(header..).unwrap_or_default();
    let bits: &mut [u64] = bytemuck::cast_slice_mut(out);
    intseq::decode_window_to(
        body,
        count,
        window.resume.as_ref(),
        window.from,
        bits,
        intseq::Output::Ints,
    )
}

/// The number of timestamps the chunk at the front of `buf` holds.
pub fn count(buf: &[u8]) -> Result<usize, DecodeError> {
    Ok(read_header(buf)?.0)
}

/// The order ([`Order`]) and number of timestamps of the chunk at the front of `buf`.
pub fn describe(buf: &[u8]) -> Result<(Order, usize), DecodeError> {
    let (count, header) = read_header(buf)?;
    Ok((intseq::order(buf.get(header..).unwrap_or_default())?, count))
}

/// Reads the tag and count; returns the count and the header's length.
fn read_header(buf: &[u8]) -> Result<(usize, usize), DecodeError> {
    let mut r = Reader::new(buf);
    if r.u8()? != TAG {
        return Err(DecodeError("unknown timestamp codec"));
    }
    let count = usize::try_from(r.u64()?).map_err(|_| DecodeError("timestamp count too large"))?;
    Ok((count, r.position()))
}

fn decode_body(buf: &[u8], header: usize, out: &mut [i64]) -> Result<usize, DecodeError> {
    let body = buf.get(header..).unwrap_or_default();
    Ok(header + intseq::decode(body, out)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// For strictly ascending `ts` encoded in `buf`: the window `locate` finds for a
    /// range holds every timestamp in it, and decodes to those positions of `ts`.
    fn check_windows(buf: &[u8], ts: &[i64]) {
        if ts.windows(2).any(|w| w[0] >= w[1]) {
            return;
        }
        let mut marks_buf = Vec::new();
        marks(buf, &mut marks_buf).unwrap();
        let n = ts.len();
        let picks = [0, 1, 4, 255, 256, 257, 300, 511, 512, 777, n / 2];
        let at = |i: usize| ts.get(i).copied();
        let mut bounds: Vec<i64> = picks
            .into_iter()
            .chain([n.saturating_sub(2), n.saturating_sub(1)])
            .filter_map(at)
            .flat_map(|t| [t.saturating_sub(1), t, t.saturating_add(1)])
            .collect();
        bounds.extend([i64::MIN, i64::MAX]);
        for &start in &bounds {
            for &end in &bounds {
                if start > end {
                    continue;
                }
                let w = locate(buf, &marks_buf, start, end).unwrap();
                let inside = |t: &i64| (start..=end).contains(t);
                let first = ts.iter().position(inside);
                let last = ts.iter().rposition(inside);
                if let (Some(f), Some(l)) = (first, last) {
                    assert!(w.from <= f && l < w.to, "{start}..={end}: {w:?}, {f}..={l}");
                }
                assert!(w.from <= w.to && w.to <= n);
                let mut got = vec![0; w.len()];
                decode_window(buf, &w, &mut got).unwrap();
                assert_eq!(got, ts[w.from..w.to]);
            }
        }
    }

    fn round_trip(ts: &[i64]) -> Vec<u8> {
        let mut buf = Vec::new();
        encode(ts, &mut buf);
        let len = buf.len();
        buf.extend_from_slice(&[0xEE; 5]);
        let mut got = vec![42];
        assert_eq!(decode(&buf, ts.len(), &mut got), Ok(len));
        assert_eq!(&got[1..], ts);
        assert_eq!(count(&buf), Ok(ts.len()));
        let mut into = vec![0; ts.len()];
        assert_eq!(decode_into(&buf, &mut into), Ok(len));
        assert_eq!(into, ts);
        let n = ts.len();
        for k in [0, 1, 4, 5, 259, 260, 261, n / 2, n.saturating_sub(1), n] {
            if k <= n {
                let mut prefix = vec![0; k];
                assert_eq!(
                    decode_prefix_into(&buf, &mut prefix),
                    Ok(len),
                    "prefix {k} of {n}"
                );
                assert_eq!(prefix, ts[..k], "prefix {k} of {n}");
            }
        }
        assert!(decode_prefix_into(&buf, &mut vec![0; n + 1]).is_err());
        check_windows(&buf, ts);
        // every truncation fails, and leaves `out` untouched
        for cut in crate::codec::intseq::test_support::cuts(len) {
            let mut out = vec![1, 2];
            assert!(decode(&buf[..cut], ts.len(), &mut out).is_err());
            assert_eq!(out, [1, 2]);
        }
        // any other count fails
        assert!(decode(&buf, ts.len() + 1, &mut Vec::new()).is_err());
        if let Some(fewer) = ts.len().checked_sub(1) {
            assert!(decode(&buf, fewer, &mut Vec::new()).is_err());
        }
        buf.truncate(len);
        buf
    }

    fn jittered(start: i64, step: i64, jitter: &[i64]) -> Vec<i64> {
        let mut ts: Vec<i64> = jitter
            .iter()
            .enumerate()
            .map(|(i, j)| start + step * i as i64 + j)
            .collect();
        ts.sort_unstable();
        ts
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn arbitrary(ts in prop::collection::vec(any::<i64>(), 0..300)) {
            round_trip(&ts);
        }

        #[test]
        fn extremes(ts in prop::collection::vec(
            prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0i64), Just(-1), any::<i64>()], 0..200)
        ) {
            round_trip(&ts);
        }

        #[test]
        fn sorted_regular_with_jitter(
            start in -(1i64 << 60)..(1i64 << 60),
            step in 1i64..1_000_000_000,
            jitter in prop::collection::vec(-500i64..500, 0..1000),
        ) {
            round_trip(&jittered(start, step, &jitter));
        }

        #[test]
        fn decreasing(start in any::<i64>(), steps in prop::collection::vec(0i64..1 << 40, 0..500)) {
            let mut t = start;
            let ts: Vec<i64> = steps.iter().map(|s| { t = t.wrapping_sub(*s); t }).collect();
            round_trip(&ts);
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), count in 0usize..5000) {
            let mut out = Vec::new();
            if decode(&bytes, count, &mut out).is_err() {
                prop_assert!(out.is_empty());
            }
            let _ = decode_prefix_into(&bytes, &mut vec![0; count / 3]);
        }

        #[test]
        fn corrupted_never_panics(
            ts in prop::collection::vec(-1000i64..1000, 1..600),
            flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        ) {
            let mut buf = Vec::new();
            encode(&ts, &mut buf);
            for (at, x) in flips {
                let n = buf.len();
                buf[at % n] ^= x;
            }
            let _ = decode(&buf, ts.len(), &mut Vec::new());
        }
    }

    #[test]
    fn regular_interval_costs_almost_nothing() {
        let ts: Vec<i64> = (0..4096).map(|i| 1_700_000_000_000 + 10_000 * i).collect();
        let buf = round_trip(&ts);
        // consecutive deltas, as the lanes' three more seeds cost more than they save:
        // tag, count (2), order, seed (6), 16 blocks of 2 bytes (the first base takes 3)
        assert_eq!(buf.len(), 1 + 2 + 1 + 6 + 16 * 2 + 2);
        assert_eq!(buf[3], Order::Deltas as u8);
        assert!(buf.len() * 8 < ts.len() / 4, "{} bytes", buf.len());
    }

    #[test]
    fn jitter_costs_its_spread() {
        let mut seed = 7u64;
        let jitter: Vec<i64> = (0..4096)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (seed >> 33) as i64 % 16
            })
            .collect();
        let ts = jittered(1_700_000_000_000, 10_000, &jitter);
        let buf = round_trip(&ts);
        // deltas spread over 31 values: 5 bits each
        assert!(buf.len() <= 4096 * 5 / 8 + 200, "{} bytes", buf.len());
    }

    #[test]
    fn edges() {
        assert_eq!(round_trip(&[]), vec![TAG, 0, Order::Lanes as u8]);
        round_trip(&[i64::MIN]);
        round_trip(&[i64::MAX, i64::MIN, i64::MAX]);
        round_trip(&[i64::MIN, i64::MAX, i64::MIN, 0, i64::MAX]);
        // an unknown tag, and the retired layout of 128-value blocks
        assert!(decode(&[3, 0, 1], 0, &mut Vec::new()).is_err());
        assert!(decode(&[1, 0, 1], 0, &mut Vec::new()).is_err());
        assert!(count(&[]).is_err());
        // a header claiming more than memory can hold
        let mut huge = vec![TAG];
        crate::codec::varint::put_u64(&mut huge, u64::MAX >> 4);
        huge.push(1);
        let count = usize::try_from(u64::MAX >> 4).unwrap();
        assert!(decode(&huge, count, &mut Vec::new()).is_err());
    }
}
