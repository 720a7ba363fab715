//! Interop with Django's `signed_cookies` session engine: the session is
//! the cookie's value. A real Django 5.2 (`support::django::Driver`, engine
//! `signed_cookies`) and sessionbox (`Store::open_signed_cookies`, through
//! the component; the CLI's `encode-cookie`/`decode-cookie`; the tower
//! layer) read each other's cookies.

use crate::support::django::{self, expected_json, Driver};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use sessionbox::{Loaded, Options, Settings, Store};
use sessionbox_tower::{Session, SessionLayer};
use std::time::Duration;
use tower::ServiceExt;

const SECRET: &str = "cookie-interop-secret-9a1f";
const OLD_SECRET: &str = "cookie-interop-old-secret-2b7d";

fn django_with(secret: &str, fallbacks: &[&str], cookie_age: u64) -> Driver {
    let mut driver = Driver::start(
        &django::django_python(),
        &json!({"engine": "signed_cookies", "secret_key": secret, "fallback_keys": fallbacks, "cookie_age": cookie_age}),
    );
    driver.ok(&json!({"op": "info"}));
    driver
}

fn django() -> Driver {
    django_with(SECRET, &[], sessionbox::DEFAULT_COOKIE_AGE)
}

fn store_with(secret: &str, fallbacks: &[&str], cookie_age: u64) -> Store {
    let mut settings = Settings::new(secret);
    settings.fallback_keys = fallbacks.iter().map(|s| s.to_string()).collect();
    settings.cookie_age = cookie_age;
    Store::open_signed_cookies(settings, Options::default()).unwrap()
}

fn store() -> Store {
    store_with(SECRET, &[], sessionbox::DEFAULT_COOKIE_AGE)
}

fn key(result: &Value) -> String {
    result["key"].as_str().unwrap_or_else(|| panic!("no key in {result}")).to_owned()
}

#[test]
fn django_writes_every_plain_type_and_sessionbox_reads_it_exactly() {
    let mut django = django();
    let cookie = key(&django.ok(&json!({"op": "create", "expected": true})));
    let django_text = django.ok(&json!({"op": "load", "key": cookie, "text_only": true}))["data_json"].as_str().unwrap().to_owned();
    match store().load_json(&cookie).unwrap() {
        Loaded::Found { data, .. } => assert!(data == django_text, "sessionbox's reading of Django's cookie differs from Django's"),
        other => panic!("{other:?}"),
    }
    // The CLI too.
    let out = crate::support::sessionbox(SECRET).args(["--json", "python", "decode-cookie", &cookie]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).trim() == django_text, "the CLI's decode-cookie");
}

#[test]
fn sessionbox_writes_every_plain_type_and_django_reads_it_exactly() {
    let mut django = django();
    // 15 KB as a cookie: more than a browser keeps, but the codec's
    // business is the format (the web layer refuses to send it).
    let cookie = store().create_json(&expected_json()).unwrap();
    let seen = django.ok(&json!({"op": "load", "key": cookie, "expected": true}));
    assert_eq!(seen["differences"], json!([]), "Django's reading of sessionbox's cookie");
    // What the CLI encodes, Django reads.
    let out = crate::support::sessionbox(SECRET).args(["encode-cookie", r#"{"user": "alice", "n": 1}"#]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cookie = serde_json::from_slice::<Value>(&out.stdout).unwrap()["cookie"].as_str().unwrap().to_owned();
    assert_eq!(django.ok(&json!({"op": "load", "key": cookie}))["data"], json!({"user": "alice", "n": 1}));
}

#[test]
fn a_cookie_older_than_the_cookie_age_is_dead_on_both_sides() {
    let mut django = django_with(SECRET, &[], 2);
    let store = store_with(SECRET, &[], 2);
    let from_django = key(&django.ok(&json!({"op": "create", "data": {"who": "django"}})));
    let from_us = store.create(&crate::support::data(json!({"who": "sessionbox"}))).unwrap();
    for cookie in [&from_django, &from_us] {
        assert!(matches!(store.load(cookie).unwrap(), Loaded::Found { .. }));
        assert_ne!(django.ok(&json!({"op": "load", "key": cookie}))["data"], json!({}));
    }
    // Django's max_age check is on whole seconds of the signing time.
    std::thread::sleep(Duration::from_millis(3100));
    for cookie in [&from_django, &from_us] {
        assert_eq!(store.load(cookie).unwrap(), Loaded::Expired);
        assert_eq!(django.ok(&json!({"op": "load", "key": cookie}))["data"], json!({}), "Django: SignatureExpired");
    }
}

/// docs/SPEC.md: Django's signed_cookies checks only the cookie age
/// (#19201); sessionbox also ends a cookie at its own `_session_expiry`.
#[test]
fn deviation_a_cookies_own_expiry_ends_it_in_sessionbox_and_not_in_django() {
    let mut django = django();
    // Counted from the signing time, which the cookie holds in whole seconds.
    let cookie = key(&django.ok(&json!({"op": "create", "data": {"who": "django"}, "expiry": 3})));
    assert!(matches!(store().load(&cookie).unwrap(), Loaded::Found { .. }));
    std::thread::sleep(Duration::from_millis(3200));
    assert_eq!(store().load(&cookie).unwrap(), Loaded::Expired, "sessionbox: expired at its _session_expiry");
    assert_eq!(django.ok(&json!({"op": "load", "key": cookie}))["data"]["who"], "django", "Django: still read");
}

#[test]
fn fallback_secrets_read_old_cookies_and_a_save_re_signs_them() {
    let mut old_django = django_with(OLD_SECRET, &[], sessionbox::DEFAULT_COOKIE_AGE);
    let old_cookie = key(&old_django.ok(&json!({"op": "create", "data": {"user": "alice"}})));
    assert_eq!(store().load(&old_cookie).unwrap(), Loaded::BadSignature, "no fallback: not ours");
    let rotated = store_with(SECRET, &[OLD_SECRET], sessionbox::DEFAULT_COOKIE_AGE);
    let mut session = rotated.session(Some(&old_cookie));
    assert_eq!(session.get("user").unwrap(), Some(json!("alice")));
    session.insert("n", 1).unwrap();
    session.save(false).unwrap();
    let new_cookie = session.key().unwrap().to_owned();
    // Django with the new secret and no fallback reads the re-signed one.
    let mut new_django = django();
    assert_eq!(new_django.ok(&json!({"op": "load", "key": new_cookie}))["data"], json!({"user": "alice", "n": 1}));
    assert_eq!(new_django.ok(&json!({"op": "load", "key": old_cookie}))["data"], json!({}));
}

#[test]
fn cycle_key_and_logout_on_either_side() {
    let mut django = django();
    let store = store();
    let cookie = store.create(&crate::support::data(json!({"user": "alice"}))).unwrap();
    // Django's login: cycle_key, then the middleware's save.
    let cycled = key(&django.ok(&json!({"op": "cycle_key", "key": cookie, "save": true})));
    assert_eq!(store.load(&cycled).unwrap().into_data(), Some(crate::support::data(json!({"user": "alice"}))));
    let mut ours = store.session(Some(&cycled));
    ours.cycle_key().unwrap();
    let again = ours.key().unwrap().to_owned();
    assert_eq!(django.ok(&json!({"op": "load", "key": again}))["data"], json!({"user": "alice"}));
    // Logout: Django's flush leaves an empty key (the cookie is deleted).
    let flushed = django.ok(&json!({"op": "flush", "key": again}));
    assert_eq!(flushed["key"], Value::Null);
    ours.flush().unwrap();
    assert_eq!(ours.key(), None);
}

async fn put(session: Session, body: String) -> Result<&'static str, sessionbox_tower::Error> {
    session.insert("blob", body).await?;
    Ok("stored")
}

async fn get_blob(session: Session) -> Result<String, sessionbox_tower::Error> {
    Ok(session.get::<String>("blob").await?.unwrap_or_default())
}

/// The tower layer on a signed-cookie store: the cookie Django reads, and a
/// session past the browser's 4096 bytes refused with a 500 that says why,
/// never a cookie the browser would drop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_layer_sends_cookies_django_reads_and_refuses_oversized_ones() {
    let store = store();
    let app = Router::new().route("/put", axum::routing::post(put)).route("/get", get(get_blob)).layer(SessionLayer::new(store));
    let response = app.clone().oneshot(Request::post("/put").body(Body::from("small")).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response.headers().get(header::SET_COOKIE).expect("a cookie").to_str().unwrap().to_owned();
    let value = set_cookie.split(';').next().unwrap().strip_prefix("sessionid=").unwrap().to_owned();
    let data = tokio::task::spawn_blocking(move || django().ok(&json!({"op": "load", "key": value}))["data"].clone()).await.unwrap();
    assert_eq!(data, json!({"blob": "small"}));
    // The cookie comes back and is read.
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let response = app.clone().oneshot(Request::get("/get").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await.unwrap();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    assert_eq!(&body[..], b"small");

    // Letters zlib shrinks little: the signed value passes 4096 bytes.
    let big = crate::support::letters(6000, 7);
    let (response, logs) = crate::support::logs::capture(|| {
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(app.clone().oneshot(Request::post("/put").body(Body::from(big)).unwrap()))
        })
    });
    let response = response.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.headers().get(header::SET_COOKIE).is_none(), "no cookie a browser would drop");
    assert!(logs.iter().any(|(_, _, m)| m.contains("over the 4096 a browser keeps")), "{logs:?}");
}
