//! The set of live segments (a [`Version`]) and the manifest edits that change it.
//!
//! The manifest (see `crate::io::manifest`) is a log of opaque edits; this module
//! gives them their time-series meaning. An edit is a list of tagged fields:
//!
//! ```text
//! edit  := version:u8 (= 2; 1 is read too: it has no field 6)  field*
//! field := 1 next_file:varint              the file-number counter (never goes back)
//!        | 2 log_number:varint             WAL segments below this are flushed
//!        | 3 catalog_file:varint           the live CATALOG-<n> file
//!        | 4 file:varint generation:varint min_ts:zz max_ts:zz ext_min:zz ext_max:zz
//!            points:varint series:varint file_size:varint       add a segment
//!        | 5 file:varint                   remove a segment
//!        | 6 max_ts:zz                     the newest timestamp ever written (a
//!                                          high-water mark: replay keeps the largest)
//! ```
//! (`zz` = zigzag varint.) A manifest snapshot is one edit holding the whole state.
//!
//! A segment's *generation* orders sources by recency: a flush gives its segment a new,
//! larger generation; a compaction gives its outputs the largest generation of its
//! inputs (see `compaction.rs` for why that is safe). `[min_ts, max_ts]` bounds the
//! segment's points (empty when `points == 0`: then `min_ts > max_ts`); the *extent*
//! `[ext_min, ext_max]` bounds its points and its tombstones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::codec::DecodeError;
use crate::codec::varint::{self, Reader};
use crate::io::file_number::SEGMENT;
use crate::io::fs::FileSystem;
use crate::ts::segment::Segment;

/// The edit format version written. Version 1 (no field 6) is still read.
pub(crate) const EDIT_VERSION: u8 = 2;
const TAG_MAX_TS: u8 = 6;
const TAG_NEXT_FILE: u8 = 1;
const TAG_LOG_NUMBER: u8 = 2;
const TAG_CATALOG_FILE: u8 = 3;
const TAG_ADD: u8 = 4;
const TAG_REMOVE: u8 = 5;

/// What the manifest records about one live segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentMeta {
    pub file_number: u64,
    pub generation: u64,
    pub min_ts: i64,
    pub max_ts: i64,
    pub ext_min: i64,
    pub ext_max: i64,
    pub points: u64,
    pub series: u32,
    pub file_size: u64,
}

impl SegmentMeta {
    /// True when the segment's points or tombstones may touch `[start, end]`.
    pub fn extent_overlaps(&self, start: i64, end: i64) -> bool {
        self.ext_min <= end && start <= self.ext_max
    }
}

/// One manifest edit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Edit {
    pub next_file: Option<u64>,
    pub log_number: Option<u64>,
    pub catalog_file: Option<u64>,
    pub added: Vec<SegmentMeta>,
    pub removed: Vec<u64>,
    /// The newest timestamp written by the writes this edit makes durable (a
    /// retention high-water mark, see [`ManifestState::max_ts`]).
    pub max_ts: Option<i64>,
}

impl Edit {
    /// The payload appended to the manifest.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![EDIT_VERSION];
        let put = |tag: u8, v: u64, out: &mut Vec<u8>| {
            out.push(tag);
            varint::put_u64(out, v);
        };
        if let Some(n) = self.next_file {
            put(TAG_NEXT_FILE, n, &mut out);
        }
        if let Some(n) = self.log_number {
            put(TAG_LOG_NUMBER, n, &mut out);
        }
        if let Some(n) = self.catalog_file {
            put(TAG_CATALOG_FILE, n, &mut out);
        }
        for m in &self.added {
            put(TAG_ADD, m.file_number, &mut out);
            varint::put_u64(&mut out, m.generation);
            for t in [m.min_ts, m.max_ts, m.ext_min, m.ext_max] {
                varint::put_u64(&mut out, varint::zigzag(t));
            }
            varint::put_u64(&mut out, m.points);
            varint::put_u32(&mut out, m.series);
            varint::put_u64(&mut out, m.file_size);
        }
        for &n in &self.removed {
            put(TAG_REMOVE, n, &mut out);
        }
        if let Some(t) = self.max_ts {
            put(TAG_MAX_TS, varint::zigzag(t), &mut out);
        }
        out
    }

    /// Parses an edit (untrusted bytes).
    pub fn decode(bytes: &[u8]) -> Result<Edit, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version == 0 || version > EDIT_VERSION {
            return Err(DecodeError("unknown manifest edit version"));
        }
        let mut e = Edit::default();
        while !r.is_empty() {
            match r.u8()? {
                TAG_NEXT_FILE => e.next_file = Some(r.u64()?),
                TAG_LOG_NUMBER => e.log_number = Some(r.u64()?),
                TAG_CATALOG_FILE => e.catalog_file = Some(r.u64()?),
                TAG_ADD => {
                    let m = SegmentMeta {
                        file_number: r.u64()?,
                        generation: r.u64()?,
                        min_ts: r.i64()?,
                        max_ts: r.i64()?,
                        ext_min: r.i64()?,
                        ext_max: r.i64()?,
                        points: r.u64()?,
                        series: r.u32()?,
                        file_size: r.u64()?,
                    };
                    e.added.push(m);
                }
                TAG_REMOVE => e.removed.push(r.u64()?),
                TAG_MAX_TS if version >= 2 => {
                    let t = r.i64()?;
                    e.max_ts = Some(e.max_ts.map_or(t, |m| m.max(t)));
                }
                _ => return Err(DecodeError("unknown manifest edit field")),
            }
        }
        Ok(e)
    }
}

/// The state the manifest describes: what replaying every edit yields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ManifestState {
    pub next_file: u64,
    pub log_number: u64,
    pub catalog_file: Option<u64>,
    pub segments: BTreeMap<u64, SegmentMeta>,
    /// The newest timestamp ever written, as far as the durable state knows: points
    /// deleted since (or dropped by compaction) still count, so retention, which is
    /// relative to it, never moves backwards across a reopen. `None` until an edit
    /// records one (and in manifests written before edit version 2).
    pub max_ts: Option<i64>,
}

impl ManifestState {
    /// Applies one edit. A removal of an unknown segment or a second add of a live one
    /// means the log is inconsistent.
    pub fn apply(&mut self, e: &Edit) -> Result<(), DecodeError> {
        if let Some(n) = e.next_file {
            self.next_file = self.next_file.max(n);
        }
        if let Some(n) = e.log_number {
            self.log_number = self.log_number.max(n);
        }
        if let Some(n) = e.catalog_file {
            self.catalog_file = Some(n);
        }
        if let Some(t) = e.max_ts {
            self.max_ts = Some(self.max_ts.map_or(t, |m| m.max(t)));
        }
        for n in &e.removed {
            if self.segments.remove(n).is_none() {
                return Err(DecodeError("manifest removes a segment that is not live"));
            }
        }
        for m in &e.added {
            if self.segments.insert(m.file_number, *m).is_some() {
                return Err(DecodeError("manifest adds a segment twice"));
            }
        }
        Ok(())
    }

    /// One edit that rebuilds this whole state (the manifest's snapshot record).
    pub fn snapshot(&self) -> Edit {
        Edit {
            next_file: Some(self.next_file),
            log_number: Some(self.log_number),
            catalog_file: self.catalog_file,
            added: self.segments.values().copied().collect(),
            removed: Vec::new(),
            max_ts: self.max_ts,
        }
    }
}

/// A live, opened segment. When the last reference to a segment that compaction made
/// obsolete goes away, its file is removed: a reader that still holds an old
/// [`Version`] keeps reading a valid mapping until it is done.
pub(crate) struct SegmentFile {
    pub meta: SegmentMeta,
    pub seg: Arc<Segment>,
    path: PathBuf,
    fs: Arc<dyn FileSystem>,
    obsolete: AtomicBool,
}

impl SegmentFile {
    /// Opens segment `meta.file_number` in `dir`. A missing file is
    /// [`crate::Error::Corruption`]: the manifest lists it, so the directory lost it.
    pub fn open(fs: &Arc<dyn FileSystem>, dir: &Path, meta: SegmentMeta) -> crate::Result<Self> {
        let path = dir.join(SEGMENT.name(meta.file_number));
        if !fs.exists(&path) {
            return Err(crate::Error::corruption(
                &path,
                0,
                "segment file listed in the MANIFEST is missing",
            ));
        }
        let seg = Segment::open(fs.as_ref(), &path)?;
        Ok(SegmentFile {
            meta,
            seg,
            path,
            fs: Arc::clone(fs),
            obsolete: AtomicBool::new(false),
        })
    }

    /// Marks the file for removal once no reader holds it.
    pub fn mark_obsolete(&self) {
        self.obsolete.store(true, Ordering::Release);
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::fmt::Debug for SegmentFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentFile")
            .field("path", &self.path)
            .field("meta", &self.meta)
            .finish()
    }
}

impl Drop for SegmentFile {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::Acquire) {
            // A failure leaves an orphan that the next open removes.
            let _ = self.fs.remove_file(&self.path);
        }
    }
}

/// The live segments, newest first (generation descending, then file number
/// descending). Immutable: a change builds a new `Version`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Version {
    pub segments: Vec<Arc<SegmentFile>>,
    /// The newest point of each series in these segments, filled as `Db::last` asks.
    pub latest: Arc<crate::ts::analytics::LatestCache>,
}

impl Version {
    /// Builds a version from segments in any order.
    pub fn new(mut segments: Vec<Arc<SegmentFile>>) -> Self {
        segments.sort_by(|a, b| {
            (b.meta.generation, b.meta.file_number).cmp(&(a.meta.generation, a.meta.file_number))
        });
        Version {
            segments,
            latest: Arc::default(),
        }
    }

    /// This version with `added` segments and without the files numbered in `removed`.
    pub fn apply(&self, added: Vec<Arc<SegmentFile>>, removed: &[u64]) -> Self {
        let mut segs: Vec<Arc<SegmentFile>> = self
            .segments
            .iter()
            .filter(|s| !removed.contains(&s.meta.file_number))
            .cloned()
            .collect();
        // Adding without removing is a flush: its segment brings new points and
        // tombstones. Removing rewrites what the removed segments held (compaction) or
        // drops expired data (retention): no series' newest visible point changes.
        let fresh = if removed.is_empty() {
            added.as_slice()
        } else {
            &[]
        };
        let latest = self.latest.carried_over(fresh.iter().map(|f| &*f.seg));
        segs.extend(added);
        Version {
            latest: Arc::new(latest),
            ..Version::new(segs)
        }
    }

    /// Total bytes and points of the live segments.
    pub fn totals(&self) -> (u64, u64) {
        self.segments.iter().fold((0, 0), |(b, p), s| {
            (b + s.meta.file_size, p + s.meta.points)
        })
    }

    /// The newest timestamp of any segment point.
    pub fn max_ts(&self) -> Option<i64> {
        self.segments
            .iter()
            .filter(|s| s.meta.points > 0)
            .map(|s| s.meta.max_ts)
            .max()
    }
}

/// `floor(ts / width)`: the compaction partition of `ts`.
pub(crate) fn partition_of(ts: i64, width: i64) -> i64 {
    ts.div_euclid(width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn meta(n: u64) -> SegmentMeta {
        SegmentMeta {
            file_number: n,
            generation: n * 3,
            min_ts: -5,
            max_ts: i64::MAX,
            ext_min: i64::MIN,
            ext_max: i64::MAX,
            points: 7,
            series: 2,
            file_size: 4096,
        }
    }

    #[test]
    fn edits_round_trip_and_apply() {
        let e = Edit {
            next_file: Some(9),
            log_number: Some(4),
            catalog_file: Some(3),
            added: vec![meta(5), meta(6)],
            removed: vec![],
            max_ts: Some(-3),
        };
        assert_eq!(Edit::decode(&e.encode()).unwrap(), e);
        let mut s = ManifestState::default();
        s.apply(&e).unwrap();
        assert_eq!(s.segments.len(), 2);
        let rm = Edit {
            removed: vec![5],
            added: vec![meta(7)],
            ..Edit::default()
        };
        s.apply(&Edit::decode(&rm.encode()).unwrap()).unwrap();
        assert_eq!(s.segments.keys().copied().collect::<Vec<_>>(), vec![6, 7]);
        assert!(s.apply(&rm).is_err(), "removing twice is inconsistent");
        let mut again = ManifestState::default();
        again.apply(&s.snapshot()).unwrap();
        assert_eq!(again, s);
        assert_eq!(
            Edit::decode(&Edit::default().encode()).unwrap(),
            Edit::default()
        );
    }

    #[test]
    fn the_max_ts_high_water_mark_only_grows() {
        let mut s = ManifestState::default();
        for t in [5, i64::MIN, 9, -1] {
            let e = Edit {
                max_ts: Some(t),
                ..Edit::default()
            };
            s.apply(&Edit::decode(&e.encode()).unwrap()).unwrap();
        }
        assert_eq!(s.max_ts, Some(9));
        assert_eq!(s.snapshot().max_ts, Some(9));
        // Bytes: version 2, tag 6, zigzag(-2) = 3.
        let e = Edit {
            max_ts: Some(-2),
            ..Edit::default()
        };
        assert_eq!(e.encode(), [2, 6, 3]);
    }

    #[test]
    fn version_1_edits_are_read_and_field_6_needs_version_2() {
        // next_file 7, log number 3, in a version 1 edit.
        assert_eq!(
            Edit::decode(&[1, 1, 7, 2, 3]).unwrap(),
            Edit {
                next_file: Some(7),
                log_number: Some(3),
                ..Edit::default()
            }
        );
        assert!(Edit::decode(&[1, 6, 3]).is_err());
        assert!(Edit::decode(&[0]).is_err());
        assert!(Edit::decode(&[3]).is_err());
    }

    #[test]
    fn partitions_floor_negative_timestamps() {
        assert_eq!(partition_of(0, 10), 0);
        assert_eq!(partition_of(9, 10), 0);
        assert_eq!(partition_of(-1, 10), -1);
        assert_eq!(partition_of(i64::MIN, 10), i64::MIN / 10 - 1);
        assert_eq!(partition_of(i64::MAX, 1), i64::MAX);
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Edit::decode(&bytes);
        }
    }
}
