//! The payload of one time-series WAL record: an atomic batch of writes.
//!
//! A record is self-contained: it defines every series it is the first to use, so
//! replaying the WAL after a crash rebuilds the catalog entries that were not yet
//! persisted in the catalog file. Points are stored columnar per series, with the
//! segment codecs (delta-of-delta timestamps, float compression) when a column is
//! long enough to pay for their setup, so a batch of many points of few series costs
//! about what a segment chunk costs; short columns are stored compact (delta-of-delta
//! varints, decimal mantissas: `wal_column`). The writer asks the WAL for snappy only
//! when the record holds something snappy shortens (series definitions, raw value bits).
//!
//! ```text
//! batch := version:u8 (= 3; 2 stored short columns plain, and is still read;
//!                      1 held the codecs' layout of 128-value blocks)
//!          n_defs:varint  def*     def := catalog entry (docs/format.md (part 6))
//!          n_cols:varint  col*     col := id:varint  count:varint  encoding:u8  body
//!            encoding 2 (compact, count < 64, version 3),
//!            encoding 0 (plain, count < 64, version 2),
//!            encoding 1 (codecs, count >= 64): see `wal_column`
//!          n_dels:varint  del*     del := id:varint  start:zigzag-varint  end:zigzag-varint
//! ```
//! Columns are in write order: a later column of the same series overrides an earlier
//! one point by point (last write wins); deletes apply after the columns of the record.
//! Timestamps of a column may come in any order.

use super::wal_column;
pub(crate) use super::wal_column::Density;
use crate::codec::DecodeError;
use crate::codec::varint::{self, Reader};
use crate::ts::series::catalog::Catalog;
use crate::ts::series::key::SeriesKey;

/// Format version of a batch payload.
pub(crate) const VERSION: u8 = 3;

/// The oldest version this build reads (version 2: short columns plain).
pub(crate) const OLDEST_VERSION: u8 = 2;

/// The version a payload declares, when this build does not read it: a batch another
/// build wrote (not damage: the WAL record around it passed its checksum).
pub(crate) fn foreign_version(payload: &[u8]) -> Option<u8> {
    payload
        .first()
        .copied()
        .filter(|v| !(OLDEST_VERSION..=VERSION).contains(v))
}

/// The most points one batch (one WAL record) may hold. Bounds what a decoder
/// allocates for a damaged count and keeps one record well below the WAL's record
/// size limit for realistic data.
pub const MAX_BATCH_POINTS: usize = 1 << 22;

/// A decoded batch.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Batch {
    /// Series first defined by this batch.
    pub defs: Vec<(u32, SeriesKey)>,
    /// Points per series: `(series id, timestamps, values)`.
    pub cols: Vec<(u32, Vec<i64>, Vec<f64>)>,
    /// Deleted ranges `(series id, start, end)`, inclusive.
    pub dels: Vec<(u32, i64, i64)>,
}

/// Appends the body of one column (`count`, the encoding, both columns) to `out`, the
/// next column of the batch whose context is `cx` (see [`wal_column`]). Callers encode
/// column bodies before taking the writer lock, then [`assemble`] them in the same
/// order.
pub(crate) fn encode_column(
    ts: &[i64],
    values: &[f64],
    cx: &mut wal_column::Context,
    out: &mut Vec<u8>,
) -> Density {
    wal_column::encode(ts, values, cx, out)
}

/// Writes a whole batch payload into `out` (cleared first) from definitions, column
/// bodies made by [`encode_column`] and deleted ranges.
pub(crate) fn assemble(
    defs: &[(u32, &SeriesKey)],
    cols: &[(u32, &[u8])],
    dels: &[(u32, i64, i64)],
    out: &mut Vec<u8>,
) {
    out.clear();
    let body: usize = cols.iter().map(|(_, b)| b.len() + 5).sum();
    out.reserve(body + 16 + defs.len() * 32 + dels.len() * 12);
    out.push(VERSION);
    varint::put_u64(out, defs.len() as u64);
    for (id, key) in defs {
        Catalog::encode_entry(*id, key, out);
    }
    varint::put_u64(out, cols.len() as u64);
    for (id, bytes) in cols {
        varint::put_u32(out, *id);
        out.extend_from_slice(bytes);
    }
    varint::put_u64(out, dels.len() as u64);
    for &(id, start, end) in dels {
        varint::put_u32(out, id);
        varint::put_u64(out, varint::zigzag(start));
        varint::put_u64(out, varint::zigzag(end));
    }
}

/// Writes into `out` (cleared first) the batch of one column of existing series `id`:
/// the bytes [`assemble`] makes of that column's [`encode_column`] body, without the
/// body's own buffer.
pub(crate) fn assemble_one(id: u32, ts: &[i64], values: &[f64], out: &mut Vec<u8>) -> Density {
    out.clear();
    out.reserve(ts.len() * 11 + 24);
    out.push(VERSION);
    varint::put_u64(out, 0);
    varint::put_u64(out, 1);
    varint::put_u32(out, id);
    let density = encode_column(ts, values, &mut wal_column::Context::default(), out);
    varint::put_u64(out, 0);
    density
}

/// Decodes a batch payload (untrusted bytes: never panics, bounds every allocation).
pub(crate) fn decode(bytes: &[u8]) -> Result<Batch, DecodeError> {
    let mut batch = Batch::default();
    visit(bytes, &mut batch).map_err(|(Visit::Decode(e) | Visit::Apply(e))| e)?;
    Ok(batch)
}

impl BatchSink for Batch {
    type Error = DecodeError;

    fn def(&mut self, id: u32, metric: &str, tags: &[(&str, &str)]) -> Result<(), DecodeError> {
        let key = SeriesKey::from_canonical(metric, tags.iter().copied());
        self.defs.push((id, key));
        Ok(())
    }

    fn col(&mut self, id: u32, ts: &[i64], vals: &[f64]) -> Result<(), DecodeError> {
        self.cols.push((id, ts.to_vec(), vals.to_vec()));
        Ok(())
    }

    fn del(&mut self, id: u32, start: i64, end: i64) -> Result<(), DecodeError> {
        self.dels.push((id, start, end));
        Ok(())
    }
}

/// What [`visit`] hands the parts of a batch to, in payload order: definitions, then
/// columns, then deleted ranges.
pub(crate) trait BatchSink {
    /// Why the sink refuses a part.
    type Error;
    /// A series definition: id, metric and canonical tags, checked as
    /// [`Catalog::read_entry`] checks them.
    fn def(&mut self, id: u32, metric: &str, tags: &[(&str, &str)]) -> Result<(), Self::Error>;
    /// The points of one series.
    fn col(&mut self, id: u32, ts: &[i64], vals: &[f64]) -> Result<(), Self::Error>;
    /// A deleted range, inclusive.
    fn del(&mut self, id: u32, start: i64, end: i64) -> Result<(), Self::Error>;
}

/// Why [`visit`] stopped: the batch did not decode, or the sink refused a part.
#[derive(Debug)]
pub(crate) enum Visit<E> {
    Decode(DecodeError),
    Apply(E),
}

/// Decodes a batch payload piece by piece into `sink`, without building the batch.
/// Buffers are reused across parts, so replay allocates nothing per series. Parts
/// before a decoding error have been handed over.
pub(crate) fn visit<S: BatchSink>(bytes: &[u8], sink: &mut S) -> Result<(), Visit<S::Error>> {
    let mut r = Reader::new(bytes);
    let version = r.u8().map_err(Visit::Decode)?;
    if !(OLDEST_VERSION..=VERSION).contains(&version) {
        return Err(Visit::Decode(DecodeError("unknown WAL batch version")));
    }
    let n_defs = bounded_count(&mut r).map_err(Visit::Decode)?;
    let mut tags = Vec::new();
    for _ in 0..n_defs {
        let (id, metric) = Catalog::read_entry_parts(&mut r, &mut tags).map_err(Visit::Decode)?;
        sink.def(id, metric, &tags).map_err(Visit::Apply)?;
    }
    let n_cols = bounded_count(&mut r).map_err(Visit::Decode)?;
    let mut total = 0usize;
    let (mut ts, mut values) = (Vec::new(), Vec::new());
    let mut cx = wal_column::Context::default();
    for _ in 0..n_cols {
        let id = r.u32().map_err(Visit::Decode)?;
        let count = bounded_count(&mut r).map_err(Visit::Decode)?;
        total = total.saturating_add(count);
        if total > MAX_BATCH_POINTS {
            return Err(Visit::Decode(DecodeError(
                "WAL batch holds too many points",
            )));
        }
        wal_column::decode(&mut r, count, version, &mut cx, &mut ts, &mut values)
            .map_err(Visit::Decode)?;
        sink.col(id, &ts, &values).map_err(Visit::Apply)?;
    }
    let n_dels = bounded_count(&mut r).map_err(Visit::Decode)?;
    for _ in 0..n_dels {
        let mut range =
            || -> Result<(u32, i64, i64), DecodeError> { Ok((r.u32()?, r.i64()?, r.i64()?)) };
        let (id, start, end) = range().map_err(Visit::Decode)?;
        sink.del(id, start, end).map_err(Visit::Apply)?;
    }
    if !r.is_empty() {
        return Err(Visit::Decode(DecodeError(
            "trailing bytes after a WAL batch",
        )));
    }
    Ok(())
}

/// Reads a count and checks it against [`MAX_BATCH_POINTS`] before anything is
/// allocated for it.
fn bounded_count(r: &mut Reader<'_>) -> Result<usize, DecodeError> {
    let n = r.u64()?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n <= MAX_BATCH_POINTS)
        .ok_or(DecodeError("count out of range in WAL batch"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode_batch(b: &Batch) -> Vec<u8> {
        let mut cx = wal_column::Context::default();
        let bodies: Vec<Vec<u8>> = b
            .cols
            .iter()
            .map(|(_, ts, v)| {
                let mut out = Vec::new();
                encode_column(ts, v, &mut cx, &mut out);
                out
            })
            .collect();
        let cols: Vec<(u32, &[u8])> = b
            .cols
            .iter()
            .zip(&bodies)
            .map(|((id, _, _), body)| (*id, body.as_slice()))
            .collect();
        let defs: Vec<(u32, &SeriesKey)> = b.defs.iter().map(|(i, k)| (*i, k)).collect();
        let mut out = Vec::new();
        assemble(&defs, &cols, &b.dels, &mut out);
        out
    }

    fn batch_strategy() -> impl Strategy<Value = Batch> {
        let key = (
            "[a-z]{1,6}",
            proptest::collection::btree_map("[a-z]{1,4}", "[a-z0-9]{1,4}", 0..4),
        )
            .prop_map(|(m, t)| SeriesKey {
                metric: m,
                tags: t.into_iter().collect(),
            });
        let col = (
            any::<u32>(),
            proptest::collection::vec((any::<i64>(), any::<u64>()), 0..140),
        )
            .prop_map(|(id, pts)| {
                let ts = pts.iter().map(|p| p.0).collect();
                let v = pts.iter().map(|p| f64::from_bits(p.1)).collect();
                (id, ts, v)
            });
        (
            proptest::collection::vec((any::<u32>(), key), 0..4),
            proptest::collection::vec(col, 0..5),
            proptest::collection::vec((any::<u32>(), any::<i64>(), any::<i64>()), 0..4),
        )
            .prop_map(|(defs, cols, dels)| Batch { defs, cols, dels })
    }

    fn same_bits(a: &Batch, b: &Batch) -> bool {
        a.defs == b.defs
            && a.dels == b.dels
            && a.cols.len() == b.cols.len()
            && a.cols.iter().zip(&b.cols).all(|(x, y)| {
                x.0 == y.0
                    && x.1 == y.1
                    && x.2
                        .iter()
                        .map(|v| v.to_bits())
                        .eq(y.2.iter().map(|v| v.to_bits()))
            })
    }

    /// A batch as version 2 wrote it (the build before the compact columns): short
    /// columns plain (timestamp deltas from the previous, the first from 0, then the
    /// bits), long ones through the codecs, as version 3 still does.
    fn encode_batch_v2(b: &Batch) -> Vec<u8> {
        let mut out = vec![2u8];
        varint::put_u64(&mut out, b.defs.len() as u64);
        for (id, key) in &b.defs {
            Catalog::encode_entry(*id, key, &mut out);
        }
        varint::put_u64(&mut out, b.cols.len() as u64);
        for (id, ts, vals) in &b.cols {
            varint::put_u32(&mut out, *id);
            if ts.len() >= 64 {
                encode_column(ts, vals, &mut wal_column::Context::default(), &mut out);
                continue;
            }
            varint::put_u64(&mut out, ts.len() as u64);
            out.push(0);
            let mut prev = 0i64;
            for &t in ts {
                varint::put_u64(&mut out, varint::zigzag(t.wrapping_sub(prev)));
                prev = t;
            }
            for v in vals {
                out.extend_from_slice(&v.to_bits().to_le_bytes());
            }
        }
        varint::put_u64(&mut out, b.dels.len() as u64);
        for &(id, start, end) in &b.dels {
            varint::put_u32(&mut out, id);
            varint::put_u64(&mut out, varint::zigzag(start));
            varint::put_u64(&mut out, varint::zigzag(end));
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn version_2_batches_are_still_read(b in batch_strategy()) {
            let bytes = encode_batch_v2(&b);
            prop_assert_eq!(foreign_version(&bytes), None);
            let back = decode(&bytes).unwrap();
            prop_assert!(same_bits(&b, &back));
        }

        #[test]
        fn round_trips(b in batch_strategy()) {
            let bytes = encode_batch(&b);
            let back = decode(&bytes).unwrap();
            prop_assert!(same_bits(&b, &back));
        }

        #[test]
        fn truncation_and_flips_never_panic(
            b in batch_strategy(),
            cut in any::<prop::sample::Index>(),
            flip in any::<prop::sample::Index>(),
        ) {
            let bytes = encode_batch(&b);
            let cut = cut.index(bytes.len());
            prop_assert!(decode(&bytes[..cut]).is_err());
            let mut damaged = bytes.clone();
            let i = flip.index(damaged.len());
            damaged[i] ^= 0x5a;
            let _ = decode(&damaged);
        }

        #[test]
        fn one_column_assembles_as_assemble_does(
            id in any::<u32>(),
            points in proptest::collection::vec((any::<i64>(), any::<f64>()), 0..150),
        ) {
            let (ts, vals): (Vec<i64>, Vec<f64>) = points.into_iter().unzip();
            let b = Batch { cols: vec![(id, ts.clone(), vals.clone())], ..Batch::default() };
            let mut one = vec![7u8; 3];
            assemble_one(id, &ts, &vals, &mut one);
            prop_assert_eq!(&one, &encode_batch(&b));
            prop_assert!(same_bits(&decode(&one).unwrap(), &b));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn rejects_unknown_version_and_huge_counts() {
        // an unknown version, and version 1 (the codecs' layout before the lanes)
        assert!(decode(&[4, 0, 0, 0]).is_err());
        assert!(decode(&[1, 0, 0, 0]).is_err());
        assert_eq!(decode(&[2, 0, 0, 0]).unwrap(), Batch::default());
        assert!(decode(&[]).is_err());
        // One column claiming far more points than allowed.
        let mut b = vec![VERSION, 0, 1, 0];
        varint::put_u64(&mut b, (MAX_BATCH_POINTS + 1) as u64);
        assert!(decode(&b).is_err());
        assert_eq!(decode(&[VERSION, 0, 0, 0]).unwrap(), Batch::default());
    }

    #[test]
    fn other_versions_are_told_apart_from_damage() {
        assert_eq!(foreign_version(&[1, 0, 0, 0]), Some(1));
        assert_eq!(foreign_version(&[4]), Some(4));
        // version 2, the plain short columns before the compact ones, is read
        assert_eq!(foreign_version(&[2, 0, 0, 0]), None);
        assert_eq!(foreign_version(&[VERSION, 0, 0, 0]), None);
        // nothing to tell: left to `decode`, which calls it damage
        assert_eq!(foreign_version(&[]), None);
        let mut ours = Vec::new();
        assemble(&[], &[], &[], &mut ours);
        assert_eq!(foreign_version(&ours), None);
    }
}
