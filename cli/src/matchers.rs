//! A parsed [`Selector`] as the engine's query terms: its metric and
//! [`tidestore::ts::Matcher`]s, for `Db::query` and `Db::last`.

use tidestore::ts::Matcher;

use crate::error::{CliError, CliResult};
use crate::selector::{METRIC_LABEL, Op, Selector};

/// What the engine is asked: one metric and the tag matchers its series must pass.
#[derive(Debug, Clone)]
pub struct EngineSelector {
    /// The metric.
    pub metric: String,
    /// The tag matchers.
    pub matchers: Vec<Matcher>,
    /// False when a `__name__` matcher rules the metric itself out: nothing matches.
    pub metric_matches: bool,
}

/// One selector matcher as the engine's; a bad regex is a usage error naming its
/// column.
fn engine_matcher(label: &str, op: Op, value: &str, column: usize) -> CliResult<Matcher> {
    let bad = |e: tidestore::Error| {
        CliError::usage(format!("column {column}: bad regular expression: {e}"))
    };
    Ok(match op {
        Op::Eq => Matcher::eq(label, value),
        Op::Ne => Matcher::ne(label, value),
        Op::Re => Matcher::regex(label, value).map_err(bad)?,
        Op::NotRe => Matcher::not_regex(label, value).map_err(bad)?,
    })
}

/// `sel` in the engine's terms, or `None` when it names no metric (the engine's
/// queries are per metric). Matchers on `__name__` besides the metric are tested
/// against the metric here.
pub fn to_engine(sel: &Selector) -> CliResult<Option<EngineSelector>> {
    let Some(metric) = &sel.metric else {
        return Ok(None);
    };
    let mut matchers = Vec::with_capacity(sel.matchers.len());
    let mut metric_matches = true;
    for m in &sel.matchers {
        let em = engine_matcher(&m.label, m.op, &m.value, m.value_column)?;
        if m.label == METRIC_LABEL {
            metric_matches &= em.matches_value(metric);
        } else {
            matchers.push(em);
        }
    }
    Ok(Some(EngineSelector {
        metric: metric.clone(),
        matchers,
        metric_matches,
    }))
}

/// [`to_engine`] for commands that need a metric: a selector without one is a usage
/// error saying so.
pub fn require_metric(sel: &Selector, text: &str, what: &str) -> CliResult<EngineSelector> {
    to_engine(sel)?.ok_or_else(|| {
        CliError::usage(format!(
            "{what} needs a metric name in the selector (like 'cpu_usage_user{{...}}'): \
             {text:?} has none"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selector::parse;

    #[test]
    fn converts_every_operator() {
        let sel = parse(r#"cpu{a="1",b!="2",c=~"x.*",d!~"y|z"}"#).unwrap();
        let e = to_engine(&sel).unwrap().unwrap();
        assert_eq!(e.metric, "cpu");
        assert!(e.metric_matches);
        let tags = [("a", "1"), ("b", "3"), ("c", "xx"), ("d", "w")];
        assert!(e.matchers.iter().all(|m| m.matches(&tags)));
        let tags = [("a", "1"), ("b", "2"), ("c", "xx"), ("d", "w")];
        assert!(!e.matchers.iter().all(|m| m.matches(&tags)));
        let tags = [("a", "1"), ("b", "3"), ("c", "xx"), ("d", "y")];
        assert!(!e.matchers.iter().all(|m| m.matches(&tags)));
        assert_eq!(e.matchers.len(), 4);
    }

    #[test]
    fn name_matchers_and_missing_metric() {
        let sel = parse(r#"{__name__="cpu", __name__!~"c.*"}"#).unwrap();
        let e = to_engine(&sel).unwrap().unwrap();
        assert!(!e.metric_matches);
        assert!(e.matchers.is_empty());
        let sel = parse(r#"{host="a"}"#).unwrap();
        assert!(to_engine(&sel).unwrap().is_none());
        let err = require_metric(&sel, r#"{host="a"}"#, "--agg").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("metric name"));
        let sel = parse(r#"cpu{a=~"("}"#).unwrap();
        let err = to_engine(&sel).unwrap_err();
        assert!(err.to_string().contains("column 8"), "{err}");
    }
}
