//! `series`: the series keys a selector matches, or their cardinality per tag.

use std::collections::BTreeMap;
use std::io::Write;

use crate::args::SeriesArgs;
use crate::commands::filter_of;
use crate::error::CliResult;
use crate::filter::Filter;
use crate::open::open_db;
use crate::output::{Cell, Format, write_records};
use crate::selector::{METRIC_LABEL, Selector};

/// `series`.
pub fn series(a: &SeriesArgs, out: &mut impl Write) -> CliResult {
    let filter = match &a.selector {
        Some(s) => filter_of(s)?.1,
        None => Filter::new(&Selector::default())?,
    };
    let db = open_db(&a.db.dir)?;
    let keys = filter.keys(&db)?;
    db.close()?;
    if a.cardinality {
        let rows = cardinality(&keys);
        write_records(out, a.format, &["tag", "value", "series"], &rows)?;
        if a.format == Format::Table {
            writeln!(out, "{} series", keys.len())?;
        }
        return Ok(());
    }
    if a.format == Format::Json {
        let array: Vec<serde_json::Value> = keys
            .iter()
            .map(|k| {
                let tags: serde_json::Map<String, serde_json::Value> = k
                    .tags()
                    .iter()
                    .map(|(t, v)| (t.clone(), serde_json::Value::String(v.clone())))
                    .collect();
                serde_json::json!({"series": k.to_string(), "metric": k.metric(), "tags": tags})
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &array)?;
        writeln!(out)?;
        out.flush()?;
        return Ok(());
    }
    let rows: Vec<Vec<Cell>> = keys
        .iter()
        .map(|k| vec![Cell::Text(k.to_string())])
        .collect();
    write_records(out, a.format, &["series"], &rows)
}

/// Rows (tag, value, series count), the metric counted as `__name__`; most series
/// first, then by tag and value.
fn cardinality(keys: &[tidestore::SeriesKey]) -> Vec<Vec<Cell>> {
    let mut counts: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for k in keys {
        *counts.entry((METRIC_LABEL, k.metric())).or_default() += 1;
        for (t, v) in k.tags() {
            *counts.entry((t.as_str(), v.as_str())).or_default() += 1;
        }
    }
    let mut rows: Vec<((&str, &str), u64)> = counts.into_iter().collect();
    // Stable: ties keep the map's (tag, value) order.
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    rows.into_iter()
        .map(|((t, v), n)| {
            vec![
                Cell::Text(t.to_owned()),
                Cell::Text(v.to_owned()),
                Cell::Count(n),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidestore::SeriesKey;

    #[test]
    fn cardinality_counts_and_orders() {
        let keys = [
            SeriesKey::new("cpu", &[("host", "a"), ("dc", "x")]).unwrap(),
            SeriesKey::new("cpu", &[("host", "b"), ("dc", "x")]).unwrap(),
            SeriesKey::new("mem", &[("host", "a")]).unwrap(),
        ];
        let rows = cardinality(&keys);
        let text: Vec<String> = rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Cell::Text(s) => s.clone(),
                        Cell::Count(n) => n.to_string(),
                        other => panic!("unexpected cell {other:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(
            text,
            [
                "__name__ cpu 2",
                "dc x 2",
                "host a 2",
                "__name__ mem 1",
                "host b 1",
            ]
        );
    }
}
