//! `--where` predicates on values (`>90`, `>=90`, `<10`, `<=10`, `10..90`), parsed
//! into the engine's [`ValueFilter`].

use tidestore::ts::ValueFilter;

/// Parses a predicate; the error says what the forms are.
pub fn parse(text: &str) -> Result<ValueFilter, String> {
    let s = text.trim();
    let number = |n: &str| -> Result<f64, String> {
        let n = n.trim();
        let v: f64 = n
            .parse()
            .map_err(|_| format!("{n:?} is not a number in {text:?}"))?;
        if v.is_nan() {
            return Err(format!("NaN bound in {text:?}"));
        }
        Ok(v)
    };
    let filter = if let Some(rest) = s.strip_prefix(">=") {
        ValueFilter::ge(number(rest)?)
    } else if let Some(rest) = s.strip_prefix("<=") {
        ValueFilter::le(number(rest)?)
    } else if let Some(rest) = s.strip_prefix('>') {
        ValueFilter::gt(number(rest)?)
    } else if let Some(rest) = s.strip_prefix('<') {
        ValueFilter::lt(number(rest)?)
    } else if let Some((lo, hi)) = s.split_once("..") {
        ValueFilter::between(number(lo)?, number(hi)?)
    } else {
        return Err(format!(
            "bad predicate {text:?}: expected >X, >=X, <X, <=X or A..B"
        ));
    };
    filter.validate().map_err(|e| format!("{text:?}: {e}"))?;
    Ok(filter)
}

/// All of `filters` at once (`None` when there are none).
pub fn combine(filters: &[ValueFilter]) -> Option<ValueFilter> {
    filters.iter().copied().reduce(ValueFilter::and)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let gt = parse(">90").unwrap();
        assert!(gt.matches(90.5) && !gt.matches(90.0));
        let ge = parse(">= 90").unwrap();
        assert!(ge.matches(90.0) && !ge.matches(89.9));
        let lt = parse("<-1.5").unwrap();
        assert!(lt.matches(-2.0) && !lt.matches(-1.5));
        let le = parse("<=1e3").unwrap();
        assert!(le.matches(1000.0) && !le.matches(1000.1));
        let between = parse("-5..5").unwrap();
        assert!(between.matches(-5.0) && between.matches(5.0) && !between.matches(5.1));
        assert!(!between.matches(f64::NAN));
        let both = combine(&[parse(">0").unwrap(), parse("<=2").unwrap()]).unwrap();
        assert!(both.matches(2.0) && !both.matches(0.0));
        assert!(combine(&[]).is_none());
    }

    #[test]
    fn errors() {
        for bad in [
            "", "90", ">", ">x", "5..1", "..", "1..", "NaN..1", ">nan", "=5",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
