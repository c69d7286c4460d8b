//! File numbers and the names that carry them: WAL segments, manifests, tables,
//! segments and catalog files ([`FileKind`]), their temporaries, and the range the
//! engines hand numbers out from.
//!
//! Each engine keeps one counter per directory and never reuses a number. It starts
//! at open above every number already in the directory, so a name carrying a number
//! the engine could never have handed out must not count: a stray file named
//! `18446744073709551615.seg` would otherwise push the counter to its end. Numbers
//! from [`MAX_FILE_NUMBER`] on are therefore *not the engine's*: such files are
//! ignored (and left alone by the cleanup of orphan files), and an engine refuses to
//! open a directory whose manifest says the counter got there (only a damaged
//! manifest can), since 2^62 numbers are more than a directory's lifetime needs.

/// The first number the engines never hand out (2^62).
pub(crate) const MAX_FILE_NUMBER: u64 = 1 << 62;

/// `digits` as a file number: ASCII decimal digits only (leading zeros allowed), below
/// [`MAX_FILE_NUMBER`]. `None` for anything else.
pub(crate) fn parse(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&n| n < MAX_FILE_NUMBER)
}

/// The suffix of a file being written: `<name>.tmp`, renamed to `<name>` once
/// complete and fsync'd. A leftover one is an orphan, removed at open.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

/// A kind of numbered file: `{prefix}{n}{suffix}`, `n` in decimal, zero-padded to
/// `width` digits. Only that exact (canonical) spelling of a number is the kind's: an
/// engine never writes another, so another is not its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileKind {
    prefix: &'static str,
    suffix: &'static str,
    width: usize,
}

/// WAL segments: `{n:020}.wal` (20 digits, so names sort like numbers).
pub(crate) const WAL: FileKind = FileKind::new("", ".wal", 20);
/// Manifest files: `MANIFEST-{n:06}`.
pub(crate) const MANIFEST: FileKind = FileKind::new("MANIFEST-", "", 6);
/// Key-value tables: `{n:06}.sst`.
pub(crate) const TABLE: FileKind = FileKind::new("", ".sst", 6);
/// Time-series segments: `{n:06}.seg`.
pub(crate) const SEGMENT: FileKind = FileKind::new("", ".seg", 6);
/// Time-series catalog files: `CATALOG-{n:06}`.
pub(crate) const CATALOG: FileKind = FileKind::new("CATALOG-", "", 6);

impl FileKind {
    const fn new(prefix: &'static str, suffix: &'static str, width: usize) -> FileKind {
        FileKind {
            prefix,
            suffix,
            width,
        }
    }

    /// The name of file `n`.
    pub(crate) fn name(&self, n: u64) -> String {
        format!(
            "{}{n:0width$}{}",
            self.prefix,
            self.suffix,
            width = self.width
        )
    }

    /// The temporary name file `n` is written under.
    pub(crate) fn tmp_name(&self, n: u64) -> String {
        format!("{}{TMP_SUFFIX}", self.name(n))
    }

    /// The number of `name` if it is exactly this kind's name of a number the engines
    /// hand out, else `None`.
    pub(crate) fn parse(&self, name: &str) -> Option<u64> {
        let digits = name.strip_prefix(self.prefix)?.strip_suffix(self.suffix)?;
        let n = parse(digits)?;
        (digits.len() == self.width || (digits.len() > self.width && !digits.starts_with('0')))
            .then_some(n)
    }

    /// [`FileKind::parse`] of `name`, or of the name it is a temporary of: the number,
    /// and whether `name` is the temporary.
    pub(crate) fn parse_maybe_tmp(&self, name: &str) -> Option<(u64, bool)> {
        match name.strip_suffix(TMP_SUFFIX) {
            Some(base) => self.parse(base).map(|n| (n, true)),
            None => self.parse(name).map(|n| (n, false)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_name_and_parse_only_their_canonical_names() {
        for kind in [WAL, MANIFEST, TABLE, SEGMENT, CATALOG] {
            for n in [0, 7, 999_999, 1_000_000, 123_456_789, MAX_FILE_NUMBER - 1] {
                assert_eq!(kind.parse(&kind.name(n)), Some(n), "{}", kind.name(n));
                assert_eq!(kind.parse_maybe_tmp(&kind.tmp_name(n)), Some((n, true)));
                assert_eq!(kind.parse(&kind.tmp_name(n)), None);
            }
        }
        assert_eq!(TABLE.name(12), "000012.sst");
        assert_eq!(SEGMENT.name(12_345_678), "12345678.seg");
        assert_eq!(CATALOG.name(3), "CATALOG-000003");
        assert_eq!(WAL.name(9), "00000000000000000009.wal");
        for (kind, name) in [
            (TABLE, "12.sst"),
            (TABLE, "0000012.sst"),
            (TABLE, ".sst"),
            (TABLE, "-1.sst"),
            (TABLE, "000012.seg"),
            (SEGMENT, "18446744073709551615.seg"),
            (SEGMENT, "4611686018427387904.seg"),
            (WAL, "1.wal"),
            (WAL, "000000000000000000001.wal"),
            (MANIFEST, "MANIFEST-7"),
            (MANIFEST, "MANIFEST-+00007"),
            (CATALOG, "CATALOG-00001a"),
        ] {
            assert_eq!(kind.parse(name), None, "{name}");
        }
    }

    #[test]
    fn only_numbers_the_engines_hand_out_parse() {
        assert_eq!(parse("000012"), Some(12));
        assert_eq!(parse("0"), Some(0));
        assert_eq!(
            parse(&(MAX_FILE_NUMBER - 1).to_string()),
            Some(MAX_FILE_NUMBER - 1)
        );
        for bad in [
            "",
            "+1",
            "-1",
            "1a",
            " 1",
            "4611686018427387904",
            "18446744073709551615",
            "99999999999999999999",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
