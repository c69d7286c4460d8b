//! `stats`, `dump` and `verify`: the library's read-only inspection
//! (`tidestore::inspect`) of a directory of either kind, printed as tables, CSV or
//! JSON (`verify`: one line per problem).
//!
//! `stats` and `dump` print several sections (a summary, then lists). As a table or
//! CSV each section is printed in turn (tables under their title, CSV blocks separated
//! by an empty line); as JSON they form one object keyed by section.

use std::io::Write;

use serde_json::{Map, Value};
use tidestore::inspect::{self, DirStats, FileDump, KvStats, TsStats, WalSummary};
use tidestore::kv::sstable::StoredBlock;
use tidestore::ts::segment::SegmentLayout;

use crate::args::{DumpArgs, StatsArgs, VerifyArgs};
use crate::bytes::push_text;
use crate::error::{CliError, CliResult};
use crate::open::require_database;
use crate::output::{Cell, Format, records_json, write_records};

/// A titled list of records.
struct Section {
    title: &'static str,
    header: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

impl Section {
    fn new(title: &'static str, header: &[&'static str]) -> Self {
        Section {
            title,
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    /// A two-column `name, value` section.
    fn summary(rows: Vec<(&str, Cell)>) -> Self {
        let mut s = Section::new("summary", &["name", "value"]);
        s.rows = rows
            .into_iter()
            .map(|(n, v)| vec![Cell::Text(n.to_owned()), v])
            .collect();
        s
    }
}

/// Writes `sections` in `format` (see the module docs).
fn write_sections(out: &mut impl Write, format: Format, sections: &[Section]) -> CliResult {
    if format == Format::Json {
        let object: Map<String, Value> = sections
            .iter()
            .map(|s| (s.title.to_owned(), records_json(&s.header, &s.rows)))
            .collect();
        serde_json::to_writer_pretty(&mut *out, &Value::Object(object))?;
        writeln!(out)?;
        return Ok(out.flush()?);
    }
    for (i, s) in sections.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        if format == Format::Table {
            writeln!(out, "{}:", s.title)?;
        }
        write_records(out, format, &s.header, &s.rows)?;
    }
    Ok(())
}

fn count(n: impl TryInto<u64>) -> Cell {
    Cell::Count(n.try_into().unwrap_or(u64::MAX))
}

fn opt_int(v: Option<i64>) -> Cell {
    v.map_or_else(|| Cell::Text(String::new()), Cell::Int)
}

/// A key of the key-value store's keyspace: `family id:key`, the key escaped when it
/// is not plain text.
fn show_key(key: &[u8]) -> String {
    let mut s = String::new();
    match key.split_first_chunk::<4>() {
        Some((cf, rest)) => {
            s.push_str(&format!("{}:", u32::from_be_bytes(*cf)));
            push_text(&mut s, rest);
        }
        None => push_text(&mut s, key),
    }
    s
}

fn wal_rows(rows: &mut Vec<(&str, Cell)>, wal: &WalSummary, items: &'static str) {
    rows.push(("wal segments", count(wal.segments)));
    rows.push(("wal bytes", count(wal.bytes)));
    rows.push(("wal records", count(wal.records)));
    rows.push((items, count(wal.items)));
}

fn files_section(files: &[inspect::KindBytes]) -> Section {
    let mut s = Section::new("files", &["kind", "files", "bytes"]);
    for f in files {
        s.rows.push(vec![
            Cell::Text(f.kind.name().to_owned()),
            count(f.files),
            count(f.bytes),
        ]);
    }
    s
}

fn ts_sections(s: &TsStats) -> Vec<Section> {
    let mut summary = vec![
        ("kind", Cell::Text("time-series".into())),
        ("points", count(s.points)),
        ("series", count(s.series)),
        ("segments", count(s.segments.len())),
        ("chunks", count(s.chunks)),
        ("first timestamp", opt_int(s.time_range.map(|r| r.0))),
        ("last timestamp", opt_int(s.time_range.map(|r| r.1))),
        ("bytes", count(s.total_bytes())),
        (
            "segment bytes per point",
            s.bytes_per_point()
                .map_or_else(|| Cell::Text(String::new()), Cell::Float),
        ),
    ];
    wal_rows(&mut summary, &s.wal, "wal points");
    let mut segments = Section::new(
        "segments",
        &[
            "file",
            "generation",
            "points",
            "series",
            "chunks",
            "tombstones",
            "first timestamp",
            "last timestamp",
            "bytes",
        ],
    );
    for g in &s.segments {
        segments.rows.push(vec![
            Cell::Text(g.file.clone()),
            count(g.generation),
            count(g.points),
            count(g.series),
            count(g.chunks),
            count(g.tombstones),
            opt_int(g.time_range.map(|r| r.0)),
            opt_int(g.time_range.map(|r| r.1)),
            count(g.bytes),
        ]);
    }
    let mut codecs = Section::new("codecs", &["column", "codec", "chunks", "points", "bytes"]);
    for (column, list) in [
        ("timestamps", &s.timestamp_codecs),
        ("values", &s.value_codecs),
    ] {
        for c in list {
            codecs.rows.push(vec![
                Cell::Text(column.to_owned()),
                Cell::Text(c.codec.to_owned()),
                count(c.chunks),
                count(c.points),
                count(c.bytes),
            ]);
        }
    }
    vec![
        Section::summary(summary),
        segments,
        codecs,
        files_section(&s.files),
    ]
}

fn kv_sections(s: &KvStats) -> Vec<Section> {
    let mut summary = vec![
        ("kind", Cell::Text("key-value".into())),
        ("column families", count(s.column_families.len())),
        ("tables", count(s.tables.len())),
        ("entries", count(s.entries)),
        ("tombstones", count(s.tombstones)),
        ("last flushed sequence", count(s.last_flushed_seq)),
        ("bytes", count(s.total_bytes())),
    ];
    wal_rows(&mut summary, &s.wal, "wal operations");
    let mut cfs = Section::new("column families", &["id", "name"]);
    for (id, name) in &s.column_families {
        cfs.rows.push(vec![count(*id), Cell::Text(name.clone())]);
    }
    let mut levels = Section::new("levels", &["level", "tables", "entries", "bytes"]);
    for l in &s.levels {
        levels.rows.push(vec![
            count(l.level),
            count(l.tables),
            count(l.entries),
            count(l.bytes),
        ]);
    }
    let mut tables = Section::new(
        "tables",
        &[
            "file",
            "level",
            "entries",
            "tombstones",
            "min seq",
            "max seq",
            "bytes",
        ],
    );
    for t in &s.tables {
        tables.rows.push(vec![
            Cell::Text(t.file.clone()),
            count(t.level),
            count(t.entries),
            count(t.tombstones),
            count(t.seqs.0),
            count(t.seqs.1),
            count(t.bytes),
        ]);
    }
    vec![
        Section::summary(summary),
        cfs,
        levels,
        tables,
        files_section(&s.files),
    ]
}

/// `stats`.
pub fn stats(a: &StatsArgs, out: &mut impl Write) -> CliResult {
    require_database(&a.db.dir)?;
    let sections = match inspect::stats(&a.db.dir)? {
        DirStats::TimeSeries(s) => ts_sections(&s),
        DirStats::KeyValue(s) => kv_sections(&s),
    };
    write_sections(out, a.format, &sections)
}

fn segment_sections(
    file: &str,
    layout: &SegmentLayout,
    keys: &std::collections::BTreeMap<u32, tidestore::SeriesKey>,
    tombstones: &[tidestore::ts::segment::Tombstone],
) -> Vec<Section> {
    let info = &layout.info;
    let has_points = info.points > 0;
    let summary = Section::summary(vec![
        ("file", Cell::Text(file.to_owned())),
        ("kind", Cell::Text("segment".into())),
        ("format version", count(layout.version)),
        ("bytes", count(info.file_size)),
        ("points", count(info.points)),
        ("series", count(info.series)),
        ("chunks", count(info.chunks)),
        ("chunk points", count(info.chunk_points)),
        ("tombstones", count(info.tombstones)),
        ("terms", count(layout.terms)),
        (
            "first timestamp",
            opt_int(has_points.then_some(info.min_ts)),
        ),
        ("last timestamp", opt_int(has_points.then_some(info.max_ts))),
    ]);
    let mut sections = Section::new("sections", &["section", "offset", "bytes"]);
    for s in &layout.sections {
        sections.rows.push(vec![
            Cell::Text(s.name.to_owned()),
            count(s.offset),
            count(s.len),
        ]);
    }
    let mut chunks = Section::new(
        "chunks",
        &[
            "chunk",
            "series id",
            "series",
            "points",
            "first timestamp",
            "last timestamp",
            "min",
            "max",
            "sum",
            "offset",
            "bytes",
            "timestamp codec",
            "timestamp bytes",
            "value codec",
            "value bytes",
        ],
    );
    for c in &layout.chunks {
        let m = &c.meta;
        let key = keys
            .get(&m.series_id())
            .map_or_else(String::new, |k| k.to_string());
        let (tc, tb, vc, vb) = match c.codecs {
            Some(k) => (
                Cell::Text(k.timestamps.name().to_owned()),
                count(k.timestamp_bytes),
                Cell::Text(k.values.name().to_owned()),
                count(k.value_bytes),
            ),
            None => {
                let bad = || Cell::Text("undecodable".into());
                (
                    bad(),
                    Cell::Text(String::new()),
                    bad(),
                    Cell::Text(String::new()),
                )
            }
        };
        chunks.rows.push(vec![
            count(c.index),
            count(m.series_id()),
            Cell::Text(key),
            count(m.count()),
            Cell::Int(m.min_ts()),
            Cell::Int(m.max_ts()),
            Cell::Float(m.min_value()),
            Cell::Float(m.max_value()),
            Cell::Float(m.sum()),
            count(c.offset),
            count(m.data_len()),
            tc,
            tb,
            vc,
            vb,
        ]);
    }
    let mut tomb = Section::new("tombstones", &["series id", "series", "start", "end"]);
    for t in tombstones {
        let key = keys
            .get(&t.series_id)
            .map_or_else(String::new, |k| k.to_string());
        tomb.rows.push(vec![
            count(t.series_id),
            Cell::Text(key),
            Cell::Int(t.start),
            Cell::Int(t.end),
        ]);
    }
    vec![summary, sections, chunks, tomb]
}

fn stored_row(name: &str, b: &StoredBlock) -> Vec<Cell> {
    vec![
        Cell::Text(name.to_owned()),
        count(b.offset),
        count(b.stored_size),
        Cell::Text(if b.compressed { "snappy" } else { "raw" }.into()),
    ]
}

fn table_sections(file: &str, layout: &tidestore::kv::sstable::TableLayout) -> Vec<Section> {
    let info = &layout.info;
    let summary = Section::summary(vec![
        ("file", Cell::Text(file.to_owned())),
        ("kind", Cell::Text("sstable".into())),
        ("bytes", count(info.file_size)),
        ("entries", count(info.entries)),
        ("tombstones", count(info.tombstones)),
        ("data blocks", count(layout.data_blocks.len())),
        ("smallest key", Cell::Text(show_key(&info.smallest))),
        ("largest key", Cell::Text(show_key(&info.largest))),
        ("min seq", count(info.min_seq)),
        ("max seq", count(info.max_seq)),
        ("bloom bits", count(layout.bloom_bits)),
        ("bloom probes", count(layout.bloom_probes)),
    ]);
    let mut meta = Section::new(
        "blocks",
        &["block", "offset", "stored bytes", "compression"],
    );
    meta.rows.push(stored_row("filter", &layout.filter));
    meta.rows.push(stored_row("key range", &layout.key_range));
    meta.rows.push(stored_row("index", &layout.index));
    meta.rows.push(vec![
        Cell::Text("footer".into()),
        count(layout.footer_offset),
        count(96u64),
        Cell::Text("raw".into()),
    ]);
    let mut data = Section::new(
        "data blocks",
        &[
            "block",
            "offset",
            "stored bytes",
            "compression",
            "bytes",
            "restarts",
            "entries",
            "tombstones",
            "key bytes",
            "value bytes",
            "first key",
            "last key",
        ],
    );
    for (i, b) in layout.data_blocks.iter().enumerate() {
        let mut row = stored_row(&i.to_string(), &b.stored);
        row.extend([
            count(b.size),
            count(b.restarts),
            count(b.entries),
            count(b.tombstones),
            count(b.key_bytes),
            count(b.value_bytes),
            Cell::Text(show_key(&b.first_key)),
            Cell::Text(show_key(&b.last_key)),
        ]);
        data.rows.push(row);
    }
    vec![summary, meta, data]
}

/// `dump`.
pub fn dump(a: &DumpArgs, out: &mut impl Write) -> CliResult {
    require_database(&a.db.dir)?;
    let sections = match inspect::dump(&a.db.dir, &a.file)? {
        FileDump::Segment {
            file,
            layout,
            series,
            tombstones,
        } => segment_sections(&file.display().to_string(), &layout, &series, &tombstones),
        FileDump::Table { file, layout } => table_sections(&file.display().to_string(), &layout),
    };
    write_sections(out, a.format, &sections)
}

/// `verify`: one line per problem on stdout, then a summary; exit status 3 when any
/// problem is damage.
pub fn verify(a: &VerifyArgs, out: &mut impl Write) -> CliResult {
    require_database(&a.db.dir)?;
    let dir = a.db.dir.display();
    let report = inspect::verify(&a.db.dir)?;
    if report.open_elsewhere {
        let _ = writeln!(
            std::io::stderr(),
            "tidestore: note: {dir} is open in another handle: a running writer may \
             replace files while they are read (close it and run verify again to be sure)"
        );
    }
    for p in &report.problems {
        writeln!(out, "{p}")?;
    }
    let damaged: std::collections::BTreeSet<_> = report.damage().map(|p| &p.file).collect();
    let warnings = report.warnings().count();
    writeln!(
        out,
        "{dir}: {} database, {} files ({} bytes) read: {}{}",
        report.kind.name(),
        report.files.len(),
        report.bytes(),
        if damaged.is_empty() {
            "intact".to_owned()
        } else {
            format!("DAMAGED ({} files)", damaged.len())
        },
        if warnings > 0 {
            format!(", {warnings} warnings")
        } else {
            String::new()
        }
    )?;
    out.flush()?;
    match report.damage().next() {
        None => Ok(()),
        Some(first) => Err(CliError::Damage(format!(
            "{dir} is damaged: {} problems in {} files; first: {first}",
            report.damage().count(),
            damaged.len()
        ))),
    }
}
