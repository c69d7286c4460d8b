//! The line-protocol parser through the public API: every part of the grammar (each
//! escape, each field type, whitespace, line ends, comments, timestamps), malformed
//! lines with their exact line and column, validation against the engine's key rules,
//! and round trips through the formatter (proptest with adversarial names).

use proptest::prelude::*;
use tidestore::Error;
use tidestore::ts::ingest::{
    FieldValue, LineCursor, LineParser, ParseError, PointRef, format_line, format_point,
};
use tidestore::ts::{LineSummary, Precision};

/// An owned point as the parser handed it out.
#[derive(Debug, Clone, PartialEq)]
struct Got {
    metric: String,
    tags: Vec<(String, String)>,
    timestamp: i64,
    value: f64,
}

fn got(p: PointRef<'_>) -> Got {
    Got {
        metric: p.metric.to_owned(),
        tags: p
            .tags
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        timestamp: p.timestamp,
        value: p.value,
    }
}

fn pt(metric: &str, tags: &[(&str, &str)], timestamp: i64, value: f64) -> Got {
    Got {
        metric: metric.to_owned(),
        tags: tags
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        timestamp,
        value,
    }
}

const NOW: i64 = 1_700_000_000_000;

fn parse(text: &str) -> Result<(Vec<Got>, LineSummary), Error> {
    let mut parser = LineParser::new(Precision::Milliseconds).with_now(NOW);
    let mut points = Vec::new();
    let summary = parser.parse_str(text, |p| {
        points.push(got(p));
        Ok(())
    })?;
    Ok((points, summary))
}

fn points(text: &str) -> Vec<Got> {
    match parse(text) {
        Ok((p, _)) => p,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

/// The first parse error of `text`, from the per-line API.
fn first_error(text: &str) -> ParseError {
    let mut parser = LineParser::new(Precision::Nanoseconds).with_now(0);
    let mut cursor = LineCursor::new(text);
    while let Some(line) = parser.next_line(&mut cursor) {
        if let Err(e) = line {
            return e;
        }
    }
    panic!("{text:?} parsed")
}

#[test]
fn the_issue_example() {
    let (p, summary) =
        parse("cpu,hostname=host_1 usage_user=58i,usage_idle=24.5 1704067200000\n").unwrap();
    assert_eq!(
        summary,
        LineSummary {
            points: 2,
            lines: 1,
            skipped_string_fields: 0
        }
    );
    let tags = [("hostname", "host_1")];
    assert_eq!(
        p,
        [
            pt("cpu_usage_user", &tags, 1_704_067_200_000, 58.0),
            pt("cpu_usage_idle", &tags, 1_704_067_200_000, 24.5),
        ]
    );
}

#[test]
fn metric_naming_and_every_field_type() {
    let text = "weather,city=x value=1.5,temp=-3i,count=7u,ok=t,bad=FALSE,note=\"hi\" 5";
    let (p, s) = parse(text).unwrap();
    let tags = [("city", "x")];
    assert_eq!(
        p,
        [
            pt("weather", &tags, 5, 1.5),
            pt("weather_temp", &tags, 5, -3.0),
            pt("weather_count", &tags, 5, 7.0),
            pt("weather_ok", &tags, 5, 1.0),
            pt("weather_bad", &tags, 5, 0.0),
        ]
    );
    assert_eq!((s.points, s.lines, s.skipped_string_fields), (5, 1, 1));

    for (text, value) in [
        ("m v=t", 1.0),
        ("m v=T", 1.0),
        ("m v=true", 1.0),
        ("m v=True", 1.0),
        ("m v=TRUE", 1.0),
        ("m v=f", 0.0),
        ("m v=F", 0.0),
        ("m v=false", 0.0),
        ("m v=False", 0.0),
        ("m v=FALSE", 0.0),
        ("m v=1", 1.0),
        ("m v=1.", 1.0),
        ("m v=.25", 0.25),
        ("m v=-1e-3", -0.001),
        ("m v=6.02E+23", 6.02e23),
        ("m v=9223372036854775807i", 9_223_372_036_854_775_807.0),
        ("m v=18446744073709551615u", 18_446_744_073_709_551_615.0),
    ] {
        assert_eq!(points(text), [pt("m_v", &[], NOW, value)], "{text}");
    }
}

#[test]
fn every_escape() {
    // measurement: comma, space, backslash; '=' needs none
    let p = points(r"c\,p\ u\\x=y,k=v f=1 1");
    assert_eq!(p[0].metric, r"c,p u\x=y_f");
    // tag keys, tag values and field keys: comma, equals, space, backslash
    let p = points(r"m,k\,1\=2\ 3\\=v\,1\=2\ 3\\ f\,1\=2\ 3\\=1 1");
    assert_eq!(
        p,
        [pt(r"m_f,1=2 3\", &[(r"k,1=2 3\", r"v,1=2 3\")], 1, 1.0)]
    );
    // a backslash before anything else is literal, also at a name's end
    // `\ ` continues the tag value, so its unescaped '=' is an error
    let err = first_error(r"m\x,k\y=v\z\ f\q=1 1");
    assert!(err.message.contains("unexpected '='"), "{err}");
    let (p, _) = parse(r"m\x,k\y=v\z f\q=1 1").unwrap();
    assert_eq!(p, [pt(r"m\x_f\q", &[(r"k\y", r"v\z")], 1, 1.0)]);
    // string fields: \" and \\ are escapes; commas, spaces and '=' need none
    let mut parser = LineParser::new(Precision::Seconds).with_now(0);
    let mut cursor = LineCursor::new(r#"m s="a \"q\" \\ \x, b=c",v=2 3"#);
    let line = parser.next_line(&mut cursor).unwrap().unwrap();
    let fields: Vec<_> = line.fields().collect();
    assert_eq!(
        fields,
        [
            ("s", FieldValue::String(r#"a "q" \ \x, b=c"#)),
            ("v", FieldValue::Float(2.0))
        ]
    );
    assert_eq!((line.point_count(), line.string_field_count()), (1, 1));
    assert_eq!(line.timestamp(), 3);
    drop(line);
    let (p, s) = parse(r#"m s="",t="\\",u="\"" 1"#).unwrap();
    assert!(p.is_empty());
    assert_eq!(s.skipped_string_fields, 3);
    assert_eq!(s.lines, 1);
}

#[test]
fn whitespace_line_ends_comments_and_blank_lines() {
    let text = "\n   \n# a comment\n  # indented comment\r\n\
                cpu,b=2,a=1  \t usage=1,value=2   \t 10  \r\n\
                \tcpu usage=3\r\n\
                cpu usage=4 -20\t";
    let (p, s) = parse(text).unwrap();
    assert_eq!(
        p,
        [
            // tags come in the order written (unsorted is fine)
            pt("cpu_usage", &[("b", "2"), ("a", "1")], 10, 1.0),
            pt("cpu", &[("b", "2"), ("a", "1")], 10, 2.0),
            pt("cpu_usage", &[], NOW, 3.0),
            pt("cpu_usage", &[], -20, 4.0),
        ]
    );
    assert_eq!(s.lines, 3);
    assert_eq!(parse("").unwrap().1, LineSummary::default());
    assert_eq!(parse("\n\r\n# only\n").unwrap().1, LineSummary::default());
}

#[test]
fn timestamps_negative_extreme_and_missing() {
    assert_eq!(points("m v=1 -1")[0].timestamp, -1);
    assert_eq!(points("m v=1 0")[0].timestamp, 0);
    assert_eq!(points("m v=1 9223372036854775807")[0].timestamp, i64::MAX);
    assert_eq!(points("m v=1 -9223372036854775808")[0].timestamp, i64::MIN);
    assert_eq!(points("m v=1")[0].timestamp, NOW);
    assert_eq!(points("m v=1   ")[0].timestamp, NOW);
    // without a fixed time, the clock in the parser's unit, the same for every line
    let mut parser = LineParser::new(Precision::Seconds);
    let mut seen = Vec::new();
    parser
        .parse_str("m v=1\nm v=2\n", |p| {
            seen.push(p.timestamp);
            Ok(())
        })
        .unwrap();
    let now = Precision::Seconds.now();
    assert_eq!(seen[0], seen[1]);
    assert!((now - seen[0]).abs() <= 2, "{seen:?} vs {now}");
}

#[test]
fn duplicate_fields_give_two_points_and_duplicate_tags_fail_validation() {
    assert_eq!(
        points("m a=1,a=2 7"),
        [pt("m_a", &[], 7, 1.0), pt("m_a", &[], 7, 2.0)]
    );
    let mut parser = LineParser::new(Precision::Seconds);
    let mut line = parser.parse_line("m,h=1,g=2,h=3 a=1 7", 4).unwrap();
    let err = line.validate().unwrap_err();
    assert_eq!((err.line, err.column), (4, 11));
    assert!(err.message.contains("\"h\" appears twice"), "{err}");
}

#[test]
fn validation_uses_the_engine_rules_and_points_at_the_culprit() {
    let long = "x".repeat(254);
    let cases = [
        // control character in a tag value: column of its tag
        ("m,a=1,b=\u{1}x f=1", 7, "control character"),
        // metric `m_<254 x>` is over 255 bytes: column of the field
        (&*format!("m,a=1 ok=1,{long}=2"), 12, "the limit is 255"),
        // control character in the measurement: column 1 (after blanks)
        ("  m\u{7f} f=1", 3, "control character"),
    ];
    for (text, column, what) in cases {
        let mut parser = LineParser::new(Precision::Seconds);
        let mut line = parser.parse_line(text, 1).unwrap();
        let err = line.validate().unwrap_err();
        assert_eq!(err.column, column, "{text:?}: {err}");
        assert!(err.message.contains(what), "{text:?}: {err}");
    }
    let too_many: String = (0..65).map(|i| format!(",t{i}=v")).collect();
    let text = format!("m{too_many} f=1");
    let mut parser = LineParser::new(Precision::Seconds);
    let mut line = parser.parse_line(&text, 1).unwrap();
    let err = line.validate().unwrap_err();
    assert!(err.message.contains("at most 64"), "{err}");
    assert_eq!(err.column, text.find(",t64=").unwrap() + 2);
    drop(line);
    // a good line passes, with its `value` field named after the measurement
    let mut line = parser.parse_line("m,a=1 value=1,f=2", 1).unwrap();
    line.validate().unwrap();
}

#[test]
fn malformed_lines_name_line_column_and_what_was_expected() {
    let cases: &[(&str, u64, usize, &str)] = &[
        (
            "cpu",
            1,
            4,
            "expected a space and the field set after measurement \"cpu\"",
        ),
        (
            "cpu,host=a",
            1,
            11,
            "expected a space and the field set after the tag set",
        ),
        (
            ",host=a v=1",
            1,
            1,
            "expected a measurement name before ','",
        ),
        ("cpu, v=1", 1, 5, "expected a tag key after ','"),
        ("cpu,host v=1", 1, 9, "expected '=' after tag key \"host\""),
        (
            "cpu,host,a=b v=1",
            1,
            9,
            "expected '=' after tag key \"host\"",
        ),
        (
            "cpu,host= v=1",
            1,
            10,
            "expected a tag value after \"host=\"",
        ),
        (
            "cpu,host=a=b v=1",
            1,
            11,
            "unexpected '=' in the value of tag \"host\"",
        ),
        ("cpu v", 1, 6, "expected '=' after field key \"v\""),
        (
            "cpu,a=1 usage 5",
            1,
            14,
            "expected '=' after field key \"usage\"",
        ),
        ("cpu =1", 1, 5, "expected a field key"),
        ("cpu v=", 1, 7, "expected a field value after \"v=\""),
        ("cpu v= 1", 1, 7, "expected a field value after \"v=\""),
        ("cpu v=1,", 1, 9, "expected a field key after ','"),
        ("cpu v=1,,w=2", 1, 9, "expected a field key after ','"),
        ("cpu v=abc", 1, 7, "invalid field value \"abc\""),
        (
            "cpu v=1.2.3",
            1,
            7,
            "invalid float \"1.2.3\" in field \"v\"",
        ),
        ("cpu v=1i2", 1, 7, "invalid float \"1i2\""),
        ("cpu v=+1", 1, 7, "expected a number"),
        ("cpu v=NaN", 1, 7, "expected a number"),
        ("cpu v=-inf", 1, 7, "invalid float"),
        ("cpu v=1e999", 1, 7, "out of range for f64"),
        ("cpu v=99999999999999999999i", 1, 7, "out of range for i64"),
        ("cpu v=-1u", 1, 7, "invalid unsigned integer"),
        ("cpu v=tru", 1, 7, "invalid boolean \"tru\""),
        (
            "cpu v=\"abc",
            1,
            11,
            "expected '\"' to close the string value of field \"v\"",
        ),
        ("cpu v=\"a\\\"", 1, 11, "expected '\"' to close"),
        (
            "cpu v=\"a\"b",
            1,
            10,
            "expected ',' or a space after the value of field \"v\"",
        ),
        (
            "cpu v=1 12a",
            1,
            9,
            "expected an integer timestamp, found \"12a\"",
        ),
        ("cpu v=1 1.5", 1, 9, "expected an integer timestamp"),
        (
            "cpu v=1 99999999999999999999",
            1,
            9,
            "timestamp 99999999999999999999 is out of range",
        ),
        ("cpu v=1 -9223372036854775809", 1, 9, "out of range"),
        (
            "cpu v=1 1 2",
            1,
            11,
            "expected the end of the line after the timestamp",
        ),
        (
            "\n# c\r\n\ncpu v=1\ncpu,x v=1",
            5,
            6,
            "expected '=' after tag key \"x\"",
        ),
        ("cpü,hé v=1", 1, 7, "expected '=' after tag key \"hé\""),
        (
            "c\\,pu,h\\ x v=1",
            1,
            11,
            "expected '=' after tag key \"h x\"",
        ),
        ("m\tv", 1, 4, "expected '=' after field key \"v\""),
    ];
    for &(text, line, column, what) in cases {
        let err = first_error(text);
        assert_eq!((err.line, err.column), (line, column), "{text:?}: {err}");
        assert!(err.message.contains(what), "{text:?}: {err}");
        // through parse_str it is an InvalidArgument with the same text
        match parse(text) {
            Err(Error::InvalidArgument(m)) => assert_eq!(m, err.to_string()),
            other => panic!("{text:?}: {other:?}"),
        }
    }
    assert_eq!(
        first_error("cpu,a=1 usage 5").to_string(),
        "line 1, column 14: expected '=' after field key \"usage\""
    );
}

#[test]
fn a_too_long_string_is_refused() {
    let ok = format!("m s=\"{}\"", "x".repeat(64 * 1024));
    assert_eq!(parse(&ok).unwrap().1.skipped_string_fields, 1);
    let long = format!("m s=\"{}\"", "x".repeat(64 * 1024 + 1));
    let err = first_error(&long);
    assert_eq!(err.column, 5);
    assert!(err.message.contains("longer than 65536 bytes"), "{err}");
}

#[test]
fn the_cursor_goes_on_after_a_bad_line() {
    let text = "m v=1\nbad\n\nm v=2 5\nm v=\n";
    let mut parser = LineParser::new(Precision::Seconds).with_now(9);
    let mut cursor = LineCursor::new(text);
    let mut seen = Vec::new();
    while let Some(line) = parser.next_line(&mut cursor) {
        match line {
            Ok(mut line) => {
                let n = line.line_number();
                line.for_each_point(|p| {
                    seen.push(format!("{n}:{}={}@{}", p.metric, p.value, p.timestamp));
                    Ok(())
                })
                .unwrap();
            }
            Err(e) => seen.push(format!("{}:{}", e.line, e.column)),
        }
    }
    assert_eq!(seen, ["1:m_v=1@9", "2:4", "4:m_v=2@5", "5:5"]);
    assert_eq!(cursor.position(), text.len());
    assert_eq!(cursor.next_line_number(), 6);
}

#[test]
fn sink_errors_stop_the_parse_with_the_field_position() {
    let mut parser = LineParser::new(Precision::Seconds);
    let mut n = 0;
    let err = parser
        .parse_str("m a=1\nm a=1,bad=2\n", |p| {
            n += 1;
            if p.metric == "m_bad" {
                Err(Error::invalid("refused"))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid argument: line 2, column 7: refused"
    );
    assert_eq!(n, 3);
}

/// A line to format: measurement, tags, fields.
type LineParts<'a> = (
    &'a str,
    Vec<(&'a str, &'a str)>,
    Vec<(&'a str, FieldValue<'a>)>,
);

#[test]
fn formatting_rejects_what_line_protocol_cannot_carry() {
    let mut out = String::from("keep");
    let f = [("value", FieldValue::Float(1.0))];
    let cases: Vec<LineParts<'_>> = vec![
        ("", vec![], f.to_vec()),
        ("#m", vec![], f.to_vec()),
        ("m\n", vec![], f.to_vec()),
        ("m", vec![("k", "")], f.to_vec()),
        ("m", vec![("", "v")], f.to_vec()),
        ("m", vec![("k", "a\tb")], f.to_vec()),
        ("m", vec![], vec![]),
        ("m", vec![], vec![("v", FieldValue::Float(f64::NAN))]),
        ("m", vec![], vec![("v", FieldValue::Float(f64::INFINITY))]),
        ("m", vec![], vec![("v", FieldValue::String("a\nb"))]),
        ("m", vec![], vec![("", FieldValue::Integer(1))]),
    ];
    for (m, tags, fields) in cases {
        let err = format_line(&mut out, m, &tags, &fields, None).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{m:?}");
        assert_eq!(out, "keep");
    }
}

#[test]
fn formatting_every_field_type_parses_back() {
    let mut out = String::new();
    let fields = [
        ("f", FieldValue::Float(-0.0)),
        ("i", FieldValue::Integer(i64::MIN)),
        ("u", FieldValue::Unsigned(u64::MAX)),
        ("b", FieldValue::Boolean(true)),
        ("s", FieldValue::String("a \"b\" \\ c,d=e")),
        ("tiny", FieldValue::Float(5e-324)),
        ("big", FieldValue::Float(1.7976931348623157e308)),
    ];
    format_line(&mut out, "m e,", &[("k=", "v ")], &fields, Some(-3)).unwrap();
    format_line(&mut out, "n", &[], &fields[..1], None).unwrap();
    let mut parser = LineParser::new(Precision::Seconds).with_now(77);
    let mut cursor = LineCursor::new(&out);
    let line = parser.next_line(&mut cursor).unwrap().unwrap();
    assert_eq!(line.measurement(), "m e,");
    assert_eq!(line.tags(), [("k=", "v ")]);
    assert_eq!(line.timestamp(), -3);
    let back: Vec<_> = line.fields().collect();
    assert_eq!(back, fields);
    let FieldValue::Float(z) = back[0].1 else {
        panic!()
    };
    assert!(z.is_sign_negative());
    drop(line);
    let line = parser.next_line(&mut cursor).unwrap().unwrap();
    assert!(!line.has_timestamp());
    assert_eq!(line.timestamp(), 77);
}

/// Names from an alphabet of everything line protocol treats specially.
fn name() -> impl Strategy<Value = String> {
    let alphabet = prop::sample::select(vec![
        'a', 'b', 'z', '0', '9', '_', '-', '.', ',', '=', ' ', '\\', '"', '#', 'i', 'u', 't', 'é',
        '✓', '\r', '\t', '\n', '\u{1}',
    ]);
    prop::collection::vec(alphabet, 0..8).prop_map(|c| c.into_iter().collect())
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        (-1_000_000i64..1_000_000).prop_map(|v| v as f64 / 100.0),
        Just(-0.0),
        Just(f64::MIN_POSITIVE),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// parse(format(points)) == points, or format refuses what line protocol cannot
    /// carry (and only that).
    #[test]
    fn format_then_parse_gives_the_points_back(
        points in prop::collection::vec(
            (name(), prop::collection::vec((name(), name()), 0..4), any::<i64>(), value()),
            1..6,
        ),
    ) {
        let mut text = String::new();
        let mut want = Vec::new();
        for (metric, tags, ts, v) in &points {
            let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let p = PointRef { metric, tags: &tags, timestamp: *ts, value: *v };
            let unwritable = metric.is_empty()
                || metric.starts_with('#')
                || !v.is_finite()
                || std::iter::once(metric.as_str())
                    .chain(tags.iter().flat_map(|&(k, v)| [k, v]))
                    .any(|s| s.contains(['\n', '\t']))
                || tags.iter().any(|&(k, v)| k.is_empty() || v.is_empty());
            let before = text.len();
            match format_point(&mut text, &p) {
                Ok(()) => {
                    prop_assert!(!unwritable, "wrote {:?}", &text[before..]);
                    want.push(got(p));
                }
                Err(Error::InvalidArgument(_)) => {
                    prop_assert!(unwritable);
                    prop_assert_eq!(text.len(), before);
                }
                Err(e) => prop_assert!(false, "{}", e),
            }
        }
        let (back, summary) = parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(summary.points, want.len());
        prop_assert_eq!(summary.lines, want.len());
        prop_assert_eq!(back.len(), want.len());
        for (b, w) in back.iter().zip(&want) {
            prop_assert_eq!(&b.metric, &w.metric);
            prop_assert_eq!(&b.tags, &w.tags);
            prop_assert_eq!(b.timestamp, w.timestamp);
            prop_assert_eq!(b.value.to_bits(), w.value.to_bits());
        }
    }

    /// Any text at all: the parser returns points or an error naming a line that
    /// exists and a column inside it (or just past its end); it never panics.
    #[test]
    fn arbitrary_text_never_panics_and_errors_point_inside_the_text(
        lines in prop::collection::vec(
            prop::collection::vec(prop::sample::select(vec![
                'm', 'v', '1', '0', 'i', 'u', 'e', '-', '.', ',', '=', ' ', '\\', '"', '#',
                't', 'F', '\t', '\r', 'é',
            ]), 0..24).prop_map(|c| c.into_iter().collect::<String>()),
            0..6,
        ),
    ) {
        let text = lines.join("\n");
        let mut parser = LineParser::new(Precision::Seconds).with_now(0);
        let mut cursor = LineCursor::new(&text);
        while let Some(line) = parser.next_line(&mut cursor) {
            match line {
                Ok(mut l) => {
                    let _ = l.validate();
                    l.for_each_point(|_| Ok(())).unwrap();
                }
                Err(e) => {
                    let raw = lines.get(e.line as usize - 1).expect("line exists");
                    prop_assert!(e.column >= 1 && e.column <= raw.chars().count() + 1, "{:?}: {}", raw, e);
                }
            }
        }
    }
}
