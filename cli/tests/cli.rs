//! The `tidestore` binary, run for real: databases are made with the library in the
//! test, then read (and changed) through the command line.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;
use tidestore::Db;
use tidestore::kv::Store;

/// 2016-01-01T00:00:00Z in seconds.
const T0: i64 = 1_451_606_400;

fn tidestore() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tidestore"))
}

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

/// A database (timestamps in seconds) with four series:
/// - `cpu{host=a,region=eu-west-1,team=NYC}`: 10.5, 11.5, 12.5 at T0, T0+10, T0+20
/// - `cpu{host=b,region=us-east-1,team=SF}`: 20, 21, 22
/// - `cpu{host=c,region=eu-central-1}` (no team): 30, 31, 32
/// - `mem{host=a}`: 1e300 at T0
fn sample_db(dir: &Path) {
    let db = Db::open(dir).unwrap();
    type Tags<'a> = &'a [(&'a str, &'a str)];
    let series: [(&str, Tags, f64); 3] = [
        (
            "cpu",
            &[("host", "a"), ("region", "eu-west-1"), ("team", "NYC")],
            10.5,
        ),
        (
            "cpu",
            &[("host", "b"), ("region", "us-east-1"), ("team", "SF")],
            20.0,
        ),
        ("cpu", &[("host", "c"), ("region", "eu-central-1")], 30.0),
    ];
    for step in 0..3 {
        for (metric, tags, base) in series {
            db.insert(metric, T0 + 10 * step, base + step as f64, tags)
                .unwrap();
        }
    }
    db.insert("mem", T0, 1e300, &[("host", "a")]).unwrap();
    db.close().unwrap();
}

fn db_dir() -> TempDir {
    let dir = TempDir::new().unwrap();
    sample_db(dir.path());
    dir
}

fn dir_str(dir: &TempDir) -> &str {
    dir.path().to_str().unwrap()
}

// ---- generate ------------------------------------------------------------------

#[test]
fn generate_tsbs_writes_arrival_ordered_line_protocol() {
    let text = stdout_of(tidestore().args([
        "generate",
        "tsbs",
        "--hosts",
        "3",
        "--hours",
        "1",
        "--precision",
        "s",
        "--seed",
        "9",
    ]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3 * 360);
    for (i, line) in lines.iter().enumerate() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert!(
            parts[0].starts_with(&format!("cpu,hostname=host_{},region=", i % 3)),
            "{line}"
        );
        assert_eq!(
            parts[0].split(',').count(),
            11,
            "measurement + 10 tags: {line}"
        );
        assert_eq!(parts[1].split(',').count(), 10, "10 fields: {line}");
        assert!(parts[1].starts_with("usage_user="));
        assert!(parts[1].contains(",usage_guest_nice="));
        assert_eq!(parts[2], (T0 + 10 * (i / 3) as i64).to_string());
    }
    // The same seed, the same bytes; nanoseconds by default.
    let again = stdout_of(tidestore().args([
        "generate",
        "tsbs",
        "--hosts",
        "3",
        "--hours",
        "1",
        "--precision",
        "s",
        "--seed",
        "9",
    ]));
    assert_eq!(text, again);
    let ns = stdout_of(tidestore().args([
        "generate",
        "tsbs",
        "--hosts",
        "1",
        "--hours",
        "1",
        "--interval",
        "1m",
    ]));
    assert_eq!(ns.lines().count(), 60);
    assert!(ns.lines().next().unwrap().ends_with(" 1451606400000000000"));
    assert!(ns.lines().nth(1).unwrap().ends_with(" 1451606460000000000"));
}

#[test]
fn generate_rejects_bad_arguments() {
    tidestore()
        .args(["generate", "tsbs", "--hosts", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--hosts must be at least 1"));
    tidestore()
        .args([
            "generate",
            "tsbs",
            "--interval",
            "500ms",
            "--precision",
            "s",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--interval: '500ms' is not a whole number of s",
        ));
    tidestore()
        .args(["generate", "tsbs", "--start", "yesterday"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--start"));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    // 100 000 hosts for 1 000 hours would be ~130 GB: only a closed pipe stops it.
    let out = std::process::Command::new("bash")
        .args([
            "-c",
            &format!(
                "set -o pipefail; '{}' generate tsbs --hosts 100000 --hours 1000 | head -n 1 >/dev/null",
                env!("CARGO_BIN_EXE_tidestore")
            ),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

// ---- query, last, series -------------------------------------------------------

#[test]
fn query_csv_with_every_operator() {
    let dir = db_dir();
    let d = dir_str(&dir);
    let csv =
        |selector: &str| stdout_of(tidestore().args(["query", d, selector, "--format", "csv"]));
    assert_eq!(
        csv(r#"cpu{host="a"}"#),
        "series,time,value\n\
         \"cpu{host=a,region=eu-west-1,team=NYC}\",1451606400,10.5\n\
         \"cpu{host=a,region=eu-west-1,team=NYC}\",1451606410,11.5\n\
         \"cpu{host=a,region=eu-west-1,team=NYC}\",1451606420,12.5\n"
    );
    let series_of = |text: String| -> Vec<String> {
        let mut s: Vec<String> = text
            .lines()
            .skip(1)
            .map(|l| {
                l.rsplitn(3, ',')
                    .nth(2)
                    .unwrap()
                    .trim_matches('"')
                    .to_owned()
            })
            .collect();
        s.dedup();
        s
    };
    assert_eq!(
        series_of(csv(r#"cpu{region=~"eu-.*"}"#)),
        [
            "cpu{host=a,region=eu-west-1,team=NYC}",
            "cpu{host=c,region=eu-central-1}"
        ]
    );
    // A missing tag reads as "": host c has no team.
    assert_eq!(
        series_of(csv(r#"cpu{team!="NYC"}"#)),
        [
            "cpu{host=b,region=us-east-1,team=SF}",
            "cpu{host=c,region=eu-central-1}"
        ]
    );
    assert_eq!(
        series_of(csv(r#"cpu{team!~"NYC|SF"}"#)),
        ["cpu{host=c,region=eu-central-1}"]
    );
    assert_eq!(
        series_of(csv(r#"cpu{team=""}"#)),
        ["cpu{host=c,region=eu-central-1}"]
    );
    // No metric: every metric with host=a; values far from 1 print with an exponent.
    let text = csv(r#"{host="a"}"#);
    assert!(text.ends_with("mem{host=a},1451606400,1e300\n"), "{text}");
    assert_eq!(text.lines().count(), 5);
    assert_eq!(series_of(csv(r#"{__name__=~"m.*"}"#)), ["mem{host=a}"]);
    assert_eq!(csv("nothing"), "series,time,value\n");
}

#[test]
fn query_ranges_units_and_formats() {
    let dir = db_dir();
    let d = dir_str(&dir);
    let text = stdout_of(tidestore().args([
        "query",
        d,
        r#"cpu{host="b"}"#,
        "--from",
        "1451606410",
        "--to",
        "1451606420",
        "--format",
        "csv",
    ]));
    assert_eq!(
        text,
        "series,time,value\n\
         \"cpu{host=b,region=us-east-1,team=SF}\",1451606410,21\n\
         \"cpu{host=b,region=us-east-1,team=SF}\",1451606420,22\n"
    );
    // With the unit: RFC 3339 in and out.
    let text = stdout_of(tidestore().args([
        "query",
        d,
        r#"cpu{host="b"}"#,
        "--unit",
        "s",
        "--from",
        "2016-01-01T00:00:05Z",
        "--to",
        "2016-01-01T00:00:10Z",
        "--format",
        "csv",
    ]));
    assert_eq!(
        text,
        "series,time,value\n\"cpu{host=b,region=us-east-1,team=SF}\",2016-01-01T00:00:10Z,21\n"
    );
    // JSON: one object per series.
    let text = stdout_of(tidestore().args(["query", d, r#"cpu{host=~"a|c"}"#, "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            {"series": "cpu{host=a,region=eu-west-1,team=NYC}", "metric": "cpu",
             "tags": {"host": "a", "region": "eu-west-1", "team": "NYC"},
             "points": [[T0, 10.5], [T0 + 10, 11.5], [T0 + 20, 12.5]]},
            {"series": "cpu{host=c,region=eu-central-1}", "metric": "cpu",
             "tags": {"host": "c", "region": "eu-central-1"},
             "points": [[T0, 30.0], [T0 + 10, 31.0], [T0 + 20, 32.0]]}
        ])
    );
    // Table (the default): every point on its own row.
    let text = stdout_of(tidestore().args(["query", d, r#"cpu{host="c"}"#, "--unit", "s"]));
    for want in ["series", "time", "value", "2016-01-01T00:00:20Z", "32"] {
        assert!(text.contains(want), "{want} in\n{text}");
    }
    assert_eq!(
        text.matches("cpu{host=c,region=eu-central-1}").count(),
        3,
        "{text}"
    );
    // Relative times need the unit.
    tidestore()
        .args(["query", d, "cpu", "--from", "-1h"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--from: '-1h' is not an integer timestamp",
        ));
    tidestore()
        .args(["query", d, "cpu", "--from", "-1h", "--unit", "s"])
        .assert()
        .success();
    tidestore()
        .args(["query", d, "cpu", "--from", "20", "--to", "10"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--from (20) is after --to (10)"));
}

#[test]
fn last_prints_the_newest_point_of_each_series() {
    let dir = db_dir();
    let text = stdout_of(tidestore().args([
        "last",
        dir_str(&dir),
        r#"{region=~".+"}"#,
        "--format",
        "csv",
    ]));
    assert_eq!(
        text,
        "series,time,value\n\
         \"cpu{host=a,region=eu-west-1,team=NYC}\",1451606420,12.5\n\
         \"cpu{host=b,region=us-east-1,team=SF}\",1451606420,22\n\
         \"cpu{host=c,region=eu-central-1}\",1451606420,32\n"
    );
    let text = stdout_of(tidestore().args([
        "last",
        dir_str(&dir),
        r#"cpu{host="a"}"#,
        "--to",
        "1451606415",
        "--format",
        "csv",
    ]));
    assert!(text.ends_with(",1451606410,11.5\n"), "{text}");
}

#[test]
fn series_and_cardinality() {
    let dir = db_dir();
    let d = dir_str(&dir);
    assert_eq!(
        stdout_of(tidestore().args(["series", d, "--format", "csv"])),
        "series\n\"cpu{host=a,region=eu-west-1,team=NYC}\"\n\"cpu{host=b,region=us-east-1,team=SF}\"\n\
         \"cpu{host=c,region=eu-central-1}\"\nmem{host=a}\n"
    );
    assert_eq!(
        stdout_of(tidestore().args(["series", d, r#"{host="a"}"#, "--format", "csv"])),
        "series\n\"cpu{host=a,region=eu-west-1,team=NYC}\"\nmem{host=a}\n"
    );
    assert_eq!(
        stdout_of(tidestore().args(["series", d, "--cardinality", "--format", "csv"])),
        "tag,value,series\n__name__,cpu,3\nhost,a,2\n__name__,mem,1\nhost,b,1\nhost,c,1\n\
         region,eu-central-1,1\nregion,eu-west-1,1\nregion,us-east-1,1\nteam,NYC,1\nteam,SF,1\n"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout_of(
        tidestore().args(["series", d, "mem", "--format", "json"]),
    ))
    .unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"series": "mem{host=a}", "metric": "mem", "tags": {"host": "a"}}])
    );
    let table = stdout_of(tidestore().args(["series", d, "--cardinality"]));
    assert!(
        table.contains("__name__") && table.ends_with("4 series\n"),
        "{table}"
    );
}

// ---- plot -----------------------------------------------------------------------

#[test]
fn plot_png_has_the_requested_size_and_is_not_blank() {
    let dir = db_dir();
    let png_path = dir.path().join("chart.png");
    tidestore()
        .args([
            "plot",
            dir_str(&dir),
            "cpu",
            "--unit",
            "s",
            "--width",
            "640",
            "--height",
            "360",
            "-o",
        ])
        .arg(&png_path)
        .assert()
        .success()
        .stderr(predicate::str::contains("3 series, 9 points"));
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (640, 360));
    let pixels = &buf[..info.buffer_size()];
    let step = info.color_type.samples();
    let mut colours: Vec<&[u8]> = pixels.chunks(step).collect();
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 10, "{} colours", colours.len());
    // The palette's first colour (the first line) is there.
    assert!(
        pixels.chunks(step).any(|p| p[..3] == [31, 119, 180]),
        "no pixel of the first line's colour"
    );
}

#[test]
fn plot_svg_parses_and_has_the_title() {
    let dir = db_dir();
    let svg_path = dir.path().join("chart.svg");
    tidestore()
        .args([
            "plot",
            dir_str(&dir),
            r#"cpu{host!="b"}"#,
            "--title",
            "CPU <load> & more",
            "-o",
        ])
        .arg(&svg_path)
        .assert()
        .success();
    let text = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    assert!(texts.contains(&"CPU <load> & more"), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("host=c")),
        "legend: {texts:?}"
    );
    assert!(
        doc.descendants()
            .any(|n| n.has_tag_name("polyline") || n.has_tag_name("path"))
    );
}

#[test]
fn plot_errors() {
    let dir = db_dir();
    tidestore()
        .args(["plot", dir_str(&dir), "cpu", "-o", "chart.jpg"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("must end in .png or .svg"));
    let out = dir.path().join("none.png");
    tidestore()
        .args(["plot", dir_str(&dir), "nothing", "-o"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nothing to draw"));
    assert!(!out.exists());
}

// ---- compact, delete -----------------------------------------------------------

#[test]
fn compact_keeps_every_point_and_delete_removes_a_range() {
    let dir = db_dir();
    let d = dir_str(&dir);
    let before = stdout_of(tidestore().args(["query", d, "{}", "--format", "csv"]));
    tidestore().args(["compact", d]).assert().success();
    assert_eq!(
        stdout_of(tidestore().args(["query", d, "{}", "--format", "csv"])),
        before
    );

    // A regex selector: series by series.
    tidestore()
        .args([
            "delete",
            d,
            r#"cpu{team!="NYC"}"#,
            "--from",
            "1451606410",
            "--to",
            "1451606420",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("from 2 series"));
    let text = stdout_of(tidestore().args(["query", d, "cpu", "--format", "csv"]));
    assert_eq!(text.lines().count(), 1 + 3 + 1 + 1, "{text}");
    // Equalities only: one call per metric.
    tidestore()
        .args(["delete", d, r#"{host="a"}"#, "--all"])
        .assert()
        .success();
    let text = stdout_of(tidestore().args(["query", d, r#"{host="a"}"#, "--format", "csv"]));
    assert_eq!(text, "series,time,value\n");
    let dry = stdout_of(tidestore().args(["delete", d, "cpu", "--all", "--dry-run"]));
    assert_eq!(dry.lines().count(), 3);
    tidestore()
        .args(["delete", d, "cpu"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--from"));
}

// ---- kv -------------------------------------------------------------------------

#[test]
fn kv_round_trips_binary_keys_and_values() {
    let dir = TempDir::new().unwrap();
    let d = dir.path().join("store");
    let kv = |args: &[&str]| {
        let mut c = tidestore();
        c.arg("kv").arg(&d).args(args);
        c
    };
    kv(&["put", "user:1", "ada"]).assert().success();
    kv(&["--hex", "put", "00ff0a5c", "c3a90009"])
        .assert()
        .success();
    kv(&["put", "--cf", "other", "k", "v"]).assert().success();

    assert_eq!(stdout_of(&mut kv(&["get", "user:1"])), "ada\n");
    assert_eq!(
        stdout_of(&mut kv(&["--hex", "get", "00ff0a5c"])),
        "c3a90009\n"
    );
    // Text output escapes whatever is not printable UTF-8.
    assert_eq!(
        stdout_of(&mut kv(&["scan"])),
        "\\0\\xff\\n\\\\\té\\0\\t\nuser:1\tada\n"
    );
    assert_eq!(
        stdout_of(&mut kv(&["scan", "--hex"])),
        "00ff0a5c\tc3a90009\n757365723a31\t616461\n"
    );
    // What scan printed reads back with --escapes.
    assert_eq!(
        stdout_of(&mut kv(&["--escapes", "get", "\\0\\xff\\n\\\\"])),
        "é\\0\\t\n"
    );
    // --raw writes the value's bytes whatever the encoding of the key.
    let raw = kv(&["--hex", "get", "00ff0a5c", "--raw"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(raw, b"\xc3\xa9\x00\x09");
    let raw = kv(&["--escapes", "get", "\\0\\xff\\n\\\\", "--raw"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(raw, b"\xc3\xa9\x00\x09");

    // Values from stdin, byte for byte.
    kv(&["put", "blob", "--value-file", "-"])
        .write_stdin(vec![0u8, 1, 2, 255, b'\n'])
        .assert()
        .success();
    let blob = kv(&["get", "blob", "--raw"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(blob, [0u8, 1, 2, 255, b'\n']);

    assert_eq!(
        stdout_of(&mut kv(&["scan", "--prefix", "user", "--keys-only"])),
        "user:1\n"
    );
    assert_eq!(
        stdout_of(&mut kv(&["scan", "--limit", "1", "--keys-only", "--hex"])),
        "00ff0a5c\n"
    );
    assert_eq!(stdout_of(&mut kv(&["scan", "--cf", "other"])), "k\tv\n");
    assert_eq!(stdout_of(&mut kv(&["cfs"])), "default\nother\n");

    kv(&["delete", "user:1"]).assert().success();
    kv(&["get", "user:1"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(
            "not found: key user:1 in column family default",
        ));
    kv(&["--hex", "get", "zz"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("KEY:"));
    tidestore().arg("compact").arg(&d).assert().success();
    assert_eq!(
        stdout_of(&mut kv(&["get", "--hex", "626c6f62"])),
        "000102ff0a\n"
    );
    assert_eq!(
        stdout_of(&mut kv(&["get", "blob"])),
        "\\0\\x01\\x02\\xff\\n\n"
    );
}

// ---- errors ---------------------------------------------------------------------

#[test]
fn a_missing_directory_is_not_created() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nope");
    for args in [
        vec!["query", "cpu"],
        vec!["series"],
        vec!["compact"],
        vec!["last", "cpu"],
    ] {
        let (cmd, rest) = args.split_first().unwrap();
        tidestore()
            .arg(cmd)
            .arg(&missing)
            .args(rest)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("no such directory"));
    }
    tidestore()
        .arg("kv")
        .arg(&missing)
        .args(["get", "k"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no such directory"));
    assert!(!missing.exists());
    // An empty directory is not a database either.
    tidestore()
        .arg("query")
        .arg(dir.path())
        .arg("cpu")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a tidestore database"));
}

#[test]
fn a_key_value_directory_is_not_read_as_time_series() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.put("default", "k", "v").unwrap();
    store.close().unwrap();
    tidestore()
        .args(["query", dir_str(&dir), "cpu"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "is a tidestore kv::Store directory, not a time-series Db",
        ));
    let ts = db_dir();
    tidestore()
        .args(["kv", dir_str(&ts), "get", "k"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "is a tidestore time-series Db directory, not a kv::Store",
        ));
}

#[test]
fn a_locked_database_is_reported() {
    let dir = db_dir();
    let held = Db::open(dir.path()).unwrap();
    tidestore()
        .args(["query", dir_str(&dir), "cpu"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is locked by another open handle"));
    drop(held);
    tidestore()
        .args(["query", dir_str(&dir), "cpu"])
        .assert()
        .success();
}

#[test]
fn bad_selectors_name_the_column() {
    let dir = db_dir();
    tidestore()
        .args(["query", dir_str(&dir), r#"cpu{host~"a"}"#])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "column 9: expected '=', '!=', '=~' or '!~', found '~'",
        ));
    tidestore()
        .args(["series", dir_str(&dir), r#"cpu{host=~"(a"}"#])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "column 11: invalid regular expression",
        ));
}

#[test]
fn usage_errors_and_unfinished_commands() {
    tidestore().assert().code(2);
    tidestore().arg("frobnicate").assert().code(2);
    tidestore()
        .args(["query", "d", "cpu", "--format", "xml"])
        .assert()
        .code(2);
    let dir = db_dir();
    tidestore()
        .args(["query", dir_str(&dir), "cpu", "--agg", "mean"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--agg is not available in this build yet",
        ));
    tidestore()
        .args([
            "query",
            dir_str(&dir),
            "cpu",
            "--agg",
            "mean",
            "--every",
            "5parsecs",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--every"));
    for cmd in ["stats", "verify"] {
        tidestore()
            .args([cmd, dir_str(&dir)])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("not available in this build yet"));
    }
}

#[test]
fn every_command_explains_itself_with_an_example() {
    for cmd in [
        "import", "query", "last", "plot", "series", "stats", "dump", "verify", "compact",
        "delete", "kv",
    ] {
        tidestore().args([cmd, "--help"]).assert().success().stdout(
            predicate::str::contains("Example").and(predicate::str::contains("tidestore ")),
        );
    }
    tidestore()
        .args(["generate", "tsbs", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Example"));
    tidestore()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit status"));
}

#[test]
fn a_long_series_comes_out_whole() {
    // More points than one scan view holds (16 384), so the scan splits the series.
    let dir = TempDir::new().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let h = db.series("long", &[("k", "v")]).unwrap();
    let ts: Vec<i64> = (0..40_000).collect();
    let vals: Vec<f64> = ts.iter().map(|&t| (t % 97) as f64).collect();
    db.append(&h, &ts, &vals).unwrap();
    db.close().unwrap();
    let d = dir_str(&dir);
    let v: serde_json::Value = serde_json::from_str(&stdout_of(
        tidestore().args(["query", d, "long", "--format", "json"]),
    ))
    .unwrap();
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let points = runs[0]["points"].as_array().unwrap();
    assert_eq!(points.len(), 40_000);
    assert_eq!(
        points[39_999],
        serde_json::json!([39_999, (39_999 % 97) as f64])
    );
    let csv = stdout_of(tidestore().args(["query", d, "long", "--format", "csv"]));
    assert_eq!(csv.lines().count(), 40_001);
    assert_eq!(
        stdout_of(tidestore().args(["last", d, "long", "--format", "csv"])),
        format!("series,time,value\nlong{{k=v}},39999,{}\n", 39_999 % 97)
    );
    let png = dir.path().join("long.png");
    tidestore()
        .args(["plot", d, "long", "-o"])
        .arg(&png)
        .assert()
        .success();
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);
}

#[test]
fn extreme_timestamps_and_values_plot_and_print() {
    let dir = TempDir::new().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let points = [
        (i64::MIN, f64::NAN),
        (-1, f64::NEG_INFINITY),
        (0, -0.0),
        (1, f64::MAX),
        (i64::MAX, f64::MIN_POSITIVE),
    ];
    for (t, v) in points {
        db.insert("x", t, v, &[]).unwrap();
    }
    db.insert("y", i64::MAX, 1.0, &[]).unwrap();
    db.close().unwrap();
    let d = dir_str(&dir);
    assert_eq!(
        stdout_of(tidestore().args(["query", d, "x", "--format", "csv", "--unit", "ns"])),
        "series,time,value\nx,1677-09-21T00:12:43.145224192Z,NaN\n\
         x,1969-12-31T23:59:59.999999999Z,-inf\nx,1970-01-01T00:00:00.000000000Z,-0\n\
         x,1970-01-01T00:00:00.000000001Z,1.7976931348623157e308\n\
         x,2262-04-11T23:47:16.854775807Z,2.2250738585072014e-308\n"
    );
    for unit in ["s", "ns"] {
        for (sel, ext) in [("x", "png"), ("x", "svg"), ("y", "png"), ("{}", "svg")] {
            let out = dir.path().join(format!("c.{ext}"));
            tidestore()
                .args(["plot", d, sel, "--unit", unit, "-o"])
                .arg(&out)
                .assert()
                .success();
        }
    }
    tidestore()
        .args(["plot", d, "x", "-o"])
        .arg(dir.path().join("c.png"))
        .assert()
        .success();
}
