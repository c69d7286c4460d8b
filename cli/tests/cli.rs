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
    wait_unlocked(dir);
}

/// Waits until no process holds the directory lock of `dir`. The tests run in
/// parallel threads, and a child process another thread is spawning holds copies of
/// this process's descriptors (the LOCK file's too) until it execs; a database closed
/// in that window stays locked for a moment, and the binary run next would find it
/// locked.
fn wait_unlocked(dir: &Path) {
    let lock = dir.join("LOCK");
    for _ in 0..500 {
        let free = std::fs::File::open(&lock).map_or(true, |f| f.try_lock().is_ok());
        if free {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{} stays locked", dir.display());
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
    wait_unlocked(dir.path());
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
        .args(["query", dir_str(&dir), r#"{host="a"}"#, "--agg", "mean"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--agg needs a metric name in the selector",
        ));
    tidestore()
        .args(["query", dir_str(&dir), "cpu", "--agg", "p101"])
        .assert()
        .code(2);
    tidestore()
        .args(["query", dir_str(&dir), "cpu", "--where", "5..1"])
        .assert()
        .code(2);
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
    tidestore()
        .args(["dump", dir_str(&dir), "CURRENT"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("dump shows segments"));
    tidestore()
        .args(["stats", dir_str(&dir), "--format", "xml"])
        .assert()
        .code(2);
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
    wait_unlocked(dir.path());
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
    wait_unlocked(dir.path());
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

// ---- stats, dump, verify -----------------------------------------------------------

/// A database with a flushed segment (2 series x 600 points, one of them constant)
/// and a few points left in the WAL.
fn flushed_db(dir: &Path) {
    let db = Db::open(dir).unwrap();
    for t in 0..600 {
        db.insert("cpu", T0 + t, 1.5, &[("host", "a")]).unwrap();
        db.insert("cpu", T0 + t, (t % 13) as f64, &[("host", "b")])
            .unwrap();
    }
    db.flush().unwrap();
    db.insert("cpu", T0 + 1000, 9.0, &[("host", "a")]).unwrap();
    db.close().unwrap();
    wait_unlocked(dir);
}

/// A store with a flushed table (300 keys, 10 deleted) and one more put in the WAL.
fn flushed_store(dir: &Path) {
    let store = Store::open(dir).unwrap();
    for i in 0..300u32 {
        store
            .put("default", format!("key{i:04}"), [7u8; 30])
            .unwrap();
    }
    for i in 0..10u32 {
        store.delete("default", format!("key{i:04}")).unwrap();
    }
    store.flush().unwrap();
    store.put("other", "late", "v").unwrap();
    store.close().unwrap();
    wait_unlocked(dir);
}

fn file_with_suffix(dir: &Path, suffix: &str) -> String {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.ends_with(suffix))
        .unwrap()
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn verify_passes_on_good_databases_and_fails_with_3_naming_the_damaged_file() {
    for (make, suffix) in [
        (flushed_db as fn(&Path), ".seg"),
        (flushed_store as fn(&Path), ".sst"),
    ] {
        let dir = TempDir::new().unwrap();
        make(dir.path());
        let out = stdout_of(tidestore().args(["verify", dir_str(&dir)]));
        assert!(out.contains("intact"), "{out}");
        let name = file_with_suffix(dir.path(), suffix);
        // A byte inside the first data block or chunk.
        flip_byte(&dir.path().join(&name), 20);
        tidestore()
            .args(["verify", dir_str(&dir)])
            .assert()
            .code(3)
            .stdout(
                predicate::str::contains(format!("damage: {}", dir.path().join(&name).display()))
                    .and(predicate::str::contains(" at byte "))
                    .and(predicate::str::contains("DAMAGED (1 files)")),
            )
            .stderr(predicate::str::contains(&name).and(predicate::str::contains("is damaged")));
    }
    // Damage in the manifest of a time-series database, and a missing directory.
    let dir = TempDir::new().unwrap();
    flushed_db(dir.path());
    let manifest = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("MANIFEST-"))
        .unwrap();
    flip_byte(&dir.path().join(&manifest), 12);
    tidestore()
        .args(["verify", dir_str(&dir)])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(&manifest));
    tidestore()
        .args(["verify"])
        .arg(dir.path().join("nope"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no such directory"));
}

#[test]
fn verify_warns_about_files_the_manifest_does_not_list() {
    let dir = TempDir::new().unwrap();
    flushed_db(dir.path());
    std::fs::write(dir.path().join("stray.txt"), "x").unwrap();
    let out = stdout_of(tidestore().args(["verify", dir_str(&dir)]));
    assert!(
        out.contains("warning: ") && out.contains("stray.txt"),
        "{out}"
    );
    assert!(out.contains("intact, 1 warnings"), "{out}");
}

#[test]
fn stats_in_every_format_for_both_kinds() {
    let ts = TempDir::new().unwrap();
    flushed_db(ts.path());
    let json: serde_json::Value = serde_json::from_str(&stdout_of(tidestore().args([
        "stats",
        dir_str(&ts),
        "--format",
        "json",
    ])))
    .unwrap();
    let summary = |json: &serde_json::Value, name: &str| {
        json["summary"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(summary(&json, "points"), 1200);
    assert_eq!(summary(&json, "series"), 2);
    assert_eq!(summary(&json, "wal points"), 1);
    assert_eq!(summary(&json, "first timestamp"), T0);
    assert_eq!(json["segments"].as_array().unwrap().len(), 1);
    let values: Vec<&str> = json["codecs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["column"] == "values")
        .map(|c| c["codec"].as_str().unwrap())
        .collect();
    assert!(values.contains(&"constant"), "{values:?}");
    let csv = stdout_of(tidestore().args(["stats", dir_str(&ts), "--format", "csv"]));
    assert!(
        csv.starts_with("name,value\nkind,time-series\npoints,1200\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\n\ncolumn,codec,chunks,points,bytes\n"),
        "{csv}"
    );
    let table = stdout_of(tidestore().args(["stats", dir_str(&ts)]));
    assert!(
        table.contains("segments:") && table.contains("segment bytes per point"),
        "{table}"
    );

    let kv = TempDir::new().unwrap();
    flushed_store(kv.path());
    let json: serde_json::Value = serde_json::from_str(&stdout_of(tidestore().args([
        "stats",
        dir_str(&kv),
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(summary(&json, "entries"), 300);
    assert_eq!(summary(&json, "tombstones"), 10);
    assert_eq!(summary(&json, "wal operations"), 1);
    let names: Vec<&str> = json["column families"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "other"]);
    let csv = stdout_of(tidestore().args(["stats", dir_str(&kv), "--format", "csv"]));
    assert!(
        csv.contains("level,tables,entries,bytes\n0,1,300,"),
        "{csv}"
    );
    let table = stdout_of(tidestore().args(["stats", dir_str(&kv)]));
    assert!(
        table.contains("key-value") && table.contains("tables:"),
        "{table}"
    );
}

#[test]
fn dump_shows_a_segment_and_a_table_in_every_format() {
    let ts = TempDir::new().unwrap();
    flushed_db(ts.path());
    let seg = file_with_suffix(ts.path(), ".seg");
    let json: serde_json::Value = serde_json::from_str(&stdout_of(tidestore().args([
        "dump",
        dir_str(&ts),
        &seg,
        "--format",
        "json",
    ])))
    .unwrap();
    let chunks = json["chunks"].as_array().unwrap();
    // 600 points per series in chunks of at most 4096: one chunk each.
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[0]["series"], "cpu{host=a}");
    assert_eq!(chunks[0]["points"], 600);
    assert_eq!(chunks[0]["value codec"], "constant");
    assert_eq!(chunks[0]["offset"], 16);
    assert_eq!(chunks[0]["min"], 1.5);
    let csv = stdout_of(tidestore().args(["dump", dir_str(&ts), &seg, "--format", "csv"]));
    assert!(csv.contains("\nchunk,series id,series,points,"), "{csv}");
    assert!(csv.contains("\n0,0,cpu{host=a},600,"), "{csv}");
    let table = stdout_of(tidestore().args(["dump", dir_str(&ts), &seg]));
    assert!(
        table.contains("chunk index") && (table.contains("lanes") || table.contains("deltas")),
        "{table}"
    );

    let kv = TempDir::new().unwrap();
    flushed_store(kv.path());
    let sst = file_with_suffix(kv.path(), ".sst");
    let json: serde_json::Value = serde_json::from_str(&stdout_of(tidestore().args([
        "dump",
        dir_str(&kv),
        &sst,
        "--format",
        "json",
    ])))
    .unwrap();
    let blocks = json["data blocks"].as_array().unwrap();
    let entries: u64 = blocks.iter().map(|b| b["entries"].as_u64().unwrap()).sum();
    assert_eq!(entries, 300);
    assert_eq!(blocks[0]["first key"], "1:key0000");
    let csv = stdout_of(tidestore().args(["dump", dir_str(&kv), &sst, "--format", "csv"]));
    assert!(csv.contains("\nfilter,"), "{csv}");
    let table = stdout_of(tidestore().args(["dump", dir_str(&kv), &sst]));
    assert!(table.contains("bloom probes"), "{table}");
    tidestore()
        .args(["dump", dir_str(&kv), "000999.sst"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no such file"));
}

// ---- import, aggregation -------------------------------------------------------

/// Line protocol with timestamps in seconds: two fields (one an integer) and a string
/// field, two cities.
const WEATHER_LP: &str = "\
weather,city=Oslo temp=1.5,hum=80i 1451606400
weather,city=Oslo temp=2.5,hum=82i 1451606460
weather,city=Rome temp=15,note=\"sunny\" 1451606400
";

/// The same points of `weather_temp` as long CSV.
const WEATHER_CSV: &str = "\
metric,timestamp,value,city
weather_temp,1451606400,1.5,Oslo
weather_temp,1451606460,2.5,Oslo
weather_temp,1451606400,15,Rome
";

fn import_ok(db: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut cmd = tidestore();
    cmd.arg("import").arg(db).args(args);
    if let Some(text) = stdin {
        cmd.write_stdin(text);
    }
    let out = cmd.assert().success().get_output().stderr.clone();
    String::from_utf8(out).unwrap()
}

/// `weather_temp` in `db` must be exactly the three points above, in every format.
fn assert_weather_temp(db: &Path) {
    let d = db.to_str().unwrap();
    let csv = stdout_of(tidestore().args(["query", d, "weather_temp", "--format", "csv"]));
    assert_eq!(
        csv,
        "series,time,value\n\
         weather_temp{city=Oslo},1451606400,1.5\n\
         weather_temp{city=Oslo},1451606460,2.5\n\
         weather_temp{city=Rome},1451606400,15\n"
    );
    let json = stdout_of(tidestore().args([
        "query",
        d,
        "weather_temp",
        "--format",
        "json",
        "--unit",
        "s",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            {"series": "weather_temp{city=Oslo}", "metric": "weather_temp",
             "tags": {"city": "Oslo"},
             "points": [["2016-01-01T00:00:00Z", 1.5], ["2016-01-01T00:01:00Z", 2.5]]},
            {"series": "weather_temp{city=Rome}", "metric": "weather_temp",
             "tags": {"city": "Rome"},
             "points": [["2016-01-01T00:00:00Z", 15.0]]}
        ])
    );
    let table = stdout_of(tidestore().args(["query", d, "weather_temp"]));
    let rows: Vec<Vec<&str>> = table
        .lines()
        .filter(|l| l.contains("weather_temp"))
        .map(|l| {
            l.split(['│', '┆'])
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        rows,
        [
            ["weather_temp{city=Oslo}", "1451606400", "1.5"],
            ["weather_temp{city=Oslo}", "1451606460", "2.5"],
            ["weather_temp{city=Rome}", "1451606400", "15"],
        ]
    );
}

#[test]
fn import_line_protocol_then_query_in_every_format() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("weather.lp");
    std::fs::write(&file, WEATHER_LP).unwrap();
    let db = dir.path().join("db");
    let stderr = import_ok(&db, &[file.to_str().unwrap(), "--precision", "s"], None);
    assert!(
        stderr.contains("imported 3 lines, 5 points, 1 string fields skipped, 0 bad lines"),
        "{stderr}"
    );
    assert_weather_temp(&db);
    let hum = stdout_of(
        tidestore()
            .arg("query")
            .arg(&db)
            .args(["weather_hum", "--format", "csv"]),
    );
    assert_eq!(
        hum,
        "series,time,value\n\
         weather_hum{city=Oslo},1451606400,80\n\
         weather_hum{city=Oslo},1451606460,82\n"
    );
    // --quiet: no summary.
    let db2 = dir.path().join("db2");
    let stderr = import_ok(&db2, &["--quiet", file.to_str().unwrap()], None);
    assert_eq!(stderr, "");
}

#[test]
fn import_csv_by_extension_flag_and_stdin() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("weather.csv");
    std::fs::write(&file, WEATHER_CSV).unwrap();
    let db = dir.path().join("by_extension");
    let stderr = import_ok(&db, &[file.to_str().unwrap()], None);
    assert!(stderr.contains("imported 3 lines, 3 points"), "{stderr}");
    assert_weather_temp(&db);
    // CSV from stdin needs --format.
    let db = dir.path().join("stdin_csv");
    import_ok(&db, &["-", "--format", "csv"], Some(WEATHER_CSV));
    assert_weather_temp(&db);
    // Line protocol from stdin.
    let db = dir.path().join("stdin_lp");
    import_ok(&db, &["-"], Some(WEATHER_LP));
    assert_weather_temp(&db);
    // The wide layout: one column per metric, a tag column.
    let wide = "timestamp,city,weather_temp\n\
                1451606400,Oslo,1.5\n\
                1451606460,Oslo,2.5\n\
                1451606400,Rome,15\n";
    let db = dir.path().join("wide");
    import_ok(
        &db,
        &[
            "-",
            "--format",
            "csv",
            "--csv-layout",
            "wide",
            "--tag-columns",
            "city",
        ],
        Some(wide),
    );
    assert_weather_temp(&db);
    // A flag of the other layout is a usage error.
    tidestore()
        .arg("import")
        .arg(dir.path().join("x"))
        .args(["-", "--csv-layout", "wide", "--metric-column", "m"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("long CSV layout only"));
}

#[test]
fn import_stops_at_a_bad_line_writing_nothing() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("bad.lp");
    std::fs::write(
        &file,
        "cpu,host=a usage=1 10\ncpu,host=a usage= 20\ncpu,host=a usage=2 30\n",
    )
    .unwrap();
    let db = dir.path().join("db");
    tidestore()
        .arg("import")
        .arg(&db)
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "bad.lp: line 2, column 18: expected a field value",
        ))
        .stderr(predicate::str::contains("nothing of it was written"));
    let text = stdout_of(
        tidestore()
            .arg("query")
            .arg(&db)
            .args(["cpu_usage", "--format", "csv"]),
    );
    assert_eq!(text, "series,time,value\n");
    let db = Db::open(&db).unwrap();
    assert!(db.query_metric("cpu_usage").unwrap().is_empty());
}

#[test]
fn import_skip_invalid_reports_bad_lines_and_goes_on() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("bad.lp");
    std::fs::write(
        &file,
        "cpu,host=a usage=1 10\ncpu,host=a usage= 20\ncpu,host=a usage=2 30\nno fields here\n",
    )
    .unwrap();
    let db = dir.path().join("db");
    let stderr = import_ok(&db, &[file.to_str().unwrap(), "--skip-invalid"], None);
    assert!(
        stderr.contains("bad.lp: line 2, column 18: expected a field value"),
        "{stderr}"
    );
    assert!(stderr.contains("bad.lp: line 4, column "), "{stderr}");
    assert!(
        stderr.contains("2 points, 0 string fields skipped, 2 bad lines"),
        "{stderr}"
    );
    let text = stdout_of(
        tidestore()
            .arg("query")
            .arg(&db)
            .args(["cpu_usage", "--format", "csv"]),
    );
    assert_eq!(
        text,
        "series,time,value\ncpu_usage{host=a},10,1\ncpu_usage{host=a},30,2\n"
    );
}

#[test]
fn import_errors() {
    let dir = TempDir::new().unwrap();
    tidestore()
        .arg("import")
        .arg(dir.path().join("db"))
        .arg(dir.path().join("missing.lp"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing.lp: no such file"));
    assert!(!dir.path().join("db").exists());
    // A directory that holds something else is not taken over.
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    tidestore()
        .arg("import")
        .arg(dir.path())
        .arg("-")
        .write_stdin("cpu v=1 1\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a tidestore database"));
}

/// The groups of `query --agg ... --format csv` as (series, time, value) rows.
fn agg_rows(args: &[&str]) -> Vec<(String, i64, f64)> {
    let text = stdout_of(
        tidestore()
            .arg("query")
            .args(args)
            .args(["--format", "csv"]),
    );
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("series,time,value"));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .skip(1)
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_string(),
                r[1].parse().unwrap(),
                r[2].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn query_agg_with_every_and_group_by() {
    let dir = db_dir();
    let d = dir_str(&dir);
    let (t0, t20) = (T0, T0 + 20);
    let from = T0.to_string();
    // Windows of 20 s from T0 (a multiple of 20): [T0, T0+10] and [T0+20].
    let rows = agg_rows(&[
        d,
        "cpu",
        "--agg",
        "sum",
        "--every",
        "20",
        "--group-by",
        "team",
    ]);
    assert_eq!(
        rows,
        [
            ("cpu".to_string(), t0, 61.0), // host c has no team: 30 + 31
            ("cpu".to_string(), t20, 32.0),
            ("cpu{team=NYC}".to_string(), t0, 22.0), // 10.5 + 11.5
            ("cpu{team=NYC}".to_string(), t20, 12.5),
            ("cpu{team=SF}".to_string(), t0, 41.0),
            ("cpu{team=SF}".to_string(), t20, 22.0),
        ]
    );
    // One group of every series; one window from --from.
    let rows = agg_rows(&[
        d,
        "cpu",
        "--agg",
        "count",
        "--group-by",
        "",
        "--from",
        &from,
    ]);
    assert_eq!(rows, [("cpu".to_string(), t0, 9.0)]);
    // Default: one group per series; matchers of every kind; --where before --agg.
    let rows = agg_rows(&[
        d,
        r#"cpu{region=~"eu-.*",team!="SF",host!~"x|y"}"#,
        "--agg",
        "max",
        "--from",
        &from,
        "--where",
        "<31",
    ]);
    assert_eq!(
        rows,
        [
            (
                "cpu{host=a,region=eu-west-1,team=NYC}".to_string(),
                t0,
                12.5
            ),
            ("cpu{host=c,region=eu-central-1}".to_string(), t0, 30.0),
        ]
    );
    // Percentiles and --every in a unit: 20.5 between 20 and 21, the middle of six.
    let text = stdout_of(tidestore().args([
        "query",
        d,
        "cpu",
        "--agg",
        "p50",
        "--every",
        "20s",
        "--unit",
        "s",
        "--group-by",
        "",
        "--format",
        "csv",
    ]));
    assert_eq!(
        text,
        "series,time,value\n\
         cpu,2016-01-01T00:00:00Z,20.5\n\
         cpu,2016-01-01T00:00:20Z,22\n"
    );
    // Without --from and --every the one window starts at the beginning of time:
    // an empty time (JSON: null).
    let text = stdout_of(tidestore().args([
        "query",
        d,
        r#"cpu{host="b"}"#,
        "--agg",
        "last",
        "--format",
        "csv",
    ]));
    assert_eq!(
        text,
        "series,time,value\n\"cpu{host=b,region=us-east-1,team=SF}\",,22\n"
    );
    let json = stdout_of(tidestore().args([
        "query",
        d,
        r#"cpu{host="b"}"#,
        "--agg",
        "first",
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["points"], serde_json::json!([[null, 20.0]]));
    // A __name__ matcher that rules the metric out: nothing.
    let rows = agg_rows(&[d, r#"cpu{__name__!="cpu"}"#, "--agg", "count"]);
    assert!(rows.is_empty());
    // JSON: one object per group with the group's tags.
    let json = stdout_of(tidestore().args([
        "query",
        d,
        "cpu",
        "--agg",
        "min",
        "--group-by",
        "team",
        "--from",
        &from,
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            {"series": "cpu", "metric": "cpu", "tags": {}, "points": [[T0, 30.0]]},
            {"series": "cpu{team=NYC}", "metric": "cpu", "tags": {"team": "NYC"},
             "points": [[T0, 10.5]]},
            {"series": "cpu{team=SF}", "metric": "cpu", "tags": {"team": "SF"},
             "points": [[T0, 20.0]]},
        ])
    );
}

#[test]
fn query_where_filters_raw_points() {
    let dir = db_dir();
    let text = stdout_of(tidestore().args([
        "query",
        dir_str(&dir),
        "cpu",
        "--where",
        "11..21",
        "--format",
        "csv",
    ]));
    assert_eq!(
        text,
        "series,time,value\n\
         \"cpu{host=a,region=eu-west-1,team=NYC}\",1451606410,11.5\n\
         \"cpu{host=a,region=eu-west-1,team=NYC}\",1451606420,12.5\n\
         \"cpu{host=b,region=us-east-1,team=SF}\",1451606400,20\n\
         \"cpu{host=b,region=us-east-1,team=SF}\",1451606410,21\n"
    );
}

#[test]
fn last_through_the_engine_matches_the_scan() {
    let dir = db_dir();
    let d = dir_str(&dir);
    // With a metric and no range: Db::last.
    let engine = stdout_of(tidestore().args(["last", d, r#"cpu{team!="SF"}"#, "--format", "csv"]));
    assert_eq!(
        engine,
        "series,time,value\n\
         \"cpu{host=a,region=eu-west-1,team=NYC}\",1451606420,12.5\n\
         \"cpu{host=c,region=eu-central-1}\",1451606420,32\n"
    );
    // With a range: the scan, same answer.
    let scan = stdout_of(tidestore().args([
        "last",
        d,
        r#"cpu{team!="SF"}"#,
        "--from",
        "0",
        "--format",
        "csv",
    ]));
    assert_eq!(scan, engine);
    let json = stdout_of(tidestore().args(["last", d, "mem", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["points"], serde_json::json!([[T0, 1e300]]));
}

#[test]
fn plot_agg_draws_one_line_per_group() {
    let dir = db_dir();
    let png_path = dir.path().join("agg.png");
    tidestore()
        .args([
            "plot",
            dir_str(&dir),
            "cpu",
            "--agg",
            "mean",
            "--every",
            "10s",
            "--group-by",
            "team",
            "--unit",
            "s",
            "--width",
            "500",
            "--height",
            "300",
            "-o",
        ])
        .arg(&png_path)
        .assert()
        .success()
        .stderr(predicate::str::contains("3 groups, 9 points"));
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (500, 300));
    let step = info.color_type.samples();
    assert!(
        buf[..info.buffer_size()]
            .chunks(step)
            .any(|p| p[..3] == [31, 119, 180]),
        "no pixel of the first line's colour"
    );
    tidestore()
        .args(["plot", dir_str(&dir), "{}", "--agg", "mean", "-o", "x.png"])
        .assert()
        .code(2);
    tidestore()
        .args(["plot", dir_str(&dir), "cpu", "--agg", "mean", "-o", "x.png"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("plot --agg needs --every"));
}
