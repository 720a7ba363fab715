//! The store operations over the native directory: the same logic the
//! component runs, exercised without wasm.

use crate::native::{NativeDir, NativeSystem};
use crate::{Error, Loaded, SessionStore, Settings, SweepReport, Time};
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

fn settings() -> Settings {
    Settings::new("test-secret")
}

fn with_store(settings: &Settings, f: impl FnOnce(&SessionStore<crate::Files<NativeDir>, NativeSystem>, &Path)) {
    let tmp = tempfile::tempdir().unwrap();
    let store = SessionStore::new(NativeDir::open(tmp.path()).unwrap(), NativeSystem, settings.clone()).unwrap();
    f(&store, tmp.path());
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

fn age_file(path: &Path, secs: u64) {
    let f = fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs)).unwrap();
}

#[test]
fn save_probes_then_replaces_atomically() {
    with_store(&settings(), |store, dir| {
        let key = store.create(r#"{"a":1}"#).unwrap();
        assert_eq!(names(dir), [format!("sessionid{key}")]);
        assert_eq!(store.save(&key, "{}", true), Err(Error::AlreadyExists));
        store.save(&key, r#"{"a":2}"#, false).unwrap();
        assert_eq!(store.load(&key).unwrap().into_data(), Some(r#"{"a":2}"#.into()));
        store.delete(&key).unwrap();
        assert_eq!(store.save(&key, "{}", false), Err(Error::NotFound));
        assert!(names(dir).is_empty(), "a save must never resurrect a deleted session");
    });
}

#[test]
fn refusals_leave_no_file() {
    let mut s = settings();
    s.max_session_size = 10;
    with_store(&s, |store, dir| {
        assert_eq!(store.create(r#"{"long":"0123456789"}"#), Err(Error::TooLarge));
        assert!(matches!(store.create("[1]"), Err(Error::InvalidData(_))));
        assert!(matches!(store.save("abcdefgh", "{", true), Err(Error::InvalidData(_))));
        assert!(names(dir).is_empty());
    });
}

#[test]
fn sweep_rules() {
    let mut s = settings();
    s.cookie_age = 100;
    with_store(&s, |store, dir| {
        let live = store.create("{}").unwrap();
        let old = store.create("{}").unwrap();
        age_file(&dir.join(format!("sessionid{old}")), 101);
        let long_lived = store.create(r#"{"_session_expiry":1000}"#).unwrap();
        age_file(&dir.join(format!("sessionid{long_lived}")), 500);
        // Empty placeholders and undecodable files go once older than cookie_age.
        for (name, content, age) in [("sessionidemptyold1", "", 200), ("sessionidemptynew1", "", 10), ("sessionidgarbage01", "x:y:z", 200)] {
            fs::write(dir.join(name), content).unwrap();
            age_file(&dir.join(name), age);
        }
        // Temporary files go after an hour.
        for (name, age) in [("sessionidabcdefgh_out_stale123", 3700), ("sessionidabcdefgh_out_fresh123", 60)] {
            fs::write(dir.join(name), "partial").unwrap();
            age_file(&dir.join(name), age);
        }
        fs::create_dir(dir.join("sessioniddirectory")).unwrap();
        fs::write(dir.join("sessionidBAD-KEY"), "").unwrap();
        fs::write(dir.join("other-file"), "").unwrap();

        let report = store.clear_expired().unwrap();
        assert_eq!(report, SweepReport { scanned: 10, deleted: 4, skipped: 2 });
        let mut want = vec![
            format!("sessionid{live}"),
            format!("sessionid{long_lived}"),
            "other-file".to_owned(),
            "sessionidBAD-KEY".to_owned(),
            "sessionidabcdefgh_out_fresh123".to_owned(),
            "sessioniddirectory".to_owned(),
            "sessionidemptynew1".to_owned(),
        ];
        want.sort();
        assert_eq!(names(dir), want);
    });
}

/// The sweep computes a file's HMAC only when the signature changes the
/// verdict; over every kind of file (genuine, fallback-signed, forged,
/// tampered, unsigned, not ASCII, corrupt or too large inside a genuine
/// signature) with every kind of expiry, young and old, it deletes and
/// skips exactly what judging each file after a verified decode would.
#[test]
fn the_sweep_judges_every_file_as_a_verified_decode_would() {
    use crate::codec::Codec;
    let mut s = settings();
    s.cookie_age = 100;
    s.fallback_keys = vec!["old-secret".to_owned()];
    s.max_session_size = 4000;
    let salt = s.key_salt.clone();
    // Current, fallback, forged.
    let signers = [Codec::new("test-secret", &[], &salt), Codec::new("old-secret", &[], &salt), Codec::new("another-secret", &[], &salt)];
    let mut payloads = crate::fuzz::expiry_payloads();
    payloads.extend([
        // Compresses below the limit, inflates past it.
        format!(r#"{{"_session_expiry":-1,"pad":"{}"}}"#, "a".repeat(6000)),
        // Within the limit, but inflates more than the sweep reads unverified.
        format!(r#"{{"_session_expiry":-1,"pad":"{}"}}"#, "a".repeat(3000)),
        format!(r#"{{"pad":"{}"}}"#, "a".repeat(3000)),
    ]);
    let files = crate::fuzz::sweep_grid(&signers, &payloads);
    let reference = Codec::new(&s.secret_key, &s.fallback_keys, &salt);
    with_store(&s, |store, dir| {
        let mut expected = SweepReport::default();
        let mut kept = Vec::new();
        for (i, content) in files.iter().enumerate() {
            for (age, tag) in [(10, "young"), (200, "old")] {
                let name = format!("sessionid{tag}{i:08}x");
                fs::write(dir.join(&name), content).unwrap();
                age_file(&dir.join(&name), age);
                let modified = Time::from_system_time(fs::metadata(dir.join(&name)).unwrap().modified().unwrap());
                let now = Time::from_system_time(SystemTime::now());
                expected.scanned += 1;
                match crate::fuzz::verified_verdict(&reference, content, s.max_session_size as usize, modified, now, s.cookie_age) {
                    None => {
                        expected.skipped += 1;
                        kept.push(name);
                    }
                    Some(true) => expected.deleted += 1,
                    Some(false) => kept.push(name),
                }
            }
        }
        assert!(expected.deleted > 20 && expected.skipped > 5 && kept.len() > 40, "the grid covers every verdict: {expected:?}");
        assert_eq!(store.clear_expired().unwrap(), expected);
        kept.sort();
        assert_eq!(names(dir), kept);
    });
}

#[test]
fn expired_on_load_is_deleted_and_reported() {
    with_store(&settings(), |store, dir| {
        let key = store.create(r#"{"_session_expiry":-1}"#).unwrap();
        assert_eq!(store.load(&key).unwrap(), Loaded::Expired);
        assert!(names(dir).is_empty());
        assert_eq!(store.load(&key).unwrap(), Loaded::Missing);
    });
}

#[test]
fn a_found_session_carries_its_expiry() {
    let mut s = settings();
    s.cookie_age = 1000;
    with_store(&s, |store, dir| {
        let mtime = |key: &str| Time::from_system_time(fs::metadata(dir.join(format!("sessionid{key}"))).unwrap().modified().unwrap());
        // Default: the file's mtime plus cookie_age, to the nanosecond.
        let plain = store.create(r#"{"a":1}"#).unwrap();
        let loaded = store.load(&plain).unwrap();
        assert_eq!(loaded.data().map(String::as_str), Some(r#"{"a":1}"#));
        assert_eq!(loaded.expires_at(), Some(&mtime(&plain).plus_secs(1000)));
        // Seconds count from the mtime too; an ISO time is itself.
        let secs = store.create(r#"{"_session_expiry":60}"#).unwrap();
        assert_eq!(store.load(&secs).unwrap().expires_at(), Some(&mtime(&secs).plus_secs(60)));
        let iso = store.create(r#"{"_session_expiry":"2999-01-02T03:04:05.250000+01:00"}"#).unwrap();
        assert_eq!(store.load(&iso).unwrap().expires_at(), Some(&Time::new(32_472_237_845, 250_000_000)));
        // Never expires: the largest second.
        let never = store.create(r#"{"_session_expiry":Infinity}"#).unwrap();
        assert_eq!(store.load(&never).unwrap().expires_at().map(|t| t.secs), Some(i64::MAX));
        // An empty placeholder: its mtime plus cookie_age.
        fs::write(dir.join("sessionidplaceholder1"), "").unwrap();
        age_file(&dir.join("sessionidplaceholder1"), 10);
        let loaded = store.load("placeholder1").unwrap();
        assert_eq!(loaded, Loaded::Found { data: "{}".into(), expires_at: mtime("placeholder1").plus_secs(1000) });
        // The other outcomes carry none.
        assert_eq!(store.load("missing12").unwrap().expires_at(), None);
        // map and map_time convert one part each; map_found both.
        let both = store.load(&plain).unwrap().map(|d| Ok::<_, ()>(d.len())).unwrap().map_time(|t| t.secs);
        assert_eq!(both, Loaded::Found { data: 7, expires_at: mtime(&plain).secs + 1000 });
        let both = store.load(&plain).unwrap().map_found(|d, t| Ok::<_, ()>((d.len(), t.secs))).unwrap();
        assert_eq!(both.into_data(), Some(7));
    });
}

#[test]
fn cycle_key_moves_data_and_removes_the_old_file() {
    with_store(&settings(), |store, dir| {
        let old = store.create(r#"{"user":"1"}"#).unwrap();
        let new = store.cycle_key(&old, r#"{"user":"1","more":true}"#).unwrap();
        assert_ne!(old, new);
        assert_eq!(names(dir), [format!("sessionid{new}")]);
        assert_eq!(store.load(&new).unwrap().into_data(), Some(r#"{"user":"1","more":true}"#.into()));
        assert_eq!(store.cycle_key("bad/key!", "{}"), Err(Error::InvalidKey));
    });
}

#[test]
fn keys_are_django_keys_up_to_the_file_name_limit() {
    with_store(&settings(), |store, dir| {
        // "sessionid" + key must fit in 255 bytes; the temporary file's name
        // is cut to fit.
        let longest = "a".repeat(255 - 9);
        let too_long = "a".repeat(longest.len() + 1);
        store.save(&longest, "{}", true).unwrap();
        store.save(&longest, r#"{"x":1}"#, false).unwrap();
        assert_eq!(store.load(&longest).unwrap().into_data(), Some(r#"{"x":1}"#.into()));
        assert_eq!(store.exists(&longest), Ok(true));
        for missing in [too_long.as_str(), "", "1", "abcdefg"] {
            assert_eq!(store.load(missing).unwrap(), Loaded::Missing, "{missing:?}");
            assert_eq!(store.exists(missing), Ok(false), "{missing:?}");
            assert_eq!(store.delete(missing), Ok(false), "{missing:?}");
            assert_eq!(store.save(missing, "{}", false), Err(Error::NotFound), "{missing:?}");
            assert_eq!(store.save(missing, "{}", true), Err(Error::InvalidKey), "{missing:?}");
        }
        for bad in ["ABCDEFGH", "abcd/efgh", "abcdefg."] {
            assert_eq!(store.load(bad).unwrap(), Loaded::Missing);
            assert_eq!(store.exists(bad), Err(Error::InvalidKey));
            assert_eq!(store.delete(bad), Err(Error::InvalidKey));
        }
        assert_eq!(store.delete(&longest), Ok(true));
        assert!(names(dir).is_empty());
    });
}

/// More sessions than one listing window: batches list again after the
/// window, and the sweep still covers every entry exactly once.
#[test]
fn sweeps_cover_directories_larger_than_one_window() {
    use crate::fuzz::MemDir;
    use crate::time::Time;
    let dir = MemDir::new(Time::new(1_700_000_000, 0));
    let store = SessionStore::new(dir.clone(), dir.clone(), settings()).unwrap();
    let expired = store.core.codec.encode(r#"{"_session_expiry":-1}"#, 1_700_000_000);
    let live = store.core.codec.encode(r#"{"_session_expiry":3600}"#, 1_700_000_000);
    let n = 70_000;
    for i in 0..n {
        let content = if i % 2 == 0 { &expired } else { &live };
        dir.insert(&format!("sessionid{i:032}"), content.as_bytes());
    }
    // In one call.
    let whole = store.clear_expired().unwrap();
    assert_eq!((whole.scanned, whole.deleted, whole.skipped), (n, n / 2, 0));
    // In batches of one entry each time the budget runs out at once.
    for i in (0..n).step_by(2) {
        dir.insert(&format!("sessionid{i:032}"), expired.as_bytes());
    }
    let mut total = SweepReport::default();
    let mut cursor: Option<String> = None;
    let mut batches = 0;
    loop {
        let batch = store.sweep(cursor.as_deref(), Some(0)).unwrap();
        total.add(batch.report);
        batches += 1;
        match batch.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!((total.scanned, total.deleted, total.skipped), (n, n / 2, 0));
    assert_eq!(batches, n, "a zero budget judges one entry per batch");
}

/// Names that carry the prefix but sort anywhere: below `0`, between `9`
/// and `a`, above `z`, the cut points themselves, lengths no key has, a
/// temporary file, and names outside the key alphabet altogether.
const ODD_NAMES: [&str; 16] = [
    "sessionid",
    "sessionid!",
    "sessionid-",
    "sessionid/",
    "sessionid:colon",
    "sessionid@",
    "sessionid_under",
    "sessionid`",
    "sessionidi",
    "sessionidh~",
    "sessionidi\u{0}",
    "sessionid{",
    "sessionid~",
    "sessionid\u{7f}",
    "sessionid\u{e9}t\u{e9}",
    "sessionidabc",
];

/// Whether `name` falls in `range`.
fn in_range(name: &str, range: &crate::SweepRange) -> bool {
    range.after.as_deref().is_none_or(|after| name > after) && range.upto.as_deref().is_none_or(|upto| name <= upto)
}

/// For any number of parts, the ranges are contiguous, ordered and cover
/// every name exactly once; two parts split the key characters in half.
#[test]
fn sweep_ranges_cover_every_name_exactly_once() {
    let keys: Vec<String> = "0123456789abcdefghijklmnopqrstuvwxyz".chars().flat_map(|c| [format!("sessionid{c}"), format!("sessionid{c}{}", "0".repeat(31)), format!("sessionid{c}{}", "z".repeat(31))]).collect();
    let others = ["", "a", "sessioni", "sessionic", "sessionie", "zzz", "\u{10ffff}"];
    for parts in 0..=40 {
        let ranges = crate::sweep_ranges("sessionid", parts);
        assert_eq!(ranges.len(), parts.clamp(1, 36), "{parts} parts");
        assert_eq!((ranges[0].after.as_deref(), ranges[ranges.len() - 1].upto.as_deref()), (None, None), "{parts} parts: open ends");
        for pair in ranges.windows(2) {
            assert!(pair[0].upto.is_some() && pair[0].upto == pair[1].after, "{parts} parts: contiguous: {pair:?}");
            assert!(pair[0].after < pair[1].after, "{parts} parts: ordered: {pair:?}");
        }
        for name in keys.iter().map(String::as_str).chain(ODD_NAMES).chain(others) {
            assert_eq!(ranges.iter().filter(|r| in_range(name, r)).count(), 1, "{parts} parts: {name:?}");
        }
    }
    let halves = crate::sweep_ranges("sessionid", 2);
    assert_eq!(halves[0].upto.as_deref(), Some("sessionidi"));
    let first_half = keys.iter().filter(|k| k.len() == 41 && in_range(k, &halves[0])).count();
    assert_eq!(first_half, 36, "18 of the 36 first characters, two keys each");
}

/// Sweeps of the ranges, each in its own store over the same directory and
/// in batches of any size, judge every entry exactly once: their reports add
/// up to one whole sweep's, with foreign names that carry the prefix counted
/// once wherever they sort, and the same files are left.
#[test]
fn range_sweeps_add_up_to_one_whole_sweep() {
    use crate::dir::Dir;
    use crate::fuzz::MemDir;
    let fill = || {
        let dir = MemDir::new(Time::new(1_700_000_000, 0));
        let store = SessionStore::new(dir.clone(), dir.clone(), settings()).unwrap();
        let expired = store.core.codec.encode(r#"{"_session_expiry":-1}"#, 1_700_000_000);
        let live = store.core.codec.encode(r#"{"_session_expiry":3600}"#, 1_700_000_000);
        for (i, c) in "0123456789abcdefghijklmnopqrstuvwxyz".chars().cycle().take(360).enumerate() {
            let content = if i % 3 == 0 { &expired } else { &live };
            dir.insert(&format!("sessionid{c}{i:031}"), content.as_bytes());
        }
        for name in ODD_NAMES {
            dir.insert(name, expired.as_bytes());
        }
        dir.insert(&format!("sessionid{}_out_1", "i".repeat(32)), b"temp");
        dir.insert("other-app-file", expired.as_bytes());
        dir
    };
    let left = |dir: &MemDir| {
        let mut names = Vec::new();
        dir.for_each_entry(&mut |name| names.push(name.to_owned())).unwrap();
        names.sort();
        names
    };
    let whole_dir = fill();
    let whole = SessionStore::new(whole_dir.clone(), whole_dir.clone(), settings()).unwrap().clear_expired().unwrap();
    assert_eq!((whole.scanned, whole.deleted, whole.skipped), (360 + 16 + 1, 120, 16));
    for parts in [1, 2, 3, 7, 36] {
        for budget in [None, Some(0)] {
            let dir = fill();
            let mut total = SweepReport::default();
            for range in crate::sweep_ranges("sessionid", parts) {
                // Its own store, as each thread of a parallel sweep has its
                // own instance.
                let store = SessionStore::new(dir.clone(), dir.clone(), settings()).unwrap();
                let mut in_this = SweepReport::default();
                let mut cursor = range.after.clone();
                loop {
                    let batch = store.sweep_range(cursor.as_deref(), range.upto.as_deref(), budget).unwrap();
                    in_this.add(batch.report);
                    match batch.cursor {
                        Some(next) => {
                            assert!(in_range(&next, &range), "{parts} parts: cursor {next:?} outside {range:?}");
                            cursor = Some(next);
                        }
                        None => break,
                    }
                }
                let expected = left(&fill()).iter().filter(|n| n.starts_with("sessionid") && in_range(n, &range)).count();
                assert_eq!(in_this.scanned as usize, expected, "{parts} parts, budget {budget:?}: {range:?}");
                total.add(in_this);
            }
            assert_eq!(total, whole, "{parts} parts, budget {budget:?}");
            assert_eq!(left(&dir), left(&whole_dir), "{parts} parts, budget {budget:?}");
        }
    }
}

mod kv {
    //! The key-value backend over memory: the same session logic, with
    //! creates as add-if-absent, updates as set-if-present and TTLs.

    use super::settings;
    use crate::fuzz::{MemKv, MemValue};
    use crate::{pickle, Error, Format, Kv, Loaded, SessionStore, Settings, SweepReport, System, Time};
    use std::cell::Cell;

    const NOW: i64 = 1_700_000_000;

    /// A clock standing at `NOW` and a counter for random bytes.
    #[derive(Default)]
    struct Frozen(Cell<u8>);

    impl System for Frozen {
        fn now(&self) -> Time {
            Time::new(NOW, 0)
        }
        fn monotonic_nanos(&self) -> u64 {
            0
        }
        fn fill_random(&self, buf: &mut [u8]) {
            self.0.set(self.0.get().wrapping_add(1));
            buf.iter_mut().enumerate().for_each(|(i, b)| *b = self.0.get().wrapping_add(i as u8));
        }
    }

    fn store(format: Format, settings: Settings) -> (SessionStore<Kv<MemKv>, Frozen>, MemKv) {
        let kv = MemKv::default();
        (SessionStore::with_storage(Kv::new(kv.clone(), format), Frozen::default(), settings).unwrap(), kv)
    }

    fn signed_value(kv: &MemKv, key: &str) -> Vec<u8> {
        match kv.value(&format!("sessionid{key}")) {
            Some(MemValue::Plain(value, _)) => value,
            other => panic!("{key}: {other:?}"),
        }
    }

    fn ttl(kv: &MemKv, name: &str) -> Option<u64> {
        match kv.value(name) {
            Some(MemValue::Plain(_, ttl)) => ttl,
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn cached_db_reads_through_the_cache_and_writes_through_to_it() {
        use crate::store::kv::KeyValue;
        let (store, kv) = store(Format::DjangoCachedDb, settings());
        let key = store.create(r#"{"a":1}"#).unwrap();
        let cache = format!("django.contrib.sessions.cached_db{key}");
        assert_eq!(kv.keys(), [key.clone()], "the row; the first load fills the cache");
        assert!(matches!(store.load(&key).unwrap(), Loaded::Found { data, .. } if data == r#"{"a":1}"#));
        let mut keys = kv.keys();
        keys.sort();
        assert_eq!(keys, [key.clone(), cache.clone()], "the row and the cache entry");
        let pickled = |name: &str| match kv.value(name) {
            Some(MemValue::Plain(value, _)) => value,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(&pickled(&cache)[..2], b"\x80\x05", "the cache holds the dict pickled");
        // A load is served by the cache: what the database says is not read.
        kv.insert(&key, MemValue::Plain(b"not even signed".to_vec(), None));
        assert!(matches!(store.load(&key).unwrap(), Loaded::Found { data, .. } if data == r#"{"a":1}"#));
        // A miss reads the database and fills the cache; a row that does not
        // verify is reported and not cached.
        assert!(kv.delete(&cache).unwrap());
        assert_eq!(store.load(&key).unwrap(), Loaded::BadSignature);
        assert_eq!(kv.value(&cache), None, "nothing unverified is cached");
        store.delete(&key).unwrap();
        let key = store.create(r#"{"b":2}"#).unwrap();
        let cache = format!("django.contrib.sessions.cached_db{key}");
        assert_eq!(kv.value(&cache), None, "a create leaves the cache to the first load");
        assert!(matches!(store.load(&key).unwrap(), Loaded::Found { data, .. } if data == r#"{"b":2}"#));
        assert!(kv.value(&cache).is_some(), "filled from the database");
        // A save takes the cache entry away; the next load fills it anew.
        store.save(&key, r#"{"b":3}"#, false).unwrap();
        assert_eq!(kv.value(&cache), None);
        assert!(matches!(store.load(&key).unwrap(), Loaded::Found { data, .. } if data == r#"{"b":3}"#));
        assert!(kv.value(&cache).is_some());
        store.save(&key, r#"{"b":4}"#, false).unwrap();
        assert_eq!(kv.value(&cache), None);
        // Exists in either; a delete takes both.
        assert!(store.exists(&key).unwrap());
        store.load(&key).unwrap();
        assert!(kv.value(&cache).is_some());
        assert!(store.delete(&key).unwrap());
        assert!(kv.keys().is_empty(), "{:?}", kv.keys());
        assert_eq!(store.save(&key, "{}", false), Err(Error::NotFound), "an update never brings it back");
        assert!(kv.keys().is_empty());
    }

    /// A key-value store where something happens just before the cache is
    /// filled: another request's save or logout.
    struct RacingKv {
        inner: MemKv,
        before_fill: std::cell::RefCell<Option<Box<dyn FnOnce(&MemKv)>>>,
    }

    impl crate::KeyValue for &RacingKv {
        fn get(&self, key: &str, max_len: u64) -> Result<Option<crate::KvEntry>, crate::KvError> {
            self.inner.get(key, max_len)
        }
        fn set_if_absent(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, crate::KvError> {
            if key.starts_with(crate::DJANGO_CACHED_DB_KEY_PREFIX) {
                if let Some(race) = self.before_fill.borrow_mut().take() {
                    race(&self.inner);
                }
            }
            self.inner.set_if_absent(key, value, ttl_ms)
        }
        fn set_if_present(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, crate::KvError> {
            self.inner.set_if_present(key, value, ttl_ms)
        }
        fn delete(&self, key: &str) -> Result<bool, crate::KvError> {
            self.inner.delete(key)
        }
        fn exists(&self, key: &str) -> Result<bool, crate::KvError> {
            self.inner.exists(key)
        }
    }

    #[test]
    fn cached_db_never_caches_what_a_racing_save_or_logout_replaced() {
        for logout in [false, true] {
            let racing = RacingKv { inner: MemKv::default(), before_fill: std::cell::RefCell::new(None) };
            let store = SessionStore::with_storage(Kv::new(&racing, Format::DjangoCachedDb), Frozen::default(), settings()).unwrap();
            let key = store.create(r#"{"v":1}"#).unwrap();
            let k = key.clone();
            // Between this load's read of the row and its fill of the cache,
            // another request saves (or logs out), row first, then the cache.
            *racing.before_fill.borrow_mut() = Some(Box::new(move |kv: &MemKv| {
                let other = SessionStore::with_storage(Kv::new(kv.clone(), Format::DjangoCachedDb), Frozen::default(), settings()).unwrap();
                match logout {
                    true => assert!(other.delete(&k).unwrap()),
                    false => other.save(&k, r#"{"v":2}"#, false).unwrap(),
                }
            }));
            assert!(matches!(store.load(&key).unwrap(), Loaded::Found { .. }), "the load read v1");
            assert_eq!(racing.inner.value(&format!("django.contrib.sessions.cached_db{key}")), None, "logout {logout}: the stale fill was taken back");
            match logout {
                true => assert_eq!(store.load(&key).unwrap(), Loaded::Missing, "the logout stays a logout"),
                false => assert!(matches!(store.load(&key).unwrap(), Loaded::Found { data, .. } if data == r#"{"v":2}"#), "the later save wins"),
            }
        }
    }

    #[test]
    fn creates_never_collide_and_updates_never_resurrect() {
        for format in [Format::Signed, Format::DjangoPickle, Format::DjangoDb] {
            let (store, kv) = store(format, settings());
            let key = store.create(r#"{"a":1}"#).unwrap();
            let name = match format {
                Format::Signed => format!("sessionid{key}"),
                Format::DjangoPickle => format!("django.contrib.sessions.cache{key}"),
                Format::DjangoDb | Format::DjangoCachedDb => key.clone(),
            };
            assert_eq!(kv.keys(), [name.clone()]);
            assert_eq!(store.save(&key, "{}", true), Err(Error::AlreadyExists));
            store.save(&key, r#"{"a":2}"#, false).unwrap();
            assert_eq!(store.load(&key).unwrap().into_data(), Some(r#"{"a":2}"#.into()));
            assert_eq!(store.exists(&key), Ok(true));
            assert_eq!(store.delete(&key), Ok(true));
            assert_eq!(store.save(&key, "{}", false), Err(Error::NotFound));
            assert!(kv.keys().is_empty(), "{format:?}: an update resurrected a deleted session");
            assert_eq!(store.load(&key).unwrap(), Loaded::Missing);
            assert_eq!(store.clear_expired(), Ok(SweepReport::default()), "nothing to sweep");
        }
    }

    #[test]
    fn the_ttl_is_the_sessions_expiry_age_and_loads_report_it() {
        let mut s = settings();
        s.cookie_age = 100;
        let (store, kv) = store(Format::Signed, s);
        let plain = store.create("{}").unwrap();
        assert_eq!(ttl(&kv, &format!("sessionid{plain}")), Some(100_000));
        let sixty = store.create(r#"{"_session_expiry":60}"#).unwrap();
        assert_eq!(ttl(&kv, &format!("sessionid{sixty}")), Some(60_000));
        assert_eq!(store.load(&sixty).unwrap().expires_at(), Some(&Time::new(NOW + 60, 0)));
        let iso = store.create(r#"{"_session_expiry":"2023-11-14T22:13:30+00:00"}"#).unwrap();
        assert_eq!(ttl(&kv, &format!("sessionid{iso}")), Some(10_000));
        let never = store.create(r#"{"_session_expiry":Infinity}"#).unwrap();
        assert_eq!(ttl(&kv, &format!("sessionid{never}")), None);
        assert_eq!(store.load(&never).unwrap().expires_at().map(|t| t.secs), Some(i64::MAX));
        // Already past (or under a whole second left): never written, as
        // Django's Redis cache deletes a key given a timeout of 0; an
        // update deletes the entry, and a create claims only the key.
        let past = store.create(r#"{"_session_expiry":-5}"#).unwrap();
        assert_eq!(kv.value(&format!("sessionid{past}")), None, "an expired create was written");
        assert_eq!(store.load(&past).unwrap(), Loaded::Missing);
        store.save(&plain, r#"{"_session_expiry":0.5}"#, false).unwrap();
        assert_eq!(kv.value(&format!("sessionid{plain}")), None, "an expired update was kept");
        assert_eq!(store.save(&plain, r#"{"_session_expiry":-5}"#, false), Err(Error::NotFound), "nothing left to update");
        assert_eq!(store.save(&sixty, r#"{"_session_expiry":-5}"#, true), Err(Error::AlreadyExists));
        assert!(kv.value(&format!("sessionid{sixty}")).is_some(), "a refused create deleted the session");
        // While the store holds an entry with a TTL it is live, as in
        // Django's cache backend, however little time is left.
        kv.insert(&format!("sessionid{sixty}"), MemValue::Plain(signed_value(&kv, &sixty), Some(400)));
        assert_eq!(store.load(&sixty).unwrap().expires_at(), Some(&Time::new(NOW, 400_000_000)));
        // Without a TTL the data's own expiry decides, and a load deletes it.
        let past_value = store.core.codec.encode(r#"{"_session_expiry":-5}"#, NOW).into_bytes();
        kv.insert(&format!("sessionid{past}"), MemValue::Plain(past_value, None));
        assert_eq!(store.load(&past).unwrap(), Loaded::Expired);
        assert_eq!(kv.value(&format!("sessionid{past}")), None, "an expired load deletes the key");
    }

    #[test]
    fn django_values_are_pickles_of_the_dict() {
        let (store, kv) = store(Format::DjangoPickle, settings());
        let key = store.create(r#"{"user":"42","n":[1,2.5,null,true]}"#).unwrap();
        let Some(MemValue::Plain(value, _)) = kv.value(&format!("django.contrib.sessions.cache{key}")) else { panic!() };
        assert_eq!(value[..2], [0x80, pickle::PROTOCOL]);
        assert_eq!(pickle::to_json_object(&value, 1 << 20).unwrap(), r#"{"user":"42","n":[1,2.5,null,true]}"#);
    }

    /// A pickle can be 2.25 times its JSON (floats): a session at the size
    /// limit still reads back.
    #[test]
    fn a_django_session_at_the_size_limit_reads_back() {
        let mut s = settings();
        s.max_session_size = 10_000;
        let (store, kv) = store(Format::DjangoPickle, s);
        let floats = vec!["0.0"; (10_000 - 8) / 4].join(",");
        let json = format!(r#"{{"l":[{floats}]}}"#);
        assert!(json.len() <= 10_000 && json.len() > 9_990, "{}", json.len());
        let key = store.create(&json).unwrap();
        let Some(MemValue::Plain(value, _)) = kv.value(&format!("django.contrib.sessions.cache{key}")) else { panic!() };
        assert!(value.len() > 2 * json.len(), "{} bytes of pickle", value.len());
        assert_eq!(store.load(&key).unwrap().into_data(), Some(json));
    }

    /// Deep nesting keeps three stack items per four bytes of JSON: what
    /// sessionbox writes at the size limit, it reads back.
    #[test]
    fn a_deeply_nested_django_session_reads_back() {
        let mut s = settings();
        s.max_session_size = 1000;
        let (store, _) = store(Format::DjangoPickle, s);
        let depth = 200;
        let json = format!(r#"{{"x":{}0{}}}"#, "[0,".repeat(depth), "]".repeat(depth));
        assert!(json.len() <= 1000, "{}", json.len());
        let key = store.create(&json).unwrap();
        assert_eq!(store.load(&key).unwrap().into_data(), Some(json));
    }

    #[test]
    fn foreign_values_are_corrupt_or_unsigned_never_a_crash() {
        let (signed, kv) = store(Format::Signed, settings());
        kv.insert("sessionidabcdefgh", MemValue::Plain(b"hello".to_vec(), None));
        assert_eq!(signed.load("abcdefgh").unwrap(), Loaded::BadSignature);
        kv.insert("sessionidabcdefgh", MemValue::Plain(vec![0xff, 0xfe], None));
        assert_eq!(signed.load("abcdefgh").unwrap(), Loaded::Corrupt);
        kv.insert("sessionidabcdefgh", MemValue::Other);
        assert_eq!(signed.load("abcdefgh").unwrap(), Loaded::Corrupt);
        kv.insert("sessionidabcdefgh", MemValue::Plain(vec![b'x'; 3 << 20], None));
        assert_eq!(signed.load("abcdefgh"), Err(Error::TooLarge));

        let (django, kv) = store(Format::DjangoPickle, settings());
        let name = "django.contrib.sessions.cacheabcdefgh";
        kv.insert(name, MemValue::Plain(b"hello".to_vec(), None));
        assert_eq!(django.load("abcdefgh").unwrap(), Loaded::Corrupt);
        // pickle.dumps(os.system) style: a global, never looked up.
        kv.insert(name, MemValue::Plain(b"\x80\x05\x95\x0e\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x8c\x06system\x93.".to_vec(), None));
        assert_eq!(django.load("abcdefgh").unwrap(), Loaded::Corrupt);
        // Django's RedisSerializer stores a bare int as its digits.
        kv.insert(name, MemValue::Plain(b"42".to_vec(), None));
        assert_eq!(django.load("abcdefgh").unwrap(), Loaded::Corrupt);
        kv.insert(name, MemValue::Other);
        assert_eq!(django.load("abcdefgh").unwrap(), Loaded::Corrupt);
    }
}

/// A directory in which a save lands at a chosen moment: a fresh session
/// file is renamed over the session's name, as another process's save may
/// do between the sweep's (or a load's) read and its delete.
struct SaveDuring {
    inner: NativeDir,
    path: std::path::PathBuf,
    fresh: String,
    /// Right after each open of a session; else right after the checks, as
    /// the delete of a session's name begins.
    after_open: bool,
    /// Runs right after a session was taken off its name.
    after_take: Option<Box<dyn Fn()>>,
}

impl SaveDuring {
    fn save(&self, name: &str) -> std::io::Result<()> {
        let temp = self.path.join(format!("{name}_out_fresh"));
        fs::write(&temp, &self.fresh)?;
        fs::rename(&temp, self.path.join(name))
    }
    /// At the start of a delete of `name`, when that is the moment.
    fn before_delete(&self, name: &str) -> std::io::Result<()> {
        if self.after_open || name.contains("_out_") {
            return Ok(());
        }
        self.save(name)
    }
}

impl crate::Dir for SaveDuring {
    type File = cap_std::fs::File;
    fn open(&self, name: &str) -> std::io::Result<Self::File> {
        let file = self.inner.open(name)?;
        if self.after_open {
            self.save(name)?;
        }
        Ok(file)
    }
    fn create_new(&self, name: &str) -> std::io::Result<Self::File> {
        self.inner.create_new(name)
    }
    fn symlink_metadata(&self, name: &str) -> std::io::Result<crate::Metadata> {
        self.inner.symlink_metadata(name)
    }
    fn identity(&self, name: &str) -> std::io::Result<u128> {
        self.inner.identity(name)
    }
    fn rename(&self, from: &str, to: &str) -> std::io::Result<()> {
        self.inner.rename(from, to)
    }
    fn take(&self, from: &str, to: &str) -> std::io::Result<()> {
        self.before_delete(from)?;
        self.inner.take(from, to)?;
        if let Some(after) = &self.after_take {
            after();
        }
        Ok(())
    }
    fn hard_link(&self, from: &str, to: &str) -> std::io::Result<()> {
        self.inner.hard_link(from, to)
    }
    fn remove_file(&self, name: &str) -> std::io::Result<()> {
        self.before_delete(name)?;
        self.inner.remove_file(name)
    }
    fn for_each_entry(&self, f: &mut dyn FnMut(&str)) -> std::io::Result<u32> {
        self.inner.for_each_entry(f)
    }
    fn sync(&self) -> std::io::Result<()> {
        self.inner.sync()
    }
    fn set_modified(&self, name: &str, modified: crate::Time) -> std::io::Result<()> {
        self.inner.set_modified(name, modified)
    }
}

/// An expired session is deleted only while its name still holds the file
/// that was judged: a save renamed over it meanwhile, after the read or
/// even after every check, survives the sweep and the load that found the
/// old content expired.
#[test]
fn a_session_saved_after_it_was_read_is_not_deleted_as_expired() {
    let mut s = settings();
    s.cookie_age = 100;
    let tmp = tempfile::tempdir().unwrap();
    let plain = SessionStore::new(NativeDir::open(tmp.path()).unwrap(), NativeSystem, s.clone()).unwrap();
    let fresh_key = plain.create(r#"{"fresh":1}"#).unwrap();
    let fresh = fs::read_to_string(tmp.path().join(format!("sessionid{fresh_key}"))).unwrap();
    for after_open in [true, false] {
        let dir = SaveDuring { inner: NativeDir::open(tmp.path()).unwrap(), path: tmp.path().to_owned(), fresh: fresh.clone(), after_open, after_take: None };
        let racing = SessionStore::new(dir, NativeSystem, s.clone()).unwrap();
        for sweep in [true, false] {
            let key = plain.create(r#"{"old":1}"#).unwrap();
            let path = tmp.path().join(format!("sessionid{key}"));
            age_file(&path, 1000);
            if sweep {
                let report = racing.clear_expired().unwrap();
                assert_eq!(report.deleted, 0, "{report:?}");
            } else {
                assert_eq!(racing.load(&key).unwrap(), Loaded::Expired, "the content read had expired");
            }
            // The file saved meanwhile is still there, and live.
            let at = if after_open { "after the open" } else { "after the checks" };
            assert!(path.exists(), "sweep {sweep}, saved {at}: the session saved meanwhile was deleted");
            assert_eq!(plain.load(&key).unwrap().into_data(), Some(r#"{"fresh":1}"#.into()), "sweep {sweep}, saved {at}");
            plain.delete(&key).unwrap();
        }
    }
    // Nothing left under a temporary name but the fresh session's own.
    let names: Vec<String> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names, [format!("sessionid{fresh_key}")], "leftovers");
}

/// A logout landing while the sweep holds a just-saved session aside (it
/// took the name after a save renamed a fresh file over the expired one it
/// judged): the delete finds it under the aside name, and the sweep does
/// not give it back.
#[test]
fn a_logout_while_the_sweep_holds_a_session_aside_stays_a_logout() {
    let mut s = settings();
    s.cookie_age = 100;
    let tmp = tempfile::tempdir().unwrap();
    let plain = std::rc::Rc::new(SessionStore::new(NativeDir::open(tmp.path()).unwrap(), NativeSystem, s.clone()).unwrap());
    let fresh_key = plain.create(r#"{"fresh":1}"#).unwrap();
    let fresh = fs::read_to_string(tmp.path().join(format!("sessionid{fresh_key}"))).unwrap();
    plain.delete(&fresh_key).unwrap();
    let key = plain.create(r#"{"old":1}"#).unwrap();
    age_file(&tmp.path().join(format!("sessionid{key}")), 1000);
    let (logout, k) = (plain.clone(), key.clone());
    let after_take: Box<dyn Fn()> = Box::new(move || assert!(logout.delete(&k).unwrap(), "the logout found nothing to delete"));
    let dir = SaveDuring { inner: NativeDir::open(tmp.path()).unwrap(), path: tmp.path().to_owned(), fresh, after_open: false, after_take: Some(after_take) };
    let racing = SessionStore::new(dir, NativeSystem, s).unwrap();
    racing.clear_expired().unwrap();
    assert_eq!(plain.load(&key).unwrap(), Loaded::Missing, "the sweep gave a logged-out session back");
    let names: Vec<String> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(names.is_empty(), "leftovers: {names:?}");
}
