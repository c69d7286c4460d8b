//! Write batches: the public [`WriteBatch`], its limits, and the WAL payload encoding of
//! a batch whose column families were resolved to ids.
//!
//! A batch is applied atomically: its operations get consecutive sequence numbers
//! starting at the batch's first one, and recovery replays the whole batch or none of
//! it. The payload layout is documented byte by byte in `docs/format.md (part 2)`; in
//! short:
//!
//! ```text
//! format: u8 = 1 | first_seq: u64 LE | count: u32 LE | op * count
//! op := kind: u8 | cf: varint u32 | key_len: varint | key | (Put only) value_len: varint | value
//! ```
//!
//! The payload carries no checksum of its own: the WAL record around it does.

use crate::codec::DecodeError;
use crate::codec::varint::{Reader, put_u32, put_u64};
use crate::kv::core::key::{MAX_SEQ, ValueKind};
use crate::{Error, Result};

/// Longest accepted user key, in bytes (64 KiB).
pub const MAX_KEY_LEN: usize = 64 * 1024;

/// Longest accepted value, in bytes (64 MiB).
pub const MAX_VALUE_LEN: usize = 64 * 1024 * 1024;

/// Longest accepted column-family name, in bytes of UTF-8.
pub const MAX_CF_NAME_LEN: usize = 255;

/// Most operations in one batch (the width of the payload's count field).
pub const MAX_BATCH_OPS: usize = u32::MAX as usize;

/// The payload format this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// Bytes before the first operation: format, first sequence number, count.
pub const HEADER_LEN: usize = 1 + 8 + 4;

/// Checks a column-family name: non-empty and at most [`MAX_CF_NAME_LEN`] bytes (a
/// `&str` is UTF-8 already).
pub fn validate_cf_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid("column family name is empty"));
    }
    if name.len() > MAX_CF_NAME_LEN {
        return Err(Error::invalid(format!(
            "column family name is {} bytes, the limit is {MAX_CF_NAME_LEN}",
            name.len()
        )));
    }
    Ok(())
}

/// Checks a key against [`MAX_KEY_LEN`]. Empty keys are accepted.
pub fn validate_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(Error::invalid(format!(
            "key is {} bytes, the limit is {MAX_KEY_LEN}",
            key.len()
        )));
    }
    Ok(())
}

/// Checks a value against [`MAX_VALUE_LEN`].
pub fn validate_value(value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::invalid(format!(
            "value is {} bytes, the limit is {MAX_VALUE_LEN}",
            value.len()
        )));
    }
    Ok(())
}

/// Where one operation's bytes live in a [`WriteBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    /// Index into `WriteBatch::cfs`.
    cf: usize,
    kind: ValueKind,
    start: usize,
    key_end: usize,
    end: usize,
}

/// An ordered list of puts and deletes over named column families, applied atomically
/// by the store.
///
/// Keys and values are copied into one buffer; column-family names are stored once per
/// batch. Nothing is checked while building: [`WriteBatch::validate`] (which the store
/// calls before writing) reports the first limit exceeded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    data: Vec<u8>,
    ops: Vec<Slot>,
    /// Distinct column-family names, in order of first use.
    cfs: Vec<String>,
}

/// One operation of a [`WriteBatch`], as its iterator yields it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOp<'a> {
    /// The column family's name.
    pub cf: &'a str,
    /// The column family's position in [`WriteBatch::cf_names`].
    pub cf_index: usize,
    /// Put or delete.
    pub kind: ValueKind,
    /// The user key.
    pub key: &'a [u8],
    /// The value (empty for deletes).
    pub value: &'a [u8],
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a put of `value` under `key` in column family `cf`.
    pub fn put(&mut self, cf: &str, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        self.push(cf, ValueKind::Put, key.as_ref(), value.as_ref())
    }

    /// Appends a delete of `key` in column family `cf`.
    pub fn delete(&mut self, cf: &str, key: impl AsRef<[u8]>) -> &mut Self {
        self.push(cf, ValueKind::Delete, key.as_ref(), &[])
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True if the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Removes every operation, keeping the allocated memory for reuse.
    pub fn clear(&mut self) {
        self.data.clear();
        self.ops.clear();
        self.cfs.clear();
    }

    /// The distinct column-family names used, in order of first use; [`BatchOp::cf_index`]
    /// indexes this slice.
    pub fn cf_names(&self) -> &[String] {
        &self.cfs
    }

    /// The operations, in the order they were added.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            batch: self,
            ops: self.ops.iter(),
        }
    }

    /// Checks every limit: column-family names ([`validate_cf_name`]), key and value
    /// lengths, and the number of operations. Returns the first violation as
    /// [`Error::InvalidArgument`], naming the operation.
    pub fn validate(&self) -> Result<()> {
        if self.ops.len() > MAX_BATCH_OPS {
            return Err(Error::invalid(format!(
                "batch has {} operations, the limit is {MAX_BATCH_OPS}",
                self.ops.len()
            )));
        }
        for name in &self.cfs {
            validate_cf_name(name)?;
        }
        for (i, op) in self.iter().enumerate() {
            let checked = validate_key(op.key).and_then(|()| validate_value(op.value));
            if let Err(Error::InvalidArgument(what)) = checked {
                return Err(Error::invalid(format!(
                    "operation {i} (column family {:?}): {what}",
                    op.cf
                )));
            }
        }
        Ok(())
    }

    /// Encodes the batch as a WAL payload whose first operation gets sequence number
    /// `first_seq`, mapping each column-family name to its id with `resolve` (called once
    /// per distinct name; its error is returned as is). See [`encode`] for the checks.
    pub fn encode(
        &self,
        first_seq: u64,
        mut resolve: impl FnMut(&str) -> Result<u32>,
    ) -> Result<Vec<u8>> {
        let ids = self
            .cfs
            .iter()
            .map(|name| resolve(name))
            .collect::<Result<Vec<u32>>>()?;
        encode(
            first_seq,
            self.iter().map(|op| ResolvedOp {
                // invariant: `cf_index` indexes `self.cfs`, and `ids` has one id per name.
                cf: ids[op.cf_index],
                kind: op.kind,
                key: op.key,
                value: op.value,
            }),
        )
    }

    fn push(&mut self, cf: &str, kind: ValueKind, key: &[u8], value: &[u8]) -> &mut Self {
        let cf = self.intern(cf);
        let start = self.data.len();
        self.data.extend_from_slice(key);
        let key_end = self.data.len();
        self.data.extend_from_slice(value);
        self.ops.push(Slot {
            cf,
            kind,
            start,
            key_end,
            end: self.data.len(),
        });
        self
    }

    /// The index of `cf` in `self.cfs`, adding it if new. Batches name few column
    /// families, usually the same one as the previous operation: check that first, then
    /// scan.
    fn intern(&mut self, cf: &str) -> usize {
        if let Some(last) = self.ops.last()
            && self.cfs.get(last.cf).is_some_and(|name| name == cf)
        {
            return last.cf;
        }
        match self.cfs.iter().position(|name| name == cf) {
            Some(i) => i,
            None => {
                self.cfs.push(cf.to_owned());
                self.cfs.len() - 1
            }
        }
    }
}

impl<'a> IntoIterator for &'a WriteBatch {
    type Item = BatchOp<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Iterator over a [`WriteBatch`]'s operations, in order.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    batch: &'a WriteBatch,
    ops: std::slice::Iter<'a, Slot>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = BatchOp<'a>;

    fn next(&mut self) -> Option<BatchOp<'a>> {
        let op = self.ops.next()?;
        let data = &self.batch.data;
        Some(BatchOp {
            cf: self.batch.cfs.get(op.cf).map_or("", String::as_str),
            cf_index: op.cf,
            kind: op.kind,
            key: data.get(op.start..op.key_end).unwrap_or(&[]),
            value: data.get(op.key_end..op.end).unwrap_or(&[]),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ops.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// One operation with its column family resolved to an id: what the WAL payload holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedOp<'a> {
    /// The column family's id.
    pub cf: u32,
    /// Put or delete.
    pub kind: ValueKind,
    /// The user key.
    pub key: &'a [u8],
    /// The value; always empty for deletes.
    pub value: &'a [u8],
}

/// Encodes `ops` as a WAL payload, the first operation getting sequence number
/// `first_seq` and each next one the next number.
///
/// Fails with [`Error::InvalidArgument`], producing nothing, if a key or value is over
/// its limit, a delete carries a value, there are more than [`MAX_BATCH_OPS`] operations,
/// or a sequence number would exceed [`MAX_SEQ`]: it never writes a payload that
/// [`decode`] would reject.
pub fn encode<'a>(
    first_seq: u64,
    ops: impl IntoIterator<Item = ResolvedOp<'a>>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_into(&mut out, first_seq, ops)?;
    Ok(out)
}

/// Like [`encode`], appending to `out` (left as it was on error); returns the number of
/// operations encoded.
pub fn encode_into<'a>(
    out: &mut Vec<u8>,
    first_seq: u64,
    ops: impl IntoIterator<Item = ResolvedOp<'a>>,
) -> Result<u32> {
    let start = out.len();
    let result = encode_ops(out, first_seq, ops);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn encode_ops<'a>(
    out: &mut Vec<u8>,
    first_seq: u64,
    ops: impl IntoIterator<Item = ResolvedOp<'a>>,
) -> Result<u32> {
    if first_seq > MAX_SEQ {
        return Err(Error::invalid(format!(
            "sequence number {first_seq} is past the maximum {MAX_SEQ}"
        )));
    }
    let header = out.len();
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&first_seq.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    let mut count: u32 = 0;
    for op in ops {
        validate_key(op.key)?;
        validate_value(op.value)?;
        if op.kind == ValueKind::Delete && !op.value.is_empty() {
            return Err(Error::invalid("a delete carries no value"));
        }
        // `count` ops so far, so this op's sequence number is `first_seq + count`.
        if first_seq + u64::from(count) > MAX_SEQ {
            return Err(Error::invalid(
                "batch runs past the maximum sequence number",
            ));
        }
        out.push(op.kind as u8);
        put_u32(out, op.cf);
        put_u64(out, op.key.len() as u64);
        out.extend_from_slice(op.key);
        if op.kind == ValueKind::Put {
            put_u64(out, op.value.len() as u64);
            out.extend_from_slice(op.value);
        }
        count = count.checked_add(1).ok_or_else(|| {
            Error::invalid(format!("batch has more than {MAX_BATCH_OPS} operations"))
        })?;
    }
    if let Some(slot) = out.get_mut(header + 9..header + HEADER_LEN) {
        slot.copy_from_slice(&count.to_le_bytes());
    }
    Ok(count)
}

/// A decoded WAL payload, borrowing its keys and values from the payload bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedBatch<'a> {
    /// Sequence number of the first operation; operation `i` has `first_seq + i`.
    pub first_seq: u64,
    /// The operations, in order.
    pub ops: Vec<ResolvedOp<'a>>,
}

impl<'a> DecodedBatch<'a> {
    /// Sequence number of the last operation, `None` for an empty batch.
    pub fn last_seq(&self) -> Option<u64> {
        let n = u64::try_from(self.ops.len()).ok()?;
        n.checked_sub(1).map(|n| self.first_seq.saturating_add(n))
    }

    /// The operations with their sequence numbers.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (u64, &ResolvedOp<'a>)> + '_ {
        let first = self.first_seq;
        self.ops
            .iter()
            .enumerate()
            .map(move |(i, op)| (first.saturating_add(i as u64), op))
    }
}

/// Decodes and fully checks an untrusted WAL payload: it either returns every operation
/// or an error, never a prefix of the batch.
pub fn decode(bytes: &[u8]) -> Result<DecodedBatch<'_>, DecodeError> {
    let mut r = Reader::new(bytes);
    if r.u8()? != FORMAT_VERSION {
        return Err(DecodeError("unknown batch format version"));
    }
    let first_seq = u64::from_le_bytes(fixed(r.bytes(8)?)?);
    let count = u32::from_le_bytes(fixed(r.bytes(4)?)?);
    if first_seq > MAX_SEQ || (count > 0 && first_seq + u64::from(count - 1) > MAX_SEQ) {
        return Err(DecodeError("batch sequence numbers run past the maximum"));
    }
    // Every op takes at least 3 bytes (kind, cf, key length): do not let a corrupt count
    // reserve more than the payload could hold.
    let count = count as usize;
    let mut ops = Vec::with_capacity(count.min(r.remaining().len() / 3));
    for _ in 0..count {
        let kind = ValueKind::from_u8(r.u8()?).ok_or(DecodeError("unknown operation kind"))?;
        let cf = r.u32()?;
        let key = r.len_prefixed()?;
        if key.len() > MAX_KEY_LEN {
            return Err(DecodeError("key longer than the limit"));
        }
        let value = match kind {
            ValueKind::Put => r.len_prefixed()?,
            ValueKind::Delete => &[],
        };
        if value.len() > MAX_VALUE_LEN {
            return Err(DecodeError("value longer than the limit"));
        }
        ops.push(ResolvedOp {
            cf,
            kind,
            key,
            value,
        });
    }
    if !r.is_empty() {
        return Err(DecodeError("trailing bytes after the last operation"));
    }
    Ok(DecodedBatch { first_seq, ops })
}

/// A slice of known length as an array.
fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], DecodeError> {
    bytes
        .try_into()
        .map_err(|_| DecodeError("fixed-width field has the wrong length"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn op_strategy() -> impl Strategy<Value = (u32, bool, Vec<u8>, Vec<u8>)> {
        (
            prop_oneof![0u32..4, any::<u32>()],
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..20),
            proptest::collection::vec(any::<u8>(), 0..40),
        )
    }

    fn resolved(ops: &[(u32, bool, Vec<u8>, Vec<u8>)]) -> Vec<ResolvedOp<'_>> {
        ops.iter()
            .map(|(cf, put, key, value)| ResolvedOp {
                cf: *cf,
                kind: if *put {
                    ValueKind::Put
                } else {
                    ValueKind::Delete
                },
                key,
                value: if *put { value } else { &[] },
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn round_trips(
            first_seq in prop_oneof![0..1000u64, Just(MAX_SEQ - 40)],
            ops in proptest::collection::vec(op_strategy(), 0..40),
        ) {
            let ops = resolved(&ops);
            let bytes = encode(first_seq, ops.iter().copied()).unwrap();
            let decoded = decode(&bytes).unwrap();
            prop_assert_eq!(decoded.first_seq, first_seq);
            prop_assert_eq!(&decoded.ops, &ops);
            prop_assert_eq!(decoded.last_seq(), (!ops.is_empty()).then(|| first_seq + ops.len() as u64 - 1));
            let seqs: Vec<u64> = decoded.iter().map(|(s, _)| s).collect();
            prop_assert_eq!(seqs, (first_seq..).take(ops.len()).collect::<Vec<_>>());

            // Appending to a buffer gives the same bytes after what was there.
            let mut out = b"prefix".to_vec();
            prop_assert_eq!(encode_into(&mut out, first_seq, ops.iter().copied()).unwrap() as usize, ops.len());
            prop_assert_eq!(&out[6..], &bytes[..]);
        }

        #[test]
        fn truncation_is_an_error(ops in proptest::collection::vec(op_strategy(), 1..10)) {
            let bytes = encode(1, resolved(&ops)).unwrap();
            for len in 0..bytes.len() {
                prop_assert!(decode(&bytes[..len]).is_err(), "prefix of {} bytes decoded", len);
            }
            let mut longer = bytes.clone();
            longer.push(0);
            prop_assert!(decode(&longer).is_err());
        }

        #[test]
        fn flipped_bytes_never_panic(
            ops in proptest::collection::vec(op_strategy(), 1..10),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        ) {
            let mut bytes = encode(1, resolved(&ops)).unwrap();
            for (at, mask) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= mask;
            }
            // Without a checksum some flips decode (the WAL record's CRC catches them);
            // whatever decodes must still respect every limit.
            if let Ok(batch) = decode(&bytes) {
                prop_assert!(batch.ops.iter().all(|op| op.key.len() <= MAX_KEY_LEN));
                prop_assert!(batch.last_seq().is_none_or(|s| s <= MAX_SEQ));
            }
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
            let mut framed = vec![FORMAT_VERSION];
            framed.extend_from_slice(&bytes);
            let _ = decode(&framed);
        }

        #[test]
        fn batch_iterates_its_ops_in_order(
            ops in proptest::collection::vec((0usize..3, any::<bool>(), any::<Vec<u8>>(), any::<Vec<u8>>()), 0..30),
        ) {
            let names = ["default", "users", "ünïcode"];
            let mut batch = WriteBatch::new();
            for (cf, put, key, value) in &ops {
                if *put { batch.put(names[*cf], key, value); } else { batch.delete(names[*cf], key); }
            }
            prop_assert_eq!(batch.len(), ops.len());
            prop_assert_eq!(batch.iter().len(), ops.len());
            for (op, (cf, put, key, value)) in batch.iter().zip(&ops) {
                prop_assert_eq!(op.cf, names[*cf]);
                prop_assert_eq!(batch.cf_names()[op.cf_index].as_str(), names[*cf]);
                prop_assert_eq!(op.kind, if *put { ValueKind::Put } else { ValueKind::Delete });
                prop_assert_eq!(op.key, key.as_slice());
                prop_assert_eq!(op.value, if *put { value.as_slice() } else { &[] });
            }
            prop_assert!(batch.validate().is_ok());

            let ids = |name: &str| Ok(names.iter().position(|n| *n == name).unwrap() as u32 + 10);
            let bytes = batch.encode(7, ids).unwrap();
            let decoded = decode(&bytes).unwrap();
            for (op, (cf, _, key, _)) in decoded.ops.iter().zip(&ops) {
                prop_assert_eq!(op.cf, *cf as u32 + 10);
                prop_assert_eq!(op.key, key.as_slice());
            }
        }
    }

    #[test]
    fn layout_is_as_documented() {
        let ops = [
            ResolvedOp {
                cf: 2,
                kind: ValueKind::Put,
                key: b"k",
                value: b"vv",
            },
            ResolvedOp {
                cf: 300,
                kind: ValueKind::Delete,
                key: b"",
                value: b"",
            },
        ];
        let bytes = encode(0x0102, ops).unwrap();
        let want: &[u8] = &[
            1, // format
            0x02, 0x01, 0, 0, 0, 0, 0, 0, // first_seq
            2, 0, 0, 0, // count
            1, 2, 1, b'k', 2, b'v', b'v', // put cf 2 "k" = "vv"
            0, 0xac, 0x02, 0, // delete cf 300 ""
        ];
        assert_eq!(bytes, want);
    }

    #[test]
    fn encode_refuses_what_decode_would_reject() {
        let key = vec![0; MAX_KEY_LEN + 1];
        let bad_key = ResolvedOp {
            cf: 0,
            kind: ValueKind::Put,
            key: &key,
            value: b"",
        };
        let delete_with_value = ResolvedOp {
            cf: 0,
            kind: ValueKind::Delete,
            key: b"k",
            value: b"v",
        };
        let fine = ResolvedOp {
            cf: 0,
            kind: ValueKind::Put,
            key: b"k",
            value: b"v",
        };
        let mut out = b"kept".to_vec();
        assert!(encode_into(&mut out, 1, [fine, bad_key]).is_err());
        assert_eq!(out, b"kept", "nothing appended on error");
        assert!(encode(1, [delete_with_value]).is_err());
        assert!(encode(MAX_SEQ + 1, []).is_err());
        assert!(encode(MAX_SEQ, [fine]).is_ok());
        assert!(encode(MAX_SEQ, [fine, fine]).is_err());

        let value = vec![0; MAX_VALUE_LEN + 1];
        let big = ResolvedOp {
            cf: 0,
            kind: ValueKind::Put,
            key: b"k",
            value: &value,
        };
        assert!(encode(1, [big]).is_err());
    }

    #[test]
    fn decode_rejects_bad_headers() {
        let good = encode(5, []).unwrap();
        assert_eq!(decode(&good).unwrap().ops, []);
        let mut wrong_version = good.clone();
        wrong_version[0] = 2;
        assert!(decode(&wrong_version).is_err());
        let mut past_max = encode(MAX_SEQ, []).unwrap();
        past_max[9] = 2; // count 2 from MAX_SEQ overflows
        assert!(decode(&past_max).is_err());
        let mut huge_count = good;
        huge_count[9..13].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge_count).is_err());
        let unknown_kind = [&encode(5, []).unwrap()[..9], &[1, 0, 0, 0], &[7, 0, 0]].concat();
        assert!(decode(&unknown_kind).is_err());
    }

    #[test]
    fn validate_names_the_violation() {
        let mut batch = WriteBatch::new();
        batch.put("cf", b"k", b"v");
        assert!(batch.validate().is_ok());

        let err = |batch: &WriteBatch| match batch.validate() {
            Err(Error::InvalidArgument(what)) => what,
            other => panic!("expected InvalidArgument, got {other:?}"),
        };
        let mut long_key = batch.clone();
        long_key.put("cf", vec![0; MAX_KEY_LEN + 1], b"");
        assert!(err(&long_key).contains("operation 1"), "{}", err(&long_key));
        assert!(err(&long_key).contains("key"));
        let mut long_value = batch.clone();
        long_value.put("cf", b"k", vec![0; MAX_VALUE_LEN + 1]);
        assert!(err(&long_value).contains("value"));
        let mut empty_cf = batch.clone();
        empty_cf.delete("", b"k");
        assert!(err(&empty_cf).contains("empty"));
        let mut long_cf = batch.clone();
        long_cf.delete(&"x".repeat(MAX_CF_NAME_LEN + 1), b"k");
        assert!(err(&long_cf).contains("column family name"));

        assert!(validate_cf_name(&"é".repeat(MAX_CF_NAME_LEN / 2)).is_ok());
        assert!(validate_key(&[0; MAX_KEY_LEN]).is_ok());
        assert!(validate_key(b"").is_ok());
    }

    #[test]
    fn clear_and_resolution_errors() {
        let mut batch = WriteBatch::new();
        batch
            .put("a", b"1", b"x")
            .delete("b", b"2")
            .put("a", b"3", b"y");
        assert_eq!(batch.cf_names(), ["a", "b"]);
        let unknown = batch.encode(1, |name| {
            if name == "a" {
                Ok(0)
            } else {
                Err(Error::NotFound(name.to_owned()))
            }
        });
        assert!(matches!(unknown, Err(Error::NotFound(name)) if name == "b"));
        batch.clear();
        assert!(batch.is_empty());
        assert_eq!(batch.cf_names().len(), 0);
        assert_eq!(batch.iter().next(), None);
        assert_eq!(batch, WriteBatch::new());
    }
}
