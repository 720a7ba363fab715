//! [`Expiry`]: the values Django's `set_expiry` takes.

use serde_json::Value;
use sessionbox_guest::{iso8601, Time};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a session lives; what [`Session::set_expiry`](crate::Session::set_expiry) takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// The store default (`None` in Django): `cookie_age` after the last save.
    Default,
    /// Until the browser closes (`0` in Django); server-side it behaves like
    /// the default.
    BrowserClose,
    /// This many seconds after the last save. Negative is already expired; 0
    /// is Django's browser-close value, the default age server-side.
    Seconds(i64),
    /// At this moment (stored as an ISO-8601 string, like a Django
    /// `datetime`). A moment past [`latest_expiry`](latest_expiry)
    /// (9999-12-31T23:59:59Z, past which no Python `datetime` reaches) is
    /// stored as that.
    At(SystemTime),
    /// This long from now (Django's `timedelta`; stored as a moment). A
    /// duration reaching past [`latest_expiry`](latest_expiry), up to
    /// `Duration::MAX`, is stored as that moment: never expiring in practice.
    In(Duration),
}

impl Expiry {
    /// The `_session_expiry` value Django stores for this expiry (`None`
    /// for the default, which stores nothing). A moment is written as
    /// Django writes a `datetime`: ISO 8601 in UTC.
    pub fn value(self) -> Option<Value> {
        Some(match self {
            Expiry::Default => return None,
            Expiry::BrowserClose => 0.into(),
            Expiry::Seconds(secs) => secs.into(),
            Expiry::At(at) => moment(at),
            // Saturating: `now + d` overflows a SystemTime long before
            // Duration::MAX.
            Expiry::In(d) => moment(SystemTime::now().checked_add(d).unwrap_or_else(latest_expiry)),
        })
    }
}

/// `at` as Django writes a `datetime`, at most [`latest_expiry`](latest_expiry).
fn moment(at: SystemTime) -> Value {
    iso8601::format(Time::from_system_time(at.min(latest_expiry()))).into()
}

/// 9999-12-31T23:59:59Z in seconds since the Unix epoch.
pub(crate) const LATEST_EXPIRY_SECS: u64 = 253_402_300_799;

/// The latest expiry a found session ([`Loaded`](crate::Loaded)) reports, 9999-12-31T23:59:59Z (the
/// last whole second Python's `datetime` can hold): what a session that never
/// expires (`_session_expiry` is `Infinity`), or one set to expire later
/// still, reports.
pub fn latest_expiry() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(LATEST_EXPIRY_SECS)
}

/// A guest moment as a `SystemTime`, clamped to [`UNIX_EPOCH`](std::time::UNIX_EPOCH)
/// ..= [`latest_expiry`] (so never past what a `SystemTime` or Python's
/// `datetime` holds, whatever the seconds).
pub(crate) fn system_time(t: sessionbox_guest::Time) -> SystemTime {
    match u64::try_from(t.secs) {
        Err(_) => std::time::UNIX_EPOCH,
        Ok(secs) if secs >= LATEST_EXPIRY_SECS => latest_expiry(),
        Ok(secs) => std::time::UNIX_EPOCH + std::time::Duration::new(secs, t.nanos.min(999_999_999)),
    }
}
