//! Moving sessions between stores without logging anyone out (issue 26,
//! part 2): `sessionbox migrate` through the real CLI from a directory to
//! Redis (both formats), PostgreSQL, SQLite and back; a real Django logged
//! in on the file engine still logged in on the cache and db engines after
//! the move, and the demo app too; a migration killed midway and run
//! again; and the read-through switch (`Store::with_fallback`).

use crate::support::django::{self, django_postgres_python, django_redis_python};
use crate::support::postgres::{PostgresServer, PASSWORD, USER};
use crate::support::redis::RedisServer;
use crate::support::web::{exchange, DemoApp};
use crate::support::{self, data as obj};
use serde_json::{json, Value};
use sessionbox::kv::sql::{postgres::PostgresOptions, sqlite::SqliteOptions};
use sessionbox::{Data, Durability, Expiry, Loaded, Options, RedisFormat, RedisOptions, Settings, Store};
use sessionbox_demo::DemoUser;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECRET: &str = "migrate-secret-7d2a91c4";

fn settings() -> Settings {
    Settings::new(SECRET)
}

/// Runs `sessionbox migrate ARGS` (global flags first); its JSON report.
fn migrate(args: &[&str]) -> Value {
    let out = support::sessionbox(SECRET).args(args).output().unwrap();
    assert!(out.status.success(), "sessionbox {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// Session `key`'s data and expiry in `store`; panics when it has none.
fn found(store: &Store, key: &str) -> (Data, SystemTime) {
    match store.load(key).unwrap() {
        Loaded::Found { data, expires_at } => (data, expires_at),
        other => panic!("session {}…: {other:?}", &key[..6]),
    }
}

/// How many sessions `store` holds, live or not (a scan through the
/// component).
fn stored(store: &Store) -> u32 {
    store.scan_with(None, &|_| Ok(()), &mut |_, ()| {}).unwrap().scanned
}

fn set_mtime(path: &Path, t: SystemTime) {
    std::fs::File::options().write(true).open(path).unwrap().set_modified(t).unwrap();
}

/// A session directory as a site leaves it: live sessions (half written an
/// hour ago, one with its own relative expiry, one with a fixed date),
/// expired ones and tampered ones.
struct Source {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    store: Store,
    /// Key, data, expiry of every live session.
    live: Vec<(String, Data, SystemTime)>,
    expired: u32,
    tampered: u32,
}

impl Source {
    fn new(n: usize) -> Source {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("sessions");
        let store = Store::open(&dir, settings()).unwrap();
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let mut keys = Vec::new();
        for i in 0..n {
            let mut session = store.session(None);
            session.insert("_auth_user_id", i.to_string()).unwrap();
            session.insert("cart", json!([i, "Zoë 日本", {"n": i}])).unwrap();
            match i {
                1 => session.set_expiry(Expiry::Seconds(600)).unwrap(),
                3 => session.set_expiry(Expiry::At(SystemTime::now() + Duration::from_secs(7200))).unwrap(),
                _ => {}
            }
            session.save(false).unwrap();
            let key = session.key().unwrap().to_owned();
            if i % 2 == 0 {
                set_mtime(&dir.join(format!("sessionid{key}")), hour_ago);
            }
            keys.push(key);
        }
        let live = keys.iter().map(|k| (k.clone(), found(&store, k).0, found(&store, k).1)).collect();
        let (expired, tampered) = (3, 2);
        for i in 0..expired {
            let key = store.create(&obj(json!({"_auth_user_id": "gone", "i": i}))).unwrap();
            set_mtime(&dir.join(format!("sessionid{key}")), SystemTime::now() - Duration::from_secs(settings().cookie_age + 60));
        }
        for i in 0..tampered {
            let key = store.create(&obj(json!({"_auth_user_id": "evil", "i": i}))).unwrap();
            let path = dir.join(format!("sessionid{key}"));
            let mut text = std::fs::read_to_string(&path).unwrap();
            let last = text.pop().unwrap();
            text.push(if last == 'A' { 'B' } else { 'A' });
            std::fs::write(&path, text).unwrap();
        }
        Source { _tmp: tmp, dir, store, live, expired, tampered }
    }

    fn spec(&self) -> String {
        format!("dir:{}", self.dir.display())
    }

    /// Asserts `dest` holds every live session with its data and (within a
    /// second) its expiry, except `newer`, which must hold `newer_data`.
    fn assert_copied(&self, dest: &Store, newer: Option<(&str, &Data)>) {
        for (key, data, expires_at) in &self.live {
            let (got, got_expiry) = found(dest, key);
            if let Some((newer_key, newer_data)) = newer {
                if newer_key == key {
                    assert_eq!(&got, newer_data, "the newer session at the destination was overwritten");
                    continue;
                }
            }
            assert_eq!(&got, data, "session {}…", &key[..6]);
            let drift = (secs(got_expiry) - secs(*expires_at)).abs();
            assert!(drift <= 1.0, "session {}…: expiry moved by {drift:.3} s", &key[..6]);
        }
    }
}

/// The whole contract of `migrate` from `source` to `to` (a STORE spec)
/// opened as `dest`: the dry run writes nothing, the copy copies every live
/// session with its expiry and skips (counting) the expired and tampered
/// ones, a session the app saved at the destination meanwhile is kept, and
/// a second run copies nothing.
fn migrate_contract(source: &Source, to: &str, dest: &Store, extra: &[&str]) {
    let n = source.live.len() as u32;
    // The app already wrote the first session at the destination (it was
    // written an hour ago at the source): that one is newer.
    let (newer_key, _, _) = &source.live[0];
    let newer_data = obj(json!({"_auth_user_id": "0", "cart": "saved at the destination"}));
    dest.save(newer_key, &newer_data, true).unwrap();
    let before = stored(dest);
    let from = source.spec();
    let args = |dry: bool| {
        let mut a: Vec<&str> = extra.to_vec();
        a.extend(["migrate", "--from", &from, "--to", to]);
        if dry {
            a.push("--dry-run");
        }
        migrate(&a)
    };

    let dry = args(true);
    assert_eq!((dry["created"].as_u64(), dry["kept_newer"].as_u64(), dry["dry_run"].as_bool()), (Some(u64::from(n - 1)), Some(1), Some(true)), "{dry}");
    assert_eq!(stored(dest), before, "--dry-run wrote something");

    let first = args(false);
    let expect = json!({
        "scanned": n + source.expired + source.tampered, "live": n, "expired": source.expired, "bad_signature": source.tampered, "skipped": 0,
        "created": n - 1, "replaced": 0, "kept_newer": 1, "gone": 0, "refused": 0, "dry_run": false, "moved": false,
    });
    assert_eq!(first, expect, "first run to {to}");
    source.assert_copied(dest, Some((newer_key, &newer_data)));
    assert_eq!(stored(dest), n, "only the live sessions are at the destination");

    let second = args(false);
    assert_eq!((second["created"].as_u64(), second["replaced"].as_u64(), second["kept_newer"].as_u64()), (Some(0), Some(0), Some(u64::from(n))), "second run: {second}");
    source.assert_copied(dest, Some((newer_key, &newer_data)));
}

#[test]
fn a_directory_moves_to_redis_in_djangos_format_with_every_expiry_kept() {
    let source = Source::new(40);
    let redis = RedisServer::start();
    let dest = Store::open_redis(&RedisOptions { format: RedisFormat::django(), ..RedisOptions::new(redis.url()) }, settings()).unwrap();
    migrate_contract(&source, &format!("{}?format=django", redis.url()), &dest, &[]);
    // Django's keys, with a TTL that is the remaining life.
    let (key, _, expires_at) = &source.live[2];
    let pttl: f64 = redis.cli(&["pttl", &format!(":1:django.contrib.sessions.cache{key}")]).parse().unwrap();
    let remaining = secs(*expires_at) - secs(SystemTime::now());
    assert!((pttl / 1000.0 - remaining).abs() <= 1.0, "TTL {pttl} ms, remaining {remaining:.1} s");
}

#[test]
fn a_directory_moves_to_signed_redis_and_sqlite_and_back_to_a_directory() {
    let source = Source::new(30);
    let redis = RedisServer::start();
    let dest = Store::open_redis(&RedisOptions::new(redis.url()), settings()).unwrap();
    migrate_contract(&source, &redis.url(), &dest, &[]);

    let source = Source::new(30);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db.sqlite3");
    let dest = Store::open_sqlite(&SqliteOptions { create_table: true, ..SqliteOptions::new(&db) }, settings(), Options::default()).unwrap();
    migrate_contract(&source, &format!("sqlite:{}", db.display()), &dest, &[]);

    // And back: SQLite to a new directory, every session with its expiry.
    let back = tmp.path().join("back");
    let report = migrate(&["migrate", "--from", &format!("sqlite:{}", db.display()), "--to", &format!("dir:{}", back.display())]);
    assert_eq!((report["created"].as_u64(), report["live"].as_u64()), (Some(30), Some(30)), "{report}");
    let back_store = Store::open(&back, settings()).unwrap();
    let newer = found(&dest, &source.live[0].0).0;
    source.assert_copied(&back_store, Some((&source.live[0].0, &newer)));
}

#[test]
fn a_directory_moves_to_postgres_and_back() {
    let source = Source::new(30);
    let pg = PostgresServer::start();
    let dest = Store::open_postgres(&PostgresOptions { create_table: true, ..PostgresOptions::new(pg.url("sessionbox")) }, settings(), Options::default()).unwrap();
    migrate_contract(&source, &pg.url("sessionbox"), &dest, &[]);
    let rows: u32 = pg.sql("sessionbox", "SELECT count(*) FROM django_session").parse().unwrap();
    assert_eq!(rows, 30, "one row per live session");

    let tmp = tempfile::tempdir().unwrap();
    let back = tmp.path().join("back");
    let report = migrate(&["migrate", "--from", &pg.url("sessionbox"), "--to", &format!("dir:{}", back.display())]);
    assert_eq!((report["created"].as_u64(), report["live"].as_u64()), (Some(30), Some(30)), "{report}");
    let newer = found(&dest, &source.live[0].0).0;
    source.assert_copied(&Store::open(&back, settings()).unwrap(), Some((&source.live[0].0, &newer)));
}

/// A user of the Django site and of the demo app (the same id and stored
/// password hash, so the same login hash): Django 5.2's
/// `make_password("wonderland", "saltsaltsalt", "pbkdf2_sha256")` at 1000
/// iterations.
fn alice() -> DemoUser {
    DemoUser {
        id: "7".into(),
        username: "alice".into(),
        password_hash: "pbkdf2_sha256$1000$saltsaltsalt$hqvMwDdOFrMubl9lhrs9/qyxAcrGeeU3w7OAh2Rvfv8=".into(),
    }
}

/// Django's three login keys for `user`, as `login()` sets them.
fn login_data(user: &DemoUser, extra: Value) -> Value {
    let mut data = json!({
        "_auth_user_id": user.id,
        "_auth_user_backend": sessionbox_tower::auth::MODEL_BACKEND,
        "_auth_user_hash": sessionbox_tower::auth::session_auth_hash(&user.password_hash, SECRET),
    });
    for (k, v) in extra.as_object().unwrap() {
        data[k] = v.clone();
    }
    data
}

fn demo_user_of(demo: &DemoApp, key: &str) -> String {
    let reply = exchange(demo.port(), "GET", "/session", Some(key), "");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let start = reply.body.find("<span id=\"user\">").expect("the page names the user") + "<span id=\"user\">".len();
    reply.body[start..].split('<').next().unwrap().to_owned()
}

/// Issue 26's proof: a Django site logged in on the file engine, moved with
/// `sessionbox migrate` to Redis (Django's cache format) and to PostgreSQL;
/// the same Django on the cache engine and on the db engine loads every
/// session with the same data and expiry, and the demo app on each sees
/// the user logged in.
#[test]
fn a_django_site_on_files_stays_logged_in_after_moving_to_redis_and_postgres() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sessions");
    std::fs::create_dir_all(&dir).unwrap();
    let user = alice();
    let mut files = django::Driver::start(&django::django_python(), &json!({"engine": "file", "secret_key": SECRET, "dir": dir}));
    let mut keys = Vec::new();
    for i in 0..6 {
        let mut op = json!({"op": "create", "data": login_data(&user, json!({"cart": [i, "Zoë"]}))});
        if i == 1 {
            op["expiry"] = json!(900);
        }
        keys.push(files.ok(&op)["key"].as_str().unwrap().to_owned());
    }
    // What Django and sessionbox see on the files.
    let source = Store::open(&dir, settings()).unwrap();
    let before: Vec<(String, String, f64)> = keys
        .iter()
        .map(|k| {
            let loaded = files.ok(&json!({"op": "load", "key": k}));
            (k.clone(), loaded["data_json"].as_str().unwrap().to_owned(), secs(found(&source, k).1))
        })
        .collect();
    drop(files);

    let redis = RedisServer::start();
    let report = migrate(&["migrate", "--from", &format!("dir:{}", dir.display()), "--to", &format!("{}?format=django", redis.url())]);
    assert_eq!(report["created"].as_u64(), Some(6), "{report}");
    let pg = PostgresServer::start();
    let database = json!({"postgres": {"host": "127.0.0.1", "port": pg.port, "name": "sessionbox", "user": USER, "password": PASSWORD}});
    let mut db = django::Driver::start(&django_postgres_python(), &json!({"engine": "db", "secret_key": SECRET, "database": database, "migrate": true}));
    db.ok(&json!({"op": "info"}));
    let report = migrate(&["migrate", "--from", &format!("dir:{}", dir.display()), "--to", &pg.url("sessionbox")]);
    assert_eq!(report["created"].as_u64(), Some(6), "{report}");

    let mut cache = django::Driver::start(&django_redis_python(), &json!({"engine": "cache", "secret_key": SECRET, "cache": {"url": redis.url(), "key_prefix": "", "version": 1}}));
    for (key, data_json, expires_at) in &before {
        let on_redis = cache.ok(&json!({"op": "load", "key": key}));
        assert_eq!((on_redis["data_json"].as_str(), on_redis["key_after"].as_str()), (Some(data_json.as_str()), Some(key.as_str())), "Django's cache engine");
        let pttl: f64 = redis.cli(&["pttl", &format!(":1:django.contrib.sessions.cache{key}")]).parse().unwrap();
        let now = secs(SystemTime::now());
        assert!((pttl / 1000.0 - (expires_at - now)).abs() <= 1.0, "Redis TTL {pttl} ms vs {:.1} s left", expires_at - now);

        let on_pg = db.ok(&json!({"op": "load", "key": key}));
        assert_eq!((on_pg["data_json"].as_str(), on_pg["key_after"].as_str()), (Some(data_json.as_str()), Some(key.as_str())), "Django's db engine");
        let row = db.ok(&json!({"op": "row", "key": key}));
        let expire_date = row["row"]["expire_date"].as_str().unwrap();
        let unix: f64 = pg.sql("sessionbox", &format!("SELECT extract(epoch FROM timestamptz '{expire_date}')")).parse().unwrap();
        assert!((unix - expires_at).abs() <= 1.0, "expire_date {expire_date} vs {expires_at}");
    }

    // The demo app on each store: alice is still logged in.
    for store in [
        Store::open_redis(&RedisOptions { format: RedisFormat::django(), ..RedisOptions::new(redis.url()) }, settings()).unwrap(),
        Store::open_postgres(&PostgresOptions::new(pg.url("sessionbox")), settings(), Options::default()).unwrap(),
    ] {
        let about = store.about().to_owned();
        let demo = DemoApp::start(store, vec![user.clone()]);
        for key in &keys {
            assert_eq!(demo_user_of(&demo, key), "alice", "the demo app on {about}");
        }
        assert_eq!(demo_user_of(&demo, &"x".repeat(32)), "anonymous", "a session nobody has is nobody's");
    }
}

/// A migration of 20 000 sessions killed (SIGKILL) after part of them,
/// then run again: the destination holds every live session once, with its
/// data, and the second run's created + kept_newer is all of them.
#[test]
fn a_migration_killed_midway_resumes_with_nothing_lost_or_duplicated() {
    const N: usize = 20_000;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sessions");
    let mut fast = settings();
    fast.durability = Durability::None;
    let store = Store::open(&dir, fast).unwrap();
    let keys: Vec<String> = (0..N).map(|i| store.create(&obj(json!({"_auth_user_id": i.to_string(), "i": i})))).collect::<Result<_, _>>().unwrap();
    let pg = PostgresServer::start();
    let to = pg.url("sessionbox");
    let count = || -> usize { pg.sql("sessionbox", "SELECT count(*) FROM django_session").parse().unwrap_or(0) };

    let mut child = support::sessionbox(SECRET)
        .args(["--create-table", "migrate", "--from", &format!("dir:{}", dir.display()), "--to", &to])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let at_kill = loop {
        // The table exists once the CLI has opened PostgreSQL.
        let out = pg.sql("sessionbox", "SELECT count(*) FROM pg_tables WHERE tablename = 'django_session'");
        let n = if out == "1" { count() } else { 0 };
        if n >= N / 10 {
            child.kill().unwrap();
            break n;
        }
        assert!(child.try_wait().unwrap().is_none(), "the migration ended before it could be killed ({n} copied)");
        assert!(std::time::Instant::now() < deadline, "the migration copied only {n} in 2 minutes");
        std::thread::sleep(Duration::from_millis(20));
    };
    child.wait().unwrap();
    let after_kill = count();
    assert!(after_kill < N, "killed after all of them ({after_kill}): nothing to resume");
    eprintln!("migration of {N} sessions killed with {at_kill} (then {after_kill}) copied");

    let second = migrate(&["migrate", "--from", &format!("dir:{}", dir.display()), "--to", &to]);
    let (created, kept) = (second["created"].as_u64().unwrap(), second["kept_newer"].as_u64().unwrap());
    assert_eq!((created + kept, second["replaced"].as_u64(), second["gone"].as_u64()), (N as u64, Some(0), Some(0)), "{second}");
    assert_eq!(kept as usize, after_kill, "the second run found what the first copied");
    assert_eq!(count(), N, "every session once");
    let distinct: usize = pg.sql("sessionbox", "SELECT count(DISTINCT session_key) FROM django_session").parse().unwrap();
    assert_eq!(distinct, N);
    let dest = Store::open_postgres(&PostgresOptions::new(&to), settings(), Options::default()).unwrap();
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(found(&dest, key).0, obj(json!({"_auth_user_id": i.to_string(), "i": i})), "session {i}");
    }
}

/// The read-through switch: a session only in the old store is found
/// through the new one on first use and moved (present in the new one, gone
/// from the old), and every operation works on it; a logout through the
/// new store deletes it in the old one too.
#[test]
fn read_through_moves_a_session_on_first_use_and_a_logout_deletes_it_in_both() {
    let tmp = tempfile::tempdir().unwrap();
    let old = Store::open(tmp.path().join("old"), settings()).unwrap();
    let redis = RedisServer::start();
    let new = Store::open_redis(&RedisOptions::new(redis.url()), settings()).unwrap().with_fallback(old.clone()).unwrap();
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let make = |extra: Value| {
        let key = old.create(&obj(login_data(&alice(), extra))).unwrap();
        set_mtime(&tmp.path().join("old").join(format!("sessionid{key}")), hour_ago);
        let expires_at = found(&old, &key).1;
        (key, expires_at)
    };

    // load: moved, with its expiry.
    let (key, expires_at) = make(json!({"n": 1}));
    assert!(new.exists(&key).unwrap(), "exists asks the old store");
    let (data, got) = found(&new, &key);
    assert_eq!(data["n"], json!(1));
    assert!((secs(got) - secs(expires_at)).abs() <= 1.0, "the expiry moved with it");
    assert!(matches!(old.load(&key).unwrap(), Loaded::Missing), "gone from the old store");
    assert_eq!(redis.cli(&["exists", &format!("sessionbox:sessionid{key}")]), "1", "in the new one");

    // save, update, touch, cycle_key: each on a session still in the old store.
    let (key, _) = make(json!({"n": 2}));
    new.save(&key, &obj(json!({"n": 3})), false).unwrap();
    assert_eq!(found(&new, &key).0, obj(json!({"n": 3})));
    assert!(matches!(old.load(&key).unwrap(), Loaded::Missing));

    let (key, _) = make(json!({"n": 4}));
    new.update(&key, &[sessionbox::Change::Set("cart".into(), "[1]".into())]).unwrap();
    let data = found(&new, &key).0;
    assert_eq!((data["n"].clone(), data["cart"].clone()), (json!(4), json!([1])));
    assert!(matches!(old.load(&key).unwrap(), Loaded::Missing));

    let (key, expires_at) = make(json!({"n": 5}));
    assert!(new.touch(&key).unwrap(), "touch finds it in the old store");
    assert!(secs(found(&new, &key).1) > secs(expires_at) + 3000.0, "touched: a full cookie age from now");
    assert!(matches!(old.load(&key).unwrap(), Loaded::Missing));

    let (key, _) = make(json!({"n": 6}));
    let cycled = new.cycle_key(&key, &obj(json!({"n": 6}))).unwrap();
    assert_ne!(cycled, key);
    assert!(matches!(new.load(&key).unwrap(), Loaded::Missing) && matches!(old.load(&key).unwrap(), Loaded::Missing), "the old key is gone everywhere");
    assert_eq!(found(&new, &cycled).0, obj(json!({"n": 6})));

    // A logout through the new store of a session still in the old one.
    let (key, _) = make(json!({"n": 7}));
    assert!(new.delete(&key).unwrap());
    assert!(matches!(old.load(&key).unwrap(), Loaded::Missing) && matches!(new.load(&key).unwrap(), Loaded::Missing), "a logout deletes it in both");
    // And of one already moved.
    let (key, _) = make(json!({"n": 8}));
    found(&new, &key);
    assert!(new.delete(&key).unwrap());
    assert!(matches!(new.load(&key).unwrap(), Loaded::Missing));

    // The demo app on the new store with the old one behind it: a user
    // logged in on the old directory is still logged in.
    let (key, _) = make(json!({}));
    let demo = DemoApp::start(new.clone(), vec![alice()]);
    assert_eq!(demo_user_of(&demo, &key), "alice");
    assert!(matches!(old.load(&key).unwrap(), Loaded::Missing), "moved by the request");
}
