//! Plugin hosts: components that import `sessionbox:store/bound-sessions`
//! from an embedder (`sessionbox::plugin`), here the example plugin host
//! (`examples/plugin-host`) running the example plugins built from
//! `examples/plugins`: each plugin gets its own store, never a directory or
//! a setting, and a plugin that misbehaves fails alone.

use crate::support::file_names as session_files;
use crate::support::plugins::plugin_wasm;
use serde_json::json;
use sessionbox::{Loaded, Settings, Store};
use sessionbox_plugin_host::{stored_size_bound, Limits, Plugin, PluginHost};
use std::path::Path;
use std::time::{Duration, Instant};

/// Short limits, so the misbehaving plugin's runs end quickly.
const LIMITS: Limits = Limits { memory: 32 << 20, deadline: Duration::from_secs(1), max_sessions: Some(100), max_bytes: Some(64 << 20) };

fn store(dir: &Path, secret: &str) -> Store {
    Store::open(dir, Settings::new(secret)).unwrap()
}

fn load(host: &PluginHost, name: &str, sessions: &Store) -> Plugin {
    host.load(&std::fs::read(plugin_wasm(name)).unwrap(), sessions.clone()).unwrap()
}

/// The plugin's answer, which must be `ok`.
fn ok(host: &PluginHost, plugin: &Plugin, args: &[&str]) -> String {
    host.run(plugin, args).unwrap_or_else(|e| panic!("{args:?}: {e:#}")).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// `visit`'s answer split into key and count.
fn visit(host: &PluginHost, plugin: &Plugin, key: Option<&str>) -> (String, u64) {
    let mut args = vec!["visit"];
    args.extend(key);
    let out = ok(host, plugin, &args);
    let (key, n) = out.split_once(' ').unwrap_or_else(|| panic!("visit printed {out:?}"));
    (key.to_owned(), n.parse().unwrap())
}

#[test]
fn a_plugin_keeps_sessions_in_the_store_its_host_chose() {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = store(&tmp.path().join("a"), "plugin-a-secret");
    let host = PluginHost::new(LIMITS).unwrap();
    let counter = load(&host, "counter", &sessions);

    let (key, n) = visit(&host, &counter, None);
    assert_eq!(n, 1);
    assert_eq!(visit(&host, &counter, Some(&key)), (key.clone(), 2));
    assert_eq!(visit(&host, &counter, Some(&key)), (key.clone(), 3));
    // The plugin's session is an ordinary signed session file in the
    // host's directory, under the host's secret.
    assert_eq!(session_files(sessions.dir().unwrap()), [format!("sessionid{key}")]);
    match sessions.load(&key).unwrap() {
        Loaded::Found { data, .. } => assert_eq!(serde_json::Value::Object(data), json!({"n": 3})),
        other => panic!("{other:?}"),
    }
    // And what the host writes, the plugin reads.
    sessions.save_json(&key, r#"{"n":41,"by":"host"}"#, false).unwrap();
    assert_eq!(ok(&host, &counter, &["show", &key]), r#"{"n":41,"by":"host"}"#);
    assert_eq!(visit(&host, &counter, Some(&key)).1, 42);

    // Login moves the session to a new key; logout deletes it.
    let new_key = ok(&host, &counter, &["login", &key, "alice"]);
    assert_ne!(new_key, key);
    assert_eq!(ok(&host, &counter, &["show", &key]), "missing");
    assert_eq!(ok(&host, &counter, &["show", &new_key]), r#"{"n":42,"by":"host","_auth_user_id":"alice"}"#);
    assert_eq!(ok(&host, &counter, &["logout", &new_key]), "true");
    assert_eq!(ok(&host, &counter, &["logout", &new_key]), "false");
    assert_eq!(session_files(sessions.dir().unwrap()), Vec::<String>::new());

    // The store's errors reach the plugin as the WIT error.
    let err = host.run(&counter, &["logout", "../../etc/passwd"]).unwrap();
    assert_eq!(err, Err("invalid-key".into()));
    let err = host.run(&counter, &["visit", &key]).unwrap();
    assert_eq!(err.map(|out| out.ends_with(" 1")), Ok(true), "a deleted session is not resurrected");
}

#[test]
fn plugins_cannot_reach_each_others_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let (a_store, b_store) = (store(&tmp.path().join("a"), "secret-a"), store(&tmp.path().join("b"), "secret-b"));
    let host = PluginHost::new(LIMITS).unwrap();
    let a = load(&host, "counter", &a_store);
    let b = load(&host, "counter", &b_store);
    let b_guesser = load(&host, "misbehaving", &b_store);

    let (a_key, _) = visit(&host, &a, None);
    let (b_key, _) = visit(&host, &b, None);
    // B knows A's key (say it leaked) and still cannot read, change or
    // delete A's session: its store is another directory.
    assert_eq!(ok(&host, &b, &["show", &a_key]), "missing");
    assert_eq!(ok(&host, &b, &["logout", &a_key]), "false");
    assert_eq!(ok(&host, &b_guesser, &["guess", &a_key]), "", "B found sessions it was never given");
    // B's visit with A's key starts a new session in B's store.
    let (b_new, n) = visit(&host, &b, Some(&a_key));
    assert_ne!(b_new, a_key);
    assert_eq!(n, 1);
    // A's session is untouched; each directory holds its own plugin's files.
    assert_eq!(visit(&host, &a, Some(&a_key)), (a_key.clone(), 2));
    assert_eq!(session_files(a_store.dir().unwrap()), [format!("sessionid{a_key}")]);
    let mut b_files = vec![format!("sessionid{b_key}"), format!("sessionid{b_new}")];
    b_files.sort();
    assert_eq!(session_files(b_store.dir().unwrap()), b_files);
}

#[test]
fn a_misbehaving_plugin_fails_alone() {
    let tmp = tempfile::tempdir().unwrap();
    // Both plugins on one store: what the misbehaving one does must not
    // break the store for the other.
    let sessions = store(&tmp.path().join("shared"), "secret");
    let host = PluginHost::new(LIMITS).unwrap();
    let counter = load(&host, "counter", &sessions);
    let bad = load(&host, "misbehaving", &sessions);
    let (key, _) = visit(&host, &counter, None);

    for (command, says) in [("trap", "unreachable"), ("loop", "ran past its deadline of 1s"), ("oom", "needed more than its memory limit of 33554432 bytes")] {
        let started = Instant::now();
        let err = host.run(&bad, &[command]).expect_err(command);
        let text = format!("{err:?}");
        assert!(text.contains(says), "{command}: {text}");
        assert!(started.elapsed() < LIMITS.deadline * 5, "{command} took {:?}", started.elapsed());
        // The store and the other plugin carry on, and so does the
        // misbehaving plugin itself, in a fresh instance.
        let (_, n) = visit(&host, &counter, Some(&key));
        assert!(n >= 2);
        assert_eq!(ok(&host, &bad, &["create"]).len(), 32);
    }

    // A plugin stuck in a loop does not hold up the others meanwhile.
    std::thread::scope(|scope| {
        let looping = scope.spawn(|| host.run(&bad, &["loop"]));
        std::thread::sleep(Duration::from_millis(100));
        let started = Instant::now();
        for _ in 0..5 {
            visit(&host, &counter, Some(&key));
        }
        assert!(started.elapsed() < LIMITS.deadline, "visits waited for the loop: {:?}", started.elapsed());
        assert!(looping.join().unwrap().is_err());
    });
    assert_eq!(visit(&host, &counter, Some(&key)).1, 1 + 3 + 5 + 1);
}

/// The embedder's say over writes: the example host's session quota stops a
/// plugin that creates sessions in a loop, and only its new sessions.
#[test]
fn a_plugin_cannot_fill_the_disk_past_its_quota() {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = store(&tmp.path().join("s"), "secret");
    let host = PluginHost::new(Limits { max_sessions: Some(3), ..LIMITS }).unwrap();
    let counter = load(&host, "counter", &sessions);
    let keys: Vec<String> = (0..3).map(|_| visit(&host, &counter, None).0).collect();
    let refused = host.run(&counter, &["visit"]).unwrap();
    assert_eq!(refused, Err("io: this plugin's session quota is full (3 sessions)".into()));
    assert_eq!(session_files(sessions.dir().unwrap()).len(), 3);
    // Existing sessions still save and move to new keys.
    assert_eq!(visit(&host, &counter, Some(&keys[0])).1, 2);
    let moved = ok(&host, &counter, &["login", &keys[1], "alice"]);
    assert_eq!(ok(&host, &counter, &["logout", &moved]), "true");
    assert_eq!(visit(&host, &counter, None).1, 1, "room again after a logout");
    // A cycle of a key that names no session would add one: refused too;
    // a cycle of a live one replaces it.
    let sneaky = load(&host, "misbehaving", &sessions);
    let refused = host.run(&sneaky, &["cycle", "nosuchsession1"]).unwrap();
    assert_eq!(refused, Err(r#"Error::Io("this plugin's session quota is full (3 sessions)")"#.into()));
    assert_eq!(session_files(sessions.dir().unwrap()).len(), 3);
    assert_eq!(ok(&host, &sneaky, &["cycle", &keys[0]]).len(), 32);
    assert_eq!(session_files(sessions.dir().unwrap()).len(), 3);
}

/// The byte quota: a plugin writing big sessions (a megabyte of random
/// letters each, as fast as it can for the default 5 s run) is stopped once
/// its files would pass the quota, long before its session quota; what a
/// logout frees is room again.
#[test]
fn a_plugin_writing_big_sessions_is_stopped_at_its_byte_quota() {
    const QUOTA: u64 = 4 << 20;
    const SIZE: usize = 1_000_000;
    let tmp = tempfile::tempdir().unwrap();
    let sessions = store(&tmp.path().join("s"), "secret");
    let dir = sessions.dir().unwrap().to_owned();
    let host = PluginHost::new(Limits { max_bytes: Some(QUOTA), deadline: Limits::default().deadline, ..LIMITS }).unwrap();
    let bad = load(&host, "misbehaving", &sessions);
    let used = || session_files(&dir).iter().map(|name| std::fs::metadata(dir.join(name)).unwrap().len()).sum::<u64>();
    let fill = || {
        let started = Instant::now();
        let answer = host.run(&bad, &["fill", &SIZE.to_string()]);
        eprintln!("fill: {answer:?} in {:.1?}; the sessions take {} bytes in {} files", started.elapsed(), used(), session_files(&dir).len());
        let refusal = answer.expect("the plugin is stopped by the quota, not by its deadline").expect_err("fill ends in a refusal");
        let (error, created) = refusal.rsplit_once(" after ").unwrap_or_else(|| panic!("{refusal}"));
        assert!(error.starts_with(r#"Error::Io("this plugin's byte quota is full (4194304 bytes; its sessions take "#), "{refusal}");
        created.strip_suffix(" sessions").and_then(|n| n.parse::<usize>().ok()).unwrap_or_else(|| panic!("{refusal}"))
    };

    let created = fill();
    assert!(created >= 2, "only {created} sessions fit in {QUOTA} bytes");
    assert_eq!(session_files(&dir).len(), created, "every refused session left nothing");
    let full = used();
    assert!(full <= QUOTA, "the sessions take {full} bytes, past the quota of {QUOTA}");
    assert!(full + stored_size_bound(SIZE + 11) > QUOTA, "the plugin stopped at {full} bytes, short of the quota");
    // A small session (`{"n":1}`) still fits if there is room for it, and
    // only then.
    let counter = load(&host, "counter", &sessions);
    let small = host.run(&counter, &["visit"]).unwrap();
    assert_eq!(small.is_ok(), full + stored_size_bound(7) <= QUOTA, "{small:?} with {full} of {QUOTA} bytes taken");

    // A logout frees room, and the plugin fills it again, no further.
    let name = session_files(&dir).into_iter().find(|name| std::fs::metadata(dir.join(name)).unwrap().len() > 1000).unwrap();
    assert_eq!(ok(&host, &counter, &["logout", name.strip_prefix("sessionid").unwrap()]), "true");
    assert!(fill() >= 1, "room again after a logout");
    assert!(used() <= QUOTA);
}

/// A store that cannot open its directory tells the plugin only that it is
/// unavailable: the host's path is none of its business.
#[test]
fn a_broken_store_does_not_tell_the_plugin_where_it_lives() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tenant-a-sessions");
    let options = sessionbox::Options { max_idle_instances: 0, ..Default::default() };
    let sessions = Store::open_with(&dir, Settings::new("secret"), options).unwrap();
    let host = PluginHost::new(LIMITS).unwrap();
    let counter = load(&host, "counter", &sessions);
    // A deleted directory would be made again; a file in its place cannot.
    std::fs::remove_dir(&dir).unwrap();
    std::fs::write(&dir, "not a directory").unwrap();
    let (answer, logs) = crate::support::logs::capture(|| host.run(&counter, &["visit"]).unwrap());
    assert_eq!(answer, Err("io: the session store is unavailable".into()));
    // The host's log has the detail.
    assert!(logs.iter().any(|(_, target, message)| target == "sessionbox::plugin" && message.contains("tenant-a-sessions")), "{logs:?}");
}

#[test]
fn plugins_that_import_storage_or_network_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = store(&tmp.path().join("s"), "secret");
    let host = PluginHost::new(LIMITS).unwrap();
    let err = host.load(&std::fs::read(plugin_wasm("snooping")).unwrap(), sessions.clone()).err().expect("refused");
    let text = format!("{err:#}");
    assert!(text.contains("wasi:filesystem/preopens") && text.contains("wasi:sockets/tcp"), "{text}");
    assert!(text.contains("does not grant"), "{text}");

    // The well-behaved plugins import the sessions and no storage or
    // network at all.
    let engine = wasmtime::Engine::default();
    for name in ["counter", "misbehaving", "http-counter"] {
        let component = wasmtime::component::Component::from_file(&engine, plugin_wasm(name)).unwrap();
        let imports: Vec<String> = component.component_type().imports(&engine).map(|(n, _)| n.to_owned()).collect();
        assert!(imports.iter().any(|n| n == sessionbox::plugin::INTERFACE), "{name}: {imports:?}");
        assert_eq!(sessionbox::plugin::imports_matching(&engine, &component, sessionbox::plugin::STORAGE_AND_NETWORK), Vec::<String>::new(), "{name}");
    }
}

/// The counter in a second language: Python, built with componentize-py,
/// in the same host, on the same store as the Rust counter.
#[test]
fn the_python_counter_matches_the_rust_one_on_one_store() {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = store(&tmp.path().join("shared"), "secret");
    let host = PluginHost::new(Limits { deadline: Duration::from_secs(10), ..Limits::default() }).unwrap();
    let wasm = std::fs::read(crate::support::plugins::python_plugin_wasm()).unwrap();
    let started = Instant::now();
    let python = host.load(&wasm, sessions.clone()).unwrap();
    eprintln!("compiled the Python plugin ({} MB) in {:.1?}", wasm.len() >> 20, started.elapsed());
    let rust = load(&host, "counter", &sessions);

    // It imports the sessions and nothing else: no WASI at all.
    let engine = wasmtime::Engine::default();
    let component = wasmtime::component::Component::new(&engine, &wasm).unwrap();
    let imports: Vec<String> = component.component_type().imports(&engine).map(|(n, _)| n.to_owned()).collect();
    assert_eq!(imports, [sessionbox::plugin::INTERFACE]);

    // One session, visited in turn by either language.
    let (key, n) = visit(&host, &python, None);
    assert_eq!(n, 1);
    assert_eq!(visit(&host, &rust, Some(&key)), (key.clone(), 2));
    assert_eq!(visit(&host, &python, Some(&key)), (key.clone(), 3));
    assert_eq!(ok(&host, &python, &["show", &key]), ok(&host, &rust, &["show", &key]));
    assert_eq!(ok(&host, &python, &["show", &key]), r#"{"n":3}"#);

    // Login and logout, as the Rust version does them.
    let new_key = ok(&host, &python, &["login", &key, "bob"]);
    assert_eq!(ok(&host, &rust, &["show", &key]), "missing");
    assert_eq!(ok(&host, &rust, &["show", &new_key]), r#"{"n":3,"_auth_user_id":"bob"}"#);
    assert_eq!(ok(&host, &python, &["logout", &new_key]), "true");
    assert_eq!(ok(&host, &python, &["logout", &new_key]), "false");
    assert_eq!(session_files(sessions.dir().unwrap()), Vec::<String>::new());

    // What the store reports and refuses reads the same in both.
    let other = store(&tmp.path().join("other"), "another secret");
    let foreign = other.create_json(r#"{"n":1}"#).unwrap();
    std::fs::copy(other.dir().unwrap().join(format!("sessionid{foreign}")), sessions.dir().unwrap().join(format!("sessionid{foreign}"))).unwrap();
    for args in [&["show", foreign.as_str()][..], &["show", "nosuchsession"], &["logout", "../x"], &["dance"], &[]] {
        assert_eq!(host.run(&python, args).unwrap(), host.run(&rust, args).unwrap(), "{args:?}");
    }
    assert_eq!(ok(&host, &python, &["show", &foreign]), "bad-signature");
    assert_eq!(host.run(&python, &["logout", "../x"]).unwrap(), Err("invalid-key".into()));
}

/// The plugin API is the same on a Redis-backed store: the counter plugin's
/// sessions are Redis keys, and host and plugin share them.
#[test]
fn a_plugin_on_a_redis_store_works_unchanged() {
    let redis = crate::support::redis::RedisServer::start();
    let sessions = Store::open_redis(&sessionbox::RedisOptions::new(redis.url()), Settings::new("plugin-redis-secret")).unwrap();
    let host = PluginHost::new(LIMITS).unwrap();
    let counter = load(&host, "counter", &sessions);
    let (key, n) = visit(&host, &counter, None);
    assert_eq!(n, 1);
    assert_eq!(visit(&host, &counter, Some(&key)), (key.clone(), 2));
    assert_eq!(redis.cli(&["keys", "*"]), format!("sessionbox:sessionid{key}"));
    assert!(matches!(sessions.load(&key).unwrap(), Loaded::Found { data, .. } if data.get("n") == Some(&json!(2))));
    let new_key = ok(&host, &counter, &["login", &key, "alice"]);
    assert_eq!(ok(&host, &counter, &["show", &key]), "missing");
    assert_eq!(ok(&host, &counter, &["logout", &new_key]), "true");
    assert_eq!(redis.cli(&["dbsize"]), "0");
}

/// A plugin's store may be any engine the embedder opens: here Django's
/// `db` engine on SQLite, the plugin unchanged.
#[test]
fn a_plugin_on_djangos_db_engine_keeps_its_sessions_in_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let mut sqlite = sessionbox::kv::sql::sqlite::SqliteOptions::new(tmp.path().join("db.sqlite3"));
    sqlite.create_table = true;
    let sessions = Store::open_sqlite(&sqlite, Settings::new("plugin-db-secret"), sessionbox::Options::default()).unwrap();
    let host = PluginHost::new(LIMITS).unwrap();
    let counter = load(&host, "counter", &sessions);
    let (key, _) = visit(&host, &counter, None);
    assert_eq!(visit(&host, &counter, Some(&key)), (key.clone(), 2));
    let rows = |key: &str| {
        let db = rusqlite::Connection::open(tmp.path().join("db.sqlite3")).unwrap();
        db.query_row("SELECT count(*) FROM django_session WHERE session_key = ?1", [key], |r| r.get::<_, i64>(0)).unwrap()
    };
    assert_eq!(rows(&key), 1, "the plugin's session is a row of Django's table");
    let new_key = ok(&host, &counter, &["login", &key, "alice"]);
    assert_eq!((rows(&key), rows(&new_key)), (0, 1));
    assert_eq!(ok(&host, &counter, &["logout", &new_key]), "true");
    assert_eq!(rows(&new_key), 0);
}
