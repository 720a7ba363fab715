//! ISO-8601 date-times as Django stores them in `_session_expiry`
//! (`datetime.isoformat()`), and as Python's `fromisoformat` reads them.
//!
//! A time without an offset is a local time in a zone the session does not
//! name: Django with `USE_TZ = False` writes and reads such times in its own
//! `TIME_ZONE`. It is taken as the latest instant it can denote, so an expiry
//! is never read as earlier than Django meant (which would delete a live
//! session); at worst a session lives on for the width of the world's zones.

use crate::time::Time;

/// How much later than the same digits read as UTC a local time can be:
/// the westernmost zone in use is UTC-12:00.
pub const NAIVE_LATEST_SHIFT_SECS: i64 = 12 * 3600;

/// Parses `YYYY-MM-DD[(T| )HH[:MM[:SS[.fraction]]]][Z|±HH[:MM[:SS]]]`; a
/// time without an offset gives the latest instant it can denote
/// ([`NAIVE_LATEST_SHIFT_SECS`] after the same digits in UTC).
pub fn parse(s: &str) -> Option<Time> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0, |n, d| n * 10 + (d - b'0') as i64))
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut i = 10;
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0u32);
    if i < b.len() && matches!(b[i], b'T' | b't' | b' ') {
        hour = num(i + 1, 2)?;
        i += 3;
        if b.get(i) == Some(&b':') {
            minute = num(i + 1, 2)?;
            i += 3;
            if b.get(i) == Some(&b':') {
                second = num(i + 1, 2)?;
                i += 3;
                if matches!(b.get(i), Some(b'.' | b',')) {
                    let start = i + 1;
                    i = start;
                    while b.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                    let digits = &s[start..i];
                    if digits.is_empty() {
                        return None;
                    }
                    let padded = format!("{:0<9}", &digits[..digits.len().min(9)]);
                    nanos = padded.parse().ok()?;
                }
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
    }
    let offset = match b.get(i) {
        None => -NAIVE_LATEST_SHIFT_SECS,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(i + 1, 2)?;
            let (om, os, end) = match (b.get(i + 3), b.get(i + 6)) {
                (None, _) => (0, 0, i + 3),
                (Some(b':'), Some(b':')) => (num(i + 4, 2)?, num(i + 7, 2)?, i + 9),
                (Some(b':'), _) => (num(i + 4, 2)?, 0, i + 6),
                _ => return None,
            };
            if end != b.len() || oh > 23 || om > 59 || os > 59 {
                return None;
            }
            let total = oh * 3600 + om * 60 + os;
            if sign == b'-' { -total } else { total }
        }
        _ => return None,
    };
    let secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
    Some(Time::new(secs, nanos))
}

/// Formats as Python's `datetime.isoformat()` of an aware UTC datetime:
/// `2030-01-01T00:00:00+00:00`, with `.ffffff` only when microseconds are set.
pub fn format(t: Time) -> String {
    let days = t.secs.div_euclid(86400);
    let rem = t.secs.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    let micros = t.nanos / 1000;
    let frac = if micros > 0 { format!(".{micros:06}") } else { String::new() };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}+00:00", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_python_isoformat_variants() {
        let t2030 = Time::new(1_893_456_000, 0);
        assert_eq!(parse("2030-01-01T00:00:00+00:00"), Some(t2030));
        let naive = t2030.plus_secs(NAIVE_LATEST_SHIFT_SECS);
        assert_eq!(parse("2030-01-01T00:00:00"), Some(naive));
        assert_eq!(parse("2030-01-01"), Some(naive));
        assert_eq!(parse("2030-01-01 01:00:00+01:00"), Some(t2030));
        assert_eq!(parse("2029-12-31T19:00-05:00"), Some(t2030));
        assert_eq!(parse("2030-01-01T00:00:00Z"), Some(t2030));
        assert_eq!(parse("2030-01-01T00:00:00.25+00:00"), Some(Time::new(1_893_456_000, 250_000_000)));
        assert_eq!(parse("1970-01-01T00:00:00+00:00"), Some(Time::new(0, 0)));
    }

    #[test]
    fn refuses_nonsense() {
        for bad in ["", "2030", "2030-13-01", "2030-02-30", "2030-01-01T25:00", "2030-01-01T00:00:00+0", "2030-01-01x", "２０３０-01-01", "2030-01-01T00:00:00."] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_like_isoformat_and_round_trips() {
        assert_eq!(format(Time::new(1_893_456_000, 0)), "2030-01-01T00:00:00+00:00");
        assert_eq!(format(Time::new(1_700_000_000, 123_456_789)), "2023-11-14T22:13:20.123456+00:00");
        for secs in [0, 951_782_400, 4_102_444_800, -86_400] {
            assert_eq!(parse(&format(Time::new(secs, 0))), Some(Time::new(secs, 0)));
        }
    }
}
