//! Numbers in the forms line protocol writes them (see `line_protocol::value`):
//! integers with overflow checks, and floats with a fast exact path.

/// `-?[0-9]+` as an `i64`; `None` when malformed or out of range. Also used for
/// timestamps.
pub(crate) fn parse_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulate negatively so that i64::MIN fits.
    let mut v: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_sub(i64::from(d))?;
    }
    if neg { Some(v) } else { v.checked_neg() }
}

/// `[0-9]+` as a `u64`; `None` when malformed or out of range.
pub(crate) fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// Exact powers of ten: every one up to 1e22 is an `f64` without rounding.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A float in line protocol's form (see the module docs), finite; `None` otherwise.
pub(crate) fn parse_float(tok: &str) -> Option<f64> {
    let b = tok.as_bytes();
    let (neg, body) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    // Fast path: digits with an optional '.', at most 15 digits in all, no exponent.
    // The digits are then an exact integer below 2^53 and 10^fraction an exact power,
    // so one division is the correctly rounded value (Clinger's fast path).
    let mut mantissa: u64 = 0;
    let mut digits = 0usize;
    let mut fraction: Option<usize> = None;
    let mut simple = true;
    for &c in body {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                digits += 1;
                if let Some(f) = fraction.as_mut() {
                    *f += 1;
                }
            }
            b'.' if fraction.is_none() => fraction = Some(0),
            _ => {
                simple = false;
                break;
            }
        }
    }
    if simple {
        if digits == 0 {
            return None;
        }
        if digits <= 15 {
            let exp = fraction.unwrap_or(0);
            let v = mantissa as f64 / POW10.get(exp).copied().unwrap_or(1.0);
            return Some(if neg { -v } else { v });
        }
    } else if !well_formed_float(b) {
        return None;
    }
    // The grammar above is a subset of Rust's, so the standard parser agrees on it.
    let v: f64 = tok.parse().ok()?;
    v.is_finite().then_some(v)
}

/// True when `b` has line protocol's float form.
pub(crate) fn well_formed_float(b: &[u8]) -> bool {
    let mut i = usize::from(b.first() == Some(&b'-'));
    let count_digits = |i: &mut usize| {
        let from = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - from
    };
    let mut mantissa_digits = count_digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        mantissa_digits += count_digits(&mut i);
    }
    if mantissa_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if count_digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_and_slow_float_paths_agree_with_the_standard_parser() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let int = x % 1_000_000_000;
            let frac = (x >> 32) % 1_000_000_000;
            let width = (x >> 20) as usize % 10;
            let text = format!("{int}.{frac:0width$}");
            let want: f64 = text.parse().unwrap();
            assert_eq!(
                parse_float(&text).map(f64::to_bits),
                Some(want.to_bits()),
                "{text}"
            );
            let v = f64::from_bits(x >> 2);
            if v.is_finite() {
                let text = format!("{v:?}");
                assert_eq!(
                    parse_float(&text).map(f64::to_bits),
                    Some(v.to_bits()),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn integers_at_and_past_their_limits() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b"1-"), None);
        assert_eq!(parse_i64(b"--1"), None);
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
    }
}
