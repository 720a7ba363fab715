//! Sessions across the whole range of sizes Django accepts, through the
//! component: wasmtime-wasi returns at most 64 KiB per read, so files past
//! that size exercise the guest's read loop (the old guest stopped after one
//! short read: every such session read as "bad signature", and the sweep
//! deleted it once its file was older than the cookie age).

use serde_json::json;
use sessionbox::{Error, Loaded, Settings, Store};
use std::time::{Duration, SystemTime};

/// JSON object text of exactly `len` bytes, `{"blob":"..."}` with letters
/// that zlib cannot shrink much, so the file is about as large as the JSON.
fn session_of_len(len: usize) -> String {
    let frame = r#"{"blob":""}"#.len();
    let blob = crate::support::letters(len - frame, len as u32 ^ 0x9e37_79b9);
    format!(r#"{{"blob":"{blob}"}}"#)
}

fn age(path: &std::path::Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs)).unwrap();
}

/// JSON sizes around every 64 KiB boundary a file can straddle, and on to
/// the default limit (1 MiB of JSON).
fn sizes() -> Vec<usize> {
    let max = sessionbox::DEFAULT_MAX_SESSION_SIZE as usize;
    vec![16, 1000, 49_000, 49_200, 65_536, 70_000, 131_072, 200_000, 500_000, max - 1, max]
}

#[test]
fn every_size_up_to_the_limit_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), Settings::new("secret")).unwrap();
    let mut largest_file = 0;
    for len in sizes() {
        let text = session_of_len(len);
        assert_eq!(text.len(), len);
        let key = store.create_json(&text).unwrap_or_else(|e| panic!("{len} bytes: create: {e}"));
        let file = tmp.path().join(format!("sessionid{key}"));
        largest_file = largest_file.max(std::fs::metadata(&file).unwrap().len());
        assert_eq!(store.load_json(&key).map(Loaded::into_data), Ok(Some(text.clone())), "{len} bytes: load_json");
        let data = sessionbox::parse_data(&text).unwrap();
        assert_eq!(store.load(&key).map(Loaded::into_data), Ok(Some(data.clone())), "{len} bytes: load");
        store.save(&key, &data, false).unwrap_or_else(|e| panic!("{len} bytes: save: {e}"));
        assert_eq!(store.load_json(&key).map(Loaded::into_data), Ok(Some(text)), "{len} bytes: load after save");
        assert!(store.delete(&key).unwrap());
    }
    assert!(largest_file > 10 * 65_536, "the files must reach past many 64 KiB reads: {largest_file}");
    // One byte over the limit is refused, and leaves nothing.
    let over = session_of_len(sessionbox::DEFAULT_MAX_SESSION_SIZE as usize + 1);
    assert_eq!(store.create_json(&over), Err(Error::TooLarge));
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// The sweep reads every size whole: a large session with a far-future
/// expiry and an old file is kept; the same without an expiry goes.
#[test]
fn the_sweep_judges_large_sessions_by_their_own_expiry() {
    let tmp = tempfile::tempdir().unwrap();
    let mut settings = Settings::new("secret");
    settings.cookie_age = 3600;
    let store = Store::open(tmp.path(), settings).unwrap();
    let mut keep = Vec::new();
    let mut expire = Vec::new();
    for len in sizes() {
        let mut data = sessionbox::parse_data(&session_of_len(len.max(200) - 100)).unwrap();
        let plain = store.create(&data).unwrap();
        data.insert("_session_expiry".into(), json!("2099-01-01T00:00:00+00:00"));
        let lasting = store.create(&data).unwrap();
        for key in [&plain, &lasting] {
            age(&tmp.path().join(format!("sessionid{key}")), 7200);
        }
        expire.push(plain);
        keep.push(lasting);
    }
    let report = store.clear_expired().unwrap();
    assert_eq!((report.scanned, report.deleted, report.skipped), (2 * sizes().len() as u32, sizes().len() as u32, 0));
    for key in keep {
        assert!(matches!(store.load(&key), Ok(Loaded::Found { .. })), "{key} was swept");
    }
    for key in expire {
        assert!(!store.exists(&key).unwrap());
    }
}

/// `max-session-size` is a u32: every value up to its maximum works, on a
/// guest whose `usize` is 32 bits (the file-size bound wrapped there, and
/// every session was "too large").
#[test]
fn size_limits_up_to_the_u32_maximum_work() {
    for limit in [3_221_225_472u32, u32::MAX - 1, u32::MAX] {
        let tmp = tempfile::tempdir().unwrap();
        let mut settings = Settings::new("secret");
        settings.max_session_size = limit;
        settings.cookie_age = 3600;
        let store = Store::open(tmp.path(), settings).unwrap();
        let text = session_of_len(100_000);
        let key = store.create_json(&text).unwrap_or_else(|e| panic!("limit {limit}: {e}"));
        assert_eq!(store.load_json(&key).map(Loaded::into_data), Ok(Some(text)), "limit {limit}");
        let old = store.create_json("{}").unwrap();
        age(&tmp.path().join(format!("sessionid{old}")), 7200);
        let report = store.clear_expired().unwrap();
        assert_eq!((report.scanned, report.deleted, report.skipped), (2, 1, 0), "limit {limit}");
    }
}
