//! The block index: one entry per data block, `(separator key, separator seq) -> block
//! handle`, stored in the ordinary block format and decoded once, at open, into a
//! sorted in-memory array that seeks binary-search.
//!
//! The separator of block `i` is `>=` its last entry and `<` the first entry of block
//! `i + 1` (internal-key order). Between blocks it is a shortened user key when one
//! exists ([`separator`]); after the last block it is the last entry itself.

use std::cmp::Ordering;

use super::block::{BlockBytes, BlockIter};
use super::frame::BlockHandle;
use crate::codec::DecodeError;
use crate::codec::varint::Reader;
use crate::kv::core::key::compare;

/// A user key `s` with `a < s < b` that is shorter than `a`, if there is one.
///
/// `a` and `b` are the last user key of one block and the first of the next; the caller
/// has `a < b` and otherwise keeps `a` (with its sequence number) as the separator.
pub(crate) fn separator(a: &[u8], b: &[u8]) -> Option<Vec<u8>> {
    let i = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (&ai, &bi) = (a.get(i)?, b.get(i)?);
    // Incrementing a[j] and cutting after it gives s > a; s < b holds when j > i
    // (s agrees with a up to i, and a[i] < b[i]) or when a[i] + 1 < b[i].
    let j = if ai < 0xff && ai + 1 < bi {
        i
    } else {
        i + 1 + a.get(i + 1..)?.iter().position(|&c| c < 0xff)?
    };
    if j + 1 >= a.len() {
        return None;
    }
    let mut s = a.get(..=j)?.to_vec();
    *s.last_mut()? += 1;
    Some(s)
}

#[derive(Debug, Clone, Copy)]
struct IndexEntry {
    key_end: usize,
    seq: u64,
    handle: BlockHandle,
}

/// The decoded index of a table.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// The separator keys, back to back.
    keys: Vec<u8>,
    entries: Vec<IndexEntry>,
}

impl Index {
    /// Decodes and checks an index block: separators strictly increasing, and the data
    /// blocks contiguous, starting at `data_start` and ending at `data_end`.
    pub fn decode(block: BlockBytes, data_start: u64, data_end: u64) -> Result<Self, DecodeError> {
        let mut it = BlockIter::new(block)?;
        it.seek_to_first()?;
        let mut index = Index::default();
        let mut expect = data_start;
        while it.valid() {
            let mut r = Reader::new(it.value());
            let handle = BlockHandle::decode(&mut r)?;
            if !r.is_empty() {
                return Err(DecodeError("trailing bytes after a block handle"));
            }
            if handle.offset != expect {
                return Err(DecodeError("data blocks are not contiguous"));
            }
            expect = handle
                .end()
                .filter(|&e| e <= data_end)
                .ok_or(DecodeError("data block runs past the data section"))?;
            if let Some(last) = index.entries.last()
                && compare(
                    index.key(index.entries.len() - 1),
                    last.seq,
                    it.key(),
                    it.seq(),
                ) != Ordering::Less
            {
                return Err(DecodeError("index keys out of order"));
            }
            index.keys.extend_from_slice(it.key());
            index.entries.push(IndexEntry {
                key_end: index.keys.len(),
                seq: it.seq(),
                handle,
            });
            it.next()?;
        }
        if expect != data_end {
            return Err(DecodeError("data blocks do not fill the data section"));
        }
        Ok(index)
    }

    /// Number of data blocks.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the table has no data block.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Separator key of block `i`.
    fn key(&self, i: usize) -> &[u8] {
        let start = i
            .checked_sub(1)
            .and_then(|p| self.entries.get(p))
            .map_or(0, |e| e.key_end);
        let end = self.entries.get(i).map_or(start, |e| e.key_end);
        self.keys.get(start..end).unwrap_or(&[])
    }

    /// Handle of block `i`.
    pub fn handle(&self, i: usize) -> Option<BlockHandle> {
        self.entries.get(i).map(|e| e.handle)
    }

    /// The first block that can hold an entry `>= (key, seq)`: the first whose separator
    /// is `>=` it; [`Index::len`] when there is none.
    pub fn find(&self, key: &[u8], seq: u64) -> usize {
        let (mut lo, mut hi) = (0, self.entries.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if compare(self.key(mid), self.entries[mid].seq, key, seq) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn separators() {
        assert_eq!(separator(b"abc", b"abd"), None); // nothing strictly between, shorter
        assert_eq!(separator(b"abcdef", b"abzzz"), Some(b"abd".to_vec()));
        assert_eq!(separator(b"ab", b"abc"), None); // a is a prefix of b
        assert_eq!(
            separator(b"abc\xff\x01x", b"abd"),
            Some(b"abc\xff\x02".to_vec())
        );
        assert_eq!(separator(b"ab\xff\xff", b"ac"), None);
        assert_eq!(separator(b"a\x05xyz", b"a\x06"), Some(b"a\x05y".to_vec()));
        assert_eq!(separator(b"", b"a"), None);
    }

    proptest! {
        #[test]
        fn separator_is_between_and_shorter(a: Vec<u8>, b: Vec<u8>) {
            let (a, b) = if a < b { (a, b) } else { (b, a) };
            if let Some(s) = separator(&a, &b) {
                prop_assert!(a < s && s < b, "{:?} < {:?} < {:?}", a, s, b);
                prop_assert!(s.len() < a.len());
            }
        }
    }
}
