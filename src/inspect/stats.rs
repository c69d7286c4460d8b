//! What [`super::stats`] reports: counts and sizes of a time-series or key-value
//! directory.

use super::report::FileKind;

/// Statistics of a directory, by its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum DirStats {
    /// A time-series `Db` directory.
    TimeSeries(TsStats),
    /// A `kv::Store` directory.
    KeyValue(KvStats),
}

/// Bytes on disk of one kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindBytes {
    /// The kind.
    pub kind: FileKind,
    /// Files of that kind.
    pub files: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// The live WAL segments (those the manifest still needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WalSummary {
    /// Segment files.
    pub segments: u64,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Records read (one per write batch), up to any torn or damaged tail.
    pub records: u64,
    /// Points (time series) or operations (key-value) in those records: what the
    /// next open replays.
    pub items: u64,
}

/// How much of the data one codec encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecUse {
    /// The codec (timestamps: `lanes`, `deltas`, `delta-of-deltas`, `values`;
    /// values: `constant`, `xor`, `decimal`).
    pub codec: &'static str,
    /// Chunks using it.
    pub chunks: u64,
    /// Points in those chunks.
    pub points: u64,
    /// Bytes of the columns it encoded.
    pub bytes: u64,
}

/// One live segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSummary {
    /// The file's name.
    pub file: String,
    /// Its generation (recency order of sources).
    pub generation: u64,
    /// Points.
    pub points: u64,
    /// Series with points.
    pub series: u32,
    /// Chunks.
    pub chunks: u64,
    /// Tombstones (deleted ranges applying to older segments).
    pub tombstones: u64,
    /// The first and last timestamp of its points, `None` without points.
    pub time_range: Option<(i64, i64)>,
    /// Size in bytes.
    pub bytes: u64,
}

/// Statistics of a time-series directory.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TsStats {
    /// Points in the live segments (not counting the WAL's; see `wal.items`).
    pub points: u64,
    /// Series defined in the catalog.
    pub series: u64,
    /// Chunks in the live segments.
    pub chunks: u64,
    /// The live segments, oldest first (by file number).
    pub segments: Vec<SegmentSummary>,
    /// The first and last timestamp of any segment point.
    pub time_range: Option<(i64, i64)>,
    /// Bytes on disk per kind of file, every file of the directory counted.
    pub files: Vec<KindBytes>,
    /// The live WAL.
    pub wal: WalSummary,
    /// Chunks per timestamp codec, most chunks first.
    pub timestamp_codecs: Vec<CodecUse>,
    /// Chunks per value codec, most chunks first.
    pub value_codecs: Vec<CodecUse>,
}

impl TsStats {
    /// Bytes of the live segments per point they hold (`None` without points).
    pub fn bytes_per_point(&self) -> Option<f64> {
        let bytes: u64 = self.segments.iter().map(|s| s.bytes).sum();
        (self.points > 0).then(|| bytes as f64 / self.points as f64)
    }

    /// Total bytes of every file in the directory.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// One live table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    /// The file's name.
    pub file: String,
    /// Its level (0 = flushed, overlapping).
    pub level: usize,
    /// Entries (versions, tombstones included).
    pub entries: u64,
    /// Tombstones.
    pub tombstones: u64,
    /// Sequence numbers of its entries, smallest and largest.
    pub seqs: (u64, u64),
    /// Size in bytes.
    pub bytes: u64,
}

/// One level of the LSM tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelSummary {
    /// The level.
    pub level: usize,
    /// Tables in it.
    pub tables: u64,
    /// Entries in them.
    pub entries: u64,
    /// Their size in bytes.
    pub bytes: u64,
}

/// Statistics of a key-value directory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KvStats {
    /// Column families, `(id, name)`, by id.
    pub column_families: Vec<(u32, String)>,
    /// Every non-empty level, top first.
    pub levels: Vec<LevelSummary>,
    /// The live tables, by level then file number.
    pub tables: Vec<TableSummary>,
    /// Entries in the live tables (versions and tombstones included).
    pub entries: u64,
    /// Tombstones in the live tables.
    pub tombstones: u64,
    /// Every entry up to this sequence number is in a table.
    pub last_flushed_seq: u64,
    /// Bytes on disk per kind of file, every file of the directory counted.
    pub files: Vec<KindBytes>,
    /// The live WAL.
    pub wal: WalSummary,
}

impl KvStats {
    /// Total bytes of every file in the directory.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}
