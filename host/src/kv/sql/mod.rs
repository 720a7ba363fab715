//! Django's `db` session engine: sessions as rows of Django's own
//! `django_session` table (`session_key`, `session_data`, `expire_date`),
//! on SQLite ([`sqlite::SqliteKv`]) or PostgreSQL ([`postgres::PostgresKv`]).
//!
//! Both are [`KeyValue`](crate::kv::KeyValue) providers in the
//! [`Format::DjangoDb`](crate::kv::Format) format: the component signs and
//! encodes each session exactly as Django's `db` backend does, and the
//! provider maps each call to one SQL statement:
//!
//! | `kv` call        | SQL                                                        |
//! |------------------|------------------------------------------------------------|
//! | `get`            | `SELECT session_data, expire_date … WHERE session_key = ? AND expire_date > now` |
//! | `set-if-absent`  | `INSERT …`; a taken key fails unless its row has expired (then it is replaced) |
//! | `set-if-present` | `UPDATE … WHERE session_key = ? AND expire_date > now`: an expired or deleted session is never brought back |
//! | `delete`         | `DELETE … WHERE session_key = ?`                           |
//! | `exists`         | `SELECT 1 … WHERE session_key = ? AND expire_date > now`   |
//! | `set-if-equal`   | `UPDATE … WHERE session_key = ? AND expire_date > now AND session_data = ?` |
//! | `set-ttl`        | `UPDATE … SET expire_date = ? WHERE session_key = ? AND expire_date > now AND session_data = ?` |
//! | `keys`           | `SELECT session_key … WHERE session_key > ? ORDER BY session_key LIMIT ?`: one pass over the primary key |
//! | `clear_expired`  | `DELETE … WHERE expire_date < now` (Django's `clear_expired`), 5000 rows a statement |
//!
//! `expire_date` is the session's expiry, in UTC: what Django writes with
//! `USE_TZ = True` (the default). A TTL the component gives is added to the
//! provider's clock; a session without one gets Django's latest date,
//! 9999-12-31 23:59:59.
//!
//! The table is Django's: sessionbox never alters it. A missing table is
//! an error that says to run Django's `migrate`, unless the options ask to
//! create it with Django's own DDL.

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use crate::error::{Error, Result};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Rows `clear_expired` deletes per statement.
const CLEAR_BATCH: u64 = 5000;

/// Django's table for its session model.
pub const DJANGO_SESSION_TABLE: &str = "django_session";

/// The latest `expire_date` Django can store: 9999-12-31 23:59:59 UTC.
fn latest() -> SystemTime {
    crate::expiry::latest_expiry()
}

/// `now` plus `ttl_ms` (none: the latest date), no later than the latest.
fn expire_date(now: SystemTime, ttl_ms: Option<u64>) -> SystemTime {
    match ttl_ms {
        Some(ms) => now.checked_add(Duration::from_millis(ms)).map_or(latest(), |t| t.min(latest())),
        None => latest(),
    }
}

/// The milliseconds from `now` to `expire` (rounded up, so a row that is
/// still live never reads as already expired).
fn ttl_ms(now: SystemTime, expire: SystemTime) -> u64 {
    let left = expire.duration_since(now).unwrap_or_default();
    let ms = left.as_millis() + u128::from(left.subsec_nanos() % 1_000_000 != 0);
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// A table name as given (`django_session`, a custom model's `db_table`,
/// or on PostgreSQL `schema.table`), checked and quoted for SQL.
fn quoted_table(name: &str, allow_schema: bool) -> Result<String> {
    let parts: Vec<&str> = name.split('.').collect();
    let valid = |p: &&str| {
        !p.is_empty()
            && p.len() <= 63
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !p.as_bytes()[0].is_ascii_digit()
    };
    if parts.is_empty() || parts.len() > if allow_schema { 2 } else { 1 } || !parts.iter().all(valid) {
        return Err(Error::Config(format!(
            "the session table {name:?} is not a plain table name (letters, digits and _{})",
            if allow_schema { ", optionally schema.table" } else { "" }
        )));
    }
    Ok(parts.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join("."))
}

/// The statements both databases run alike, in their placeholder syntax
/// (`$1` on PostgreSQL, `?1` on SQLite), for the quoted table `t`.
struct Statements {
    get: String,
    insert: String,
    update: String,
    delete: String,
    exists: String,
    /// The update only while the row holds what was read.
    update_if_equal: String,
    /// A new `expire_date`, the data untouched.
    retime: String,
    /// A page of keys, in key order, after a key.
    keys: String,
    /// Whether the table has Django's columns.
    probe: String,
}

impl Statements {
    fn new(t: &str, p: char) -> Statements {
        Statements {
            get: format!("SELECT session_data, expire_date FROM {t} WHERE session_key = {p}1 AND expire_date > {p}2"),
            // A taken key fails the create unless its row has expired.
            insert: format!(
                "INSERT INTO {t} (session_key, session_data, expire_date) VALUES ({p}1, {p}2, {p}3) \
                 ON CONFLICT (session_key) DO UPDATE SET session_data = excluded.session_data, expire_date = excluded.expire_date \
                 WHERE {t}.expire_date <= {p}4"
            ),
            // Only a live row: an expired or deleted session stays gone.
            update: format!("UPDATE {t} SET session_data = {p}2, expire_date = {p}3 WHERE session_key = {p}1 AND expire_date > {p}4"),
            delete: format!("DELETE FROM {t} WHERE session_key = {p}1"),
            exists: format!("SELECT 1 FROM {t} WHERE session_key = {p}1 AND expire_date > {p}2"),
            update_if_equal: format!(
                "UPDATE {t} SET session_data = {p}2, expire_date = {p}3 WHERE session_key = {p}1 AND expire_date > {p}4 AND session_data = {p}5"
            ),
            retime: format!("UPDATE {t} SET expire_date = {p}2 WHERE session_key = {p}1 AND expire_date > {p}3 AND session_data = {p}4"),
            keys: format!("SELECT session_key FROM {t} WHERE session_key > {p}1 ORDER BY session_key LIMIT {p}2"),
            probe: format!("SELECT session_key, session_data, expire_date FROM {t} LIMIT 0"),
        }
    }
}

/// Connections kept open between calls: a call takes one (or opens a new
/// one), and gives it back when it worked; a failed one is dropped, so a
/// broken connection is never reused.
struct Idle<C> {
    idle: Mutex<Vec<C>>,
    max_idle: usize,
}

impl<C> Idle<C> {
    fn new(max_idle: usize) -> Idle<C> {
        Idle { idle: Mutex::new(Vec::new()), max_idle }
    }

    fn take(&self) -> Option<C> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    fn give(&self, conn: C) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }
}

/// The page `keys` returns from the rows a `keys` statement found (asked
/// for `count` of them): those with `prefix`, and the last key as the
/// cursor when the page was full.
fn key_page(rows: Vec<String>, prefix: &str, count: u32) -> crate::kv::KeyPage {
    let cursor = (rows.len() as u64 >= u64::from(count.max(1))).then(|| rows.last().cloned()).flatten();
    crate::kv::KeyPage { keys: rows.into_iter().filter(|k| k.starts_with(prefix)).collect(), cursor }
}

/// Seconds and nanoseconds since the epoch of `t` (none before 1970).
fn unix(t: SystemTime) -> sessionbox_guest::time::Time {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    sessionbox_guest::time::Time::new(i64::try_from(d.as_secs()).unwrap_or(i64::MAX), d.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_checked_and_quoted() {
        assert_eq!(quoted_table("django_session", false).unwrap(), "\"django_session\"");
        assert_eq!(quoted_table("app.sessions", true).unwrap(), "\"app\".\"sessions\"");
        for bad in ["", "a b", "a\"b", "a;drop", "1a", "app.sessions", "a..b"] {
            assert!(quoted_table(bad, false).is_err(), "{bad}");
        }
        assert!(quoted_table("a.b.c", true).is_err());
    }

    #[test]
    fn ttls_round_up_and_dates_stop_at_the_latest() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(ttl_ms(now, now + Duration::from_micros(1)), 1);
        assert_eq!(ttl_ms(now, now - Duration::from_secs(1)), 0);
        assert_eq!(expire_date(now, Some(1500)), now + Duration::from_millis(1500));
        assert_eq!(expire_date(now, None), latest());
        assert_eq!(expire_date(now, Some(u64::MAX)), latest());
    }
}
