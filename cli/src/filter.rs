//! A parsed [`Selector`] applied to series keys on the client side, and the scans that
//! read the series it selects.
//!
//! The engine's scan takes a metric and tag *equalities*; the selector has more
//! (`!=`, `=~`, `!~`, a missing tag, no metric or a regex on it). So [`Filter`] picks
//! the metrics to scan, passes the equalities it can to `Db::scan`, and tests every
//! series key the scan returns against the whole selector. This is exact; it reads
//! series that a `!=` or a regex then drops. When the engine gains matchers (issue 10)
//! this module's job shrinks to converting a selector into them.

use regex::Regex;
use tidestore::ts::{SeriesView, ValueFilter};
use tidestore::{Db, SeriesKey};

use crate::error::{CliError, CliResult};
use crate::selector::{METRIC_LABEL, Op, Selector};

/// One compiled matcher.
#[derive(Debug)]
enum Test {
    Eq(String),
    Ne(String),
    Re(Regex),
    NotRe(Regex),
}

impl Test {
    fn accepts(&self, value: &str) -> bool {
        match self {
            Test::Eq(v) => value == v,
            Test::Ne(v) => value != v,
            Test::Re(re) => re.is_match(value),
            Test::NotRe(re) => !re.is_match(value),
        }
    }
}

/// A selector ready to test series keys.
#[derive(Debug)]
pub struct Filter {
    metric: Option<String>,
    /// Tests on the metric name (`__name__` matchers).
    on_metric: Vec<Test>,
    /// Tests on tags: (key, test).
    on_tags: Vec<(String, Test)>,
}

impl Filter {
    /// Compiles `sel`; a bad regular expression is a usage error naming its column.
    pub fn new(sel: &Selector) -> CliResult<Filter> {
        let mut on_metric = Vec::new();
        let mut on_tags = Vec::new();
        for m in &sel.matchers {
            let test = match m.op {
                Op::Eq => Test::Eq(m.value.clone()),
                Op::Ne => Test::Ne(m.value.clone()),
                Op::Re | Op::NotRe => {
                    // PromQL semantics: the expression matches the whole value.
                    let re = Regex::new(&format!("^(?:{})$", m.value)).map_err(|e| {
                        CliError::usage(format!(
                            "column {}: invalid regular expression: {e}",
                            m.value_column
                        ))
                    })?;
                    if m.op == Op::Re {
                        Test::Re(re)
                    } else {
                        Test::NotRe(re)
                    }
                }
            };
            if m.label == METRIC_LABEL {
                on_metric.push(test);
            } else {
                on_tags.push((m.label.clone(), test));
            }
        }
        Ok(Filter {
            metric: sel.metric.clone(),
            on_metric,
            on_tags,
        })
    }

    /// Whether series of `metric` can match.
    pub fn accepts_metric(&self, metric: &str) -> bool {
        self.metric.as_deref().is_none_or(|m| m == metric)
            && self.on_metric.iter().all(|t| t.accepts(metric))
    }

    /// Whether the series `key` matches (a missing tag reads as "").
    pub fn accepts(&self, key: &SeriesKey) -> bool {
        self.accepts_metric(key.metric())
            && self
                .on_tags
                .iter()
                .all(|(k, t)| t.accepts(key.tag(k).unwrap_or("")))
    }

    /// The tag equalities the engine's scan can apply itself: `k="v"` with a non-empty
    /// value (`k=""` means "no tag k", which a scan filter cannot say).
    pub fn scan_equalities(&self) -> Vec<(&str, &str)> {
        self.on_tags
            .iter()
            .filter_map(|(k, t)| match t {
                Test::Eq(v) if !v.is_empty() => Some((k.as_str(), v.as_str())),
                _ => None,
            })
            .collect()
    }

    /// True when [`Filter::scan_equalities`] say everything: every series a scan of an
    /// accepted metric with them returns matches.
    pub fn scan_is_exact(&self) -> bool {
        self.on_tags
            .iter()
            .all(|(_, t)| matches!(t, Test::Eq(v) if !v.is_empty()))
    }

    /// The metrics to scan, sorted: the one named (if the database has it), or every
    /// metric of the database the selector accepts.
    pub fn metrics(&self, db: &Db) -> Vec<String> {
        db.metrics()
            .into_iter()
            .filter(|m| self.accepts_metric(m))
            .collect()
    }

    /// Every series key of the database that matches, sorted.
    pub fn keys(&self, db: &Db) -> CliResult<Vec<SeriesKey>> {
        let mut keys = db.list_keys()?;
        keys.retain(|k| self.accepts(k));
        Ok(keys)
    }

    /// Scans the matching series over `[start, end]`, keeping the points whose value
    /// passes `keep` (all of them for `None`), calling `each` with every view (in
    /// series-key order; a long series comes as several views, see
    /// `SeriesView::continues_series`).
    pub fn scan(
        &self,
        db: &Db,
        (start, end): (i64, i64),
        keep: Option<ValueFilter>,
        mut each: impl FnMut(&SeriesView<'_>) -> CliResult<()>,
    ) -> CliResult<()> {
        let equalities = self.scan_equalities();
        let exact = self.scan_is_exact();
        for metric in self.metrics(db) {
            let mut scan = db.scan(&metric, start, end, &equalities)?;
            if let Some(keep) = keep {
                scan = scan.where_value(keep)?;
            }
            while let Some(view) = scan.next()? {
                if exact || self.accepts(view.key()) {
                    each(&view)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selector::parse;

    fn key(metric: &str, tags: &[(&str, &str)]) -> SeriesKey {
        SeriesKey::new(metric, tags).unwrap()
    }

    fn filter(s: &str) -> Filter {
        Filter::new(&parse(s).unwrap()).unwrap()
    }

    #[test]
    fn promql_semantics() {
        let a = key(
            "cpu",
            &[("host", "a"), ("region", "eu-west-1"), ("team", "NYC")],
        );
        let b = key("cpu", &[("host", "b"), ("region", "us-east-1")]);
        let m = key("mem", &[("host", "a")]);
        let cases: &[(&str, [bool; 3])] = &[
            ("cpu", [true, true, false]),
            (r#"cpu{host="a"}"#, [true, false, false]),
            (r#"{host="a"}"#, [true, false, true]),
            (r#"cpu{region=~"eu-.*"}"#, [true, false, false]),
            // A regex matches the whole value.
            (r#"cpu{region=~"eu"}"#, [false, false, false]),
            (r#"cpu{region=~"us|eu-west-1"}"#, [true, false, false]),
            // A missing tag reads as "".
            (r#"cpu{team!="NYC"}"#, [false, true, false]),
            (r#"cpu{team=""}"#, [false, true, false]),
            (r#"cpu{team!=""}"#, [true, false, false]),
            (r#"cpu{team=~".*"}"#, [true, true, false]),
            (r#"cpu{team=~".+"}"#, [true, false, false]),
            (r#"cpu{x!~"a|b"}"#, [true, true, false]),
            (r#"{host!~"a|b"}"#, [false, false, false]),
            (r#"{__name__=~"cpu|mem"}"#, [true, true, true]),
            (r#"{__name__!="cpu"}"#, [false, false, true]),
            (r#"cpu{__name__="mem"}"#, [false, false, false]),
            ("{}", [true, true, true]),
        ];
        for (s, want) in cases {
            let f = filter(s);
            let got = [f.accepts(&a), f.accepts(&b), f.accepts(&m)];
            assert_eq!(&got, want, "{s}");
        }
    }

    #[test]
    fn scan_equalities_and_exactness() {
        let f = filter(r#"cpu{host="a",team=""}"#);
        assert_eq!(f.scan_equalities(), vec![("host", "a")]);
        assert!(!f.scan_is_exact());
        let f = filter(r#"cpu{host="a",dc="x"}"#);
        assert_eq!(f.scan_equalities(), vec![("host", "a"), ("dc", "x")]);
        assert!(f.scan_is_exact());
        assert!(filter("cpu").scan_is_exact());
        assert!(!filter(r#"cpu{a=~"x"}"#).scan_is_exact());
    }

    #[test]
    fn bad_regexes_name_their_column() {
        let e = Filter::new(&parse(r#"cpu{host=~"a(b"}"#).unwrap()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let msg = e.to_string();
        assert!(
            msg.starts_with("column 11: invalid regular expression"),
            "{msg}"
        );
    }
}
