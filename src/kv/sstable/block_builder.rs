//! Encodes one block: prefix-compressed entries, then the restart array.
//!
//! ```text
//! entry   := shared: varint32 | unshared: varint32 | value_len: varint32
//!            | key[shared..] (unshared bytes) | trailer: u64 LE (seq << 8 | kind)
//!            | value (value_len bytes)
//! block   := entry* | restart: u32 LE * n | n: u32 LE
//! ```
//!
//! Every `restart_interval`-th entry is a restart point: it stores its whole key
//! (`shared = 0`) and its offset is listed in the restart array, so a reader can binary
//! search the restart points and decode forward from any of them.

use crate::codec::varint;
use crate::{Error, Result};

/// Builds one block in memory.
#[derive(Debug)]
pub(crate) struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    restart_interval: usize,
    since_restart: usize,
    last_key: Vec<u8>,
}

impl BlockBuilder {
    /// An empty block with a restart point every `restart_interval` (>= 1) entries.
    pub fn new(restart_interval: usize) -> Self {
        BlockBuilder {
            buf: Vec::new(),
            restarts: Vec::new(),
            restart_interval: restart_interval.max(1),
            since_restart: 0,
            last_key: Vec::new(),
        }
    }

    /// True when no entry was added since the last reset.
    pub fn is_empty(&self) -> bool {
        self.restarts.is_empty()
    }

    /// Size of the block if finished now.
    pub fn estimated_size(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 4
    }

    /// Appends an entry. The caller adds entries in order; the only error is a block
    /// growing past the 4 GiB its 32-bit offsets can address.
    pub fn add(&mut self, key: &[u8], trailer: u64, value: &[u8]) -> Result<()> {
        let too_big = || Error::invalid("a table block would exceed 4 GiB");
        let offset = u32::try_from(self.buf.len()).map_err(|_| too_big())?;
        let shared = if self.since_restart == self.restart_interval || self.is_empty() {
            self.restarts.push(offset);
            self.since_restart = 0;
            0
        } else {
            common_prefix(&self.last_key, key)
        };
        let unshared = key.len() - shared;
        let end = self.buf.len() as u64 + 4 * self.restarts.len() as u64 + 4 + 15 + 8;
        if end + key.len() as u64 + value.len() as u64 > u64::from(u32::MAX) {
            return Err(too_big());
        }
        // Both lengths are below 4 GiB by the check above.
        varint::put_u64(&mut self.buf, shared as u64);
        varint::put_u64(&mut self.buf, unshared as u64);
        varint::put_u64(&mut self.buf, value.len() as u64);
        self.buf.extend_from_slice(&key[shared..]);
        self.buf.extend_from_slice(&trailer.to_le_bytes());
        self.buf.extend_from_slice(value);
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(&key[shared..]);
        self.since_restart += 1;
        Ok(())
    }

    /// Appends the restart array and returns the finished block. Call
    /// [`BlockBuilder::reset`] before adding again.
    pub fn finish(&mut self) -> &[u8] {
        for r in &self.restarts {
            self.buf.extend_from_slice(&r.to_le_bytes());
        }
        // At most one restart per entry (each at least 11 bytes) of a block under 4 GiB.
        let n = self.restarts.len() as u32;
        self.buf.extend_from_slice(&n.to_le_bytes());
        &self.buf
    }

    /// Empties the builder, keeping its buffers.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.restarts.clear();
        self.since_restart = 0;
        self.last_key.clear();
    }
}

/// Length of the longest common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_documented_bytes() {
        let mut b = BlockBuilder::new(2);
        b.add(b"apple", 0x0102, b"v1").unwrap();
        b.add(b"apply", 0x0301, b"").unwrap();
        b.add(b"b", 0x0401, b"x").unwrap();
        let mut want = vec![0, 5, 2];
        want.extend_from_slice(b"apple");
        want.extend_from_slice(&0x0102u64.to_le_bytes());
        want.extend_from_slice(b"v1");
        let second = want.len() as u32;
        want.extend_from_slice(&[4, 1, 0, b'y']);
        want.extend_from_slice(&0x0301u64.to_le_bytes());
        let third = want.len() as u32;
        want.extend_from_slice(&[0, 1, 1, b'b']);
        want.extend_from_slice(&0x0401u64.to_le_bytes());
        want.push(b'x');
        assert!(second > 0);
        want.extend_from_slice(&0u32.to_le_bytes());
        want.extend_from_slice(&third.to_le_bytes());
        want.extend_from_slice(&2u32.to_le_bytes());
        assert_eq!(b.estimated_size(), want.len());
        assert_eq!(b.finish(), &want[..]);
        b.reset();
        assert!(b.is_empty());
        assert_eq!(b.finish(), &0u32.to_le_bytes());
    }
}
