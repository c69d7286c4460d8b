//! Checking parsed names against the engine's key rules before any point of a line or
//! row is written, and saying which name broke them.
//!
//! The rules themselves live in [`crate::ts::series::key::validate_parts`]; this module only
//! calls it (tags once per line, then each metric alone) and, on a refusal, finds the
//! culprit so that the error can point at its column.

use crate::error::Error;
use crate::ts::series::key::{MAX_TAGS, validate_parts};

/// A metric standing in while only tags are checked.
const ANY_METRIC: &str = "m";

/// Checks `tags` (any order). On a refusal: the index of the tag at fault (for too many
/// tags, the first one past the limit) and the engine's message.
pub(crate) fn check_tags(tags: &[(&str, &str)]) -> Result<(), (usize, String)> {
    let Err(e) = validate_parts(ANY_METRIC, tags) else {
        return Ok(());
    };
    let culprit = tags
        .iter()
        .enumerate()
        .position(|(i, &(k, v))| {
            let twice = tags.get(..i).is_some_and(|s| s.iter().any(|t| t.0 == k));
            twice || validate_parts(ANY_METRIC, &[(k, v)]).is_err()
        })
        .unwrap_or(MAX_TAGS);
    Err((culprit, message(e)))
}

/// Checks a metric name; the engine's message on a refusal.
pub(crate) fn check_metric(metric: &str) -> Result<(), String> {
    validate_parts(metric, &[]).map_err(message)
}

fn message(e: Error) -> String {
    match e {
        Error::InvalidArgument(m) => m,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_culprit() {
        assert_eq!(check_tags(&[("a", "1"), ("b", "2")]), Ok(()));
        let (i, m) = check_tags(&[("a", "1"), ("b", ""), ("c", "3")]).unwrap_err();
        assert_eq!(i, 1);
        assert!(m.contains("tag value is empty"), "{m}");
        let (i, m) = check_tags(&[("a", "1"), ("b", "2"), ("a", "3")]).unwrap_err();
        assert_eq!(i, 2);
        assert!(m.contains("appears twice"), "{m}");
        let names: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
        let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
        let (i, _) = check_tags(&many).unwrap_err();
        assert_eq!(i, MAX_TAGS);
        assert!(check_metric("cpu").is_ok());
        assert!(check_metric("").unwrap_err().contains("empty"));
        assert!(check_metric(&"x".repeat(256)).unwrap_err().contains("255"));
    }
}
