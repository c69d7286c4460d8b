//! Tag postings: for every metric name and every `(tag key, tag value)` pair, the
//! RoaringBitmap of the series ids that have it, plus the bitmap of all series ids.
//!
//! The section is a fixed header, a sorted table of fixed-size term entries, a string
//! blob and a blob of bitmaps in the portable Roaring format. A lookup is a binary search
//! over the table, reading strings in place, then the decode of one bitmap: nothing is
//! decoded at open except the all-series bitmap.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use roaring::RoaringBitmap;
use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, IntoBytes};

use super::SeriesInput;
use super::format::{
    POSTINGS_HEADER_LEN, PostingsHeader, TERM_ENTRY_LEN, TERM_METRIC, TERM_TAG, TermEntry,
};
use crate::error::{Error, Result};

/// A term as looked up: kind, key, value (empty for a metric).
type Term<'a> = (u8, &'a [u8], &'a [u8]);

/// Builds the postings section of the series that have points, in the order given
/// (ids strictly ascending).
pub(crate) fn build(series: &[SeriesInput<'_>]) -> Result<Vec<u8>> {
    let mut all = RoaringBitmap::new();
    let mut terms: HashMap<Term<'_>, RoaringBitmap> = HashMap::new();
    for s in series.iter().filter(|s| !s.timestamps.is_empty()) {
        add(&mut all, s.id);
        let metric = (TERM_METRIC, s.metric.as_bytes(), &[][..]);
        add(terms.entry(metric).or_default(), s.id);
        for (k, v) in s.tags {
            let tag = (TERM_TAG, k.as_bytes(), v.as_bytes());
            add(terms.entry(tag).or_default(), s.id);
        }
    }
    let mut terms: Vec<_> = terms.into_iter().collect();
    terms.sort_unstable_by(|a, b| a.0.cmp(&b.0));

    let mut entries = Vec::with_capacity(terms.len());
    let mut strings = Vec::new();
    let mut bitmaps = Vec::new();
    for ((kind, key, value), mut bitmap) in terms {
        strings.extend_from_slice(key);
        strings.extend_from_slice(value);
        bitmap.optimize();
        bitmap.serialize_into(&mut bitmaps)?;
        let key_len = u32::try_from(key.len())
            .map_err(|_| Error::invalid("a metric name or tag key is longer than 4 GiB"))?;
        entries.push(TermEntry {
            str_end: U64::new(strings.len() as u64),
            bitmap_end: U64::new(bitmaps.len() as u64),
            key_len: U32::new(key_len),
            kind,
            reserved: [0; 3],
        });
    }
    all.optimize();
    let mut all_bytes = Vec::with_capacity(all.serialized_size());
    all.serialize_into(&mut all_bytes)?;

    let header = PostingsHeader {
        term_count: U64::new(entries.len() as u64),
        strings_len: U64::new(strings.len() as u64),
        all_len: U64::new(all_bytes.len() as u64),
        bitmaps_len: U64::new(bitmaps.len() as u64),
    };
    let mut out = Vec::with_capacity(
        POSTINGS_HEADER_LEN
            + entries.len() * TERM_ENTRY_LEN
            + strings.len()
            + all_bytes.len()
            + bitmaps.len(),
    );
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(entries.as_bytes());
    out.extend_from_slice(&strings);
    out.extend_from_slice(&all_bytes);
    out.extend_from_slice(&bitmaps);
    Ok(out)
}

/// Adds `id` to `bitmap`. An insert, not `try_push`: finding a dense container's
/// largest value (which `try_push` checks against) scans its words.
fn add(bitmap: &mut RoaringBitmap, id: u32) {
    bitmap.insert(id);
}

/// Where the parts of a validated postings section lie in the file.
#[derive(Debug, Clone)]
pub(crate) struct Postings {
    entries: Range<usize>,
    strings: Range<usize>,
    bitmaps: Range<usize>,
}

/// Reads `len` bytes at `*at` from `section`, advancing `*at`.
fn take<'a>(section: &'a [u8], at: &mut usize, len: u64) -> Option<(Range<usize>, &'a [u8])> {
    let end = at.checked_add(usize::try_from(len).ok()?)?;
    let bytes = section.get(*at..end)?;
    let range = *at..end;
    *at = end;
    Some((range, bytes))
}

impl Postings {
    /// Validates the postings section `file[section]` (its checksum already verified)
    /// and decodes the all-series bitmap.
    pub(crate) fn open(
        path: &Path,
        file: &[u8],
        section: Range<usize>,
    ) -> Result<(Postings, RoaringBitmap)> {
        let base = section.start;
        let corrupt = |at: usize, what: &str| Error::corruption(path, at as u64, what);
        let bytes = file
            .get(section)
            .ok_or_else(|| corrupt(base, "postings section out of bounds"))?;
        let (header, _) = PostingsHeader::ref_from_prefix(bytes)
            .map_err(|_| corrupt(base, "postings header truncated"))?;
        let bad_sizes = || corrupt(base, "postings section sizes do not add up");
        let mut at = POSTINGS_HEADER_LEN;
        let entries_len = header
            .term_count
            .get()
            .checked_mul(TERM_ENTRY_LEN as u64)
            .ok_or_else(bad_sizes)?;
        let (entries, entry_bytes) = take(bytes, &mut at, entries_len).ok_or_else(bad_sizes)?;
        let (strings, string_bytes) =
            take(bytes, &mut at, header.strings_len.get()).ok_or_else(bad_sizes)?;
        let (_, all_bytes) = take(bytes, &mut at, header.all_len.get()).ok_or_else(bad_sizes)?;
        let (bitmaps, _) = take(bytes, &mut at, header.bitmaps_len.get()).ok_or_else(bad_sizes)?;
        if at != bytes.len() {
            return Err(bad_sizes());
        }
        let table = <[TermEntry]>::ref_from_bytes(entry_bytes).map_err(|_| bad_sizes())?;
        validate_terms(table, string_bytes, header.bitmaps_len.get())
            .map_err(|(i, what)| corrupt(base + entries.start + i * TERM_ENTRY_LEN, what))?;
        let all = decode_bitmap(all_bytes)
            .ok_or_else(|| corrupt(base + entries.end + string_bytes.len(), "bad series bitmap"))?;
        let shift = |r: Range<usize>| r.start + base..r.end + base;
        let postings = Postings {
            entries: shift(entries),
            strings: shift(strings),
            bitmaps: shift(bitmaps),
        };
        Ok((postings, all))
    }

    /// The file byte ranges of every term's bitmap, in term order.
    pub(crate) fn bitmap_ranges(&self, file: &[u8]) -> Vec<Range<usize>> {
        let Some(table) = file
            .get(self.entries.clone())
            .and_then(|b| <[TermEntry]>::ref_from_bytes(b).ok())
        else {
            return Vec::new();
        };
        (0..table.len())
            .filter_map(|i| {
                let start = bitmap_start(table, i)?;
                let end = usize::try_from(table.get(i)?.bitmap_end.get()).ok()?;
                Some(self.bitmaps.start + start..self.bitmaps.start + end)
            })
            .collect()
    }

    /// The file byte range of the bitmap of `(kind, key, value)`, if the term exists.
    pub(crate) fn find(
        &self,
        file: &[u8],
        kind: u8,
        key: &str,
        value: &str,
    ) -> Option<Range<usize>> {
        let table = <[TermEntry]>::ref_from_bytes(file.get(self.entries.clone())?).ok()?;
        let strings = file.get(self.strings.clone())?;
        let want = (kind, key.as_bytes(), value.as_bytes());
        let (mut lo, mut hi) = (0, table.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match term(table, strings, mid)?.cmp(&want) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => {
                    let start = bitmap_start(table, mid)?;
                    let end = usize::try_from(table.get(mid)?.bitmap_end.get()).ok()?;
                    return Some(self.bitmaps.start + start..self.bitmaps.start + end);
                }
            }
        }
        None
    }
}

/// The start of entry `i`'s strings: the previous entry's end.
fn string_start(table: &[TermEntry], i: usize) -> u64 {
    i.checked_sub(1)
        .and_then(|p| table.get(p))
        .map_or(0, |e| e.str_end.get())
}

/// The start of entry `i`'s bitmap: the previous entry's end.
fn bitmap_start(table: &[TermEntry], i: usize) -> Option<usize> {
    let end = i
        .checked_sub(1)
        .and_then(|p| table.get(p))
        .map_or(0, |e| e.bitmap_end.get());
    usize::try_from(end).ok()
}

/// Entry `i`'s term. `None` only for a table that failed validation.
fn term<'a>(table: &[TermEntry], strings: &'a [u8], i: usize) -> Option<Term<'a>> {
    let e = table.get(i)?;
    let start = usize::try_from(string_start(table, i)).ok()?;
    let end = usize::try_from(e.str_end.get()).ok()?;
    let bytes = strings.get(start..end)?;
    let key_len = usize::try_from(e.key_len.get()).ok()?;
    let (key, value) = (bytes.get(..key_len)?, bytes.get(key_len..)?);
    Some((e.kind, key, value))
}

/// Checks the term table: ends in bounds and ascending, every bitmap non-empty, kinds
/// known, metric terms without a value, terms strictly ascending. Returns the failing
/// entry's index.
fn validate_terms(
    table: &[TermEntry],
    strings: &[u8],
    bitmaps_len: u64,
) -> Result<(), (usize, &'static str)> {
    let mut prev: Option<Term<'_>> = None;
    let mut str_end = 0u64;
    let mut bitmap_end = 0u64;
    for (i, e) in table.iter().enumerate() {
        if e.str_end.get() < str_end || e.str_end.get() > strings.len() as u64 {
            return Err((i, "term string out of bounds"));
        }
        if e.bitmap_end.get() <= bitmap_end || e.bitmap_end.get() > bitmaps_len {
            return Err((i, "term bitmap out of bounds"));
        }
        if u64::from(e.key_len.get()) > e.str_end.get() - str_end {
            return Err((i, "term key longer than the term"));
        }
        if e.reserved != [0; 3] || (e.kind != TERM_METRIC && e.kind != TERM_TAG) {
            return Err((i, "unknown term kind"));
        }
        if e.kind == TERM_METRIC && u64::from(e.key_len.get()) != e.str_end.get() - str_end {
            return Err((i, "metric term with a value"));
        }
        let t = term(table, strings, i).ok_or((i, "term out of bounds"))?;
        if prev.is_some_and(|p| p >= t) {
            return Err((i, "terms out of order"));
        }
        prev = Some(t);
        str_end = e.str_end.get();
        bitmap_end = e.bitmap_end.get();
    }
    if str_end != strings.len() as u64 || bitmap_end != bitmaps_len {
        return Err((table.len(), "term blobs have unused bytes"));
    }
    Ok(())
}

/// Decodes a portable-format Roaring bitmap that must fill `bytes` exactly.
pub(crate) fn decode_bitmap(mut bytes: &[u8]) -> Option<RoaringBitmap> {
    let bitmap = RoaringBitmap::deserialize_from(&mut bytes).ok()?;
    bytes.is_empty().then_some(bitmap)
}
