//! The streaming import against an in-memory model sink (committed points in a
//! `BTreeMap`, last write wins, pending points dropped unless committed): a
//! multi-megabyte input in small chunks with progress reports, bad lines skipped
//! whole, failures midway (what stays committed), chunk boundaries anywhere
//! (proptest), and CSV.

mod support_ingest;

use std::collections::BTreeMap;

use proptest::prelude::*;
use support_ingest::tsbs;
use tidestore::ts::ingest::{
    CsvFormat, FieldValue, Import, LineParser, PointRef, PointSink, Progress, format_line,
};
use tidestore::ts::{LineSummary, Precision};
use tidestore::{Error, Point, Result, SeriesKey};

type Db = BTreeMap<(SeriesKey, i64), u64>;

/// A sink that behaves like the engine's batch: checks keys on `add`, writes the batch
/// atomically on `commit`, forgets it when dropped.
#[derive(Default)]
struct Model {
    committed: Db,
    pending: Vec<Point>,
    commits: usize,
    adds: usize,
    /// the add with this index fails like a broken disk
    fail_at_add: Option<usize>,
}

impl PointSink for Model {
    fn add(&mut self, p: PointRef<'_>) -> Result<()> {
        if Some(self.adds) == self.fail_at_add {
            return Err(Error::from(std::io::Error::other("disk full")));
        }
        self.adds += 1;
        SeriesKey::new(p.metric, p.tags)?;
        self.pending.push(p.to_point());
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        for p in self.pending.drain(..) {
            let key = p.series_key().unwrap();
            self.committed.insert((key, p.timestamp), p.value.to_bits());
        }
        self.commits += 1;
        Ok(())
    }
}

/// What writing all of `text` at once gives.
fn expected(text: &str, now: i64) -> (Db, LineSummary) {
    let mut db = Db::new();
    let mut parser = LineParser::new(Precision::Nanoseconds).with_now(now);
    let summary = parser
        .parse_str(text, |p| {
            let key = SeriesKey::new(p.metric, p.tags)?;
            db.insert((key, p.timestamp), p.value.to_bits());
            Ok(())
        })
        .unwrap();
    (db, summary)
}

#[test]
fn a_multi_megabyte_import_in_chunks_reports_progress_and_matches_one_write() {
    let text = tsbs(100, 200);
    assert!(text.len() > 5_000_000, "{}", text.len());
    let (want, want_summary) = expected(&text, 0);
    assert_eq!(want_summary.points, 200_000);

    let mut sink = Model::default();
    let mut reports: Vec<Progress> = Vec::new();
    let summary = Import::line_protocol(Precision::Nanoseconds)
        .chunk_bytes(64 * 1024)
        .commit_every(25_000)
        .run_with_progress(text.as_bytes(), &mut sink, |p| reports.push(*p))
        .unwrap();
    assert_eq!(summary.line_summary(), want_summary);
    assert_eq!((summary.commits, sink.commits), (8, 8));
    assert_eq!(summary.bytes_read, text.len() as u64);
    assert_eq!((summary.bad_lines, summary.errors.len()), (0, 0));
    assert!(sink.pending.is_empty());
    assert!(sink.committed == want, "the import differs from one write");

    // one report per 64 KiB chunk, then the final one
    assert!(
        reports.len() > text.len() / (64 * 1024),
        "{}",
        reports.len()
    );
    for w in reports.windows(2) {
        assert!(w[0].bytes_read <= w[1].bytes_read);
        assert!(w[0].points <= w[1].points);
        assert!(w[0].points_committed <= w[1].points_committed);
    }
    for r in &reports {
        assert!(r.points_committed <= r.points);
        assert_eq!(r.points_committed % 25_000, 0);
        assert_eq!(r.points, r.lines * 10);
    }
    let last = reports.last().unwrap();
    assert_eq!(
        *last,
        Progress {
            bytes_read: text.len() as u64,
            lines: 20_000,
            points: 200_000,
            points_committed: 200_000,
            bad_lines: 0
        }
    );
}

#[test]
fn bad_lines_are_skipped_whole_and_the_first_errors_kept() {
    let good = tsbs(3, 40); // 120 lines
    let good_lines: Vec<&str> = good.lines().collect();
    let long = format!("cpu,host=x {}=1", "f".repeat(5000));
    let bad: Vec<(usize, Vec<u8>, &str)> = vec![
        (5, b"cpu,host=a usage=".to_vec(), "expected a field value"),
        (17, b"c\xffpu v=1".to_vec(), "invalid UTF-8"),
        // breaks the key rules: skipped whole, its first field included
        (
            30,
            format!("cpu,host=a ok=1,{}=2 5", "x".repeat(300)).into_bytes(),
            "the limit is 255",
        ),
        (31, b"cpu,host=\x01 ok=1 5".to_vec(), "control character"),
        (64, long.into_bytes(), "longer than 1000 bytes"),
        (
            90,
            b"cpu v=1 12:00".to_vec(),
            "expected an integer timestamp",
        ),
    ];
    let mut text: Vec<u8> = Vec::new();
    let mut numbers = Vec::new();
    let mut good_iter = good_lines.iter();
    let mut line = 1;
    for (at, bytes, _) in &bad {
        while line < *at {
            text.extend_from_slice(good_iter.next().unwrap().as_bytes());
            text.extend_from_slice(if line % 2 == 0 { b"\r\n" } else { b"\n" });
            line += 1;
        }
        text.extend_from_slice(bytes);
        text.push(b'\n');
        numbers.push(line);
        line += 1;
    }
    for l in good_iter {
        text.extend_from_slice(l.as_bytes());
        text.push(b'\n');
    }
    let (want, want_summary) = expected(&good, 0);

    for chunk in [256, 1 << 20] {
        let mut sink = Model::default();
        let summary = Import::line_protocol(Precision::Nanoseconds)
            .chunk_bytes(chunk)
            .max_line_bytes(1000)
            .commit_every(100)
            .skip_bad_lines(4)
            .run(&text[..], &mut sink)
            .unwrap();
        assert_eq!(summary.line_summary(), want_summary, "chunk {chunk}");
        assert_eq!(summary.bad_lines, bad.len());
        assert_eq!(summary.errors.len(), 4);
        for (e, ((_, _, what), number)) in summary.errors.iter().zip(bad.iter().zip(&numbers)) {
            assert_eq!(e.line, *number as u64, "{e}");
            assert!(e.message.contains(what), "{e} (wanted {what})");
        }
        assert!(sink.committed == want, "chunk {chunk}");
    }
}

#[test]
fn a_failure_midway_keeps_earlier_commits_and_drops_the_batch() {
    let text = tsbs(10, 300); // 3000 lines of 10 points
    let lines: Vec<&str> = text.lines().collect();

    // the sink breaks at its 12 346th point: 12 commits of 1 000 points were made
    let mut sink = Model {
        fail_at_add: Some(12_345),
        ..Model::default()
    };
    let err = Import::line_protocol(Precision::Nanoseconds)
        .commit_every(1_000)
        .chunk_bytes(4096)
        .run(text.as_bytes(), &mut sink)
        .unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err}");
    assert_eq!(sink.commits, 12);
    let (want, _) = expected(&lines[..1200].join("\n"), 0);
    assert!(sink.committed == want);
    drop(sink); // the pending points go with the batch

    // a malformed line stops the import with its line and column
    let mut broken: Vec<&str> = lines.clone();
    broken[499] = "cpu,hostname=host_9 usage_user=1,usage_idle 5";
    let mut sink = Model::default();
    let err = Import::line_protocol(Precision::Nanoseconds)
        .commit_every(1_000)
        .run(broken.join("\n").as_bytes(), &mut sink)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid argument: line 500, column 44: expected '=' after field key \"usage_idle\""
    );
    let (want, _) = expected(&lines[..400].join("\n"), 0);
    assert!(sink.committed == want);

    // a point the sink refuses is located too, and stops the import even when
    // skipping bad lines is asked for... unless the line was checked first
    let text = "m,a=1 v=1 1\nm,a=1,a=2 v=1 2\n";
    let mut sink = Model::default();
    let err = Import::line_protocol(Precision::Seconds)
        .run(text.as_bytes(), &mut sink)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid argument: line 2, column 11: tag key \"a\" appears twice"
    );
    assert_eq!(sink.commits, 0);
    let mut sink = Model::default();
    let summary = Import::line_protocol(Precision::Seconds)
        .skip_bad_lines(1)
        .run(text.as_bytes(), &mut sink)
        .unwrap();
    assert_eq!((summary.points, summary.bad_lines), (1, 1));
    assert_eq!((summary.errors[0].line, summary.errors[0].column), (2, 7));
}

#[test]
fn commits_at_the_end_only_and_empty_inputs() {
    let text = tsbs(5, 5);
    let mut sink = Model::default();
    let s = Import::line_protocol(Precision::Nanoseconds)
        .commit_every(usize::MAX)
        .run(text.as_bytes(), &mut sink)
        .unwrap();
    assert_eq!((s.commits, s.points), (1, 250));
    for input in ["", "\n\n", "# nothing\n"] {
        let mut sink = Model::default();
        let mut reports = 0;
        let s = Import::line_protocol(Precision::Nanoseconds)
            .run_with_progress(input.as_bytes(), &mut sink, |_| reports += 1)
            .unwrap();
        assert_eq!((s.commits, s.points, s.lines), (0, 0, 0));
        assert!(reports >= 1);
    }
    // lines without a timestamp get the fixed time
    let mut sink = Model::default();
    Import::line_protocol(Precision::Seconds)
        .now(42)
        .run("m v=1\nm w=2 7\n".as_bytes(), &mut sink)
        .unwrap();
    let times: Vec<i64> = sink.committed.keys().map(|(_, t)| *t).collect();
    assert_eq!(times, [42, 7]);
}

#[test]
fn a_csv_import_in_chunks() {
    let mut text = String::from("time,host,dc,user,system,idle\n");
    for t in 0..20_000 {
        let h = t % 50;
        let idle = if t % 7 == 0 {
            String::new()
        } else {
            format!("{}.5", t % 90)
        };
        text.push_str(&format!(
            "{},host_{h},dc{},{},{},{idle}\n",
            1000 + t / 50,
            h % 3,
            t % 100,
            t % 13
        ));
    }
    text.push_str("99999,host_0,dc0,oops,1,1\n");
    let format = CsvFormat::wide()
        .timestamp_column("time")
        .tag_columns(&["host", "dc"])
        .measurement("cpu");
    let mut sink = Model::default();
    let mut reports = Vec::new();
    let summary = Import::csv(format.clone())
        .chunk_bytes(16 * 1024)
        .commit_every(5_000)
        .skip_bad_lines(10)
        .run_with_progress(text.as_bytes(), &mut sink, |p| reports.push(*p))
        .unwrap();
    let idle = (0..20_000).filter(|t| t % 7 != 0).count();
    assert_eq!(summary.points, 40_000 + idle);
    assert_eq!((summary.lines, summary.bad_lines), (20_000, 1));
    assert_eq!(summary.errors[0].line, 20_002);
    assert_eq!(summary.errors[0].column, 4);
    assert_eq!(summary.bytes_read, text.len() as u64);
    assert!(
        reports.len() > text.len() / (16 * 1024),
        "{}",
        reports.len()
    );
    assert_eq!(
        reports.last().unwrap().points_committed,
        summary.points as u64
    );
    let key = SeriesKey::new("cpu_idle", &[("host", "host_1"), ("dc", "dc1")]).unwrap();
    assert_eq!(sink.committed.get(&(key, 1000)), Some(&1.5f64.to_bits()));
    // without skipping, the bad row stops the import
    let mut sink = Model::default();
    let err = Import::csv(format)
        .commit_every(5_000)
        .run(text.as_bytes(), &mut sink)
        .unwrap_err();
    assert!(err.to_string().contains("line 20002, column 4"), "{err}");
    assert_eq!(sink.commits * 5_000, sink.committed.len());
}

fn small_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        6 => (0usize..4, 0usize..3, prop::option::of(-5i64..5), -100i64..100, any::<bool>()).prop_map(
            |(m, tag, ts, v, crlf)| {
                let mut out = String::new();
                let tags = [("h o,s=t", "a b"), ("dc", "x")];
                let fields = [("value", FieldValue::Integer(v)), ("f\\", FieldValue::Float(v as f64 / 4.0)), ("s", FieldValue::String("x,y z"))];
                format_line(&mut out, ["cpu", "m,e m", "x\\", "é"][m], &tags[..tag.min(2)], &fields[..1 + (v.unsigned_abs() as usize % 3)], ts).unwrap();
                if crlf {
                    out.pop();
                    out.push_str("\r\n");
                }
                out
            }
        ),
        1 => Just("\n".to_owned()),
        1 => Just("# comment, with = signs\n".to_owned()),
        1 => Just("  \t \r\n".to_owned()),
    ];
    (prop::collection::vec(line, 0..40), any::<bool>()).prop_map(|(lines, cut)| {
        let mut text = lines.concat();
        if cut && text.ends_with('\n') {
            text.pop();
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// However the input is cut into chunks and however often it commits, the import
    /// writes what one write of the whole text writes.
    #[test]
    fn chunking_and_commits_never_change_the_result(
        text in small_text(),
        chunk in 1usize..80,
        every in 1usize..12,
    ) {
        let (want, want_summary) = expected(&text, 3);
        let mut sink = Model::default();
        let summary = Import::line_protocol(Precision::Nanoseconds)
            .now(3)
            .chunk_bytes(chunk)
            .commit_every(every)
            .run(text.as_bytes(), &mut sink)
            .unwrap();
        prop_assert_eq!(summary.line_summary(), want_summary);
        prop_assert_eq!(summary.bytes_read, text.len() as u64);
        prop_assert!(sink.committed == want);
        prop_assert!(sink.pending.is_empty());
    }
}
