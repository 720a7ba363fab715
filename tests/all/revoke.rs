//! Logging a user out everywhere (issue 26, part 1): `sessionbox
//! sessions-of` and `revoke-user` through the real CLI on every backend
//! sessionbox has (a directory, Redis in both formats, SQLite, PostgreSQL,
//! cached_db), against sessions a real Django logged in (file, cache and db
//! engines), racing a dozen concurrent saves of the user's session, and in
//! real browsers on the Django site and the demo app at once.

use crate::support::data;
use crate::support::postgres::{PostgresServer, PASSWORD};
use crate::support::redis::RedisServer;
use serde_json::{json, Value};
use sessionbox::kv::redis::RedisOptions;
use sessionbox::kv::sql::{postgres::PostgresOptions, sqlite::SqliteOptions};
use sessionbox::{DbOptions, Loaded, Options, RedisFormat, Settings, Store};

const SECRET: &str = "revoke-secret-9d2e71";
/// A writer with another secret: its sessions have a bad signature here.
const OTHER_SECRET: &str = "someone-else-entirely-3f0b";

/// One backend: the library's store on it (to seed and to check), a store
/// with another secret on the same place (to write sessions with a bad
/// signature), and the CLI's arguments naming it.
struct Backend {
    name: &'static str,
    store: Store,
    forger: Store,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    redis: Option<RedisServer>,
    signed: bool,
    _postgres: Option<PostgresServer>,
    _dir: tempfile::TempDir,
}

fn settings(secret: &str) -> Settings {
    Settings::new(secret)
}

fn sqlite_options(path: &std::path::Path) -> SqliteOptions {
    SqliteOptions { create_table: true, ..SqliteOptions::new(path) }
}

impl Backend {
    fn dir() -> Backend {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("sessions");
        let store = Store::open(&dir, settings(SECRET)).unwrap();
        let forger = Store::open(&dir, settings(OTHER_SECRET)).unwrap();
        let args = vec!["--dir".into(), dir.display().to_string()];
        Backend { name: "dir", store, forger, args, env: vec![], redis: None, signed: true, _postgres: None, _dir: tmp }
    }

    fn redis(format: RedisFormat) -> Backend {
        let redis = RedisServer::start();
        let options = RedisOptions { format: format.clone(), ..RedisOptions::new(redis.url()) };
        let store = Store::open_redis(&options, settings(SECRET)).unwrap();
        let forger = Store::open_redis(&options, settings(OTHER_SECRET)).unwrap();
        let signed = matches!(format, RedisFormat::Signed { .. });
        let mut args = vec!["--redis".to_owned(), redis.url()];
        let name = if signed {
            "redis (signed)"
        } else {
            args.extend(["--redis-format".to_owned(), "django".to_owned()]);
            "redis (django)"
        };
        Backend { name, store, forger, args, env: vec![], redis: Some(redis), signed, _postgres: None, _dir: tempfile::tempdir().unwrap() }
    }

    fn sqlite() -> Backend {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("db.sqlite3");
        let store = Store::open_sqlite(&sqlite_options(&path), settings(SECRET), Options::default()).unwrap();
        let forger = Store::open_sqlite(&sqlite_options(&path), settings(OTHER_SECRET), Options::default()).unwrap();
        let args = vec!["--sqlite".into(), path.display().to_string()];
        Backend { name: "sqlite", store, forger, args, env: vec![], redis: None, signed: true, _postgres: None, _dir: tmp }
    }

    fn postgres() -> Backend {
        let server = PostgresServer::start();
        let options = PostgresOptions { create_table: true, ..PostgresOptions::new(server.url("sessionbox")) };
        let store = Store::open_postgres(&options, settings(SECRET), Options::default()).unwrap();
        let forger = Store::open_postgres(&options, settings(OTHER_SECRET), Options::default()).unwrap();
        let args = vec!["--postgres".into(), server.url_without_password("sessionbox")];
        let env = vec![("SESSIONBOX_POSTGRES_PASSWORD", PASSWORD.to_owned())];
        Backend { name: "postgres", store, forger, args, env, redis: None, signed: true, _postgres: Some(server), _dir: tempfile::tempdir().unwrap() }
    }

    fn cached_db() -> Backend {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("db.sqlite3");
        let redis = RedisServer::start();
        let signed_cache = RedisOptions::new(redis.url());
        let db = DbOptions::Sqlite(sqlite_options(&path));
        // The signed format would cache under names no other process
        // reads, so a revoke elsewhere would leave this process's copy
        // loading: refused.
        let refused = Store::open_cached_db(&db, &signed_cache, settings(SECRET), Options::default()).map(|_| ()).unwrap_err();
        assert!(matches!(refused, sessionbox::Error::Config(_)) && refused.to_string().contains("RedisFormat::Django"), "{refused}");
        let cache = RedisOptions { format: RedisFormat::django(), ..signed_cache };
        let store = Store::open_cached_db(&db, &cache, settings(SECRET), Options::default()).unwrap();
        let forger = Store::open_cached_db(&db, &cache, settings(OTHER_SECRET), Options::default()).unwrap();
        let args = vec!["--cached-db".into(), "--redis".into(), redis.url(), "--sqlite".into(), path.display().to_string()];
        Backend { name: "cached_db", store, forger, args, env: vec![], redis: Some(redis), signed: true, _postgres: None, _dir: tmp }
    }

    /// Runs the CLI on this backend; its JSON output (it must succeed).
    fn cli(&self, args: &[&str]) -> Value {
        let mut cmd = crate::support::sessionbox(SECRET);
        cmd.args(&self.args).args(args);
        for (name, value) in &self.env {
            cmd.env(name, value);
        }
        serde_json::from_str(&crate::support::run_ok(&mut cmd)).unwrap()
    }
}

/// The data Django's `login()` leaves in a session.
fn login(user: &str) -> sessionbox::Data {
    data(json!({
        "_auth_user_id": user,
        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
        "_auth_user_hash": format!("{:0>64}", user),
        "cart": [1, 2, 3],
    }))
}

fn logged_in_as(store: &Store, key: &str) -> Option<String> {
    match store.load(key).unwrap() {
        Loaded::Found { data, .. } => data.get("_auth_user_id").and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    }
}

fn keys_of(listing: &Value) -> Vec<String> {
    let mut keys: Vec<String> = listing["sessions"].as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap().to_owned()).collect();
    keys.sort();
    keys
}

fn sorted(mut keys: Vec<String>) -> Vec<String> {
    keys.sort();
    keys
}

/// User 7 has three sessions, user 8 two, one visitor none; another
/// writer's session claiming user 7 has a bad signature (not on pickled
/// Redis, which has no signature). `sessions-of 7` lists the three with
/// their expiry; `revoke-user 7 --keep K` deletes two, keeps K, counts the
/// bad one and leaves it; user 8's sessions still load with their data.
fn revoke_user_through_the_cli(b: Backend) {
    let store = &b.store;
    let sevens: Vec<String> = (0..3).map(|_| store.create(&login("7")).unwrap()).collect();
    let eights: Vec<String> = (0..2).map(|_| store.create(&login("8")).unwrap()).collect();
    let visitor = store.create(&data(json!({"theme": "dark"}))).unwrap();
    let forged = b.signed.then(|| b.forger.create(&login("7")).unwrap());
    let total = 6 + u32::from(b.signed);

    let listed = b.cli(&["sessions-of", "7"]);
    assert_eq!(keys_of(&listed), sorted(sevens.clone()), "{}: {listed}", b.name);
    assert_eq!(listed["user"], json!("7"), "{}", b.name);
    assert_eq!((listed["scanned"].as_u64(), listed["live"].as_u64()), (Some(total.into()), Some(6)), "{}: {listed}", b.name);
    assert_eq!(listed["bad_signature"], json!(u32::from(b.signed)), "{}: {listed}", b.name);
    for s in listed["sessions"].as_array().unwrap() {
        let Loaded::Found { expires_at, .. } = store.load(s["key"].as_str().unwrap()).unwrap() else { panic!("{}: {s}", b.name) };
        let expires = expires_at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        assert!((s["expires_at"].as_i64().unwrap() - expires).abs() <= 1, "{}: {s} vs {expires}", b.name);
    }
    assert_eq!(keys_of(&b.cli(&["sessions-of", "8"])), sorted(eights.clone()), "{}", b.name);
    assert!(keys_of(&b.cli(&["sessions-of", "9"])).is_empty(), "{}", b.name);

    let revoked = b.cli(&["revoke-user", "7", "--keep", &sevens[0]]);
    let counts = ["found", "deleted", "kept", "gone", "bad_signature"].map(|k| revoked[k].as_u64().unwrap());
    assert_eq!(counts, [3, 2, 1, 0, u64::from(b.signed)], "{}: {revoked}", b.name);
    assert_eq!(logged_in_as(store, &sevens[0]).as_deref(), Some("7"), "{}: the kept session", b.name);
    for key in &sevens[1..] {
        assert_eq!(logged_in_as(store, key), None, "{}: a revoked session still loads", b.name);
        assert!(!store.exists(key).unwrap(), "{}: a revoked session is still stored", b.name);
    }
    for key in &eights {
        let Loaded::Found { data, .. } = store.load(key).unwrap() else { panic!("{}: user 8's session is gone", b.name) };
        assert_eq!(data, login("8"), "{}: user 8's session changed", b.name);
    }
    assert!(matches!(store.load(&visitor).unwrap(), Loaded::Found { .. }), "{}: the visitor's session is gone", b.name);
    if let Some(forged) = &forged {
        assert_eq!(logged_in_as(&b.forger, forged).as_deref(), Some("7"), "{}: the badly signed session was touched", b.name);
    }
    assert_eq!(keys_of(&b.cli(&["sessions-of", "7"])), vec![sevens[0].clone()], "{}", b.name);
    // Without --keep, the last one goes too; a second run finds nothing.
    let revoked = b.cli(&["revoke-user", "7"]);
    assert_eq!((revoked["found"].as_u64(), revoked["deleted"].as_u64()), (Some(1), Some(1)), "{}: {revoked}", b.name);
    let revoked = b.cli(&["revoke-user", "7"]);
    assert_eq!((revoked["found"].as_u64(), revoked["deleted"].as_u64()), (Some(0), Some(0)), "{}: {revoked}", b.name);
    assert_eq!(keys_of(&b.cli(&["sessions-of", "8"])), sorted(eights), "{}", b.name);

    if let Some(redis) = &b.redis {
        // On Redis the listing is SCAN, never KEYS (which blocks the
        // server); cached_db lists its database's rows and asks the cache
        // for nothing but the sessions themselves.
        let stats = redis.cli(&["info", "commandstats"]);
        let cached_db = b.name == "cached_db";
        assert_eq!(stats.contains("cmdstat_scan:"), !cached_db, "{}: SCAN:\n{stats}", b.name);
        assert!(!stats.contains("cmdstat_keys:"), "{}: KEYS ran:\n{stats}", b.name);
    }
}

macro_rules! on_every_backend {
    ($($test:ident => $backend:expr;)*) => {
        $(#[test] fn $test() { revoke_user_through_the_cli($backend) })*
    };
}

on_every_backend! {
    revoke_user_through_the_cli_on_a_directory => Backend::dir();
    revoke_user_through_the_cli_on_redis_signed => Backend::redis(RedisFormat::signed());
    revoke_user_through_the_cli_on_redis_django => Backend::redis(RedisFormat::django());
    revoke_user_through_the_cli_on_sqlite => Backend::sqlite();
    revoke_user_through_the_cli_on_postgres => Backend::postgres();
    revoke_user_through_the_cli_on_cached_db => Backend::cached_db();
}

/// A signed-cookie store keeps no sessions: each is its browser's cookie,
/// so there is nothing to list or revoke (only a new secret ends them),
/// and every operator call says so instead of reporting zero.
#[test]
fn a_signed_cookie_store_says_why_it_cannot_list_or_revoke() {
    let store = Store::open_signed_cookies(settings(SECRET), Options::default()).unwrap();
    let errors = [
        store.sessions_of("7").map(|_| ()).unwrap_err(),
        store.revoke_user("7", None).map(|_| ()).unwrap_err(),
        store.secrets_report().map(|_| ()).unwrap_err(),
    ];
    for e in errors {
        let text = e.to_string();
        assert!(matches!(e, sessionbox::Error::Config(_)), "{text}");
        assert!(text.contains("signed-cookie") && text.contains("cookie"), "{text}");
    }
}

/// Django's side of one engine: its own `SessionStore` (the driver), and
/// the CLI's arguments naming the same sessions.
struct DjangoSide {
    django: crate::support::django::Driver,
    args: Vec<String>,
    _redis: Option<RedisServer>,
    _dir: tempfile::TempDir,
}

impl DjangoSide {
    fn start(engine: &str) -> DjangoSide {
        use crate::support::django;
        let tmp = tempfile::tempdir().unwrap();
        let mut config = json!({"engine": engine, "secret_key": SECRET});
        let (python, args, redis) = match engine {
            "file" => {
                let dir = tmp.path().join("sessions");
                std::fs::create_dir(&dir).unwrap();
                config["dir"] = json!(dir);
                (django::django_python(), vec!["--dir".to_owned(), dir.display().to_string()], None)
            }
            "cache" => {
                let redis = RedisServer::start();
                config["cache"] = json!({"url": redis.url()});
                (django::django_redis_python(), vec!["--redis".to_owned(), redis.url(), "--redis-format".to_owned(), "django".to_owned()], Some(redis))
            }
            "db" => {
                let path = tmp.path().join("db.sqlite3");
                config["database"] = json!({"sqlite": path});
                config["migrate"] = json!(true);
                (django::django_python(), vec!["--sqlite".to_owned(), path.display().to_string()], None)
            }
            _ => unreachable!("{engine}"),
        };
        DjangoSide { django: django::Driver::start(&python, &config), args, _redis: redis, _dir: tmp }
    }

    /// A session Django's own store created holding what `login()` keeps.
    fn log_in(&mut self, user: &str) -> String {
        let data = Value::Object(login(user));
        self.django.ok(&json!({"op": "create", "data": data}))["key"].as_str().unwrap().to_owned()
    }

    /// The user Django's own `load()` finds logged in on `key`, if any.
    fn user_of(&mut self, key: &str) -> Option<String> {
        let loaded = self.django.ok(&json!({"op": "load", "key": key}));
        loaded["data"]["_auth_user_id"].as_str().map(str::to_owned)
    }

    fn cli(&self, args: &[&str]) -> Value {
        let mut cmd = crate::support::sessionbox(SECRET);
        cmd.args(&self.args).args(args);
        serde_json::from_str(&crate::support::run_ok(&mut cmd)).unwrap()
    }
}

/// User 7 logged in twice and user 8 once, each by Django's own
/// `SessionStore` on `engine`; `sessionbox revoke-user 7` ends both of
/// 7's sessions for Django (its load finds nothing) and leaves 8's.
fn revoke_user_ends_djangos_sessions(engine: &str) {
    let mut side = DjangoSide::start(engine);
    let sevens = [side.log_in("7"), side.log_in("7")];
    let eight = side.log_in("8");
    let listed = side.cli(&["sessions-of", "7"]);
    assert_eq!(keys_of(&listed), sorted(sevens.to_vec()), "{engine}: {listed}");
    let revoked = side.cli(&["revoke-user", "7"]);
    assert_eq!((revoked["found"].as_u64(), revoked["deleted"].as_u64()), (Some(2), Some(2)), "{engine}: {revoked}");
    for key in &sevens {
        assert_eq!(side.user_of(key), None, "{engine}: Django still finds user 7 logged in");
    }
    assert_eq!(side.user_of(&eight).as_deref(), Some("8"), "{engine}: user 8 was logged out");
}

#[test]
fn revoke_user_ends_djangos_file_sessions() {
    revoke_user_ends_djangos_sessions("file");
}

#[test]
fn revoke_user_ends_djangos_cache_sessions_on_redis() {
    revoke_user_ends_djangos_sessions("cache");
}

#[test]
fn revoke_user_ends_djangos_db_sessions() {
    revoke_user_ends_djangos_sessions("db");
}

/// The logout rule for a revocation: per round, user 7's session gets 11
/// concurrent saves (each a request: load, set a key, save) while
/// `revoke_user("7")` runs. Afterwards no session of user 7 may exist: a
/// save that loaded before the delete must not write it back.
fn a_revocation_racing_a_dozen_saves_is_never_undone(store: &Store, what: &str) {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Barrier;
    let rounds = 20;
    let (saved, refused) = (AtomicU32::new(0), AtomicU32::new(0));
    let mut resurrected = 0;
    for round in 0..rounds {
        let key = store.create(&login("7")).unwrap();
        let other = store.create(&login("8")).unwrap();
        let barrier = Barrier::new(12);
        std::thread::scope(|s| {
            for i in 0..12 {
                let (barrier, key, saved, refused) = (&barrier, &key, &saved, &refused);
                s.spawn(move || {
                    barrier.wait();
                    if i == 6 {
                        store.revoke_user("7", None).unwrap();
                    } else {
                        for n in 0..3 {
                            let mut session = store.session(Some(key));
                            session.insert(format!("request{i}"), json!(n)).unwrap();
                            // Saved before the revocation, or refused after it.
                            match session.save(false) {
                                Ok(()) => _ = saved.fetch_add(1, Ordering::Relaxed),
                                Err(sessionbox::Error::NotFound) => _ = refused.fetch_add(1, Ordering::Relaxed),
                                Err(e) => panic!("{what}: a save failed: {e}"),
                            }
                        }
                    }
                });
            }
        });
        let left = store.sessions_of("7").unwrap();
        resurrected += u32::from(!left.is_empty() || logged_in_as(store, &key).is_some());
        for s in left {
            store.delete(&s.key).unwrap();
        }
        assert_eq!(logged_in_as(store, &other).as_deref(), Some("8"), "{what}: round {round}: user 8's session");
    }
    let (saved, refused) = (saved.into_inner(), refused.into_inner());
    eprintln!("{what}: a revocation among 12 concurrent saves: undone in {resurrected} of {rounds} rounds ({saved} saves before it, {refused} refused after)");
    // Both sides of the race ran: saves landed before the delete, others came after it.
    assert!(saved > 0 && refused > 0, "{what}: the saves and the revocation did not overlap ({saved} saved, {refused} refused)");
    assert_eq!(resurrected, 0, "{what}: a revoked session came back in {resurrected} of {rounds} rounds");
}

#[test]
fn a_revocation_racing_a_dozen_saves_on_a_directory_is_never_undone() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path().join("sessions"), settings(SECRET)).unwrap();
    a_revocation_racing_a_dozen_saves_is_never_undone(&store, "directory");
}

#[test]
fn a_revocation_racing_a_dozen_saves_on_redis_is_never_undone() {
    let redis = RedisServer::start();
    for format in [RedisFormat::signed(), RedisFormat::django()] {
        let store = Store::open_redis(&RedisOptions { format: format.clone(), ..RedisOptions::new(redis.url()) }, settings(SECRET)).unwrap();
        a_revocation_racing_a_dozen_saves_is_never_undone(&store, &format!("redis {format:?}"));
    }
}

/// A Redis Cluster cannot be listed (`SCAN` walks one node): the CLI
/// says so instead of reporting one node's share as the whole.
#[test]
fn on_a_redis_cluster_listing_is_refused_with_the_reason() {
    let cluster = crate::support::redis::RedisCluster::start();
    for args in [&["sessions-of", "7"][..], &["revoke-user", "7"], &["secrets-report"]] {
        let mut cmd = crate::support::sessionbox(SECRET);
        for url in cluster.urls() {
            cmd.args(["--redis", &url]);
        }
        let out = cmd.arg("--redis-cluster").args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("Redis Cluster is not supported (SCAN walks one node)"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", String::from_utf8_lossy(&out.stdout));
    }
}

mod browsers {
    //! The proof in browsers: Django's site and the demo app share one
    //! session directory; alice is logged in in two Chromium sessions (one
    //! through Django's login, one through the demo's), bob in a third.
    //! `sessionbox revoke-user` (and the demo's "sign out of all devices",
    //! `auth::logout_everywhere`) logs both of alice's browsers out of both
    //! apps; bob stays logged in.

    use super::SECRET;
    use crate::support::web::{Browser, DemoApp, DjangoServer, DJANGO_PASSWORD, DJANGO_USER};
    use sessionbox::{Options, Settings};
    use sessionbox_demo::{DemoUser, Sessions};

    const BOB: &str = "bob";
    const BOB_PASSWORD: &str = "bob-battery-staple-3";

    struct Site {
        sessions: std::path::PathBuf,
        django: DjangoServer,
        demo: DemoApp,
        alice_id: String,
        _tmp: tempfile::TempDir,
    }

    fn start() -> Site {
        let tmp = tempfile::tempdir().unwrap();
        let sessions = tmp.path().join("sessions");
        let django = DjangoServer::start(&sessions, SECRET, &[]);
        let info = django.user_info(DJANGO_USER);
        let alice_id = info["id"].as_str().unwrap().to_owned();
        let alice = DemoUser { id: alice_id.clone(), username: DJANGO_USER.to_owned(), password_hash: info["password"].as_str().unwrap().to_owned() };
        // Bob is the demo's own user, with an id Django's alice does not have.
        let bob = DemoUser::with_password(&format!("{alice_id}000"), BOB, BOB_PASSWORD, 1000);
        let (store, _) = sessionbox_demo::open_store(&Sessions::Dir(sessions.clone()), Settings::new(SECRET), Options::default()).unwrap();
        let demo = DemoApp::start(store, vec![alice, bob]);
        Site { sessions, django, demo, alice_id, _tmp: tmp }
    }

    impl Site {
        /// Who Django's whoami shows in `b`, after a reload.
        fn on_django(&self, b: &Browser) -> String {
            b.goto(&self.django.url("/django/whoami/"));
            b.text("user")
        }

        /// Who the demo shows in `b`, after a reload.
        fn on_demo(&self, b: &Browser) -> String {
            b.goto(&self.demo.url("/session"));
            b.text("user")
        }

        fn django_login(&self, b: &Browser) {
            b.goto(&self.django.url("/django/login/"));
            b.submit_form(&[("username", DJANGO_USER), ("password", DJANGO_PASSWORD)], "submit");
            assert_eq!(b.text("user"), DJANGO_USER, "Django's whoami after its login");
        }

        fn demo_login(&self, b: &Browser, user: &str, password: &str) {
            b.goto(&self.demo.url("/login"));
            b.submit_form(&[("username", user), ("password", password)], "submit");
            assert_eq!(b.text("user"), user, "the demo after its login");
        }

        /// Alice in `one` through Django, in `two` through the demo; both
        /// apps see her in both.
        fn alice_in_two(&self, one: &Browser, two: &Browser) {
            self.django_login(one);
            self.demo_login(two, DJANGO_USER, DJANGO_PASSWORD);
            for b in [one, two] {
                assert_eq!((self.on_django(b), self.on_demo(b)), (DJANGO_USER.to_owned(), DJANGO_USER.to_owned()));
            }
            assert_ne!(one.cookie("sessionid").unwrap().value, two.cookie("sessionid").unwrap().value, "two sessions");
        }
    }

    #[test]
    fn revoke_user_logs_a_user_out_of_django_and_the_demo_in_every_browser() {
        let site = start();
        let (one, two, three) = (Browser::start(), Browser::start(), Browser::start());
        site.alice_in_two(&one, &two);
        site.demo_login(&three, BOB, BOB_PASSWORD);

        let out = crate::support::run_ok(crate::support::sessionbox_on(&site.sessions, SECRET).args(["revoke-user", &site.alice_id]));
        let revoked: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!((revoked["found"].as_u64(), revoked["deleted"].as_u64()), (Some(2), Some(2)), "{revoked}");
        for b in [&one, &two] {
            assert_eq!(site.on_django(b), "anonymous", "Django, on reload after revoke-user");
            assert_eq!(site.on_demo(b), "anonymous", "the demo, on reload after revoke-user");
        }
        assert_eq!(site.on_demo(&three), BOB, "bob's session was touched");

        // The same through the demo's "sign out of all devices".
        site.alice_in_two(&one, &two);
        two.goto(&site.demo.url("/logout-everywhere"));
        two.click_and_wait("logout-everywhere");
        assert_eq!(two.text("revoked"), "2", "both of alice's sessions ended");
        assert!(two.cookie("sessionid").is_none(), "the cookie is deleted: {:?}", two.cookies());
        for b in [&one, &two] {
            assert_eq!(site.on_django(b), "anonymous", "Django, after the demo's sign-out everywhere");
            assert_eq!(site.on_demo(b), "anonymous", "the demo, after its sign-out everywhere");
        }
        assert_eq!(site.on_demo(&three), BOB, "bob stays logged in");
    }
}
