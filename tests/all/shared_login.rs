//! One login for Django and the Rust app, proven in headless Chromium: a
//! real Django server and the demo axum app (`examples/demo`, on
//! `sessionbox_tower`) share one session store, one secret and the
//! `sessionid` cookie on 127.0.0.1 (cookies ignore the port).
//!
//! Every test runs on each store the two can share (`shared_login_suite!`,
//! one module per store), the demo's store opened by
//! `sessionbox_demo::open_store` as the demo binary opens it:
//! - `files`: one session directory (Django's file backend);
//! - `redis`: one Redis (Django's cache backend on its RedisCache, the demo
//!   on `RedisFormat::django()`, the binary's `--redis --django-cache`);
//! - `sqlite`: Django's `db` backend, the `django_session` table of the
//!   site's own SQLite database (where its users are too), the demo on
//!   `Store::open_sqlite` (`--sqlite`);
//! - `postgres`: the same on a real PostgreSQL server, the demo on
//!   `Store::open_postgres` (`--postgres` with `--postgres-password-file`);
//! - `cached_db`: Django's `cached_db` backend, that SQLite table with a
//!   real Redis as Django's cache in front of it, the demo on
//!   `Store::open_cached_db` (`--cached-db --redis --sqlite`);
//! - `signed_cookies`: Django's `signed_cookies` backend, nothing stored,
//!   the session is the `sessionid` cookie both sign and read with the one
//!   secret, the demo on `Store::open_signed_cookies` (`--signed-cookies`).
//!   The "store" is the browser: a session is stored while the browser's
//!   `sessionid` cookie is it and decodes (`Store::decode_cookie`).

use crate::support::postgres::{PostgresServer, PASSWORD};
use crate::support::redis::RedisServer;
use crate::support::web::{assert_django_session_cookie, unix_now, Browser, DemoApp, DjangoDatabase, DjangoServer, DjangoSessions, DJANGO_PASSWORD, DJANGO_USER};
use serde_json::Value;
use sessionbox::{Loaded, Options, Settings, Store};
use sessionbox_demo::{DemoUser, Sessions};
use std::path::PathBuf;

const SECRET: &str = "shared-login-secret-9f3c1a77e2";
const COOKIE_AGE: i64 = 1_209_600;
/// The PostgreSQL database Django and the demo share.
const PG_DATABASE: &str = "sessionbox";

/// Runs each named test on every store (see the module docs).
macro_rules! shared_login_suite {
    ($($test:ident),* $(,)?) => {
        mod files {
            $(#[test] fn $test() { super::$test(super::Backend::Files) })*
        }
        mod redis {
            $(#[test] fn $test() { super::$test(super::Backend::Redis) })*
        }
        mod sqlite {
            $(#[test] fn $test() { super::$test(super::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $test() { super::$test(super::Backend::Postgres) })*
        }
        mod cached_db {
            $(#[test] fn $test() { super::$test(super::Backend::CachedDb) })*
        }
        mod signed_cookies {
            $(#[test] fn $test() { super::$test(super::Backend::SignedCookies) })*
        }
    };
}

shared_login_suite!(
    the_counter_survives_reloads_with_djangos_cookie,
    a_django_login_is_seen_by_the_rust_app_and_data_flows_both_ways,
    an_expiry_set_on_either_side_is_honoured_by_the_other,
    logging_out_on_either_side_logs_out_of_both,
    a_rust_side_login_is_a_django_login,
    a_password_change_on_django_ends_the_rust_sides_login,
    expire_at_browser_close_drops_the_login_with_the_browser,
);

/// Which store Django and the demo share.
#[derive(Clone, Copy)]
enum Backend {
    Files,
    Redis,
    Sqlite,
    Postgres,
    /// Django's `cached_db`: SQLite behind Redis.
    CachedDb,
    SignedCookies,
}

/// The shared store, and what keeps it alive.
enum Place {
    /// The session directory.
    Files(PathBuf),
    Redis(RedisServer),
    /// Django's SQLite database file.
    Sqlite(PathBuf),
    /// The server; the database is [`PG_DATABASE`].
    Postgres(PostgresServer),
    /// Django's SQLite database file and the Redis in front of it.
    CachedDb(PathBuf, RedisServer),
    /// No store: a signed-cookie store with the shared secret, to decode
    /// the browser's cookie.
    SignedCookies(Store),
}

/// Django's alice as the demo app knows her: id and password hash from
/// Django's own database, as they are now.
fn alice(django: &DjangoServer) -> DemoUser {
    let info = django.user_info(DJANGO_USER);
    DemoUser {
        id: info["id"].as_str().unwrap().to_owned(),
        username: DJANGO_USER.to_owned(),
        password_hash: info["password"].as_str().unwrap().to_owned(),
    }
}

struct Both {
    tmp: tempfile::TempDir,
    django: DjangoServer,
    demo: DemoApp,
    browser: Browser,
    expire_at_browser_close: bool,
    /// The store both use. Declared last, so dropped last.
    place: Place,
}

fn start(backend: Backend, expire_at_browser_close: bool) -> Both {
    let tmp = tempfile::tempdir().unwrap();
    let flag = if expire_at_browser_close { "True" } else { "False" };
    let env = [("SESSION_EXPIRE_AT_BROWSER_CLOSE", flag)];
    let (django, place) = match backend {
        Backend::Files => {
            let sessions = tmp.path().join("sessions");
            (DjangoServer::start(&sessions, SECRET, &env), Place::Files(sessions))
        }
        Backend::Redis => {
            let redis = RedisServer::start();
            (DjangoServer::start_on_redis(&redis.url(), SECRET, &env), Place::Redis(redis))
        }
        Backend::Sqlite => {
            let django = DjangoServer::start_with(DjangoSessions::Db, DjangoDatabase::Sqlite, SECRET, &env);
            let path = django.sqlite_path().expect("Django on SQLite").to_owned();
            (django, Place::Sqlite(path))
        }
        Backend::Postgres => {
            let server = PostgresServer::start();
            let django = DjangoServer::start_with(DjangoSessions::Db, DjangoDatabase::Postgres(&server, PG_DATABASE), SECRET, &env);
            (django, Place::Postgres(server))
        }
        Backend::CachedDb => {
            let redis = RedisServer::start();
            let django = DjangoServer::start_with(DjangoSessions::CachedDb(&redis.url()), DjangoDatabase::Sqlite, SECRET, &env);
            let path = django.sqlite_path().expect("Django on SQLite").to_owned();
            (django, Place::CachedDb(path, redis))
        }
        Backend::SignedCookies => {
            let django = DjangoServer::start_with(DjangoSessions::SignedCookies, DjangoDatabase::Sqlite, SECRET, &env);
            (django, Place::SignedCookies(Store::open_signed_cookies(Settings::new(SECRET), Options::default()).unwrap()))
        }
    };
    let demo = start_demo(&tmp, &place, vec![alice(&django)], expire_at_browser_close);
    let browser = Browser::start();
    Both { tmp, django, demo, browser, expire_at_browser_close, place }
}

/// The demo app on the shared store, opened as the demo binary opens it,
/// with this file's secret.
fn start_demo(tmp: &tempfile::TempDir, place: &Place, users: Vec<DemoUser>, expire_at_browser_close: bool) -> DemoApp {
    let sessions = match place {
        Place::Files(dir) => Sessions::Dir(dir.clone()),
        Place::Redis(redis) => Sessions::Redis { url: redis.url(), django_cache: true },
        Place::Sqlite(path) => Sessions::Sqlite { path: path.clone(), create_table: false },
        Place::Postgres(server) => {
            let password_file = tmp.path().join("postgres-password");
            std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
            Sessions::Postgres { url: server.url_without_password(PG_DATABASE), password_file: Some(password_file), create_table: false }
        }
        Place::CachedDb(path, redis) => {
            Sessions::CachedDb { redis_url: redis.url(), db: Box::new(Sessions::Sqlite { path: path.clone(), create_table: false }) }
        }
        Place::SignedCookies(_) => Sessions::SignedCookies,
    };
    let options = Options { expire_at_browser_close, ..Options::default() };
    let (store, _) = sessionbox_demo::open_store(&sessions, Settings::new(SECRET), options).unwrap();
    assert_eq!(store.dir().is_some(), matches!(place, Place::Files(_)), "only a store on files has a directory");
    assert_eq!(store.is_signed_cookies(), matches!(place, Place::SignedCookies(_)));
    DemoApp::start(store, users)
}

/// `key` as an SQL literal: session keys are lowercase letters and digits.
fn sql_key(key: &str) -> String {
    assert!(!key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric()), "not a session key: {key:?}");
    format!("'{key}'")
}

/// One number from Django's SQLite database, opened read-only.
fn sqlite_number(path: &std::path::Path, sql: &str) -> f64 {
    let db = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    db.query_row(sql, [], |r| r.get::<_, f64>(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

impl Both {
    fn django_login(&self) -> String {
        let b = &self.browser;
        b.goto(&self.django.url("/django/login/"));
        b.submit_form(&[("username", DJANGO_USER), ("password", DJANGO_PASSWORD)], "submit");
        assert_eq!(b.text("user"), DJANGO_USER, "Django's whoami after its login");
        b.cookie("sessionid").expect("sessionid after Django's login").value
    }

    fn demo_login(&self, password: &str) {
        let b = &self.browser;
        b.goto(&self.demo.url("/login"));
        b.submit_form(&[("username", DJANGO_USER), ("password", password)], "submit");
    }

    /// Replaces the demo app by a new one on the same store that knows
    /// alice as Django's database has her now (her current password hash),
    /// as an app that reads its users from Django's `auth_user` would.
    fn restart_demo(&mut self) {
        let demo = start_demo(&self.tmp, &self.place, vec![alice(&self.django)], self.expire_at_browser_close);
        // The old one stops when dropped.
        self.demo = demo;
    }

    /// (user, session data) on Django's whoami.
    fn on_django(&self) -> (String, Value) {
        self.browser.goto(&self.django.url("/django/whoami/"));
        (self.browser.text("user"), serde_json::from_str(&self.browser.text("session")).unwrap())
    }

    /// (user, session data) on the demo's session page.
    fn on_demo(&self) -> (String, Value) {
        self.browser.goto(&self.demo.url("/session"));
        (self.browser.text("user"), serde_json::from_str(&self.browser.text("session")).unwrap())
    }

    /// Whether the shared store holds session `key`, expired or not: its
    /// file, the Redis key Django's cache gives it, or its row (with
    /// `cached_db`: its row, and no cache entry without a row). With signed
    /// cookies: whether the browser's `sessionid` cookie is `key` and
    /// decodes to a live session.
    fn stored(&self, key: &str) -> bool {
        match &self.place {
            Place::CachedDb(path, _) => {
                let row = sqlite_number(path, &format!("SELECT count(*) FROM django_session WHERE session_key = {}", sql_key(key))) == 1.0;
                let cached = self.cached(key);
                assert!(row || !cached, "a cache entry for {key} outlives its row");
                row
            }
            Place::SignedCookies(_) => self.browser.cookie("sessionid").is_some_and(|c| c.value == key && self.cookie_session(&c.value).is_some()),
            Place::Files(dir) => dir.join(format!("sessionid{key}")).exists(),
            Place::Redis(redis) => redis.cli(&["exists", &format!(":1:django.contrib.sessions.cache{key}")]) == "1",
            Place::Sqlite(path) => sqlite_number(path, &format!("SELECT count(*) FROM django_session WHERE session_key = {}", sql_key(key))) == 1.0,
            Place::Postgres(server) => {
                server.sql(PG_DATABASE, &format!("SELECT count(*) FROM django_session WHERE session_key = {}", sql_key(key))) == "1"
            }
        }
    }

    /// With `cached_db`: whether Django's cache (Redis) holds session `key`.
    fn cached(&self, key: &str) -> bool {
        let Place::CachedDb(_, redis) = &self.place else { panic!("not a cached_db test") };
        redis.cli(&["exists", &format!(":1:django.contrib.sessions.cached_db{key}")]) == "1"
    }

    /// How many sessions the shared store holds, expired ones included
    /// (with `cached_db`: its rows, checked to be no fewer than the cache's
    /// entries). With signed cookies: the browser's `sessionid` cookies
    /// that decode to a live session.
    fn sessions_stored(&self) -> usize {
        match &self.place {
            Place::CachedDb(path, redis) => {
                let rows = sqlite_number(path, "SELECT count(*) FROM django_session") as usize;
                let cached: usize = redis.cli(&["dbsize"]).parse().unwrap();
                assert!(cached <= rows, "{cached} cache entries for {rows} rows");
                rows
            }
            Place::SignedCookies(_) => {
                self.browser.cookies().iter().filter(|c| c.name == "sessionid" && self.cookie_session(&c.value).is_some()).count()
            }
            Place::Files(dir) => std::fs::read_dir(dir).map_or(0, |d| d.count()),
            Place::Redis(redis) => redis.cli(&["dbsize"]).parse().unwrap(),
            Place::Sqlite(path) => sqlite_number(path, "SELECT count(*) FROM django_session") as usize,
            Place::Postgres(server) => server.sql(PG_DATABASE, "SELECT count(*) FROM django_session").parse().unwrap(),
        }
    }

    /// Seconds until the store drops or ends session `key` (negative once
    /// past): the Redis key's TTL, or the row's `expire_date` (also with
    /// `cached_db`); with signed cookies, the expiry cookie `key` decodes
    /// to (its signing time plus its `_session_expiry`). `None` on files,
    /// which keep no expiry outside the signed data.
    fn expires_in(&self, key: &str) -> Option<f64> {
        match &self.place {
            Place::Files(_) => None,
            Place::SignedCookies(store) => match store.decode_cookie(key).unwrap() {
                Loaded::Found { expires_at, .. } => Some(match expires_at.duration_since(std::time::SystemTime::now()) {
                    Ok(left) => left.as_secs_f64(),
                    Err(past) => -past.duration().as_secs_f64(),
                }),
                other => panic!("the cookie is no live session: {other:?}"),
            },
            Place::Redis(redis) => {
                let pttl: f64 = redis.cli(&["pttl", &format!(":1:django.contrib.sessions.cache{key}")]).parse().unwrap();
                assert!(pttl >= 0.0, "the Redis key exists and expires: PTTL {pttl}");
                Some(pttl / 1000.0)
            }
            Place::Sqlite(path) | Place::CachedDb(path, _) => Some(sqlite_number(
                path,
                &format!("SELECT (julianday(expire_date) - julianday('now')) * 86400.0 FROM django_session WHERE session_key = {}", sql_key(key)),
            )),
            Place::Postgres(server) => Some(
                server
                    .sql(PG_DATABASE, &format!("SELECT extract(epoch FROM expire_date - now()) FROM django_session WHERE session_key = {}", sql_key(key)))
                    .parse()
                    .unwrap(),
            ),
        }
    }
}

impl Both {
    /// The data of signed-cookie session `cookie`, decoded with the shared
    /// secret; `None` unless it is a live session.
    fn cookie_session(&self, cookie: &str) -> Option<serde_json::Map<String, Value>> {
        let Place::SignedCookies(store) = &self.place else { panic!("not a signed-cookie test") };
        match store.decode_cookie(cookie).unwrap() {
            Loaded::Found { data, .. } => Some(data),
            _ => None,
        }
    }
}

fn the_counter_survives_reloads_with_djangos_cookie(backend: Backend) {
    let both = start(backend, false);
    let b = &both.browser;
    let before = unix_now();
    b.count_visits(&both.demo.url("/"), 3, "anonymous");
    let cookie = b.cookie("sessionid").expect("the demo's session cookie");
    assert_django_session_cookie(&cookie, before, COOKIE_AGE);
    match backend {
        // The cookie is the session: the demo's counter, signed.
        Backend::SignedCookies => assert_eq!(both.cookie_session(&cookie.value).expect("a live signed cookie")["counter"], 3),
        _ => assert_eq!(cookie.value.len(), 32),
    }
    if let Backend::CachedDb = backend {
        // A save takes the cache entry away; the next load fills it.
        assert!(!both.cached(&cookie.value), "the demo's save leaves no stale cache entry");
    }
    assert!(both.stored(&cookie.value), "the demo's session is in the shared store");
    assert_eq!(both.sessions_stored(), 1, "one session for the three visits");
    let png = both.tmp.path().join("counter.png");
    b.screenshot(&png);
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"), "a screenshot");
    // Django reads the counter the demo wrote.
    assert_eq!(both.on_django().1["counter"], 3);
    if let Backend::CachedDb = backend {
        assert!(both.cached(&cookie.value), "Django's load filled its cache from the demo's row");
    }
}

fn a_django_login_is_seen_by_the_rust_app_and_data_flows_both_ways(backend: Backend) {
    let both = start(backend, false);
    let key = both.django_login();
    assert!(both.stored(&key), "Django's login is in the shared store");
    if let Backend::CachedDb = backend {
        assert!(both.cached(&key), "and in Django's cache");
    }
    assert_eq!(both.sessions_stored(), 1);
    let (user, data) = both.on_demo();
    assert_eq!(user, DJANGO_USER, "the demo sees Django's login: {data}");
    assert_eq!(both.browser.text("key"), key);
    let info = both.django.user_info(DJANGO_USER);
    assert_eq!(data["_auth_user_id"], info["id"]);
    assert_eq!(data["_auth_user_hash"], info["session_auth_hash"]);

    both.browser.goto(&both.demo.url("/set?key=colour&value=teal"));
    assert_eq!(both.browser.text("ok"), "colour = teal");
    let (user, data) = both.on_django();
    assert_eq!((user.as_str(), &data["colour"]), (DJANGO_USER, &Value::from("teal")), "Django sees the demo's data");

    both.browser.goto(&both.django.url("/django/set/?key=shape&value=round"));
    let (user, data) = both.on_demo();
    assert_eq!((user.as_str(), &data["shape"], &data["colour"]), (DJANGO_USER, &Value::from("round"), &Value::from("teal")), "the demo sees Django's data");
    let now = both.browser.cookie("sessionid").unwrap().value;
    match backend {
        // Each save is a new cookie; it holds the one login and both
        // sides' data.
        Backend::SignedCookies => {
            let data = both.cookie_session(&now).expect("a live signed cookie");
            assert_eq!((&data["_auth_user_hash"], &data["colour"], &data["shape"]), (&info["session_auth_hash"], &Value::from("teal"), &Value::from("round")));
        }
        _ => assert_eq!(now, key, "one session throughout"),
    }
    assert_eq!(both.sessions_stored(), 1, "one session in the store");

    // The counter: the demo's writes on Django's session, read by Django.
    both.browser.count_visits(&both.demo.url("/"), 2, DJANGO_USER);
    assert_eq!(both.on_django().1["counter"], 2);
}

fn an_expiry_set_on_either_side_is_honoured_by_the_other(backend: Backend) {
    let both = start(backend, false);
    let key = both.django_login();
    both.expiry_both_ways(
        &|| {
            // A signed-cookie session is the cookie the demo just sent.
            let key = match backend {
                Backend::SignedCookies => both.browser.cookie("sessionid").unwrap().value,
                _ => key.clone(),
            };
            if let Some(left) = both.expires_in(&key) {
                assert!((295.0..=300.5).contains(&left), "the demo's set_expiry(300) is the store's expiry: {left} s");
            }
        },
        &|| match backend {
            // Django's cache deletes a key whose expiry is past.
            Backend::Redis => assert!(!both.stored(&key)),
            // Django's db backend writes the row with its past expire_date.
            Backend::Sqlite | Backend::Postgres => {
                let left = both.expires_in(&key).unwrap();
                assert!(left < 0.0, "the row expired: {left} s");
            }
            // The same, and its cache deletes the key.
            Backend::CachedDb => {
                let left = both.expires_in(&key).unwrap();
                assert!(left < 0.0, "the row expired: {left} s");
                let Place::CachedDb(_, redis) = &both.place else { unreachable!() };
                assert_eq!(redis.cli(&["dbsize"]), "0", "the cache holds no expired session");
            }
            // Django sends the cookie with a past expiry: the browser drops it.
            Backend::SignedCookies => assert_eq!(both.sessions_stored(), 0, "{:?}", both.browser.cookies()),
            Backend::Files => {}
        },
    );
}

impl Both {
    /// A Django login, then: the demo sets an expiry of 300 s (`after_300`
    /// checks the store), Django reads it; Django sets 120 s, the demo reads
    /// it; Django sets one already past (`after_past` checks the store) and
    /// the demo finds no user.
    fn expiry_both_ways(&self, after_300: &dyn Fn(), after_past: &dyn Fn()) {
        let b = &self.browser;
        b.goto(&self.demo.url("/expiry?seconds=300"));
        let cookie = b.cookie("sessionid").unwrap();
        let now = unix_now();
        assert!((now + 297..=now + 301).contains(&cookie.expiry.unwrap()), "the demo's cookie follows the session's expiry: {cookie:?}");
        after_300();
        b.goto(&self.django.url("/django/whoami/"));
        assert_eq!(b.text("expiry-age"), "300", "Django honours the demo's set_expiry(300)");
        assert_eq!(b.text("user"), DJANGO_USER);

        b.goto(&self.django.url("/django/expiry/?seconds=120"));
        b.goto(&self.demo.url("/session"));
        let age: i64 = b.text("expiry-age").parse().unwrap();
        assert!((118..=120).contains(&age), "the demo honours Django's set_expiry(120): {age}");

        // An expiry already past, set by Django: the demo finds no session
        // and no user.
        b.goto(&self.django.url("/django/expiry/?seconds=-1"));
        after_past();
        b.goto(&self.demo.url("/session"));
        assert_eq!(b.text("user"), "anonymous");
    }
}

fn logging_out_on_either_side_logs_out_of_both(backend: Backend) {
    let both = start(backend, false);
    let b = &both.browser;
    // Out in the Rust app.
    let key = both.django_login();
    assert_eq!(both.on_demo().0, DJANGO_USER);
    b.goto(&both.demo.url("/logout"));
    assert_eq!(both.on_django().0, DJANGO_USER, "showing the logout form logs no one out");
    b.goto(&both.demo.url("/logout"));
    b.click_and_wait("logout");
    assert_eq!(b.text("user"), "anonymous");
    assert!(b.cookie("sessionid").is_none(), "the demo's flush deletes the cookie: {:?}", b.cookies());
    assert!(!both.stored(&key), "and the session in the store");
    assert_eq!(both.on_django().0, "anonymous", "Django sees the logout");

    // Out in Django.
    let key = both.django_login();
    assert_eq!(both.on_demo().0, DJANGO_USER);
    b.goto(&both.django.url("/django/logout/"));
    assert!(!both.stored(&key), "Django's flush deletes the session in the store");
    assert_eq!(both.on_demo().0, "anonymous", "the demo sees Django's logout");
    assert_eq!(both.sessions_stored(), 0, "no session left, none brought back");
}

fn a_rust_side_login_is_a_django_login(backend: Backend) {
    let both = start(backend, false);
    let b = &both.browser;
    b.goto(&both.demo.url("/"));
    let anonymous_key = b.cookie("sessionid").unwrap().value;
    assert!(both.stored(&anonymous_key));

    both.demo_login("not the password");
    assert!(b.has("error"), "a wrong password is refused");
    both.demo_login(DJANGO_PASSWORD);
    assert_eq!(b.text("user"), DJANGO_USER, "the demo's session page after its login");
    let key = b.cookie("sessionid").unwrap().value;
    assert_ne!(key, anonymous_key, "login cycles the key");
    assert!(!both.stored(&anonymous_key), "the old key is gone from the store");
    assert!(both.stored(&key));

    let info = both.django.user_info(DJANGO_USER);
    let (user, data) = both.on_django();
    assert_eq!(user, DJANGO_USER, "Django's request.user is alice: {data}");
    assert_eq!(data["_auth_user_id"], info["id"]);
    assert_eq!(data["_auth_user_backend"], info["backend"]);
    assert_eq!(data["_auth_user_hash"], info["session_auth_hash"], "Django's get_session_auth_hash");
    assert_eq!(data["counter"], 1, "the anonymous session's data moved with the new key");
}

/// A password change on Django invalidates the session auth hash, and the
/// login ends on both sides, whichever side looks first.
fn a_password_change_on_django_ends_the_rust_sides_login(backend: Backend) {
    const NEW_PASSWORD: &str = "alice-new-password-123";
    const NEWER_PASSWORD: &str = "alice-newer-password-456";
    let mut both = start(backend, false);

    // Django looks first: its check flushes the session, so the demo sees
    // no login, though it only knows alice's old password hash.
    let key = both.django_login();
    assert_eq!(both.on_demo().0, DJANGO_USER);
    both.django.manage(&["setup_site", DJANGO_USER, NEW_PASSWORD]);
    assert!(both.stored(&key), "changing the password deletes no session");
    assert_eq!(both.on_django().0, "anonymous", "Django flushes the stale login");
    assert!(!both.stored(&key), "Django's flush deletes the session in the store");
    assert_eq!(both.on_demo().0, "anonymous", "the Rust side's login ended with it");

    // The Rust side looks first, knowing alice's current hash: its check
    // (Django's, in `auth::verified_user_id`) flushes the session, and
    // Django sees no login either.
    both.restart_demo();
    both.demo_login(NEW_PASSWORD);
    assert_eq!(both.browser.text("user"), DJANGO_USER, "a login on the demo with the new password");
    let key = both.browser.cookie("sessionid").unwrap().value;
    assert_eq!(both.on_django().0, DJANGO_USER, "Django sees the demo's login");
    both.django.manage(&["setup_site", DJANGO_USER, NEWER_PASSWORD]);
    assert!(both.stored(&key));
    both.restart_demo();
    assert_eq!(both.on_demo().0, "anonymous", "the demo's hash check ends its login after Django's password change");
    assert!(!both.stored(&key), "the demo's flush deletes the session in the store");
    assert_eq!(both.on_django().0, "anonymous", "Django sees the login ended");
}

fn expire_at_browser_close_drops_the_login_with_the_browser(backend: Backend) {
    let mut both = start(backend, true);
    both.django_login();
    both.browser.goto(&both.demo.url("/"));
    assert_eq!(both.browser.text("count"), "1");
    assert_eq!(both.browser.text("user"), DJANGO_USER, "the demo shares Django's login");
    let cookie = both.browser.cookie("sessionid").unwrap();
    assert_eq!(cookie.expiry, None, "a browser-session cookie from the demo: {cookie:?}");

    both.browser.restart();
    both.browser.goto(&both.demo.url("/"));
    assert_eq!(both.browser.text("user"), "anonymous", "the login ended with the browser");
    assert_eq!(both.browser.text("count"), "1", "a new session");
    assert_eq!(both.on_django().0, "anonymous");
}
