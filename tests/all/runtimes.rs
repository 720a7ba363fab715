//! The guest `.wasm` the build produced, in other WASI 0.2 runtimes:
//!
//! - the wasmtime CLI 48: `wasmtime run --dir DIR::. --invoke
//!   'sessionbox:store/sessions.<func>@0.5.1(<settings>, ...)' guest.wasm`,
//!   one process per call;
//! - Node 20 through jco (`jco transpile`) with the unpatched
//!   `@bytecodealliance/preview2-shim`, the preopen set with the shim's own
//!   `_setPreopens` (`tests/interop/jco_smoke.mjs`).
//!
//! Each runs the same smoke scenario (create, load, save an update, load,
//! cycle-key, delete, clear-expired), and files written by one runtime are
//! read by the others and by the host library.



use serde_json::{json, Value};
use sessionbox::{Durability, Loaded, Settings, Store};
use std::path::Path;
use crate::support::runtimes::{parse_wave, settings_wave, wave_string, NodeJco, WasmtimeCli};

const SECRET: &str = "runtimes-test-secret-\u{e9}\u{2713}";

fn settings(durability: Durability) -> Settings {
    let mut s = Settings::new(SECRET);
    s.durability = durability;
    s
}

fn session_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

/// What a found session's `expires-at` reads as after [`Expiries::checked`].
const CHECKED: &str = "checked";

/// A found session holding `json_text`, its expiry checked.
fn found(json_text: &str) -> Value {
    json!({"ok": {"tag": "found", "val": {"data": json_text, "expires-at": CHECKED}}})
}

/// The seconds and nanoseconds of a `timestamp` record.
fn timestamp(v: &Value) -> (i64, u32) {
    let seconds = v["seconds"].as_i64().unwrap_or_else(|| panic!("seconds in {v}"));
    let nanoseconds = v["nanoseconds"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or_else(|| panic!("nanoseconds in {v}"));
    assert!(nanoseconds < 1_000_000_000, "{v}");
    assert_eq!(v.as_object().map(|o| o.len()), Some(2), "a timestamp has two fields: {v}");
    (seconds, nanoseconds)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The expiry every found session must report in these tests: none sets
/// `_session_expiry`, so it is its file's last write (some moment since the
/// test began) plus the cookie age.
struct Expiries {
    since: i64,
    cookie_age: i64,
}

impl Expiries {
    fn new(s: &Settings) -> Expiries {
        // Less a second: a file's mtime may come from a coarser clock.
        Expiries { since: now_secs() - 1, cookie_age: s.cookie_age as i64 }
    }

    /// `v` with each found session's `expires-at` checked (a `timestamp`
    /// between the test's start and now, plus the cookie age) and replaced
    /// by [`CHECKED`].
    fn checked(&self, mut v: Value) -> Value {
        self.check(&mut v, now_secs() + 1);
        v
    }

    fn checked_all(&self, vs: Vec<Value>) -> Vec<Value> {
        vs.into_iter().map(|v| self.checked(v)).collect()
    }

    fn check(&self, v: &mut Value, until: i64) {
        if v["tag"] == "found" {
            let shown = v.to_string();
            let at = v["val"].get_mut("expires-at").unwrap_or_else(|| panic!("no expires-at in {shown}"));
            let (seconds, _) = timestamp(at);
            let window = self.since + self.cookie_age..=until + self.cookie_age;
            assert!(window.contains(&seconds), "expires-at {at} outside {window:?}");
            *at = json!(CHECKED);
        }
        match v {
            Value::Array(items) => items.iter_mut().for_each(|item| self.check(item, until)),
            Value::Object(fields) => fields.values_mut().for_each(|field| self.check(field, until)),
            _ => {}
        }
    }
}

fn missing() -> Value {
    json!({"ok": {"tag": "missing"}})
}

fn ok_string(v: &Value, what: &str) -> String {
    match v.get("ok").and_then(Value::as_str) {
        Some(s) => s.to_owned(),
        None => panic!("{what}: expected ok(string), got {v}"),
    }
}

fn assert_key(key: &str) {
    assert!(key.len() == 32 && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "not a session key: {key:?}");
}

fn host_data(json_text: &str) -> sessionbox::Data {
    sessionbox::parse_data(json_text).unwrap()
}

// ---------------------------------------------------------------------------
// The smoke scenario: the steps, and what each must give

const DATA: &str = r#"{"user":"42"}"#;
const UPDATED: &str = r#"{"user":"42","theme":"dark"}"#;
const EXPIRED: &str = r#"{"_session_expiry":"2001-01-01T00:00:00"}"#;
const LIVE: &str = r#"{"live":true}"#;

/// Checks a smoke run's `{"keys": .., "steps": ..}` (the Node driver's
/// output, or [`wasmtime_smoke`]'s; its expiries by `expiries`), and what it
/// left in `dir`.
fn check_smoke(run: &Value, expiries: &Expiries, dir: &Path, prefix: &str) {
    let run = &expiries.checked(run.clone());
    let key = |name: &str| run["keys"][name].as_str().unwrap_or_else(|| panic!("no key {name} in {run}")).to_owned();
    let (first, cycled, expired, live) = (key("first"), key("cycled"), key("expired"), key("live"));
    for k in [&first, &cycled, &expired, &live] {
        assert_key(k);
    }
    let mut distinct = vec![&first, &cycled, &expired, &live];
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "keys repeat: {run}");

    let expected = json!({
        "create": {"ok": first},
        "load_created": found(DATA),
        "save_update": {"ok": null},
        "load_updated": found(UPDATED),
        "exists_first": {"ok": true},
        "cycle_key": {"ok": cycled},
        "load_old_after_cycle": missing(),
        "load_cycled": found(UPDATED),
        "delete": {"ok": true},
        "exists_after_delete": {"ok": false},
        "save_deleted": {"err": {"tag": "not-found"}},
        "load_invalid_key": missing(),
        "create_expired": {"ok": expired},
        "create_live": {"ok": live},
        "clear_expired": {"ok": {"scanned": 2, "deleted": 1, "skipped": 0}},
        "exists_expired_after_clear": {"ok": false},
        "load_live_after_clear": found(LIVE),
    });
    let steps = &run["steps"];
    for (label, want) in expected.as_object().unwrap() {
        assert_eq!(&steps[label], want, "step {label}; the whole run: {run:#}");
    }
    assert_eq!(steps.as_object().map(|s| s.len()), Some(expected.as_object().unwrap().len()), "steps: {run:#}");
    // Only the live session is left, under its file name.
    assert_eq!(listing(dir), vec![format!("{prefix}{live}")]);
}

/// The smoke scenario through the wasmtime CLI, one `wasmtime run` per step,
/// in the Node driver's output shape.
fn wasmtime_smoke(cli: &WasmtimeCli, dir: &Path, s: &Settings) -> Value {
    let mut steps = serde_json::Map::new();
    let mut step = |label: &str, func: &str, args: &[String]| {
        let v = cli.call(dir, s, func, args);
        steps.insert(label.to_owned(), v.clone());
        v
    };
    let w = |t: &str| wave_string(t);
    let first = ok_string(&step("create", "create", &[w(DATA)]), "create");
    step("load_created", "load", &[w(&first)]);
    step("save_update", "save", &[w(&first), w(UPDATED), "false".into()]);
    step("load_updated", "load", &[w(&first)]);
    step("exists_first", "exists", &[w(&first)]);
    let cycled = ok_string(&step("cycle_key", "cycle-key", &[w(&first), w(UPDATED)]), "cycle-key");
    step("load_old_after_cycle", "load", &[w(&first)]);
    step("load_cycled", "load", &[w(&cycled)]);
    step("delete", "delete", &[w(&cycled)]);
    step("exists_after_delete", "exists", &[w(&cycled)]);
    step("save_deleted", "save", &[w(&cycled), w(DATA), "false".into()]);
    step("load_invalid_key", "load", &[w("NOT-A-KEY")]);
    let expired = ok_string(&step("create_expired", "create", &[w(EXPIRED)]), "create expired");
    let live = ok_string(&step("create_live", "create", &[w(LIVE)]), "create live");
    step("clear_expired", "clear-expired", &[]);
    step("exists_expired_after_clear", "exists", &[w(&expired)]);
    step("load_live_after_clear", "load", &[w(&live)]);
    json!({"keys": {"first": first, "cycled": cycled, "expired": expired, "live": live}, "steps": steps})
}

// ---------------------------------------------------------------------------
// Encoding helpers (no outside runtime needed)

#[test]
fn wave_encoding_and_parsing() {
    // What wasmtime prints for each result shape the WIT uses.
    assert_eq!(parse_wave(r#"ok("abc")"#).unwrap(), json!({"ok": "abc"}));
    assert_eq!(parse_wave("ok").unwrap(), json!({"ok": null}));
    assert_eq!(parse_wave("ok(true)").unwrap(), json!({"ok": true}));
    assert_eq!(parse_wave("err(not-found)").unwrap(), json!({"err": {"tag": "not-found"}}));
    assert_eq!(parse_wave(r#"err(io("no \"x\""))"#).unwrap(), json!({"err": {"tag": "io", "val": "no \"x\""}}));
    assert_eq!(parse_wave("ok(missing)").unwrap(), missing());
    assert_eq!(
        parse_wave(r#"ok(found({data: "{\"a\":\"\u{e9}\\n\"}", expires-at: {seconds: 9223372036854775807, nanoseconds: 5}}))"#).unwrap(),
        json!({"ok": {"tag": "found", "val": {"data": "{\"a\":\"\u{e9}\\n\"}", "expires-at": {"seconds": i64::MAX, "nanoseconds": 5}}}}),
        "escapes, as wasmtime's writer produces them; an s64 exactly"
    );
    assert_eq!(parse_wave("ok({scanned: 3, deleted: 1, skipped: 0})").unwrap(), json!({"ok": {"scanned": 3, "deleted": 1, "skipped": 0}}));
    assert_eq!(parse_wave("{:}").unwrap(), json!({}));
    assert_eq!(parse_wave("%none").unwrap(), json!({"tag": "none"}));
    assert!(parse_wave("ok(").is_err());
    assert!(parse_wave(r#""unterminated"#).is_err());
    assert!(parse_wave("ok x").is_err());

    // Strings into WAVE: quotes, backslashes, control characters.
    assert_eq!(wave_string("a\"b\\c\nd\u{1}é"), r#""a\"b\\c\nd\u{1}é""#);
    assert_eq!(parse_wave(&wave_string("a\"b\\c\nd\té")).unwrap(), json!("a\"b\\c\nd\té"));

    let mut s = settings(Durability::None);
    s.fallback_keys = vec!["old".into(), "older".into()];
    assert_eq!(
        settings_wave(&s),
        format!(
            "{{secret-key: {}, fallback-keys: [\"old\", \"older\"], cookie-age: 1209600, file-prefix: \"sessionid\", \
             key-salt: \"django.contrib.sessions.SessionStore\", max-session-size: 1048576, durability: %none}}",
            wave_string(SECRET)
        )
    );
}

// ---------------------------------------------------------------------------
// The wasmtime CLI

#[test]
fn wasmtime_cli_smoke() {
    let cli = WasmtimeCli::new();
    // `full` takes the path that fsyncs the directory too.
    let s = settings(Durability::Full);
    let dir = session_dir();
    let expiries = Expiries::new(&s);
    let run = wasmtime_smoke(&cli, dir.path(), &s);
    check_smoke(&run, &expiries, dir.path(), "sessionid");

    // The host library reads what the CLI left.
    let live = run["keys"]["live"].as_str().unwrap();
    let store = Store::open(dir.path(), s).unwrap();
    assert_eq!(store.load(live).unwrap().into_data(), Some(host_data(LIVE)));
}

#[test]
fn wasmtime_cli_bad_settings_and_data_are_errors_not_traps() {
    let cli = WasmtimeCli::new();
    let dir = session_dir();
    let mut s = settings(Durability::None);
    let data = wave_string("[1, 2]");
    let v = cli.call(dir.path(), &s, "create", &[data]);
    assert_eq!(v["err"]["tag"], "invalid-data", "{v}");
    s.file_prefix = "../escape".into();
    let v = cli.call(dir.path(), &s, "create", &[wave_string("{}")]);
    assert_eq!(v["err"]["tag"], "invalid-settings", "{v}");
    assert!(listing(dir.path()).is_empty(), "nothing may be written: {:?}", listing(dir.path()));
}

// ---------------------------------------------------------------------------
// Node through jco

#[test]
fn node_jco_smoke() {
    let node = NodeJco::new();
    // Every durability: `full` fsyncs the directory, which the guest must do
    // in a way the shim allows.
    for durability in [Durability::None, Durability::File, Durability::Full] {
        let s = settings(durability);
        let dir = session_dir();
        let expiries = Expiries::new(&s);
        let run = node.smoke(dir.path(), &s);
        check_smoke(&run, &expiries, dir.path(), "sessionid");

        let live = run["keys"]["live"].as_str().unwrap();
        let store = Store::open(dir.path(), s).unwrap();
        assert_eq!(store.load(live).unwrap().into_data(), Some(host_data(LIVE)), "{durability:?}");
    }
}

#[test]
fn node_jco_honours_every_setting() {
    let node = NodeJco::new();
    let dir = session_dir();
    let mut s = settings(Durability::File);
    s.file_prefix = "other_".into();
    s.key_salt = "custom.salt".into();
    s.max_session_size = 64;
    let key = ok_string(&node.call(dir.path(), &s, "create", vec![json!(DATA)]), "create");
    assert_eq!(listing(dir.path()), vec![format!("other_{key}")]);
    let big = format!(r#"{{"x":"{}"}}"#, "y".repeat(100));
    assert_eq!(node.call(dir.path(), &s, "save", vec![json!(key), json!(big), json!(false)]), json!({"err": {"tag": "too-large"}}));
    // The host library with the same settings reads it; with another salt
    // the signature does not match.
    let store = Store::open(dir.path(), s.clone()).unwrap();
    assert_eq!(store.load(&key).unwrap().into_data(), Some(host_data(DATA)));
    let mut other = s.clone();
    other.key_salt = "another.salt".into();
    assert_eq!(node.call(dir.path(), &other, "load", vec![json!(key)]), json!({"ok": {"tag": "bad-signature"}}));
}

// ---------------------------------------------------------------------------
// Across runtimes: one directory, three runtimes

#[test]
fn files_cross_between_runtimes() {
    let cli = WasmtimeCli::new();
    let node = NodeJco::new();
    let dir = session_dir();
    let d = dir.path();
    let s = settings(Durability::File);
    let ex = Expiries::new(&s);
    let store = Store::open(d, s.clone()).unwrap();
    let w = |t: &str| wave_string(t);

    // 1. The wasmtime CLI writes (non-ASCII, nesting, a big integer, a
    //    float: what the JSON encoder must get right); Node and the host read.
    let data = r#"{"_auth_user_id":"42","name":"J\u00e9r\u00f4me \u2713","cart":[1,2.5,{"sku":"a\"b"}],"big":123456789012345678901234567890,"nested":{"x":null,"y":false}}"#;
    let a = ok_string(&cli.call(d, &s, "create", &[w(data)]), "wasmtime create");
    assert_key(&a);
    assert_eq!(listing(d), vec![format!("sessionid{a}")]);
    let file = std::fs::read_to_string(d.join(format!("sessionid{a}"))).unwrap();
    assert_eq!(file.split(':').count(), 3, "Django's payload:timestamp:signature, got {file:?}");
    let from_node = node.calls(d, &s, &[("load", vec![json!(a)]), ("exists", vec![json!(a)])]);
    assert_eq!(ex.checked_all(from_node), vec![found(data), json!({"ok": true})], "Node reads what wasmtime wrote");
    assert_eq!(store.load(&a).unwrap().into_data(), Some(host_data(data)), "the host reads what wasmtime wrote");

    // A reader with another secret sees a bad signature; with the old secret
    // as a fallback it reads the session (fallback-keys as a WAVE list).
    let mut rotated = s.clone();
    rotated.secret_key = "the-new-secret".into();
    assert_eq!(node.call(d, &rotated, "load", vec![json!(a)]), json!({"ok": {"tag": "bad-signature"}}));
    rotated.fallback_keys = vec!["unrelated".into(), SECRET.into()];
    assert_eq!(ex.checked(cli.call(d, &rotated, "load", &[w(&a)])), found(data));

    // 2. Node updates; wasmtime and the host read the update.
    let updated = r#"{"_auth_user_id":"42","theme":"dark"}"#;
    assert_eq!(node.call(d, &s, "save", vec![json!(a), json!(updated), json!(false)]), json!({"ok": null}));
    assert_eq!(ex.checked(cli.call(d, &s, "load", &[w(&a)])), found(updated));
    assert_eq!(store.load(&a).unwrap().into_data(), Some(host_data(updated)));

    // 3. The host cycles the key; wasmtime and Node see the move.
    let b = store.cycle_key(&a, &host_data(updated)).unwrap();
    assert_key(&b);
    assert_ne!(a, b);
    assert_eq!(cli.call(d, &s, "load", &[w(&a)]), missing(), "the old key is gone for wasmtime");
    assert_eq!(ex.checked_all(node.calls(d, &s, &[("load", vec![json!(a)]), ("load", vec![json!(b)])])), vec![missing(), found(updated)]);

    // 4. wasmtime saves with durability `none` (the WAVE keyword case), and
    //    Node and the host read it.
    let none = settings(Durability::None);
    let third = r#"{"_auth_user_id":"42","step":3}"#;
    assert_eq!(cli.call(d, &none, "save", &[w(&b), w(third), "false".into()]), json!({"ok": null}));
    assert_eq!(ex.checked(node.call(d, &s, "load", vec![json!(b)])), found(third));
    assert_eq!(store.load(&b).unwrap().into_data(), Some(host_data(third)));

    // 5. Node writes an expired session, the host a live one; the wasmtime
    //    CLI sweeps, and only the expired one goes.
    let expired = ok_string(&node.call(d, &s, "create", vec![json!(EXPIRED)]), "node create expired");
    let live = store.create(&host_data(LIVE)).unwrap();
    std::fs::write(d.join("not-a-session.txt"), "left alone").unwrap();
    assert_eq!(cli.call(d, &s, "clear-expired", &[]), json!({"ok": {"scanned": 3, "deleted": 1, "skipped": 0}}));
    let mut want = vec!["not-a-session.txt".to_owned(), format!("sessionid{b}"), format!("sessionid{live}")];
    want.sort();
    assert_eq!(listing(d), want);
    assert_eq!(
        ex.checked_all(node.calls(d, &s, &[("exists", vec![json!(expired)]), ("load", vec![json!(live)])])),
        vec![json!({"ok": false}), found(LIVE)]
    );

    // 6. The host deletes; neither other runtime finds the session.
    assert!(store.delete(&b).unwrap());
    assert_eq!(cli.call(d, &s, "exists", &[w(&b)]), json!({"ok": false}));
    assert_eq!(node.call(d, &s, "load", vec![json!(b)]), missing());
}

/// A found session's `expires-at` in the wasmtime CLI and Node is exactly
/// what the host reads: the file's mtime plus the cookie age by default, an
/// ISO time to the microsecond, and for a session that never expires the
/// s64 maximum (through WAVE and jco's BigInt without loss), which the host
/// clamps to 9999-12-31T23:59:59Z.
#[test]
fn expiry_moments_are_exact_in_every_runtime() {
    let cli = WasmtimeCli::new();
    let node = NodeJco::new();
    let dir = session_dir();
    let d = dir.path();
    let s = settings(Durability::File);
    let store = Store::open(d, s.clone()).unwrap();
    let found_at = |data: &str, seconds: i64, nanoseconds: u32| {
        json!({"ok": {"tag": "found", "val": {"data": data, "expires-at": {"seconds": seconds, "nanoseconds": nanoseconds}}}})
    };

    let plain = store.create_json(DATA).unwrap();
    let mtime = std::fs::metadata(d.join(format!("sessionid{plain}"))).unwrap().modified().unwrap();
    let since_epoch = mtime.duration_since(std::time::UNIX_EPOCH).unwrap();
    let default = found_at(DATA, since_epoch.as_secs() as i64 + s.cookie_age as i64, since_epoch.subsec_nanos());
    let iso_data = r#"{"_session_expiry":"2031-02-03T04:05:06.123456+02:00"}"#;
    let iso = store.create_json(iso_data).unwrap();
    let iso_found = found_at(iso_data, 1_927_850_706, 123_456_000);
    let never_data = r#"{"_session_expiry":Infinity}"#;
    let never = store.create_json(never_data).unwrap();
    let never_found = found_at(never_data, i64::MAX, 0);

    for (key, want) in [(&plain, &default), (&iso, &iso_found), (&never, &never_found)] {
        assert_eq!(&cli.call(d, &s, "load", &[wave_string(key)]), want, "wasmtime CLI");
    }
    assert_eq!(
        node.calls(d, &s, &[("load", vec![json!(plain)]), ("load", vec![json!(iso)]), ("load", vec![json!(never)])]),
        vec![default, iso_found, never_found],
        "Node"
    );
    // The host's view of the same files.
    let at = |secs: u64, nanos: u32| std::time::UNIX_EPOCH + std::time::Duration::new(secs, nanos);
    assert_eq!(store.load_json(&plain).unwrap().expires_at(), Some(&(mtime + std::time::Duration::from_secs(s.cookie_age))));
    assert_eq!(store.load_json(&iso).unwrap().expires_at(), Some(&at(1_927_850_706, 123_456_000)));
    assert_eq!(store.load_json(&never).unwrap().expires_at(), Some(&at(253_402_300_799, 0)));
}

/// Files past one host read (wasmtime returns at most 64 KiB per read) in
/// the other runtimes too: the wasmtime CLI and Node read a session the host
/// wrote whole, and a session the wasmtime CLI wrote reads whole in the host
/// (the old guest read only the first 64 KiB: "bad signature").
#[test]
fn sessions_past_one_host_read_cross_every_runtime() {
    let cli = WasmtimeCli::new();
    let node = NodeJco::new();
    let dir = session_dir();
    let d = dir.path();
    let s = settings(Durability::File);
    let ex = Expiries::new(&s);
    let store = Store::open(d, s.clone()).unwrap();
    // Letters zlib cannot shrink much: the files stay near the JSON's size.
    let blob = |len: usize| crate::support::letters(len, len as u32);
    let big = format!(r#"{{"blob":"{}"}}"#, blob(400_000));
    let key = store.create_json(&big).unwrap();
    assert!(std::fs::metadata(d.join(format!("sessionid{key}"))).unwrap().len() > 4 * 65_536);
    assert_eq!(ex.checked(cli.call(d, &s, "load", &[wave_string(&key)])), found(&big), "wasmtime CLI reads a big file");
    assert_eq!(ex.checked(node.call(d, &s, "load", vec![json!(key)])), found(&big), "Node reads a big file");
    // An argument holds at most 128 KiB on Linux: the CLI writes 120 KB.
    let written = format!(r#"{{"blob":"{}"}}"#, blob(120_000));
    let from_cli = ok_string(&cli.call(d, &s, "create", &[wave_string(&written)]), "wasmtime create");
    assert!(std::fs::metadata(d.join(format!("sessionid{from_cli}"))).unwrap().len() > 65_536);
    assert_eq!(store.load_json(&from_cli).map(Loaded::into_data), Ok(Some(written)));
}
