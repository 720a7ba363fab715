//! A found session carries the moment it expires (`Loaded::Found`'s
//! `expires_at`, `Session::expires_at`), computed by the component: its
//! file's last write plus the cookie age, or its own `_session_expiry`;
//! clamped to 9999-12-31T23:59:59Z (Python's `datetime.max`, to the second)
//! for a session that never expires. Django's own view of the same sessions
//! is in `django_interop.rs`, the other runtimes' in `runtimes.rs`.

use serde_json::json;
use sessionbox::{latest_expiry, Data, Loaded, Settings, Store};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tempfile::TempDir;

const COOKIE_AGE: u64 = 3600;

/// A store over a fresh directory with a cookie age of an hour (not
/// Django's default, so a wrong default would show).
fn setup() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::new("expiry-test-secret");
    settings.cookie_age = COOKIE_AGE;
    let store = Store::open(dir.path(), settings).unwrap();
    (dir, store)
}

fn file(store: &Store, key: &str) -> PathBuf {
    store.dir().unwrap().join(format!("sessionid{key}"))
}

fn mtime(store: &Store, key: &str) -> SystemTime {
    std::fs::metadata(file(store, key)).unwrap().modified().unwrap()
}

fn set_mtime(store: &Store, key: &str, to: SystemTime) {
    std::fs::File::options().write(true).open(file(store, key)).unwrap().set_modified(to).unwrap();
}

/// The moment `secs` (and `nanos`) after the epoch.
fn at(secs: u64, nanos: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(secs, nanos)
}

/// What `load` reports for `key`, which must be a live session.
fn expires_at(store: &Store, key: &str) -> SystemTime {
    match store.load(key).unwrap() {
        Loaded::Found { expires_at, .. } => expires_at,
        other => panic!("session {key} loaded as {other:?}"),
    }
}

fn secs_apart(a: SystemTime, b: SystemTime) -> f64 {
    match a.duration_since(b) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => e.duration().as_secs_f64(),
    }
}

#[test]
fn by_default_a_session_expires_cookie_age_after_its_last_save() {
    let (_dir, store) = setup();
    let data: Data = crate::support::data(json!({"user": "42"}));
    let key = store.create(&data).unwrap();
    let loaded = store.load(&key).unwrap();
    assert_eq!(loaded.data(), Some(&data));
    let expiry = *loaded.expires_at().unwrap();
    // Exactly the file's last write plus the cookie age, to the nanosecond...
    assert_eq!(expiry, mtime(&store, &key) + Duration::from_secs(COOKIE_AGE));
    // ...which, just after the save, is within a second of now plus it.
    assert!(secs_apart(expiry, SystemTime::now() + Duration::from_secs(COOKIE_AGE)) < 1.0, "{expiry:?}");
    // load_json reports the same moment.
    assert_eq!(store.load_json(&key).unwrap().expires_at(), Some(&expiry));

    // Sliding: a file last written 10 minutes ago expires 10 minutes sooner,
    // and a save moves the expiry on again.
    let earlier = SystemTime::now() - Duration::from_secs(600);
    set_mtime(&store, &key, earlier);
    assert_eq!(expires_at(&store, &key), earlier + Duration::from_secs(COOKIE_AGE));
    store.save(&key, &data, false).unwrap();
    let moved = expires_at(&store, &key);
    assert_eq!(moved, mtime(&store, &key) + Duration::from_secs(COOKIE_AGE));
    assert!(secs_apart(moved, SystemTime::now() + Duration::from_secs(COOKIE_AGE)) < 1.0, "{moved:?}");
}

#[test]
fn seconds_in_session_expiry_count_from_the_files_last_write() {
    let (_dir, store) = setup();
    for (expiry, after) in [("60", Duration::from_secs(60)), ("90.25", Duration::from_millis(90_250)), ("86400", Duration::from_secs(86_400))] {
        let key = store.create_json(&format!(r#"{{"_session_expiry":{expiry}}}"#)).unwrap();
        assert_eq!(expires_at(&store, &key), mtime(&store, &key) + after, "{expiry}");
    }
    // 0 (browser close) and null are the default.
    for expiry in ["0", "null"] {
        let key = store.create_json(&format!(r#"{{"_session_expiry":{expiry}}}"#)).unwrap();
        assert_eq!(expires_at(&store, &key), mtime(&store, &key) + Duration::from_secs(COOKIE_AGE), "{expiry}");
    }
}

#[test]
fn an_iso_time_in_session_expiry_is_the_moment_it_names() {
    let (_dir, store) = setup();
    // With an offset, microseconds kept.
    let key = store.create_json(r#"{"_session_expiry":"2031-02-03T04:05:06.123456+02:00"}"#).unwrap();
    assert_eq!(expires_at(&store, &key), at(1_927_850_706, 123_456_000));
    // The mtime plays no part.
    set_mtime(&store, &key, SystemTime::now() - Duration::from_secs(86_400));
    assert_eq!(expires_at(&store, &key), at(1_927_850_706, 123_456_000));
    // Without an offset: the latest instant the digits can denote (UTC-12).
    let key = store.create_json(r#"{"_session_expiry":"2031-02-03T04:05:06"}"#).unwrap();
    assert_eq!(expires_at(&store, &key), at(1_927_901_106, 0));
}

#[test]
fn a_session_that_never_expires_reports_python_datetime_max() {
    let (_dir, store) = setup();
    let max = at(253_402_300_799, 0);
    assert_eq!(latest_expiry(), max, "9999-12-31T23:59:59Z");
    for expiry in [
        "Infinity",
        // Past any SystemTime or datetime: clamped, never a panic.
        "1e300",
        "99999999999999999999999",
        "9223372036854775807",
        r#""9999-12-31T23:59:59.999999+00:00""#,
        r#""9999-12-31T23:59:59-12:00""#,
    ] {
        let key = store.create_json(&format!(r#"{{"_session_expiry":{expiry}}}"#)).unwrap();
        assert_eq!(expires_at(&store, &key), max, "{expiry}");
        assert_eq!(store.load_json(&key).unwrap().expires_at(), Some(&max), "{expiry}: load_json");
    }
    // The second before the clamp is reported as is.
    let key = store.create_json(r#"{"_session_expiry":"9999-12-31T23:59:58.5+00:00"}"#).unwrap();
    assert_eq!(expires_at(&store, &key), at(253_402_300_798, 500_000_000));
}

#[test]
fn an_empty_placeholder_expires_cookie_age_after_its_mtime() {
    let (_dir, store) = setup();
    let key = "placeholder0123456789";
    std::fs::write(file(&store, key), "").unwrap();
    let written = SystemTime::now() - Duration::from_secs(10);
    set_mtime(&store, key, written);
    assert_eq!(store.load(key).unwrap(), Loaded::Found { data: Data::new(), expires_at: written + Duration::from_secs(COOKIE_AGE) });
    // Even once older than the cookie age: still found, its expiry past.
    let old = SystemTime::now() - Duration::from_secs(2 * COOKIE_AGE);
    set_mtime(&store, key, old);
    assert_eq!(store.load_json(key).unwrap(), Loaded::Found { data: "{}".to_owned(), expires_at: old + Duration::from_secs(COOKIE_AGE) });
}

#[test]
fn no_other_outcome_carries_an_expiry() {
    let (_dir, store) = setup();
    assert_eq!(store.load("nosuchsession1").unwrap(), Loaded::Missing);
    let key = store.create_json(r#"{"_session_expiry":-1}"#).unwrap();
    let loaded = store.load(&key).unwrap();
    assert_eq!(loaded, Loaded::Expired);
    assert_eq!(loaded.expires_at(), None);
    assert_eq!(loaded.data(), None);
    // Signed with another secret.
    std::fs::write(file(&store, "tampered123"), "eyJhIjoxfQ:1r31eq:VDoz3q_CPuIfX082QS3lXvNvB9Hqf_apspxKtUHkO_o").unwrap();
    assert_eq!(store.load("tampered123").unwrap(), Loaded::BadSignature);
}

#[test]
fn session_expires_at_is_the_stored_expiry_as_loaded() {
    let (_dir, store) = setup();
    // A new session has loaded nothing.
    let mut session = store.session(None);
    assert_eq!(session.stored_expiry(), None);
    session.insert("u", 1).unwrap();
    session.save(false).unwrap();
    assert_eq!(session.stored_expiry(), None, "a create loads nothing");
    let key = session.key().unwrap().to_owned();

    // Loaded: the store's answer, which counts from the file's last write,
    // unlike expiry_date (Django's get_expiry_date), which counts from now.
    let written = SystemTime::now() - Duration::from_secs(600);
    set_mtime(&store, &key, written);
    let mut session = store.session(Some(&key));
    assert_eq!(session.stored_expiry(), None, "not loaded yet");
    assert_eq!(session.get("u").unwrap(), Some(1.into()));
    assert_eq!(session.stored_expiry(), Some(written + Duration::from_secs(COOKIE_AGE)));
    let from_now = session.expiry_date().unwrap();
    assert!(secs_apart(from_now, written + Duration::from_secs(COOKIE_AGE + 600)) < 5.0, "{from_now:?}");
    // A save writes a new file; expires_at still tells what was loaded.
    session.insert("u", 2).unwrap();
    session.save(false).unwrap();
    assert_eq!(session.stored_expiry(), Some(written + Duration::from_secs(COOKIE_AGE)));
    // Loading again (Django's `load`) reports the new file's expiry.
    session.load().unwrap();
    assert_eq!(session.stored_expiry(), Some(mtime(&store, &key) + Duration::from_secs(COOKIE_AGE)));
    // flush deletes the session: nothing to report.
    session.flush().unwrap();
    assert_eq!(session.stored_expiry(), None);

    // A missing or expired session loads as empty, with no expiry.
    let mut missing = store.session(Some("nosuchsession1"));
    assert!(missing.keys().unwrap().is_empty());
    assert_eq!(missing.stored_expiry(), None);
    let expired = store.create_json(r#"{"_session_expiry":-1}"#).unwrap();
    let mut expired = store.session(Some(&expired));
    assert!(expired.keys().unwrap().is_empty());
    assert_eq!(expired.stored_expiry(), None);

    // Never expires: the clamp.
    let never = store.create_json(r#"{"_session_expiry":Infinity}"#).unwrap();
    let mut never = store.session(Some(&never));
    never.load().unwrap();
    assert_eq!(never.stored_expiry(), Some(latest_expiry()));
}

/// `set_expiry` with a duration or a moment past what a Python `datetime`
/// holds saturates at 9999-12-31T23:59:59Z (a session that never expires in
/// practice), through a save and a load. `Expiry::In(Duration::MAX)` used
/// to panic ("overflow when adding duration to instant").
#[test]
fn an_expiry_past_year_9999_saturates_instead_of_panicking() {
    use sessionbox::Expiry;
    let (_dir, store) = setup();
    let far = UNIX_EPOCH + Duration::from_secs(1 << 40);
    for expiry in [Expiry::In(Duration::MAX), Expiry::In(Duration::from_secs(u64::MAX / 2)), Expiry::In(Duration::from_secs(1 << 40)), Expiry::At(far)] {
        let mut session = store.session(None);
        session.insert("u", "1").unwrap();
        session.set_expiry(expiry).unwrap();
        assert_eq!(session.get(sessionbox::EXPIRY_KEY).unwrap(), Some(json!("9999-12-31T23:59:59+00:00")), "{expiry:?}");
        assert_eq!(session.expiry_date().unwrap(), latest_expiry(), "{expiry:?}");
        assert!(session.expiry_age().unwrap() > 200 * 365 * 86_400, "{expiry:?}");
        session.save(false).unwrap();
        let key = session.key().unwrap().to_owned();
        assert_eq!(expires_at(&store, &key), latest_expiry(), "{expiry:?}");
        assert_eq!(store.session(Some(&key)).expiry_date().unwrap(), latest_expiry(), "{expiry:?}");
    }
    // An int past any date, and the floats Python writes for infinities: a
    // date within the years 1 to 9999, never a panic.
    for (expiry, want) in [(json!(i64::MAX), latest_expiry()), (json!(i64::MIN), UNIX_EPOCH - Duration::from_secs(62_135_596_800))] {
        let mut session = store.session(None);
        session.insert(sessionbox::EXPIRY_KEY, expiry.clone()).unwrap();
        assert_eq!(session.expiry_date().unwrap(), want, "{expiry}");
    }
}
