//! Real Django sharing sessions with sessionbox through Redis: Django's
//! cache session backend (`django.contrib.sessions.backends.cache`) on
//! `django.core.cache.backends.redis.RedisCache`, and a sessionbox store in
//! `RedisFormat::Django` on the same server, each reading what the other
//! wrote, both ways.

use crate::support::data as obj;
use crate::support::django::{self, django_redis_python, expected_json};
use crate::support::redis::RedisServer;
use serde_json::{json, Value};
use sessionbox::{Data, Error, Loaded, RedisFormat, RedisOptions, Settings, Store, EXPIRY_KEY};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECRET: &str = "django-redis-interop-secret-5b1e";
/// A SESSION_COOKIE_AGE other than Django's default, on both sides.
const COOKIE_AGE: u64 = 3600;

/// The Django side: one Python process per operation, with settings
/// configured inline (cache session backend on RedisCache). `argv[1]` is a
/// JSON object: the cache settings, `op` and the op's arguments; it prints
/// one JSON object.


/// Django's cache backend on one server (`support::django::Driver`, the
/// `cache` engine), one process per test.
struct Django {
    driver: std::sync::Mutex<django::Driver>,
}

impl Django {
    fn new(redis: &RedisServer) -> Django {
        Django::with_key(redis, "", 1)
    }

    fn with_key(redis: &RedisServer, key_prefix: &str, version: i64) -> Django {
        let config = json!({
            "engine": "cache",
            "secret_key": SECRET,
            "cookie_age": COOKIE_AGE,
            "cache": {"url": redis.url(), "key_prefix": key_prefix, "version": version},
        });
        Django { driver: std::sync::Mutex::new(django::Driver::start(&django_redis_python(), &config)) }
    }

    /// Runs one op (`{"op": ..., args}`) that must succeed; its result.
    fn run(&self, op: Value) -> Value {
        self.driver.lock().unwrap().ok(&op)
    }

    /// Creates a session holding `data` (and [`EXPECTED`] when asked);
    /// its key.
    fn create(&self, extra: Value) -> String {
        let mut op = extra;
        op["op"] = json!("create");
        let out = self.run(op);
        out["key"].as_str().unwrap().to_owned()
    }

    /// What the cache holds for `key` and what Django's load makes of it.
    fn load(&self, key: &str) -> Value {
        self.run(json!({"op": "state", "key": key}))
    }
}

fn settings() -> Settings {
    let mut settings = Settings::new(SECRET);
    settings.cookie_age = COOKIE_AGE;
    settings
}

fn store_with(redis: &RedisServer, format: RedisFormat) -> Store {
    Store::open_redis(&RedisOptions { format, ..RedisOptions::new(redis.url()) }, settings()).unwrap()
}

fn store(redis: &RedisServer) -> Store {
    store_with(redis, RedisFormat::django())
}

fn found(store: &Store, key: &str) -> (Data, SystemTime) {
    match store.load(key).unwrap() {
        Loaded::Found { data, expires_at } => (data, expires_at),
        other => panic!("session {key}: {other:?}"),
    }
}

fn gone(store: &Store, key: &str) -> bool {
    matches!(store.load(key).unwrap(), Loaded::Missing | Loaded::Expired)
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn now() -> f64 {
    unix(SystemTime::now())
}

/// The Redis key Django's cache gives a session with the default
/// KEY_PREFIX and VERSION.
fn redis_key(key: &str) -> String {
    format!(":1:django.contrib.sessions.cache{key}")
}

fn pttl_ms(redis: &RedisServer, name: &str) -> i64 {
    redis.cli(&["pttl", name]).parse().unwrap()
}

#[test]
fn django_writes_every_plain_type_and_sessionbox_reads_it_exactly() {
    let redis = RedisServer::start();
    let django = Django::new(&redis);
    let store = store(&redis);
    let before = now();
    let key = django.create(json!({"expected": true}));
    let after = now();
    assert_eq!(redis.cli(&["keys", "*"]), redis_key(&key), "Django's key");

    let (data, expires_at) = found(&store, &key);
    // Django set it between `before` and `after` (a loaded machine may take
    // seconds), with a TTL of SESSION_COOKIE_AGE.
    let at = unix(expires_at);
    assert!((before + COOKIE_AGE as f64 - 3.0..=after + COOKIE_AGE as f64 + 1.0).contains(&at), "expires in SESSION_COOKIE_AGE: {} after the create began", at - before);
    assert_eq!(data["name"], "Zoë Ünïcödé 日本語 🎉👩‍💻");
    assert_eq!(data["escapes"], "quote \" backslash \\ newline \n tab \t nul \0 del \x7f");
    assert_eq!(data["big"].to_string(), "1267650600228229401496703205376");
    assert_eq!(data["neg_big"].to_string(), "-1180591620717411303424");
    assert_eq!(data["i64max"].to_string(), "9223372036854775807");
    assert_eq!((&data["yes"], &data["no"], &data["nothing"]), (&json!(true), &json!(false), &Value::Null));
    assert_eq!(data["many"].as_array().unwrap().len(), 2500);
    assert_eq!(data["many_keys"].as_object().unwrap().len(), 1200);
    assert_eq!(data["shared_a"], json!(["same", 1]));
    assert_eq!(data["shared_b"], json!(["same", 1]), "a memo reference");
    let expected = sessionbox::parse_data(&expected_json()).unwrap();
    assert_eq!(data.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "the keys in Django's order");

    // Exactly, as Python compares (types included): sessionbox's JSON
    // text, read by Python's json, is EXPECTED.
    let Loaded::Found { data: text, .. } = store.load_json(&key).unwrap() else { panic!("not found as JSON") };
    let out = django.run(json!({"op": "same_as", "which": "expected", "text": text}));
    assert_eq!(out["differences"], json!([]), "sessionbox's reading of Django's pickle");
}

#[test]
fn sessionbox_writes_every_plain_type_and_django_reads_it_exactly() {
    let redis = RedisServer::start();
    let django = Django::new(&redis);
    let store = store(&redis);
    let key = store.create_json(&expected_json()).unwrap();
    assert_eq!(redis.cli(&["keys", "*"]), redis_key(&key), "the key Django's cache uses");
    let pttl = pttl_ms(&redis, &redis_key(&key));
    assert!((COOKIE_AGE as i64 * 1000 - 3000..=COOKIE_AGE as i64 * 1000).contains(&pttl), "PX SESSION_COOKIE_AGE: {pttl}");

    let seen = django.run(json!({"op": "state", "key": key, "expected": true}));
    assert_eq!(seen["differences"], json!([]), "Django's reading of sessionbox's pickle");
    assert_eq!((&seen["present"], &seen["exists"]), (&json!(true), &json!(true)));
    assert_eq!(seen["expiry_age"], COOKIE_AGE);

    // An update on each side, seen by the other; one key throughout.
    let out = django.run(json!({"op": "save", "key": key, "data": {"from_django": "ünï", "n": 43}}));
    assert_eq!(out["key"], key.as_str());
    let (data, _) = found(&store, &key);
    assert_eq!((&data["from_django"], &data["n"], &data["name"]), (&json!("ünï"), &json!(43), &json!("Zoë Ünïcödé 日本語 🎉👩‍💻")));
    let mut data = data;
    data.insert("from_sessionbox".into(), json!([1.5, {"ok": true}]));
    store.save(&key, &data, false).unwrap();
    let seen = django.load(&key);
    assert_eq!(seen["data"]["from_sessionbox"], json!([1.5, {"ok": true}]));
    assert_eq!(seen["data"]["from_django"], "ünï");
    assert_eq!(redis.cli(&["dbsize"]), "1");
}

#[test]
fn an_expiry_set_on_either_side_is_honoured_by_the_other() {
    let redis = RedisServer::start();
    let django = Django::new(&redis);
    let store = store(&redis);

    // Django's set_expiry(60).
    let key = django.create(json!({"data": {"a": 1}, "expiry": 60}));
    let (data, expires_at) = found(&store, &key);
    assert_eq!(data[EXPIRY_KEY], 60);
    let left = unix(expires_at) - now();
    assert!((57.0..=60.5).contains(&left), "sessionbox sees Django's 60 s expiry: {left}");

    // sessionbox's `_session_expiry: 60`.
    let key = store.create(&obj(json!({"b": 2, EXPIRY_KEY: 60}))).unwrap();
    let pttl = pttl_ms(&redis, &redis_key(&key));
    assert!((57_000..=60_000).contains(&pttl), "the cache TTL: {pttl} ms");
    let seen = django.load(&key);
    assert_eq!(seen["expiry_age"], 60, "Django's get_expiry_age: {seen}");
    assert_eq!(seen["data"]["b"], 2);

    // An expiry set by Django on sessionbox's session, and back.
    django.run(json!({"op": "set_expiry", "key": key, "expiry": 300}));
    let (_, expires_at) = found(&store, &key);
    let left = unix(expires_at) - now();
    assert!((297.0..=300.5).contains(&left), "Django's set_expiry(300): {left}");
    store.save(&key, &obj(json!({"b": 3, EXPIRY_KEY: 120})), false).unwrap();
    let seen = django.load(&key);
    assert_eq!((&seen["expiry_age"], &seen["data"]["b"]), (&json!(120), &json!(3)));
    let pttl = pttl_ms(&redis, &redis_key(&key));
    assert!((117_000..=120_000).contains(&pttl), "the cache TTL after sessionbox's save: {pttl} ms");

    // A moment (set_expiry(timedelta)) is kept as an ISO 8601 string; a
    // sessionbox save of the data as it is keeps the TTL to that moment.
    django.run(json!({"op": "set_expiry", "key": key, "expiry": {"timedelta": 90}}));
    let (data, expires_at) = found(&store, &key);
    let moment = data[EXPIRY_KEY].as_str().unwrap_or_else(|| panic!("an ISO string: {data:?}")).to_owned();
    assert!(moment.ends_with("+00:00"), "{moment}");
    let left = unix(expires_at) - now();
    assert!((87.0..=90.5).contains(&left), "Django's set_expiry(timedelta(seconds=90)): {left}");
    store.save(&key, &data, false).unwrap();
    let pttl = pttl_ms(&redis, &redis_key(&key));
    assert!((86_000..=90_000).contains(&pttl), "the TTL follows the moment {moment}: {pttl} ms");
    let seen = django.load(&key);
    assert_eq!(seen["data"][EXPIRY_KEY], moment.as_str());
    let age = seen["expiry_age"].as_i64().unwrap();
    assert!((86..=90).contains(&age), "Django's get_expiry_age: {age}");

    // `_session_expiry: 0` (until the browser closes) lives SESSION_COOKIE_AGE
    // in the cache, on both sides.
    store.save(&key, &obj(json!({"b": 4, EXPIRY_KEY: 0})), false).unwrap();
    let pttl = pttl_ms(&redis, &redis_key(&key));
    assert!((COOKIE_AGE as i64 * 1000 - 3000..=COOKIE_AGE as i64 * 1000).contains(&pttl), "{pttl} ms");
    assert_eq!(django.load(&key)["expiry_age"], COOKIE_AGE);
    django.run(json!({"op": "set_expiry", "key": key, "expiry": 0}));
    let (data, expires_at) = found(&store, &key);
    assert_eq!(data[EXPIRY_KEY], 0);
    let left = unix(expires_at) - now();
    assert!((COOKIE_AGE as f64 - 3.0..=COOKIE_AGE as f64 + 0.5).contains(&left), "{left}");

    // An expiry already past ends the session, whichever side sets it.
    let result = store.save(&key, &obj(json!({"b": 5, EXPIRY_KEY: -1})), false);
    assert_eq!(result, Ok(()));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(redis.cli(&["exists", &redis_key(&key)]), "0", "sessionbox's past expiry");
    assert_eq!(django.load(&key)["present"], false);
    let key = django.create(json!({"data": {"c": 1}}));
    django.run(json!({"op": "set_expiry", "key": key, "expiry": -1}));
    assert_eq!(redis.cli(&["exists", &redis_key(&key)]), "0", "Django's past expiry deletes the key");
    assert!(gone(&store, &key));
}

#[test]
fn a_one_second_session_is_gone_on_both_sides_two_seconds_later() {
    let redis = RedisServer::start();
    let django = Django::new(&redis);
    let store = store(&redis);
    let from_django = django.create(json!({"data": {"who": "django"}, "expiry": 1}));
    let from_sessionbox = store.create(&obj(json!({"who": "sessionbox", EXPIRY_KEY: 1}))).unwrap();
    // Both in Redis with their one-second TTL. (Not loaded through
    // sessionbox here: it takes a session with less than a whole second
    // left for expired, as Django's file backend does, and deletes it.)
    for key in [&from_django, &from_sessionbox] {
        let pttl = pttl_ms(&redis, &redis_key(key));
        assert!((1..=1000).contains(&pttl), "{key}: PTTL {pttl}");
    }
    std::thread::sleep(Duration::from_millis(2100));
    for key in [&from_django, &from_sessionbox] {
        assert!(gone(&store, key), "sessionbox still finds {key}: {:?}", store.load(key));
        let seen = django.load(key);
        assert_eq!((&seen["present"], &seen["exists"], &seen["data"]), (&json!(false), &json!(false), &json!({})), "Django: {seen}");
        assert_eq!(redis.cli(&["exists", &redis_key(key)]), "0");
    }
}

#[test]
fn cycle_key_on_either_side_moves_the_data_for_the_other() {
    let redis = RedisServer::start();
    let django = Django::new(&redis);
    let store = store(&redis);
    let key = django.create(json!({"data": {"user": "alice", "n": 1}}));

    // Django's cycle_key (as its login does).
    let cycled = django.run(json!({"op": "cycle_key", "key": key, "save": true}))["key"].as_str().unwrap().to_owned();
    assert_ne!(cycled, key);
    assert!(gone(&store, &key), "nothing under the old key: {:?}", store.load(&key));
    let (data, _) = found(&store, &cycled);
    assert_eq!(data, obj(json!({"user": "alice", "n": 1})));
    assert_eq!(redis.cli(&["keys", "*"]), redis_key(&cycled));

    // sessionbox's.
    let again = store.cycle_key(&cycled, &data).unwrap();
    assert_ne!(again, cycled);
    let seen = django.load(&cycled);
    assert_eq!((&seen["present"], &seen["data"]), (&json!(false), &json!({})), "Django finds nothing under the old key");
    let seen = django.load(&again);
    assert_eq!(seen["data"], json!({"user": "alice", "n": 1}));
    assert_eq!(seen["expiry_age"], COOKIE_AGE);
    assert_eq!(redis.cli(&["keys", "*"]), redis_key(&again));
}

#[test]
fn a_logout_on_either_side_ends_the_session_for_both() {
    let redis = RedisServer::start();
    let django = Django::new(&redis);
    let store = store(&redis);

    // Django's flush (its logout) of a session sessionbox made.
    let key = store.create(&obj(json!({"_auth_user_id": "42"}))).unwrap();
    assert_eq!(django.load(&key)["data"]["_auth_user_id"], "42");
    django.run(json!({"op": "flush", "key": key}));
    assert!(gone(&store, &key), "sessionbox sees the logout: {:?}", store.load(&key));
    // A request that loaded the session before the logout saves after it:
    // the session is not brought back.
    assert_eq!(store.save(&key, &obj(json!({"_auth_user_id": "42", "late": true})), false), Err(Error::NotFound));
    assert_eq!(redis.cli(&["exists", &redis_key(&key)]), "0", "the key stays absent");
    assert!(gone(&store, &key));
    assert_eq!(redis.cli(&["dbsize"]), "0");

    // sessionbox's delete of a session Django made.
    let key = django.create(json!({"data": {"_auth_user_id": "7"}}));
    assert_eq!(found(&store, &key).0["_auth_user_id"], "7");
    assert!(store.delete(&key).unwrap());
    let seen = django.load(&key);
    assert_eq!((&seen["present"], &seen["exists"], &seen["data"]), (&json!(false), &json!(false), &json!({})), "Django sees the logout: {seen}");
    // Django's next save makes a new session, as for any unknown key.
    let out = django.run(json!({"op": "save", "key": key, "data": {"x": 1}}));
    assert_ne!(out["key"], key.as_str(), "{out}");
    assert_eq!(redis.cli(&["exists", &redis_key(&key)]), "0");
    assert!(!store.exists(&key).unwrap());
}

#[test]
fn a_non_default_key_prefix_and_version_are_shared() {
    let redis = RedisServer::start();
    let django = Django::with_key(&redis, "app", 3);
    let format = RedisFormat::Django { key_prefix: "app".into(), version: 3 };
    let store = store_with(&redis, format);
    let default_store = self::store(&redis);

    let key = django.create(json!({"data": {"from": "django"}}));
    assert_eq!(redis.cli(&["keys", "*"]), format!("app:3:django.contrib.sessions.cache{key}"));
    assert_eq!(found(&store, &key).0["from"], "django");
    assert!(matches!(default_store.load(&key).unwrap(), Loaded::Missing), "not under the default prefix and version");

    let mine = store.create(&obj(json!({"from": "sessionbox"}))).unwrap();
    assert_eq!(redis.cli(&["exists", &format!("app:3:django.contrib.sessions.cache{mine}")]), "1");
    assert_eq!(django.load(&mine)["data"]["from"], "sessionbox");
    // Another VERSION is another cache: Django there finds nothing.
    let other = Django::with_key(&redis, "app", 4);
    assert_eq!(other.load(&mine)["present"], false);
    assert_eq!(Django::new(&redis).load(&mine)["present"], false);
}

#[test]
fn pickles_of_other_objects_are_corrupt_and_never_run() {
    let redis = RedisServer::start();
    let django = Django::new(&redis);
    let store = store(&redis);
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("ran");

    // A tuple reads as a list, as Django's JSON serializer would write it.
    let key = django.create(json!({"data": {"user": "alice"}, "exotic": "tuple", "marker": marker}));
    let Loaded::Found { data, .. } = store.load(&key).unwrap() else { panic!("a tuple is plain data") };
    assert_eq!(data.get("value"), Some(&json!([1, "two"])));
    for exotic in ["datetime", "date", "set", "frozenset", "bytes", "int_key", "complex", "evil"] {
        let key = django.create(json!({"data": {"user": "alice"}, "exotic": exotic, "marker": marker}));
        assert_eq!(redis.cli(&["exists", &redis_key(&key)]), "1", "{exotic}: Django's cache holds it");
        let loaded = store.load(&key).unwrap();
        assert!(matches!(loaded, Loaded::Corrupt), "{exotic}: {loaded:?}");
        assert!(matches!(store.load_json(&key).unwrap(), Loaded::Corrupt), "{exotic} as JSON");
        assert!(!marker.exists(), "{exotic}: nothing ran");
        if exotic != "evil" {
            // A value Django itself reads back.
            let seen = django.load(&key);
            assert_eq!(seen["present"], true, "{exotic}: {seen}");
        }
    }
    assert!(!marker.exists(), "sessionbox ran nothing");
    // The payload was live: Django's own load runs it.
    let key = django.create(json!({"data": {}, "exotic": "evil", "marker": marker}));
    assert!(matches!(store.load(&key).unwrap(), Loaded::Corrupt));
    assert!(!marker.exists());
    django.load(&key);
    assert!(marker.exists(), "unpickling in Python runs os.system");
}

#[test]
fn pickles_of_every_protocol_load_exactly() {
    let redis = RedisServer::start();
    let django = Django::new(&redis);
    let store = store(&redis);
    for protocol in 0..=5 {
        let key = format!("protocol{protocol}session");
        django.run(json!({"op": "raw_pickle", "key": key, "protocol": protocol}));
        let Loaded::Found { data: text, expires_at } = store.load_json(&key).unwrap() else {
            panic!("protocol {protocol}: {:?}", store.load(&key))
        };
        let left = unix(expires_at) - now();
        assert!((595.0..=600.5).contains(&left), "protocol {protocol}: the TTL: {left}");
        let out = django.run(json!({"op": "same_as", "which": "expected", "text": text}));
        assert_eq!(out["differences"], json!([]), "protocol {protocol}");
    }
}

/// Shared references are followed when reading (as Python does), so a
/// pickle a few hundred bytes long can stand for endless data: a list that
/// holds itself, or nine levels of ten references each ("billion laughs").
/// Both are refused as larger than the max session size, at once.
#[test]
fn a_cyclic_or_exploding_pickle_is_refused_as_too_large() {
    let redis = RedisServer::start();
    let django = Django::new(&redis);
    let store = store(&redis);
    for exotic in ["cycle", "laughs"] {
        let key = django.create(json!({"data": {"user": "alice"}, "exotic": exotic}));
        let len: usize = redis.cli(&["strlen", &redis_key(&key)]).parse().unwrap();
        assert!(len < 300, "{exotic}: a small pickle ({len} bytes)");
        let started = std::time::Instant::now();
        assert_eq!(store.load(&key), Err(Error::TooLarge), "{exotic}");
        assert_eq!(store.load_json(&key), Err(Error::TooLarge), "{exotic} as JSON");
        assert!(started.elapsed() < Duration::from_secs(5), "{exotic}: refused at once, not after {:?}", started.elapsed());
        assert_eq!(redis.cli(&["exists", &redis_key(&key)]), "1", "{exotic}: left in place");
    }
}

/// NaN, the infinities and a lone surrogate: Python's json and pickle hold
/// them, and the `*_json` methods carry them both ways.
#[test]
fn nan_infinities_and_lone_surrogates_cross_both_ways() {
    let redis = RedisServer::start();
    let django = Django::new(&redis);
    let store = store(&redis);
    let text = r#"{"nan":NaN,"inf":Infinity,"ninf":-Infinity,"lone":"\ud800x","pair":"\ud83c\udf89"}"#;
    let key = store.create_json(text).unwrap();
    let seen = django.run(json!({"op": "state", "key": key, "special": true}));
    assert_eq!(seen["differences"], json!([]), "Django's reading of sessionbox's pickle: {seen}");

    let key = django.create(json!({"special": true}));
    let Loaded::Found { data: text, .. } = store.load_json(&key).unwrap() else { panic!("{:?}", store.load(&key)) };
    let out = django.run(json!({"op": "same_as", "which": "special", "text": text}));
    assert_eq!(out["differences"], json!([]), "sessionbox's reading of Django's pickle: {text}");
    // And an update through sessionbox's JSON keeps them for Django.
    store.save_json(&key, &text, false).unwrap();
    let seen = django.run(json!({"op": "state", "key": key, "special": true}));
    assert_eq!(seen["differences"], json!([]), "{seen}");
}

/// Pickles the dict `{"big": [10**4299 + 7 + i for i in range(count)]}`
/// (ints of 4300 digits, Python's limit) as Django's `RedisCache` does,
/// protocol 5, under session `key`, straight through redis-py.
fn plant_big_ints(redis: &RedisServer, key: &str, count: usize) -> usize {
    let script = "import pickle, sys, redis\n\
                  n = 10**4299 + 7\n\
                  value = pickle.dumps({'big': [n + i for i in range(int(sys.argv[3]))]}, pickle.HIGHEST_PROTOCOL)\n\
                  redis.Redis.from_url(sys.argv[1]).set(sys.argv[2], value)\n\
                  print(len(value))";
    let out = Command::new(django_redis_python()).args(["-c", script, &redis.url(), &redis_key(key), &count.to_string()]).output().unwrap();
    assert!(out.status.success(), "planting the pickle: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The CPU time this thread has used: what a load costs, whatever else
/// the machine runs (the guest runs on the calling thread).
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes only the timespec it is given.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// A planted pickle of thousands of 4300-digit ints (3.9 MB, under the
/// read limit of four times the max session size) would take seconds of
/// CPU to turn into decimal; it is refused as too large once its digits
/// pass the size limit, before the rest are converted. As many such ints
/// as a session holds read whole. Each load costs under half a second of
/// this thread's CPU (where it took 3.5 s), and answers within two seconds
/// however busy the machine.
#[test]
fn a_planted_pickle_of_huge_ints_is_answered_in_bounded_time() {
    let redis = RedisServer::start();
    let store = store(&redis);
    let planted = "plantedhugeints00000000000000000";
    let len = plant_big_ints(&redis, planted, 2200);
    assert!(len > 3_900_000, "{len} bytes");
    let fits = "fittinghugeints00000000000000000";
    // `{"big":[` and `]}` around 240 ints and their commas: under 1 MiB.
    let count = 240;
    plant_big_ints(&redis, fits, count);
    let json_len = count * 4301 - 1 + 10;
    assert!(json_len < sessionbox::DEFAULT_MAX_SESSION_SIZE as usize);
    // A load first, so the figures below count no instance start-up.
    assert_eq!(store.load_json("nosuchsession0000000000000000000").unwrap(), Loaded::Missing);
    let timed = |f: &dyn Fn()| {
        let (wall, cpu) = (std::time::Instant::now(), thread_cpu_time());
        f();
        (wall.elapsed(), thread_cpu_time() - cpu)
    };
    for round in 0..3 {
        let refused = timed(&|| assert_eq!(store.load_json(planted), Err(Error::TooLarge)));
        let read = timed(&|| {
            let read = store.load_json(fits).unwrap();
            let Loaded::Found { data, .. } = read else { panic!("{read:?}") };
            assert_eq!(data.len(), json_len);
            assert!(data.starts_with("{\"big\":[1000") && data.ends_with("0246]}"), "{}…{}", &data[..20], &data[data.len() - 20..]);
        });
        eprintln!(
            "django redis: {len} bytes of 4300-digit ints refused after {:?} ({:?} of CPU); {count} of them read after {:?} ({:?} of CPU) (round {round})",
            refused.0, refused.1, read.0, read.1
        );
        for (what, (wall, cpu)) in [("refusing the planted pickle", refused), (&*format!("reading {count} huge ints"), read)] {
            assert!(cpu < Duration::from_millis(500), "round {round}: {what} took {cpu:?} of CPU");
            assert!(wall < Duration::from_secs(2), "round {round}: {what} took {wall:?}");
        }
    }
}
