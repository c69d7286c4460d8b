//! CSV in both layouts through the public API: header resolution, empty cells, tags,
//! metric naming, timestamps (integers and RFC 3339), options, and bad input with its
//! line and column.

use tidestore::Error;
use tidestore::ts::Precision;
use tidestore::ts::ingest::{CsvFormat, CsvReader, ParseError};

type Row = (String, Vec<(String, String)>, i64, f64);

/// Every point of `text`, or the first error (bad rows included).
fn read(format: &CsvFormat, text: &str) -> Result<Vec<Row>, Error> {
    let mut reader = CsvReader::new(format, text.as_bytes())?;
    let mut out = Vec::new();
    while let Some(row) = reader.next_row()? {
        let row = row?;
        row.validate()?;
        row.for_each_point(|p| {
            out.push((
                p.metric.to_owned(),
                p.tags
                    .iter()
                    .map(|&(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                p.timestamp,
                p.value,
            ));
            Ok(())
        })?;
    }
    Ok(out)
}

fn row(metric: &str, tags: &[(&str, &str)], ts: i64, v: f64) -> Row {
    (
        metric.to_owned(),
        tags.iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        ts,
        v,
    )
}

/// The bad rows of `text` as (line, column, message), reading on after each.
fn bad_rows(format: &CsvFormat, text: &str) -> Vec<ParseError> {
    let mut reader = CsvReader::new(format, text.as_bytes()).unwrap();
    let mut bad = Vec::new();
    while let Some(row) = reader.next_row().unwrap() {
        match row {
            Ok(r) => {
                if let Err(e) = r.validate() {
                    bad.push(e);
                }
            }
            Err(e) => bad.push(e),
        }
    }
    bad
}

#[test]
fn long_layout() {
    let text = "metric,timestamp,value,host,region\n\
                cpu,10,1.5,a,eu\n\
                cpu,20,,a,eu\n\
                mem,20,-3e2,,us\n\
                disk,30,true,b,\n";
    assert_eq!(
        read(&CsvFormat::long(), text).unwrap(),
        [
            row("cpu", &[("host", "a"), ("region", "eu")], 10, 1.5),
            // the empty value is no point; an empty tag cell is no tag
            row("mem", &[("region", "us")], 20, -300.0),
            row("disk", &[("host", "b")], 30, 1.0),
        ]
    );
}

#[test]
fn long_layout_with_options() {
    let text = "# exported\nts;name;v;host;note;dc\n\
                2024-01-01T00:00:00Z;cpu;1;a;ignore me;x\n\
                2024-01-01T00:00:01.999Z;cpu;2;a;;x\n";
    let format = CsvFormat::long()
        .delimiter(b';')
        .comment(Some(b'#'))
        .timestamp_column("ts")
        .metric_column("name")
        .value_column("v")
        .ignore_columns(&["note"])
        .precision(Precision::Seconds);
    let tags = [("host", "a"), ("dc", "x")];
    assert_eq!(
        read(&format, text).unwrap(),
        [
            row("cpu", &tags, 1_704_067_200, 1.0),
            row("cpu", &tags, 1_704_067_201, 2.0),
        ]
    );
    // only the listed tag columns, the rest ignored
    let format = format.ignore_columns(&[]).tag_columns(&["dc"]);
    assert_eq!(
        read(&format, text).unwrap()[0].1,
        [("dc".to_owned(), "x".to_owned())]
    );
}

#[test]
fn wide_layout() {
    let text = "time,host,usage_user,usage_idle,value\n\
                1000,a,58,24.5,1\n\
                2000,b,,,\n\
                3000,,60,,\n";
    let format = CsvFormat::wide()
        .timestamp_column("time")
        .tag_columns(&["host"]);
    assert_eq!(
        read(&format, text).unwrap(),
        [
            row("usage_user", &[("host", "a")], 1000, 58.0),
            row("usage_idle", &[("host", "a")], 1000, 24.5),
            row("value", &[("host", "a")], 1000, 1.0),
            row("usage_user", &[], 3000, 60.0),
        ]
    );
    // with a measurement, columns are named like line-protocol fields
    let format = format.measurement("cpu");
    let got: Vec<String> = read(&format, text)
        .unwrap()
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(
        got,
        ["cpu_usage_user", "cpu_usage_idle", "cpu", "cpu_usage_user"]
    );
}

#[test]
fn no_header_row_quoting_and_a_byte_order_mark() {
    let format = CsvFormat::wide()
        .column_names(&["t", "host", "load"])
        .timestamp_column("t")
        .tag_columns(&["host"]);
    let text = "1,\"a,b\",0.5\n2,\"say \"\"hi\"\"\",\"0.25\n\"\n3,c,\"1e1\"\n";
    assert_eq!(
        read(&format, text).unwrap(),
        [
            row("load", &[("host", "a,b")], 1, 0.5),
            // quotes doubled inside quotes; a line end inside a quoted number is trimmed
            row("load", &[("host", "say \"hi\"")], 2, 0.25),
            row("load", &[("host", "c")], 3, 10.0),
        ]
    );
    // a row with a multi-line cell is numbered by its first line; a newline in a tag
    // breaks the engine's rules
    let bad = bad_rows(
        &format,
        "1,a,0.5\n2,\"x\ny\",oops\n3,\"c\nd\",1\n5,c,nope\n",
    );
    assert_eq!(
        bad.iter().map(|e| (e.line, e.column)).collect::<Vec<_>>(),
        [(2, 3), (4, 2), (6, 3)]
    );
    let text = "\u{feff}metric,timestamp,value\ncpu,1,2\n";
    assert_eq!(
        read(&CsvFormat::long(), text).unwrap(),
        [row("cpu", &[], 1, 2.0)]
    );
}

#[test]
fn bad_cells_name_line_and_column() {
    let text = "metric,timestamp,value,host\n\
                cpu,1,x1,a\n\
                cpu,2,1\n\
                cpu,nope,1,a\n\
                ,4,1,a\n\
                cpu,5,,a\n\
                cpu,,1,a\n\
                cpu,99999999999999999999,1,a\n\
                cpu,2024-02-30T00:00:00Z,1,a\n\
                cpu,9,1,a\u{1}\n\
                cpu,10,1,a,extra\n";
    let bad = bad_rows(&CsvFormat::long(), text);
    let got: Vec<(u64, usize, &str)> = bad
        .iter()
        .map(|e| (e.line, e.column, e.message.as_str()))
        .collect();
    let want: &[(u64, usize, &str)] = &[
        (2, 3, "column \"value\": expected a number, found \"x1\""),
        (3, 4, "expected 4 cells, found 3"),
        (
            4,
            2,
            "column \"timestamp\": expected an integer timestamp or an RFC 3339 time",
        ),
        (5, 1, "column \"metric\": the metric is empty"),
        (7, 2, "column \"timestamp\": the timestamp is empty"),
        (8, 2, "out of range for i64"),
        (9, 2, "RFC 3339"),
        (10, 4, "control character"),
        (11, 5, "expected 4 cells, found 5"),
    ];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!((g.0, g.1), (w.0, w.1), "{g:?}");
        assert!(g.2.contains(w.2), "{g:?} vs {w:?}");
    }
    // as an Error, the same text
    let err = read(&CsvFormat::long(), text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid argument: line 2, column 3: column \"value\": expected a number, found \"x1\""
    );
    // invalid UTF-8 in a cell
    let mut bytes = b"metric,timestamp,value,host\ncpu,1,1,".to_vec();
    bytes.extend_from_slice(&[0xff, b'\n']);
    let mut reader = CsvReader::new(&CsvFormat::long(), &bytes[..]).unwrap();
    let e = reader.next_row().unwrap().unwrap().unwrap_err();
    assert_eq!((e.line, e.column), (2, 4));
    assert!(e.message.contains("invalid UTF-8"), "{e}");
}

#[test]
fn bad_headers_and_options() {
    let fail = |format: CsvFormat, text: &str, what: &str| {
        let err = CsvReader::new(&format, text.as_bytes()).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        assert!(err.to_string().contains(what), "{err} (wanted {what})");
    };
    fail(CsvFormat::long(), "", "empty");
    fail(
        CsvFormat::long(),
        "metric,value\n",
        "no column \"timestamp\"",
    );
    fail(
        CsvFormat::long(),
        "metric,timestamp\n",
        "no column \"value\"",
    );
    fail(
        CsvFormat::long(),
        "metric,timestamp,value,value\n",
        "\"value\" appears twice",
    );
    fail(
        CsvFormat::long().tag_columns(&["host"]),
        "metric,timestamp,value\n",
        "no column \"host\"",
    );
    fail(
        CsvFormat::long().tag_columns(&["value"]),
        "metric,timestamp,value\n",
        "cannot be a tag",
    );
    fail(
        CsvFormat::long().measurement("m"),
        "metric,timestamp,value\n",
        "wide",
    );
    fail(
        CsvFormat::wide().metric_column("m"),
        "timestamp,a\n",
        "long",
    );
    fail(CsvFormat::wide(), "timestamp\n", "no value column");
    fail(
        CsvFormat::wide().tag_columns(&["h"]).ignore_columns(&["x"]),
        "timestamp,h,x\n",
        "no value column",
    );
    fail(
        CsvFormat::wide().ignore_columns(&["zz"]),
        "timestamp,a\n",
        "no column \"zz\"",
    );
}

#[test]
fn reader_reports_its_columns_and_position() {
    let text = "timestamp,a,b\n1,2,3\n";
    let mut reader = CsvReader::new(&CsvFormat::wide(), text.as_bytes()).unwrap();
    assert_eq!(reader.columns(), ["timestamp", "a", "b"]);
    let row = reader.next_row().unwrap().unwrap().unwrap();
    assert_eq!(
        (row.line_number(), row.timestamp(), row.point_count()),
        (2, 1, 2)
    );
    drop(row);
    assert!(reader.next_row().unwrap().is_none());
    assert_eq!(reader.bytes_read(), text.len() as u64);
}
