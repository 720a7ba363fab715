//! `TowerSessionsStore`: tower-sessions' store contract over the component,
//! in Django's file format.

use axum::body::Body;
use axum::http::{header, Request};
use axum::routing::get;
use axum::Router;
use sessionbox::{Loaded, Settings, Store};
use sessionbox_tower::tower_sessions_store::key_for;
use sessionbox_tower::TowerSessionsStore;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;
use tower_sessions::session::{Id, Record};
use tower_sessions::{ExpiredDeletion, SessionManagerLayer, SessionStore};

use crate::support::django;

const SECRET: &str = "tower-sessions test secret";

fn open() -> (tempfile::TempDir, Store, TowerSessionsStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("sessions"), Settings::new(SECRET)).unwrap();
    (dir, store.clone(), TowerSessionsStore::new(store))
}

fn record(data: serde_json::Value, expires_in: Duration) -> Record {
    let data: HashMap<String, serde_json::Value> = serde_json::from_value(data).unwrap();
    // Whole microseconds: Django's datetimes (and so the file) hold no finer.
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    Record { id: Id::default(), data, expiry_date: now + expires_in }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_in_djangos_format() {
    let (_dir, store, ts) = open();
    let mut rec = record(serde_json::json!({"user": "alice", "n": 1}), Duration::hours(2));
    ts.create(&mut rec).await.unwrap();
    let key = key_for(&rec.id);
    assert!(key.len() == 32 && key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{key}");

    let loaded = ts.load(&rec.id).await.unwrap().expect("found");
    assert_eq!(loaded, rec, "data and expiry come back exactly");
    // The file is a Django session: the expiry is Django's `_session_expiry`.
    let Loaded::Found { data, expires_at } = store.load(&key).unwrap() else { panic!("not a sessionbox session") };
    assert_eq!(data["user"], "alice");
    assert!(data["_session_expiry"].as_str().unwrap().ends_with("+00:00"), "{data:?}");
    assert_eq!(OffsetDateTime::from(expires_at), rec.expiry_date);

    rec.data.insert("n".into(), 2.into());
    rec.expiry_date += Duration::hours(1);
    ts.save(&rec).await.unwrap();
    assert_eq!(ts.load(&rec.id).await.unwrap().as_ref(), Some(&rec));

    ts.delete(&rec.id).await.unwrap();
    assert_eq!(ts.load(&rec.id).await.unwrap(), None);
    ts.delete(&rec.id).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_takes_a_new_id_when_its_id_is_taken() {
    let (_dir, store, ts) = open();
    let taken = Id::default();
    let mut first = record(serde_json::json!({"owner": "first"}), Duration::hours(1));
    first.id = taken;
    ts.create(&mut first).await.unwrap();
    let mut second = record(serde_json::json!({"owner": "second"}), Duration::hours(1));
    second.id = taken;
    ts.create(&mut second).await.unwrap();
    assert_ne!(second.id, taken, "a new id");
    assert_eq!(ts.load(&taken).await.unwrap().unwrap().data["owner"], "first", "the first was not overwritten");
    assert_eq!(ts.load(&second.id).await.unwrap().unwrap().data["owner"], "second");
    assert_eq!(store.load(&key_for(&second.id)).unwrap().into_data().unwrap()["owner"], "second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_after_a_delete_does_not_bring_the_session_back() {
    let (_dir, _store, ts) = open();
    let mut rec = record(serde_json::json!({"user": "alice"}), Duration::hours(1));
    ts.create(&mut rec).await.unwrap();
    ts.delete(&rec.id).await.unwrap(); // a logout in another request
    ts.save(&rec).await.unwrap();
    assert_eq!(ts.load(&rec.id).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_records_are_gone_and_swept() {
    let (dir, _store, ts) = open();
    let mut old = record(serde_json::json!({"a": 1}), Duration::seconds(-5));
    ts.create(&mut old).await.unwrap();
    let mut live = record(serde_json::json!({"a": 2}), Duration::hours(1));
    ts.create(&mut live).await.unwrap();
    let files = || std::fs::read_dir(dir.path().join("sessions")).unwrap().count();
    assert_eq!(files(), 2);
    ts.delete_expired().await.unwrap();
    assert_eq!(files(), 1);
    assert!(ts.load(&live.id).await.unwrap().is_some());

    // The periodic task sweeps on its own.
    let mut old = record(serde_json::json!({"a": 3}), Duration::seconds(-5));
    ts.create(&mut old).await.unwrap();
    let task = tokio::spawn(ts.clone().continuously_delete_expired(tokio::time::Duration::from_millis(50)));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while files() != 1 {
        assert!(std::time::Instant::now() < deadline, "the deletion task never swept");
        tokio::time::sleep(tokio::time::Duration::from_millis(20)).await;
    }
    task.abort();
    assert_eq!(ts.load(&old.id).await.unwrap(), None);
}

/// Django's own `clearsessions` and `SessionStore` work on the files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn djangos_clearsessions_and_the_cli_read_the_files() {
    let (dir, _store, ts) = open();
    let sessions = dir.path().join("sessions");
    let mut old = record(serde_json::json!({"a": 1}), Duration::seconds(-5));
    ts.create(&mut old).await.unwrap();
    let mut live = record(serde_json::json!({"user": "alice"}), Duration::hours(1));
    ts.create(&mut live).await.unwrap();
    let mut django = django_file_engine(&sessions);
    django.ok(&serde_json::json!({"op": "clearsessions"}));
    let key = key_for(&live.id);
    let loaded = django.ok(&serde_json::json!({"op": "load", "key": key}));
    let expiry = django.ok(&serde_json::json!({"op": "expiry", "key": key}));
    let seen = serde_json::json!({"user": loaded["data"]["user"], "expiry": expiry["date"]});
    let expected = live.expiry_date.format(&time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(seen["user"], "alice");
    let django_expiry = OffsetDateTime::parse(seen["expiry"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(django_expiry, live.expiry_date, "Django's get_expiry_date() (ours: {expected})");
    let left: Vec<_> = std::fs::read_dir(&sessions).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(left, vec![format!("sessionid{}", key_for(&live.id))], "clearsessions deleted the expired one only");

    let cli = crate::support::sessionbox_on(&sessions, SECRET)
        .args(["get", &key_for(&live.id)])
        .env("SESSIONBOX_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    assert!(String::from_utf8_lossy(&cli.stdout).contains(r#""user":"alice""#), "{}", String::from_utf8_lossy(&cli.stdout));
}

/// The whole tower-sessions stack: its layer, its cookie, this store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_tower_sessions_layer() {
    let (dir, _store, ts) = open();
    let app = Router::new()
        .route(
            "/",
            get(|s: tower_sessions::Session| async move {
                let n: u64 = s.get("n").await.unwrap().unwrap_or(0) + 1;
                s.insert("n", n).await.unwrap();
                n.to_string()
            }),
        )
        .layer(SessionManagerLayer::new(ts));
    let res = app.clone().oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert_eq!(std::fs::read_dir(dir.path().join("sessions")).unwrap().count(), 1);
    let res = app.oneshot(Request::get("/").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await.unwrap();
    let body = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    assert_eq!(&body[..], b"2");
}

/// An expiry before year 1 (tower-sessions' `OffsetDateTime` reaches back to
/// year -9999) is long past: the record is expired, not alive. It used to be
/// written as `-0100-…` or `0000-…`, which neither sessionbox nor Python's
/// `datetime` can read: sessionbox then took the default age (the session
/// lived two more weeks) and Django's `load` raised `ValueError` (a 500, and
/// `clearsessions` stopped at that file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiry_before_year_one_is_expired_and_django_can_read_the_file() {
    let (dir, _store, ts) = open();
    for year in [-100, 0] {
        let mut rec = record(serde_json::json!({"user": "alice"}), Duration::ZERO);
        rec.expiry_date = time::Date::from_calendar_date(year, time::Month::June, 1).unwrap().midnight().assume_utc();
        // The id's top bit set, as half of all random ids have it.
        rec.id = Id(i128::MIN + 1000 + year as i128);
        ts.create(&mut rec).await.unwrap();
        assert_eq!(ts.load(&rec.id).await.unwrap(), None, "year {year}: expired");
    }
    let mut rec = record(serde_json::json!({"user": "bob"}), Duration::ZERO);
    rec.expiry_date = time::Date::from_calendar_date(-100, time::Month::June, 1).unwrap().midnight().assume_utc();
    ts.create(&mut rec).await.unwrap();
    let loaded = django_file_engine(&dir.path().join("sessions")).ok(&serde_json::json!({"op": "load", "key": key_for(&rec.id)}));
    assert_eq!(loaded["data"], serde_json::json!({}), "Django sees it expired too");
}

/// Django's file backend on `sessions` with this file's secret.
fn django_file_engine(sessions: &std::path::Path) -> django::Driver {
    django::Driver::start(&django::django_python(), &serde_json::json!({"engine": "file", "secret_key": SECRET, "dir": sessions}))
}

/// The adapter over Django's `db` engine (SQLite): the same round trip,
/// the expiry exact to the microsecond though the table's TTL is read in
/// milliseconds (the adapter reads back the date it wrote).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_on_djangos_db_engine() {
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = sessionbox::kv::sql::sqlite::SqliteOptions::new(dir.path().join("db.sqlite3"));
    sqlite.create_table = true;
    let store = Store::open_sqlite(&sqlite, Settings::new(SECRET), sessionbox::Options::default()).unwrap();
    let ts = TowerSessionsStore::new(store.clone());
    let mut rec = record(serde_json::json!({"user": "alice"}), Duration::hours(2));
    ts.create(&mut rec).await.unwrap();
    assert_eq!(ts.load(&rec.id).await.unwrap().as_ref(), Some(&rec));
    rec.data.insert("n".into(), 2.into());
    ts.save(&rec).await.unwrap();
    assert_eq!(ts.load(&rec.id).await.unwrap().as_ref(), Some(&rec));
    ts.delete(&rec.id).await.unwrap();
    assert_eq!(ts.load(&rec.id).await.unwrap(), None);
    // A save after the delete does not bring the row back.
    ts.save(&rec).await.unwrap();
    assert_eq!(store.load(&key_for(&rec.id)).unwrap(), Loaded::Missing);
}
