//! Sequences of `i64` as residuals in PFOR blocks: the values themselves, their
//! differences, their second differences, or their differences four values apart.
//!
//! The building block of the timestamp column and of decimal values. An [`Order`]
//! stores its first few values as *seeds* (the first value, then differences of
//! consecutive ones) and the residuals of the rest, wrapping, in PFOR blocks
//! (`pfor.rs`) of up to 256. Any sequence round-trips, however large its jumps: all
//! arithmetic wraps modulo 2^64 in both directions.
//!
//! [`Order::Lanes`] (differences four apart) is the one that decodes fastest: the four
//! lanes of a full block's lane layout each carry their own running sum, so a vector
//! instruction undoes four differences at once, where consecutive differences make
//! every value wait for the one before. On a random walk it costs about one bit per
//! value more than [`Order::Deltas`]; on regular or jittered timestamps, nothing.
//!
//! ```text
//! order u8                             0 values, 1 deltas, 2 delta-of-deltas, 3 lanes
//! seeds min(seeds(order), count) x zigzag varint   v0, then v1 - v0, v2 - v1, v3 - v2
//!                                      (seeds: 0, 1, 2 and 4)
//! blocks ceil((count - seeds) / 256) x pfor block
//! ```
//!
//! The count itself is not stored; the caller supplies it.

use super::DecodeError;
use super::bitpack::LANES;
use super::pfor::{self, BLOCK};
use super::varint::{self, Reader};
use super::vector;

/// What a sequence stores of its values after the seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The values (frame of reference per block).
    Values = 0,
    /// Differences of consecutive values.
    Deltas = 1,
    /// Differences of consecutive deltas.
    DeltaDeltas = 2,
    /// Differences of values four apart (`v[i] - v[i - 4]`).
    Lanes = 3,
}

impl Order {
    /// Every order, by its byte.
    pub const ALL: [Order; 4] = [
        Order::Values,
        Order::Deltas,
        Order::DeltaDeltas,
        Order::Lanes,
    ];

    /// Its name in reports: `values`, `deltas`, `delta-of-deltas` or `lanes`.
    pub fn name(self) -> &'static str {
        match self {
            Order::Values => "values",
            Order::Deltas => "deltas",
            Order::DeltaDeltas => "delta-of-deltas",
            Order::Lanes => "lanes",
        }
    }

    /// The order stored as `byte`.
    fn from_byte(byte: u8) -> Option<Order> {
        Order::ALL.get(usize::from(byte)).copied()
    }

    /// Values stored as seeds before the residuals.
    fn seeds(self) -> usize {
        match self {
            Order::Values => 0,
            Order::Deltas => 1,
            Order::DeltaDeltas => 2,
            Order::Lanes => LANES,
        }
    }
}

/// Appends `values` encoded in `order`.
pub fn encode(values: &[i64], order: Order, out: &mut Vec<u8>) {
    out.push(order as u8);
    let seeds = order.seeds().min(values.len());
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
            let diff = |i: usize, lag: usize| values[i].wrapping_sub(values[i - lag]);
            *r = match order {
                Order::Values => values[i],
                Order::Deltas => diff(i, 1),
                Order::DeltaDeltas => diff(i, 1).wrapping_sub(diff(i - 1, 1)),
                Order::Lanes => diff(i, LANES),
            };
        }
        pfor::encode(residuals, &mut base, out);
        start = end;
    }
}

/// Appends the encoding of `values` in the first of `orders` that is no more than
/// 1/32 larger than the smallest of them: list the orders fastest to decode first, and
/// a slower one is taken only where it saves more than about 3 %. With no order given,
/// uses [`Order::Deltas`].
pub fn encode_best(values: &[i64], orders: &[Order], out: &mut Vec<u8>) {
    let encodings: Vec<Vec<u8>> = orders
        .iter()
        .map(|&order| {
            let mut buf = Vec::new();
            encode(values, order, &mut buf);
            buf
        })
        .collect();
    let Some(smallest) = encodings.iter().map(Vec::len).min() else {
        return encode(values, Order::Deltas, out);
    };
    let good_enough = smallest + smallest / 32;
    if let Some(pick) = encodings.iter().find(|e| e.len() <= good_enough) {
        out.extend_from_slice(pick);
    }
}

/// The order the sequence at the front of `buf` is stored in.
pub fn order(buf: &[u8]) -> Result<Order, DecodeError> {
    let byte = *buf
        .first()
        .ok_or(DecodeError("integer sequence truncated"))?;
    Order::from_byte(byte).ok_or(DecodeError("unknown integer sequence order"))
}

/// Fails fast when `buf` is too short to hold `count` values in any encoding, so a
/// caller can refuse a huge count before allocating for it. Passing says nothing
/// more: [`decode`] still checks everything.
pub fn check_len(buf: &[u8], count: usize) -> Result<(), DecodeError> {
    // the order byte, and at least two bytes per block
    let blocks = count.saturating_sub(LANES).div_ceil(BLOCK);
    if buf.is_empty() || blocks > (buf.len() - 1) / 2 {
        return Err(DecodeError("integer sequence truncated"));
    }
    Ok(())
}

/// Decodes `out.len()` values from the front of `buf` into `out`. Returns the bytes
/// consumed. On error `out` holds unspecified values.
pub fn decode(buf: &[u8], out: &mut [i64]) -> Result<usize, DecodeError> {
    decode_to(buf, bytemuck::cast_slice_mut(out), Output::Ints)
}

/// What [`decode_to`] stores for each decoded integer `n`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Output {
    /// `n` itself (as `u64` bits).
    Ints,
    /// The bits of `n as f64 / divisor`, correctly rounded; `divisor` is a power of
    /// ten, 1 for the plain conversion.
    Quotients(f64),
}

impl Output {
    /// Turns a run of integers into what this output stores.
    fn finish(self, run: &mut [u64]) {
        match self {
            Output::Ints => {}
            Output::Quotients(1.0) => vector::ints_to_floats(run),
            Output::Quotients(d) => vector::ints_to_decimals(run, d),
        }
    }
}

/// Decodes `out.len()` values from the front of `buf`, storing each as `output` says.
/// Returns the bytes consumed. On error `out` holds unspecified values.
///
/// Full blocks of differences four apart decode and convert in one pass (the fused
/// kernels of `bitpack_lanes.rs`); every other run is converted right after it is
/// decoded, while still in the first-level cache.
pub fn decode_to(buf: &[u8], out: &mut [u64], output: Output) -> Result<usize, DecodeError> {
    decode_prefix_to(buf, out.len(), out, output)
}

/// Decodes the first `out.len()` of the `count` values of the sequence at the front of
/// `buf`, storing each as `output` says, and steps over the blocks after them (their
/// headers are read and checked, their bodies skipped). Returns the bytes of the whole
/// sequence. A reader that needs the points up to some time decodes just those.
/// On error `out` holds unspecified values.
pub fn decode_prefix_to(
    buf: &[u8],
    count: usize,
    out: &mut [u64],
    output: Output,
) -> Result<usize, DecodeError> {
    if out.len() > count {
        return Err(DecodeError("prefix longer than the integer sequence"));
    }
    let mut c = Cursor::begin(buf, count)?;
    c.seeds_into(0, out, output);
    c.run(0..out.len(), out, output, true)?;
    Ok(c.r.position())
}

/// Decodes the values `from..from + out.len()` of the `count` values of the sequence
/// at the front of `buf`, storing each as `output` says: from the start, or from
/// `resume`, a mark of this sequence (read by [`MarkReader`]) at or before `from`.
/// Reads no block after the window. On error `out` holds unspecified values.
pub fn decode_window_to(
    buf: &[u8],
    count: usize,
    resume: Option<&Mark>,
    from: usize,
    out: &mut [u64],
    output: Output,
) -> Result<(), DecodeError> {
    let window = super::window(
        from,
        out.len(),
        count,
        "window past the end of the integer sequence",
    )?;
    let mut c = Cursor::begin(buf, count)?;
    match resume {
        Some(mark) if mark.position > from => {
            return Err(DecodeError("integer sequence mark after the window"));
        }
        Some(mark) => c.resume(buf, mark)?,
        None => c.seeds_into(from, out, output),
    }
    c.run(window, out, output, false)
}

/// Where a decode can resume inside a sequence: the state before one of its blocks
/// (the first block, or one after it; see [`marks`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mark {
    /// Values of the sequence before the block, seeds included.
    pub position: usize,
    /// The value at `position - 1` (0 at position 0).
    pub last: i64,
    /// Byte offset of the block's header from the start of the sequence.
    offset: usize,
    /// The base of the block before (its header's base is a difference from it).
    base: i64,
    /// The decode state before the block.
    state: State,
}

/// Appends the marks of the sequence at the front of `buf` (of `count` values, as
/// [`encode`] wrote it): one per block after the first, the decode state before it,
/// each field a zigzag varint of its difference from a prediction made from the mark
/// before (see `docs/format.md`), so a regular sequence costs a few bytes a mark.
pub fn marks(buf: &[u8], count: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let mut c = Cursor::begin(buf, count)?;
    let mut prev = c.mark();
    let mut step = 0u64;
    let mut stride = 0;
    let mut spare = [0u64; BLOCK];
    while c.at < count {
        if c.at > prev.position {
            let mark = c.mark();
            put_mark(c.order, &mark, &prev, (step, stride), out);
            step = (mark.last as u64).wrapping_sub(prev.last as u64);
            stride = mark.offset.wrapping_sub(prev.offset);
            prev = mark;
        }
        let block = pfor::read_head(&mut c.r, &mut c.base)?;
        let end = c.at + BLOCK.min(count - c.at);
        let whole = spare.get_mut(..end - c.at).unwrap_or_default();
        decode_block(&mut c.r, c.order, &block, &mut c.state, whole, Output::Ints)?;
        c.last = whole.last().copied().unwrap_or(c.last);
        c.at = end;
    }
    Ok(())
}

/// Appends `mark` as the mark after `prev`; `step` is `prev.last` minus the `last` of
/// the mark before it, `stride` the same of their offsets (both 0 for the first mark).
/// A mark every field of which its prediction gives (a regular sequence's) is the
/// single byte 0: no offset difference is 0 otherwise, as every block takes at least
/// two bytes.
fn put_mark(
    order: Order,
    mark: &Mark,
    prev: &Mark,
    (step, stride): (u64, usize),
    out: &mut Vec<u8>,
) {
    let offset = mark.offset.wrapping_sub(prev.offset);
    let predicted = (prev.last as u64).wrapping_add(step);
    let mut residuals = [0u64; 2 + LANES - 1];
    let mut n = 0;
    let mut put = |residual: u64| {
        if let Some(slot) = residuals.get_mut(n) {
            *slot = residual;
            n += 1;
        }
    };
    put((mark.base as u64).wrapping_sub(prev.base as u64));
    put((mark.last as u64).wrapping_sub(predicted));
    match order {
        Order::Values | Order::Deltas => {}
        Order::DeltaDeltas => put(mark.state.delta.wrapping_sub(prev.state.delta)),
        Order::Lanes => {
            for j in (0..LANES - 1).rev() {
                let gap = |m: &Mark| m.state.lanes[j + 1].wrapping_sub(m.state.lanes[j]);
                put(gap(mark).wrapping_sub(gap(prev)));
            }
        }
    }
    let residuals = residuals.get(..n).unwrap_or_default();
    if offset == stride && residuals.iter().all(|&r| r == 0) {
        return out.push(0);
    }
    varint::put_u64(out, offset as u64);
    for &r in residuals {
        varint::put_u64(out, varint::zigzag(r as i64));
    }
}

/// Reads the marks of one sequence, in order.
#[derive(Debug)]
pub struct MarkReader<'a> {
    r: Reader<'a>,
    order: Order,
    prev: Mark,
    step: u64,
    stride: usize,
    left: usize,
}

impl<'a> MarkReader<'a> {
    /// The marks `marks` (as [`marks`] wrote them) of the sequence of `count` values at
    /// the front of `buf`.
    pub fn new(buf: &[u8], count: usize, marks: &'a [u8]) -> Result<Self, DecodeError> {
        let c = Cursor::begin(buf, count)?;
        let seeds = c.at;
        let blocks = (count - seeds).div_ceil(BLOCK);
        Ok(MarkReader {
            r: Reader::new(marks),
            order: c.order,
            prev: c.mark(),
            step: 0,
            stride: 0,
            left: blocks.saturating_sub(1),
        })
    }

    /// The next mark, or `None` after the last.
    pub fn next_mark(&mut self) -> Result<Option<Mark>, DecodeError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let prev = &self.prev;
        let r = &mut self.r;
        let gap = usize::try_from(r.u64()?)
            .map_err(|_| DecodeError("integer sequence mark offset out of range"))?;
        // 0: the mark its predictions give (see `put_mark`)
        let exact = gap == 0;
        let offset = prev
            .offset
            .checked_add(if exact { self.stride } else { gap })
            .ok_or(DecodeError("integer sequence mark offset out of range"))?;
        let mut residual =
            || -> Result<u64, DecodeError> { if exact { Ok(0) } else { Ok(r.i64()? as u64) } };
        let base = (prev.base as u64).wrapping_add(residual()?) as i64;
        let last = (prev.last as u64)
            .wrapping_add(self.step)
            .wrapping_add(residual()?);
        let mut state = State {
            last,
            ..State::default()
        };
        match self.order {
            Order::Values | Order::Deltas => {}
            Order::DeltaDeltas => state.delta = prev.state.delta.wrapping_add(residual()?),
            Order::Lanes => {
                state.lanes[LANES - 1] = last;
                for j in (0..LANES - 1).rev() {
                    let gap = prev.state.lanes[j + 1]
                        .wrapping_sub(prev.state.lanes[j])
                        .wrapping_add(residual()?);
                    state.lanes[j] = state.lanes[j + 1].wrapping_sub(gap);
                }
            }
        }
        let mark = Mark {
            position: prev.position + BLOCK,
            last: last as i64,
            offset,
            base,
            state,
        };
        self.step = last.wrapping_sub(prev.last as u64);
        self.stride = offset - prev.offset;
        self.prev = mark;
        Ok(Some(mark))
    }

    /// The bytes of the marks not read yet (empty once every mark is read, if the
    /// marks were whole).
    pub fn rest(&self) -> &'a [u8] {
        self.r.remaining()
    }
}

/// A decode in progress: the reader at a block header, and what the blocks before it
/// left.
struct Cursor<'a> {
    r: Reader<'a>,
    order: Order,
    /// The values before the block at the reader (seeds included).
    at: usize,
    /// The value at `at - 1` (0 at the start).
    last: u64,
    /// The base of the block before.
    base: i64,
    state: State,
    /// The seeds, as integers.
    seed_values: [u64; LANES],
    /// The number of values in the sequence.
    count: usize,
}

impl<'a> Cursor<'a> {
    /// Reads the order and seeds of the sequence of `count` values at the front of `buf`.
    fn begin(buf: &'a [u8], count: usize) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let order =
            Order::from_byte(r.u8()?).ok_or(DecodeError("unknown integer sequence order"))?;
        check_len(buf, count)?;
        let seeds = order.seeds().min(count);
        let mut state = State::default();
        let mut seed_values = [0u64; LANES];
        for (i, s) in seed_values.iter_mut().take(seeds).enumerate() {
            let seed = r.i64()? as u64;
            (state.last, state.delta) = if i == 0 {
                (seed, 0)
            } else {
                (state.last.wrapping_add(seed), seed)
            };
            *s = state.last;
        }
        if seeds == LANES {
            state.lanes = seed_values;
        }
        Ok(Cursor {
            r,
            order,
            at: seeds,
            last: if seeds > 0 { state.last } else { 0 },
            base: 0,
            state,
            seed_values,
            count,
        })
    }

    /// The mark of the block at the reader.
    fn mark(&self) -> Mark {
        Mark {
            position: self.at,
            last: self.last as i64,
            offset: self.r.position(),
            base: self.base,
            state: self.state,
        }
    }

    /// Moves to `mark` of the sequence `buf`.
    fn resume(&mut self, buf: &'a [u8], mark: &Mark) -> Result<(), DecodeError> {
        let mut r = Reader::new(buf);
        r.bytes(mark.offset)?;
        self.r = r;
        self.at = mark.position;
        self.last = mark.last as u64;
        self.base = mark.base;
        self.state = mark.state;
        Ok(())
    }

    /// Stores the seeds among the positions `from..from + out.len()` into `out`.
    fn seeds_into(&self, from: usize, out: &mut [u64], output: Output) {
        let seeds = self
            .seed_values
            .get(from.min(self.at)..self.at)
            .unwrap_or_default();
        let n = seeds.len().min(out.len());
        let head = out.get_mut(..n).unwrap_or_default();
        head.copy_from_slice(seeds.get(..n).unwrap_or_default());
        output.finish(head);
    }

    /// Decodes the blocks from the reader's on, storing the values at positions in
    /// `window` into `out` (as long as the window; positions before the reader's are
    /// the caller's); after the window, steps over the rest of the sequence if
    /// `skip_rest`, else stops.
    fn run(
        &mut self,
        window: std::ops::Range<usize>,
        out: &mut [u64],
        output: Output,
        skip_rest: bool,
    ) -> Result<(), DecodeError> {
        let count = self.count;
        let order = self.order;
        while self.at < count {
            let at = self.at;
            let block = pfor::read_head(&mut self.r, &mut self.base)?;
            let mut end = at + BLOCK.min(count - at);
            if at >= window.end {
                if !skip_rest {
                    break;
                }
                pfor::skip_body(&mut self.r, &block, end - at)?;
                self.at = end;
                continue;
            }
            let inside = at >= window.start;
            if block.is_uniform() && inside {
                // Following blocks that repeat this one (uniform, same base: the two
                // bytes 0, 0) extend it: one fill for a whole regular run.
                while end < count && self.r.remaining().starts_with(&[0, 0]) {
                    self.r.bytes(2)?;
                    end += BLOCK.min(count - end);
                }
            }
            // `lo..hi`: the block's positions in the window, empty (at the block's
            // end) for a block before the window, decoded only for the state it
            // leaves. A block that runs past either edge of the window is decoded
            // whole into a spare block, of which the window's part is kept (a uniform
            // run is just cut at the end: no value after the window is needed, nor
            // the state after it).
            let lo = at.max(window.start).min(end);
            let hi = end.min(window.end).max(lo);
            let in_out = |p: usize| p.max(window.start) - window.start;
            let dst = out
                .get_mut(in_out(lo)..in_out(hi))
                .ok_or(DecodeError("integer sequence window out of range"))?;
            if inside && (hi == end || block.is_uniform()) {
                decode_block(&mut self.r, order, &block, &mut self.state, dst, output)?;
            } else {
                let mut spare = [0u64; BLOCK];
                let whole = spare
                    .get_mut(..end - at)
                    .ok_or(DecodeError("integer sequence block too long"))?;
                decode_block(&mut self.r, order, &block, &mut self.state, whole, output)?;
                let kept = whole
                    .get(lo - at..hi - at)
                    .ok_or(DecodeError("integer sequence window out of range"))?;
                dst.copy_from_slice(kept);
            }
            self.at = end;
        }
        Ok(())
    }
}

/// What decoding carries from block to block: the last value and (second
/// differences) the last delta; for lanes, the last four values, oldest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct State {
    last: u64,
    delta: u64,
    lanes: [u64; LANES],
}

/// Decodes the block (or uniform run) whose header is `block` into `out`, all of its
/// values or (uniform only) the first of them, storing each as `output` says.
fn decode_block(
    r: &mut Reader<'_>,
    order: Order,
    block: &pfor::Head,
    state: &mut State,
    out: &mut [u64],
    output: Output,
) -> Result<(), DecodeError> {
    let b = block.base as u64;
    let State { last, delta, lanes } = state;
    let mut converted = false;
    match (order, block.is_uniform()) {
        (Order::Values, true) => out.fill(b),
        (Order::Values, false) => {
            pfor::decode_offsets(r, block, out)?;
            for x in out.iter_mut() {
                *x = x.wrapping_add(b);
            }
        }
        (Order::Deltas, true) => *last = vector::fill_arithmetic(out, last.wrapping_add(b), b),
        (Order::Deltas, false) => pfor::decode_running(r, block, last, out)?,
        (Order::DeltaDeltas, true) if b == 0 => {
            *last = vector::fill_arithmetic(out, last.wrapping_add(*delta), *delta);
        }
        (Order::DeltaDeltas, uniform) => {
            if uniform {
                out.fill(0);
            } else {
                pfor::decode_offsets(r, block, out)?;
            }
            for x in out.iter_mut() {
                *delta = delta.wrapping_add(x.wrapping_add(b));
                *last = last.wrapping_add(*delta);
                *x = *last;
            }
        }
        (Order::Lanes, true) => vector::fill_lanes(out, lanes, b),
        (Order::Lanes, false) => {
            let divisor = match output {
                Output::Ints => None,
                Output::Quotients(d) => Some(d),
            };
            converted = pfor::decode_running4(r, block, lanes, out, divisor)?;
        }
    }
    if !converted {
        output.finish(out);
    }
    Ok(())
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

    fn check(values: &[i64], order: Order) -> usize {
        let mut buf = Vec::new();
        encode(values, order, &mut buf);
        buf.extend_from_slice(b"tail");
        let mut got = vec![0i64; values.len()];
        let used = decode(&buf, &mut got).unwrap();
        assert_eq!(got, values, "order {order:?}");
        assert_eq!(used, buf.len() - 4);
        // every prefix that starts or ends near a seed or block edge, and a few more
        let n = values.len();
        let edges = [
            0, 1, 2, 3, 4, 5, 255, 256, 257, 259, 260, 261, 515, 516, 517,
        ];
        let ends = [n.saturating_sub(1), n / 2, n / 3];
        for k in edges.into_iter().chain(ends).filter(|&k| k <= n) {
            let mut prefix = vec![0u64; k];
            let whole = decode_prefix_to(&buf, n, &mut prefix, Output::Ints);
            assert_eq!(whole, Ok(used), "prefix {k} of {n}, order {order:?}");
            let want: Vec<u64> = values[..k].iter().map(|&v| v as u64).collect();
            assert_eq!(prefix, want, "prefix {k} of {n}, order {order:?}");
        }
        assert!(decode_prefix_to(&buf, n, &mut vec![0; n + 1], Output::Ints).is_err());
        check_windows(&buf, values, order);
        for cut in test_support::cuts(used) {
            let mut got = vec![0i64; values.len()];
            assert!(
                decode(&buf[..cut], &mut got).is_err(),
                "cut {cut} of {used}"
            );
        }
        used
    }

    /// The marks of the encoding `buf` of `values`: one before every block after the
    /// first, each holding the value before it; and windows decoded from them (and
    /// from the start) equal the values.
    fn check_windows(buf: &[u8], values: &[i64], order: Order) {
        let n = values.len();
        let mut marks_buf = Vec::new();
        marks(buf, n, &mut marks_buf).unwrap();
        let mut reader = MarkReader::new(buf, n, &marks_buf).unwrap();
        let mut all = Vec::new();
        while let Some(m) = reader.next_mark().unwrap() {
            assert_eq!(m.last, values[m.position - 1], "order {order:?}");
            all.push(m);
        }
        assert!(reader.rest().is_empty());
        let seeds = order.seeds().min(n);
        assert_eq!(all.len(), (n - seeds).div_ceil(BLOCK).saturating_sub(1));
        let edges = [
            0, 1, 3, 4, 5, 255, 256, 257, 259, 260, 261, 515, 516, 600, 1030,
        ];
        let spots = edges
            .into_iter()
            .chain([n / 3, n / 2, n.saturating_sub(300), n.saturating_sub(1), n])
            .filter(|&k| k <= n);
        for from in spots.clone() {
            for len in [0, 1, 2, 255, 256, 257, 700] {
                let Some(to) = Some(from + len).filter(|&t| t <= n) else {
                    continue;
                };
                let want: Vec<u64> = values[from..to].iter().map(|&v| v as u64).collect();
                let resume = all.iter().rev().find(|m| m.position <= from);
                for resume in [None, resume] {
                    let mut got = vec![7u64; to - from];
                    decode_window_to(buf, n, resume, from, &mut got, Output::Ints).unwrap();
                    assert_eq!(
                        got, want,
                        "window {from}..{to} of {n}, {order:?}, {resume:?}"
                    );
                }
            }
        }
        if let Some(late) = all.last().filter(|m| m.position > 0) {
            let mut got = vec![0u64; 1];
            let early = decode_window_to(
                buf,
                n,
                Some(late),
                late.position - 1,
                &mut got,
                Output::Ints,
            );
            assert!(early.is_err());
        }
        assert!(decode_window_to(buf, n, None, n, &mut [0u64; 1], Output::Ints).is_err());
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
                prop::collection::vec(-3i64..3, 0..1100)
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
            // a random walk with spikes: exceptions in full blocks of every order
            (
                prop::collection::vec(-20i64..20, 250..1100),
                prop::collection::vec((any::<prop::sample::Index>(), any::<i64>()), 0..12),
            )
                .prop_map(|(steps, spikes)| {
                    let mut x = 0i64;
                    let mut walk: Vec<i64> = steps
                        .iter()
                        .map(|s| {
                            x += s;
                            x
                        })
                        .collect();
                    for (at, v) in spikes {
                        let i = at.index(walk.len());
                        walk[i] = v >> (v as u64 % 64);
                    }
                    walk
                }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn round_trips_every_order(values in series()) {
            for order in Order::ALL {
                check(&values, order);
            }
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300), len in 0usize..2000) {
            let mut out = vec![0i64; len];
            let _ = decode(&bytes, &mut out);
            let mut prefix = vec![0u64; len / 3];
            let _ = decode_prefix_to(&bytes, len, &mut prefix, Output::Ints);
            // garbage marks of a real sequence, and garbage sequences with marks
            let mut real = Vec::new();
            encode(&(0..len as i64).map(|i| i * i).collect::<Vec<_>>(), Order::Lanes, &mut real);
            for (seq, marks) in [(&real[..], &bytes[..]), (&bytes[..], &real[..])] {
                if let Ok(mut reader) = MarkReader::new(seq, len, marks) {
                    while let Ok(Some(m)) = reader.next_mark() {
                        let from = m.position.min(len);
                        let mut out = vec![0u64; (len - from).min(300)];
                        let _ = decode_window_to(seq, len, Some(&m), from, &mut out, Output::Ints);
                    }
                }
            }
        }
    }

    #[test]
    fn regular_and_quadratic_sequences_are_tiny() {
        let regular: Vec<i64> = (0..4096).map(|i| 1_700_000_000_000 + 10_000 * i).collect();
        // order, seed (6 bytes), 16 blocks of 2 bytes (the first base takes 3)
        assert!(check(&regular, Order::Deltas) <= 1 + 6 + 3 + 16 * 2);
        // order, 4 seeds (6 + 3 x 3 bytes), 16 blocks of 2 bytes (the first base takes 3)
        assert!(check(&regular, Order::Lanes) <= 1 + 6 + 3 * 3 + 3 + 16 * 2);
        // its marks: the first one's jump from the seeds, then one byte each
        for order in [Order::Deltas, Order::Lanes] {
            let mut buf = Vec::new();
            encode(&regular, order, &mut buf);
            let mut m = Vec::new();
            marks(&buf, regular.len(), &mut m).unwrap();
            assert!(m.len() <= 16 + 14, "{order:?}: {} bytes of marks", m.len());
            assert!(m.ends_with(&[0; 14]), "{order:?}: {m:?}");
        }
        let quadratic: Vec<i64> = (0..4096i64).map(|i| i * i - 7).collect();
        assert!(check(&quadratic, Order::DeltaDeltas) <= 1 + 2 + 16 * 2);
        let mut best = Vec::new();
        encode_best(&quadratic, &Order::ALL, &mut best);
        let mut order2 = Vec::new();
        encode(&quadratic, Order::DeltaDeltas, &mut order2);
        assert_eq!(best, order2);
        // a slower order only where it saves more than 1/32
        let jittered: Vec<i64> = (0..4096i64).map(|i| 10_000 * i + (i * 7919) % 13).collect();
        let sizes = Order::ALL.map(|o| {
            let mut buf = Vec::new();
            encode(&jittered, o, &mut buf);
            buf.len()
        });
        let mut best = Vec::new();
        encode_best(&jittered, &[Order::Lanes, Order::Deltas], &mut best);
        let lanes = sizes[Order::Lanes as usize];
        let deltas = sizes[Order::Deltas as usize];
        assert_eq!(
            best[0] == Order::Lanes as u8,
            lanes <= deltas + deltas / 32,
            "{sizes:?}"
        );
    }

    #[test]
    fn bad_order_is_an_error() {
        assert!(decode(&[4, 0, 0], &mut [0; 1]).is_err());
        assert!(decode(&[0xFF, 0, 0], &mut [0; 1]).is_err());
    }

    #[test]
    fn empty_and_short() {
        for order in Order::ALL {
            assert_eq!(check(&[], order), 1);
            check(&[i64::MIN], order);
            check(&[i64::MAX, i64::MIN], order);
        }
        assert!(decode(&[4], &mut []).is_err());
        assert!(decode(&[], &mut []).is_err());
        assert!(decode(&[1, 0], &mut vec![0; 10_000_000]).is_err());
    }
}
