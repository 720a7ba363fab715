//! Conformance: Django's own session tests (docs/SPEC.md §6), ported to the host API.
//!
//! Every name in docs/SPEC.md §6 — from `tests/sessions_tests/tests.py`
//! (`SessionTestsMixin`, `FileSessionTests`, plus `test_cookie`, `is_empty`
//! and `bool` from `SessionBaseTests`) — is one test function here, named
//! `test_<django name>`, asserting what Django's test body asserts, adapted to
//! Rust:
//!
//! - `KeyError` → `None`; `UpdateError` → [`Error::NotFound`];
//!   `InvalidSessionKey` → [`Error::InvalidKey`]; `ImproperlyConfigured` →
//!   [`Error::Config`].
//! - Django resets `session.accessed/modified` by hand; here a session with
//!   data and clean flags is a fresh [`Session`] over a stored key.
//! - `get_expiry_*(modification=...)` → the Rust API counts from "now", so
//!   moments are bracketed by clock reads, and relative expiries use a half
//!   second of slack (`10.5 s`) so the whole-seconds age is exactly 10.
//! - `session.decode(...)` → a stored value written by hand (a session file,
//!   or a key-value entry), then read with [`Store::load`] and [`Session`].
//!
//! As in Django, where `SessionTestsMixin` runs once per backend class, each
//! test is defined once and run on every backend by [`conformance_suite!`],
//! one module per backend: `dir` (the file backend, Django's
//! `FileSessionTests`), and the key-value backends, Django's
//! `CacheSessionTests`: `memory` and `memory_pickle` ([`MemoryKv`] in the
//! signed format and in Django's cache format), `redis` and `redis_pickle`
//! (a real `redis-server`, one per test, in [`RedisFormat::signed`] and
//! [`RedisFormat::django`]). `cargo test conformance::redis::test_store`
//! runs one. Django's `CacheSessionTests` overrides none of the mixin's
//! tests; where the port looks at storage and the cache backend's storage
//! differs (an entry with a TTL, a pickle), the test says which way each
//! backend goes. The `FileSessionTests` (storage path, key-to-file,
//! `clearsessions` counting files) run on `dir` only; `CacheSessionTests`'
//! own tests run on the key-value backends only.
//!
//! The last test checks the accessed/modified flag rules stated at the end of
//! docs/SPEC.md §6 for every operation.

use crate::support::data;
use crate::support::postgres::PostgresServer;
use crate::support::redis::RedisServer;
use sessionbox::kv::sql::{postgres::PostgresOptions, sqlite::SqliteOptions};
use sessionbox::DbOptions;
use serde_json::{json, Value};
use sessionbox::kv::{Format, KeyValue, MemoryKv};
use sessionbox::{
    Data, Error, Expiry, Loaded, Options, RedisFormat, RedisOptions, Session, Settings, Store, DEFAULT_COOKIE_AGE, DEFAULT_KEY_SALT,
    TEST_COOKIE_NAME, TEST_COOKIE_VALUE,
};
use sessionbox_guest::codec::Codec;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tempfile::TempDir;

// ---------------------------------------------------------------------------
// The backends
// ---------------------------------------------------------------------------

/// Runs each named test function on one backend: `mod $module` with one
/// `#[test] fn test_x() { super::test_x(super::$open) }` per name. The list
/// every backend runs is here, once; `extra:` names the backend's own tests.
macro_rules! conformance_suite {
    ($module:ident, $open:ident, extra: [$($extra:ident),* $(,)?]) => {
        mod $module {
            conformance_suite!(@common $open, [
                // SessionTestsMixin, on what a store keeps
                test_save, test_cycle, test_decode, test_decode_failure_logged_to_security,
                test_decode_serializer_exception, test_session_load_does_not_create_record,
                test_session_save_does_not_resurrect_session_logged_out_in_other_context,
                $($extra,)*
            ]);
        }
    };
    // A store that keeps nothing (signed cookies): Django's
    // CookieSessionTests skips the tests of what a store keeps.
    ($module:ident, $open:ident, keeps_nothing, extra: [$($extra:ident),* $(,)?]) => {
        mod $module {
            conformance_suite!(@common $open, [$($extra,)*]);
        }
    };
    (@common $open:ident, [$($more:ident,)*]) => {
        conformance_suite!(@tests $open, [
            // SessionTestsMixin
            test_new_session, test_get_empty, test_store, test_pop, test_pop_default,
            test_pop_default_named_argument, test_pop_no_default_keyerror_raised, test_setdefault,
            test_update, test_has_key, test_values, test_keys, test_items, test_clear,
            test_delete, test_flush, test_cycle_with_no_session_cache,
            test_save_doesnt_clear_data, test_invalid_key, test_session_key_empty_string_invalid,
            test_session_key_too_short_invalid, test_session_key_valid_string_saved,
            test_session_key_is_read_only, test_default_expiry, test_custom_expiry_seconds,
            test_custom_expiry_timedelta, test_custom_expiry_datetime, test_custom_expiry_reset,
            test_get_expire_at_browser_close,
            // SessionBaseTests
            test_test_cookie, test_is_empty, test_bool,
            // docs/SPEC.md §6 flag rules
            spec_accessed_and_modified_flag_rules,
            $($more,)*
        ]);
    };
    (@tests $open:ident, [$($test:ident,)*]) => {
        $(
            #[test]
            fn $test() {
                super::$test(super::$open);
            }
        )*
    };
}

conformance_suite!(dir, open_dir, extra: [
    // FileSessionTests
    test_configuration_check, test_invalid_key_backslash, test_invalid_key_forwardslash, test_clearsessions_command,
]);
conformance_suite!(memory, open_memory, extra: [test_load_overlong_key, test_default_cache, test_create_and_save]);
conformance_suite!(memory_pickle, open_memory_pickle, extra: [test_load_overlong_key, test_default_cache, test_create_and_save]);
conformance_suite!(redis, open_redis, extra: [test_load_overlong_key, test_default_cache, test_create_and_save]);
conformance_suite!(redis_pickle, open_redis_pickle, extra: [test_load_overlong_key, test_default_cache, test_create_and_save]);
// DatabaseSessionTests: Django's `db` engine on SQLite and on PostgreSQL.
conformance_suite!(sqlite, open_sqlite, extra: [test_load_overlong_key, test_create_and_save, test_db_clearsessions_command]);
conformance_suite!(postgres, open_postgres, extra: [test_load_overlong_key, test_create_and_save, test_db_clearsessions_command]);
// CacheDBSessionTests: Django's cached_db engine, SQLite behind a real Redis
// in Django's cache format.
conformance_suite!(cached_db, open_cached_db, extra: [test_load_overlong_key, test_create_and_save, test_db_clearsessions_command, test_exists_searches_cache_first]);
// CookieSessionTests: Django's signed_cookies engine.
conformance_suite!(signed_cookies, open_signed_cookies, keeps_nothing, extra: [test_cookie_decode]);

/// Opens a fresh, empty backend with these settings and options.
type Open = fn(Settings, Options) -> Backend;

/// Where a backend keeps its sessions, for the checks Django's tests make on
/// storage itself (a file exists, the cache holds the key).
enum Raw {
    /// A session directory.
    Dir(TempDir),
    /// A [`MemoryKv`], shared with the store.
    Memory(Arc<MemoryKv>),
    /// A `redis-server` of the test's own, and the format its keys are in.
    Redis { server: RedisServer, format: RedisFormat },
    /// A SQLite database file with Django's table, in a directory of the
    /// test's own.
    Sqlite(TempDir),
    /// A PostgreSQL server of the test's own, with Django's table.
    Postgres(PostgresServer),
    /// No storage: Django's signed_cookies engine.
    Cookies,
    /// A SQLite database (as `Sqlite`) behind a `redis-server` of the test's
    /// own in Django's cache format.
    CachedDb(TempDir, RedisServer),
}

/// One store under test, and its storage seen from outside. Derefs to the
/// [`Store`], so the tests read as Django's do.
struct Backend {
    store: Store,
    raw: Raw,
}

impl std::ops::Deref for Backend {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

fn open_dir(settings: Settings, options: Options) -> Backend {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open_with(dir.path(), settings, options).expect("open store");
    Backend { store, raw: Raw::Dir(dir) }
}

fn open_memory_in(format: Format, settings: Settings, options: Options) -> Backend {
    let kv = Arc::new(MemoryKv::with_format(format));
    let store = Store::open_kv(Arc::clone(&kv), settings, options).expect("open store");
    Backend { store, raw: Raw::Memory(kv) }
}

fn open_memory(settings: Settings, options: Options) -> Backend {
    open_memory_in(Format::Signed, settings, options)
}

fn open_memory_pickle(settings: Settings, options: Options) -> Backend {
    open_memory_in(Format::DjangoPickle, settings, options)
}

fn open_redis_in(format: RedisFormat, settings: Settings, options: Options) -> Backend {
    let server = RedisServer::start();
    let mut redis = RedisOptions::new(server.url());
    redis.format = format.clone();
    let store = Store::open_redis_with(&redis, settings, options).expect("open store");
    Backend { store, raw: Raw::Redis { server, format } }
}

fn open_redis(settings: Settings, options: Options) -> Backend {
    open_redis_in(RedisFormat::signed(), settings, options)
}

fn open_redis_pickle(settings: Settings, options: Options) -> Backend {
    open_redis_in(RedisFormat::django(), settings, options)
}

fn open_sqlite(settings: Settings, options: Options) -> Backend {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut sqlite = SqliteOptions::new(dir.path().join("db.sqlite3"));
    sqlite.create_table = true;
    let store = Store::open_sqlite(&sqlite, settings, options).expect("open store");
    Backend { store, raw: Raw::Sqlite(dir) }
}

fn open_cached_db(settings: Settings, options: Options) -> Backend {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = RedisServer::start();
    let mut sqlite = SqliteOptions::new(dir.path().join("db.sqlite3"));
    sqlite.create_table = true;
    let mut redis = RedisOptions::new(server.url());
    redis.format = RedisFormat::django();
    let store = Store::open_cached_db(&DbOptions::Sqlite(sqlite), &redis, settings, options).expect("open store");
    Backend { store, raw: Raw::CachedDb(dir, server) }
}

fn open_signed_cookies(settings: Settings, options: Options) -> Backend {
    Backend { store: Store::open_signed_cookies(settings, options).expect("open store"), raw: Raw::Cookies }
}

fn open_postgres(settings: Settings, options: Options) -> Backend {
    let server = PostgresServer::start();
    let mut postgres = PostgresOptions::new(server.url("sessionbox"));
    postgres.create_table = true;
    let store = Store::open_postgres(&postgres, settings, options).expect("open store");
    Backend { store, raw: Raw::Postgres(server) }
}

/// Django's `django.contrib.sessions.backends.cache.KEY_PREFIX`.
const DJANGO_CACHE_KEY_PREFIX: &str = "django.contrib.sessions.cache";

impl Backend {
    /// How this backend encodes sessions.
    fn format(&self) -> Format {
        match &self.raw {
            Raw::Dir(_) => Format::Signed,
            Raw::Memory(kv) => kv.format(),
            Raw::Redis { format: RedisFormat::Django { .. }, .. } => Format::DjangoPickle,
            Raw::Redis { .. } => Format::Signed,
            Raw::Sqlite(_) | Raw::Postgres(_) => Format::DjangoDb,
            Raw::CachedDb(..) => Format::DjangoCachedDb,
            Raw::Cookies => Format::Signed,
        }
    }

    /// The session file's name, or the key-value key (Django's `cache_key`
    /// in the pickle format), of session `key`.
    fn name(&self, key: &str) -> String {
        match self.format() {
            Format::Signed => format!("{}{key}", self.settings().file_prefix),
            Format::DjangoPickle => format!("{DJANGO_CACHE_KEY_PREFIX}{key}"),
            Format::DjangoDb | Format::DjangoCachedDb => key.to_owned(),
        }
    }

    /// Runs `sql` on the backend's database (SQLite or PostgreSQL), its
    /// rows as text, one per line, columns joined by `|`.
    fn sql(&self, sql: &str) -> String {
        match &self.raw {
            Raw::Sqlite(dir) | Raw::CachedDb(dir, _) => {
                let db = rusqlite::Connection::open(dir.path().join("db.sqlite3")).expect("open the database");
                let mut statement = db.prepare(sql).expect("prepare");
                let columns = statement.column_count();
                let rows = statement
                    .query_map([], |row| {
                        (0..columns).map(|i| row.get::<_, rusqlite::types::Value>(i).map(|v| sql_text(&v))).collect::<Result<Vec<_>, _>>()
                    })
                    .expect("query")
                    .map(|r| r.expect("row").join("|"))
                    .collect::<Vec<_>>();
                rows.join("\n")
            }
            Raw::Postgres(server) => server.sql("sessionbox", sql),
            _ => panic!("not an SQL backend"),
        }
    }

    /// The current time as the backend's `expire_date` compares it.
    fn sql_now(&self) -> &'static str {
        match &self.raw {
            Raw::Sqlite(_) | Raw::CachedDb(..) => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
            _ => "now()",
        }
    }

    /// The Redis key of `name` (with the format's key prefix).
    fn redis_key(format: &RedisFormat, name: &str) -> String {
        match format {
            RedisFormat::Signed { key_prefix } => format!("{key_prefix}{name}"),
            RedisFormat::Django { key_prefix, version } => format!("{key_prefix}:{version}:{name}"),
        }
    }

    fn redis(server: &RedisServer) -> ::redis::Connection {
        ::redis::Client::open(server.url()).expect("redis URL").get_connection().expect("connect to redis-server")
    }

    /// Whether session `key` is in storage (a file, a live key-value key).
    fn is_stored(&self, key: &str) -> bool {
        let name = self.name(key);
        match &self.raw {
            Raw::Dir(_) => self.dir().unwrap().join(&name).exists(),
            Raw::Memory(kv) => kv.exists(&name).expect("MemoryKv exists"),
            Raw::Redis { server, format } => {
                ::redis::cmd("EXISTS").arg(Backend::redis_key(format, &name)).query::<i64>(&mut Backend::redis(server)).unwrap() == 1
            }
            Raw::Sqlite(_) | Raw::Postgres(_) | Raw::CachedDb(..) => {
                self.sql(&format!("SELECT count(*) FROM django_session WHERE session_key = '{name}' AND expire_date > {}", self.sql_now())) == "1"
            }
            Raw::Cookies => false,
        }
    }

    /// How many sessions are in storage (session files; live keys).
    fn count(&self) -> usize {
        match &self.raw {
            Raw::Dir(_) => session_files(self).len(),
            Raw::Memory(kv) => kv.len(),
            Raw::Redis { server, .. } => ::redis::cmd("DBSIZE").query::<usize>(&mut Backend::redis(server)).unwrap(),
            Raw::Sqlite(_) | Raw::Postgres(_) | Raw::CachedDb(..) => {
                self.sql(&format!("SELECT count(*) FROM django_session WHERE expire_date > {}", self.sql_now())).parse().unwrap()
            }
            Raw::Cookies => 0,
        }
    }

    /// How many entries of any kind are in storage: every directory entry
    /// (temporary files too), every key.
    fn entries(&self) -> usize {
        match &self.raw {
            Raw::Dir(dir) => all_entries(dir.path()).len(),
            Raw::Sqlite(_) | Raw::Postgres(_) | Raw::CachedDb(..) => self.sql("SELECT count(*) FROM django_session").parse().unwrap(),
            _ => self.count(),
        }
    }

    /// Stores `value` as session `key` by hand, as another Django process
    /// would: a file, or a key with the cookie age as its TTL (what Django's
    /// cache backend gives it).
    fn write_raw(&self, key: &str, value: &[u8]) {
        let name = self.name(key);
        let ttl_ms = self.settings().cookie_age * 1000;
        match &self.raw {
            Raw::Cookies => panic!("signed cookies have no storage to write"),
            Raw::Dir(_) => std::fs::write(self.dir().unwrap().join(&name), value).expect("write session file"),
            Raw::Memory(kv) => {
                kv.delete(&name).unwrap();
                assert!(kv.set_if_absent(&name, value, Some(ttl_ms)).unwrap());
            }
            Raw::Redis { server, format } => ::redis::cmd("SET")
                .arg(Backend::redis_key(format, &name))
                .arg(value)
                .arg("PX")
                .arg(ttl_ms)
                .query::<()>(&mut Backend::redis(server))
                .unwrap(),
            // As Django's db backend writes a session: its row, expiring a
            // cookie age from now.
            Raw::Sqlite(_) | Raw::Postgres(_) | Raw::CachedDb(..) => {
                let value = std::str::from_utf8(value).expect("session text").replace('\'', "''");
                let age = self.settings().cookie_age;
                let expire = match &self.raw {
                    Raw::Sqlite(_) | Raw::CachedDb(..) => format!("strftime('%Y-%m-%d %H:%M:%f', 'now', '+{age} seconds')"),
                    _ => format!("now() + interval '{age} seconds'"),
                };
                self.sql(&format!("DELETE FROM django_session WHERE session_key = '{name}'"));
                self.sql(&format!("INSERT INTO django_session VALUES ('{name}', '{value}', {expire})"));
            }
        }
    }

    /// The stored value of session `key`, as written.
    fn read_raw(&self, key: &str) -> Vec<u8> {
        let name = self.name(key);
        match &self.raw {
            // The key is the stored value.
            Raw::Cookies => key.as_bytes().to_vec(),
            Raw::Dir(_) => std::fs::read(self.dir().unwrap().join(&name)).expect("read session file"),
            Raw::Memory(kv) => kv.get(&name, u64::MAX).unwrap().expect("the key is stored").value,
            Raw::Redis { server, format } => {
                ::redis::cmd("GET").arg(Backend::redis_key(format, &name)).query::<Vec<u8>>(&mut Backend::redis(server)).unwrap()
            }
            Raw::Sqlite(_) | Raw::Postgres(_) | Raw::CachedDb(..) => {
                self.sql(&format!("SELECT session_data FROM django_session WHERE session_key = '{name}'")).into_bytes()
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const SECRET: &str = "test-secret";

/// A fresh backend with Django's default settings.
fn setup(open: Open) -> Backend {
    setup_with(open, |_| {}, Options::default())
}

/// A fresh backend with adjusted settings/options.
fn setup_with(open: Open, adjust: impl FnOnce(&mut Settings), options: Options) -> Backend {
    let mut settings = Settings::new(SECRET);
    adjust(&mut settings);
    open(settings, options)
}

/// A stored session holding `v`, opened afresh: not loaded, flags clear (what
/// Django's tests get by setting `accessed = modified = False`).
fn stored(store: &Store, v: Value) -> (String, Session) {
    let key = store.create(&data(v)).expect("create");
    let session = store.session(Some(&key));
    assert!(!session.accessed() && !session.modified());
    (key, session)
}

/// Names of session files (prefix, not temp files) in the store's directory.
fn session_files(store: &Store) -> Vec<String> {
    let prefix = &store.settings().file_prefix;
    let mut names: Vec<String> = std::fs::read_dir(store.dir().unwrap())
        .expect("read session dir")
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix.as_str()) && !n.contains("_out_"))
        .collect();
    names.sort();
    names
}

/// Every entry in a directory.
fn all_entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).expect("read dir").map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Django's signer for sessions, with the test secret.
fn codec() -> Codec {
    Codec::new(SECRET, &[], DEFAULT_KEY_SALT)
}

/// `pickle.loads(value)` by Python's own pickle (what Django's cache
/// backends read with), as JSON.
fn python_unpickle(value: &[u8]) -> Value {
    let mut child = Command::new("python3")
        .args(["-c", "import json, pickle, sys; print(json.dumps(pickle.loads(sys.stdin.buffer.read())))"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running python3 (needed to check Django's pickle format): {e}"));
    child.stdin.take().unwrap().write_all(value).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 could not unpickle {value:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}
fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

fn is_valid_new_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

use crate::support::logs::{capture as capture_logs, Record};

/// Whether `records` hold Django's security warning: a warning (or worse) on a
/// security target saying "Session data corrupted".
fn logged_to_security(records: &[Record]) -> bool {
    records
        .iter()
        .any(|(level, target, msg)| *level <= log::Level::Warn && target.contains("security") && msg.contains("Session data corrupted"))
}

/// `a` and `b` differ by less than `tolerance`.
fn close(a: SystemTime, b: SystemTime, tolerance: Duration) -> bool {
    let d = match a.duration_since(b) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    d < tolerance
}

// ---------------------------------------------------------------------------
// SessionTestsMixin: the dict interface and its flags
// ---------------------------------------------------------------------------

/// A new session is neither accessed nor modified.
fn test_new_session(open: Open) {
    let store = setup(open);
    let session = store.session(None);
    assert!(!session.modified());
    assert!(!session.accessed());
    assert_eq!(session.key(), None);
}

/// `get` of a missing key gives None (and only marks the session accessed).
fn test_get_empty(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    assert_eq!(session.get("cat").unwrap(), None);
    assert!(session.accessed());
    assert!(!session.modified());
}

/// Setting a key marks the session modified, and `pop` returns the value.
fn test_store(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    session.insert("cat", "dog").unwrap();
    assert!(session.modified());
    assert_eq!(session.pop("cat").unwrap(), Some(json!("dog")));
    assert_eq!(session.get("cat").unwrap(), None);
}

/// `pop` of a present key returns it, removes it, marks accessed and modified.
fn test_pop(open: Open) {
    let store = setup(open);
    let (_key, mut session) = stored(&store, json!({"some key": "exists"}));
    assert_eq!(session.pop("some key").unwrap(), Some(json!("exists")));
    assert!(session.accessed());
    assert!(session.modified());
    assert_eq!(session.get("some key").unwrap(), None);
}

/// `pop(key, default)` of a missing key returns the default: accessed, not modified.
fn test_pop_default(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    assert_eq!(session.pop_or("some key", "does not exist").unwrap(), json!("does not exist"));
    assert!(session.accessed());
    assert!(!session.modified());
}

/// `pop(key, default=...)`: same as `pop_default`, here on a loaded stored session.
fn test_pop_default_named_argument(open: Open) {
    let store = setup(open);
    let (_key, mut session) = stored(&store, json!({"other": 1}));
    assert_eq!(session.pop_or("some key", "does not exist").unwrap(), json!("does not exist"));
    assert!(session.accessed());
    assert!(!session.modified());
    assert_eq!(session.load().unwrap(), data(json!({"other": 1})), "the data is untouched");
}

/// `pop(key)` of a missing key without default is Django's KeyError: None here, not modified.
fn test_pop_no_default_keyerror_raised(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    assert_eq!(session.pop("some key").unwrap(), None);
    assert!(session.accessed());
    assert!(!session.modified());
}

/// `setdefault` sets a missing key and returns the existing value otherwise.
fn test_setdefault(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    assert_eq!(session.setdefault("foo", "bar").unwrap(), json!("bar"));
    assert_eq!(session.setdefault("foo", "baz").unwrap(), json!("bar"));
    assert!(session.accessed());
    assert!(session.modified());
    assert_eq!(session.get("foo").unwrap(), Some(json!("bar")));
}

/// `update` marks accessed and modified, and sets the keys.
fn test_update(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    session.update([("update key".to_owned(), json!(1))]).unwrap();
    assert!(session.accessed());
    assert!(session.modified());
    assert_eq!(session.get("update key").unwrap(), Some(json!(1)));
}

/// `key in session` is true for a set key: accessed, not modified.
fn test_has_key(open: Open) {
    let store = setup(open);
    let (_key, mut session) = stored(&store, json!({"some key": 1}));
    assert!(session.contains_key("some key").unwrap());
    assert!(session.accessed());
    assert!(!session.modified());
    assert!(!session.contains_key("other key").unwrap());
}

/// `values()` lists the values: accessed, not modified.
fn test_values(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    assert_eq!(session.values().unwrap(), Vec::<Value>::new());
    assert!(session.accessed());

    let (_key, mut session) = stored(&store, json!({"some key": 1}));
    assert_eq!(session.values().unwrap(), vec![json!(1)]);
    assert!(session.accessed());
    assert!(!session.modified());
}

/// `keys()` lists the keys: accessed, not modified.
fn test_keys(open: Open) {
    let store = setup(open);
    let (_key, mut session) = stored(&store, json!({"x": 1}));
    assert_eq!(session.keys().unwrap(), vec!["x".to_owned()]);
    assert!(session.accessed());
    assert!(!session.modified());
}

/// `items()` lists the pairs: accessed, not modified.
fn test_items(open: Open) {
    let store = setup(open);
    let (_key, mut session) = stored(&store, json!({"x": 1}));
    assert_eq!(session.items().unwrap(), vec![("x".to_owned(), json!(1))]);
    assert!(session.accessed());
    assert!(!session.modified());
}

/// `clear()` empties the data and marks accessed and modified.
fn test_clear(open: Open) {
    let store = setup(open);
    let (key, mut session) = stored(&store, json!({"x": 1}));
    assert_eq!(session.items().unwrap(), vec![("x".to_owned(), json!(1))]);
    assert!(!session.modified());
    session.clear();
    assert_eq!(session.items().unwrap(), vec![]);
    assert!(session.accessed());
    assert!(session.modified());
    // Saved, the cleared data replaces the stored data (a signed cookie's
    // save makes a new key: the cookie is the data).
    session.save(false).unwrap();
    let saved = if store.is_signed_cookies() { session.key().unwrap().to_owned() } else { key };
    assert_eq!(store.load(&saved).unwrap().into_data(), Some(Data::new()));
}

// ---------------------------------------------------------------------------
// SessionTestsMixin: persistence
// ---------------------------------------------------------------------------

/// `save()` of a new session creates it under a new key; `exists(key)` is then true.
fn test_save(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    session.save(false).unwrap();
    let key = session.key().expect("saving gives the session a key").to_owned();
    assert!(is_valid_new_key(&key), "{key:?}");
    assert!(session.exists(&key).unwrap());
    assert!(store.exists(&key).unwrap());
    assert!(store.is_stored(&key));
    assert_eq!(store.load(&key).unwrap().into_data(), Some(Data::new()));
    // Saving again updates in place under the same key.
    session.insert("k", "v").unwrap();
    session.save(false).unwrap();
    assert_eq!(session.key(), Some(key.as_str()));
    assert_eq!(store.load(&key).unwrap().into_data(), Some(data(json!({"k": "v"}))));
    assert_eq!(store.count(), 1);
}

/// `delete(key)` removes the stored session: `exists(key)` is then false.
fn test_delete(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    session.save(false).unwrap();
    let key = session.key().unwrap().to_owned();
    session.delete().unwrap();
    assert!(!session.exists(&key).unwrap());
    assert!(!store.exists(&key).unwrap());
    assert!(!store.is_stored(&key));
    // Deleting a session that is already gone is not an error.
    session.delete().unwrap();
    store.delete(&key).unwrap();
}

/// `flush()` deletes the stored session and forgets the key; accessed and modified.
fn test_flush(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    session.insert("foo", "bar").unwrap();
    session.save(false).unwrap();
    let prev_key = session.key().unwrap().to_owned();
    session.flush().unwrap();
    assert!(!session.exists(&prev_key).unwrap());
    assert_ne!(session.key(), Some(prev_key.as_str()));
    assert_eq!(session.key(), None);
    assert!(session.modified());
    assert!(session.accessed());
    assert_eq!(session.load().unwrap(), Data::new());
    // No new empty session is written (docs/SPEC.md §3 flush).
    assert_eq!(store.count(), 0);
}

/// `cycle_key()` moves the data to a new key and deletes the old session.
fn test_cycle(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    session.insert("a", "c").unwrap();
    session.insert("b", "d").unwrap();
    session.save(false).unwrap();
    let prev_key = session.key().unwrap().to_owned();
    let prev_data = session.items().unwrap();
    session.cycle_key().unwrap();
    assert!(!session.exists(&prev_key).unwrap());
    let new_key = session.key().unwrap().to_owned();
    assert_ne!(new_key, prev_key);
    assert!(is_valid_new_key(&new_key));
    assert_eq!(session.items().unwrap(), prev_data);
    assert_eq!(store.load(&new_key).unwrap().into_data(), Some(data(json!({"a": "c", "b": "d"}))));
    assert_eq!(store.count(), 1);
}

/// `cycle_key()` on a session never loaded keeps its stored data.
fn test_cycle_with_no_session_cache(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    session.insert("a", "c").unwrap();
    session.insert("b", "d").unwrap();
    session.save(false).unwrap();
    let prev_key = session.key().unwrap().to_owned();
    let mut prev_data = session.items().unwrap();

    let mut session = store.session(Some(&prev_key));
    assert!(!session.accessed(), "the fresh session has not loaded its data");
    session.cycle_key().unwrap();
    let new_key = session.key().unwrap().to_owned();
    // A signed cookie of the same data in the same second is the same
    // value (Django's CookieSessionTests asserts no new key either).
    if !store.is_signed_cookies() {
        assert_ne!(new_key, prev_key);
    }
    let mut items = session.items().unwrap();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    prev_data.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(items, prev_data);
    assert!(!store.exists(&prev_key).unwrap());
    assert_eq!(store.load(&new_key).unwrap().into_data(), Some(data(json!({"a": "c", "b": "d"}))));
}

/// `save()` keeps the data in the session.
fn test_save_doesnt_clear_data(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    session.insert("a", "b").unwrap();
    session.save(false).unwrap();
    assert_eq!(session.get("a").unwrap(), Some(json!("b")));
    let key = session.key().unwrap().to_owned();
    assert_eq!(store.session(Some(&key)).get("a").unwrap(), Some(json!("b")));
}

/// An invalid or unknown submitted key is never reused: saving generates a new key.
fn test_invalid_key(open: Open) {
    let store = setup(open);
    let mut session = store.session(Some("1"));
    session.save(false).unwrap();
    let key = session.key().expect("a new key").to_owned();
    assert_ne!(key, "1");
    // A signed cookie's key is the signed data.
    assert!(if store.is_signed_cookies() { store.load(&key).unwrap().into_data() == Some(Data::new()) } else { is_valid_new_key(&key) });
    assert_eq!(session.get("cat").unwrap(), None);
    session.delete().unwrap();
    assert!(!store.exists(&key).unwrap());
    // "1" names no session: deleting it is a no-op, as in Django (docs/SPEC.md §2).
    assert_eq!(store.delete("1"), Ok(false));
    assert!(!store.is_stored("1"));

    // A well-formed key the store does not know ("the db has removed the key").
    let removed = "removedkey0000000000000000000000";
    let mut session = store.session(Some(removed));
    assert_eq!(session.get("cat").unwrap(), None);
    session.save(false).unwrap();
    let key = session.key().expect("a new key").to_owned();
    assert_ne!(key, removed);
    assert!(!store.is_stored(removed));
    // One session stored; a signed cookie stores none.
    assert_eq!(store.count(), usize::from(!store.is_signed_cookies()));
}

/// An empty string is no key.
fn test_session_key_empty_string_invalid(open: Open) {
    let store = setup(open);
    assert_eq!(store.session(Some("")).key(), None);
    assert!(store.session(Some("")).is_empty());
}

/// A key shorter than 8 characters is no key.
fn test_session_key_too_short_invalid(open: Open) {
    let store = setup(open);
    assert_eq!(store.session(Some("1234567")).key(), None);
}

/// A key of 8 characters or more is kept as given.
fn test_session_key_valid_string_saved(open: Open) {
    let store = setup(open);
    assert_eq!(store.session(Some("12345678")).key(), Some("12345678"));
}

/// The key cannot be assigned: it changes only through save, cycle_key and flush.
fn test_session_key_is_read_only(open: Open) {
    // Rust: `Session` has no key setter (a compile-time AttributeError); check
    // that nothing but save/cycle/flush moves the key.
    let store = setup(open);
    let mut session = store.session(None);
    session.insert("x", 1).unwrap();
    session.get("x").unwrap();
    session.set_expiry(Expiry::Seconds(100)).unwrap();
    assert_eq!(session.key(), None, "writing data does not assign a key");
    session.save(false).unwrap();
    let first = session.key().unwrap().to_owned();
    session.insert("y", 2).unwrap();
    session.pop("x").unwrap();
    session.clear();
    session.save(false).unwrap();
    if store.is_signed_cookies() {
        assert_ne!(session.key(), Some(first.as_str()), "a signed cookie's update makes a new value");
        assert_eq!(store.load(session.key().unwrap()).unwrap().into_data(), Some(Data::new()));
    } else {
        assert_eq!(session.key(), Some(first.as_str()), "updating keeps the key");
    }
    session.cycle_key().unwrap();
    let second = session.key().unwrap().to_owned();
    assert_ne!(second, first);
    session.flush().unwrap();
    assert_eq!(session.key(), None);
}

// ---------------------------------------------------------------------------
// SessionTestsMixin: expiry
// ---------------------------------------------------------------------------

/// The default age is the cookie age, also with set_expiry(0) (expire at browser close).
fn test_default_expiry(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    assert_eq!(session.expiry_age().unwrap(), DEFAULT_COOKIE_AGE as i64);
    session.set_expiry(Expiry::BrowserClose).unwrap();
    assert_eq!(session.expiry_age().unwrap(), DEFAULT_COOKIE_AGE as i64);

    // The store's own cookie age is the one used.
    let store = setup_with(open, |s| s.cookie_age = 3600, Options::default());
    let mut session = store.session(None);
    assert_eq!(session.expiry_age().unwrap(), 3600);
    session.set_expiry(Expiry::BrowserClose).unwrap();
    assert_eq!(session.expiry_age().unwrap(), 3600);
}

/// set_expiry(10): expires 10 s after the modification; age 10.
fn test_custom_expiry_seconds(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    session.set_expiry(Expiry::Seconds(10)).unwrap();
    assert_eq!(session.get("_session_expiry").unwrap(), Some(json!(10)));

    let before = SystemTime::now();
    let date = session.expiry_date().unwrap();
    let after = SystemTime::now();
    let ten = Duration::from_secs(10);
    assert!(before + ten <= date && date <= after + ten, "{date:?} not 10 s after now");
    assert_eq!(session.expiry_age().unwrap(), 10);
}

/// set_expiry(timedelta): expires that long after the call; age in whole seconds.
fn test_custom_expiry_timedelta(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    // 10.5 s: whole seconds left stay 10 for the half second this test may take.
    let delta = Duration::from_millis(10_500);
    let before = SystemTime::now();
    session.set_expiry(Expiry::In(delta)).unwrap();
    let after = SystemTime::now();
    let stored = session.get("_session_expiry").unwrap();
    assert!(stored.as_ref().and_then(Value::as_str).is_some_and(|s| s.ends_with("+00:00")), "stored as an ISO datetime: {stored:?}");

    let date = session.expiry_date().unwrap();
    // Stored with microsecond precision.
    assert!(before + delta - Duration::from_micros(1) <= date && date <= after + delta, "{date:?}");
    assert_eq!(session.expiry_age().unwrap(), 10);
}

/// set_expiry(datetime): expires at that moment; age in whole seconds.
fn test_custom_expiry_datetime(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    let at = SystemTime::now() + Duration::from_millis(10_500);
    session.set_expiry(Expiry::At(at)).unwrap();

    let date = session.expiry_date().unwrap();
    assert!(date <= at && close(date, at, Duration::from_micros(1)), "{date:?} != {at:?}");
    assert_eq!(session.expiry_age().unwrap(), 10);

    // The moment survives a save and a reload.
    session.save(false).unwrap();
    let key = session.key().unwrap().to_owned();
    let mut reloaded = store.session(Some(&key));
    assert_eq!(reloaded.expiry_date().unwrap(), date);
}

/// set_expiry(None) after set_expiry(10) restores the default age.
fn test_custom_expiry_reset(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    session.set_expiry(Expiry::Default).unwrap();
    session.set_expiry(Expiry::Seconds(10)).unwrap();
    session.set_expiry(Expiry::Default).unwrap();
    assert_eq!(session.expiry_age().unwrap(), DEFAULT_COOKIE_AGE as i64);
    assert_eq!(session.get("_session_expiry").unwrap(), None);
}

/// expire-at-browser-close: true for expiry 0, false for 10, the store default for None.
fn test_get_expire_at_browser_close(open: Open) {
    for default in [false, true] {
        let options = Options { expire_at_browser_close: default, ..Options::default() };
        let store = setup_with(open, |_| {}, options);
        let mut session = store.session(None);

        session.set_expiry(Expiry::Seconds(10)).unwrap();
        assert!(!session.expire_at_browser_close().unwrap(), "default {default}, expiry 10");

        session.set_expiry(Expiry::BrowserClose).unwrap();
        assert!(session.expire_at_browser_close().unwrap(), "default {default}, expiry 0");

        session.set_expiry(Expiry::Default).unwrap();
        assert_eq!(session.expire_at_browser_close().unwrap(), default, "default {default}, expiry None");

        // Python's `False == 0`: Django reads a stored `false` as 0.
        session.insert(sessionbox::EXPIRY_KEY, false).unwrap();
        assert!(session.expire_at_browser_close().unwrap(), "default {default}, expiry false");
    }
}

// ---------------------------------------------------------------------------
// SessionTestsMixin: decoding
// ---------------------------------------------------------------------------

/// `pickle.dumps({"a test key": "a test value"}, 5)` by CPython 3.11: the
/// value Django's cache backend stores (the dict itself, pickled by the cache
/// at `pickle.HIGHEST_PROTOCOL`, as RedisCache and LocMemCache do).
const PICKLED_BY_PYTHON: &[u8] = b"\x80\x05\x95 \x00\x00\x00\x00\x00\x00\x00}\x94\x8c\na test key\x94\x8c\x0ca test value\x94s.";

/// What one side encodes, the other decodes: values as Django writes them
/// load, and what sessionbox stores Django reads.
fn test_decode(open: Open) {
    let store = setup(open);
    let expected = data(json!({"a test key": "a test value"}));

    // A value as Django writes it loads as the same data.
    let key = "decodetest0000000000000000000000";
    match store.format() {
        Format::Signed | Format::DjangoDb | Format::DjangoCachedDb => store.write_raw(key, codec().encode(r#"{"a test key":"a test value"}"#, unix_now()).as_bytes()),
        Format::DjangoPickle => store.write_raw(key, PICKLED_BY_PYTHON),
    }
    assert_eq!(store.load(key).unwrap().into_data(), Some(expected.clone()));
    let mut session = store.session(Some(key));
    assert_eq!(session.get("a test key").unwrap(), Some(json!("a test value")));
    assert_eq!(session.key(), Some(key));

    if store.format() != Format::DjangoPickle {
        // The docs/SPEC.md §1 worked example (the timestamp is never checked on load).
        let key = "workedexample0000000000000000000";
        store.write_raw(key, b"eyJhIjoxfQ:1r31eq:VDoz3q_CPuIfX082QS3lXvNvB9Hqf_apspxKtUHkO_o");
        assert_eq!(store.load(key).unwrap().into_data(), Some(data(json!({"a": 1}))));
    }

    let key = store.create(&expected).unwrap();
    let value = store.read_raw(&key);
    match store.format() {
        Format::Signed | Format::DjangoDb | Format::DjangoCachedDb => {
            // What sessionbox stores is one `payload:timestamp:signature`
            // line that Django's signer accepts.
            let text = String::from_utf8(value).expect("signed text");
            assert!(text.is_ascii() && !text.ends_with('\n'), "{text:?}");
            let parts: Vec<&str> = text.split(':').collect();
            assert_eq!(parts.len(), 3, "{text:?}");
            assert_eq!(parts[2].len(), 43, "{text:?}");
            let (_json, decoded) = codec().decode(text.as_bytes(), 1 << 20).expect("a Django-signed session");
            assert_eq!(decoded, expected);
        }
        Format::DjangoPickle => {
            // A protocol 5 pickle of the dict, which Python's pickle reads.
            assert_eq!(&value[..2], b"\x80\x05", "{value:?}");
            assert_eq!(python_unpickle(&value), Value::Object(expected));
        }
    }
}

/// A tampered or unsigned value decodes to an empty session and is logged as
/// "Session data corrupted" on the security logger.
fn test_decode_failure_logged_to_security(open: Open) {
    let store = setup(open);
    if store.format() == Format::DjangoPickle {
        // Django's cache backend stores the pickled dict, no signature, so
        // there is nothing to tamper with that a signer would catch. Its
        // `load` reads Django's input here (base64 of b"flaskdj:alkdjf", no
        // pickle) as a cache `get` that raises, which it swallows: an empty
        // session that loses its key, and nothing logged.
        let key = "nopickle000000000000000000000000";
        store.write_raw(key, b"Zmxhc2tkajphbGtkamY=");
        assert_eq!(store.load(key).unwrap(), Loaded::Corrupt);
        let mut session = store.session(Some(key));
        let (loaded, logs) = capture_logs(|| session.load().unwrap());
        assert_eq!(loaded, Data::new());
        assert_eq!(session.key(), None, "a corrupt session loses its key");
        assert!(!logged_to_security(&logs), "Django's cache backend logs nothing here; got {logs:?}");
        return;
    }
    // Django's inputs: a wrongly signed value, and base64 of b"flaskdj:alkdjf"
    // (no ':' at all, checked last below).
    let check = |key: &str, content: &str| {
        store.write_raw(key, content.as_bytes());
        let mut session = store.session(Some(key));
        let (loaded, logs) = capture_logs(|| session.load().unwrap());
        assert_eq!(loaded, Data::new(), "{content:?}");
        assert_eq!(session.key(), None, "{content:?}: a corrupt session loses its key");
        assert!(logged_to_security(&logs), "{content:?}: no security warning logged; got {logs:?}");
        assert_eq!(store.load(key).unwrap(), Loaded::BadSignature, "{content:?}: Django's signer raises BadSignature");
    };

    // A wrongly signed value.
    check("badsig0000000000000000000000000000", "bad:encoded:value");

    // A validly signed session tampered with afterwards.
    let key = "tampered000000000000000000000000";
    let good = codec().encode(r#"{"a":1}"#, unix_now());
    store.write_raw(key, good.replacen("eyJhIjox", "eyJhIjoy", 1).as_bytes());
    assert_eq!(store.load(key).unwrap(), Loaded::BadSignature);
    let mut session = store.session(Some(key));
    let (value, logs) = capture_logs(|| session.get("a").unwrap());
    assert_eq!(value, None);
    assert!(logged_to_security(&logs), "tampered: no security warning logged; got {logs:?}");
    // The next save goes under a fresh key (docs/SPEC.md §5).
    session.insert("a", 2).unwrap();
    session.save(false).unwrap();
    assert_ne!(session.key(), Some(key));

    // No ':' at all: Django's signer raises BadSignature('No ":" found in
    // value'), which Django logs exactly like a wrong signature.
    check("nocolon00000000000000000000000000", "Zmxhc2tkajphbGtkamY=");
}

/// Correctly signed data the serializer cannot read decodes to an empty session.
fn test_decode_serializer_exception(open: Open) {
    let store = setup(open);
    // `TimestampSigner(salt=key_salt).sign(b"invalid data")` by Django 6.1.3
    // with secret "test-secret" (shared/vectors/django-codec.json).
    let signed_by_django = "invalid data:1xWGJn:cBhggdrOLgLjj_ZIYWgHoECLVc6tahoc57Q6-qysuqw";
    // A signed payload whose base64 is valid but whose content is not JSON.
    let signed_not_json = codec().encode("invalid data", unix_now());
    let values: Vec<&[u8]> = match store.format() {
        Format::Signed | Format::DjangoDb | Format::DjangoCachedDb => vec![signed_by_django.as_bytes(), signed_not_json.as_bytes()],
        // The pickle format has no signer: a pickle that Python reads but
        // that holds no session (`pickle.dumps("invalid data", 5)` by
        // CPython), and a session pickle cut short. Django's cache backend
        // has no serializer step to fail here; sessionbox reads both as
        // corrupt, as Django's signed backends read a serializer error.
        Format::DjangoPickle => {
            vec![b"\x80\x05\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x0cinvalid data\x94.", &PICKLED_BY_PYTHON[..20]]
        }
    };
    for (i, content) in values.into_iter().enumerate() {
        let key = format!("serializer00000000000000000000{i:02}");
        let key = key.as_str();
        store.write_raw(key, content);
        assert_eq!(store.load(key).unwrap(), Loaded::Corrupt, "{content:?}: the signature is valid, the data is not");
        let mut session = store.session(Some(key));
        let (loaded, logs) = capture_logs(|| session.load().unwrap());
        assert_eq!(loaded, Data::new(), "{content:?}");
        assert_eq!(session.key(), None, "{content:?}");
        // Django swallows serializer errors silently: not a security event.
        assert!(!logged_to_security(&logs), "{content:?}: logged as a security event: {logs:?}");
    }
}

/// A session whose expiry date is already past expires at once: it loads empty.
fn test_actual_expiry(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    session.insert("foo", "bar").unwrap();
    session.set_expiry(Expiry::At(SystemTime::now() - Duration::from_secs(10))).unwrap();
    session.save(false).unwrap();
    let old_key = session.key().unwrap().to_owned();
    if !store.expires_by_itself() {
        assert!(store.is_stored(&old_key), "saved even though expired");
    }
    // Django's cache backend hands the cache a timeout of 0 or less, so the
    // entry is gone at once (RedisCache deletes it, LocMemCache stores it
    // already expired); a key-value store here is never given it.

    let mut new_session = store.session(Some(&old_key));
    assert!(!new_session.contains_key("foo").unwrap());
    assert_eq!(new_session.key(), None);
    assert!(!store.is_stored(&old_key), "loading deletes the expired session");

    // Asked directly, the directory store reports it as expired (and deletes
    // it); a key-value store no longer holds it.
    session.set_expiry(Expiry::Seconds(-10)).unwrap();
    session.create().unwrap();
    let key = session.key().unwrap().to_owned();
    let gone = if store.expires_by_itself() { Loaded::Missing } else { Loaded::Expired };
    assert_eq!(store.load(&key).unwrap(), gone);
    assert!(!store.exists(&key).unwrap());
}

/// Loading an unknown key creates no session record (a DoS vector) and drops the key.
fn test_session_load_does_not_create_record(open: Open) {
    let store = setup(open);
    let mut session = store.session(Some("someunknownkey"));
    assert_eq!(session.load().unwrap(), Data::new());
    assert_eq!(session.key(), None);
    assert_ne!(session.key(), Some("someunknownkey"));
    assert!(!session.exists("someunknownkey").unwrap());
    assert_eq!(store.entries(), 0, "no entry of any kind was created");
    assert_eq!(store.load("someunknownkey").unwrap(), Loaded::Missing);
    assert_eq!(store.entries(), 0);
}

/// Saving a session deleted (logged out) elsewhere fails and does not resurrect it.
fn test_session_save_does_not_resurrect_session_logged_out_in_other_context(open: Open) {
    let store = setup(open);
    let mut s1 = store.session(None);
    s1.insert("test_data", "value1").unwrap();
    s1.save(true).unwrap();
    let key = s1.key().unwrap().to_owned();

    // Logout in another context.
    let mut s2 = store.session(Some(&key));
    s2.delete().unwrap();

    // Modify the session in the first context: saving is Django's UpdateError.
    s1.insert("test_data", "value2").unwrap();
    assert_eq!(s1.save(false), Err(Error::NotFound));
    assert_eq!(store.save(&key, &data(json!({"test_data": "value3"})), false), Err(Error::NotFound));

    // Django: `s1.load() == {}` (a fresh read from storage).
    assert_eq!(store.load(&key).unwrap(), Loaded::Missing);
    assert_eq!(s1.load().unwrap(), Data::new());
    assert_eq!(s1.key(), None);
    assert!(!store.exists(&key).unwrap());
    assert_eq!(store.count(), 0);
}

// ---------------------------------------------------------------------------
// FileSessionTests
// ---------------------------------------------------------------------------

/// A session directory that cannot exist is a clear configuration error.
fn test_configuration_check(_open: Open) {
    let weird = "/if/this/directory/exists/you/have/a/weird/computer";
    let result = Store::open(weird, Settings::new(SECRET));
    assert!(matches!(result, Err(Error::Config(_))), "{result:?}");
    assert!(!std::path::Path::new(weird).exists());

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing").join("sessions");
    let result = Store::open(&missing, Settings::new(SECRET));
    assert!(matches!(result, Err(Error::Config(_))), "{result:?}");
    assert!(!missing.exists() && !dir.path().join("missing").exists());

    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let result = Store::open(&file, Settings::new(SECRET));
    assert!(matches!(result, Err(Error::Config(_))), "{result:?}");
}

/// Shared body of the two directory-traversal tests: every operation refuses
/// `keys`, and nothing is written inside or outside the session directory.
fn assert_keys_refused(keys: &[&str]) {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path().join("sessions"), Settings::new(SECRET)).unwrap();
    let d = data(json!({"x": 1}));
    for &key in keys {
        assert_eq!(store.exists(key), Err(Error::InvalidKey), "exists({key:?})");
        assert_eq!(store.delete(key), Err(Error::InvalidKey), "delete({key:?})");
        assert_eq!(store.save(key, &d, true), Err(Error::InvalidKey), "save({key:?}, must_create)");
        assert_eq!(store.save(key, &d, false), Err(Error::InvalidKey), "save({key:?})");
        assert_eq!(store.cycle_key(key, &d), Err(Error::InvalidKey), "cycle_key({key:?})");
        assert_eq!(store.load(key), Ok(Loaded::Missing), "load({key:?})");

        let mut session = store.session(Some(key));
        assert_eq!(session.get("x").unwrap(), None, "{key:?}");
        assert_eq!(session.key(), None, "{key:?}");
    }
    assert_eq!(all_entries(store.dir().unwrap()), Vec::<String>::new());
    assert_eq!(all_entries(root.path()), vec!["sessions".to_owned()]);
}

/// A key with backslashes is refused (no directory traversal).
fn test_invalid_key_backslash(_open: Open) {
    assert_keys_refused(&["a\\b\\c", "abcd\\efgh\\ijkl", "..\\..\\abcdefgh"]);
}

/// A key with forward slashes is refused (no directory traversal).
fn test_invalid_key_forwardslash(_open: Open) {
    assert_keys_refused(&["a/b/c", "abcd/efgh/ijkl", "../../abcdefgh", "abcdefgh/../../x"]);
}

/// clearsessions with cookie age 0: of +3600, -3600 and no expiry, only +3600 survives.
fn test_clearsessions_command(open: Open) {
    let store = setup_with(open, |s| s.cookie_age = 0, Options::default());
    std::fs::write(store.dir().unwrap().join("not-a-session"), "left alone").unwrap();
    assert_eq!(session_files(&store).len(), 0);

    // One session in the future.
    let mut session = store.session(None);
    session.insert("foo", "bar").unwrap();
    session.set_expiry(Expiry::Seconds(3600)).unwrap();
    session.save(false).unwrap();
    let future = session.key().unwrap().to_owned();

    // One in the past.
    let mut other = store.session(None);
    other.insert("foo", "bar").unwrap();
    other.set_expiry(Expiry::Seconds(-3600)).unwrap();
    other.save(false).unwrap();

    // One in the present without expiry: mtime + cookie age 0 is already past.
    let mut other2 = store.session(None);
    other2.insert("foo", "bar").unwrap();
    other2.save(false).unwrap();

    assert_eq!(session_files(&store).len(), 3);
    let report = store.clear_expired().unwrap();
    assert_eq!(session_files(&store), vec![format!("sessionid{future}")]);
    assert_eq!((report.scanned, report.deleted, report.skipped), (3, 2, 0), "{report:?}");
    assert!(store.dir().unwrap().join("not-a-session").is_file(), "files without the prefix are skipped");
    assert_eq!(store.load(&future).unwrap().into_data(), Some(data(json!({"foo": "bar", "_session_expiry": 3600}))));
}

/// `exists` answers from the cache first (Django's
/// `CacheDBSessionTests.test_exists_searches_cache_first` counts no query):
/// a session whose row went is still found while the cache holds it.
fn test_exists_searches_cache_first(open: Open) {
    let store = setup(open);
    let key = store.create(&data(json!({"a": 1}))).unwrap();
    assert!(matches!(store.load(&key).unwrap(), Loaded::Found { .. }), "the load fills the cache");
    store.sql(&format!("DELETE FROM django_session WHERE session_key = '{key}'"));
    assert!(store.exists(&key).unwrap(), "found in the cache");
    assert!(store.delete(&key).unwrap(), "the cache entry was there to delete");
    assert!(!store.exists(&key).unwrap());
}

// ---------------------------------------------------------------------------
// CookieSessionTests (the signed_cookies engine)
// ---------------------------------------------------------------------------

/// `decode` on a cookie: what Django's signer wrote with the cookie salt
/// reads back; the file salt, a tampered value (logged to
/// `sessionbox::security`) and a payload that is no JSON object do not.
fn test_cookie_decode(open: Open) {
    let store = setup(open);
    let cookie_codec = Codec::new(SECRET, &[], "django.contrib.sessions.backends.signed_cookies");
    let value = cookie_codec.encode(r#"{"a test key":"a test value"}"#, unix_now());
    assert_eq!(store.load(&value).unwrap().into_data(), Some(data(json!({"a test key": "a test value"}))));
    assert_eq!(store.session(Some(&value)).get("a test key").unwrap(), Some(json!("a test value")));
    // A save of a session never read keeps its data (the cookie is remade
    // from it, not from nothing).
    let mut untouched = store.session(Some(&value));
    untouched.save(false).unwrap();
    assert_eq!(store.load(untouched.key().unwrap()).unwrap().into_data(), Some(data(json!({"a test key": "a test value"}))));
    let file_salt = codec().encode(r#"{"a test key":"a test value"}"#, unix_now());
    let (loaded, logs) = capture_logs(|| store.load(&file_salt).unwrap());
    assert_eq!(loaded, Loaded::BadSignature);
    assert!(logged_to_security(&logs), "a bad signature is a security event: {logs:?}");
    assert_eq!(store.load(&value.replacen(':', "A:", 1)).unwrap(), Loaded::BadSignature);
    assert_eq!(store.load(&cookie_codec.encode("invalid data", unix_now())).unwrap(), Loaded::Corrupt);
    // Older than the cookie age: expired, as Django's max_age check says.
    let old = cookie_codec.encode("{}", unix_now() - DEFAULT_COOKIE_AGE as i64 - 5);
    assert_eq!(store.load(&old).unwrap(), Loaded::Expired);
}

// ---------------------------------------------------------------------------
// DatabaseSessionTests (the db engine)
// ---------------------------------------------------------------------------

/// `clearsessions` deletes the expired rows and only those; Django's
/// `DatabaseSessionTests.test_clearsessions_command`, counting rows.
fn test_db_clearsessions_command(open: Open) {
    let store = setup(open);
    assert_eq!(store.entries(), 0);
    let mut session = store.session(None);
    session.insert("foo", "bar").unwrap();
    session.set_expiry(Expiry::Seconds(3600)).unwrap();
    session.save(false).unwrap();
    let future = session.key().unwrap().to_owned();
    // Django writes expired rows (its save does not check); so does a
    // session that another writer expired: planted here as Django stores it.
    let mut other = store.session(None);
    other.insert("foo", "bar").unwrap();
    other.save(false).unwrap();
    let past = other.key().unwrap().to_owned();
    let earlier = if matches!(store.raw, Raw::Sqlite(_) | Raw::CachedDb(..)) { "datetime(expire_date, '-30 days')" } else { "expire_date - interval '30 days'" };
    store.sql(&format!("UPDATE django_session SET expire_date = {earlier} WHERE session_key = '{past}'"));
    assert_eq!(store.entries(), 2, "both rows are in the table");
    // (Behind a cache, the cache entry serves until its own TTL, as in
    // Django's cached_db: the row was aged behind the cache's back.)
    if !matches!(store.raw, Raw::CachedDb(..)) {
        assert_eq!(store.load(&past).unwrap(), Loaded::Missing, "an expired row is no session");
    }
    let report = store.clear_expired().unwrap();
    assert_eq!(report.deleted, 1, "{report:?}");
    assert_eq!(store.entries(), 1);
    assert_eq!(store.load(&future).unwrap().into_data(), Some(data(json!({"foo": "bar", "_session_expiry": 3600}))));
}

// ---------------------------------------------------------------------------
// CacheSessionTests (the key-value backends)
// ---------------------------------------------------------------------------

/// A key far too long to name a session loads as an empty session.
fn test_load_overlong_key(open: Open) {
    let store = setup(open);
    let letters_and_digits = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect::<String>();
    let key = letters_and_digits.repeat(20);
    assert_eq!(store.session(Some(&key)).load().unwrap(), Data::new());
    assert_eq!(store.load(&key).unwrap(), Loaded::Missing);
    assert_eq!(store.entries(), 0);
}

/// A saved session is in the cache, under Django's cache key (`cache_key`)
/// in the pickle format.
fn test_default_cache(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    session.save(false).unwrap();
    let key = session.key().unwrap().to_owned();
    assert!(store.is_stored(&key), "{} is not in the cache", store.name(&key));
    assert!(!store.read_raw(&key).is_empty());
    // Django's non-default cache test (`SESSION_CACHE_ALIAS`) has no
    // counterpart: a store has exactly the one provider it was opened on.
}

/// `create()` then `save()` leaves the session in the cache.
fn test_create_and_save(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    session.create().unwrap();
    session.save(false).unwrap();
    let key = session.key().unwrap().to_owned();
    assert!(store.is_stored(&key));
    assert_eq!(store.load(&key).unwrap().into_data(), Some(Data::new()));
}

// ---------------------------------------------------------------------------
// SessionBaseTests: test cookie, is_empty, bool
// ---------------------------------------------------------------------------

/// set_test_cookie / test_cookie_worked / delete_test_cookie.
fn test_test_cookie(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    assert!(!session.contains_key(TEST_COOKIE_NAME).unwrap());
    session.set_test_cookie().unwrap();
    assert!(session.test_cookie_worked().unwrap());
    assert_eq!(session.get(TEST_COOKIE_NAME).unwrap(), Some(json!(TEST_COOKIE_VALUE)));
    session.delete_test_cookie().unwrap();
    assert!(!session.contains_key(TEST_COOKIE_NAME).unwrap());
    assert!(!session.test_cookie_worked().unwrap());
    assert_eq!((TEST_COOKIE_NAME, TEST_COOKIE_VALUE), ("testcookie", "worked"));
}

/// A new session is empty: no key and no data.
fn test_is_empty(open: Open) {
    let store = setup(open);
    let mut session = store.session(None);
    assert!(session.is_empty());
    session.get("x").unwrap();
    assert!(session.is_empty(), "reading does not fill it");
    session.insert("x", 1).unwrap();
    assert!(!session.is_empty());
}

/// A session is falsy when empty, truthy with data or with a key.
fn test_bool(open: Open) {
    // Rust has no `bool(session)`: truthiness is `!is_empty()`.
    let store = setup(open);
    let mut session = store.session(None);
    assert!(session.is_empty());
    session.insert("foo", "bar").unwrap();
    assert!(!session.is_empty());
    session.clear();
    assert!(session.is_empty(), "cleared and never saved: empty again");
    // A session with a key but no data loaded is truthy.
    assert!(!store.session(Some("testkey1234")).is_empty());
}

// ---------------------------------------------------------------------------
// docs/SPEC.md §6 flag rules, operation by operation
// ---------------------------------------------------------------------------

/// Reads set only `accessed`; writes set `modified` too; a pop that finds
/// nothing, or a setdefault that finds a value, leaves `modified` alone.
fn spec_accessed_and_modified_flag_rules(open: Open) {
    let store = setup(open);
    let key = store.create(&data(json!({"present": 1}))).unwrap();
    let check = |name: &str, op: &dyn Fn(&mut Session), modified: bool| {
        let mut session = store.session(Some(&key));
        assert!(!session.accessed() && !session.modified(), "{name}: fresh session");
        op(&mut session);
        assert!(session.accessed(), "{name}: accessed");
        assert_eq!(session.modified(), modified, "{name}: modified");
    };

    // Reads.
    check("get", &|s| assert_eq!(s.get("present").unwrap(), Some(json!(1))), false);
    check("get missing", &|s| assert_eq!(s.get("missing").unwrap(), None), false);
    check("contains_key", &|s| assert!(s.contains_key("present").unwrap()), false);
    check("keys", &|s| assert_eq!(s.keys().unwrap(), vec!["present".to_owned()]), false);
    check("values", &|s| assert_eq!(s.values().unwrap(), vec![json!(1)]), false);
    check("items", &|s| assert_eq!(s.items().unwrap(), vec![("present".to_owned(), json!(1))]), false);
    // Writes.
    check("insert", &|s| assert_eq!(s.insert("new", 2).unwrap(), None), true);
    check("pop present (del session[k])", &|s| assert_eq!(s.pop("present").unwrap(), Some(json!(1))), true);
    check("update", &|s| s.update([("new".to_owned(), json!(2))]).unwrap(), true);
    check("clear", &|s| s.clear(), true);
    check("pop present", &|s| assert_eq!(s.pop("present").unwrap(), Some(json!(1))), true);
    check("setdefault missing", &|s| assert_eq!(s.setdefault("new", 2).unwrap(), json!(2)), true);
    // Writes that find nothing to change.
    check("pop missing with default", &|s| assert_eq!(s.pop_or("missing", 0).unwrap(), json!(0)), false);
    check("pop missing", &|s| assert_eq!(s.pop("missing").unwrap(), None), false);
    check("setdefault present", &|s| assert_eq!(s.setdefault("present", 2).unwrap(), json!(1)), false);
    check("pop missing (del's KeyError)", &|s| assert_eq!(s.pop("missing").unwrap(), None), false);
    check("set_expiry(Default) without one", &|s| s.set_expiry(Expiry::Default).unwrap(), false);

    // None of this touched the stored session.
    assert_eq!(store.load(&key).unwrap().into_data(), Some(data(json!({"present": 1}))));
}

/// An SQLite value as text.
fn sql_text(v: &rusqlite::types::Value) -> String {
    match v {
        rusqlite::types::Value::Null => "NULL".into(),
        rusqlite::types::Value::Integer(i) => i.to_string(),
        rusqlite::types::Value::Real(f) => f.to_string(),
        rusqlite::types::Value::Text(t) => t.clone(),
        rusqlite::types::Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    }
}
