//! [`Expiry`]: the values Django's `set_expiry` takes.

use sessionbox_guest::Time;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a session lives; what [`Session::set_expiry`](crate::Session::set_expiry) takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// The store default (`None` in Django): `cookie_age` after the last save.
    Default,
    /// Until the browser closes (`0` in Django); server-side it behaves like
    /// the default.
    BrowserClose,
    /// This many seconds after the last save; zero or less is already expired.
    Seconds(i64),
    /// At this moment (stored as an ISO-8601 string, like a Django `datetime`).
    At(SystemTime),
    /// This long from now (Django's `timedelta`; stored as a moment).
    In(Duration),
}

/// A `SystemTime` as sessionbox's [`Time`].
pub(crate) fn to_time(t: SystemTime) -> Time {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => Time::new(d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => Time::new(0, 0).plus_secs_f64(-e.duration().as_secs_f64()),
    }
}

/// A [`Time`] as a `SystemTime`.
pub(crate) fn to_system_time(t: Time) -> SystemTime {
    let base = if t.secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(t.secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(t.secs.unsigned_abs())
    };
    base + Duration::from_nanos(t.nanos as u64)
}
