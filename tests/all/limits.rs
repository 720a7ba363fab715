//! The guest memory limit and the execution deadline: a call that breaks
//! either fails with a clear error, and the next call on the same `Store`
//! works (the broken instance was discarded).

use sessionbox::{Error, Loaded, Options, Settings, Store};
use std::time::Duration;

/// Session data with one string value of `len` bytes that does not compress
/// to nothing (so every stage of encoding has real work to do).
fn big_data(len: usize) -> sessionbox::Data {
    let mut data = sessionbox::Data::new();
    data.insert("blob".into(), crate::support::letters(len, 12345).into());
    data
}

fn settings() -> Settings {
    let mut s = Settings::new("secret");
    s.max_session_size = 64 << 20;
    s
}

fn small_round_trip(store: &Store) {
    let data = sessionbox::parse_data(r#"{"ok":true}"#).unwrap();
    let key = store.create(&data).unwrap();
    assert_eq!(store.load(&key).unwrap().into_data(), Some(data));
}

#[test]
fn memory_limit_fails_the_call_not_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options { memory_limit: 4 << 20, ..Options::default() };
    let store = Store::open_with(dir.path(), settings(), options).unwrap();
    let err = store.create(&big_data(3 << 20)).unwrap_err();
    assert_eq!(err, Error::MemoryLimit(4 << 20));
    assert!(err.to_string().contains("memory limit"), "{err}");
    // No partial file and no temp file were left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    small_round_trip(&store);
}

#[test]
fn deadline_stops_a_long_call_and_the_next_call_works() {
    let dir = tempfile::tempdir().unwrap();
    // 1 ms: the call is stopped once the epoch has ticked twice (10-20 ms
    // in); a 16 MiB session takes far longer than that to encode, while a
    // small one finishes in well under a millisecond.
    let options = Options { deadline: Duration::from_millis(1), ..Options::default() };
    let store = Store::open_with(dir.path(), settings(), options).unwrap();
    let err = store.create(&big_data(16 << 20)).unwrap_err();
    assert_eq!(err, Error::Deadline(Duration::from_millis(1)));
    assert!(err.to_string().contains("deadline"), "{err}");

    // The interrupted call left nothing half-written...
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(!name.contains("_out_"), "temp file {name} left behind");
        let key = name.trim_start_matches("sessionid");
        assert!(matches!(store.load(key).unwrap(), Loaded::Found { data: d, .. } if d.is_empty()), "{name} is not an empty placeholder");
    }
    // ...and the same Store handle works on (with a fresh instance).
    small_round_trip(&store);
}

/// Too many fallback secrets for the guest's memory: the failure says so, in
/// one line (it used to be "component failed" and a 15-line wasm backtrace).
#[test]
fn too_many_fallback_keys_is_the_memory_limit_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Settings::new("secret");
    s.fallback_keys = (0..200_000).map(|i| format!("fallback-secret-number-{i:08}")).collect();
    let err = Store::open(dir.path(), s).unwrap_err();
    assert_eq!(err, Error::MemoryLimit(Options::default().memory_limit));
    let text = err.to_string();
    assert!(text.contains("memory limit") && !text.contains('\n'), "{text}");
}

/// Repeated-key detection is linear: sessions with 90,000 keys (most of the
/// 1 MiB limit), distinct or repeated, are written well within the default
/// deadline (a quadratic check ran 50,000 keys past it).
#[test]
fn many_keys_and_many_repeated_keys_fit_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Settings::new("secret")).unwrap();
    let distinct: Vec<String> = (0..90_000).map(|i| format!("\"k{i:05}\":{}", i % 10)).collect();
    let text = format!("{{{}}}", distinct.join(","));
    let key = store.create_json(&text).unwrap();
    assert_eq!(store.load_json(&key).map(Loaded::into_data), Ok(Some(text)));
    // Every key twice: the last value wins, in the first key's place.
    let repeated: Vec<String> = (0..90_000).map(|i| format!("\"k{:05}\":{i}", i % 45_000)).collect();
    let key = store.create_json(&format!("{{{}}}", repeated.join(","))).unwrap();
    let expected: Vec<String> = (0..45_000).map(|i| format!("\"k{i:05}\":{}", i + 45_000)).collect();
    assert_eq!(store.load_json(&key).map(Loaded::into_data), Ok(Some(format!("{{{}}}", expected.join(",")))));
}

/// A deadline too long to count in epoch ticks means no practical
/// deadline: every call works. 2^62 s used to wrap around to one tick (a
/// create failed at once with "ran past its deadline"), and
/// `Duration::MAX` overflowed (a panic in a debug build).
#[test]
fn a_huge_deadline_saturates_and_calls_work() {
    for deadline in [Duration::from_secs(1 << 62), Duration::from_secs(u64::MAX / 1000), Duration::MAX] {
        let dir = tempfile::tempdir().unwrap();
        let options = Options { deadline, ..Options::default() };
        let store = Store::open_with(dir.path(), settings(), options).unwrap_or_else(|e| panic!("{deadline:?}: {e}"));
        let data = sessionbox::parse_data(r#"{"ok":true}"#).unwrap();
        let key = store.create(&data).unwrap_or_else(|e| panic!("{deadline:?}: {e}"));
        assert_eq!(store.load(&key).unwrap().into_data(), Some(data), "{deadline:?}");
        store.save(&key, &sessionbox::parse_data(r#"{"ok":false}"#).unwrap(), false).unwrap();
        assert_eq!(store.clear_expired().unwrap().scanned, 1, "{deadline:?}");
        assert!(store.delete(&key).unwrap(), "{deadline:?}");
    }
}
