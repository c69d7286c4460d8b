//! [`Matcher`]: a condition on one tag of a series, with Prometheus semantics, and the
//! description of what it accepts ([`ValueSet`]) that lets the engine answer it from
//! tag postings.

use regex::Regex;

use super::pattern::{Shape, analyze};
use crate::error::{Error, Result};

/// The kind of a [`Matcher`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MatcherKind {
    /// `key == value` ([`Matcher::eq`]).
    Eq,
    /// `key != value` ([`Matcher::ne`]).
    Ne,
    /// `key =~ regex` ([`Matcher::regex`]).
    Regex,
    /// `key !~ regex` ([`Matcher::not_regex`]).
    NotRegex,
    /// `key` is one of a list ([`Matcher::one_of`]).
    OneOf,
}

/// A condition on the value of one tag of a series. A query's matchers are ANDed.
///
/// Semantics (those of Prometheus label matchers): a series that lacks the tag is
/// tested as if its value were the empty string `""` (tag values are never empty, so
/// `""` stands for "no such tag"). Hence `ne(k, v)` matches a series without `k`,
/// `eq(k, "")` matches exactly the series without `k`, and a regex that matches `""`
/// (such as `.*`) matches series without `k`. Regexes use the syntax of the `regex`
/// crate and are fully anchored: `regex("host", "web")` matches `web` but not
/// `webserver`.
#[derive(Debug, Clone)]
pub struct Matcher {
    key: String,
    kind: MatcherKind,
    /// Eq/Ne: the one value. OneOf: the values, sorted, without duplicates.
    /// Regex/NotRegex: the literal set when the pattern is one ([`Shape::Literals`]).
    values: Vec<String>,
    /// Regex/NotRegex: the pattern as given, the anchored regex, its shape.
    regex: Option<Box<Compiled>>,
}

#[derive(Debug, Clone)]
struct Compiled {
    pattern: String,
    anchored: Regex,
    prefix: Option<String>,
}

/// What a [`Matcher`] accepts, in the terms of tag postings (`(key, value) -> series`).
/// In every case `""` stands for a series without the tag (see [`Matcher`]);
/// [`Matcher::matches_missing`] says whether such a series matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueSet<'a> {
    /// Exactly the values listed (sorted, no duplicates; `""` if series without the tag
    /// match). From `eq`, `one_of`, and regexes that are an alternation of literals
    /// (`a|b|c`).
    In(&'a [String]),
    /// Every value but those listed (sorted, no duplicates; `""` listed if series
    /// without the tag do *not* match). From `ne` and negated literal regexes.
    NotIn(&'a [String]),
    /// Every value starting with the prefix (`eu-.*`); `""` matches only if the prefix
    /// is empty.
    Prefix(&'a str),
    /// Every value not starting with the prefix (a negated prefix regex).
    NotPrefix(&'a str),
    /// No shortcut: test each value of the key with [`Matcher::matches_value`].
    Test,
}

impl Matcher {
    /// `key == value`. `eq(key, "")` matches the series that lack `key`.
    pub fn eq(key: &str, value: &str) -> Matcher {
        Matcher::literal(key, MatcherKind::Eq, vec![value.to_owned()])
    }

    /// `key != value`; a series without `key` matches (unless `value` is `""`).
    pub fn ne(key: &str, value: &str) -> Matcher {
        Matcher::literal(key, MatcherKind::Ne, vec![value.to_owned()])
    }

    /// `key` matches the regex `re`, fully anchored; a series without `key` is tested
    /// as `""`. A pattern the `regex` crate rejects is [`Error::InvalidArgument`].
    pub fn regex(key: &str, re: &str) -> Result<Matcher> {
        Matcher::pattern(key, MatcherKind::Regex, re)
    }

    /// `key` does not match the regex `re` (fully anchored; a missing tag is `""`). A
    /// bad pattern is [`Error::InvalidArgument`].
    pub fn not_regex(key: &str, re: &str) -> Result<Matcher> {
        Matcher::pattern(key, MatcherKind::NotRegex, re)
    }

    /// `key` has one of `values` (`""` among them matches the series that lack `key`).
    /// An empty list matches nothing.
    pub fn one_of(key: &str, values: &[&str]) -> Matcher {
        let mut v: Vec<String> = values.iter().map(|&s| s.to_owned()).collect();
        v.sort_unstable();
        v.dedup();
        Matcher::literal(key, MatcherKind::OneOf, v)
    }

    fn literal(key: &str, kind: MatcherKind, values: Vec<String>) -> Matcher {
        Matcher {
            key: key.to_owned(),
            kind,
            values,
            regex: None,
        }
    }

    fn pattern(key: &str, kind: MatcherKind, re: &str) -> Result<Matcher> {
        let bad =
            |e: regex::Error| Error::invalid(format!("bad regex {re:?} for tag {key:?}: {e}"));
        // Checked alone first: wrapping an unbalanced pattern such as `a)|(b` in the
        // anchoring group would make it valid and change its meaning.
        Regex::new(re).map_err(bad)?;
        let anchored = Regex::new(&format!("^(?:{re})$")).map_err(bad)?;
        let (values, prefix) = match analyze(re) {
            Shape::Literals(v) => (v, None),
            Shape::Prefix(p) => (Vec::new(), Some(p)),
            Shape::Opaque => (Vec::new(), None),
        };
        let literal = prefix.is_none() && !values.is_empty();
        Ok(Matcher {
            key: key.to_owned(),
            kind,
            values: if literal { values } else { Vec::new() },
            regex: Some(Box::new(Compiled {
                pattern: re.to_owned(),
                anchored,
                prefix,
            })),
        })
    }

    /// The tag key tested.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The kind of test.
    pub fn kind(&self) -> MatcherKind {
        self.kind
    }

    /// The values of `eq`/`ne` (one) and `one_of` (sorted, without duplicates); empty
    /// for regexes.
    pub fn values(&self) -> &[String] {
        match self.kind {
            MatcherKind::Regex | MatcherKind::NotRegex => &[],
            _ => &self.values,
        }
    }

    /// The pattern of a regex matcher as given (not anchored).
    pub fn pattern_str(&self) -> Option<&str> {
        self.regex.as_deref().map(|c| c.pattern.as_str())
    }

    /// True when a series whose value for the key is `value` matches; `""` stands for a
    /// series without the key.
    pub fn matches_value(&self, value: &str) -> bool {
        match self.kind {
            MatcherKind::Eq => self.values.first().is_some_and(|v| v == value),
            MatcherKind::Ne => self.values.first().is_none_or(|v| v != value),
            MatcherKind::OneOf => self
                .values
                .binary_search_by(|v| v.as_str().cmp(value))
                .is_ok(),
            MatcherKind::Regex => self.regex_matches(value),
            MatcherKind::NotRegex => !self.regex_matches(value),
        }
    }

    fn regex_matches(&self, value: &str) -> bool {
        self.regex
            .as_deref()
            .is_some_and(|c| c.anchored.is_match(value))
    }

    /// True when a series with `tags` (pairs in any order) matches.
    pub fn matches<K: AsRef<str>, V: AsRef<str>>(&self, tags: &[(K, V)]) -> bool {
        self.matches_tags(tags.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
    }

    /// [`Matcher::matches`] for tags given as borrowed pairs (a stored key read in
    /// place).
    pub(crate) fn matches_tags<'t>(
        &self,
        mut tags: impl Iterator<Item = (&'t str, &'t str)>,
    ) -> bool {
        let value = tags.find(|(k, _)| *k == self.key).map_or("", |(_, v)| v);
        self.matches_value(value)
    }

    /// True when a series *without* the key matches (the matcher accepts `""`).
    /// When false, every matching series has the key, so the candidates are found
    /// from the key's postings alone.
    pub fn matches_missing(&self) -> bool {
        self.matches_value("")
    }

    /// What the matcher accepts, for evaluation over postings (see [`ValueSet`]).
    pub fn value_set(&self) -> ValueSet<'_> {
        let prefix = self.regex.as_deref().and_then(|c| c.prefix.as_deref());
        match (self.kind, prefix) {
            (MatcherKind::Eq | MatcherKind::OneOf, _) => ValueSet::In(&self.values),
            (MatcherKind::Ne, _) => ValueSet::NotIn(&self.values),
            (MatcherKind::Regex, Some(p)) => ValueSet::Prefix(p),
            (MatcherKind::NotRegex, Some(p)) => ValueSet::NotPrefix(p),
            (MatcherKind::Regex, None) if !self.values.is_empty() => ValueSet::In(&self.values),
            (MatcherKind::NotRegex, None) if !self.values.is_empty() => {
                ValueSet::NotIn(&self.values)
            }
            (MatcherKind::Regex | MatcherKind::NotRegex, None) => ValueSet::Test,
        }
    }
}

impl PartialEq for Matcher {
    /// Same key, kind and values or pattern text.
    fn eq(&self, other: &Matcher) -> bool {
        self.key == other.key
            && self.kind == other.kind
            && self.values == other.values
            && self.pattern_str() == other.pattern_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEB: &[(&str, &str)] = &[("dc", "eu-west-1"), ("host", "web")];
    const BARE: &[(&str, &str)] = &[("dc", "us-east-1")];

    #[test]
    fn eq_and_ne() {
        assert!(Matcher::eq("host", "web").matches(WEB));
        assert!(!Matcher::eq("host", "web").matches(BARE));
        assert!(!Matcher::ne("host", "web").matches(WEB));
        // Prometheus: a series without the tag matches `!=`.
        assert!(Matcher::ne("host", "web").matches(BARE));
        // `""` stands for a missing tag.
        assert!(Matcher::eq("host", "").matches(BARE));
        assert!(!Matcher::eq("host", "").matches(WEB));
        assert!(Matcher::ne("host", "").matches(WEB));
        assert!(!Matcher::ne("host", "").matches(BARE));
    }

    #[test]
    fn regex_is_fully_anchored() {
        let m = Matcher::regex("host", "we").unwrap();
        assert!(!m.matches(WEB));
        assert!(Matcher::regex("host", "we.").unwrap().matches(WEB));
        assert!(Matcher::regex("dc", "eu-.*").unwrap().matches(WEB));
        assert!(!Matcher::regex("dc", "west").unwrap().matches(WEB));
        // An alternation is anchored as a whole, not only its first and last branch.
        let alt = Matcher::regex("host", "x|we").unwrap();
        assert!(!alt.matches(WEB));
        assert!(Matcher::regex("host", "x|web").unwrap().matches(WEB));
    }

    #[test]
    fn regex_matching_empty_matches_missing() {
        let any = Matcher::regex("host", ".*").unwrap();
        assert!(any.matches(BARE) && any.matches(WEB) && any.matches_missing());
        let opt = Matcher::regex("host", "(web)?").unwrap();
        assert!(opt.matches(BARE) && opt.matches(WEB));
        let plus = Matcher::regex("host", ".+").unwrap();
        assert!(!plus.matches(BARE) && plus.matches(WEB) && !plus.matches_missing());
    }

    #[test]
    fn not_regex() {
        let m = Matcher::not_regex("host", "w.*").unwrap();
        assert!(!m.matches(WEB));
        assert!(m.matches(BARE));
        let m = Matcher::not_regex("host", ".*").unwrap();
        assert!(!m.matches(WEB) && !m.matches(BARE));
        let m = Matcher::not_regex("host", "").unwrap();
        assert!(m.matches(WEB) && !m.matches(BARE));
    }

    #[test]
    fn one_of() {
        let m = Matcher::one_of("host", &["x", "web", "x"]);
        assert_eq!(m.values(), ["web", "x"]);
        assert!(m.matches(WEB) && !m.matches(BARE));
        let none = Matcher::one_of("host", &[]);
        assert!(!none.matches(WEB) && !none.matches(BARE) && !none.matches_missing());
        assert!(Matcher::one_of("host", &["", "zz"]).matches(BARE));
    }

    #[test]
    fn bad_regex() {
        for re in ["(", "a)|(b", "[z-a]", "x{2,1}", "*"] {
            assert!(
                matches!(Matcher::regex("k", re), Err(Error::InvalidArgument(_))),
                "{re}"
            );
            assert!(matches!(
                Matcher::not_regex("k", re),
                Err(Error::InvalidArgument(_))
            ));
        }
    }

    #[test]
    fn value_sets() {
        let s = |m: Matcher| format!("{:?}", m.value_set());
        assert_eq!(s(Matcher::eq("k", "a")), r#"In(["a"])"#);
        assert_eq!(s(Matcher::ne("k", "a")), r#"NotIn(["a"])"#);
        assert_eq!(s(Matcher::one_of("k", &["b", "a"])), r#"In(["a", "b"])"#);
        assert_eq!(s(Matcher::regex("k", "b|a").unwrap()), r#"In(["a", "b"])"#);
        assert_eq!(s(Matcher::not_regex("k", "a").unwrap()), r#"NotIn(["a"])"#);
        assert_eq!(s(Matcher::regex("k", "eu-.*").unwrap()), r#"Prefix("eu-")"#);
        assert_eq!(
            s(Matcher::not_regex("k", "eu-.*").unwrap()),
            r#"NotPrefix("eu-")"#
        );
        assert_eq!(s(Matcher::regex("k", "a+").unwrap()), "Test");
        assert_eq!(
            Matcher::regex("k", "a|b").unwrap().values(),
            [] as [String; 0]
        );
        assert_eq!(
            Matcher::regex("k", "a|b").unwrap().pattern_str(),
            Some("a|b")
        );
    }
}
