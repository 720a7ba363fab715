//! Points in time, as the WASI wall clock and file mtimes report them.

/// A point in time: seconds and nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time {
    /// Whole seconds since 1970-01-01T00:00:00Z (negative before it).
    pub secs: i64,
    /// Nanoseconds into that second, below 1_000_000_000.
    pub nanos: u32,
}

impl Time {
    /// A time from seconds and nanoseconds; nanoseconds past a second carry over.
    pub fn new(secs: i64, nanos: u32) -> Time {
        Time { secs: secs.saturating_add((nanos / 1_000_000_000) as i64), nanos: nanos % 1_000_000_000 }
    }

    /// A `SystemTime` (the OS clock, a file's mtime) as a `Time`.
    pub fn from_system_time(t: std::time::SystemTime) -> Time {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Time::new(d.as_secs() as i64, d.subsec_nanos()),
            Err(before) => Time::default().plus_secs_f64(-before.duration().as_secs_f64()),
        }
    }

    /// This time as a `SystemTime`.
    pub fn to_system_time(self) -> std::time::SystemTime {
        use std::time::{Duration, UNIX_EPOCH};
        let whole = Duration::from_secs(self.secs.unsigned_abs());
        let base = if self.secs >= 0 { UNIX_EPOCH + whole } else { UNIX_EPOCH - whole };
        base + Duration::from_nanos(self.nanos as u64)
    }

    /// This time moved by `secs` seconds (saturating).
    pub fn plus_secs(self, secs: i64) -> Time {
        Time { secs: self.secs.saturating_add(secs), nanos: self.nanos }
    }

    /// This time moved by a fractional number of seconds (a Python float
    /// `_session_expiry`).
    pub fn plus_secs_f64(self, secs: f64) -> Time {
        let whole = secs.floor();
        let nanos = ((secs - whole) * 1e9) as u32;
        // `as` saturates for huge or non-finite values.
        self.plus_secs(whole as i64).plus_nanos(nanos)
    }

    /// This time moved by `ms` milliseconds (saturating).
    pub fn plus_millis(self, ms: u64) -> Time {
        let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
        self.plus_secs(secs).plus_nanos((ms % 1000) as u32 * 1_000_000)
    }

    /// Milliseconds from `self` until `later`, rounded up so that a moment
    /// later than `self` is never reached early; zero when `later` is not
    /// later, saturating at `u64::MAX`.
    pub fn millis_until(self, later: Time) -> u64 {
        let diff = (later.secs as i128 - self.secs as i128) * 1_000_000_000 + (later.nanos as i128 - self.nanos as i128);
        u64::try_from((diff.max(0) + 999_999) / 1_000_000).unwrap_or(u64::MAX)
    }

    fn plus_nanos(self, nanos: u32) -> Time {
        Time::new(self.secs, self.nanos + nanos)
    }

    /// Whole seconds from `self` until `later`, rounded down (Python's
    /// `delta.days * 86400 + delta.seconds`); negative when `later` is earlier.
    pub fn whole_secs_until(self, later: Time) -> i64 {
        let diff = (later.secs as i128 - self.secs as i128) * 1_000_000_000 + (later.nanos as i128 - self.nanos as i128);
        diff.div_euclid(1_000_000_000).clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_round_down() {
        let now = Time::new(100, 500_000_000);
        assert_eq!(now.whole_secs_until(Time::new(101, 400_000_000)), 0);
        assert_eq!(now.whole_secs_until(Time::new(101, 500_000_000)), 1);
        assert_eq!(now.whole_secs_until(Time::new(100, 0)), -1);
        assert_eq!(now.plus_secs_f64(0.75), Time::new(101, 250_000_000));
        assert_eq!(now.plus_millis(1_750), Time::new(102, 250_000_000));
        assert_eq!(now.millis_until(Time::new(102, 250_000_000)), 1_750);
        assert_eq!(now.millis_until(Time::new(100, 500_000_001)), 1, "rounded up");
        assert_eq!(now.millis_until(Time::new(99, 0)), 0);
        assert_eq!(Time::new(0, 0).millis_until(Time::new(i64::MAX, 0)), u64::MAX);
    }

    #[test]
    fn system_time_round_trip() {
        for t in [Time::new(1_700_000_000, 123), Time::new(-5, 500_000_000), Time::new(0, 0)] {
            assert_eq!(Time::from_system_time(t.to_system_time()), t);
        }
    }
}
