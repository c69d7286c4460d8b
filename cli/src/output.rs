//! Output formats: `--format table|csv|json`.
//!
//! Two shapes:
//! - **records** ([`write_records`]): a header and rows of cells, for lists such as
//!   series keys or cardinalities. JSON is an array of objects keyed by the header.
//! - **runs of points** ([`PointWriter`]): labelled runs of (timestamp, value), which
//!   is what raw points (one run per series, maybe in several pieces) and groups of an
//!   aggregation (one run per group) both are. Table and CSV print one row per point
//!   (`series`, `time`, `value`); JSON prints one object per run:
//!   `{"series": "cpu{host=a}", "metric": "cpu", "tags": {"host": "a"},
//!   "points": [[t, v], ...]}`. CSV and JSON stream; the table is built in memory (use
//!   CSV for large outputs).
//!
//! Timestamps are integers, or RFC 3339 strings when the unit is known. Values print
//! in the shortest form that reads back to the same `f64` (`NaN`, `inf` and `-inf` in
//! text; `null` in JSON, which has no such numbers).

use std::io::Write;

use clap::ValueEnum;
use comfy_table::{Cell as TableCell, CellAlignment, ContentArrangement, Table, presets};
use serde_json::{Map, Value, json};

use crate::error::{CliError, CliResult};
use crate::time::{Unit, format_time};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// An aligned table for people.
    #[default]
    Table,
    /// Comma-separated values with a header row.
    Csv,
    /// JSON.
    Json,
}

/// One cell of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A count.
    Count(u64),
    /// A signed integer (a timestamp in the database's own unit).
    Int(i64),
    /// A measurement (printed like values).
    Float(f64),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Count(v) => v.to_string(),
            Cell::Int(v) => v.to_string(),
            Cell::Float(v) => format_value(*v),
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Count(v) => json!(v),
            Cell::Int(v) => json!(v),
            Cell::Float(v) => json!(v),
        }
    }

    fn is_numeric(&self) -> bool {
        !matches!(self, Cell::Text(_))
    }
}

/// A value as text: the shortest decimal that reads back to the same `f64`, without
/// an exponent for ordinary magnitudes.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else if v == 0.0 || (1e-6..1e16).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

fn time_json(t: i64, unit: Option<Unit>) -> Value {
    match unit {
        Some(_) => Value::String(format_time(t, unit)),
        None => json!(t),
    }
}

fn new_table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    table
}

/// Writes `rows` under `header` in `format`.
pub fn write_records(
    out: &mut impl Write,
    format: Format,
    header: &[&str],
    rows: &[Vec<Cell>],
) -> CliResult {
    match format {
        Format::Table => {
            let mut table = new_table(header);
            for row in rows {
                table.add_row(row.iter().map(|c| {
                    let cell = TableCell::new(c.text());
                    if c.is_numeric() {
                        cell.set_alignment(CellAlignment::Right)
                    } else {
                        cell
                    }
                }));
            }
            writeln!(out, "{table}")?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(header)?;
            for row in rows {
                w.write_record(row.iter().map(|c| c.text()))?;
            }
            w.flush()?;
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &records_json(header, rows))?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `rows` under `header` as a JSON array of objects keyed by the header.
pub fn records_json(header: &[&str], rows: &[Vec<Cell>]) -> Value {
    let array: Vec<Value> = rows
        .iter()
        .map(|row| {
            let object: Map<String, Value> = header
                .iter()
                .zip(row)
                .map(|(h, c)| ((*h).to_owned(), c.json()))
                .collect();
            Value::Object(object)
        })
        .collect();
    Value::Array(array)
}

/// What a run of points belongs to: a series, or a group of an aggregation.
#[derive(Debug, Clone, PartialEq)]
pub struct RunLabel {
    /// How it prints (`cpu{host=a}`, or `{host=a}` for a group).
    pub display: String,
    /// The metric, when the run is one series' (or one metric's).
    pub metric: Option<String>,
    /// The tags of the series, or the group-by tags of the group.
    pub tags: Vec<(String, String)>,
}

impl RunLabel {
    /// The label of series `key`.
    pub fn of_series(key: &tidestore::SeriesKey) -> RunLabel {
        RunLabel {
            display: key.to_string(),
            metric: Some(key.metric().to_owned()),
            tags: key.tags().to_vec(),
        }
    }

    /// The label of a group of `metric` with `tags` (a series' tags, or the values of
    /// the group-by keys), printed like a series key.
    pub fn of_group(metric: &str, tags: Vec<(String, String)>) -> RunLabel {
        // Printed as the engine prints a series key, but in the group's tag order.
        let mut display = escaped(metric);
        if !tags.is_empty() {
            let pairs: Vec<String> = tags
                .iter()
                .map(|(k, v)| format!("{}={}", escaped(k), escaped(v)))
                .collect();
            display = format!("{display}{{{}}}", pairs.join(","));
        }
        RunLabel {
            display,
            metric: Some(metric.to_owned()),
            tags,
        }
    }
}

/// `s` with the characters that delimit a series key (`\\ { } = ,`) escaped by a
/// backslash, as `SeriesKey`'s `Display` writes them.
fn escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '{' | '}' | '=' | ',') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Where a [`PointWriter`] writes.
enum Sink<W: Write> {
    /// Straight to the output (table, JSON).
    Plain(W),
    /// Through a CSV writer (which buffers).
    Csv(Box<csv::Writer<W>>),
}

/// Writes runs of points in a format (see the module docs).
pub struct PointWriter<W: Write> {
    sink: Sink<W>,
    format: Format,
    unit: Option<Unit>,
    /// Table rows, kept until `finish`.
    table: Option<Table>,
    /// JSON: whether a run's object is open (its points array not yet closed), and
    /// whether a point was written into it.
    json_open: bool,
    json_points: bool,
    runs: usize,
    /// `i64::MIN` stands for "from the beginning" (the window of an aggregation over
    /// a range without a start) and prints as an empty cell (JSON: `null`).
    open_start: bool,
}

/// The header of points output.
const POINT_HEADER: [&str; 3] = ["series", "time", "value"];

impl<W: Write> PointWriter<W> {
    /// A writer of points to `out`.
    pub fn new(out: W, format: Format, unit: Option<Unit>) -> CliResult<Self> {
        let sink = match format {
            Format::Csv => {
                let mut c = csv::Writer::from_writer(out);
                c.write_record(POINT_HEADER)?;
                Sink::Csv(Box::new(c))
            }
            Format::Table | Format::Json => Sink::Plain(out),
        };
        let mut w = PointWriter {
            sink,
            format,
            unit,
            table: (format == Format::Table).then(|| new_table(&POINT_HEADER)),
            json_open: false,
            json_points: false,
            runs: 0,
            open_start: false,
        };
        if format == Format::Json {
            w.plain()?.write_all(b"[")?;
        }
        Ok(w)
    }

    /// Prints `i64::MIN` as an empty time (JSON: `null`): the start of a range that
    /// has none.
    pub fn open_start(mut self) -> Self {
        self.open_start = true;
        self
    }

    /// The output, unless it goes through the CSV writer.
    fn plain(&mut self) -> std::io::Result<&mut W> {
        match &mut self.sink {
            Sink::Plain(out) => Ok(out),
            Sink::Csv(_) => Err(std::io::Error::other("CSV output written as plain")),
        }
    }

    /// Writes points `timestamps[i]`, `values[i]` of the run `label`. `continues` is
    /// true when they follow the points of the previous call's run (the same run).
    pub fn write_run(
        &mut self,
        label: &RunLabel,
        continues: bool,
        timestamps: &[i64],
        values: &[f64],
    ) -> CliResult {
        let (unit, open_start) = (self.unit, self.open_start);
        let time_text = |t: i64| {
            if open_start && t == i64::MIN {
                String::new()
            } else {
                format_time(t, unit)
            }
        };
        let time_value = |t: i64| {
            if open_start && t == i64::MIN {
                Value::Null
            } else {
                time_json(t, unit)
            }
        };
        match self.format {
            Format::Table => {
                if let Some(table) = &mut self.table {
                    for (&t, &v) in timestamps.iter().zip(values) {
                        table.add_row([
                            TableCell::new(&label.display),
                            TableCell::new(time_text(t)),
                            TableCell::new(format_value(v)).set_alignment(CellAlignment::Right),
                        ]);
                    }
                }
            }
            Format::Csv => {
                if let Sink::Csv(c) = &mut self.sink {
                    for (&t, &v) in timestamps.iter().zip(values) {
                        c.write_record([label.display.as_str(), &time_text(t), &format_value(v)])?;
                    }
                }
            }
            Format::Json => {
                if !(continues && self.json_open) {
                    self.close_json_run()?;
                    let first = self.runs == 0;
                    let out = self.plain()?;
                    if !first {
                        out.write_all(b",")?;
                    }
                    let tags: Map<String, Value> = label
                        .tags
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect();
                    let mut head = Map::new();
                    head.insert("series".into(), Value::String(label.display.clone()));
                    if let Some(m) = &label.metric {
                        head.insert("metric".into(), Value::String(m.clone()));
                    }
                    head.insert("tags".into(), Value::Object(tags));
                    // The object without its closing brace, then the points array.
                    let text = serde_json::to_string(&Value::Object(head))?;
                    out.write_all(b"\n")?;
                    out.write_all(text.strip_suffix('}').unwrap_or(&text).as_bytes())?;
                    out.write_all(b",\"points\":[")?;
                    self.json_open = true;
                    self.json_points = false;
                }
                let mut wrote = self.json_points;
                let out = self.plain()?;
                for (&t, &v) in timestamps.iter().zip(values) {
                    if wrote {
                        out.write_all(b",")?;
                    }
                    wrote = true;
                    serde_json::to_writer(&mut *out, &json!([time_value(t), v]))?;
                }
                self.json_points = wrote;
            }
        }
        if !continues {
            self.runs += 1;
        }
        Ok(())
    }

    fn close_json_run(&mut self) -> CliResult {
        if self.json_open {
            self.plain()?.write_all(b"]}")?;
            self.json_open = false;
        }
        Ok(())
    }

    /// Finishes the output (prints the table, closes the JSON array) and flushes.
    pub fn finish(mut self) -> CliResult<W> {
        if let Some(table) = self.table.take() {
            writeln!(self.plain()?, "{table}")?;
        }
        if self.format == Format::Json {
            self.close_json_run()?;
            self.plain()?.write_all(b"\n]\n")?;
        }
        let mut out = match self.sink {
            Sink::Plain(out) => out,
            Sink::Csv(c) => (*c)
                .into_inner()
                .map_err(|e| CliError::from(e.into_error()))?,
        };
        out.flush()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_labels_print_like_series_keys_in_group_order() {
        let l = RunLabel::of_group(
            "cpu",
            vec![("z".into(), "1".into()), ("a".into(), "x,y".into())],
        );
        assert_eq!(l.display, "cpu{z=1,a=x\\,y}");
        assert_eq!(RunLabel::of_group("m=1", Vec::new()).display, "m\\=1");
        let key = tidestore::SeriesKey::new("cpu", &[("a", "x,y")]).unwrap();
        let one = RunLabel::of_group("cpu", vec![("a".into(), "x,y".into())]);
        assert_eq!(one.display, key.to_string());
    }

    fn label(display: &str, metric: Option<&str>, tags: &[(&str, &str)]) -> RunLabel {
        RunLabel {
            display: display.into(),
            metric: metric.map(str::to_owned),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn render(format: Format, unit: Option<Unit>) -> String {
        let a = label("cpu{host=a}", Some("cpu"), &[("host", "a")]);
        let b = label("{host=b}", None, &[("host", "b")]);
        let mut w = PointWriter::new(Vec::new(), format, unit).unwrap();
        w.write_run(&a, false, &[1, 2], &[0.5, 2.0]).unwrap();
        w.write_run(&a, true, &[3], &[f64::NAN]).unwrap();
        w.write_run(&b, false, &[1_000_000_000], &[-1e300]).unwrap();
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    #[test]
    fn values() {
        assert_eq!(format_value(58.12), "58.12");
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(-0.0), "-0");
        assert_eq!(format_value(1e300), "1e300");
        assert_eq!(format_value(1.5e-9), "1.5e-9");
        assert_eq!(format_value(123_456_789_012.25), "123456789012.25");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-inf");
        for v in [
            0.1,
            1.0 / 3.0,
            1e300,
            5e-324,
            123_456.789,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            assert_eq!(format_value(v).parse::<f64>().unwrap(), v);
        }
    }

    #[test]
    fn csv_points() {
        assert_eq!(
            render(Format::Csv, None),
            "series,time,value\ncpu{host=a},1,0.5\ncpu{host=a},2,2\ncpu{host=a},3,NaN\n\
             {host=b},1000000000,-1e300\n"
        );
        assert!(
            render(Format::Csv, Some(Unit::Ns))
                .contains("{host=b},1970-01-01T00:00:01.000000000Z,-1e300")
        );
    }

    #[test]
    fn json_points() {
        let text = render(Format::Json, None);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            json!([
                {"series": "cpu{host=a}", "metric": "cpu", "tags": {"host": "a"},
                 "points": [[1, 0.5], [2, 2.0], [3, null]]},
                {"series": "{host=b}", "tags": {"host": "b"}, "points": [[1_000_000_000, -1e300]]}
            ])
        );
        let v: Value = serde_json::from_str(&render(Format::Json, Some(Unit::S))).unwrap();
        assert_eq!(v[0]["points"][0][0], json!("1970-01-01T00:00:01Z"));
        // No runs: an empty array.
        let w = PointWriter::new(Vec::new(), Format::Json, None).unwrap();
        let v: Value = serde_json::from_slice(&w.finish().unwrap()).unwrap();
        assert_eq!(v, json!([]));
    }

    #[test]
    fn table_points() {
        let text = render(Format::Table, Some(Unit::S));
        assert!(text.contains("series"), "{text}");
        assert!(text.contains("cpu{host=a}"), "{text}");
        assert!(text.contains("1970-01-01T00:00:03Z"), "{text}");
        assert!(text.contains("NaN"), "{text}");
        assert_eq!(text.matches("cpu{host=a}").count(), 3, "{text}");
    }

    #[test]
    fn records_in_every_format() {
        let rows = vec![
            vec![Cell::Text("a,b".into()), Cell::Count(3)],
            vec![Cell::Text("c\"d".into()), Cell::Count(1)],
        ];
        let header = ["name", "n"];
        let mut out = Vec::new();
        write_records(&mut out, Format::Csv, &header, &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "name,n\n\"a,b\",3\n\"c\"\"d\",1\n"
        );
        let mut out = Vec::new();
        write_records(&mut out, Format::Json, &header, &rows).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            json!([{"name": "a,b", "n": 3}, {"name": "c\"d", "n": 1}])
        );
        let mut out = Vec::new();
        write_records(&mut out, Format::Table, &header, &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("a,b") && text.contains("name"), "{text}");
    }
}
