//! Django's `db` session engine on SQLite: the `django_session` table of a
//! database file that Django uses at the same time.
//!
//! Each call is one statement on a pooled connection, waiting up to
//! [`SqliteOptions::busy_timeout`] for a writer to finish (Django's, or
//! another process's). The file is switched to write-ahead logging when it
//! allows it (`PRAGMA journal_mode=WAL`, which lasts), so reads never wait
//! for a writer. `expire_date` is stored as Django's SQLite backend writes
//! it: UTC text, `2030-01-01 00:00:00[.ffffff]`; a text with an offset is
//! read at that offset, one without as UTC.

use super::{expire_date, latest, quoted_table, ttl_ms, unix, Idle, DJANGO_SESSION_TABLE};
use crate::error::{Error, Result};
use crate::kv::{Format, KeyPage, KeyValue, KvEntry, KvError};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Where a SQLite-backed store keeps its sessions.
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// The database file (Django's `DATABASES["default"]["NAME"]`).
    pub path: PathBuf,
    /// The session table (default `django_session`; a custom session
    /// model's `db_table`).
    pub table: String,
    /// Create the database file and the table with Django's DDL when they
    /// are missing (default: `false`, and a missing table is an error that
    /// says to run Django's `migrate`).
    pub create_table: bool,
    /// Longest wait for another writer's lock (default 5 s).
    pub busy_timeout: Duration,
    /// Most idle connections kept open (default 16).
    pub pool_size: usize,
}

impl SqliteOptions {
    /// The database file at `path`, Django's table, default timeouts.
    pub fn new(path: impl Into<PathBuf>) -> SqliteOptions {
        SqliteOptions {
            path: path.into(),
            table: DJANGO_SESSION_TABLE.to_owned(),
            create_table: false,
            busy_timeout: Duration::from_secs(5),
            pool_size: 16,
        }
    }

    /// For messages: "SQLite database PATH, table NAME".
    pub fn describe(&self) -> String {
        format!("SQLite database {}, table {}", self.path.display(), self.table)
    }
}

/// Sessions in a SQLite table, as Django's `db` backend keeps them.
pub struct SqliteKv {
    options: SqliteOptions,
    sql: Statements,
    idle: Idle<Connection>,
}

impl std::fmt::Debug for SqliteKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteKv").field("path", &self.options.path).field("table", &self.options.table).finish_non_exhaustive()
    }
}

struct Statements {
    common: super::Statements,
    clear_expired: String,
    create: [String; 2],
}

impl Statements {
    fn new(t: &str, index: &str) -> Statements {
        Statements {
            common: super::Statements::new(t, '?'),
            clear_expired: format!(
                "DELETE FROM {t} WHERE rowid IN (SELECT rowid FROM {t} WHERE expire_date < ?1 LIMIT {})",
                super::CLEAR_BATCH
            ),
            // Django's migration sessions.0001 on SQLite (`sqlmigrate`).
            create: [
                format!(
                    "CREATE TABLE IF NOT EXISTS {t} (\"session_key\" varchar(40) NOT NULL PRIMARY KEY, \
                     \"session_data\" text NOT NULL, \"expire_date\" datetime NOT NULL)"
                ),
                format!("CREATE INDEX IF NOT EXISTS \"{index}\" ON {t} (\"expire_date\")"),
            ],
        }
    }
}

fn io(doing: &str, e: rusqlite::Error) -> KvError {
    KvError::Other(format!("SQLite {doing}: {e}"))
}

/// `t` as Django's SQLite backend stores a datetime with `USE_TZ = True`:
/// `str()` of the naive UTC datetime.
pub fn format_time(t: SystemTime) -> String {
    let iso = sessionbox_guest::iso8601::format(unix(t));
    // 2030-01-01T00:00:00[.ffffff]+00:00 → 2030-01-01 00:00:00[.ffffff]
    iso.trim_end_matches("+00:00").replacen('T', " ", 1)
}

/// A stored `expire_date`: UTC unless it carries an offset.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let has_offset = text.get(19..).is_some_and(|rest| rest.contains(['+', '-', 'Z', 'z']));
    let t = if has_offset {
        sessionbox_guest::iso8601::parse(text)?
    } else {
        sessionbox_guest::iso8601::parse(&format!("{text}+00:00"))?
    };
    let secs = u64::try_from(t.secs).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::new(secs, t.nanos))
}

impl SqliteKv {
    /// Opens the database and checks the table (creating them with
    /// [`SqliteOptions::create_table`]). Errors name the file, never a
    /// session.
    pub fn open(options: &SqliteOptions) -> Result<SqliteKv> {
        let table = quoted_table(&options.table, false)?;
        // Django names the index after the table and column with a hash;
        // this one only has to be unique, and is Django's for its own table.
        let index = if options.table == DJANGO_SESSION_TABLE { "django_session_expire_date_a5c62663".to_owned() } else { format!("{}_expire_date", options.table) };
        let kv = SqliteKv { options: options.clone(), sql: Statements::new(&table, &index), idle: Idle::new(options.pool_size.max(1)) };
        let conn = kv.connect().map_err(|e| Error::Config(format!("{}: {}", options.describe(), e)))?;
        if let Err(e) = conn.prepare(&kv.sql.common.probe) {
            let missing = e.to_string().contains("no such table");
            if !(missing && options.create_table) {
                return Err(Error::Config(if missing {
                    format!("{}: the table does not exist; run Django's `python manage.py migrate` (or create it with Django's DDL: create_table, --create-table)", options.describe())
                } else {
                    format!("{}: the table is not Django's session table: {e}", options.describe())
                }));
            }
            for ddl in &kv.sql.create {
                conn.execute(ddl, []).map_err(|e| Error::Config(format!("{}: creating the table: {e}", options.describe())))?;
            }
        }
        kv.idle.give(conn);
        Ok(kv)
    }

    fn connect(&self) -> std::result::Result<Connection, String> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if self.options.create_table {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        } else if !self.options.path.exists() {
            return Err("no database file there; run Django's `python manage.py migrate` first".into());
        }
        let conn = Connection::open_with_flags(&self.options.path, flags).map_err(|e| e.to_string())?;
        conn.busy_timeout(self.options.busy_timeout).map_err(|e| e.to_string())?;
        // Readers then never wait for a writer. A file on a filesystem
        // without shared memory, or read-only, keeps its journal mode.
        let _ = conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get::<_, String>(0));
        Ok(conn)
    }

    /// Runs `f` on a pooled connection (a new one if none is idle).
    fn with<T>(&self, doing: &str, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> std::result::Result<T, KvError> {
        let conn = match self.idle.take() {
            Some(conn) => conn,
            None => self.connect().map_err(|e| KvError::Other(format!("SQLite {doing}: opening {}: {e}", self.options.path.display())))?,
        };
        let result = f(&conn).map_err(|e| io(doing, e));
        if result.is_ok() {
            self.idle.give(conn);
        }
        result
    }
}

impl KeyValue for SqliteKv {
    fn format(&self) -> Format {
        Format::DjangoDb
    }

    fn get(&self, key: &str, max_len: u64) -> std::result::Result<Option<KvEntry>, KvError> {
        let now = SystemTime::now();
        let row = self.with("read", |conn| {
            conn.prepare_cached(&self.sql.common.get)?
                .query_row(params![key, format_time(now)], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
                .optional()
        })?;
        let Some((data, expire)) = row else { return Ok(None) };
        if data.len() as u64 > max_len {
            return Err(KvError::TooLarge);
        }
        let expire = parse_time(&expire).ok_or_else(|| KvError::Other(format!("SQLite read: expire_date {expire:?} is not a date and time")))?;
        // The SQL compares text, which is the time's order only in the form
        // Django writes; a row written with an offset is judged here.
        if expire <= now {
            return Ok(None);
        }
        Ok(Some(KvEntry { value: data.into_bytes(), ttl_ms: (expire < latest()).then(|| ttl_ms(now, expire)) }))
    }

    fn set_if_absent(&self, key: &str, value: &[u8], ttl: Option<u64>) -> std::result::Result<bool, KvError> {
        let data = text(value)?;
        let now = SystemTime::now();
        let changed = self.with("insert", |conn| {
            conn.prepare_cached(&self.sql.common.insert)?.execute(params![key, data, format_time(expire_date(now, ttl)), format_time(now)])
        })?;
        Ok(changed == 1)
    }

    fn set_if_present(&self, key: &str, value: &[u8], ttl: Option<u64>) -> std::result::Result<bool, KvError> {
        let data = text(value)?;
        let now = SystemTime::now();
        let changed = self.with("update", |conn| {
            conn.prepare_cached(&self.sql.common.update)?.execute(params![key, data, format_time(expire_date(now, ttl)), format_time(now)])
        })?;
        Ok(changed == 1)
    }

    fn delete(&self, key: &str) -> std::result::Result<bool, KvError> {
        Ok(self.with("delete", |conn| conn.prepare_cached(&self.sql.common.delete)?.execute(params![key]))? > 0)
    }

    fn exists(&self, key: &str) -> std::result::Result<bool, KvError> {
        let now = format_time(SystemTime::now());
        self.with("read", |conn| conn.prepare_cached(&self.sql.common.exists)?.exists(params![key, now]))
    }

    fn set_if_equal(&self, key: &str, expected: &[u8], value: &[u8], ttl: Option<u64>) -> std::result::Result<bool, KvError> {
        let (data, expected) = (text(value)?, text(expected)?);
        let now = SystemTime::now();
        let changed = self.with("update", |conn| {
            conn.prepare_cached(&self.sql.common.update_if_equal)?.execute(params![key, data, format_time(expire_date(now, ttl)), format_time(now), expected])
        })?;
        Ok(changed == 1)
    }

    fn set_ttl(&self, key: &str, expected: &[u8], ttl: Option<u64>) -> std::result::Result<bool, KvError> {
        let expected = text(expected)?;
        let now = SystemTime::now();
        let changed = self.with("update", |conn| {
            conn.prepare_cached(&self.sql.common.retime)?.execute(params![key, format_time(expire_date(now, ttl)), format_time(now), expected])
        })?;
        Ok(changed == 1)
    }

    fn keys(&self, prefix: &str, cursor: Option<&str>, count: u32) -> std::result::Result<KeyPage, KvError> {
        let after = cursor.unwrap_or("");
        let rows = self.with("list", |conn| {
            conn.prepare_cached(&self.sql.common.keys)?.query_map(params![after, i64::from(count.max(1))], |row| row.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<String>>>()
        })?;
        Ok(super::key_page(rows, prefix, count))
    }

    /// In batches of [`CLEAR_BATCH`](super::CLEAR_BATCH) rows, each its own
    /// statement: between them Django's writers get the lock.
    fn clear_expired(&self) -> std::result::Result<u64, KvError> {
        let now = format_time(SystemTime::now());
        let mut total = 0;
        loop {
            let deleted = self.with("clear_expired", |conn| conn.prepare_cached(&self.sql.clear_expired)?.execute(params![now]))? as u64;
            total += deleted;
            if deleted < super::CLEAR_BATCH {
                return Ok(total);
            }
        }
    }

    fn drops_expired(&self) -> bool {
        false
    }
}

/// The component's value as the text column holds it (signed text is
/// ASCII).
fn text(value: &[u8]) -> std::result::Result<&str, KvError> {
    std::str::from_utf8(value).map_err(|_| KvError::Other("a session value is not text".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_and_written_as_djangos_sqlite_backend_does() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000);
        assert_eq!(format_time(t), "2030-01-01 00:00:00");
        assert_eq!(format_time(t + Duration::from_micros(250)), "2030-01-01 00:00:00.000250");
        assert_eq!(parse_time("2030-01-01 00:00:00"), Some(t));
        assert_eq!(parse_time("2030-01-01 00:00:00.000250"), Some(t + Duration::from_micros(250)));
        assert_eq!(parse_time("2030-01-01 01:00:00+01:00"), Some(t));
        assert_eq!(parse_time("2030-01-01T00:00:00Z"), Some(t));
        assert_eq!(parse_time("soon"), None);
        assert_eq!(parse_time(&format_time(latest())), Some(latest()));
    }
}
