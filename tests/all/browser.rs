//! Browser tests: a real headless Chromium against a real Django server
//! (`support::web`), sharing the session directory with sessionbox.
//!
//! These are the ground truth the Rust app's shared-login tests build on:
//! what cookie Django's login really leaves in a browser, what file it
//! writes, and that sessionbox reads that file as Django wrote it.
//!
//! Nothing skips: without Chromium and chromedriver (`.ci/run` installs
//! them) every test here fails, saying what to install.

use crate::support::web::{unix_now, Browser, DjangoServer, DJANGO_BACKEND, DJANGO_PASSWORD, DJANGO_USER};
use serde_json::{json, Value};
use sessionbox::{Data, Loaded, Settings, Store};
use std::path::Path;

const SECRET: &str = "browser-secret-5b0d7e19c4a2";

/// Logs in through Django's login page; returns the `sessionid` cookie's
/// value (the session key) from the browser.
fn log_in(browser: &Browser, django: &DjangoServer) -> String {
    browser.goto(&django.url("/django/login/"));
    browser.submit_form(&[("username", DJANGO_USER), ("password", DJANGO_PASSWORD)], "submit");
    assert_eq!(browser.current_url(), django.url("/django/whoami/"), "Django's login redirects to whoami");
    assert_eq!(browser.text("user"), DJANGO_USER, "whoami after login");
    browser.cookie("sessionid").expect("a sessionid cookie after login").value
}

/// The session data whoami shows (Django's view of the session).
fn django_session(browser: &Browser) -> Value {
    let text = browser.text("session");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("#session is not JSON ({e}): {text:?}"))
}

/// The session data sessionbox finds for `key`. (The one place that knows
/// the shape of `Loaded::Found`.)
fn sessionbox_load(store: &Store, key: &str) -> Data {
    match store.load(key).unwrap_or_else(|e| panic!("sessionbox loading {key}: {e}")) {
        Loaded::Found { data, .. } => data,
        other => panic!("sessionbox did not find the session Django wrote: {other:?}"),
    }
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", path.display());
    assert!(bytes.len() > 1000, "{} is only {} bytes", path.display(), bytes.len());
}

#[test]
fn django_login_in_chromium_sets_an_httponly_lax_cookie_naming_the_session_file() {
    const AGE: i64 = 3600;
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path().join("sessions");
    let django = DjangoServer::start(&sessions, SECRET, &[("SESSION_COOKIE_AGE", &AGE.to_string())]);
    let browser = Browser::start();

    browser.goto(&django.url("/django/whoami/"));
    assert_eq!(browser.text("user"), "anonymous");
    assert!(browser.cookie("sessionid").is_none(), "no session before login");

    let before = unix_now();
    let key = log_in(&browser, &django);
    let after = unix_now();

    let cookie = browser.cookie("sessionid").unwrap();
    assert!(cookie.http_only, "{cookie:?}");
    assert!(!cookie.secure, "{cookie:?}");
    assert_eq!(cookie.same_site.as_deref(), Some("Lax"), "{cookie:?}");
    assert_eq!(cookie.path.as_deref(), Some("/"), "{cookie:?}");
    let expiry = cookie.expiry.unwrap_or_else(|| panic!("a persistent cookie: {cookie:?}"));
    assert!(
        (before + AGE - 2..=after + AGE + 2).contains(&expiry),
        "cookie expiry {expiry} not about now + {AGE} ({before}..{after})"
    );

    assert_eq!(browser.text("session-key"), key);
    let file = sessions.join(format!("sessionid{key}"));
    assert!(file.is_file(), "no session file {}", file.display());
    assert_eq!(std::fs::read_dir(&sessions).unwrap().count(), 1, "one session file");
    assert_eq!(browser.text("expiry-age"), AGE.to_string());
    let data = django_session(&browser);
    assert_eq!(data["_auth_user_hash"], json!(django.session_auth_hash(DJANGO_USER)), "{data}");

    let png = tmp.path().join("whoami.png");
    browser.screenshot(&png);
    assert_png(&png);

    browser.goto(&django.url("/django/logout/"));
    assert_eq!(browser.text("user"), "anonymous");
    assert!(browser.cookie("sessionid").is_none(), "logout deletes the cookie: {:?}", browser.cookies());
    assert!(!file.exists(), "logout deletes the session file");
    browser.goto(&django.url("/django/whoami/"));
    assert_eq!(browser.text("user"), "anonymous");
}

#[test]
fn sessionbox_loads_the_login_django_wrote_for_the_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path().join("sessions");
    let django = DjangoServer::start(&sessions, SECRET, &[]);
    let browser = Browser::start();
    let key = log_in(&browser, &django);
    browser.goto(&django.url("/django/set/?key=colour&value=teal"));
    assert_eq!(browser.text("result"), "ok");
    browser.goto(&django.url("/django/whoami/"));
    let django_data = django_session(&browser);

    let store = Store::open(&sessions, Settings::new(SECRET)).unwrap();
    let data = sessionbox_load(&store, &key);
    let user = django.user_info(DJANGO_USER);
    assert_eq!(data.get("_auth_user_id"), Some(&user["id"]), "{data:?}");
    assert_eq!(data.get("_auth_user_backend"), Some(&json!(DJANGO_BACKEND)), "{data:?}");
    assert_eq!(data.get("_auth_user_hash"), Some(&user["session_auth_hash"]), "{data:?}");
    assert_eq!(data.get("colour"), Some(&json!("teal")), "{data:?}");
    assert_eq!(Value::Object(data), django_data, "sessionbox and Django see the same data");
}

/// Chromium restarted on the same profile keeps a persistent `sessionid`
/// (the login survives) and drops one Django made a session cookie with
/// `set_expiry(0)` (the login is gone): what expire-at-browser-close tests
/// rely on.
#[test]
fn chromium_restart_keeps_persistent_logins_and_drops_browser_session_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path().join("sessions");
    let django = DjangoServer::start(&sessions, SECRET, &[]);
    let mut browser = Browser::start();
    let key = log_in(&browser, &django);

    browser.restart();
    browser.goto(&django.url("/django/whoami/"));
    assert_eq!(browser.text("user"), DJANGO_USER, "a persistent login survives a restart");
    assert_eq!(browser.cookie("sessionid").map(|c| c.value), Some(key.clone()));

    browser.goto(&django.url("/django/expiry/?seconds=0"));
    assert_eq!(browser.text("result"), "ok");
    let cookie = browser.cookie("sessionid").expect("sessionid after set_expiry(0)");
    assert_eq!(cookie.value, key);
    assert_eq!(cookie.expiry, None, "set_expiry(0) makes a browser-session cookie: {cookie:?}");
    browser.goto(&django.url("/django/whoami/"));
    assert_eq!(browser.text("expire-at-browser-close"), "true");

    browser.restart();
    browser.goto(&django.url("/django/whoami/"));
    assert_eq!(browser.text("user"), "anonymous", "a browser-session login ends with the browser");
    assert!(browser.cookie("sessionid").is_none(), "{:?}", browser.cookies());
    assert!(sessions.join(format!("sessionid{key}")).is_file(), "the file stays until it expires or is swept");
}
