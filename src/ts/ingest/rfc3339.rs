//! RFC 3339 times (`2024-01-01T00:00:00Z`, `2024-01-01 12:30:00.25+02:00`) as
//! nanoseconds since the Unix epoch, for CSV timestamp cells.

/// Nanoseconds since 1970-01-01T00:00:00Z of an RFC 3339 date-time: `YYYY-MM-DD`, `T`
/// (or `t` or a space), `HH:MM:SS`, an optional fraction of any length (digits past
/// the ninth are dropped), then `Z`/`z` or an offset `+HH:MM`/`-HH:MM`. A leap second
/// (`:60`) counts as the first second of the next minute. `None` when malformed.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let sep = |at: usize, c: &[u8]| b.get(at).is_some_and(|x| c.contains(x));
    let year = num(0, 4)?;
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    let hour = num(11, 2)?;
    let minute = num(14, 2)?;
    let second = num(17, 2)?;
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: i128 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let from = i;
        let mut scale = 100_000_000i128;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            nanos += i128::from(c - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == from {
            return None;
        }
    }
    let offset_seconds: i64 = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && sep(i + 3, b":") => {
            let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let off = i64::from(h * 3600 + m * 60);
            if sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_seconds;
    Some(i128::from(seconds) * 1_000_000_000 + nanos)
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar, counting in
/// 400-year eras (146 097 days each) of years that start in March, so that the leap
/// day ends a year.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i128 = 1_000_000_000;

    #[test]
    fn known_times() {
        let cases: &[(&str, i128)] = &[
            ("1970-01-01T00:00:00Z", 0),
            ("1970-01-01T00:00:01.5Z", S + S / 2),
            ("1969-12-31T23:59:59Z", -S),
            ("2000-02-29T00:00:00Z", 951_782_400 * S),
            ("2000-03-01T00:00:00Z", 11_017 * 86_400 * S),
            ("2024-01-01T00:00:00Z", 1_704_067_200 * S),
            ("2024-01-01 02:00:00+02:00", 1_704_067_200 * S),
            ("2023-12-31t19:00:00-05:00", 1_704_067_200 * S),
            (
                "2024-01-01T00:00:00.123456789123z",
                1_704_067_200 * S + 123_456_789,
            ),
            ("2016-12-31T23:59:60Z", 1_483_228_800 * S),
            ("0000-01-01T00:00:00Z", -62_167_219_200 * S),
            ("9999-12-31T23:59:59Z", 253_402_300_799 * S),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_rfc3339(text), Some(want), "{text}");
        }
    }

    #[test]
    fn malformed_times() {
        for text in [
            "",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00Z",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-01-00T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:61Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+2:00",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00Zx",
            "2024/01/01T00:00:00Z",
            "+024-01-01T00:00:00Z",
            "2024-01-01T00:00:00+02:00 ",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }

    #[test]
    fn every_day_of_four_centuries_is_one_after_the_last() {
        let mut expected = days_from_civil(1900, 1, 1);
        for year in 1900..2300 {
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    assert_eq!(days_from_civil(i64::from(year), month, day), expected);
                    expected += 1;
                }
            }
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }
}
