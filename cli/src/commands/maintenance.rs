//! `compact` and `delete`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use tidestore::SeriesKey;

use crate::args::{DeleteArgs, Range};
use crate::commands::{filter_of, time_range};
use crate::error::{CliError, CliResult};
use crate::filter::Filter;
use crate::open::{DirKind, kind_of, open_db, open_store, require_database};
use crate::time::Now;

/// `compact`: a time-series database or a key-value store, by what `dir` holds.
pub fn compact(dir: &Path, quiet: bool) -> CliResult {
    require_database(dir)?;
    let started = std::time::Instant::now();
    match kind_of(dir) {
        DirKind::KeyValue => {
            let store = open_store(dir, false)?;
            store.compact()?;
            store.close()?;
        }
        DirKind::TimeSeries | DirKind::Unknown => {
            let db = open_db(dir)?;
            db.compact()?;
            db.close()?;
        }
    }
    if !quiet {
        let _ = writeln!(
            std::io::stderr(),
            "compacted {} in {:.2} s",
            dir.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// `delete`: the points in range of every matching series.
///
/// A selector of tag equalities only is one `Db::delete_range` per metric, atomic.
/// Any other selector deletes series by series, each by its full tag set; since a tag
/// filter also hits series with *more* tags, it first checks that no such series
/// escapes the selector (and refuses, naming one, if one does).
pub fn delete(a: &DeleteArgs, out: &mut impl Write) -> CliResult {
    let (_, filter) = filter_of(&a.selector)?;
    let range = Range {
        from: a.from.clone(),
        to: a.to.clone(),
        unit: a.unit,
    };
    let (start, end) = if a.all {
        (i64::MIN, i64::MAX)
    } else {
        time_range(&range, Now::system())?
    };
    let db = open_db(&a.db.dir)?;
    let all = db.list_keys()?;
    let hit: Vec<&SeriesKey> = all.iter().filter(|k| filter.accepts(k)).collect();
    if a.dry_run {
        for k in &hit {
            writeln!(out, "{k}")?;
        }
        out.flush()?;
        return Ok(db.close()?);
    }
    if filter.scan_is_exact() {
        let equalities = filter.scan_equalities();
        for metric in filter.metrics(&db) {
            db.delete_range(&metric, start, end, &equalities)?;
        }
    } else {
        check_no_bystanders(&filter, &all)?;
        for k in &hit {
            let tags: Vec<(&str, &str)> = k.tag_refs().collect();
            db.delete_range(k.metric(), start, end, &tags)?;
        }
    }
    db.close()?;
    let _ = writeln!(
        std::io::stderr(),
        "deleted the range from {} series",
        hit.len()
    );
    Ok(())
}

/// Refuses when deleting a matching series by its tags would also hit a series the
/// selector does not match (one of the same metric with a superset of its tags).
fn check_no_bystanders(filter: &Filter, all: &[SeriesKey]) -> CliResult {
    let mut by_metric: BTreeMap<&str, Vec<&SeriesKey>> = BTreeMap::new();
    for k in all {
        by_metric.entry(k.metric()).or_default().push(k);
    }
    for keys in by_metric.values() {
        let (hit, spared): (Vec<&SeriesKey>, Vec<&SeriesKey>) =
            keys.iter().partition(|k| filter.accepts(k));
        for s in &spared {
            // Only a key with fewer tags can be a proper subset.
            if let Some(h) = hit.iter().find(|h| {
                h.tags().len() < s.tags().len() && h.tag_refs().all(|(t, v)| s.tag(t) == Some(v))
            }) {
                return Err(CliError::runtime(format!(
                    "cannot delete {h} alone: deleting by its tags would also delete {s}, \
                     which the selector does not match"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selector::parse;

    #[test]
    fn bystanders_are_found() {
        let keys = [
            SeriesKey::new("cpu", &[("host", "a")]).unwrap(),
            SeriesKey::new("cpu", &[("host", "a"), ("core", "1")]).unwrap(),
            SeriesKey::new("cpu", &[("host", "b")]).unwrap(),
        ];
        let f = Filter::new(&parse(r#"cpu{core=""}"#).unwrap()).unwrap();
        let e = check_no_bystanders(&f, &keys).unwrap_err().to_string();
        assert!(e.contains("cpu{core=1,host=a}"), "{e}");
        let f = Filter::new(&parse(r#"cpu{host=~"a|b"}"#).unwrap()).unwrap();
        assert!(check_no_bystanders(&f, &keys).is_ok());
    }
}
