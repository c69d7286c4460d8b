//! The command tree (clap derive): every command, its arguments, and its `--help`
//! with an example.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::Format;
use crate::time::Unit;

const EXIT_CODES: &str = "\
Exit status: 0 success; 1 runtime error (I/O, locked or damaged database, wrong kind of
directory); 2 usage error (bad arguments, selector, time or duration); 3 verify found
damage; 4 kv get found no such key.

Selectors are PromQL-style: cpu_usage_user{hostname=\"host_1\",region=~\"eu-.*\",team!=\"NYC\"}.
Times are integers, or (with --unit) RFC 3339, 'now', '-1h', 'now-30m'.
See docs/cli.md for every command.";

/// The tidestore command-line tool: load, query, plot and inspect tidestore databases.
#[derive(Debug, Parser)]
#[command(name = "tidestore", version, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
    /// No progress bars or summaries on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load line protocol or CSV files into a time-series database.
    #[command(
        after_help = "Example:\n  tidestore generate tsbs --hosts 10 --hours 24 > cpu.lp\n  \
                            tidestore import ./metrics cpu.lp --precision ns\n  \
                            gzip -dc cpu.lp.gz | tidestore import ./metrics - --skip-invalid\n  \
                            tidestore import ./metrics data.csv --csv-layout wide --tag-columns host\n\n\
                            Bad lines stop the import (exit status 1, naming the file, line and column); \
                            the points committed before stay written."
    )]
    Import(ImportArgs),
    /// Print the points of the series a selector matches, or with --agg their
    /// aggregates per group and window.
    #[command(
        after_help = "Examples:\n  tidestore query ./metrics 'cpu_usage_user{hostname=\"host_1\"}' \
                            --unit ns --from 2016-01-01T00:00:00Z --to 2016-01-01T01:00:00Z\n  \
                            tidestore query ./metrics '{region=~\"eu-.*\"}' --format csv > eu.csv\n  \
                            tidestore query ./metrics cpu_usage_user --agg mean --every 1h --group-by region --unit ns\n  \
                            tidestore query ./metrics cpu_usage_idle --agg p99 --where '>5' --format json"
    )]
    Query(QueryArgs),
    /// Print the newest point of each series a selector matches.
    #[command(
        after_help = "Example:\n  tidestore last ./metrics 'cpu_usage_idle{team=\"NYC\"}' --unit ns"
    )]
    Last(LastArgs),
    /// Draw the series a selector matches (or with --agg their aggregates, a line per
    /// group) as a PNG or SVG line chart.
    #[command(
        after_help = "Example:\n  tidestore plot ./metrics 'cpu_usage_user{hostname=~\"host_[0-3]\"}' \
                            --unit ns -o chart.png --title 'CPU user'\n  \
                            tidestore plot ./metrics cpu_usage_user --agg max --every 10m --group-by region \
                            --unit ns -o chart.svg"
    )]
    Plot(PlotArgs),
    /// List series keys, or count series per tag key and value.
    #[command(
        after_help = "Examples:\n  tidestore series ./metrics 'cpu_usage_user{region=\"eu-west-1\"}'\n  \
                            tidestore series ./metrics --cardinality"
    )]
    Series(SeriesArgs),
    /// Counts and sizes of a database of either kind: points, series, segments and
    /// their time ranges, chunk codecs, bytes per kind of file (time series); column
    /// families, levels, tables, entries (key-value).
    #[command(after_help = "Examples:\n  tidestore stats ./metrics\n  \
                            tidestore stats ./store --format json")]
    Stats(StatsArgs),
    /// Show the layout of one segment (*.seg) or SSTable (*.sst): sections, chunk
    /// index with codecs and sizes, or blocks, index and Bloom filter.
    #[command(after_help = "Examples:\n  tidestore dump ./metrics 000012.seg\n  \
                            tidestore dump ./store 000007.sst --format csv")]
    Dump(DumpArgs),
    /// Read every file of a database of either kind and check every checksum and
    /// invariant, without changing anything. Exit status 3 on damage, naming the file
    /// and byte offset; files the manifest does not list are warnings.
    #[command(after_help = "Example:\n  tidestore verify ./metrics && echo intact")]
    Verify(VerifyArgs),
    /// Compact a database (time-series or key-value) and wait for it.
    #[command(after_help = "Example:\n  tidestore compact ./metrics")]
    Compact(CompactArgs),
    /// Delete the points of the matching series in a time range.
    #[command(
        after_help = "Examples:\n  tidestore delete ./metrics 'cpu_usage_user{hostname=\"host_1\"}' \
                            --from 0 --to 1451606400000000000\n  \
                            tidestore delete ./metrics '{team=\"NYC\"}' --all --dry-run"
    )]
    Delete(DeleteArgs),
    /// Read and write a key-value store.
    #[command(
        after_help = "Examples:\n  tidestore kv ./store put user:1 '{\"name\":\"ada\"}'\n  \
                            tidestore kv ./store get user:1\n  \
                            tidestore kv ./store scan --prefix user:\n  \
                            tidestore kv ./store --hex put 00ff 0a0b\n  \
                            tidestore kv ./store cfs"
    )]
    Kv(KvArgs),
    /// Generate benchmark data on stdout.
    #[command(subcommand)]
    Generate(GenerateCommand),
}

/// A time-series database directory.
#[derive(Debug, Args)]
pub struct DbDir {
    /// The database directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// The time range and the unit of the database's timestamps.
#[derive(Debug, Args, Clone)]
pub struct Range {
    /// Start of the range, inclusive: an integer, or with --unit an RFC 3339 time,
    /// a date, 'now' or a relative time like -1h. Default: the beginning.
    #[arg(long, allow_hyphen_values = true, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the range, inclusive (same forms as --from). Default: the end.
    #[arg(long, allow_hyphen_values = true, value_name = "TIME")]
    pub to: Option<String>,
    /// The unit of the database's timestamps: enables RFC 3339 and relative times and
    /// prints timestamps as RFC 3339.
    #[arg(long, value_enum, env = "TIDESTORE_UNIT")]
    pub unit: Option<Unit>,
}

/// Aggregation options (of query and plot).
#[derive(Debug, Args, Clone)]
pub struct Aggregation {
    /// Aggregate the points of each group and window with this function: count, sum,
    /// min, max, mean (or avg), first, last, stddev, median, or a percentile pNN
    /// (p50, p99, p99.9).
    #[arg(long, value_parser = parse_aggregation, value_name = "FUNCTION")]
    pub agg: Option<tidestore::ts::Aggregation>,
    /// Window width for --agg: '60s', '1m', '1h', '1d' (needs --unit) or an integer
    /// in the database's unit; windows are aligned on the epoch and each prints at its
    /// start. Default: one window for the whole range, printed at --from (with an
    /// empty time when --from is not given).
    #[arg(long, requires = "agg", value_name = "DURATION")]
    pub every: Option<String>,
    /// Group by these tag keys (comma-separated) for --agg: one result per distinct
    /// combination of their values. Default: one group per series; '' makes one group
    /// of every matching series.
    #[arg(long, requires = "agg", value_delimiter = ',', value_name = "TAGS")]
    pub group_by: Option<Vec<String>>,
}

/// `--agg`: an aggregation by its engine name.
fn parse_aggregation(s: &str) -> Result<tidestore::ts::Aggregation, String> {
    let a: tidestore::ts::Aggregation = s.parse().map_err(|e: tidestore::Error| {
        format!("{e} (count, sum, min, max, mean, first, last, stddev, median, pNN)")
    })?;
    a.validate().map_err(|e| e.to_string())?;
    Ok(a)
}

/// A value predicate (`--where`).
#[derive(Debug, Args, Clone)]
pub struct ValueWhere {
    /// Keep only the points whose value passes: '>90', '>=90', '<10', '<=10', or
    /// '10..90' (both ends inclusive). Given twice, both must hold. Applied before
    /// --agg.
    #[arg(
        long = "where",
        allow_hyphen_values = true,
        value_parser = crate::value_filter::parse,
        value_name = "PREDICATE"
    )]
    pub value_where: Vec<tidestore::ts::ValueFilter>,
}

/// `query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub db: DbDir,
    /// The series selector, e.g. 'cpu_usage_user{hostname="host_1"}'.
    pub selector: String,
    #[command(flatten)]
    pub range: Range,
    #[command(flatten)]
    pub aggregation: Aggregation,
    #[command(flatten)]
    pub value_where: ValueWhere,
    /// The output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `last`.
#[derive(Debug, Args)]
pub struct LastArgs {
    #[command(flatten)]
    pub db: DbDir,
    /// The series selector.
    pub selector: String,
    #[command(flatten)]
    pub range: Range,
    /// The output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    #[command(flatten)]
    pub db: DbDir,
    /// The series selector.
    pub selector: String,
    #[command(flatten)]
    pub range: Range,
    #[command(flatten)]
    pub aggregation: Aggregation,
    #[command(flatten)]
    pub value_where: ValueWhere,
    /// The chart file: .png or .svg.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// The chart's title. Default: the selector.
    #[arg(long)]
    pub title: Option<String>,
    /// Width in pixels.
    #[arg(long, default_value_t = 1200, value_parser = clap::value_parser!(u32).range(200..=8000))]
    pub width: u32,
    /// Height in pixels.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(150..=8000))]
    pub height: u32,
}

/// `series`.
#[derive(Debug, Args)]
pub struct SeriesArgs {
    #[command(flatten)]
    pub db: DbDir,
    /// Only the series this selector matches. Default: every series.
    pub selector: Option<String>,
    /// Count series per tag key and value (and per metric, as __name__), most first.
    #[arg(long)]
    pub cardinality: bool,
    /// The output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub db: DbDir,
    /// The output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    #[command(flatten)]
    pub db: DbDir,
    /// The file to show (a segment `*.seg` or an SSTable `*.sst`), by name or path.
    pub file: PathBuf,
    /// The output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub db: DbDir,
}

/// `compact`.
#[derive(Debug, Args)]
pub struct CompactArgs {
    #[command(flatten)]
    pub db: DbDir,
}

/// `delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub db: DbDir,
    /// The series selector.
    pub selector: String,
    /// Start of the range, inclusive (as for query).
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "TIME",
        required_unless_present = "all"
    )]
    pub from: Option<String>,
    /// End of the range, inclusive (as for query).
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "TIME",
        required_unless_present = "all"
    )]
    pub to: Option<String>,
    /// Delete every point of the matching series (instead of --from/--to).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub all: bool,
    /// The unit of the database's timestamps (as for query).
    #[arg(long, value_enum, env = "TIDESTORE_UNIT")]
    pub unit: Option<Unit>,
    /// Only list the series that would be hit.
    #[arg(long)]
    pub dry_run: bool,
}

/// Input formats of import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// InfluxDB line protocol.
    Lp,
    /// CSV with a header.
    Csv,
}

/// CSV layouts of import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CsvLayout {
    /// One point per row: metric, timestamp and value columns, the others tags.
    Long,
    /// One row per time and tag set: a timestamp column, the --tag-columns, and every
    /// other column a metric.
    Wide,
}

/// `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub db: DbDir,
    /// Files to load, in order; '-' reads stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The input format. Default: by extension (.csv is CSV, anything else line
    /// protocol; stdin is line protocol).
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// The unit of the input's timestamps (stored as written; it sets what 'now' is
    /// for a line without a timestamp and how CSV's RFC 3339 times convert).
    #[arg(long, value_enum, default_value_t = Unit::Ns)]
    pub precision: Unit,
    /// Report bad lines on stderr (file, line, column, message) and go on instead of
    /// stopping at the first.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Commit every this many points (each commit is atomic).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..), value_name = "POINTS")]
    pub commit_every: u64,
    #[command(flatten)]
    pub csv: CsvArgs,
}

/// The CSV options of import.
#[derive(Debug, Args)]
pub struct CsvArgs {
    /// CSV: the layout.
    #[arg(long, value_enum, default_value_t = CsvLayout::Long)]
    pub csv_layout: CsvLayout,
    /// CSV: the timestamp column's header.
    #[arg(long, default_value = "timestamp", value_name = "NAME")]
    pub timestamp_column: String,
    /// CSV, long layout: the metric column's header.
    #[arg(long, value_name = "NAME")]
    pub metric_column: Option<String>,
    /// CSV, long layout: the value column's header.
    #[arg(long, value_name = "NAME")]
    pub value_column: Option<String>,
    /// CSV: the tag columns (comma-separated). Long: only these are tags (default:
    /// every other column). Wide: these are the tags (default: none).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub tag_columns: Option<Vec<String>>,
    /// CSV: columns to skip (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub ignore_columns: Vec<String>,
    /// CSV, wide layout: name the metric of column c MEASUREMENT_c, as line protocol
    /// names fields.
    #[arg(long, value_name = "MEASUREMENT")]
    pub measurement: Option<String>,
    /// CSV: the cell delimiter (one ASCII character; 'tab' for a tab).
    #[arg(long, default_value = ",", value_name = "CHAR")]
    pub delimiter: String,
}

/// `kv`.
#[derive(Debug, Args)]
pub struct KvArgs {
    /// The key-value store directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The column family.
    #[arg(long, global = true, default_value = "default", value_name = "NAME")]
    pub cf: String,
    /// Keys and values are given and printed as hex.
    #[arg(long, global = true, conflicts_with = "escapes")]
    pub hex: bool,
    /// Keys and values given on the command line use the escapes output uses (\\ \n
    /// \t \r \0 \xNN).
    #[arg(long, global = true)]
    pub escapes: bool,
    /// The operation.
    #[command(subcommand)]
    pub op: KvOp,
}

/// `kv` operations.
#[derive(Debug, Subcommand)]
pub enum KvOp {
    /// Print the value of a key (exit status 4 if there is none).
    Get {
        /// The key.
        key: String,
        /// Write the value's raw bytes, with no newline (--hex and --escapes then
        /// apply to the key only).
        #[arg(long)]
        raw: bool,
    },
    /// Set a key to a value (creates the store if needed).
    Put {
        /// The key.
        key: String,
        /// The value (or use --value-file).
        #[arg(required_unless_present = "value_file", conflicts_with = "value_file")]
        value: Option<String>,
        /// Read the value's raw bytes from this file ('-' for stdin).
        #[arg(long, value_name = "FILE")]
        value_file: Option<PathBuf>,
    },
    /// Delete a key.
    Delete {
        /// The key.
        key: String,
    },
    /// Print keys and values in key order, one `KEY<TAB>VALUE` line each.
    Scan {
        /// Only keys with this prefix.
        #[arg(long, conflicts_with_all = ["start", "end"])]
        prefix: Option<String>,
        /// First key, inclusive.
        #[arg(long)]
        start: Option<String>,
        /// Last key, exclusive.
        #[arg(long)]
        end: Option<String>,
        /// At most this many entries.
        #[arg(long)]
        limit: Option<usize>,
        /// Print only the keys.
        #[arg(long)]
        keys_only: bool,
    },
    /// List the column families.
    Cfs,
}

/// `generate`.
#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// TSBS "devops, cpu-only" data as InfluxDB line protocol.
    #[command(
        after_help = "Example:\n  tidestore generate tsbs --hosts 100 --hours 24 --seed 1 > cpu.lp\n  \
                            tidestore generate tsbs --hosts 10 --hours 1 --precision s | head"
    )]
    Tsbs(TsbsArgs),
}

/// `generate tsbs`.
#[derive(Debug, Args)]
pub struct TsbsArgs {
    /// Number of hosts (each writes one `cpu` line of 10 fields per interval).
    #[arg(long, default_value_t = 100)]
    pub hosts: u32,
    /// Hours of data.
    #[arg(long, default_value_t = 24)]
    pub hours: u64,
    /// The random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The first timestamp: RFC 3339 or an integer in --precision.
    #[arg(
        long,
        default_value = "2016-01-01T00:00:00Z",
        allow_hyphen_values = true
    )]
    pub start: String,
    /// Time between two lines of a host: '10s', '1m', ... or an integer in --precision.
    #[arg(long, default_value = "10s")]
    pub interval: String,
    /// The unit of the timestamps written.
    #[arg(long, value_enum, default_value_t = Unit::Ns)]
    pub precision: Unit,
    /// Write integers with the 'i' suffix, as TSBS does, instead of two decimals.
    #[arg(long)]
    pub integers: bool,
    /// Show a progress bar on stderr (when it is a terminal) and a summary at the end.
    #[arg(long)]
    pub progress: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_an_example() {
        fn walk(cmd: &clap::Command, path: &str) {
            let name = format!("{path} {}", cmd.get_name());
            let subs: Vec<_> = cmd.get_subcommands().collect();
            if subs.is_empty() || cmd.get_name() == "kv" {
                let help = cmd
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                assert!(help.contains("Example"), "{name} has no example");
                assert!(help.contains("tidestore"), "{name}");
            }
            if cmd.get_name() != "kv" {
                for s in subs {
                    walk(s, &name);
                }
            }
        }
        for s in Cli::command().get_subcommands() {
            walk(s, "tidestore");
        }
    }

    #[test]
    fn relative_times_are_not_taken_for_flags() {
        let cli = Cli::try_parse_from([
            "tidestore",
            "query",
            "d",
            "cpu",
            "--from",
            "-1h",
            "--to",
            "-5m",
            "--unit",
            "s",
        ])
        .unwrap();
        let Command::Query(q) = cli.command else {
            panic!("not a query")
        };
        assert_eq!(q.range.from.as_deref(), Some("-1h"));
        assert_eq!(q.range.to.as_deref(), Some("-5m"));
    }

    #[test]
    fn every_and_group_by_need_agg() {
        assert!(Cli::try_parse_from(["tidestore", "query", "d", "cpu", "--every", "1m"]).is_err());
        assert!(
            Cli::try_parse_from(["tidestore", "query", "d", "cpu", "--group-by", "host"]).is_err()
        );
        let cli = Cli::try_parse_from([
            "tidestore",
            "query",
            "d",
            "cpu",
            "--agg",
            "mean",
            "--group-by",
            "host,dc",
        ])
        .unwrap();
        let Command::Query(q) = cli.command else {
            panic!("not a query")
        };
        assert_eq!(
            q.aggregation.group_by.as_deref(),
            Some(&["host".to_string(), "dc".to_string()][..])
        );
        assert!(q.aggregation.agg.is_some());
        assert!(Cli::try_parse_from(["tidestore", "query", "d", "cpu", "--agg", "p101"]).is_err());
        assert!(Cli::try_parse_from(["tidestore", "query", "d", "cpu", "--agg", "nope"]).is_err());
        let cli =
            Cli::try_parse_from(["tidestore", "query", "d", "cpu", "--where", "-5..5"]).unwrap();
        let Command::Query(q) = cli.command else {
            panic!("not a query")
        };
        assert_eq!(q.value_where.value_where.len(), 1);
    }
}
