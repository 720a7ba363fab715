//! Interop with Django's `db` session engine, the default
//! `SESSION_ENGINE`: a real Django 5.2 (`support::django::Driver`, engine
//! `db`) and sessionbox share one `django_session` table, on SQLite (one
//! database file both open) and on PostgreSQL (a real server per test).
//! Django creates the table (`migrate`); sessionbox only reads and writes
//! rows, through the component and, for `clear-expired`, the CLI.
//!
//! Each test runs on both databases (`db_tests!`).

use crate::support::django::{self, expected_json, Driver};
use crate::support::postgres::{PostgresServer, PASSWORD, USER};
use serde_json::{json, Value};
use sessionbox::kv::sql::{postgres::PostgresOptions, sqlite::SqliteOptions};
use sessionbox::{Error, Expiry, Loaded, Options, Settings, Store};
use std::process::Output;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECRET: &str = "db-interop-secret-0c5e";

/// Runs each named test on SQLite and on PostgreSQL.
macro_rules! db_tests {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $test() { super::$test(super::Db::sqlite()) })*
        }
        mod postgres {
            $(#[test] fn $test() { super::$test(super::Db::postgres()) })*
        }
    };
}

db_tests!(
    django_writes_every_plain_type_and_sessionbox_reads_it_exactly,
    sessionbox_writes_every_plain_type_and_django_reads_it_exactly,
    an_expiry_set_on_either_side_is_the_rows_expire_date_for_both,
    cycle_key_on_either_side_moves_the_session_for_both,
    a_logout_on_either_side_stays_a_logout,
    clearsessions_and_clear_expired_delete_the_same_rows,
    a_table_django_never_migrated_is_a_clear_error,
);

/// One database with Django's table (made by Django's `migrate`), Django
/// on it, and sessionbox on it.
struct Db {
    kind: Kind,
    django: Driver,
    store: Store,
}

enum Kind {
    Sqlite(tempfile::TempDir),
    Postgres(PostgresServer),
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let mut django = Driver::start(&django::django_python(), &django_config(json!({"sqlite": path}), true));
        django.ok(&json!({"op": "info"})); // after its migrate
        let store = Store::open_sqlite(&SqliteOptions::new(&path), settings(), Options::default()).unwrap();
        Db { kind: Kind::Sqlite(dir), django, store }
    }

    fn postgres() -> Db {
        let server = PostgresServer::start();
        let database = json!({"postgres": {"host": "127.0.0.1", "port": server.port, "name": "sessionbox", "user": USER, "password": PASSWORD}});
        let mut django = Driver::start(&django::django_postgres_python(), &django_config(database, true));
        django.ok(&json!({"op": "info"})); // after its migrate
        let store = Store::open_postgres(&PostgresOptions::new(server.url("sessionbox")), settings(), Options::default()).unwrap();
        Db { kind: Kind::Postgres(server), django, store }
    }

    /// Django's op result (which must succeed).
    fn django(&mut self, op: Value) -> Value {
        self.django.ok(&op)
    }

    /// The row of `key` as Django's ORM reads it, or `None`.
    fn row(&mut self, key: &str) -> Option<(SystemTime, String)> {
        let row = self.django(json!({"op": "row", "key": key}))["row"].clone();
        (!row.is_null()).then(|| (iso(row["expire_date"].as_str().unwrap()), row["session_data"].as_str().unwrap().to_owned()))
    }

    /// How many rows the table holds, expired ones included.
    fn rows(&self) -> usize {
        match &self.kind {
            Kind::Sqlite(dir) => {
                let db = rusqlite::Connection::open(dir.path().join("db.sqlite3")).unwrap();
                db.query_row("SELECT count(*) FROM django_session", [], |r| r.get::<_, i64>(0)).unwrap() as usize
            }
            Kind::Postgres(server) => server.sql("sessionbox", "SELECT count(*) FROM django_session").parse().unwrap(),
        }
    }

    /// Moves `key`'s row `secs` seconds into the past, as time would.
    fn age_row(&self, key: &str, secs: u64) {
        match &self.kind {
            Kind::Sqlite(dir) => {
                let db = rusqlite::Connection::open(dir.path().join("db.sqlite3")).unwrap();
                let sql = format!("UPDATE django_session SET expire_date = strftime('%Y-%m-%d %H:%M:%f', expire_date, '-{secs} seconds') WHERE session_key = ?1");
                assert_eq!(db.execute(&sql, [key]).unwrap(), 1);
            }
            Kind::Postgres(server) => {
                let sql = format!("UPDATE django_session SET expire_date = expire_date - interval '{secs} seconds' WHERE session_key = '{key}'");
                server.sql("sessionbox", &sql);
            }
        }
    }

    /// The CLI on this database: `--sqlite PATH`, or `--postgres URL` with
    /// the password from `$SESSIONBOX_POSTGRES_PASSWORD`.
    fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = crate::support::sessionbox(SECRET);
        match &self.kind {
            Kind::Sqlite(dir) => cmd.arg("--sqlite").arg(dir.path().join("db.sqlite3")),
            Kind::Postgres(server) => {
                cmd.args(["--postgres", &server.url_without_password("sessionbox")]).env("SESSIONBOX_POSTGRES_PASSWORD", PASSWORD)
            }
        };
        cmd.args(args).output().unwrap()
    }
}

fn django_config(database: Value, migrate: bool) -> Value {
    json!({"engine": "db", "secret_key": SECRET, "database": database, "migrate": migrate})
}

fn settings() -> Settings {
    Settings::new(SECRET)
}

fn iso(text: &str) -> SystemTime {
    let t = sessionbox_guest::iso8601::parse(text).unwrap_or_else(|| panic!("not a time: {text}"));
    UNIX_EPOCH + Duration::new(t.secs as u64, t.nanos)
}

fn secs_from_now(t: SystemTime) -> f64 {
    match t.duration_since(SystemTime::now()) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

fn found(store: &Store, key: &str) -> (sessionbox::Data, SystemTime) {
    match store.load(key).unwrap() {
        Loaded::Found { data, expires_at } => (data, expires_at),
        other => panic!("session {key}: {other:?}"),
    }
}

/// Asserts two instants are the same within 50 ms: a key-value read gives
/// the time left (whole milliseconds, measured by the provider), which the
/// component adds to its own clock a moment later, as for a Redis TTL.
#[track_caller]
fn same_instant(a: SystemTime, b: SystemTime, what: &str) {
    let diff = match a.duration_since(b) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    assert!(diff <= Duration::from_millis(50), "{what}: {a:?} vs {b:?}");
}

fn django_writes_every_plain_type_and_sessionbox_reads_it_exactly(mut db: Db) {
    let key = db.django(json!({"op": "create", "expected": true}))["key"].as_str().unwrap().to_owned();
    let django_text = db.django(json!({"op": "load", "key": key, "text_only": true}))["data_json"].as_str().unwrap().to_owned();
    let ours = match db.store.load_json(&key).unwrap() {
        Loaded::Found { data, .. } => data,
        other => panic!("{other:?}"),
    };
    assert!(ours == django_text, "sessionbox's reading of Django's row differs from Django's, as text");
    let same = db.django(json!({"op": "load", "key": key, "expected": true}));
    assert_eq!(same["differences"], json!([]));
    // The row expires a cookie age from Django's write; sessionbox reads
    // that expiry from the row.
    let (_, expires_at) = found(&db.store, &key);
    let (expire_date, _) = db.row(&key).unwrap();
    same_instant(expires_at, expire_date, "the loaded expiry is the row's expire_date");
}

fn sessionbox_writes_every_plain_type_and_django_reads_it_exactly(mut db: Db) {
    let key = db.store.create_json(&expected_json()).unwrap();
    let seen = db.django(json!({"op": "load", "key": key, "expected": true}));
    assert_eq!(seen["differences"], json!([]), "Django's reading of sessionbox's row");
    assert_eq!(seen["key_after"], key.as_str());
    let (expire_date, data) = db.row(&key).unwrap();
    let (_, expires_at) = found(&db.store, &key);
    same_instant(expire_date, expires_at, "the row's expire_date is the session's expiry");
    let age = secs_from_now(expire_date);
    assert!((sessionbox::DEFAULT_COOKIE_AGE as f64 - 5.0..=sessionbox::DEFAULT_COOKIE_AGE as f64).contains(&age), "{age}");
    // The signed text Django's own decode accepts.
    let decoded = db.django(json!({"op": "decode", "text": data, "text_only": true}));
    let django_text = db.django(json!({"op": "load", "key": key, "text_only": true}))["data_json"].clone();
    assert!(decoded["data_json"] == django_text, "Django's decode of the row's text is its load");

    // An update on each side, seen by the other; one key throughout.
    let out = db.django(json!({"op": "save", "key": key, "data": {"from_django": "ünï"}}));
    assert_eq!(out["key"], key.as_str());
    let (mut data, _) = found(&db.store, &key);
    assert_eq!(data["from_django"], "ünï");
    data.insert("from_sessionbox".into(), json!([1.5, {"ok": true}]));
    db.store.save(&key, &data, false).unwrap();
    let seen = db.django(json!({"op": "load", "key": key}));
    assert_eq!(seen["data"]["from_sessionbox"], json!([1.5, {"ok": true}]));
    assert_eq!(db.rows(), 1);
}

fn an_expiry_set_on_either_side_is_the_rows_expire_date_for_both(mut db: Db) {
    // Django: set_expiry(300).
    let key = db.django(json!({"op": "create", "data": {"a": 1}, "expiry": 300}))["key"].as_str().unwrap().to_owned();
    let (data, expires_at) = found(&db.store, &key);
    assert_eq!(data["_session_expiry"], 300);
    let (expire_date, _) = db.row(&key).unwrap();
    same_instant(expires_at, expire_date, "Django's expiry");
    assert!((298.0..=300.0).contains(&secs_from_now(expire_date)));

    // sessionbox: set_expiry(120) on the same session.
    let mut session = db.store.session(Some(&key));
    session.set_expiry(Expiry::Seconds(120)).unwrap();
    session.save(false).unwrap();
    let (expire_date, _) = db.row(&key).unwrap();
    assert!((118.0..=120.0).contains(&secs_from_now(expire_date)), "{}", secs_from_now(expire_date));
    let seen = db.django(json!({"op": "expiry", "key": key}));
    assert_eq!(seen["age"], 120, "Django's get_expiry_age: {seen}");

    // A date: Django's set_expiry(datetime) and sessionbox's.
    let key2 = db.django(json!({"op": "create", "data": {}, "expiry": {"datetime": "2031-05-06T07:08:09+00:00"}}))["key"].as_str().unwrap().to_owned();
    let (_, expires_at) = found(&db.store, &key2);
    same_instant(expires_at, iso("2031-05-06T07:08:09+00:00"), "a date set by Django");
    let mut ours = db.store.session(None);
    ours.set_expiry(Expiry::At(iso("2032-01-02T03:04:05.250000+00:00"))).unwrap();
    ours.save(false).unwrap();
    let (expire_date, _) = db.row(ours.key().unwrap()).unwrap();
    same_instant(expire_date, iso("2032-01-02T03:04:05.250000+00:00"), "a date set by sessionbox");

    // A session that ran out is gone for both, though its row stays until
    // a sweep.
    let short = db.store.create(&crate::support::data(json!({"b": 2, "_session_expiry": 1}))).unwrap();
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(db.store.load(&short).unwrap(), Loaded::Missing);
    assert!(!db.store.exists(&short).unwrap());
    assert_eq!(db.django(json!({"op": "load", "key": short}))["data"], json!({}), "Django sees it expired too");
    assert!(db.row(&short).is_some(), "the row stays until clearsessions");
    // And an update cannot bring it back.
    assert_eq!(db.store.save(&short, &crate::support::data(json!({"b": 3})), false), Err(Error::NotFound));
}

fn cycle_key_on_either_side_moves_the_session_for_both(mut db: Db) {
    let key = db.store.create(&crate::support::data(json!({"user": "alice"}))).unwrap();
    // Django's login: cycle_key, then the middleware's save.
    let cycled = db.django(json!({"op": "cycle_key", "key": key, "save": true}))["key"].as_str().unwrap().to_owned();
    assert_ne!(cycled, key);
    assert_eq!(db.store.load(&key).unwrap(), Loaded::Missing, "the old key is gone");
    assert_eq!(found(&db.store, &cycled).0["user"], "alice");
    // sessionbox's.
    let (data, _) = found(&db.store, &cycled);
    let again = db.store.cycle_key(&cycled, &data).unwrap();
    assert!(db.row(&cycled).is_none(), "the old row is deleted");
    assert_eq!(db.django(json!({"op": "load", "key": again}))["data"]["user"], "alice");
    assert_eq!(db.rows(), 1);
}

fn a_logout_on_either_side_stays_a_logout(mut db: Db) {
    // Django's logout (flush): sessionbox's later save does not bring the
    // session back (Django's own db backend raises UpdateError the same way).
    let key = db.store.create(&crate::support::data(json!({"_auth_user_id": "42"}))).unwrap();
    db.django(json!({"op": "flush", "key": key}));
    assert_eq!(db.store.load(&key).unwrap(), Loaded::Missing);
    assert_eq!(db.store.save(&key, &crate::support::data(json!({"_auth_user_id": "42", "x": 1})), false), Err(Error::NotFound));
    assert!(db.row(&key).is_none());

    // sessionbox's logout (delete): Django's later save makes a new,
    // empty-handed session under a new key.
    let key = db.django(json!({"op": "create", "data": {"_auth_user_id": "7"}}))["key"].as_str().unwrap().to_owned();
    assert!(db.store.delete(&key).unwrap());
    assert_eq!(db.django(json!({"op": "load", "key": key}))["data"], json!({}));
    let out = db.django(json!({"op": "save", "key": key, "data": {"x": 1}}));
    assert_ne!(out["key"], key.as_str(), "{out}");
    assert!(db.row(&key).is_none(), "the logged-out key stays gone");
    let new_key = out["key"].as_str().unwrap();
    assert_eq!(found(&db.store, new_key).0, crate::support::data(json!({"x": 1})), "no user in the new session");
}

fn clearsessions_and_clear_expired_delete_the_same_rows(mut db: Db) {
    for round in ["django", "cli"] {
        let live_ours = db.store.create(&crate::support::data(json!({"live": "ours"}))).unwrap();
        let live_django = db.django(json!({"op": "create", "data": {"live": "django"}}))["key"].as_str().unwrap().to_owned();
        let old_ours = db.store.create(&crate::support::data(json!({"old": "ours"}))).unwrap();
        let old_django = db.django(json!({"op": "create", "data": {"old": "django"}, "expiry": 600}))["key"].as_str().unwrap().to_owned();
        db.age_row(&old_ours, 2 * sessionbox::DEFAULT_COOKIE_AGE);
        db.age_row(&old_django, 3600);
        assert_eq!(db.rows(), 4, "{round}");
        match round {
            "django" => {
                db.django(json!({"op": "clearsessions"}));
            }
            _ => {
                let out = db.cli(&["clear-expired"]);
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                let report: Value = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!(report["deleted"], 2, "{report}");
            }
        }
        assert_eq!(db.rows(), 2, "{round}: the expired rows went, the live stayed");
        assert!(db.row(&old_ours).is_none() && db.row(&old_django).is_none(), "{round}");
        for key in [&live_ours, &live_django] {
            assert!(matches!(db.store.load(key).unwrap(), Loaded::Found { .. }), "{round}");
            assert_ne!(db.django(json!({"op": "load", "key": key}))["data"], json!({}), "{round}");
            assert!(db.store.delete(key).unwrap());
        }
    }
    // The CLI reads what Django wrote.
    let key = db.django(json!({"op": "create", "data": {"who": "django"}}))["key"].as_str().unwrap().to_owned();
    let out = db.cli(&["get", &key]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), json!({"who": "django"}));
}

fn a_table_django_never_migrated_is_a_clear_error(db: Db) {
    // Another table name than Django's: missing, so an error that says what
    // to do, and with create_table, Django's DDL.
    let err = match &db.kind {
        Kind::Sqlite(dir) => {
            let mut options = SqliteOptions::new(dir.path().join("db.sqlite3"));
            options.table = "custom_sessions".into();
            Store::open_sqlite(&options, settings(), Options::default()).unwrap_err()
        }
        Kind::Postgres(server) => {
            let mut options = PostgresOptions::new(server.url("sessionbox"));
            options.table = "custom_sessions".into();
            Store::open_postgres(&options, settings(), Options::default()).unwrap_err()
        }
    };
    let text = err.to_string();
    assert!(text.contains("migrate") && text.contains("custom_sessions") && !text.contains(PASSWORD), "{text}");
    let out = db.cli(&["--table", "custom_sessions", "create", "{}"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("migrate"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = db.cli(&["--table", "custom_sessions", "--create-table", "create", "{}"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key: Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = db.cli(&["--table", "custom_sessions", "get", key["key"].as_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
