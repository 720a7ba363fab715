//! The public storage seam: a key-value provider written here, outside the
//! crate, as a user would (`sessionbox::kv::KeyValue`), and the in-memory
//! provider the crate ships (`sessionbox::kv::MemoryKv`), each serving the
//! whole session API through the component, in both value formats, with
//! the TTLs the component asks for and a logout racing a dozen saves.

use crate::support::data;
use crate::support::storm::version;
use serde_json::json;
use sessionbox::kv::{Format, KeyValue, KvEntry, KvError, MemoryKv};
use sessionbox::{Error, Loaded, Options, Settings, Store, EXPIRY_KEY};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "kv-provider-secret";

/// A user's provider: a map with TTLs, counting its calls.
#[derive(Default)]
struct UserKv {
    map: Mutex<HashMap<String, (Vec<u8>, Option<Instant>)>>,
    calls: AtomicU64,
    format: Option<Format>,
}

impl UserKv {
    fn live<'a>(map: &'a HashMap<String, (Vec<u8>, Option<Instant>)>, key: &str) -> Option<&'a (Vec<u8>, Option<Instant>)> {
        map.get(key).filter(|(_, until)| until.is_none_or(|t| t > Instant::now()))
    }
    fn put(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) {
        let until = ttl_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
        self.map.lock().unwrap().insert(key.to_owned(), (value.to_vec(), until));
    }
    fn raw(&self, key: &str) -> Option<(Vec<u8>, Option<Duration>)> {
        let map = self.map.lock().unwrap();
        Self::live(&map, key).map(|(v, until)| (v.clone(), until.map(|t| t.saturating_duration_since(Instant::now()))))
    }
    fn stored_keys(&self) -> Vec<String> {
        let map = self.map.lock().unwrap();
        let mut keys: Vec<String> = map.keys().filter(|k| Self::live(&map, k).is_some()).cloned().collect();
        keys.sort();
        keys
    }
}

impl KeyValue for UserKv {
    fn format(&self) -> Format {
        self.format.unwrap_or(Format::Signed)
    }
    fn get(&self, key: &str, max_len: u64) -> Result<Option<KvEntry>, KvError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let map = self.map.lock().unwrap();
        match Self::live(&map, key) {
            None => Ok(None),
            Some((value, _)) if value.len() as u64 > max_len => Err(KvError::TooLarge),
            Some((value, until)) => {
                Ok(Some(KvEntry { value: value.clone(), ttl_ms: until.map(|t| t.saturating_duration_since(Instant::now()).as_millis().max(1) as u64) }))
            }
        }
    }
    fn set_if_absent(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if Self::live(&self.map.lock().unwrap(), key).is_some() {
            return Ok(false);
        }
        self.put(key, value, ttl_ms);
        Ok(true)
    }
    fn set_if_present(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<bool, KvError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut map = self.map.lock().unwrap();
        if Self::live(&map, key).is_none() {
            return Ok(false);
        }
        map.insert(key.to_owned(), (value.to_vec(), ttl_ms.map(|ms| Instant::now() + Duration::from_millis(ms))));
        Ok(true)
    }
    fn delete(&self, key: &str) -> Result<bool, KvError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut map = self.map.lock().unwrap();
        let was = Self::live(&map, key).is_some();
        map.remove(key);
        Ok(was)
    }
    fn exists(&self, key: &str) -> Result<bool, KvError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(Self::live(&self.map.lock().unwrap(), key).is_some())
    }
}

/// The whole store API on `store`; `stored(key)` is the raw value under a
/// session's key and its TTL, as the provider holds it.
fn exercise(store: &Store, format: Format, stored: &dyn Fn(&str) -> Option<(Vec<u8>, Option<Duration>)>) {
    assert!(store.expires_by_itself());
    assert!(store.dir().is_none());
    let cart = data(json!({"user": "42", "cart": [1, 2]}));
    let key = store.create(&cart).unwrap();
    let (value, ttl) = stored(&key).expect("the session's key holds it");
    let age = Duration::from_secs(sessionbox::DEFAULT_COOKIE_AGE);
    assert!(ttl.is_some_and(|t| t <= age && t > age - Duration::from_secs(10)), "{format:?}: TTL {ttl:?}");
    match format {
        // Django's cache backend: the dict pickled, protocol 5.
        Format::DjangoPickle => assert_eq!(&value[..2], b"\x80\x05", "not a protocol 5 pickle"),
        // Django's signed session text, which Django's signer reads.
        Format::Signed | Format::DjangoDb | Format::DjangoCachedDb => {
            let codec = sessionbox_guest::codec::Codec::new(SECRET, &[], sessionbox::DEFAULT_KEY_SALT);
            let (_, decoded) = codec.decode(&value, 1 << 20).expect("signed with the secret");
            assert_eq!(decoded, cart);
        }
    }
    match store.load(&key).unwrap() {
        Loaded::Found { data: d, .. } => assert_eq!(d, cart),
        other => panic!("{format:?}: {other:?}"),
    }
    assert!(store.exists(&key).unwrap());
    assert_eq!(store.load("nosuchsessionkey0000000000000000").unwrap(), Loaded::Missing);
    // Update; a create over it refused.
    store.save(&key, &data(json!({"user": "42", "theme": "dark"})), false).unwrap();
    assert_eq!(store.save(&key, &data(json!({"user": "evil"})), true), Err(Error::AlreadyExists));
    assert_eq!(store.load(&key).unwrap().into_data(), Some(data(json!({"user": "42", "theme": "dark"}))));
    // Its own expiry, 60 s, is the key's TTL.
    store.save(&key, &data(json!({"user": "42", EXPIRY_KEY: 60})), false).unwrap();
    let ttl = stored(&key).unwrap().1;
    assert!(ttl.is_some_and(|t| t <= Duration::from_secs(60) && t > Duration::from_secs(55)), "{format:?}: TTL {ttl:?}");
    // A Django-style session over it.
    let mut session = store.session(Some(&key));
    assert_eq!(session.get("user").unwrap(), Some(json!("42")));
    session.insert("seen", true).unwrap();
    session.save(false).unwrap();
    assert_eq!(store.session(Some(&key)).get("seen").unwrap(), Some(json!(true)));
    // cycle_key: the data under a new key, the old one gone.
    let new = store.cycle_key(&key, &data(json!({"user": "42", "cycled": true}))).unwrap();
    assert!(stored(&key).is_none() && stored(&new).is_some());
    // Delete; an update afterwards never brings it back.
    assert!(store.delete(&new).unwrap());
    assert!(!store.delete(&new).unwrap());
    assert_eq!(store.save(&new, &data(json!({"late": 1})), false), Err(Error::NotFound));
    assert!(stored(&new).is_none());
    // Nothing to sweep.
    let report = store.clear_expired().unwrap();
    assert_eq!((report.scanned, report.deleted), (0, 0));
}

/// A provider written outside the crate, in both formats: every call goes
/// through it, under Django's names for the keys.
#[test]
fn a_provider_written_outside_the_crate_serves_the_whole_api_in_both_formats() {
    for format in [Format::Signed, Format::DjangoPickle, Format::DjangoDb] {
        let kv = Arc::new(UserKv { format: Some(format), ..UserKv::default() });
        let store = Store::open_kv(kv.clone(), Settings::new(SECRET), Options::default()).unwrap();
        let name = |key: &str| match format {
            Format::Signed => format!("sessionid{key}"),
            Format::DjangoPickle => format!("django.contrib.sessions.cache{key}"),
            Format::DjangoDb | Format::DjangoCachedDb => key.to_owned(),
        };
        exercise(&store, format, &|key| kv.raw(&name(key)));
        assert!(kv.calls.load(Ordering::Relaxed) >= 15, "{} calls", kv.calls.load(Ordering::Relaxed));
        assert!(kv.stored_keys().is_empty(), "{format:?}: left {:?}", kv.stored_keys());
        assert!(format!("{store:?}").contains("UserKv"), "{store:?}");
    }
}

/// The in-memory provider, in both formats, and its TTLs running out.
#[test]
fn the_memory_provider_serves_the_whole_api_and_expires_by_ttl() {
    for format in [Format::Signed, Format::DjangoPickle, Format::DjangoDb] {
        // Read the raw values back through the same trait the component uses.
        let kv = Arc::new(MemoryKv::with_format(format));
        let store = Store::open_kv(kv.clone(), Settings::new(SECRET), Options::default()).unwrap();
        let name = |key: &str| match format {
            Format::Signed => format!("sessionid{key}"),
            Format::DjangoPickle => format!("django.contrib.sessions.cache{key}"),
            Format::DjangoDb | Format::DjangoCachedDb => key.to_owned(),
        };
        exercise(&store, format, &|key| {
            kv.get(&name(key), u64::MAX).unwrap().map(|e| (e.value, e.ttl_ms.map(Duration::from_millis)))
        });
        assert!(kv.is_empty());

        let mut brief = Settings::new(SECRET);
        brief.cookie_age = 1;
        let store = Store::open_kv(kv.clone(), brief, Options::default()).unwrap();
        let key = store.create(&data(json!({"user": "7"}))).unwrap();
        assert_eq!(kv.len(), 1);
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(store.load(&key).unwrap(), Loaded::Missing, "{format:?}");
        assert_eq!(store.save(&key, &data(json!({"user": "7"})), false), Err(Error::NotFound));
        assert!(kv.is_empty());
    }
}

/// A logout among a dozen concurrent saves of the session, 30 rounds, on
/// both providers: the update is set-if-present, so a save landing after
/// the delete finds nothing and the session never comes back.
#[test]
fn a_logout_among_a_dozen_concurrent_saves_is_never_undone_on_either_provider() {
    let stores = [
        ("memory", Store::open_kv(MemoryKv::new(), Settings::new(SECRET), Options::default()).unwrap()),
        ("user", Store::open_kv(UserKv::default(), Settings::new(SECRET), Options::default()).unwrap()),
    ];
    for (name, store) in &stores {
        let (mut undone, mut refused) = (0, 0);
        for round in 0..30u64 {
            let key = store.create(&version(0, round)).unwrap();
            let barrier = std::sync::Barrier::new(12);
            let results: Vec<Result<(), Error>> = std::thread::scope(|s| {
                let savers: Vec<_> = (1..12u64)
                    .map(|w| {
                        let (store, key, barrier) = (store, &key, &barrier);
                        s.spawn(move || {
                            barrier.wait();
                            store.save(key, &version(w, round), false)
                        })
                    })
                    .collect();
                barrier.wait();
                assert!(store.delete(&key).unwrap(), "{name}: the logout found nothing");
                savers.into_iter().map(|h| h.join().unwrap()).collect()
            });
            refused += results.iter().filter(|r| **r == Err(Error::NotFound)).count();
            assert!(results.iter().all(|r| matches!(r, Ok(()) | Err(Error::NotFound))), "{name}: {results:?}");
            if !matches!(store.load(&key).unwrap(), Loaded::Missing) {
                undone += 1;
            }
        }
        eprintln!("{name}: a logout among 11 concurrent saves, 30 rounds: {undone} undone, {refused} saves refused");
        assert_eq!(undone, 0, "{name}: {undone} of 30 logouts undone");
    }
}
