//! File numbers: the decimal numbers in the names of WAL segments, manifests, tables,
//! segments and catalog files, and the range the engines hand them out from.
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

#[cfg(test)]
mod tests {
    use super::*;

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
