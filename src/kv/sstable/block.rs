//! Reads one block (the encoding of `block_builder.rs`) from untrusted bytes: a cursor
//! that decodes entries forward and seeks by binary search over the restart points.
//!
//! Every offset and length read from the block is checked before use; damage gives a
//! [`DecodeError`], never a panic or an out-of-bounds read. An uncompressed block is
//! read in place from the mapped file ([`BlockBytes::Mapped`]).

use std::cmp::Ordering;
use std::sync::Arc;

use crate::codec::DecodeError;
use crate::codec::varint::Reader;
use crate::io::fs::FileBytes;
use crate::kv::core::key::{ValueKind, compare, unpack_trailer};

/// The bytes of one decoded block.
#[derive(Clone, Debug)]
pub(crate) enum BlockBytes {
    /// An uncompressed block, in place in the mapped file (`start..end` is in bounds).
    Mapped {
        file: FileBytes,
        start: usize,
        end: usize,
    },
    /// A decompressed block.
    Owned(Arc<[u8]>),
}

impl BlockBytes {
    /// The block's contents.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        match self {
            BlockBytes::Mapped { file, start, end } => file.get(*start..*end).unwrap_or(&[]),
            BlockBytes::Owned(v) => v,
        }
    }
}

/// One decoded entry: where its value is and where the next entry starts.
struct Decoded {
    seq: u64,
    kind: ValueKind,
    value: (usize, usize),
    next: usize,
}

/// Decodes the entry at `offset` (entries end at `limit`), rebuilding its key in `key`
/// from the previous entry's key.
#[inline]
fn decode_entry(
    bytes: &[u8],
    limit: usize,
    offset: usize,
    key: &mut Vec<u8>,
) -> Result<Decoded, DecodeError> {
    let region = bytes
        .get(offset..limit)
        .ok_or(DecodeError("entry offset out of range"))?;
    // Fast path: the three lengths fit one byte each (short keys and values).
    let (shared, unshared, value_len, pos) = match *region {
        [a, b, c, ..] if (a | b | c) < 0x80 => (a as usize, b as usize, c as usize, 3),
        _ => {
            let mut r = Reader::new(region);
            let lens = (r.u32()? as usize, r.u32()? as usize, r.u32()? as usize);
            (lens.0, lens.1, lens.2, r.position())
        }
    };
    if shared > key.len() {
        return Err(DecodeError(
            "entry shares more key bytes than its predecessor has",
        ));
    }
    // Saturating sums: an overflow lands past the entry area, which `get` rejects.
    let key_end = pos.saturating_add(unshared);
    let value_start = key_end.saturating_add(8);
    let value_end = value_start.saturating_add(value_len);
    let suffix = region
        .get(pos..key_end)
        .ok_or(DecodeError("entry key runs past the block"))?;
    let trailer: [u8; 8] = region
        .get(key_end..value_start)
        .and_then(|t| t.try_into().ok())
        .ok_or(DecodeError("entry trailer runs past the block"))?;
    if value_end > region.len() {
        return Err(DecodeError("entry value runs past the block"));
    }
    let next = offset + value_end;
    let value_start = offset + value_start;
    let (seq, kind) =
        unpack_trailer(u64::from_le_bytes(trailer)).ok_or(DecodeError("unknown value kind"))?;
    key.truncate(shared);
    key.extend_from_slice(suffix);
    Ok(Decoded {
        seq,
        kind,
        value: (value_start, next),
        next,
    })
}

/// Reads the 8-byte trailer (`seq << 8 | kind`, little-endian).
#[inline]
fn read_trailer(r: &mut Reader<'_>) -> Result<(u64, ValueKind), DecodeError> {
    let t: [u8; 8] = r
        .bytes(8)?
        .try_into()
        .map_err(|_| DecodeError("entry trailer truncated"))?;
    unpack_trailer(u64::from_le_bytes(t)).ok_or(DecodeError("unknown value kind"))
}

/// The full key and sequence number of the restart entry at `offset`.
fn restart_key(bytes: &[u8], limit: usize, offset: usize) -> Result<(&[u8], u64), DecodeError> {
    let region = bytes
        .get(offset..limit)
        .ok_or(DecodeError("restart offset out of range"))?;
    let mut r = Reader::new(region);
    if r.u32()? != 0 {
        return Err(DecodeError("restart entry shares key bytes"));
    }
    let unshared = r.u32()? as usize;
    r.u32()?;
    let key = r.bytes(unshared)?;
    let (seq, _) = read_trailer(&mut r)?;
    Ok((key, seq))
}

/// Reads restart offset `i` from the restart array at `array`.
#[inline]
fn restart_point(bytes: &[u8], array: usize, i: usize) -> Result<usize, DecodeError> {
    let at = array + 4 * i;
    let b: [u8; 4] = bytes
        .get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .ok_or(DecodeError("restart array out of range"))?;
    Ok(u32::from_le_bytes(b) as usize)
}

/// A cursor over the entries of one block.
#[derive(Debug)]
pub(crate) struct BlockIter {
    data: BlockBytes,
    /// Where the entries end and the restart array begins.
    restarts: usize,
    num_restarts: usize,
    /// Offset of the entry after the current one.
    next: usize,
    valid: bool,
    key: Vec<u8>,
    seq: u64,
    kind: ValueKind,
    value: (usize, usize),
}

impl BlockIter {
    /// Checks the block's restart array and returns an unpositioned cursor.
    pub fn new(data: BlockBytes) -> Result<Self, DecodeError> {
        let bytes = data.bytes();
        let len = bytes.len();
        let count_at = len
            .checked_sub(4)
            .ok_or(DecodeError("block shorter than its restart count"))?;
        let num_restarts = restart_point(bytes, count_at, 0)?;
        let restarts = num_restarts
            .checked_mul(4)
            .and_then(|a| count_at.checked_sub(a))
            .ok_or(DecodeError("restart array larger than the block"))?;
        if num_restarts == 0 && restarts != 0 {
            return Err(DecodeError("block has entries but no restart point"));
        }
        let mut prev = None;
        for i in 0..num_restarts {
            let r = restart_point(bytes, restarts, i)?;
            let ok = match prev {
                None => r == 0 && r < restarts,
                Some(p) => r > p && r < restarts,
            };
            if !ok {
                return Err(DecodeError("restart offsets out of order or range"));
            }
            prev = Some(r);
        }
        Ok(BlockIter {
            data,
            restarts,
            num_restarts,
            next: restarts,
            valid: false,
            key: Vec::new(),
            seq: 0,
            kind: ValueKind::Put,
            value: (0, 0),
        })
    }

    /// Bytes of the block's contents (after decompression) and its restart points.
    pub fn sizes(&self) -> (usize, usize) {
        (self.data.bytes().len(), self.num_restarts)
    }

    /// True when the block holds no entry.
    pub fn is_empty(&self) -> bool {
        self.num_restarts == 0
    }

    /// True while positioned on an entry.
    #[inline]
    pub fn valid(&self) -> bool {
        self.valid
    }

    /// The current entry's user key.
    #[inline]
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The current entry's sequence number.
    #[inline]
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The current entry's kind.
    #[inline]
    pub fn kind(&self) -> ValueKind {
        self.kind
    }

    /// The current entry's value, in place in the block.
    #[inline]
    pub fn value(&self) -> &[u8] {
        self.data
            .bytes()
            .get(self.value.0..self.value.1)
            .unwrap_or(&[])
    }

    /// Moves to the next entry, or becomes invalid after the last one.
    #[inline]
    pub fn next(&mut self) -> Result<(), DecodeError> {
        if self.next >= self.restarts {
            self.valid = false;
            return Ok(());
        }
        let bytes = self.data.bytes();
        match decode_entry(bytes, self.restarts, self.next, &mut self.key) {
            Ok(d) => {
                self.seq = d.seq;
                self.kind = d.kind;
                self.value = d.value;
                self.next = d.next;
                self.valid = true;
                Ok(())
            }
            Err(e) => {
                self.valid = false;
                self.next = self.restarts;
                Err(e)
            }
        }
    }

    /// Positions on the first entry.
    pub fn seek_to_first(&mut self) -> Result<(), DecodeError> {
        self.start_at_restart(0)
    }

    /// Positions before restart point `i`, then on its entry.
    fn start_at_restart(&mut self, i: usize) -> Result<(), DecodeError> {
        self.key.clear();
        self.valid = false;
        self.next = if i < self.num_restarts {
            restart_point(self.data.bytes(), self.restarts, i)?
        } else {
            self.restarts
        };
        self.next()
    }

    /// Positions on the first entry at or after `(key, seq)` in internal-key order, or
    /// becomes invalid when every entry is before it.
    pub fn seek(&mut self, key: &[u8], seq: u64) -> Result<(), DecodeError> {
        // Binary search: the first restart point whose entry is >= the target.
        let (mut lo, mut hi) = (0, self.num_restarts);
        {
            let bytes = self.data.bytes();
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let off = restart_point(bytes, self.restarts, mid)?;
                let (k, s) = restart_key(bytes, self.restarts, off)?;
                if compare(k, s, key, seq) == Ordering::Less {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
        }
        // The target lies after restart `lo - 1` (if any); scan forward from there.
        self.start_at_restart(lo.saturating_sub(1))?;
        while self.valid && compare(&self.key, self.seq, key, seq) == Ordering::Less {
            self.next()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::block_builder::BlockBuilder;
    use super::*;
    use crate::kv::core::key::pack_trailer;
    use proptest::prelude::*;

    type Entry = (Vec<u8>, u64, ValueKind, Vec<u8>);

    fn build(entries: &[Entry], interval: usize) -> BlockBytes {
        let mut b = BlockBuilder::new(interval);
        for (k, s, kind, v) in entries {
            b.add(k, pack_trailer(*s, *kind), v).unwrap();
        }
        BlockBytes::Owned(Arc::from(b.finish()))
    }

    fn collect(it: &mut BlockIter) -> Vec<Entry> {
        let mut out = Vec::new();
        while it.valid() {
            out.push((it.key().to_vec(), it.seq(), it.kind(), it.value().to_vec()));
            it.next().unwrap();
        }
        out
    }

    fn sorted_entries() -> impl Strategy<Value = Vec<Entry>> {
        proptest::collection::btree_map(
            (proptest::collection::vec(0u8..4, 0..6), 0u64..50),
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..20)),
            0..120,
        )
        .prop_map(|m| {
            let mut v: Vec<Entry> = m
                .into_iter()
                .map(|((k, s), (put, val))| {
                    let kind = if put {
                        ValueKind::Put
                    } else {
                        ValueKind::Delete
                    };
                    (k, s, kind, if put { val } else { Vec::new() })
                })
                .collect();
            v.sort_by(|a, b| compare(&a.0, a.1, &b.0, b.1));
            v
        })
    }

    proptest! {
        #[test]
        fn round_trips_and_seeks(entries in sorted_entries(), interval in 1usize..20,
                                 target in proptest::collection::vec(0u8..4, 0..6),
                                 tseq in 0u64..60) {
            let mut it = BlockIter::new(build(&entries, interval)).unwrap();
            it.seek_to_first().unwrap();
            prop_assert_eq!(collect(&mut it), entries.clone());

            it.seek(&target, tseq).unwrap();
            let want = entries
                .iter()
                .find(|e| compare(&e.0, e.1, &target, tseq) != Ordering::Less);
            match want {
                None => prop_assert!(!it.valid()),
                Some(e) => {
                    prop_assert!(it.valid());
                    prop_assert_eq!((it.key(), it.seq()), (&e.0[..], e.1));
                }
            }
        }

        #[test]
        fn garbage_never_panics(bytes: Vec<u8>, target: Vec<u8>) {
            if let Ok(mut it) = BlockIter::new(BlockBytes::Owned(Arc::from(bytes))) {
                let _ = it.seek(&target, 7);
                if it.seek_to_first().is_ok() {
                    for _ in 0..1000 {
                        if !it.valid() || it.next().is_err() {
                            break;
                        }
                    }
                }
            }
        }

        #[test]
        fn damaged_blocks_never_panic(entries in sorted_entries(), pos: usize, byte: u8) {
            let mut bytes = build(&entries, 3).bytes().to_vec();
            let at = pos % bytes.len();
            bytes[at] = byte;
            if let Ok(mut it) = BlockIter::new(BlockBytes::Owned(Arc::from(bytes))) {
                let _ = it.seek(b"\x01\x02", 10);
                if it.seek_to_first().is_ok() {
                    while it.valid() && it.next().is_ok() {}
                }
            }
        }
    }

    #[test]
    fn empty_block() {
        let mut it = BlockIter::new(build(&[], 16)).unwrap();
        assert!(it.is_empty());
        it.seek_to_first().unwrap();
        assert!(!it.valid());
        it.seek(b"a", 0).unwrap();
        assert!(!it.valid());
    }

    #[test]
    fn rejects_bad_restart_arrays() {
        let bad = |b: &[u8]| BlockIter::new(BlockBytes::Owned(Arc::from(b))).is_err();
        assert!(bad(&[]));
        assert!(bad(&[1, 0, 0]));
        assert!(bad(&[9, 0, 0, 0])); // 9 restarts in a 4-byte block
        assert!(bad(&[0xaa, 0, 0, 0, 0])); // an entry byte but no restarts
        assert!(bad(&[0xaa, 1, 0, 0, 0, 1, 0, 0, 0])); // first restart not at 0
        assert!(bad(&[0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0])); // not increasing
    }
}
