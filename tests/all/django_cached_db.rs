//! Interop with Django's `cached_db` session engine: a real Django 5.2
//! (`support::django::Driver`, engine `cached_db`) and sessionbox
//! (`Store::open_cached_db`, and the CLI's `--cached-db`) share one SQLite
//! database (Django's `migrate` makes the table) and one real Redis as
//! Django's cache (`RedisCache`, `KEY_PREFIX` empty, `VERSION` 1).

use crate::support::django::{self, expected_json, Driver};
use crate::support::redis::RedisServer;
use serde_json::{json, Value};
use sessionbox::kv::sql::sqlite::SqliteOptions;
use sessionbox::{Data, DbOptions, Error, Loaded, Options, RedisFormat, RedisOptions, Settings, Store};

const SECRET: &str = "cached-db-interop-secret-51e0";

struct Both {
    dir: tempfile::TempDir,
    redis: RedisServer,
    django: Driver,
    store: Store,
}

impl Both {
    fn new() -> Both {
        let dir = tempfile::tempdir().unwrap();
        let redis = RedisServer::start();
        let path = dir.path().join("db.sqlite3");
        let mut django = Driver::start(
            &django::django_redis_python(),
            &json!({
                "engine": "cached_db", "secret_key": SECRET, "migrate": true,
                "database": {"sqlite": path}, "cache": {"url": redis.url()},
            }),
        );
        django.ok(&json!({"op": "info"})); // after its migrate
        let mut cache = RedisOptions::new(redis.url());
        cache.format = RedisFormat::django();
        let store = Store::open_cached_db(&DbOptions::Sqlite(SqliteOptions::new(&path)), &cache, Settings::new(SECRET), Options::default()).unwrap();
        Both { dir, redis, django, store }
    }

    fn django(&mut self, op: Value) -> Value {
        self.django.ok(&op)
    }

    /// The Redis key Django's cache gives session `key`.
    fn cache_key(key: &str) -> String {
        format!(":1:django.contrib.sessions.cached_db{key}")
    }

    fn cached(&self, key: &str) -> bool {
        self.redis.cli(&["exists", &Both::cache_key(key)]) == "1"
    }

    fn uncache(&self, key: &str) {
        assert_eq!(self.redis.cli(&["del", &Both::cache_key(key)]), "1", "{key} was cached");
    }

    fn row(&self, key: &str) -> bool {
        let db = rusqlite::Connection::open(self.dir.path().join("db.sqlite3")).unwrap();
        db.query_row("SELECT count(*) FROM django_session WHERE session_key = ?1", [key], |r| r.get::<_, i64>(0)).unwrap() == 1
    }

    fn ours(&self, key: &str) -> Data {
        match self.store.load(key).unwrap() {
            Loaded::Found { data, .. } => data,
            other => panic!("session {key}: {other:?}"),
        }
    }

    /// Django's data for `key`, as sessionbox parses JSON.
    fn theirs(&mut self, key: &str) -> Data {
        let text = self.django(json!({"op": "load", "key": key, "text_only": true}))["data_json"].as_str().unwrap().to_owned();
        sessionbox::parse_data(&text).unwrap()
    }
}

fn key(result: &Value) -> String {
    result["key"].as_str().unwrap_or_else(|| panic!("no key in {result}")).to_owned()
}

#[test]
fn django_writes_every_plain_type_and_sessionbox_reads_it_from_the_cache_and_the_database() {
    let mut both = Both::new();
    let k = key(&both.django(json!({"op": "create", "expected": true})));
    assert!(both.cached(&k) && both.row(&k), "Django writes both");
    let expected = both.theirs(&k);
    assert!(both.ours(&k) == expected, "sessionbox's reading of Django's cache entry");
    // From the database, which fills the cache for Django to read.
    both.uncache(&k);
    assert!(both.ours(&k) == expected, "sessionbox's reading of Django's row");
    assert!(both.cached(&k), "the load filled the cache");
    let seen = both.django(json!({"op": "load", "key": k, "expected": true}));
    assert_eq!(seen["differences"], json!([]), "Django's reading of the cache entry sessionbox filled");
}

#[test]
fn sessionbox_writes_every_plain_type_and_django_reads_it_from_the_cache_and_the_database() {
    let mut both = Both::new();
    let k = both.store.create_json(&expected_json()).unwrap();
    assert!(both.row(&k) && !both.cached(&k), "sessionbox writes the row; a load fills the cache");
    assert_eq!(both.ours(&k)["_auth_user_id"], "42");
    assert!(both.cached(&k), "sessionbox's load filled it");
    let seen = both.django(json!({"op": "load", "key": k, "expected": true}));
    assert_eq!(seen["differences"], json!([]), "Django's reading of sessionbox's cache entry");
    both.uncache(&k);
    let seen = both.django(json!({"op": "load", "key": k, "expected": true}));
    assert_eq!(seen["differences"], json!([]), "Django's reading of sessionbox's row");
    assert!(both.cached(&k), "Django's load filled the cache");
    assert!(both.ours(&k) == both.theirs(&k));

    // An update on each side, seen by the other through the cache.
    let out = both.django(json!({"op": "save", "key": k, "data": {"from_django": 1}}));
    assert_eq!(out["key"], k.as_str());
    let mut data = both.ours(&k);
    assert_eq!(data["from_django"], 1);
    data.insert("from_sessionbox".into(), json!([1.5]));
    both.store.save(&k, &data, false).unwrap();
    assert!(!both.cached(&k), "the save took the cache entry away");
    assert_eq!(both.theirs(&k)["from_sessionbox"], json!([1.5]));
    assert!(both.cached(&k), "Django's load filled it again");
    both.uncache(&k);
    assert_eq!(both.theirs(&k)["from_sessionbox"], json!([1.5]), "and in the row");
}

#[test]
fn a_logout_on_either_side_ends_both_entries_and_stays_a_logout() {
    let mut both = Both::new();
    let k = both.store.create(&crate::support::data(json!({"_auth_user_id": "42"}))).unwrap();
    both.django(json!({"op": "flush", "key": k}));
    assert!(!both.cached(&k) && !both.row(&k), "Django's logout deletes both");
    assert_eq!(both.store.load(&k).unwrap(), Loaded::Missing);
    assert_eq!(both.store.save(&k, &crate::support::data(json!({"_auth_user_id": "42"})), false), Err(Error::NotFound));
    assert!(!both.cached(&k) && !both.row(&k), "nothing came back");

    let k = key(&both.django(json!({"op": "create", "data": {"_auth_user_id": "7"}})));
    assert!(both.store.delete(&k).unwrap());
    assert!(!both.cached(&k) && !both.row(&k), "sessionbox's logout deletes both");
    assert_eq!(both.theirs(&k), Data::new());
    let out = both.django(json!({"op": "save", "key": k, "data": {"x": 1}}));
    assert_ne!(out["key"], k.as_str(), "Django starts a new session: {out}");
    assert!(!both.row(&k));

    // Login: cycle_key on each side.
    let k = both.store.create(&crate::support::data(json!({"user": "alice"}))).unwrap();
    let cycled = key(&both.django(json!({"op": "cycle_key", "key": k, "save": true})));
    assert!(!both.cached(&k) && !both.row(&k));
    assert_eq!(both.ours(&cycled)["user"], "alice");
    let again = both.store.cycle_key(&cycled, &both.ours(&cycled)).unwrap();
    assert!(!both.cached(&cycled) && !both.row(&cycled));
    assert_eq!(both.theirs(&again)["user"], "alice");
}

#[test]
fn clearsessions_and_the_cli_clear_the_same_rows() {
    let mut both = Both::new();
    let live = both.store.create(&crate::support::data(json!({"live": 1}))).unwrap();
    let old = key(&both.django(json!({"op": "create", "data": {"old": 1}, "expiry": -10})));
    assert!(both.row(&old), "Django writes an expired row");
    let out = crate::support::sessionbox(SECRET)
        .args(["--cached-db", "--redis", &both.redis.url()])
        .arg("--sqlite")
        .arg(both.dir.path().join("db.sqlite3"))
        .arg("clear-expired")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()["deleted"], 1);
    assert!(!both.row(&old) && both.row(&live));
    let old = key(&both.django(json!({"op": "create", "data": {"old": 2}, "expiry": -10})));
    both.django(json!({"op": "clearsessions"}));
    assert!(!both.row(&old) && both.row(&live));
    // The CLI reads through the cache too.
    let out = crate::support::sessionbox(SECRET)
        .args(["--cached-db", "--redis", &both.redis.url(), "--sqlite"])
        .arg(both.dir.path().join("db.sqlite3"))
        .args(["get", &live])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), json!({"live": 1}));
}

#[test]
fn an_expiry_set_on_either_side_holds_in_the_row_and_the_cache() {
    let mut both = Both::new();
    // Django: set_expiry(300); the cache entry's TTL and the loaded expiry
    // follow it.
    let k = key(&both.django(json!({"op": "create", "data": {"a": 1}, "expiry": 300})));
    let ttl: i64 = both.redis.cli(&["ttl", &Both::cache_key(&k)]).parse().unwrap();
    assert!((295..=300).contains(&ttl), "Django's cache TTL {ttl}");
    let Loaded::Found { expires_at, .. } = both.store.load(&k).unwrap() else { panic!("not found") };
    let left = expires_at.duration_since(std::time::SystemTime::now()).unwrap().as_secs();
    assert!((295..=300).contains(&left), "{left}");
    // sessionbox: set_expiry(120) on it, through the cache to Django.
    let mut session = both.store.session(Some(&k));
    session.set_expiry(sessionbox::Expiry::Seconds(120)).unwrap();
    session.save(false).unwrap();
    assert_eq!(both.django(json!({"op": "expiry", "key": k}))["age"], 120);
    let ttl: i64 = both.redis.cli(&["ttl", &Both::cache_key(&k)]).parse().unwrap();
    assert!((115..=120).contains(&ttl), "the cache entry's TTL followed: {ttl}");
    both.uncache(&k);
    assert_eq!(both.django(json!({"op": "expiry", "key": k}))["age"], 120, "and the row's data");
}
