//! One login for Django and the Rust app, proven in headless Chromium: a
//! real Django server and the demo axum app (`examples/demo`, on
//! `sessionbox_tower`) share one session directory, one secret and the
//! `sessionid` cookie on 127.0.0.1 (cookies ignore the port). The
//! `through_redis_*` tests do the same with both on one Redis: Django's
//! cache session backend on its RedisCache, the demo on
//! `Store::open_redis` in `RedisFormat::django()`.

use crate::support::redis::RedisServer;
use crate::support::web::{assert_django_session_cookie, unix_now, Browser, DemoApp, DjangoServer, DJANGO_PASSWORD, DJANGO_USER};
use serde_json::Value;
use sessionbox::{Options, RedisFormat, RedisOptions, Settings, Store};
use sessionbox_demo::DemoUser;
use std::path::Path;

const SECRET: &str = "shared-login-secret-9f3c1a77e2";
const COOKIE_AGE: i64 = 1_209_600;

/// The demo app on the session directory `sessions`, with this file's secret.
fn demo_on_dir(sessions: &Path, users: Vec<DemoUser>, expire_at_browser_close: bool) -> DemoApp {
    let options = Options { expire_at_browser_close, ..Options::default() };
    DemoApp::start(Store::open_with(sessions, Settings::new(SECRET), options).unwrap(), users)
}

/// Django's alice as the demo app knows her: id and password hash from
/// Django's own database.
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
    /// The Redis both use in the `through_redis_*` tests. Declared last, so
    /// dropped last.
    redis: Option<RedisServer>,
}

fn start(expire_at_browser_close: bool) -> Both {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path().join("sessions");
    let flag = if expire_at_browser_close { "True" } else { "False" };
    let django = DjangoServer::start(&sessions, SECRET, &[("SESSION_EXPIRE_AT_BROWSER_CLOSE", flag)]);
    let demo = demo_on_dir(&sessions, vec![alice(&django)], expire_at_browser_close);
    let browser = Browser::start();
    Both { redis: None, tmp, django, demo, browser }
}

/// Django (cache session backend) and the demo (`RedisFormat::django()`)
/// on one Redis server.
fn start_on_redis() -> Both {
    let tmp = tempfile::tempdir().unwrap();
    let redis = RedisServer::start();
    let django = DjangoServer::start_on_redis(&redis.url(), SECRET, &[]);
    let options = RedisOptions { format: RedisFormat::django(), ..RedisOptions::new(redis.url()) };
    let store = Store::open_redis(&options, Settings::new(SECRET)).unwrap();
    assert_eq!(store.dir(), None, "a store on Redis has no directory");
    let demo = DemoApp::start(store, vec![alice(&django)]);
    let browser = Browser::start();
    Both { redis: Some(redis), tmp, django, demo, browser }
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

    /// The Redis key Django's cache gives session `key`, and whether it
    /// exists.
    fn in_redis(&self, key: &str) -> bool {
        let redis = self.redis.as_ref().expect("a Redis test");
        redis.cli(&["exists", &format!(":1:django.contrib.sessions.cache{key}")]) == "1"
    }

    /// How many keys the shared Redis holds.
    fn redis_keys(&self) -> usize {
        self.redis.as_ref().expect("a Redis test").cli(&["dbsize"]).parse().unwrap()
    }

    fn session_files(&self) -> usize {
        std::fs::read_dir(self.tmp.path().join("sessions")).map_or(0, |d| d.count())
    }
}

#[test]
fn the_counter_survives_reloads_with_djangos_cookie() {
    let both = start(false);
    let b = &both.browser;
    let before = unix_now();
    b.count_visits(&both.demo.url("/"), 3, "anonymous");
    let cookie = b.cookie("sessionid").expect("the demo's session cookie");
    assert_django_session_cookie(&cookie, before, COOKIE_AGE);
    assert_eq!(cookie.value.len(), 32);
    assert!(both.tmp.path().join("sessions").join(format!("sessionid{}", cookie.value)).is_file());
    let png = both.tmp.path().join("counter.png");
    b.screenshot(&png);
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"), "a screenshot");
    // Django reads the counter the demo wrote.
    assert_eq!(both.on_django().1["counter"], 3);
}

#[test]
fn a_django_login_is_seen_by_the_rust_app_and_data_flows_both_ways() {
    let both = start(false);
    let key = both.django_login();
    let (user, data) = both.on_demo();
    assert_eq!(user, DJANGO_USER, "the demo sees Django's login: {data}");
    assert_eq!(both.browser.text("key"), key);

    both.browser.goto(&both.demo.url("/set?key=colour&value=teal"));
    assert_eq!(both.browser.text("ok"), "colour = teal");
    let (user, data) = both.on_django();
    assert_eq!((user.as_str(), &data["colour"]), (DJANGO_USER, &Value::from("teal")), "Django sees the demo's data");

    both.browser.goto(&both.django.url("/django/set/?key=shape&value=round"));
    assert_eq!(both.on_demo().1["shape"], "round", "the demo sees Django's data");
    assert_eq!(both.browser.cookie("sessionid").unwrap().value, key, "one session throughout");
}

#[test]
fn an_expiry_set_on_either_side_is_honoured_by_the_other() {
    let both = start(false);
    both.django_login();
    both.expiry_both_ways(&|| {}, &|| {});
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

#[test]
fn logging_out_on_either_side_logs_out_of_both() {
    let both = start(false);
    let b = &both.browser;
    // Out in the Rust app.
    let key = both.django_login();
    b.goto(&both.demo.url("/logout"));
    assert_eq!(both.on_django().0, DJANGO_USER, "showing the logout form logs no one out");
    b.goto(&both.demo.url("/logout"));
    b.click_and_wait("logout");
    assert_eq!(b.text("user"), "anonymous");
    assert!(b.cookie("sessionid").is_none(), "the demo's flush deletes the cookie: {:?}", b.cookies());
    assert!(!both.tmp.path().join("sessions").join(format!("sessionid{key}")).exists(), "and the file");
    assert_eq!(both.on_django().0, "anonymous", "Django sees the logout");

    // Out in Django.
    both.django_login();
    assert_eq!(both.on_demo().0, DJANGO_USER);
    b.goto(&both.django.url("/django/logout/"));
    assert_eq!(both.on_demo().0, "anonymous", "the demo sees Django's logout");
    assert_eq!(both.session_files(), 0);
}

#[test]
fn a_rust_side_login_is_a_django_login() {
    let both = start(false);
    let b = &both.browser;
    b.goto(&both.demo.url("/"));
    let anonymous_key = b.cookie("sessionid").unwrap().value;

    both.demo_login("not the password");
    assert!(b.has("error"), "a wrong password is refused");
    both.demo_login(DJANGO_PASSWORD);
    assert_eq!(b.text("user"), DJANGO_USER, "the demo's session page after its login");
    let key = b.cookie("sessionid").unwrap().value;
    assert_ne!(key, anonymous_key, "login cycles the key");
    assert!(!both.tmp.path().join("sessions").join(format!("sessionid{anonymous_key}")).exists());

    let info = both.django.user_info(DJANGO_USER);
    let (user, data) = both.on_django();
    assert_eq!(user, DJANGO_USER, "Django's request.user is alice: {data}");
    assert_eq!(data["_auth_user_id"], info["id"]);
    assert_eq!(data["_auth_user_backend"], info["backend"]);
    assert_eq!(data["_auth_user_hash"], info["session_auth_hash"], "Django's get_session_auth_hash");
    assert_eq!(data["counter"], 1, "the anonymous session's data moved with the new key");

    // A password change on Django invalidates the hash: both log the user out.
    both.django.manage(&["setup_site", DJANGO_USER, "a-new-password-123"]);
    assert_eq!(both.on_django().0, "anonymous", "Django flushes the stale login");
}

#[test]
fn expire_at_browser_close_drops_the_login_with_the_browser() {
    let mut both = start(true);
    both.django_login();
    both.browser.goto(&both.demo.url("/"));
    assert_eq!(both.browser.text("count"), "1");
    let cookie = both.browser.cookie("sessionid").unwrap();
    assert_eq!(cookie.expiry, None, "a browser-session cookie from the demo: {cookie:?}");

    both.browser.restart();
    both.browser.goto(&both.demo.url("/"));
    assert_eq!(both.browser.text("user"), "anonymous", "the login ended with the browser");
    assert_eq!(both.browser.text("count"), "1", "a new session");
    assert_eq!(both.on_django().0, "anonymous");
}

#[test]
fn through_redis_a_django_login_is_seen_by_the_rust_app_and_data_flows_both_ways() {
    let both = start_on_redis();
    let key = both.django_login();
    assert!(both.in_redis(&key), "Django's login is a Redis key");
    assert_eq!(both.session_files(), 0, "and no file");
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
    assert_eq!(both.browser.cookie("sessionid").unwrap().value, key, "one session throughout");
    assert_eq!(both.redis_keys(), 1, "one key in Redis");

    // The counter: the demo's writes on Django's session, read by Django.
    both.browser.count_visits(&both.demo.url("/"), 2, DJANGO_USER);
    assert_eq!(both.on_django().1["counter"], 2);
}

#[test]
fn through_redis_logging_out_on_either_side_logs_out_of_both() {
    let both = start_on_redis();
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
    assert!(!both.in_redis(&key), "and the Redis key");
    assert_eq!(both.on_django().0, "anonymous", "Django sees the logout");

    // Out in Django.
    let key = both.django_login();
    assert_eq!(both.on_demo().0, DJANGO_USER);
    b.goto(&both.django.url("/django/logout/"));
    assert!(!both.in_redis(&key), "Django's flush deletes the Redis key");
    assert_eq!(both.on_demo().0, "anonymous", "the demo sees Django's logout");
    assert_eq!(both.redis_keys(), 0, "no session left, none brought back");
}

#[test]
fn through_redis_a_rust_side_login_is_a_django_login() {
    let both = start_on_redis();
    let b = &both.browser;
    b.goto(&both.demo.url("/"));
    let anonymous_key = b.cookie("sessionid").unwrap().value;
    assert!(both.in_redis(&anonymous_key));

    both.demo_login(DJANGO_PASSWORD);
    assert_eq!(b.text("user"), DJANGO_USER, "the demo's session page after its login");
    let key = b.cookie("sessionid").unwrap().value;
    assert_ne!(key, anonymous_key, "login cycles the key");
    assert!(!both.in_redis(&anonymous_key), "the old key is gone from Redis");
    assert!(both.in_redis(&key));

    let info = both.django.user_info(DJANGO_USER);
    let (user, data) = both.on_django();
    assert_eq!(user, DJANGO_USER, "Django's request.user is alice: {data}");
    assert_eq!(data["_auth_user_id"], info["id"]);
    assert_eq!(data["_auth_user_backend"], info["backend"]);
    assert_eq!(data["_auth_user_hash"], info["session_auth_hash"]);
    assert_eq!(data["counter"], 1, "the anonymous session's data moved with the new key");
}

#[test]
fn through_redis_an_expiry_set_on_either_side_is_honoured_by_the_other() {
    let both = start_on_redis();
    let key = both.django_login();
    let pttl = || -> i64 { both.redis.as_ref().unwrap().cli(&["pttl", &format!(":1:django.contrib.sessions.cache{key}")]).parse().unwrap() };
    both.expiry_both_ways(
        &|| assert!((295_000..=300_000).contains(&pttl()), "the demo's set_expiry(300) is the cache TTL: {} ms", pttl()),
        // Django's cache deletes a key whose expiry is past.
        &|| assert!(!both.in_redis(&key)),
    );
}
