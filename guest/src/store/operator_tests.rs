//! The operator operations over the native directory and the in-memory
//! key-value store: scan, update, touch, import and resign.

use crate::fuzz::{MemKv, MemValue};
use crate::native::{NativeDir, NativeSystem};
use crate::{Change, Error, Format, Imported, Kv, Loaded, Resigned, SessionStore, Settings, Time};
use std::fs;
use std::time::{Duration, SystemTime};

fn settings() -> Settings {
    Settings::new("test-secret")
}

fn dir_store(s: &Settings) -> (tempfile::TempDir, SessionStore<crate::Files<NativeDir>, NativeSystem>) {
    let tmp = tempfile::tempdir().unwrap();
    let store = SessionStore::new(NativeDir::open(tmp.path()).unwrap(), NativeSystem, s.clone()).unwrap();
    (tmp, store)
}

fn kv_store(s: &Settings, format: Format) -> (MemKv, SessionStore<Kv<MemKv>, NativeSystem>) {
    let kv = MemKv::default();
    (kv.clone(), SessionStore::with_storage(Kv::new(kv, format), NativeSystem, s.clone()).unwrap())
}

fn scan_all<B: crate::Storage>(store: &SessionStore<B, NativeSystem>, user: Option<&str>) -> (Vec<crate::SessionInfo>, crate::ScanReport) {
    let (mut sessions, mut report, mut cursor) = (Vec::new(), crate::ScanReport::default(), None);
    loop {
        let batch = store.scan(user, cursor.as_deref(), None, Some(0)).unwrap();
        sessions.extend(batch.sessions);
        report.add(batch.report);
        match batch.cursor {
            Some(next) => cursor = Some(next),
            None => return (sessions, report),
        }
    }
}

#[test]
fn scan_finds_a_users_sessions_and_counts_the_rest() {
    let (tmp, store) = dir_store(&settings());
    let mine: Vec<String> = (0..3).map(|_| store.create(r#"{"_auth_user_id":"42"}"#).unwrap()).collect();
    store.create(r#"{"_auth_user_id":"420"}"#).unwrap();
    store.create(r#"{"_auth_user_id":42}"#).unwrap();
    store.create(r#"{"cart":1}"#).unwrap();
    let forged = SessionStore::new(NativeDir::open(tmp.path()).unwrap(), NativeSystem, Settings::new("other")).unwrap();
    forged.create(r#"{"_auth_user_id":"42"}"#).unwrap();
    fs::write(tmp.path().join("sessionidtmp_out_x"), "junk").unwrap();
    let (found, report) = scan_all(&store, Some("42"));
    let mut keys: Vec<String> = found.iter().map(|s| s.key.clone()).collect();
    keys.sort();
    let mut expected = mine.clone();
    // A number is its text: Django's str(pk).
    expected.push(found.iter().find(|s| !mine.contains(&s.key)).unwrap().key.clone());
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(found.len(), 4);
    assert_eq!((report.scanned, report.live, report.bad_signature, report.expired), (7, 6, 1, 0), "{report:?}");
    assert!(found.iter().all(|s| s.signed_by == Some(0) && s.written_at.is_some()));
    // Without a user, every live session; nothing was deleted.
    assert_eq!(scan_all(&store, None).0.len(), 6);
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 8);
}

#[test]
fn scan_pages_through_a_key_value_store() {
    for format in [Format::Signed, Format::DjangoPickle, Format::DjangoDb] {
        let (_kv, store) = kv_store(&settings(), format);
        for i in 0..2500 {
            store.create(&format!(r#"{{"_auth_user_id":"{}"}}"#, i % 100)).unwrap();
        }
        let (found, report) = scan_all(&store, Some("7"));
        assert_eq!(found.len(), 25, "{format:?}");
        assert_eq!(report.live, 2500, "{format:?}");
        let signed = format != Format::DjangoPickle;
        assert!(found.iter().all(|s| s.signed_by.is_some() == signed && s.written_at.is_some() == signed), "{format:?}");
    }
}

#[test]
fn update_applies_changes_to_what_is_stored_now() {
    let (_tmp, dir) = dir_store(&settings());
    let (_kv, kv) = kv_store(&settings(), Format::DjangoPickle);
    fn check<B: crate::Storage>(store: &SessionStore<B, NativeSystem>) {
        let key = store.create(r#"{"a":1,"b":2}"#).unwrap();
        // Two requests loaded {"a":1,"b":2}; each writes only its change.
        store.update(&key, &[Change::Set("cart".into(), "[1,2]".into())]).unwrap();
        store.update(&key, &[Change::Set("theme".into(), r#""dark""#.into()), Change::Remove("a".into())]).unwrap();
        assert_eq!(store.load(&key).unwrap().into_data().unwrap(), r#"{"b":2,"cart":[1,2],"theme":"dark"}"#);
        store.update(&key, &[Change::Clear, Change::Set("x".into(), "NaN".into())]).unwrap();
        assert_eq!(store.load(&key).unwrap().into_data().unwrap(), r#"{"x":NaN}"#);
        assert!(matches!(store.update(&key, &[Change::Set("x".into(), "{".into())]), Err(Error::InvalidData(_))));
        // A logout wins: the update does not bring the session back.
        store.delete(&key).unwrap();
        assert_eq!(store.update(&key, &[Change::Set("y".into(), "1".into())]), Err(Error::NotFound));
        assert_eq!(store.load(&key).unwrap(), Loaded::Missing);
    }
    check(&dir);
    check(&kv);
}

/// The compare-and-set refuses a write over a value that changed after it
/// was read (the key-value path, exact).
#[test]
fn replace_refuses_a_changed_value() {
    let (kv, store) = kv_store(&settings(), Format::Signed);
    let key = store.create(r#"{"a":1}"#).unwrap();
    let name = format!("sessionid{key}");
    let before = match kv.value(&name).unwrap() {
        MemValue::Plain(v, _) => v,
        MemValue::Other => unreachable!(),
    };
    store.update(&key, &[Change::Set("b".into(), "2".into())]).unwrap();
    use crate::KeyValue;
    assert!(!kv.set_if_equal(&name, &before, b"x", None).unwrap(), "the value changed since it was read");
}

#[test]
fn touch_extends_without_rewriting() {
    let mut s = settings();
    s.cookie_age = 100;
    let (tmp, store) = dir_store(&s);
    let key = store.create(r#"{"a":1}"#).unwrap();
    let path = tmp.path().join(format!("sessionid{key}"));
    let content = fs::read(&path).unwrap();
    let old = SystemTime::now() - Duration::from_secs(60);
    fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
    assert!(store.touch(&key).unwrap());
    assert_eq!(fs::read(&path).unwrap(), content, "not rewritten");
    assert!(fs::metadata(&path).unwrap().modified().unwrap() > old + Duration::from_secs(50));
    assert!(!store.touch("nosuchsessionkey").unwrap());

    let (kv, store) = kv_store(&s, Format::Signed);
    let key = store.create(r#"{"a":1}"#).unwrap();
    let name = format!("sessionid{key}");
    let MemValue::Plain(value, _) = kv.value(&name).unwrap() else { unreachable!() };
    kv.insert(&name, MemValue::Plain(value.clone(), Some(5_000)));
    assert!(store.touch(&key).unwrap());
    let MemValue::Plain(after, ttl) = kv.value(&name).unwrap() else { unreachable!() };
    assert_eq!(after, value);
    assert!(ttl.unwrap() > 99_000, "{ttl:?}");
}

#[test]
fn import_keeps_expiry_and_never_overwrites_newer() {
    let mut s = settings();
    s.cookie_age = 1000;
    let (src_tmp, src) = dir_store(&s);
    let (_tmp, dst) = dir_store(&s);
    let key = src.create(r#"{"_auth_user_id":"1"}"#).unwrap();
    let path = src_tmp.path().join(format!("sessionid{key}"));
    fs::File::options().write(true).open(&path).unwrap().set_modified(SystemTime::now() - Duration::from_secs(400)).unwrap();
    let info = scan_all(&src, None).0.remove(0);
    let data = src.load(&key).unwrap().into_data().unwrap();
    assert_eq!(dst.import(&key, &data, info.expires_at, info.written_at).unwrap(), Imported::Created);
    let Loaded::Found { expires_at, .. } = dst.load(&key).unwrap() else { panic!() };
    assert_eq!(expires_at.secs, info.expires_at.secs, "the remaining expiry is kept");
    assert_eq!(dst.import(&key, &data, info.expires_at, info.written_at).unwrap(), Imported::KeptNewer, "again: nothing written");
    // A newer save at the destination is kept.
    dst.save(&key, r#"{"_auth_user_id":"1","new":1}"#, false).unwrap();
    assert_eq!(dst.import(&key, &data, info.expires_at, info.written_at).unwrap(), Imported::KeptNewer);
    assert!(dst.load(&key).unwrap().into_data().unwrap().contains("new"));
    // Into a key-value store: the TTL is what was left.
    let (kv, kvs) = kv_store(&s, Format::DjangoPickle);
    assert_eq!(kvs.import(&key, &data, info.expires_at, info.written_at).unwrap(), Imported::Created);
    let Some(MemValue::Plain(_, Some(ttl))) = kv.value(&format!("django.contrib.sessions.cache{key}")) else { panic!() };
    assert!((590_000..=601_000).contains(&ttl), "{ttl}");
    assert_eq!(kvs.import(&key, &data, info.expires_at, info.written_at).unwrap(), Imported::KeptNewer);
    assert!(matches!(dst.import(&key, &data, Time::new(1, 0), None), Err(Error::InvalidData(_))), "expired data is refused");
}

#[test]
fn resign_moves_fallback_sessions_to_the_current_secret() {
    let mut old = settings();
    old.secret_key = "old-secret".into();
    let mut rotated = settings();
    rotated.secret_key = "new-secret".into();
    rotated.fallback_keys = vec!["old-secret".into()];
    let (tmp, before) = dir_store(&old);
    let key = before.create(r#"{"_auth_user_id":"5"}"#).unwrap();
    let path = tmp.path().join(format!("sessionid{key}"));
    let mtime = SystemTime::now() - Duration::from_secs(300);
    fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();
    let after = SessionStore::new(NativeDir::open(tmp.path()).unwrap(), NativeSystem, rotated.clone()).unwrap();
    assert_eq!(scan_all(&after, None).0[0].signed_by, Some(1));
    assert_eq!(after.resign(&key).unwrap(), Resigned::Resigned);
    assert_eq!(after.resign(&key).unwrap(), Resigned::Current);
    assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), mtime, "the expiry counts from the same moment");
    let mut current_only = rotated.clone();
    current_only.fallback_keys.clear();
    let plain = SessionStore::new(NativeDir::open(tmp.path()).unwrap(), NativeSystem, current_only).unwrap();
    assert_eq!(plain.load(&key).unwrap().into_data().unwrap(), r#"{"_auth_user_id":"5"}"#);
    plain.delete(&key).unwrap();
    assert_eq!(after.resign(&key).unwrap(), Resigned::Gone);
    assert_eq!(plain.load(&key).unwrap(), Loaded::Missing, "not brought back");
}

/// An update applies changes to the stored text: a session nested deeper
/// than any tree could be built for (within the size limit) still updates.
#[test]
fn update_keeps_nesting_of_any_depth() {
    let (_tmp, store) = dir_store(&settings());
    let depth = 150_000;
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
    let key = store.create(&deep).unwrap();
    store.update(&key, &[Change::Set("b".into(), "1".into())]).unwrap();
    let data = store.load(&key).unwrap().into_data().unwrap();
    assert!(data.starts_with("{\"a\":[[[") && data.ends_with("]]],\"b\":1}"), "{}", &data[data.len() - 20..]);
}
