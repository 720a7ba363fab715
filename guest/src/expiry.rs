//! When a stored session expires (docs/SPEC.md §4 with the §5 improvements).
//!
//! `_session_expiry` in the session data may hold an int (seconds), a float,
//! or an ISO-8601 string. Absent, `null`, `0` or `false` mean the store-wide
//! default: `cookie_age` seconds after the file was last written.

use crate::time::Time;
use serde_json::Value;

/// The session-data key Django keeps the expiry under.
pub const EXPIRY_KEY: &str = "_session_expiry";

/// The moment a session whose file was last written at `mtime` expires,
/// given its `_session_expiry` value.
///
/// Unlike Django, a positive number of seconds expires `mtime + N` server-side
/// (Django never expires it), a naive ISO time is read as the latest instant
/// it can denote (see [`iso8601`](crate::iso8601); Django raises with
/// `USE_TZ`, and reads it in its `TIME_ZONE` without), `-Infinity` has
/// expired and `Infinity` never expires (as in Django), and an unreadable
/// value falls back to the default rather than aborting.
pub fn expires_at(expiry: Option<&Value>, mtime: Time, cookie_age: u64) -> Time {
    let default = mtime.plus_secs(cookie_age.min(i64::MAX as u64) as i64);
    match expiry {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(0) => default,
            Some(secs) => mtime.plus_secs(secs),
            None => match n.as_f64().or_else(|| python_float_word(n)) {
                Some(secs) if secs == f64::NEG_INFINITY => Time::new(i64::MIN, 0),
                Some(secs) if secs == f64::INFINITY => Time::new(i64::MAX, 0),
                Some(secs) if secs != 0.0 && !secs.is_nan() => mtime.plus_secs_f64(secs),
                _ => default,
            },
        },
        Some(Value::Bool(true)) => mtime.plus_secs(1),
        Some(Value::String(s)) => crate::iso8601::parse(s).unwrap_or(default),
        _ => default,
    }
}

/// `Infinity` and `-Infinity`, which Python writes for infinite floats.
fn python_float_word(n: &serde_json::Number) -> Option<f64> {
    match n.to_string().as_str() {
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// Whole seconds left before `expiry` at `now` (rounded down); a session is
/// expired when this is zero or less.
pub fn age(expiry: Time, now: Time) -> i64 {
    now.whole_secs_until(expiry)
}

/// Whether a session expiring at `expiry` is expired at `now`: one with less
/// than a whole second left already is.
pub fn is_expired(expiry: Time, now: Time) -> bool {
    age(expiry, now) <= 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(expiry: &str) -> Option<Value> {
        Some(crate::json::parse(expiry).unwrap())
    }

    #[test]
    fn each_form_of_expiry() {
        let mtime = Time::new(1000, 0);
        assert_eq!(expires_at(None, mtime, 60), Time::new(1060, 0));
        assert_eq!(expires_at(data("0").as_ref(), mtime, 60), Time::new(1060, 0));
        assert_eq!(expires_at(data("null").as_ref(), mtime, 60), Time::new(1060, 0));
        assert_eq!(expires_at(data("300").as_ref(), mtime, 60), Time::new(1300, 0));
        assert_eq!(expires_at(data("-5").as_ref(), mtime, 60), Time::new(995, 0));
        assert_eq!(expires_at(data("1.5").as_ref(), mtime, 60), Time::new(1001, 500_000_000));
        assert_eq!(expires_at(data("\"1970-01-01T00:20:00+00:00\"").as_ref(), mtime, 60), Time::new(1200, 0));
        assert_eq!(expires_at(data("\"1970-01-01T00:20:00\"").as_ref(), mtime, 60), Time::new(1200 + 12 * 3600, 0));
        assert!(expires_at(data("-Infinity").as_ref(), mtime, 60) < mtime);
        assert_eq!(expires_at(data("Infinity").as_ref(), mtime, 60).secs, i64::MAX);
        assert_eq!(expires_at(data("NaN").as_ref(), mtime, 60), Time::new(1060, 0));
        assert_eq!(expires_at(data("\"garbage\"").as_ref(), mtime, 60), Time::new(1060, 0));
        assert_eq!(expires_at(data("99999999999999999999999").as_ref(), mtime, 60).secs, i64::MAX);
    }

    #[test]
    fn under_a_second_left_is_expired() {
        let now = Time::new(1000, 0);
        assert!(is_expired(Time::new(1000, 999_999_999), now));
        assert!(!is_expired(Time::new(1001, 0), now));
        assert!(is_expired(Time::new(999, 0), now));
    }
}
