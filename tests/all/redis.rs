//! Sessions on Redis, through the real component and a real `redis-server`
//! (support/redis.rs): both value formats, two app-server processes
//! storming one server and a three-node Redis Cluster, the logout race
//! that SET XX closes, faults (no server, a killed server, a frozen
//! server, AUTH, eviction, foreign values) and the command line. The
//! worker processes are this test binary re-run with `SESSIONBOX_REDIS_WORKER`
//! set (see `worker`), as in storm.rs.

use crate::support::data;
use crate::support::redis::{free_port, RedisCluster, RedisServer};
use crate::support::storm::{check, logout_racing_an_update, mixed_ops, version};
use serde_json::{json, Value};
use sessionbox::{Error, Loaded, Options, RedisFormat, RedisOptions, Settings, Store, EXPIRY_KEY};
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

const WORKER_ENV: &str = "SESSIONBOX_REDIS_WORKER";
const SECRET: &str = "redis-test-secret";
const SHARED_KEYS: usize = 12;
const PASSWORD: &str = "pw-s3cret-Xq7";

fn settings() -> Settings {
    Settings::new(SECRET)
}

fn open(server: &RedisServer, format: RedisFormat) -> Store {
    let mut options = RedisOptions::new(server.url());
    options.format = format;
    Store::open_redis(&options, settings()).unwrap()
}

/// The Redis key a session key gets under `format` (default prefixes).
fn redis_key(format: &RedisFormat, key: &str) -> String {
    match format {
        RedisFormat::Signed { key_prefix } => format!("{key_prefix}sessionid{key}"),
        RedisFormat::Django { key_prefix, version } => format!("{key_prefix}:{version}:django.contrib.sessions.cache{key}"),
    }
}

/// A plain client for writing what the store never would.
fn raw(server: &RedisServer) -> ::redis::Connection {
    ::redis::Client::open(server.url()).unwrap().get_connection().unwrap()
}

fn raw_set(server: &RedisServer, key: &str, value: &[u8]) {
    ::redis::cmd("SET").arg(key).arg(value).query::<()>(&mut raw(server)).unwrap();
}

fn secs_from_now(t: SystemTime) -> f64 {
    match t.duration_since(SystemTime::now()) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

// ---------------------------------------------------------------- basics

#[test]
fn basics_in_both_formats() {
    for format in [RedisFormat::signed(), RedisFormat::django()] {
        let server = RedisServer::start();
        let store = open(&server, format.clone());
        assert!(store.expires_by_itself());
        assert!(store.dir().is_none());

        let key = store.create(&data(json!({"user": "42", "cart": [1, 2]}))).unwrap();
        let rk = redis_key(&format, &key);
        assert_eq!(server.cli(&["keys", "*"]), rk, "{format:?}: the only key");
        assert_eq!(server.cli(&["exists", &rk]), "1");
        assert_eq!(server.cli(&["type", &rk]), "string");
        let pttl: i64 = server.cli(&["pttl", &rk]).parse().unwrap();
        let age_ms = sessionbox::DEFAULT_COOKIE_AGE as i64 * 1000;
        assert!((age_ms - 10_000..=age_ms).contains(&pttl), "{format:?}: PTTL {pttl}, cookie age {age_ms} ms");
        if matches!(format, RedisFormat::Django { .. }) {
            // Pickle protocol 5, as Django's RedisCache writes it.
            let value: Vec<u8> = ::redis::cmd("GET").arg(&rk).query(&mut raw(&server)).unwrap();
            assert_eq!(&value[..2], b"\x80\x05", "{format:?}: not a protocol 5 pickle");
        } else {
            let value: String = ::redis::cmd("GET").arg(&rk).query(&mut raw(&server)).unwrap();
            assert!(value.is_ascii() && value.contains(':'), "{format:?}: signed text expected, got {value:?}");
        }

        match store.load(&key).unwrap() {
            Loaded::Found { data: d, expires_at } => {
                assert_eq!(d, data(json!({"user": "42", "cart": [1, 2]})));
                let left = secs_from_now(expires_at);
                assert!((left - sessionbox::DEFAULT_COOKIE_AGE as f64).abs() < 10.0, "{format:?}: expires in {left} s");
            }
            other => panic!("{format:?}: {other:?}"),
        }
        assert!(store.exists(&key).unwrap());
        assert!(!store.exists("nosuchsessionkey0000000000000000").unwrap());
        assert_eq!(store.load("nosuchsessionkey0000000000000000").unwrap(), Loaded::Missing);

        // Update, and a create over it refused.
        store.save(&key, &data(json!({"user": "42", "theme": "dark"})), false).unwrap();
        assert_eq!(store.save(&key, &data(json!({"user": "evil"})), true), Err(Error::AlreadyExists));
        assert!(matches!(store.load(&key).unwrap(), Loaded::Found { data: d, .. } if d == data(json!({"user": "42", "theme": "dark"}))));

        // Its own expiry: 60 s.
        store.save(&key, &data(json!({"user": "42", EXPIRY_KEY: 60})), false).unwrap();
        let pttl: i64 = server.cli(&["pttl", &rk]).parse().unwrap();
        assert!((55_000..=60_000).contains(&pttl), "{format:?}: PTTL {pttl} for _session_expiry 60");
        match store.load(&key).unwrap() {
            Loaded::Found { expires_at, .. } => {
                let left = secs_from_now(expires_at);
                assert!((55.0..=61.0).contains(&left), "{format:?}: expires in {left} s, not ~60");
            }
            other => panic!("{format:?}: {other:?}"),
        }

        // cycle_key: the data under a new key, the old key gone.
        let new = store.cycle_key(&key, &data(json!({"user": "42", "cycled": true}))).unwrap();
        assert_ne!(new, key);
        assert_eq!(server.cli(&["exists", &rk]), "0", "{format:?}: the old key survived cycle_key");
        assert_eq!(server.cli(&["exists", &redis_key(&format, &new)]), "1");
        assert!(matches!(store.load(&new).unwrap(), Loaded::Found { data: d, .. } if d == data(json!({"user": "42", "cycled": true}))));
        assert_eq!(store.load(&key).unwrap(), Loaded::Missing);

        // Delete; an update-save afterwards never brings it back.
        assert!(store.delete(&new).unwrap());
        assert!(!store.delete(&new).unwrap());
        assert_eq!(server.cli(&["exists", &redis_key(&format, &new)]), "0");
        assert_eq!(store.save(&new, &data(json!({"user": "42", "late": 1})), false), Err(Error::NotFound));
        assert_eq!(server.cli(&["exists", &redis_key(&format, &new)]), "0", "{format:?}: a save after delete recreated the key");
        assert!(!store.exists(&new).unwrap());
        assert_eq!(server.cli(&["dbsize"]), "0");

        // Nothing to sweep.
        let report = store.clear_expired().unwrap();
        assert_eq!((report.scanned, report.deleted, report.skipped), (0, 0, 0), "{format:?}");

        // A TTL that runs out: the key goes, the session loads as missing.
        let mut short = settings();
        short.cookie_age = 1;
        let mut options = RedisOptions::new(server.url());
        options.format = format.clone();
        let brief = Store::open_redis(&options, short).unwrap();
        let key = brief.create(&data(json!({"user": "7"}))).unwrap();
        let pttl: i64 = server.cli(&["pttl", &redis_key(&format, &key)]).parse().unwrap();
        assert!((1..=1000).contains(&pttl), "{format:?}: PTTL {pttl} for cookie_age 1");
        std::thread::sleep(Duration::from_millis(1200));
        assert_eq!(brief.load(&key).unwrap(), Loaded::Missing, "{format:?}");
        assert!(!brief.exists(&key).unwrap());
        assert_eq!(brief.save(&key, &data(json!({"user": "7"})), false), Err(Error::NotFound));
        assert_eq!(server.cli(&["dbsize"]), "0");
    }
}

/// Strings of every kind (long plain runs, quotes, backslashes, controls,
/// DEL, non-ASCII, astral) written, pickled or signed, read back and turned
/// into JSON again, in sessions from a few bytes up to just under the
/// default size limit: the data comes back exactly, and its JSON is the
/// host's own rendering of it.
#[test]
fn strings_of_every_kind_round_trip_up_to_the_size_limit_in_both_formats() {
    let server = RedisServer::start();
    let unit = "plain text run, ".repeat(8) + "\"q\" back\\slash \n\t\r\u{8}\u{c}\u{0}\u{1f}\u{7f} caf\u{e9} \u{4e2d} \u{1F600}~";
    let json_len = |value: &str| sessionbox_guest::json::object_to_string(&data(json!({ "s": value }))).len();
    let limit = sessionbox::DEFAULT_MAX_SESSION_SIZE as usize;
    let per_unit = json_len(&unit.repeat(2)) - json_len(&unit);
    let repeats = (limit - 200) / per_unit;
    for format in [RedisFormat::signed(), RedisFormat::django()] {
        let store = open(&server, format.clone());
        for n in [1, 7, repeats] {
            let value = unit.repeat(n);
            let session = data(json!({ "s": value, "k\"\u{e9}": [value.get(..40), "\u{1F600}"] }));
            let text = sessionbox_guest::json::object_to_string(&session);
            assert!(n < repeats || text.len() > limit - 2 * per_unit, "{} of {limit}", text.len());
            let key = store.create(&session).unwrap();
            match store.load(&key).unwrap() {
                Loaded::Found { data, .. } => assert!(data == session, "{format:?}, {n} repeats: the data changed"),
                other => panic!("{format:?}, {n} repeats: {other:?}"),
            }
            match store.load_json(&key).unwrap() {
                Loaded::Found { data: json, .. } => assert!(json == text, "{format:?}, {n} repeats: the JSON changed"),
                other => panic!("{format:?}, {n} repeats: {other:?}"),
            }
        }
    }
}

#[test]
fn key_prefix_and_cache_version_shape_the_keys() {
    let server = RedisServer::start();
    for format in [RedisFormat::Signed { key_prefix: "myapp:".into() }, RedisFormat::Django { key_prefix: "site".into(), version: 3 }] {
        let store = open(&server, format.clone());
        let key = store.create(&data(json!({"n": 1}))).unwrap();
        assert_eq!(server.cli(&["exists", &redis_key(&format, &key)]), "1", "{format:?}");
        assert!(store.delete(&key).unwrap());
    }
    // The formats do not read each other's keys.
    let signed = open(&server, RedisFormat::signed());
    let django = open(&server, RedisFormat::django());
    let key = signed.create(&data(json!({"n": 1}))).unwrap();
    assert_eq!(django.load(&key).unwrap(), Loaded::Missing);
}

// ---------------------------------------------------------------- storms

fn shared_key(i: usize) -> String {
    format!("redisshared{i:021}")
}

fn storm_options(urls: &[String], cluster: bool) -> RedisOptions {
    if cluster {
        RedisOptions::cluster(urls.iter().cloned())
    } else {
        RedisOptions::new(urls[0].clone())
    }
}

fn spawn_worker(spec: &str, env: &[(&str, &str)]) -> std::process::Child {
    // This very binary, even when a concurrent build has meanwhile
    // replaced the file at current_exe() with another one.
    let mut cmd = Command::new("/proc/self/exe");
    cmd.args(["redis::worker", "--exact", "--nocapture", "--test-threads=1"])
        .env(WORKER_ENV, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// The body of the worker processes; a no-op when run as a plain test.
#[test]
fn worker() {
    let Ok(spec) = std::env::var(WORKER_ENV) else { return };
    let parts: Vec<&str> = spec.split('|').collect();
    match parts[0] {
        "storm" => {
            let urls: Vec<String> = parts[1].split(',').map(str::to_owned).collect();
            let cluster = parts[2] == "1";
            let id: u64 = parts[3].parse().unwrap();
            let secs: f64 = parts[4].parse().unwrap();
            let store = Store::open_redis(&storm_options(&urls, cluster), settings()).unwrap();
            storm_worker(&store, id, Duration::from_secs_f64(secs));
        }
        "authenv" => {
            // The password from an environment variable set for this process only.
            let options = RedisOptions::new(parts[1]).password_from_env(parts[2]).unwrap();
            let store = Store::open_redis(&options, settings()).unwrap();
            let key = store.create(&data(json!({"via": "env"}))).unwrap();
            assert!(matches!(store.load(&key).unwrap(), Loaded::Found { data: d, .. } if d == data(json!({"via": "env"}))));
            println!("authenv ok {key}");
        }
        other => panic!("unknown worker mode {other}"),
    }
}

/// Three threads of mixed operations; prints the keys it created, one per
/// line, "torn N" and "ops N"; exits non-zero on an unexpected error.
fn storm_worker(store: &Store, id: u64, for_how_long: Duration) {
    let shared: Vec<String> = (0..SHARED_KEYS).map(shared_key).collect();
    let nothing_to_sweep = |r: sessionbox::SweepReport| assert_eq!((r.scanned, r.deleted, r.skipped), (0, 0, 0));
    let results = mixed_ops(store, id, &shared, for_how_long, &nothing_to_sweep);
    // Every cycled session this worker made is still there, whole.
    let mut lost = 0;
    for created in results.iter().map(|r| &r.created) {
        for pair in created.chunks(2) {
            match store.load(&pair[1]).unwrap() {
                Loaded::Found { data, .. } if check(&data).is_ok() => {}
                other => {
                    lost += 1;
                    let old = store.load(&pair[0]).unwrap();
                    eprintln!("lost cycled session {} (from {}): {other:?}; the old key holds {:?}", pair[1], pair[0], old.data().map(|d| (d.get("writer").cloned(), d.get("seq").cloned())));
                }
            }
        }
    }
    // libtest has printed "test redis::worker ... " without a newline:
    // start on a line of our own.
    println!();
    println!("lost {lost}");
    for key in results.iter().flat_map(|r| &r.created) {
        println!("key {key}");
    }
    println!("torn {}", results.iter().map(|r| r.torn).sum::<u64>());
    println!("ops {}", results.iter().map(|r| r.ops).sum::<u64>());
}

struct StormFigures {
    secs: f64,
    ops: u64,
    keys: usize,
    collisions: usize,
    torn: u64,
}

/// Two worker processes ("two app servers"), three threads each, on the
/// same Redis (or cluster); then every shared session that is left must be
/// one whole version.
fn run_storm(store: &Store, urls: &[String], cluster: bool) -> StormFigures {
    for i in 0..SHARED_KEYS {
        store.save(&shared_key(i), &version(0, i as u64), true).unwrap();
    }
    let secs: f64 = std::env::var("SESSIONBOX_STORM_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let spec = |id: u64| format!("storm|{}|{}|{id}|{secs}", urls.join(","), if cluster { "1" } else { "0" });
    let workers: Vec<_> = (1..=2).map(|id| spawn_worker(&spec(id), &[])).collect();
    let (mut all_keys, mut ops, mut torn) = (Vec::new(), 0u64, 0u64);
    for child in workers {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "worker failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        all_keys.extend(stdout.lines().filter_map(|l| l.strip_prefix("key ")).map(str::to_owned));
        ops += stdout.lines().find_map(|l| l.strip_prefix("ops ")).and_then(|n| n.parse::<u64>().ok()).expect("worker reported ops");
        torn += stdout.lines().find_map(|l| l.strip_prefix("torn ")).and_then(|n| n.parse::<u64>().ok()).expect("worker reported torn");
        let lost: u64 = stdout.lines().find_map(|l| l.strip_prefix("lost ")).and_then(|n| n.parse().ok()).expect("worker reported lost");
        assert_eq!(lost, 0, "a worker lost its own cycled sessions:\n{}", String::from_utf8_lossy(&out.stderr).lines().take(10).collect::<Vec<_>>().join("\n"));
    }
    let unique: HashSet<&String> = all_keys.iter().collect();
    let collisions = all_keys.len() - unique.len();
    for i in 0..SHARED_KEYS {
        match store.load(&shared_key(i)).unwrap() {
            Loaded::Found { data, .. } => {
                if check(&data).is_err() {
                    torn += 1;
                }
            }
            Loaded::Missing => {}
            other => panic!("shared session {i} after the storm: {other:?}"),
        }
    }
    // Each create + cycle_key leaves its cycled session, whole.
    for key in all_keys.iter().skip(1).step_by(2).take(50) {
        let loaded = store.load(key).unwrap();
        assert!(matches!(&loaded, Loaded::Found { data: d, .. } if check(d).is_ok()), "cycled session {key}: {loaded:?}");
    }
    StormFigures { secs, ops, keys: all_keys.len(), collisions, torn }
}

/// Django's Trac #37249 on files: a logout (delete) racing an update-save
/// can bring the session back. On Redis the update is SET XX: it lands
/// before the DEL (and is deleted) or after it (and finds nothing), so no
/// round may end with the session found.
fn logout_race(store: &Store, rounds: u64) -> (u64, u64, u64) {
    let (mut resurrected, mut saves_won, mut saves_refused) = (0, 0, 0);
    for round in 0..rounds {
        let (key, deleted, saved) = logout_racing_an_update(store, round);
        assert!(deleted, "the delete found nothing");
        match saved {
            Ok(()) => saves_won += 1,
            Err(Error::NotFound) => saves_refused += 1,
            Err(e) => panic!("round {round}: the racing save failed: {e}"),
        }
        match store.load(&key).unwrap() {
            Loaded::Found { .. } => {
                resurrected += 1;
                store.delete(&key).unwrap();
            }
            Loaded::Missing => {}
            other => panic!("round {round}: {other:?}"),
        }
    }
    (resurrected, saves_won, saves_refused)
}

#[test]
fn two_app_servers_storm_one_redis() {
    let server = RedisServer::start();
    let urls = vec![server.url()];
    let store = Store::open_redis(&storm_options(&urls, false), settings()).unwrap();
    let f = run_storm(&store, &urls, false);
    let rounds = 300;
    let (resurrected, won, refused) = logout_race(&store, rounds);
    let keys_in_redis: usize = server.cli(&["dbsize"]).parse().unwrap();
    eprintln!(
        "redis storm: 2 processes x 3 threads, {} s, {} operations, {} keys created, {} key collisions, {} torn reads; \
         logout race: {resurrected} of {rounds} rounds resurrected (update-save before the delete {won}, refused after it {refused}); \
         {keys_in_redis} keys left in Redis",
        f.secs, f.ops, f.keys, f.collisions, f.torn
    );
    assert_eq!(f.collisions, 0, "two creates returned the same key");
    assert_eq!(f.torn, 0, "torn reads");
    assert!(f.ops > 300, "the storm did too little to mean anything: {} ops", f.ops);
    assert_eq!(resurrected, 0, "a logout racing an update-save brought the session back");
}

#[test]
fn two_app_servers_storm_a_redis_cluster() {
    let cluster = RedisCluster::start();
    let urls = cluster.urls();
    let store = Store::open_redis(&storm_options(&urls, true), settings()).unwrap();
    let f = run_storm(&store, &urls, true);
    let rounds = 100;
    let (resurrected, won, refused) = logout_race(&store, rounds);
    let per_node = cluster.keys_per_node();
    eprintln!(
        "redis cluster storm: 3 masters, 2 processes x 3 threads, {} s, {} operations, {} keys created, {} key collisions, \
         {} torn reads; logout race: {resurrected} of {rounds} rounds resurrected (saved before {won}, refused {refused}); keys per node {per_node:?}",
        f.secs, f.ops, f.keys, f.collisions, f.torn
    );
    assert_eq!(f.collisions, 0, "two creates returned the same key");
    assert_eq!(f.torn, 0, "torn reads");
    assert!(f.ops > 300, "the storm did too little to mean anything: {} ops", f.ops);
    assert_eq!(resurrected, 0);
    assert!(per_node.iter().all(|&n| n > 0), "sessions did not spread over all three nodes: {per_node:?}");
}

// ---------------------------------------------------------------- faults

fn quick_options(url: String) -> RedisOptions {
    let mut options = RedisOptions::new(url);
    options.connect_timeout = Duration::from_secs(1);
    options.response_timeout = Duration::from_secs(1);
    options
}

#[test]
fn no_server_at_start_is_a_clear_error() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let start = Instant::now();
    let err = Store::open_redis(&RedisOptions::new(url.clone()), settings()).unwrap_err();
    let took = start.elapsed();
    match &err {
        Error::Config(msg) => assert!(msg.contains(&url), "the error does not name {url}: {msg}"),
        other => panic!("not a configuration error: {other:?}"),
    }
    assert!(took < Duration::from_secs(3), "open took {took:?}");
    // A bad URL, and none at all.
    assert!(matches!(Store::open_redis(&RedisOptions::new("http://127.0.0.1:1"), settings()), Err(Error::Config(_))));
    assert!(matches!(Store::open_redis(&RedisOptions::new(""), settings()), Err(Error::Config(_))));
}

#[test]
fn killed_server_fails_calls_quickly_and_comes_back_with_its_data() {
    let mut server = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let options = quick_options(server.url());
    let bound = options.response_timeout + Duration::from_secs(1);
    let store = Store::open_redis(&options, settings()).unwrap();
    let before: Vec<String> = (0..40).map(|i| store.create(&version(5, i)).unwrap()).collect();

    let stop = std::sync::atomic::AtomicBool::new(false);
    let killed_at = std::sync::Mutex::new(None::<Instant>);
    let (acked, failures, slowest) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4u64)
            .map(|t| {
                let (store, stop, before) = (&store, &stop, &before);
                s.spawn(move || {
                    let (mut acked, mut failures, mut slowest) = (Vec::new(), 0u64, Duration::ZERO);
                    let mut seq = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        seq += 1;
                        let start = Instant::now();
                        let result = match seq % 3 {
                            0 => store.create(&version(10 + t, seq)).map(|k| acked.push((k, seq))),
                            1 => store.load(&before[(seq as usize) % before.len()]).map(drop),
                            _ => store.save(&before[(seq as usize) % before.len()], &version(5, seq % 40), false).or_else(|e| match e {
                                Error::NotFound => Ok(()),
                                e => Err(e),
                            }),
                        };
                        let took = start.elapsed();
                        if let Err(e) = result {
                            assert!(matches!(e, Error::Io(_)), "a call on a killed server failed otherwise: {e:?}");
                            assert!(took < bound, "a failing call took {took:?} (bound {bound:?}): {e}");
                            failures += 1;
                            slowest = slowest.max(took);
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                    (acked, failures, slowest)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(400));
        server.kill();
        *killed_at.lock().unwrap() = Some(Instant::now());
        std::thread::sleep(Duration::from_millis(1500));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        let acked: Vec<(String, u64, u64)> =
            results.iter().enumerate().flat_map(|(t, r)| r.0.iter().map(move |(k, seq)| (k.clone(), 10 + t as u64, *seq))).collect();
        (acked, results.iter().map(|r| r.1).sum::<u64>(), results.iter().map(|r| r.2).max().unwrap())
    });
    assert!(failures > 0, "no call failed while the server was down");

    // While it is down: every call fails as I/O, naming the server.
    let start = Instant::now();
    match store.load(&before[0]) {
        Err(Error::Io(msg)) => {
            assert!(msg.contains(&server.url()), "{msg}");
            eprintln!("redis kill -9: a load while down: {msg}");
        }
        other => panic!("load on a dead server: {other:?}"),
    }
    assert!(start.elapsed() < bound);

    // Back on the same port with its append-only file: the same store works
    // again, and every session it acknowledged is there.
    server.restart();
    for (i, key) in before.iter().enumerate() {
        match store.load(key).unwrap() {
            Loaded::Found { data, .. } => check(&data).unwrap(),
            other => panic!("session {i} created before the kill, after the restart: {other:?}"),
        }
    }
    for (key, writer, seq) in &acked {
        match store.load(key).unwrap() {
            Loaded::Found { data, .. } => assert_eq!(data, version(*writer, *seq)),
            other => panic!("acknowledged create {key}, after the restart: {other:?}"),
        }
    }
    let key = store.create(&version(1, 1)).unwrap();
    assert!(matches!(store.load(&key).unwrap(), Loaded::Found { .. }));
    eprintln!(
        "redis kill -9: {failures} calls failed while down (slowest {slowest:?}, bound {bound:?}); {} sessions from before and {} acknowledged during the storm all back after restart",
        before.len(),
        acked.len()
    );
}

#[test]
fn frozen_server_times_out_then_recovers_in_step() {
    let server = RedisServer::start();
    let options = quick_options(server.url());
    let store = Store::open_redis(&options, settings()).unwrap();
    let keys: Vec<String> = (0..10).map(|i| store.create(&version(3, i)).unwrap()).collect();

    server.pause();
    for (what, call) in [
        ("load", Box::new(|| store.load(&keys[0]).map(drop)) as Box<dyn Fn() -> sessionbox::Result<()> + Sync>),
        ("save", Box::new(|| store.save(&keys[1], &version(4, 1), false))),
        ("create", Box::new(|| store.create(&version(4, 2)).map(drop))),
        ("exists", Box::new(|| store.exists(&keys[2]).map(drop))),
    ] {
        let start = Instant::now();
        let result = call();
        let took = start.elapsed();
        match result {
            Err(Error::Io(msg)) => {
                assert!(msg.contains("timed out"), "{what}: not a timeout: {msg}");
                assert!(msg.contains(&server.url()), "{what}: {msg}");
                eprintln!("redis frozen: {what} failed after {took:?}: {msg}");
            }
            other => panic!("{what} on a frozen server: {other:?}"),
        }
        assert!(took < options.response_timeout + Duration::from_millis(1500), "{what} on a frozen server took {took:?}");
    }
    server.resume();

    // Replies that arrived late must not be taken for the next calls' own.
    for round in 0..3 {
        for (i, key) in keys.iter().enumerate() {
            match store.load(key).unwrap() {
                Loaded::Found { data, .. } if i == 1 && data == version(4, 1) => {} // the timed-out save may have landed
                Loaded::Found { data, .. } => assert_eq!(data, version(3, i as u64), "round {round}: session {i} read another's reply"),
                other => panic!("round {round}: session {i} after resume: {other:?}"),
            }
        }
        let key = store.create(&version(6, round)).unwrap();
        assert!(matches!(store.load(&key).unwrap(), Loaded::Found { data, .. } if data == version(6, round)));
    }
}

#[test]
fn auth_from_options_url_env_and_file_and_clear_refusals() {
    let server = RedisServer::start_with(&["--requirepass", PASSWORD]);
    let works = |options: &RedisOptions, how: &str| {
        let store = Store::open_redis(options, settings()).unwrap_or_else(|e| panic!("{how}: {e}"));
        let key = store.create(&data(json!({"how": how}))).unwrap();
        assert!(matches!(store.load(&key).unwrap(), Loaded::Found { data: d, .. } if d == data(json!({"how": how}))), "{how}");
    };
    let mut options = RedisOptions::new(server.url());
    options.password = Some(PASSWORD.into());
    assert!(!format!("{options:?}").contains(PASSWORD));
    works(&options, "options");
    works(&RedisOptions::new(format!("redis://:{PASSWORD}@127.0.0.1:{}", server.port)), "url");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("redis-password");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    works(&RedisOptions::new(server.url()).password_from_file(&file).unwrap(), "file");
    // From the environment, in a process of its own (setting a variable in
    // this multi-threaded one would race the other tests).
    let out = spawn_worker(&format!("authenv|{}|SB_TEST_REDIS_PW", server.url()), &[("SB_TEST_REDIS_PW", PASSWORD)]).wait_with_output().unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("authenv ok"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(matches!(RedisOptions::new(server.url()).password_from_env("SB_TEST_REDIS_PW_UNSET_XYZ"), Err(Error::Config(_))));
    assert!(matches!(RedisOptions::new(server.url()).password_from_file(tmp.path().join("missing")), Err(Error::Config(_))));

    // Without a password, and with a wrong one: clear, and never the password.
    let refusal = |options: &RedisOptions, secret: &str| -> String {
        let start = Instant::now();
        let err = Store::open_redis(options, settings()).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(3));
        let msg = match &err {
            Error::Config(msg) => msg.clone(),
            other => panic!("not a configuration error: {other:?}"),
        };
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(secret) && !shown.contains(PASSWORD), "the error shows a password: {shown}");
        assert!(msg.contains(&format!("127.0.0.1:{}", server.port)), "{msg}");
        msg.to_lowercase()
    };
    let none = refusal(&RedisOptions::new(server.url()), PASSWORD);
    assert!(none.contains("auth") || none.contains("password"), "{none}");
    let mut wrong = RedisOptions::new(server.url());
    wrong.password = Some("not-the-password-Zz9".into());
    let msg = refusal(&wrong, "not-the-password-Zz9");
    assert!(msg.contains("auth") || msg.contains("password") || msg.contains("wrongpass"), "{msg}");
    let msg = refusal(&RedisOptions::new(format!("redis://:wrong-in-url-Yy8@127.0.0.1:{}", server.port)), "wrong-in-url-Yy8");
    assert!(msg.contains("***"), "{msg}");
}

#[test]
fn a_user_without_scripts_or_without_transactions_is_served_and_a_refused_read_says_access_denied() {
    let server = RedisServer::start();
    // Managed offerings and ACLs often take scripting away; a single
    // server's load is a MULTI/EXEC transaction and needs none.
    server.cli(&["ACL", "SETUSER", "noscripts", "on", ">pw-noscripts", "~*", "+@all", "-@scripting"]);
    server.cli(&["ACL", "SETUSER", "noread", "on", ">pw-noread", "~*", "+@all", "-@scripting", "-getrange"]);
    // And one that may run scripts but no transactions reads by the script.
    server.cli(&["ACL", "SETUSER", "notx", "on", ">pw-notx", "~*", "+@all", "-@transaction"]);
    let user = |name: &str, format: &RedisFormat| {
        let mut options = RedisOptions::new(format!("redis://{name}:pw-{name}@127.0.0.1:{}", server.port));
        options.format = format.clone();
        Store::open_redis(&options, settings()).unwrap()
    };
    for (name, format) in [("noscripts", RedisFormat::signed()), ("noscripts", RedisFormat::django()), ("notx", RedisFormat::signed()), ("notx", RedisFormat::django())] {
        let store = user(name, &format);
        let key = store.create(&data(json!({"visits": 1}))).unwrap();
        assert!(matches!(store.load(&key).unwrap(), Loaded::Found { data: d, .. } if d == data(json!({"visits": 1}))), "{name} {format:?}");
        store.save(&key, &data(json!({"visits": 2})), false).unwrap();
        assert!(matches!(store.load(&key).unwrap(), Loaded::Found { data: d, .. } if d == data(json!({"visits": 2}))), "{name} {format:?}");
        assert!(store.exists(&key).unwrap());
        assert!(store.delete(&key).unwrap());
        assert_eq!(store.load(&key).unwrap(), Loaded::Missing, "{name} {format:?}");
        if name == "notx" {
            continue;
        }

        let refused = user("noread", &format);
        let key = refused.create(&data(json!({"visits": 1}))).unwrap();
        match refused.load(&key) {
            Err(Error::Io(why)) => assert!(why.contains("access denied"), "{format:?}: {why}"),
            other => panic!("{format:?}: a read the ACL refuses gave {other:?}"),
        }
        // The refusal left the connection in step.
        assert!(refused.exists(&key).unwrap());
    }
}

#[test]
fn evicted_session_loads_as_missing_never_corrupt() {
    let server = RedisServer::start_with(&["--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru"]);
    let store = open(&server, RedisFormat::signed());
    let target = store.create(&version(1, 1)).unwrap();
    let target_rk = redis_key(&RedisFormat::signed(), &target);
    let mut con = raw(&server);
    let filler = vec![b'f'; 20_000];
    let mut evicted_after = None;
    let mut others = Vec::new();
    for i in 0..3000 {
        ::redis::cmd("SET").arg(format!("filler:{i}")).arg(&filler).query::<()>(&mut con).unwrap();
        if i % 25 == 0 {
            others.push(store.create(&version(2, i)).unwrap());
            for key in others.iter().rev().take(5) {
                match store.load(key).unwrap() {
                    Loaded::Found { data, .. } => check(&data).unwrap(),
                    Loaded::Missing => {}
                    other => panic!("a session under memory pressure: {other:?}"),
                }
            }
        }
        if ::redis::cmd("EXISTS").arg(&target_rk).query::<i64>(&mut con).unwrap() == 0 {
            evicted_after = Some(i);
            break;
        }
    }
    let Some(after) = evicted_after else { panic!("3000 fillers of 20 kB did not evict the session under maxmemory 2mb") };
    assert_eq!(store.load(&target).unwrap(), Loaded::Missing);
    assert!(!store.exists(&target).unwrap());
    assert_eq!(store.save(&target, &version(1, 2), false), Err(Error::NotFound));
    let evicted = others.iter().filter(|k| store.load(k).unwrap() == Loaded::Missing).count();
    eprintln!("redis eviction: the session went after {after} fillers of 20 kB; {evicted} of {} later sessions evicted too, none corrupt", others.len());
}

/// A pickle that runs `os.system(command)` when unpickled (protocol 5).
fn reduce_pickle(command: &str) -> Vec<u8> {
    let mut frame = b"\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c".to_vec();
    frame.push(u8::try_from(command.len()).unwrap());
    frame.extend(command.as_bytes());
    frame.extend(b"\x94\x85\x94R\x94.");
    let mut pickle = b"\x80\x05\x95".to_vec();
    pickle.extend((frame.len() as u64).to_le_bytes());
    pickle.extend(frame);
    pickle
}

#[test]
fn foreign_values_under_session_keys() {
    let server = RedisServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("pwned");
    let evil = reduce_pickle(&format!("touch {}", marker.display()));
    // Django's own pickle of {"a": 1}, as its RedisCache writes it.
    let django_dict = b"\x80\x05\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.".to_vec();
    for format in [RedisFormat::signed(), RedisFormat::django()] {
        let store = open(&server, format.clone());
        let signed = matches!(format, RedisFormat::Signed { .. });
        let cases: Vec<(&str, Vec<u8>, Loaded)> = vec![
            ("garbage text", b"hello:world:not-a-session".to_vec(), if signed { Loaded::BadSignature } else { Loaded::Corrupt }),
            ("empty", Vec::new(), if signed { Loaded::BadSignature } else { Loaded::Corrupt }),
            ("non-ASCII bytes", b"\xff\xfe\x00\x80garbage\xc3".to_vec(), Loaded::Corrupt),
            ("REDUCE of os.system", evil.clone(), Loaded::Corrupt),
        ];
        for (i, (what, bytes, expected)) in cases.into_iter().enumerate() {
            let key = format!("foreignvalue{i:020}");
            raw_set(&server, &redis_key(&format, &key), &bytes);
            let loaded = store.load(&key).unwrap_or_else(|e| panic!("{format:?} {what}: {e}"));
            let ok = match (&loaded, &expected) {
                // Empty text under a signed key: either reading is fair.
                (Loaded::Corrupt, Loaded::BadSignature) if bytes.is_empty() => true,
                (a, b) => a == b,
            };
            assert!(ok, "{format:?} {what}: {loaded:?}, expected {expected:?}");
            assert!(store.delete(&key).unwrap());
        }
        if !signed {
            let key = "djangowrotethis0000000000000000a";
            raw_set(&server, &redis_key(&format, key), &django_dict);
            assert!(matches!(store.load(key).unwrap(), Loaded::Found { data: d, .. } if d == data(json!({"a": 1}))));
        }

        // A list where a string should be.
        let key = "alistnotastring00000000000000000";
        ::redis::cmd("RPUSH").arg(redis_key(&format, key)).arg("a").arg("b").query::<()>(&mut raw(&server)).unwrap();
        assert_eq!(store.load(key).unwrap(), Loaded::Corrupt, "{format:?}: a list");
        assert!(store.delete(key).unwrap());

        // 100 MB under a session key: refused before it is transferred.
        let key = "ahundredmegabytes000000000000000";
        ::redis::cmd("SETRANGE").arg(redis_key(&format, key)).arg(100 * 1024 * 1024 - 1).arg("x").query::<()>(&mut raw(&server)).unwrap();
        let start = Instant::now();
        assert_eq!(store.load(key), Err(Error::TooLarge), "{format:?}: 100 MB");
        assert!(start.elapsed() < Duration::from_secs(2), "{format:?}: refusing 100 MB took {:?}", start.elapsed());
        assert!(store.delete(key).unwrap());
        // The store still works.
        let k = store.create(&data(json!({"fine": true}))).unwrap();
        assert!(matches!(store.load(&k).unwrap(), Loaded::Found { .. }));
    }
    assert!(!marker.exists(), "an unpickled REDUCE ran os.system");
}

// ---------------------------------------------------------------- CLI

/// The binary in a scratch working directory, with the secret from the
/// environment and no Redis password unless given.
fn sessionbox(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = crate::support::sessionbox(SECRET);
    cmd.args(args).current_dir(cwd).env("XDG_CONFIG_HOME", cwd.join("config"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok_json(out: &Output, what: &str) -> Value {
    assert!(out.status.success(), "{what} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn cli_on_redis_in_both_formats() {
    let server = RedisServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let url = server.url();
    for (flags, format) in [
        (vec!["--redis", &url], RedisFormat::signed()),
        (vec!["--redis", &url, "--redis-format", "signed", "--redis-key-prefix", "app1:"], RedisFormat::Signed { key_prefix: "app1:".into() }),
        (vec!["--redis", &url, "--redis-format", "django"], RedisFormat::django()),
        (
            vec!["--redis", &url, "--redis-format", "django", "--redis-key-prefix", "site", "--django-cache-version", "3"],
            RedisFormat::Django { key_prefix: "site".into(), version: 3 },
        ),
    ] {
        let run = |args: &[&str]| sessionbox(cwd, &[flags.as_slice(), args].concat(), &[]);
        let key = ok_json(&run(&["create", r#"{"user":"42","cart":[1,2]}"#]), "create")["key"].as_str().unwrap().to_owned();
        assert_eq!(server.cli(&["exists", &redis_key(&format, &key)]), "1", "{flags:?}");
        assert_eq!(ok_json(&run(&["get", &key]), "get"), json!({"user": "42", "cart": [1, 2]}));
        assert_eq!(ok_json(&run(&["set", &key, r#"{"theme":"dark"}"#]), "set"), json!({"user": "42", "cart": [1, 2], "theme": "dark"}));
        assert_eq!(ok_json(&run(&["exists", &key]), "exists"), json!({"key": key, "exists": true}));
        let cycled = ok_json(&run(&["cycle-key", &key]), "cycle-key");
        let new = cycled["key"].as_str().unwrap().to_owned();
        assert_eq!(cycled["old_key"], json!(key));
        assert_eq!(server.cli(&["exists", &redis_key(&format, &key)]), "0");
        assert_eq!(ok_json(&run(&["get", &new]), "get"), json!({"user": "42", "cart": [1, 2], "theme": "dark"}));
        let gone = run(&["get", &key]);
        assert_eq!(gone.status.code(), Some(3), "{}", String::from_utf8_lossy(&gone.stderr));
        assert_eq!(ok_json(&run(&["delete", &new]), "delete"), json!({"key": new, "deleted": true}));
        let missing = run(&["exists", &new]);
        assert_eq!(missing.status.code(), Some(3), "exists of a deleted session: {}", String::from_utf8_lossy(&missing.stderr));
        assert_eq!(run(&["set", &new, r#"{"a":1}"#]).status.code(), Some(3));
        assert_eq!(server.cli(&["exists", &redis_key(&format, &new)]), "0", "{flags:?}: set after delete recreated it");
        let sweep = run(&["clear-expired"]);
        assert_eq!(ok_json(&sweep, "clear-expired"), json!({"scanned": 0, "deleted": 0, "skipped": 0}));
        assert!(String::from_utf8_lossy(&sweep.stderr).contains("nothing to sweep: the store (Redis at redis://"));
        for cmd in ["list", "stats"] {
            let out = run(&[cmd]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{cmd} on Redis: {err}");
            assert!(err.contains("Redis") && err.trim_end().lines().count() == 1, "{cmd} on Redis: {err}");
        }
    }
    assert_eq!(server.cli(&["dbsize"]), "0");
    assert!(!cwd.join("sessions").exists(), "a Redis command created the default session directory");
}

#[test]
fn cli_redis_password_and_unreachable_server() {
    let server = RedisServer::start_with(&["--requirepass", PASSWORD]);
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let url = server.url();
    let file = cwd.join("redis-password");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let file = file.to_str().unwrap();

    let key = ok_json(&sessionbox(cwd, &["--redis", &url, "--redis-password-file", file, "create", r#"{"a":1}"#], &[]), "create with a password file")["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let got = sessionbox(cwd, &["--redis", &url, "get", &key], &[("SESSIONBOX_REDIS_PASSWORD", PASSWORD)]);
    assert_eq!(ok_json(&got, "get with $SESSIONBOX_REDIS_PASSWORD"), json!({"a": 1}));

    // No password, a wrong one: exit 1, one line, no password shown.
    for (args, env) in [
        (vec!["--redis", &url, "get", &key], vec![]),
        (vec!["--redis", &url, "get", &key], vec![("SESSIONBOX_REDIS_PASSWORD", "wrong-pw-Kk3")]),
    ] {
        let out = sessionbox(cwd, &args, &env);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{env:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(!err.contains(PASSWORD) && !err.contains("wrong-pw-Kk3"), "{err}");
        assert!(err.contains(&url), "{err}");
        assert!(out.stdout.is_empty());
    }

    // Nothing listening: exit 1 at once, one line naming the server.
    let dead = format!("redis://127.0.0.1:{}", free_port());
    let start = Instant::now();
    let out = sessionbox(cwd, &["--redis", &dead, "create", "{}"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("sessionbox: error: ") && err.contains(&dead), "{err}");
    assert!(out.stdout.is_empty());
}

// ------------------------------------------------- found by the review

/// A restart leaves every idle pooled connection dead: each is dropped
/// within the same call, so not one call fails once the server is back.
#[test]
fn after_a_restart_no_call_fails_however_many_idle_connections_died() {
    let mut server = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let store = Store::open_redis(&quick_options(server.url()), settings()).unwrap();
    let key = store.create(&data(json!({"a": 1}))).unwrap();
    // Fill the pool: eight threads at once.
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| (0..200).for_each(|_| drop(store.load(&key).unwrap())));
        }
    });
    let before: u64 = server.cli(&["info", "clients"]).lines().find_map(|l| l.strip_prefix("connected_clients:")).unwrap().trim().parse().unwrap();
    assert!(before >= 4, "the pool holds only {before} connections");
    server.restart();
    for i in 0..10 {
        assert!(matches!(store.load(&key), Ok(Loaded::Found { .. })), "load {i} after the restart failed");
    }
    store.save(&key, &data(json!({"a": 2})), false).unwrap();
}

/// A call's Redis waits are capped by the store's deadline.
#[test]
fn the_deadline_caps_the_redis_timeouts() {
    let server = RedisServer::start();
    let options = Options { deadline: Duration::from_millis(800), ..Options::default() };
    let store = Store::open_redis_with(&RedisOptions::new(server.url()), settings(), options).unwrap();
    let key = store.create(&data(json!({"a": 1}))).unwrap();
    server.pause();
    let start = Instant::now();
    let result = store.load(&key);
    let took = start.elapsed();
    server.resume();
    assert!(matches!(result, Err(Error::Io(ref msg)) if msg.contains("timed out")), "{result:?}");
    assert!(took < Duration::from_millis(900), "a load past its 800 ms deadline: {took:?}");
}

/// An empty password variable (unset in a compose file) is no password, an
/// empty password file an error;
/// `--redis-cluster` against a plain server fails at open; `--dir` and
/// `--redis` do not mix; a unix URL's `?pass=` never shows.
#[test]
fn cli_redis_edge_cases() {
    let server = RedisServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let url = server.url();
    let empty = cwd.join("empty-password");
    std::fs::write(&empty, "").unwrap();
    ok_json(&sessionbox(cwd, &["--redis", &url, "create"], &[("SESSIONBOX_REDIS_PASSWORD", "")]), "an empty password variable");
    // An empty password file is a secret that was not mounted: an error.
    let out = sessionbox(cwd, &["--redis", &url, "--redis-password-file", empty.to_str().unwrap(), "create"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is empty"), "{err}");

    let out = sessionbox(cwd, &["--redis", &url, "--redis-cluster", "create"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("not a Redis Cluster"), "{err}");

    let out = sessionbox(cwd, &["--redis", &url, "--dir", "elsewhere", "create"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));

    let out = sessionbox(cwd, &["--redis", "redis+unix:///nonexistent/r.sock?pass=hunter2-Zz", "create"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("hunter2-Zz") && err.contains("?***"), "{err}");
}

// ------------------------------------------------- keys out of messages

/// Every call that names a session, on `key`, each expected to fail: what
/// each gave.
fn every_call_on(store: &Store, key: &str) -> Vec<(&'static str, sessionbox::Result<()>)> {
    let d = data(json!({"a": 2}));
    vec![
        ("load", store.load(key).map(drop)),
        ("load_json", store.load_json(key).map(drop)),
        ("exists", store.exists(key).map(drop)),
        ("save", store.save(key, &d, false)),
        ("save must_create", store.save(key, &d, true)),
        ("cycle_key", store.cycle_key(key, &d).map(drop)),
        ("delete", store.delete(key).map(drop)),
    ]
}

/// The calls `which` of [`every_call_on`] fail in `scenario`; their error
/// texts (`Display` and `Debug`) and every log line they wrote, each
/// checked for the session key: not the key, nor any 8 characters of it
/// in a row, nor more than 4 characters of any key after a session name's
/// prefix.
fn no_key_in_failures(scenario: &str, store: &Store, key: &str, which: &[&str]) -> usize {
    let (results, logs) = crate::support::logs::capture(|| every_call_on(store, key));
    let mut texts = Vec::new();
    for (call, result) in results {
        if !which.contains(&call) {
            continue;
        }
        match result {
            Err(e) => texts.extend([format!("{scenario}, {call}: {e}"), format!("{scenario}, {call}: {e:?}")]),
            Ok(()) => panic!("{scenario}: {call} did not fail"),
        }
    }
    texts.extend(logs.iter().map(|(level, target, message)| format!("{scenario}, log {level} {target}: {message}")));
    for text in &texts {
        for part in key.as_bytes().windows(8) {
            let part = std::str::from_utf8(part).unwrap();
            assert!(!text.contains(part), "the session key {key} shows ({part}): {text}");
        }
        // Nor any other key after a session's name prefix (cycle_key's new one).
        for prefix in ["sessionid", "django.contrib.sessions.cache"] {
            for (at, _) in text.match_indices(prefix) {
                let shown = text[at + prefix.len()..].bytes().take_while(u8::is_ascii_alphanumeric).count();
                assert!(shown <= 4, "{shown} characters of a session key show: {text}");
            }
        }
    }
    eprintln!("{}", texts.iter().step_by(2).take(which.len()).cloned().collect::<Vec<_>>().join("\n"));
    texts.len()
}

/// Error messages and log lines of failed Redis calls name the server and
/// the failure, never the session key (the user's credential): a server
/// that is down, frozen (timeouts), a password changed under the store
/// (WRONGPASS on reconnect), an ACL refusing each command (NOPERM), and a
/// server refusing writes (OOM under `maxmemory`).
#[test]
fn no_error_text_or_log_line_of_a_failed_redis_call_carries_the_session_key() {
    const ALL: &[&str] = &["load", "load_json", "exists", "save", "save must_create", "cycle_key", "delete"];
    let fast = |url: String| {
        let mut options = quick_options(url);
        options.connect_timeout = Duration::from_millis(400);
        options.response_timeout = Duration::from_millis(400);
        options
    };
    let mut checked = 0;

    // Frozen, then down.
    let mut server = RedisServer::start();
    let store = Store::open_redis(&fast(server.url()), settings()).unwrap();
    let key = store.create(&data(json!({"a": 1}))).unwrap();
    server.pause();
    checked += no_key_in_failures("frozen", &store, &key, ALL);
    server.resume();
    server.kill();
    checked += no_key_in_failures("down", &store, &key, ALL);

    // A password changed under the store: every new connection is refused.
    let server = RedisServer::start_with(&["--requirepass", PASSWORD]);
    let mut options = fast(server.url());
    options.password = Some(PASSWORD.into());
    let store = Store::open_redis(&options, settings()).unwrap();
    let key = store.create(&data(json!({"a": 1}))).unwrap();
    server.cli(&["-a", PASSWORD, "--no-auth-warning", "config", "set", "requirepass", "changed-pw-Qq1"]);
    server.cli(&["-a", "changed-pw-Qq1", "--no-auth-warning", "client", "kill", "type", "normal"]);
    checked += no_key_in_failures("password changed", &store, &key, ALL);

    // ACLs: a user refused every command a call needs but PING, in both
    // formats (a load by transaction and, for a user refused MULTI too, by
    // the script).
    let server = RedisServer::start();
    server.cli(&["ACL", "SETUSER", "refused", "on", ">pw-refused", "~*", "+@all", "-getrange", "-set", "-del", "-exists", "-evalsha", "-eval"]);
    server.cli(&["ACL", "SETUSER", "refusednotx", "on", ">pw-refusednotx", "~*", "+@all", "-@transaction", "-getrange", "-set", "-del", "-exists", "-get", "-@scripting"]);
    for format in [RedisFormat::signed(), RedisFormat::django()] {
        let writer = open(&server, format.clone());
        let key = writer.create(&data(json!({"a": 1}))).unwrap();
        for user in ["refused", "refusednotx"] {
            let mut options = fast(format!("redis://{user}:pw-{user}@127.0.0.1:{}", server.port));
            options.format = format.clone();
            let store = Store::open_redis(&options, settings()).unwrap();
            checked += no_key_in_failures(&format!("ACL user {user}, {format:?}"), &store, &key, ALL);
        }
    }

    // Writes refused: OOM under maxmemory 1 byte, noeviction.
    let server = RedisServer::start();
    let store = open(&server, RedisFormat::signed());
    let key = store.create(&data(json!({"a": 1}))).unwrap();
    server.cli(&["config", "set", "maxmemory-policy", "noeviction"]);
    server.cli(&["config", "set", "maxmemory", "1"]);
    checked += no_key_in_failures("OOM", &store, &key, &["save", "save must_create", "cycle_key"]);
    assert!(checked > 80, "only {checked} texts checked");
}
