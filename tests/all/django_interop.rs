//! Interop with a real Django sharing the session directory.
//!
//! A cached venv holds Django 5.2 LTS (`support::django`); each test starts
//! one Python process running `tests/interop/django_sessions.py`, which
//! drives Django's own `django.contrib.sessions.backends.file.SessionStore`
//! op by op, interleaved with sessionbox's steps over the same directory,
//! secret and settings. sessionbox runs through the library (`Store`,
//! `Session`) and, for `clear-expired` and `cycle-key`, the CLI binary.
//!
//! Data is compared exactly: Django prints it with Python's
//! `json.dumps(separators=(",", ":"))`, and sessionbox's data must give the
//! same text with `json_python::to_string` (key order, escapes and Python's
//! number forms included) and the same parsed value.
//!
//! Where sessionbox deliberately differs from Django (docs/SPEC.md §5), the test says
//! so in its name and asserts both behaviours: Django's and sessionbox's.



use serde_json::{json, Value};
use sessionbox::{Data, Expiry, Loaded, Settings, Store};
use sessionbox_guest::{iso8601, json as json_python};
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime};
use crate::support::django;

// ---------------------------------------------------------------------------
// Set-up: one directory, one configuration, both sides
// ---------------------------------------------------------------------------

const SECRET: &str = "interop-secret-7c1f0e9a2b";
const OLD_SECRET: &str = "interop-old-secret-35d2aa";
const HOUR: u64 = 3600;

/// The settings both sides run with.
#[derive(Clone, Debug)]
struct Config {
    secret: String,
    fallbacks: Vec<String>,
    /// Django's SESSION_COOKIE_NAME, sessionbox's file prefix.
    prefix: String,
    /// Django's store class name; sessionbox's key salt is derived from it.
    store_class: String,
    cookie_age: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            secret: SECRET.into(),
            fallbacks: Vec::new(),
            prefix: "sessionid".into(),
            store_class: "SessionStore".into(),
            cookie_age: sessionbox::DEFAULT_COOKIE_AGE,
        }
    }
}

impl Config {
    fn key_salt(&self) -> String {
        format!("django.contrib.sessions.{}", self.store_class)
    }

    fn settings(&self) -> Settings {
        let mut s = Settings::new(self.secret.clone());
        s.fallback_keys = self.fallbacks.clone();
        s.file_prefix = self.prefix.clone();
        s.key_salt = self.key_salt();
        s.cookie_age = self.cookie_age;
        s
    }
}

/// A scratch directory holding the shared session directory.
struct Sandbox {
    root: tempfile::TempDir,
    dir: PathBuf,
    cfg: Config,
}

impl Sandbox {
    fn new(cfg: Config) -> Sandbox {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("sessions");
        // Django needs the directory to exist; 0700 as sessionbox wants it.
        fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        Sandbox { root, dir, cfg }
    }

    /// sessionbox's library over the shared directory.
    fn store(&self) -> Store {
        self.store_with(&self.cfg)
    }

    fn store_with(&self, cfg: &Config) -> Store {
        Store::open(&self.dir, cfg.settings()).unwrap()
    }

    /// A Django process over the shared directory.
    fn django(&self) -> Django {
        Django::start(&self.dir, &self.cfg)
    }

    fn file(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{}{key}", self.cfg.prefix))
    }

    fn content(&self, key: &str) -> String {
        fs::read_to_string(self.file(key)).unwrap()
    }

    /// The `sessionbox` binary with `cfg`'s settings over `dir`.
    fn cli(&self, dir: &Path, cfg: &Config, args: &[&str]) -> Output {
        let mut cmd = crate::support::sessionbox_on(dir, &cfg.secret);
        cmd.args(["--prefix", &cfg.prefix, "--key-salt", &cfg.key_salt(), "--cookie-age", &cfg.cookie_age.to_string()]);
        if !cfg.fallbacks.is_empty() {
            let path = self.root.path().join("fallback-keys");
            let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path).unwrap();
            f.write_all(cfg.fallbacks.join("\n").as_bytes()).unwrap();
            cmd.arg("--fallback-keys-file").arg(&path);
        }
        cmd.args(args);
        cmd.env("XDG_CONFIG_HOME", self.root.path().join("config"));
        cmd.output().unwrap()
    }

    /// Runs the CLI; it must succeed; returns its JSON.
    fn cli_ok(&self, dir: &Path, cfg: &Config, args: &[&str]) -> Value {
        let out = self.cli(dir, cfg, args);
        assert!(
            out.status.success(),
            "sessionbox {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// Django's file backend (`support::django::Driver`) with one store class.
struct Django {
    driver: django::Driver,
    store_class: String,
}

impl Django {
    fn start(dir: &Path, cfg: &Config) -> Django {
        let driver = django::Driver::start(
            &django::django_python(),
            &json!({
                "engine": "file",
                "secret_key": cfg.secret,
                "fallback_keys": cfg.fallbacks,
                "dir": dir,
                "cookie_name": cfg.prefix,
                "cookie_age": cfg.cookie_age,
            }),
        );
        Django { driver, store_class: cfg.store_class.clone() }
    }

    fn send_text(&mut self, line: &str) {
        self.driver.send_text(line);
    }

    /// Runs one op (with this process's store class unless the op names
    /// one) and returns its result, whether it succeeded or not.
    fn op(&mut self, mut op: Value) -> Value {
        op.as_object_mut().unwrap().entry("store_class").or_insert(json!(self.store_class));
        self.driver.op(&op)
    }

    /// Runs one op given as JSON text (for what a Rust `Value` cannot hold,
    /// such as a lone surrogate).
    fn op_text(&mut self, op: &str) -> Value {
        self.driver.op_text(op)
    }

    /// Reads the result line of `op`.
    fn answer(&mut self, op: &str) -> Value {
        self.driver.answer(op)
    }

    /// Runs one op that must succeed.
    fn ok(&mut self, op: Value) -> Value {
        let result = self.op(op.clone());
        assert_eq!(result["ok"], json!(true), "Django op {op} failed: {result}");
        result
    }

    fn create(&mut self, data: &Data) -> String {
        self.ok(with_data(json!({"op": "create"}), data))["key"].as_str().unwrap().to_owned()
    }

    fn create_with_expiry(&mut self, data: &Data, expiry: Value) -> String {
        self.ok(with_data(json!({"op": "create", "expiry": expiry}), data))["key"].as_str().unwrap().to_owned()
    }

    fn load(&mut self, key: &str) -> Value {
        self.ok(json!({"op": "load", "key": key}))
    }

    fn exists(&mut self, key: &str) -> bool {
        self.ok(json!({"op": "exists", "key": key}))["exists"].as_bool().unwrap()
    }

    /// Runs an op given as JSON text that must succeed.
    fn ok_text(&mut self, op: &str) -> Value {
        let result = self.op_text(op);
        assert_eq!(result["ok"], json!(true), "Django op {} failed: {result}", short(op));
        result
    }

    /// Django creates a session holding `data_json` (object text, which may
    /// hold what a `Value` cannot: lone surrogates, any depth), with
    /// `set_expiry(<datetime>)` when `expiry` is an ISO time; returns the key.
    fn create_text(&mut self, data_json: &str, expiry: Option<&str>) -> String {
        let expiry = expiry.map(|iso| format!(r#","expiry":{{"datetime":"{iso}"}}"#)).unwrap_or_default();
        let op = format!(r#"{{"op":"create","store_class":{},"data":{data_json}{expiry}}}"#, json!(self.store_class));
        self.ok_text(&op)["key"].as_str().unwrap().to_owned()
    }

    /// Django's load of `key`, the data as `data_json` only.
    fn load_text(&mut self, key: &str) -> Value {
        self.ok(json!({"op": "load", "key": key, "text_only": true}))
    }

    /// Django's decoder on a session file's text, the data as `data_json` only.
    fn decode_text(&mut self, stored: &str) -> Value {
        self.ok(json!({"op": "decode", "text": stored, "text_only": true}))
    }

    /// Django's `encode` of `data_json`: what its file backend writes.
    fn encode_text(&mut self, data_json: &str) -> String {
        let op = format!(r#"{{"op":"encode","store_class":{},"data":{data_json}}}"#, json!(self.store_class));
        self.ok_text(&op)["text"].as_str().unwrap().to_owned()
    }

    /// The sizes of Django's encodings (its session files) of each of
    /// `data_jsons`, in one request line.
    fn encoded_sizes(&mut self, data_jsons: &[String]) -> Vec<usize> {
        let class = json!(self.store_class);
        let ops: Vec<String> =
            data_jsons.iter().map(|d| format!(r#"{{"op":"encode","store_class":{class},"size_only":true,"data":{d}}}"#)).collect();
        let line = format!("[{}]", ops.join(","));
        self.send_text(&line);
        (0..ops.len())
            .map(|i| {
                let r = self.answer(&short(&ops[i]));
                assert_eq!(r["ok"], json!(true), "Django op {} failed: {r}", short(&ops[i]));
                r["size"].as_u64().unwrap() as usize
            })
            .collect()
    }

    /// The JSON Django's signing code unpacks from a session file's text.
    fn payload_json(&mut self, stored: &str) -> String {
        self.ok(json!({"op": "payload", "text": stored}))["json"].as_str().unwrap().to_owned()
    }
}

// ---------------------------------------------------------------------------
// Data, files and times
// ---------------------------------------------------------------------------

/// `op` with `"data": d`. (Not through `json!`: serde_json's `to_value`
/// re-parses numbers and refuses `NaN`.)
fn with_data(mut op: Value, d: &Data) -> Value {
    op.as_object_mut().unwrap().insert("data".into(), Value::Object(d.clone()));
    op
}

/// Session data from Python-form JSON text (numbers keep that text).
fn data(text: &str) -> Data {
    sessionbox::parse_data(text).unwrap_or_else(|e| panic!("test data {text}: {e}"))
}

/// The text Python's `json.dumps(d, separators=(",", ":"))` gives.
fn py(d: &Data) -> String {
    json_python::object_to_string(d)
}

/// Asserts that Django's op result holds exactly `expected`: the same text in
/// Python's form (so key order, escapes and number forms too) and the same
/// value.
#[track_caller]
fn assert_django_data(result: &Value, expected: &Data, what: &str) {
    let text = result["data_json"].as_str().unwrap_or_else(|| panic!("{what}: no data in {result}"));
    assert_eq!(text, py(expected), "{what}: Django's data differs from sessionbox's");
    let theirs = result["data"].as_object().unwrap();
    assert_eq!(theirs, expected, "{what}");
    assert_eq!(theirs.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "{what}: key order");
}

/// Asserts that sessionbox's data is exactly `expected` (text and value).
#[track_caller]
fn assert_same_data(ours: &Data, expected: &Data, what: &str) {
    assert_eq!(py(ours), py(expected), "{what}: sessionbox's data differs");
    assert_eq!(ours, expected, "{what}");
    assert_eq!(ours.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "{what}: key order");
}

#[track_caller]
fn found(store: &Store, key: &str) -> Data {
    match store.load(key).unwrap() {
        Loaded::Found { data: d, .. } => d,
        other => panic!("sessionbox could not load {key}: {other:?}"),
    }
}

/// A long text shortened for a failure message.
fn short(text: &str) -> String {
    if text.len() <= 300 {
        return text.to_owned();
    }
    let end = (0..=300).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    format!("{}… ({} bytes)", &text[..end], text.len())
}

/// The `data_json` of a Django op result.
#[track_caller]
fn text_of(result: &Value) -> &str {
    result["data_json"].as_str().unwrap_or_else(|| panic!("no data_json in {}", short(&result.to_string())))
}

/// Asserts two texts are equal, showing where they part (they may be a
/// mebibyte long).
#[track_caller]
fn assert_same_text(got: &str, expected: &str, what: &str) {
    if got == expected {
        return;
    }
    let at = got.bytes().zip(expected.bytes()).position(|(a, b)| a != b).unwrap_or(got.len().min(expected.len()));
    let around = |t: &str| String::from_utf8_lossy(&t.as_bytes()[at.saturating_sub(40)..(at + 40).min(t.len())]).into_owned();
    panic!(
        "{what}: the texts differ at byte {at} (lengths {} and {expected_len}):\n  got      …{:?}…\n  expected …{:?}…",
        got.len(),
        around(got),
        around(expected),
        expected_len = expected.len()
    );
}

/// Asserts `load_json` gives exactly `expected`.
#[track_caller]
fn assert_load_json(store: &Store, key: &str, expected: &str, what: &str) {
    match store.load_json(key).unwrap() {
        Loaded::Found { data: text, .. } => assert_same_text(&text, expected, &format!("{what}: load_json")),
        other => panic!("{what}: load_json gave {other:?}"),
    }
}

/// Asserts `load_json` gives exactly `expected`, and `load` the same as
/// `Data` (or, deeper than `MAX_DATA_DEPTH`, refuses it, pointing to
/// `load_json`).
#[track_caller]
fn assert_loads_text(store: &Store, key: &str, expected: &str, what: &str) {
    assert_load_json(store, key, expected, what);
    match sessionbox_guest::json::parse_object_within(expected, sessionbox::MAX_DATA_DEPTH) {
        Ok(expected) => {
            let ours = found(store, key);
            assert_same_text(&py(&ours), &py(&expected), &format!("{what}: load"));
            assert!(ours == expected, "{what}: load gives other data");
        }
        Err(_) => match store.load(key) {
            Err(sessionbox::Error::InvalidData(why)) => assert!(why.contains("load_json"), "{what}: {why}"),
            other => panic!("{what}: load of data deeper than MAX_DATA_DEPTH gave {:?}", summary(&other)),
        },
    }
}

/// A `load` result without the (possibly huge) data.
fn summary(loaded: &sessionbox::Result<Loaded<Data>>) -> String {
    match loaded {
        Ok(Loaded::Found { data: d, .. }) => format!("Found({} keys)", d.len()),
        other => format!("{other:?}"),
    }
}

/// Sets a file's mtime `secs` seconds into the past.
fn age_file(path: &Path, secs: u64) {
    let when = SystemTime::now() - Duration::from_secs(secs);
    File::options().write(true).open(path).unwrap().set_modified(when).unwrap();
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect()
}

/// Copies the files of `from` into a new directory `to`, mtimes included.
fn copy_dir(from: &Path, to: &Path) {
    fs::DirBuilder::new().mode(0o700).create(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        let dest = to.join(entry.file_name());
        fs::copy(entry.path(), &dest).unwrap();
        File::options().write(true).open(&dest).unwrap().set_modified(meta.modified().unwrap()).unwrap();
    }
}

/// The payload part of a session file (before the timestamp).
fn payload(stored: &str) -> &str {
    stored.split(':').next().unwrap()
}

fn is_compressed(stored: &str) -> bool {
    stored.starts_with('.')
}

fn iso_time(s: &str) -> SystemTime {
    iso8601::parse(s).unwrap_or_else(|| panic!("not an ISO time: {s}")).to_system_time()
}

fn secs_apart(a: SystemTime, b: SystemTime) -> f64 {
    match a.duration_since(b) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => e.duration().as_secs_f64(),
    }
}

// ---------------------------------------------------------------------------
// Test data
// ---------------------------------------------------------------------------

/// Unicode (BMP, astral, in keys too), every kind of control character, DEL
/// and C1 controls, Python float forms and NaN/Infinity, integers beyond 64
/// bits, nesting, and keys deliberately out of order (Python form).
const RICH: &str = r#"{"zeta":1,"alpha":"caf\u00e9 \u65e5\u672c\u8a9e \ud83d\ude00 \u0416 \u2028","ctrl":"\u0000\u0001\b\t\n\u000b\f\r\u001b\u001f \u007f\u0080\u009f\"\\/","\u00e9\ud83d\udc0d key":"v","":"empty key","floats":[1.5,1.0,-0.0,0.0,0.1,1e+16,1e-05,0.0001,1.7976931348623157e+308,5e-324,-2.5e-07,1234567890123456.8,NaN,Infinity,-Infinity],"ints":[0,-1,9007199254740993,-9223372036854775809,18446744073709551616],"big":123456789012345678901234567890123456789,"nested":{"b":{"y":[1,{"z":null,"a":[[],{}]}],"x":true},"a":false,"m":{"3":3,"1":1,"2":2}},"_auth_user_id":"42","_auth_user_backend":"django.contrib.auth.backends.ModelBackend"}"#;

/// Too small to gain from zlib: stored uncompressed by both.
const SMALL: &str = r#"{"_auth_user_id":"7","n":-3,"pi":3.141592653589793}"#;

/// Repetitive enough to be stored compressed by both.
fn large() -> String {
    let items: Vec<String> = (0..200).map(|i| format!(r#"{{"id":{i},"name":"item \u00e9 {i}","price":{}.25}}"#, i * 3)).collect();
    format!(r#"{{"cart":[{}],"blob":"{}","last":1e+100}}"#, items.join(","), "abc\\n".repeat(300))
}

/// (name, Python-form JSON, stored compressed?) — `None`: whatever Django
/// decides, sessionbox must decide the same.
fn cases() -> Vec<(&'static str, String, Option<bool>)> {
    vec![
        ("small", SMALL.to_owned(), Some(false)),
        ("empty", "{}".to_owned(), Some(false)),
        ("rich", RICH.to_owned(), None),
        ("large", large(), Some(true)),
    ]
}

// ---------------------------------------------------------------------------
// The venv
// ---------------------------------------------------------------------------

#[test]
fn the_interop_tests_run_real_django_5_2() {
    let sb = Sandbox::new(Config::default());
    let mut dj = sb.django();
    let info = dj.ok(json!({"op": "info"}));
    let version = info["django_version"].as_str().unwrap();
    assert!(version.starts_with("5.2."), "Django {version}");
    assert_eq!(version, django::django_version());
    assert_eq!(info["key_salt"], json!(sessionbox::DEFAULT_KEY_SALT));
    eprintln!("interop tests run against Django {version}");
}

// ---------------------------------------------------------------------------
// Data, both directions
// ---------------------------------------------------------------------------

#[test]
fn sessions_saved_by_django_load_in_sessionbox_with_identical_data() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    let mut compressed_seen = BTreeSet::new();
    for (name, text, compressed) in cases() {
        let expected = data(&text);
        let key = dj.create(&expected);
        // Django's own round trip gives back exactly the test data.
        assert_django_data(&dj.load(&key), &expected, name);
        let stored = sb.content(&key);
        if let Some(c) = compressed {
            assert_eq!(is_compressed(&stored), c, "{name}: Django's file {stored}");
        }
        compressed_seen.insert(is_compressed(&stored));
        assert_same_data(&found(&store, &key), &expected, name);
        // The Session API sees it too, under the same key.
        let mut session = store.session(Some(&key));
        assert_eq!(session.keys().unwrap(), expected.keys().cloned().collect::<Vec<_>>(), "{name}");
        assert_eq!(session.key(), Some(key.as_str()));
    }
    assert_eq!(compressed_seen, BTreeSet::from([false, true]), "both payload kinds covered");

    // An update by Django (a changed key keeps its place, new keys go last)
    // reads the same in sessionbox.
    let key = dj.create(&data(RICH));
    dj.ok(with_data(json!({"op": "save", "key": key}), &data(r#"{"new":[1.25,"\u00ff"],"zeta":2e-07,"alpha":null}"#)));
    let mut expected = data(RICH);
    expected.insert("zeta".into(), data(r#"{"v":2e-07}"#)["v"].clone());
    expected.insert("alpha".into(), Value::Null);
    expected.insert("new".into(), data(r#"{"v":[1.25,"\u00ff"]}"#)["v"].clone());
    assert_django_data(&dj.load(&key), &expected, "updated by Django");
    assert_same_data(&found(&store, &key), &expected, "updated by Django");
}

#[test]
fn sessions_saved_by_sessionbox_load_in_django_with_identical_data() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    let mut compressed_seen = BTreeSet::new();
    for (name, text, compressed) in cases() {
        let expected = data(&text);
        let key = store.create(&expected).unwrap();
        let stored = sb.content(&key);
        if let Some(c) = compressed {
            assert_eq!(is_compressed(&stored), c, "{name}: sessionbox's file {stored}");
        }
        compressed_seen.insert(is_compressed(&stored));
        let loaded = dj.load(&key);
        assert_django_data(&loaded, &expected, name);
        assert_eq!(loaded["key_after"], json!(key), "{name}: Django kept the key");
        assert_eq!(loaded["corrupted"], json!(false), "{name}");
        // Django's decoder on the raw file text agrees too.
        assert_django_data(&dj.ok(json!({"op": "decode", "text": stored})), &expected, name);
    }
    assert_eq!(compressed_seen, BTreeSet::from([false, true]), "both payload kinds covered");

    // An update through sessionbox's Session (changed key in place, new last).
    let key = store.create(&data(RICH)).unwrap();
    let mut session = store.session(Some(&key));
    session.insert("zeta", data(r#"{"v":-1e-300}"#)["v"].clone()).unwrap();
    session.insert("new", data(r#"{"v":{"k\u00e9":[true,123456789012345678901234567890]}}"#)["v"].clone()).unwrap();
    session.pop("alpha").unwrap();
    session.save(false).unwrap();
    let mut expected = data(RICH);
    expected.insert("zeta".into(), data(r#"{"v":-1e-300}"#)["v"].clone());
    expected.insert("new".into(), data(r#"{"v":{"k\u00e9":[true,123456789012345678901234567890]}}"#)["v"].clone());
    expected.shift_remove("alpha");
    assert_django_data(&dj.load(&key), &expected, "updated by sessionbox");
}

/// Django's encoder and sessionbox's writer make the same choice about
/// compression and sign the same JSON bytes (unpacked by Django's own
/// base64/zlib code); an uncompressed payload is the same base64 text.
#[test]
fn payloads_match_djangos_encoder_byte_for_byte() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    for (name, text, _) in cases() {
        let expected = data(&text);
        let theirs = dj.ok(with_data(json!({"op": "encode"}), &expected))["text"].as_str().unwrap().to_owned();
        let key = store.create(&expected).unwrap();
        let ours = sb.content(&key);
        assert_eq!(is_compressed(&ours), is_compressed(&theirs), "{name}: Django {theirs} vs sessionbox {ours}");
        if !is_compressed(&ours) {
            assert_eq!(payload(&ours), payload(&theirs), "{name}");
        }
        let their_json = dj.ok(json!({"op": "payload", "text": theirs}))["json"].as_str().unwrap().to_owned();
        let our_json = dj.ok(json!({"op": "payload", "text": ours}))["json"].as_str().unwrap().to_owned();
        assert_eq!(their_json, text, "{name}: Django signs the test data's exact text");
        assert_eq!(our_json, their_json, "{name}: sessionbox signs the same JSON bytes as Django");
        // Django's encoded text, put in a session file, loads in sessionbox.
        let key = store.create(&Data::new()).unwrap();
        fs::write(sb.file(&key), &theirs).unwrap();
        assert_same_data(&found(&store, &key), &expected, name);
    }
}

/// Lone UTF-16 surrogates, which Python's `json` reads and writes as `\udXXX`
/// escapes: sessionbox's text path (`*_json`) carries them exactly both ways,
/// and signs the same JSON bytes as Django. `Data` cannot hold one (Rust
/// strings are Unicode scalar values): there it is U+FFFD, by design.
#[test]
fn lone_surrogates_cross_both_ways_exactly_as_text_and_as_replacement_in_data() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    // (what, the JSON sent, Python's json.dumps of what it reads back)
    let cases = [
        ("lone high and low surrogates in a string", r#"{"s":"\ud800 x \udfff"}"#, r#"{"s":"\ud800 x \udfff"}"#),
        (
            "lone surrogates as keys, beside a U+FFFD key",
            r#"{"\ud800":1,"\ufffd":2,"k\udc00":"\udbff"}"#,
            r#"{"\ud800":1,"\ufffd":2,"k\udc00":"\udbff"}"#,
        ),
        (
            "a high surrogate before a non-low escape, an escaped backslash, a reversed pair; a real pair in capitals",
            r#"{"a":"\ud800\u0041","b":"\ud83d\u00e9","c":"\udbff\ud800","d":"\ud800\\udc00","e":"\udc00\ud800","f":"\uD83D\uDE00"}"#,
            r#"{"a":"\ud800A","b":"\ud83d\u00e9","c":"\udbff\ud800","d":"\ud800\\udc00","e":"\udc00\ud800","f":"\ud83d\ude00"}"#,
        ),
        ("a lone-surrogate key repeated (the last value wins, in the first place)", r#"{"\ud800":1,"\udc00":2,"\ud800":3}"#, r#"{"\ud800":3,"\udc00":2}"#),
    ];
    for (what, sent, python) in cases {
        // Django → sessionbox.
        let key = dj.create_text(sent, None);
        assert_same_text(text_of(&dj.load_text(&key)), python, &format!("{what}: Python's json keeps the surrogates"));
        assert_same_text(&dj.payload_json(&sb.content(&key)), python, &format!("{what}: Django's file"));
        assert_loads_text(&store, &key, python, &format!("{what}: written by Django"));
        // Data: each lone surrogate is U+FFFD (a lone-surrogate key and a
        // U+FFFD key become one key).
        assert_same_data(&found(&store, &key), &data(python), what);

        // Django updates it: the surrogates stay, the new key goes last.
        dj.ok(json!({"op": "save", "key": key, "data": {"n": 1}}));
        let updated = format!(r#"{},"n":1}}"#, &python[..python.len() - 1]);
        assert_loads_text(&store, &key, &updated, &format!("{what}: updated by Django"));

        // sessionbox → Django, by every text write.
        let created = store.create_json(sent).unwrap();
        let saved = store.create_json("{}").unwrap();
        store.save_json(&saved, sent, false).unwrap();
        let cycled = store.cycle_key_json(&store.create_json("{}").unwrap(), sent).unwrap();
        for (how, key) in [("create_json", &created), ("save_json", &saved), ("cycle_key_json", &cycled)] {
            let what = format!("{what}: sessionbox {how}");
            let loaded = dj.load_text(key);
            assert_same_text(text_of(&loaded), python, &what);
            assert_eq!(loaded["corrupted"], json!(false), "{what}");
            assert_same_text(text_of(&dj.decode_text(&sb.content(key))), python, &what);
            assert_loads_text(&store, key, python, &what);
        }

        // The same payload as Django's encoder: the same JSON bytes signed,
        // the same compression choice, the same base64 when uncompressed.
        let theirs = dj.encode_text(sent);
        let ours = sb.content(&created);
        assert_eq!(is_compressed(&ours), is_compressed(&theirs), "{what}: Django {theirs} vs sessionbox {ours}");
        if !is_compressed(&ours) {
            assert_eq!(payload(&ours), payload(&theirs), "{what}");
        }
        assert_same_text(&dj.payload_json(&theirs), python, &format!("{what}: Django's encoder"));
        assert_same_text(&dj.payload_json(&ours), python, &format!("{what}: sessionbox signs the same JSON bytes as Django"));
    }

    // Explicitly: Data reads U+FFFD, and writes it (the text path is for
    // what Data cannot hold).
    let key = dj.create_text(r#"{"s":"a\ud800b"}"#, None);
    assert_loads_text(&store, &key, r#"{"s":"a\ud800b"}"#, "load_json");
    assert_eq!(found(&store, &key)["s"], json!("a\u{fffd}b"), "load: Data holds U+FFFD");
    let key = store.create(&data(r#"{"s":"a\ud800b"}"#)).unwrap();
    assert_eq!(text_of(&dj.load_text(&key)), r#"{"s":"a\ufffdb"}"#, "create from Data writes U+FFFD");
}

// ---------------------------------------------------------------------------
// Sizes: no session lost at any size Django writes (issue 10)
// ---------------------------------------------------------------------------

/// wasmtime hands a guest at most this much per read; the old guest stopped
/// after one read, so a session file any bigger read as garbage (and was
/// swept when its mtime was old).
const ONE_READ: usize = 64 * 1024;
/// The default `max_session_size`, in bytes of JSON (Python's form).
const MAX_SIZE: usize = sessionbox::DEFAULT_MAX_SESSION_SIZE as usize;
const FAR_FUTURE: &str = "2099-01-01T00:00:00+00:00";
const PAST: &str = "2001-01-01T00:00:00+00:00";

fn file_len(sb: &Sandbox, key: &str) -> usize {
    fs::metadata(sb.file(key)).unwrap().len() as usize
}

/// xorshift64*: test data that looks random to zlib, the same in every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) % n
    }
}

/// `n` random characters of printable ASCII other than `"` and `\`: one byte
/// each in Python's JSON, about 6.5 bits of entropy each, so zlib gains
/// little. (A little: text of 93 symbols still compresses to about 82%, so
/// such sessions are stored compressed; base64 makes the file about 1.1
/// times the JSON.)
fn noise(seed: u64, n: usize) -> String {
    let chars: Vec<u8> = (b' '..=b'~').filter(|c| !matches!(c, b'"' | b'\\')).collect();
    let mut rng = Rng(seed);
    (0..n).map(|_| chars[rng.below(chars.len() as u64) as usize] as char).collect()
}

/// A session holding the first `n` characters of `blob` (`noise`).
fn noise_session(blob: &str, n: usize) -> String {
    format!(r#"{{"_auth_user_id":"42","blob":"{}"}}"#, &blob[..n])
}

const NOISE_FRAME: usize = r#"{"_auth_user_id":"42","blob":""}"#.len();

/// A shopping cart of exactly `size` bytes of JSON (Python's form, padded
/// with `x`s): repetitive, so zlib shrinks it several-fold.
fn cart_session(size: usize) -> String {
    let mut rng = Rng(7);
    let mut s = String::from(r#"{"_auth_user_id":"42","cart":["#);
    let tail = r#"],"pad":""}"#.len();
    for i in 0.. {
        let sep = if i == 0 { "" } else { "," };
        let item = format!(
            r#"{sep}{{"id":{i},"sku":"SKU-{:05}","name":"item \u00e9 {i}","qty":{},"price":{}.25}}"#,
            rng.below(100_000),
            1 + rng.below(9),
            rng.below(1000)
        );
        if s.len() + item.len() + tail > size {
            break;
        }
        s.push_str(&item);
    }
    s.push_str(r#"],"pad":""#);
    let pad = size - s.len() - 2;
    s.extend(std::iter::repeat_n('x', pad));
    s.push_str(r#""}"#);
    assert_eq!(s.len(), size);
    s
}

/// The blob length whose session file is exactly `target` bytes, or, where
/// none is (a compressed payload's base64 cannot end on every length), the
/// shortest file above it: (blob length, file length). `file_lens` measures
/// the files of several blob lengths at once. A file grows about 1.09 bytes
/// per random character, with some jitter from zlib: a few secant steps,
/// then the whole neighbourhood.
fn fit_file_len(target: usize, mut file_lens: impl FnMut(&[usize]) -> Vec<usize>) -> (usize, usize) {
    let mut n = target * 9 / 10;
    for _ in 0..20 {
        let miss = target as i64 - file_lens(&[n])[0] as i64;
        if miss.abs() <= 8 {
            break;
        }
        n = n.checked_add_signed((miss * 9 / 10) as isize).unwrap();
    }
    let around: Vec<usize> = (n - 16..=n + 16).collect();
    let lens = file_lens(&around);
    around
        .into_iter()
        .zip(lens)
        .filter(|&(_, len)| len >= target)
        .min_by_key(|&(n, len)| (len, n))
        .unwrap_or_else(|| panic!("no session file of {target} bytes or more near a blob of {n} characters"))
}

/// One session size to cross: its JSON and, where fitted, its file's size.
struct SizeCase {
    what: String,
    json: String,
    file_len: Option<usize>,
}

/// Random sessions whose files (as `file_lens` measures them for a list of
/// JSON texts) are just under, at and just over one read (65,535, 65,536,
/// and 65,537 or the next size a file can have), 70,000 and 200,000 bytes;
/// then the largest JSON `max_session_size` takes, random and repetitive,
/// and repetitive ones of 70 KB and 200 KB of JSON.
fn size_cases(blob: &str, mut file_lens: impl FnMut(&[String]) -> Vec<usize>) -> Vec<SizeCase> {
    let mut cases = Vec::new();
    for target in [ONE_READ - 1, ONE_READ, ONE_READ + 1, 70_000, 200_000] {
        let (n, len) = fit_file_len(target, |ns| file_lens(&ns.iter().map(|&n| noise_session(blob, n)).collect::<Vec<_>>()));
        // 65,535 and 65,536 are sizes a compressed file can have (with a
        // 6-character timestamp); 65,537 is not, 65,538 is.
        assert!(len <= target + 1, "fitted a file of {len} bytes for {target}");
        cases.push(SizeCase { what: format!("random, a file of {len} bytes"), json: noise_session(blob, n), file_len: Some(len) });
    }
    cases.push(SizeCase {
        what: "random, JSON of exactly max_session_size".into(),
        json: noise_session(blob, MAX_SIZE - NOISE_FRAME),
        file_len: None,
    });
    for size in [70_000, 200_000, MAX_SIZE] {
        cases.push(SizeCase { what: format!("repetitive, JSON of {size} bytes"), json: cart_session(size), file_len: None });
    }
    cases
}

/// Django writes sessions of every size up to the largest JSON
/// `max_session_size` takes; sessionbox reads each exactly, as text and as
/// Data. (The old guest lost every file over 64 KiB: 65,538 bytes and up.)
#[test]
fn django_sessions_of_every_size_up_to_max_session_size_load_exactly_in_sessionbox() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    let blob = noise(1, MAX_SIZE);
    let cases = size_cases(&blob, |jsons| dj.encoded_sizes(jsons));
    let mut sizes = Vec::new();
    for case in &cases {
        let what = format!("{}, written by Django", case.what);
        let key = dj.create_text(&case.json, None);
        let len = file_len(&sb, &key);
        if let Some(want) = case.file_len {
            assert_eq!(len, want, "{what}: Django's file is the size its encoder gave");
        }
        assert!(is_compressed(&sb.content(&key)), "{what}: stored compressed");
        sizes.push(len);
        assert_same_text(text_of(&dj.load_text(&key)), &case.json, &format!("{what}: Django's own round trip"));
        assert_loads_text(&store, &key, &case.json, &what);
        // And through the Session API.
        let mut session = store.session(Some(&key));
        assert_eq!(session.get("_auth_user_id").unwrap(), Some(json!("42")), "{what}");
        assert_eq!(session.key(), Some(key.as_str()), "{what}");
    }
    assert_eq!(sizes.iter().filter(|&&len| len > ONE_READ).count(), 5, "file sizes {sizes:?}");
    assert!(sizes[cases.len() - 1] > ONE_READ, "the largest repetitive session's file is over 64 KiB too: {sizes:?}");
    eprintln!("Django session files read by sessionbox: {sizes:?} bytes");
}

/// sessionbox writes sessions of every size up to the largest JSON
/// `max_session_size` takes, by `create_json`, `create` (Data), `save_json`
/// and `save` (Data); Django reads each with identical data, and so does
/// sessionbox (the old guest lost its own files over 64 KiB too).
#[test]
fn sessionbox_sessions_of_every_size_up_to_max_session_size_load_exactly_in_django() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    let blob = noise(2, MAX_SIZE);
    let cases = size_cases(&blob, |jsons| {
        jsons
            .iter()
            .map(|json| {
                let key = store.create_json(json).unwrap();
                let len = file_len(&sb, &key);
                store.delete(&key).unwrap();
                len
            })
            .collect()
    });
    let mut sizes = Vec::new();
    for case in &cases {
        let d = data(&case.json);
        let mut written = vec![("create_json", store.create_json(&case.json).unwrap()), ("create (Data)", store.create(&d).unwrap())];
        let key = store.create_json(r#"{"small":1}"#).unwrap();
        store.save_json(&key, &case.json, false).unwrap();
        written.push(("save_json", key));
        let key = store.create_json(r#"{"small":1}"#).unwrap();
        store.save(&key, &d, false).unwrap();
        written.push(("save (Data)", key));
        for (how, key) in &written {
            let what = format!("{}, sessionbox {how}", case.what);
            let len = file_len(&sb, key);
            // The same JSON compresses the same way whichever call wrote it.
            assert_eq!(len, case.file_len.unwrap_or(len), "{what}");
            assert!(is_compressed(&sb.content(key)), "{what}: stored compressed");
            let loaded = dj.load_text(key);
            assert_same_text(text_of(&loaded), &case.json, &what);
            assert_eq!(loaded["key_after"], json!(key), "{what}");
            assert_eq!(loaded["corrupted"], json!(false), "{what}");
            assert_load_json(&store, key, &case.json, &what);
        }
        // As Data too (once: the files are alike).
        assert_loads_text(&store, &written[0].1, &case.json, &case.what);
        sizes.push(file_len(&sb, &written[0].1));
        if case.json.len() == MAX_SIZE {
            // The bytes signed are Django's own.
            let ours = sb.content(&written[0].1);
            assert_same_text(&dj.payload_json(&ours), &case.json, &format!("{}: sessionbox's payload", case.what));
            let theirs = dj.encode_text(&case.json);
            assert_same_text(&dj.payload_json(&theirs), &case.json, &format!("{}: Django's payload", case.what));
        }
        for (_, key) in &written {
            store.delete(key).unwrap();
        }
    }
    assert_eq!(sizes.iter().filter(|&&len| len > ONE_READ).count(), 5, "file sizes {sizes:?}");
    eprintln!("sessionbox session files read by Django: {sizes:?} bytes");
}

/// `max_session_size` is exact: JSON (Python's form: what Django signs) of
/// exactly that many bytes is written and read back by both; one byte more
/// is `TooLarge` on every write and leaves nothing behind. Django has no
/// limit (docs/SPEC.md §5): its session one byte over is refused by `load` with
/// `TooLarge`, left intact, and skipped by the sweep.
#[test]
fn a_session_of_exactly_max_session_size_works_and_one_byte_over_is_too_large() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    let blob = noise(3, MAX_SIZE + 1);
    let at = noise_session(&blob, MAX_SIZE - NOISE_FRAME);
    let over = noise_session(&blob, MAX_SIZE - NOISE_FRAME + 1);
    assert_eq!((at.len(), over.len()), (MAX_SIZE, MAX_SIZE + 1));

    let key = store.create_json(&at).unwrap();
    let before = sb.content(&key);
    assert_eq!(store.create_json(&over), Err(sessionbox::Error::TooLarge));
    assert_eq!(store.create(&data(&over)), Err(sessionbox::Error::TooLarge));
    assert_eq!(store.save_json(&key, &over, false), Err(sessionbox::Error::TooLarge));
    assert_eq!(store.save(&key, &data(&over), false), Err(sessionbox::Error::TooLarge));
    assert_eq!(store.cycle_key_json(&key, &over), Err(sessionbox::Error::TooLarge));
    assert_eq!(names(&sb.dir), BTreeSet::from([format!("sessionid{key}")]), "no file from the refused writes");
    assert_eq!(sb.content(&key), before, "the session is as it was");
    store.save(&key, &data(&at), false).unwrap();
    assert_same_text(text_of(&dj.load_text(&key)), &at, "at the limit, read by Django");
    assert_loads_text(&store, &key, &at, "at the limit");

    // The limit counts the JSON as stored: "é" given raw (2 bytes of UTF-8)
    // is 6 (\u00e9), as Django writes it.
    let accented = |extra: usize| format!(r#"{{"s":"{}{}"}}"#, "é".repeat((MAX_SIZE - 10) / 6), "a".repeat(2 + extra));
    let python = |text: &str| text.replace('é', r"\u00e9");
    assert_eq!(python(&accented(0)).len(), MAX_SIZE);
    assert!(accented(1).len() < MAX_SIZE / 2);
    assert_eq!(store.create_json(&accented(1)), Err(sessionbox::Error::TooLarge));
    let key = store.create_json(&accented(0)).unwrap();
    assert_same_text(text_of(&dj.load_text(&key)), &python(&accented(0)), "raw é at the limit, read by Django");
    assert_loads_text(&store, &key, &python(&accented(0)), "raw é at the limit");

    // Django writes one byte over: Django reads it; sessionbox refuses it
    // and keeps it, and so does its sweep (it cannot show it expired).
    let key = dj.create_text(&over, None);
    assert_same_text(text_of(&dj.load_text(&key)), &over, "over the limit, Django's own round trip");
    let file = sb.content(&key);
    assert_eq!(store.load_json(&key), Err(sessionbox::Error::TooLarge));
    assert!(matches!(store.load(&key), Err(sessionbox::Error::TooLarge)));
    let report = store.clear_expired().unwrap();
    assert_eq!((report.deleted, report.skipped), (0, 1), "{report:?}");
    assert_eq!(sb.content(&key), file, "left intact");
}

/// A big session with `_session_expiry` far ahead and a file older than the
/// cookie age is live: both sweeps keep it (the old guest read its first 64
/// KiB, judged it garbage by its mtime and deleted it). Big sessions that
/// are shown expired go.
#[test]
fn big_sessions_with_a_far_expiry_and_an_old_file_survive_both_sweeps() {
    let cfg = Config { cookie_age: HOUR, ..Config::default() };
    let sb = Sandbox::new(cfg.clone());
    let store = sb.store();
    let mut dj = sb.django();
    let blob = noise(4, MAX_SIZE);
    let expiry_field = format!(r#","_session_expiry":"{FAR_FUTURE}""#).len();
    let mut expected = Vec::new();
    let mut keepers = Vec::new();
    let mut add = |what: String, key: &str, json: String, age: u64, keeps: bool| {
        if age > 0 {
            age_file(&sb.file(key), age);
        }
        let file = format!("{}{key}", cfg.prefix);
        expected.push(Expect { what, file, django_keeps: keeps, sessionbox_keeps: keeps });
        if keeps {
            keepers.push((key.to_owned(), json));
        }
    };
    for (size, json) in [
        ("70 KB", noise_session(&blob, 64_000)),
        ("200 KB", noise_session(&blob, 185_000)),
        ("max_session_size", noise_session(&blob, MAX_SIZE - NOISE_FRAME - expiry_field)),
        ("repetitive, max_session_size", cart_session(MAX_SIZE - expiry_field)),
    ] {
        let far = with_expiry(&json, FAR_FUTURE);
        assert!(far.len() <= MAX_SIZE);
        let key = dj.create_text(&json, Some(FAR_FUTURE));
        assert!(file_len(&sb, &key) > ONE_READ, "{size}: a file of {} bytes", file_len(&sb, &key));
        add(format!("Django, {size}, expiry in 2099, saved 2 h ago"), &key, far.clone(), 2 * HOUR, true);
        let key = store.create_json(&far).unwrap();
        add(format!("sessionbox, {size}, expiry in 2099, saved 2 h ago"), &key, far.clone(), 2 * HOUR, true);
    }
    let json = noise_session(&blob, 185_000);
    add("Django, 200 KB, default expiry, just saved".into(), &dj.create_text(&json, None), json.clone(), 0, true);
    add("Django, 200 KB, default expiry, saved 2 h ago".into(), &dj.create_text(&json, None), json.clone(), 2 * HOUR, false);
    add("Django, 200 KB, expiry in 2001".into(), &dj.create_text(&json, Some(PAST)), json.clone(), 0, false);
    add("sessionbox, 200 KB, default expiry, saved 2 h ago".into(), &store.create_json(&json).unwrap(), json.clone(), 2 * HOUR, false);

    let ours = library_sweep(&sb);
    let sweep = sweep_both(&sb, &mut dj);
    check_sweep(&sweep, &expected);
    check_library_sweep(&ours, &expected);
    for (key, json) in &keepers {
        assert_loads_text(&store, key, json, "after the sweeps");
    }
}

/// `Store::clear_expired` (the library) over a copy of the directory made
/// now (same bytes, same mtimes): its report and the names left.
fn library_sweep(sb: &Sandbox) -> (sessionbox::SweepReport, BTreeSet<String>) {
    let copy = sb.root.path().join(format!("library-copy-{}", names(sb.root.path()).len()));
    copy_dir(&sb.dir, &copy);
    let report = Store::open(&copy, sb.cfg.settings()).unwrap().clear_expired().unwrap();
    (report, names(&copy))
}

fn check_library_sweep((report, left): &(sessionbox::SweepReport, BTreeSet<String>), expected: &[Expect]) {
    let wrong: Vec<String> = expected
        .iter()
        .filter(|e| left.contains(&e.file) != e.sessionbox_keeps)
        .map(|e| format!("{}: Store::clear_expired {} it", e.what, if e.sessionbox_keeps { "deleted" } else { "kept" }))
        .collect();
    assert!(wrong.is_empty(), "unexpected library sweep results:\n  {}", wrong.join("\n  "));
    assert_eq!(report.deleted as usize, expected.iter().filter(|e| !e.sessionbox_keeps).count(), "{report:?}");
}

/// `json` (an object's text) with `_session_expiry` set to `iso` last, as
/// Django's `set_expiry` adds it.
fn with_expiry(json: &str, iso: &str) -> String {
    format!(r#"{},"_session_expiry":"{iso}"}}"#, &json[..json.len() - 1])
}

// ---------------------------------------------------------------------------
// Depths: no session lost at any depth Django reads (issue 10)
// ---------------------------------------------------------------------------

/// How the levels of a deep session nest.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    Arrays,
    Objects,
    /// Arrays and objects in turn, with values before and after each.
    Mixed,
}

const SHAPES: [Shape; 3] = [Shape::Arrays, Shape::Objects, Shape::Mixed];

/// A session nested `depth` levels deep (the session object is level 1, as
/// for `MAX_DATA_DEPTH`), in Python's compact form.
fn nested(shape: Shape, depth: usize) -> String {
    assert!(depth >= 2, "the session object and one level in it at least");
    let mut open = String::from(r#"{"_auth_user_id":"42","d":"#);
    let mut close = Vec::with_capacity(depth);
    close.push("}");
    for level in 0..depth - 1 {
        let (o, c) = match shape {
            Shape::Arrays => ("[", "]"),
            Shape::Objects => (r#"{"d":"#, "}"),
            Shape::Mixed if level % 2 == 0 => ("[1,", r#","x"]"#),
            Shape::Mixed => (r#"{"a":null,"c":"#, r#","z":1.5}"#),
        };
        open.push_str(o);
        close.push(c);
    }
    open.push_str(r#""leaf""#);
    close.iter().rev().for_each(|c| open.push_str(c));
    open
}

/// The largest depth at which `works` holds (it holds at 2 and, once it
/// fails, fails at every greater depth): doubling from 128, then bisecting.
fn deepest(shape: Shape, mut works: impl FnMut(usize) -> bool) -> usize {
    assert!(works(2), "{shape:?}: not even 2 levels");
    let (mut lo, mut hi) = (2, 128);
    while works(hi) {
        (lo, hi) = (hi, hi * 2);
        assert!(nested(shape, hi).len() <= MAX_SIZE, "{shape:?}: Django handles {lo} levels, and no deeper session fits max_session_size");
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if works(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The deepest session of `shape` Django's `load` reads back, measured on
/// files sessionbox writes (it writes any depth): beyond it, Python's
/// `json.loads` raises RecursionError under the default recursion limit,
/// and Django's `decode` swallows that into an empty session (no security
/// log; the file and the key stay).
fn django_read_limit(store: &Store, dj: &mut Django, shape: Shape) -> usize {
    deepest(shape, |depth| {
        let json = nested(shape, depth);
        let key = store.create_json(&json).unwrap();
        let r = dj.load_text(&key);
        store.delete(&key).unwrap();
        let read = text_of(&r) == json;
        if !read {
            let what = format!("{shape:?}, {depth} levels, unread by Django");
            assert_eq!(text_of(&r), "{}", "{what}");
            assert_eq!(r["key_after"], json!(key), "{what}");
            assert_eq!(r["corrupted"], json!(false), "{what}");
        }
        read
    })
}

/// The deepest session of `shape` Django's `create` writes: deeper, its
/// `json.dumps` raises RecursionError under the default recursion limit.
/// The files made on the way are deleted.
fn django_write_limit(dj: &mut Django, shape: Shape) -> usize {
    let class = json!(dj.store_class);
    deepest(shape, |depth| {
        let r = dj.op_text(&format!(r#"{{"op":"create","store_class":{class},"data":{}}}"#, nested(shape, depth)));
        if r["ok"] == json!(true) {
            dj.ok(json!({"op": "delete", "key": r["key"]}));
            return true;
        }
        assert!(r["error"].as_str().unwrap_or("").starts_with("RecursionError"), "{shape:?}, {depth} levels: {r}");
        false
    })
}

/// Python and Django as the venv runs them, for messages.
fn django_and_python(dj: &mut Django) -> String {
    let info = dj.ok(json!({"op": "info"}));
    format!("Django {} on Python {}", info["django_version"].as_str().unwrap(), info["python_version"].as_str().unwrap())
}

/// Django writes sessions nested 200 levels deep and as deep as it can
/// (measured: 986 levels with Django 5.2.19 on Python 3.11.7, for arrays,
/// objects and mixed alike; `json.dumps` raises RecursionError at 987);
/// sessionbox reads each exactly (as text, and as Data: all within
/// MAX_DATA_DEPTH), and neither sweep deletes them when they carry an
/// expiry far ahead in a file older than the cookie age. (The old guest read
/// anything deeper than 128 as corrupt and swept it.)
#[test]
fn sessions_django_writes_at_any_depth_load_exactly_in_sessionbox_and_survive_both_sweeps() {
    let cfg = Config { cookie_age: HOUR, ..Config::default() };
    let sb = Sandbox::new(cfg.clone());
    let store = sb.store();
    let mut dj = sb.django();
    let versions = django_and_python(&mut dj);
    let mut expected = Vec::new();
    let mut keepers = Vec::new();
    let mut limits = Vec::new();
    for shape in SHAPES {
        let limit = django_write_limit(&mut dj, shape);
        limits.push((shape, limit));
        assert!(limit > 200, "{versions} writes only {limit} levels of {shape:?}");
        for depth in [200, limit] {
            let what = format!("{shape:?}, {depth} levels (Django's deepest write: {limit}, {versions})");
            let json = nested(shape, depth);
            let far = with_expiry(&json, FAR_FUTURE);
            let key = dj.create_text(&json, Some(FAR_FUTURE));
            assert_same_text(&dj.payload_json(&sb.content(&key)), &far, &format!("{what}: Django's file"));
            assert_same_text(text_of(&dj.load_text(&key)), &far, &format!("{what}: Django's own round trip"));
            assert_loads_text(&store, &key, &far, &what);
            age_file(&sb.file(&key), 2 * HOUR);
            let file = format!("{}{key}", cfg.prefix);
            expected.push(Expect { what: format!("{what}, expiry in 2099, saved 2 h ago"), file, django_keeps: true, sessionbox_keeps: true });
            keepers.push((key, far));
        }
        // Controls: without an expiry, the cookie age decides.
        for (age, keeps) in [(0, true), (2 * HOUR, false)] {
            let key = dj.create_text(&nested(shape, limit), None);
            if age > 0 {
                age_file(&sb.file(&key), age);
            }
            let what = format!("{shape:?}, {limit} levels, default expiry, saved {age} s ago");
            expected.push(Expect { what, file: format!("{}{key}", cfg.prefix), django_keeps: keeps, sessionbox_keeps: keeps });
        }
    }
    let ours = library_sweep(&sb);
    let sweep = sweep_both(&sb, &mut dj);
    check_sweep(&sweep, &expected);
    check_library_sweep(&ours, &expected);
    for (key, json) in &keepers {
        assert_loads_text(&store, key, json, "after the sweeps");
    }
    eprintln!("{versions}: deepest sessions Django writes: {limits:?}");
}

/// sessionbox writes sessions nested 200 levels deep and as deep as Django
/// reads (measured through Django's own `load`: 987 levels with Django
/// 5.2.19 on Python 3.11.7, for arrays, objects and mixed alike, where
/// `json.loads` alone reads 993 at the top of a stack; one level more and
/// Django's decode gives an empty session); Django reads each with identical
/// data. One level deeper, Django reads nothing, while sessionbox still
/// returns it exactly.
#[test]
fn sessions_sessionbox_writes_at_every_depth_django_reads_load_exactly_in_django() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    let versions = django_and_python(&mut dj);
    let mut limits = Vec::new();
    for shape in SHAPES {
        let limit = django_read_limit(&store, &mut dj, shape);
        limits.push((shape, limit));
        assert!(limit > 200, "{versions} reads only {limit} levels of {shape:?}");
        for depth in [200, limit] {
            let what = format!("{shape:?}, {depth} levels (Django's deepest read: {limit}, {versions})");
            let json = nested(shape, depth);
            let mut written = vec![("create_json", store.create_json(&json).unwrap())];
            let key = store.create_json("{}").unwrap();
            store.save_json(&key, &json, false).unwrap();
            written.push(("save_json", key));
            if depth <= sessionbox::MAX_DATA_DEPTH {
                written.push(("create (Data)", store.create(&data(&json)).unwrap()));
            }
            for (how, key) in &written {
                let what = format!("{what}, sessionbox {how}");
                let loaded = dj.load_text(key);
                assert_same_text(text_of(&loaded), &json, &what);
                assert_eq!(loaded["key_after"], json!(key), "{what}");
                assert_same_text(text_of(&dj.decode_text(&sb.content(key))), &json, &format!("{what}: Django's decode"));
                assert_loads_text(&store, key, &json, &what);
            }
        }
        let json = nested(shape, limit + 1);
        let key = store.create_json(&json).unwrap();
        assert_eq!(text_of(&dj.load_text(&key)), "{}", "{shape:?}, {} levels: Django cannot read it ({versions})", limit + 1);
        assert_loads_text(&store, &key, &json, &format!("{shape:?}, {} levels", limit + 1));
    }
    eprintln!("{versions}: deepest sessions Django reads: {limits:?}");
}

/// Deeper than Django can read, within `max_session_size`: 10,000 levels of
/// each shape, and the deepest arrays that fit (over half a million levels).
/// sessionbox stores them and returns them exactly (`load_json`; `load`
/// refuses them as Data, pointing to `load_json`), saves and cycles them,
/// and its sweeps keep them while their expiry is ahead. Django has nothing
/// to compare at these depths: its decode gives an empty session, so its
/// `clear_expired` deletes them by their old mtime (docs/SPEC.md §5: a
/// correctly signed file sessionbox cannot decode is skipped, never deleted
/// unread; here sessionbox can, and sees the expiry ahead). Also the Data
/// bound itself: MAX_DATA_DEPTH levels load as Data, one more does not.
#[test]
fn deviation_sessions_deeper_than_django_reads_are_kept_exactly_and_django_sweeps_them_unread() {
    let cfg = Config { cookie_age: HOUR, ..Config::default() };
    let sb = Sandbox::new(cfg.clone());
    let store = sb.store();
    let mut dj = sb.django();
    let deepest_arrays = (MAX_SIZE - nested(Shape::Arrays, 2).len()) / 2 + 2;
    let mut cases: Vec<(Shape, usize)> = SHAPES.iter().map(|&shape| (shape, 10_000)).collect();
    cases.push((Shape::Arrays, deepest_arrays));
    let mut expected = Vec::new();
    let mut keepers = Vec::new();
    for (shape, depth) in cases {
        let what = format!("{shape:?}, {depth} levels");
        let json = nested(shape, depth);
        assert!(json.len() <= MAX_SIZE, "{what}");
        let key = store.create_json(&json).unwrap();
        assert_loads_text(&store, &key, &json, &what);
        let r = dj.decode_text(&sb.content(&key));
        assert_eq!(text_of(&r), "{}", "{what}: Django cannot read it");
        // Saved over and cycled; then given an expiry far ahead and an old file.
        let far = with_expiry(&json, FAR_FUTURE);
        if far.len() > MAX_SIZE {
            assert_eq!(store.save_json(&key, &far, false), Err(sessionbox::Error::TooLarge), "{what}");
            assert_loads_text(&store, &key, &json, &format!("{what}, after a refused save"));
            continue;
        }
        store.save_json(&key, &far, false).unwrap();
        let key = store.cycle_key_json(&key, &far).unwrap();
        assert_loads_text(&store, &key, &far, &format!("{what}, saved and cycled"));
        age_file(&sb.file(&key), 2 * HOUR);
        let file = format!("{}{key}", cfg.prefix);
        expected.push(Expect { what: format!("{what}, expiry in 2099, saved 2 h ago"), file, django_keeps: false, sessionbox_keeps: true });
        keepers.push((key, far));
    }
    // The deepest arrays leave no room for an expiry; that case is checked
    // above and has no sweep entry.
    assert_eq!(keepers.len(), 3);
    // sessionbox's sweep (the library, here) keeps them, as they were.
    let report = store.clear_expired().unwrap();
    assert_eq!((report.deleted, report.skipped), (0, 0), "{report:?}");
    for (key, json) in &keepers {
        assert_loads_text(&store, key, json, "after sessionbox's sweep");
    }
    // Django's deletes them; the CLI's (over a copy) keeps them.
    check_sweep(&sweep_both(&sb, &mut dj), &expected);

    // The Data bound.
    for depth in [sessionbox::MAX_DATA_DEPTH, sessionbox::MAX_DATA_DEPTH + 1] {
        let json = nested(Shape::Mixed, depth);
        let key = store.create_json(&json).unwrap();
        assert_loads_text(&store, &key, &json, &format!("{depth} levels"));
        let as_data = store.load(&key);
        assert_eq!(as_data.is_ok(), depth <= sessionbox::MAX_DATA_DEPTH, "{depth} levels: {:?}", summary(&as_data));
    }
}

// ---------------------------------------------------------------------------
// Expiry values
// ---------------------------------------------------------------------------

#[test]
fn expiry_as_int_and_iso_string_crosses_both_ways() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    let user = data(r#"{"u":"1"}"#);

    // Django: an int.
    let key = dj.create_with_expiry(&user, json!(300));
    let d = found(&store, &key);
    assert_eq!(py(&d), r#"{"u":"1","_session_expiry":300}"#);
    assert_eq!(dj.ok(json!({"op": "expiry", "key": key}))["age"], json!(300));
    assert_eq!(store.session(Some(&key)).expiry_age().unwrap(), 300);

    // Django: a timedelta, stored as an aware ISO string with microseconds.
    let key = dj.create_with_expiry(&user, json!({"timedelta": 3600}));
    let d = found(&store, &key);
    let iso = d["_session_expiry"].as_str().expect("an ISO string").to_owned();
    assert!(iso.ends_with("+00:00") && iso.contains('.'), "{iso}");
    let theirs = dj.ok(json!({"op": "expiry", "key": key}));
    let mut session = store.session(Some(&key));
    assert_eq!(session.expiry_date().unwrap(), iso_time(&iso));
    assert_eq!(iso_time(theirs["date"].as_str().unwrap()), iso_time(&iso));
    let their_age = theirs["age"].as_i64().unwrap();
    let our_age = session.expiry_age().unwrap();
    // Whole seconds, each side counting from its own "now" (slack for slow machines).
    assert!((3590..=3600).contains(&their_age) && (our_age - their_age).abs() <= 5, "{their_age} vs {our_age}");

    // Django: a datetime with another offset and a fraction.
    let key = dj.create_with_expiry(&user, json!({"datetime": "2099-01-01T12:00:00.5+05:30"}));
    let d = found(&store, &key);
    assert_eq!(d["_session_expiry"], json!("2099-01-01T12:00:00.500000+05:30"));
    assert_eq!(store.session(Some(&key)).expiry_date().unwrap(), iso_time("2099-01-01T06:30:00.5+00:00"));

    // Django: browser close (0) means the default server-side.
    let key = dj.create_with_expiry(&user, json!(0));
    assert_eq!(dj.ok(json!({"op": "expiry", "key": key}))["browser_close"], json!(true));
    let mut session = store.session(Some(&key));
    assert!(session.expire_at_browser_close().unwrap());
    assert_eq!(session.expiry_age().unwrap(), sessionbox::DEFAULT_COOKIE_AGE as i64);

    // Django: already expired, as a negative int and as a past datetime.
    for expiry in [json!(-10), json!({"datetime": "2001-02-03T04:05:06+00:00"}), json!(-0.5)] {
        let key = dj.create_with_expiry(&user, expiry.clone());
        assert_eq!(store.load(&key).unwrap(), Loaded::Expired, "{expiry}");
        assert!(!sb.file(&key).exists(), "{expiry}: sessionbox deleted the expired file");
    }

    // sessionbox: an int.
    let mut s = store.session(None);
    s.insert("u", "1").unwrap();
    s.set_expiry(Expiry::Seconds(600)).unwrap();
    s.save(false).unwrap();
    let key = s.key().unwrap().to_owned();
    assert_django_data(&dj.load(&key), &data(r#"{"u":"1","_session_expiry":600}"#), "Seconds(600)");
    let theirs = dj.ok(json!({"op": "expiry", "key": key}));
    assert_eq!(theirs["age"], json!(600));
    assert_eq!(theirs["browser_close"], json!(false));

    // sessionbox: a moment two hours ahead (Django's timedelta form).
    let mut s = store.session(None);
    s.insert("u", "1").unwrap();
    s.set_expiry(Expiry::In(Duration::from_secs(2 * HOUR))).unwrap();
    s.save(false).unwrap();
    let key = s.key().unwrap().to_owned();
    let ours = s.get("_session_expiry").unwrap().unwrap().as_str().unwrap().to_owned();
    let loaded = dj.load(&key);
    assert_eq!(loaded["data"]["_session_expiry"], json!(ours));
    let theirs = dj.ok(json!({"op": "expiry", "key": key}));
    assert_eq!(iso_time(theirs["date"].as_str().unwrap()), iso_time(&ours));
    assert!(secs_apart(iso_time(&ours), SystemTime::now() + Duration::from_secs(2 * HOUR)) < 5.0);
    let their_age = theirs["age"].as_i64().unwrap();
    assert!((7190..=7200).contains(&their_age), "{their_age}");

    // sessionbox: a fixed moment with an offset, written by hand.
    let key = store.create(&data(r#"{"_session_expiry":"2099-06-30T23:59:59-07:00"}"#)).unwrap();
    let theirs = dj.ok(json!({"op": "expiry", "key": key}));
    assert_eq!(iso_time(theirs["date"].as_str().unwrap()), iso_time("2099-07-01T06:59:59+00:00"));

    // sessionbox: browser close.
    let mut s = store.session(None);
    s.set_expiry(Expiry::BrowserClose).unwrap();
    s.save(false).unwrap();
    let key = s.key().unwrap().to_owned();
    assert_django_data(&dj.load(&key), &data(r#"{"_session_expiry":0}"#), "BrowserClose");
    assert_eq!(dj.ok(json!({"op": "expiry", "key": key}))["browser_close"], json!(true));

    // sessionbox: back to the default removes the key.
    let mut s = store.session(Some(&key));
    s.set_expiry(Expiry::Default).unwrap();
    s.save(false).unwrap();
    assert_django_data(&dj.load(&key), &Data::new(), "Default");

    // sessionbox: already expired; Django drops it (and starts a new session).
    let past = SystemTime::now() - Duration::from_secs(60);
    for (what, expiry) in [("At(past)", Expiry::At(past)), ("Seconds(-1)", Expiry::Seconds(-1))] {
        let mut s = store.session(None);
        s.insert("u", "1").unwrap();
        s.set_expiry(expiry).unwrap();
        s.save(false).unwrap();
        let key = s.key().unwrap().to_owned();
        let loaded = dj.load(&key);
        assert_django_data(&loaded, &Data::new(), what);
        assert_ne!(loaded["key_after"], json!(key), "{what}");
        assert!(!dj.exists(&key), "{what}: Django deleted the expired file");
    }
}

/// What sessionbox's load reports as a found session's expiry is what
/// Django's `get_expiry_date()` says: exactly for a moment Django stored with
/// `set_expiry(datetime)` or `set_expiry(timedelta)`; for the default and an
/// int, Django counts from now and sessionbox from the file's last write, a
/// moment apart just after the save. Past 9999-12-31T23:59:59Z sessionbox
/// clamps.
#[test]
fn a_found_sessions_expiry_is_djangos_get_expiry_date() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    let user = data(r#"{"u":"1"}"#);
    let loaded_expiry = |key: &str| match store.load(key).unwrap() {
        Loaded::Found { expires_at, .. } => expires_at,
        other => panic!("session {key} loaded as {other:?}"),
    };
    let djangos = |dj: &mut Django, key: &str| iso_time(dj.ok(json!({"op": "expiry", "key": key}))["date"].as_str().unwrap());

    // set_expiry(datetime), with an offset and a fraction; and a timedelta
    // (stored as an aware ISO time with microseconds).
    for expiry in [json!({"datetime": "2099-01-01T12:00:00.5+05:30"}), json!({"datetime": "2040-06-15T08:00:00-07:00"}), json!({"timedelta": 3600})] {
        let key = dj.create_with_expiry(&user, expiry.clone());
        let theirs = djangos(&mut dj, &key);
        assert_eq!(loaded_expiry(&key), theirs, "{expiry}");
        // The same through a Session, and Django's get_expiry_date in ours.
        let mut session = store.session(Some(&key));
        assert_eq!(session.expiry_date().unwrap(), theirs, "{expiry}: expiry_date");
        assert_eq!(session.stored_expiry(), Some(theirs), "{expiry}: Session::stored_expiry");
    }
    assert_eq!(loaded_expiry(&dj.create_with_expiry(&user, json!({"datetime": "2099-01-01T12:00:00.5+05:30"}))), iso_time("2099-01-01T06:30:00.5+00:00"));

    // The default and an int: Django counts from now, sessionbox from the
    // file's last write.
    let plain = dj.create(&user);
    let int = dj.create_with_expiry(&user, json!(300));
    for (key, secs) in [(&plain, sessionbox::DEFAULT_COOKIE_AGE), (&int, 300)] {
        let mtime = fs::metadata(sb.file(key)).unwrap().modified().unwrap();
        let ours = loaded_expiry(key);
        assert_eq!(ours, mtime + Duration::from_secs(secs), "{secs}");
        let theirs = djangos(&mut dj, key);
        assert!(secs_apart(ours, theirs) < 5.0, "{secs}: ours {ours:?}, Django's {theirs:?}");
    }

    // Django's latest moment: sessionbox reports its last whole second.
    let key = dj.create_with_expiry(&user, json!({"datetime": "9999-12-31T23:59:59.999999+00:00"}));
    let theirs = djangos(&mut dj, &key);
    assert_eq!(theirs, iso_time("9999-12-31T23:59:59.999999+00:00"));
    assert_eq!(loaded_expiry(&key), sessionbox::latest_expiry());
    assert!(secs_apart(loaded_expiry(&key), theirs) < 1.0);
}

/// docs/SPEC.md §5: a positive int `_session_expiry` never expires in Django; in
/// sessionbox it expires at the file's mtime + N. Loading shows it too.
#[test]
fn deviation_positive_int_expiry_expires_at_mtime_plus_n_on_load() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    let by_django = dj.create_with_expiry(&data(r#"{"u":"1"}"#), json!(600));
    let by_sessionbox = store.create(&data(r#"{"u":"2","_session_expiry":600}"#)).unwrap();
    for key in [&by_django, &by_sessionbox] {
        age_file(&sb.file(key), 2 * HOUR);
        let before = sb.content(key);
        // Django: the int is "seconds of inactivity" for the cookie only.
        let loaded = dj.load(key);
        assert_eq!(loaded["key_after"], json!(key), "Django keeps the session");
        assert_eq!(loaded["data"]["_session_expiry"], json!(600));
        assert_eq!(sb.content(key), before);
        // sessionbox: saved 2 h ago + 600 s is in the past.
        assert_eq!(store.load(key).unwrap(), Loaded::Expired);
        assert!(!sb.file(key).exists());
    }
}

// ---------------------------------------------------------------------------
// clear_expired
// ---------------------------------------------------------------------------

/// Django's `clear_expired` over the shared directory, and `sessionbox
/// clear-expired` (the CLI) over a copy of it made just before (same bytes,
/// same mtimes).
struct Sweep {
    django: Value,
    django_left: BTreeSet<String>,
    sessionbox: Value,
    sessionbox_left: BTreeSet<String>,
}

fn sweep_both(sb: &Sandbox, dj: &mut Django) -> Sweep {
    let copy = sb.root.path().join(format!("copy-{}", names(sb.root.path()).len()));
    copy_dir(&sb.dir, &copy);
    let django = dj.op(json!({"op": "clear_expired"}));
    let sessionbox = sb.cli_ok(&copy, &sb.cfg, &["clear-expired"]);
    Sweep { django, django_left: names(&sb.dir), sessionbox, sessionbox_left: names(&copy) }
}

/// One file of a sweep scenario and what each side must do with it.
struct Expect {
    what: String,
    file: String,
    django_keeps: bool,
    sessionbox_keeps: bool,
}

fn check_sweep(sweep: &Sweep, expected: &[Expect]) {
    assert_eq!(sweep.django["ok"], json!(true), "Django's clear_expired failed: {}", sweep.django);
    let mut wrong = Vec::new();
    for e in expected {
        let (dj, us) = (sweep.django_left.contains(&e.file), sweep.sessionbox_left.contains(&e.file));
        if dj != e.django_keeps {
            wrong.push(format!("{}: Django {} it", e.what, if dj { "kept" } else { "deleted" }));
        }
        if us != e.sessionbox_keeps {
            wrong.push(format!("{}: sessionbox {} it", e.what, if us { "kept" } else { "deleted" }));
        }
    }
    assert!(wrong.is_empty(), "unexpected sweep results:\n  {}", wrong.join("\n  "));
    let deleted = expected.iter().filter(|e| !e.sessionbox_keeps).count();
    assert_eq!(sweep.sessionbox["deleted"], json!(deleted), "{}", sweep.sessionbox);
}

/// A file name for a key that holds no session yet.
fn fresh_key(store: &Store) -> String {
    let key = store.create(&Data::new()).unwrap();
    store.delete(&key).unwrap();
    key
}

/// Every expiry form both sides judge the same way, with files written by
/// either side: the same files survive Django's `clear_expired` and
/// `sessionbox clear-expired`.
#[test]
fn clear_expired_agrees_with_django_on_every_expiry_form() {
    let cfg = Config { cookie_age: HOUR, ..Config::default() };
    let sb = Sandbox::new(cfg.clone());
    let store = sb.store();
    let mut dj = sb.django();
    let other_secret = sb.store_with(&Config { secret: "some-other-secret".into(), ..cfg.clone() });
    let mut expected = Vec::new();
    let mut add = |what: &str, key: &str, age: u64, keeps: bool| {
        if age > 0 {
            age_file(&sb.file(key), age);
        }
        let file = format!("{}{key}", cfg.prefix);
        expected.push(Expect { what: what.into(), file, django_keeps: keeps, sessionbox_keeps: keeps });
    };
    let d = data(r#"{"u":"1"}"#);
    let with = |expiry: &str| data(&format!(r#"{{"u":"1","_session_expiry":{expiry}}}"#));
    let session_with = |expiry: Expiry| {
        let mut s = store.session(None);
        s.insert("u", "1").unwrap();
        s.set_expiry(expiry).unwrap();
        s.save(false).unwrap();
        s.key().unwrap().to_owned()
    };

    // No _session_expiry: cookie_age (1 h) after the last save.
    add("Django, default expiry, just saved", &dj.create(&d), 0, true);
    add("Django, default expiry, saved 59 min ago", &dj.create(&d), HOUR - 60, true);
    add("Django, default expiry, saved 2 h ago", &dj.create(&d), 2 * HOUR, false);
    add("sessionbox, default expiry, just saved", &store.create(&d).unwrap(), 0, true);
    add("sessionbox, default expiry, saved 61 min ago", &store.create(&d).unwrap(), HOUR + 60, false);
    add("sessionbox, _session_expiry null, saved 2 h ago", &store.create(&with("null")).unwrap(), 2 * HOUR, false);
    // 0 (browser close): the default server-side.
    add("Django, expiry 0, just saved", &dj.create_with_expiry(&d, json!(0)), 0, true);
    add("Django, expiry 0, saved 2 h ago", &dj.create_with_expiry(&d, json!(0)), 2 * HOUR, false);
    add("sessionbox, BrowserClose, saved 2 h ago", &session_with(Expiry::BrowserClose), 2 * HOUR, false);
    // ISO strings override the mtime.
    add("Django, ISO in 1 h, saved 2 h ago", &dj.create_with_expiry(&d, json!({"timedelta": HOUR})), 2 * HOUR, true);
    add("Django, ISO 1 min ago", &dj.create_with_expiry(&d, json!({"timedelta": -60})), 0, false);
    add("Django, ISO -08:00 in 2099", &dj.create_with_expiry(&d, json!({"datetime": "2099-01-01T00:00:00-08:00"})), 2 * HOUR, true);
    add("Django, ISO +14:00 in 2001", &dj.create_with_expiry(&d, json!({"datetime": "2001-01-01T00:00:00+14:00"})), 0, false);
    add("sessionbox, In(1 h), saved 2 h ago", &session_with(Expiry::In(Duration::from_secs(HOUR))), 2 * HOUR, true);
    add("sessionbox, At(1 min ago)", &session_with(Expiry::At(SystemTime::now() - Duration::from_secs(60))), 0, false);
    add("sessionbox, ISO +05:00 in 2020", &store.create(&with(r#""2020-01-01T05:00:00+05:00""#)).unwrap(), 0, false);
    add("sessionbox, ISO Z in 2099", &store.create(&with(r#""2099-01-01T00:00:00Z""#)).unwrap(), 0, true);
    // Numbers: negative is expired; positive with a recent save lives.
    add("Django, expiry -5", &dj.create_with_expiry(&d, json!(-5)), 0, false);
    add("Django, expiry -1.5", &dj.create_with_expiry(&d, json!(-1.5)), 0, false);
    add("Django, expiry 600, just saved", &dj.create_with_expiry(&d, json!(600)), 0, true);
    add("Django, expiry 86400.5, just saved", &dj.create_with_expiry(&d, json!(86400.5)), 0, true);
    add("sessionbox, Seconds(-5)", &session_with(Expiry::Seconds(-5)), 0, false);
    add("sessionbox, Seconds(600), just saved", &session_with(Expiry::Seconds(600)), 0, true);
    // Undecodable files count as empty data: default expiry by mtime.
    for (what, age, keeps) in [("just saved", 0, true), ("saved 2 h ago", 2 * HOUR, false)] {
        let key = dj.create(&d);
        let tampered = sb.content(&key).replacen(':', "x:", 1);
        fs::write(sb.file(&key), tampered).unwrap();
        add(&format!("tampered Django file, {what}"), &key, age, keeps);
        let key = other_secret.create(&with("86400")).unwrap();
        add(&format!("file signed with an unknown secret, {what}"), &key, age, keeps);
    }
    // An empty placeholder or a temp file, still fresh.
    let key = fresh_key(&store);
    File::create(sb.file(&key)).unwrap();
    add("empty placeholder, just created", &key, 0, true);
    let temp = format!("{}{}_out_k2x9_q1z", cfg.prefix, fresh_key(&store));
    fs::write(sb.dir.join(&temp), "").unwrap();
    expected.push(Expect { what: "temp file, just created".into(), file: temp, django_keeps: true, sessionbox_keeps: true });
    // Not sessions: never touched.
    for (what, name) in [
        ("a file without the prefix", "notes.txt".to_owned()),
        ("a prefixed name that is not a key", format!("{}NOT-A-KEY!", cfg.prefix)),
        ("a prefixed name too short to be a key", format!("{}abc", cfg.prefix)),
        ("another prefix", format!("csrftoken{}", fresh_key(&store))),
    ] {
        fs::write(sb.dir.join(&name), "x").unwrap();
        age_file(&sb.dir.join(&name), 30 * 24 * HOUR);
        expected.push(Expect { what: what.into(), file: name, django_keeps: true, sessionbox_keeps: true });
    }

    let sweep = sweep_both(&sb, &mut dj);
    check_sweep(&sweep, &expected);
    assert_eq!(sweep.django_left, sweep.sessionbox_left, "the same files survive");
    assert_eq!(sweep.sessionbox["skipped"], json!(2), "the two prefixed non-keys: {}", sweep.sessionbox);
}

/// docs/SPEC.md §5: a positive int `_session_expiry` with an old mtime: Django keeps
/// it forever, sessionbox deletes it once mtime + N has passed.
#[test]
fn deviation_clear_expired_positive_int_expiry_with_old_mtime() {
    let cfg = Config { cookie_age: 10 * 24 * HOUR, ..Config::default() };
    let sb = Sandbox::new(cfg.clone());
    let store = sb.store();
    let mut dj = sb.django();
    let file = |key: &str| format!("{}{key}", cfg.prefix);
    let old_django = dj.create_with_expiry(&data(r#"{"u":"1"}"#), json!(600));
    let old_sessionbox = store.create(&data(r#"{"u":"2","_session_expiry":600}"#)).unwrap();
    let young = dj.create_with_expiry(&data(r#"{"u":"3"}"#), json!(3 * HOUR));
    for key in [&old_django, &old_sessionbox, &young] {
        age_file(&sb.file(key), 2 * HOUR);
    }
    let sweep = sweep_both(&sb, &mut dj);
    check_sweep(
        &sweep,
        &[
            Expect { what: "Django, 600 s, saved 2 h ago".into(), file: file(&old_django), django_keeps: true, sessionbox_keeps: false },
            Expect { what: "sessionbox, 600 s, saved 2 h ago".into(), file: file(&old_sessionbox), django_keeps: true, sessionbox_keeps: false },
            Expect { what: "Django, 3 h, saved 2 h ago".into(), file: file(&young), django_keeps: true, sessionbox_keeps: true },
        ],
    );
}

/// docs/SPEC.md §5: an empty placeholder file: Django never sweeps it, sessionbox
/// does once it is older than `cookie_age`.
#[test]
fn deviation_clear_expired_old_empty_placeholder() {
    let cfg = Config { cookie_age: HOUR, ..Config::default() };
    let sb = Sandbox::new(cfg.clone());
    let store = sb.store();
    let mut dj = sb.django();
    let mut expected = Vec::new();
    for (what, age, sessionbox_keeps) in [("2 h old", 2 * HOUR, false), ("30 days old", 30 * 24 * HOUR, false), ("59 min old", HOUR - 60, true)] {
        let key = fresh_key(&store);
        File::create(sb.file(&key)).unwrap();
        age_file(&sb.file(&key), age);
        // Both read it as an empty session meanwhile.
        assert_eq!(store.load(&key).unwrap().into_data(), Some(Data::new()));
        let loaded = dj.load(&key);
        assert_django_data(&loaded, &Data::new(), what);
        assert_eq!(loaded["key_after"], json!(key));
        let file = format!("{}{key}", cfg.prefix);
        expected.push(Expect { what: format!("empty placeholder, {what}"), file, django_keeps: true, sessionbox_keeps });
    }
    check_sweep(&sweep_both(&sb, &mut dj), &expected);
}

/// docs/SPEC.md §5: a temp file left by a crash between write and rename: Django
/// never removes it, sessionbox does once it is an hour old.
#[test]
fn deviation_clear_expired_stale_temp_file() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    // What Django's save leaves behind: mkstemp(prefix=<file>_out_) holding
    // the encoded session.
    let text = dj.ok(with_data(json!({"op": "encode"}), &data(r#"{"u":"1"}"#)))["text"].as_str().unwrap().to_owned();
    let mut expected = Vec::new();
    for (what, suffix, age, sessionbox_keeps) in [
        ("2 h old", "a8_kz0qe", 2 * HOUR, false),
        ("61 min old", "p_3nn1wz", HOUR + 60, false),
        ("30 min old (a save may be in progress)", "x1y2z3w4", HOUR / 2, true),
        ("just written, empty", "qq00_x9m", 0, true),
    ] {
        let name = format!("{}{}_out_{suffix}", sb.cfg.prefix, fresh_key(&store));
        fs::write(sb.dir.join(&name), if age == 0 { "" } else { &text }).unwrap();
        age_file(&sb.dir.join(&name), age);
        expected.push(Expect { what: format!("temp file, {what}"), file: name, django_keeps: true, sessionbox_keeps });
    }
    check_sweep(&sweep_both(&sb, &mut dj), &expected);
}

/// docs/SPEC.md §5: a naive ISO `_session_expiry` (no offset). Django with
/// `USE_TZ` raises on it; sessionbox reads it as the latest instant it can
/// denote (12 hours after the same digits in UTC), so it never expires a
/// session earlier than any Django could have meant.
#[test]
fn deviation_naive_iso_expiry_is_the_latest_instant_in_sessionbox_and_an_error_in_django() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    // Written by Django (set_expiry with a naive datetime) and by sessionbox.
    let past_django = dj.create_with_expiry(&data(r#"{"u":"1"}"#), json!({"datetime": "2001-01-01T00:00:00"}));
    let future_django = dj.create_with_expiry(&data(r#"{"u":"2"}"#), json!({"datetime": "2099-01-01T00:00:00"}));
    let past_ours = store.create(&data(r#"{"u":"3","_session_expiry":"2001-01-01T00:00:00.250000"}"#)).unwrap();
    let future_ours = store.create(&data(r#"{"u":"4","_session_expiry":"2099-01-01T00:00:00"}"#)).unwrap();
    assert_eq!(found(&store, &future_django)["_session_expiry"], json!("2099-01-01T00:00:00"), "stored naive");

    // Django: load raises.
    for key in [&past_django, &future_django, &past_ours, &future_ours] {
        let r = dj.op(json!({"op": "load", "key": key}));
        assert_eq!(r["ok"], json!(false), "{r}");
        assert!(r["error"].as_str().unwrap().starts_with("TypeError"), "{r}");
    }
    // sessionbox: the latest instant, 2099-01-01T12:00Z.
    assert_eq!(store.session(Some(&future_django)).expiry_date().unwrap(), iso_time("2099-01-01T12:00:00+00:00"));

    // The sweep: Django's aborts with the TypeError; sessionbox deletes the
    // past ones and keeps the future ones.
    let file = |key: &str| format!("{}{key}", sb.cfg.prefix);
    let sweep = sweep_both(&sb, &mut dj);
    assert_eq!(sweep.django["ok"], json!(false), "Django's clear_expired should raise: {}", sweep.django);
    assert!(sweep.django["error"].as_str().unwrap().starts_with("TypeError"), "{}", sweep.django);
    assert_eq!(sweep.django_left.len(), 4, "Django's sweep stopped at the first file");
    assert_eq!(sweep.sessionbox_left, BTreeSet::from([file(&future_django), file(&future_ours)]));
    assert_eq!(sweep.sessionbox["deleted"], json!(2));
    assert_eq!(sweep.sessionbox["skipped"], json!(0));

    // And on load.
    assert_eq!(store.load(&past_django).unwrap(), Loaded::Expired);
    assert_eq!(store.load(&past_ours).unwrap(), Loaded::Expired);
    assert_eq!(found(&store, &future_ours)["u"], json!("4"));
}

/// Django with `USE_TZ = False` writes a session's expiry as a naive local
/// time in its `TIME_ZONE` and reads it back the same way. West of UTC, that
/// time read as UTC is hours earlier: sessionbox used to expire (and sweep)
/// such a session while Django still served it.
#[test]
fn sessions_django_writes_without_time_zones_live_as_long_in_sessionbox() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    let local = json!({"USE_TZ": false, "TIME_ZONE": "America/New_York"});
    for zone in ["America/New_York", "Pacific/Pago_Pago", "Asia/Tokyo"] {
        let mut settings = local.clone();
        settings["TIME_ZONE"] = json!(zone);
        let op = json!({"op": "create", "expiry": {"timedelta": 7200}, "settings": settings});
        let key = dj.ok(with_data(op, &data(r#"{"user":"42"}"#)))["key"].as_str().unwrap().to_owned();
        let age = dj.ok(json!({"op": "expiry", "key": key, "settings": settings}))["age"].as_f64().unwrap();
        assert!(age > 7000.0, "{zone}: Django gives it {age} s");
        assert_eq!(found(&store, &key)["user"], json!("42"), "{zone}: sessionbox must find it live");
        // Aged past the cookie age, it is still judged by its own expiry.
        age_file(&sb.dir.join(format!("{}{key}", sb.cfg.prefix)), 30 * 24 * HOUR);
        assert_eq!(store.clear_expired().unwrap().deleted, 0, "{zone}: swept");
        assert_eq!(found(&store, &key)["user"], json!("42"));
    }
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

#[test]
fn keys_created_by_either_side_are_accepted_by_the_other() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();

    // Django's keys: sessionbox takes them as they are.
    for i in 0..5 {
        let key = dj.create(&data(&format!(r#"{{"i":{i}}}"#)));
        assert!(sessionbox_guest::key::is_valid(&key) && key.len() == 32, "{key}");
        assert!(store.exists(&key).unwrap());
        assert_eq!(store.session(Some(&key)).key(), Some(key.as_str()));
        let mut d = found(&store, &key);
        d.insert("by".into(), json!("sessionbox"));
        store.save(&key, &d, false).unwrap();
        assert_django_data(&dj.load(&key), &d, "Django key, saved by sessionbox");
        assert_eq!(sb.cli_ok(&sb.dir, &sb.cfg, &["exists", &key]), json!({"key": key, "exists": true}));
    }

    // sessionbox's keys: Django takes them (does not replace them) and can
    // update them (no UpdateError: the file is where Django looks).
    for i in 0..5 {
        let key = store.create(&data(&format!(r#"{{"i":{i}}}"#))).unwrap();
        assert!(dj.exists(&key));
        let loaded = dj.load(&key);
        assert_eq!(loaded["key_after"], json!(key));
        assert_django_data(&loaded, &data(&format!(r#"{{"i":{i}}}"#)), "sessionbox key");
        let saved = dj.ok(json!({"op": "save", "key": key, "data": {"by": "django"}}));
        assert_eq!(saved["key"], json!(key));
        assert_same_data(&found(&store, &key), &data(&format!(r#"{{"i":{i},"by":"django"}}"#)), "saved by Django");
    }

    // Deleting on one side is seen by the other, and neither resurrects it.
    let key = store.create(&data(r#"{"a":1}"#)).unwrap();
    dj.ok(json!({"op": "delete", "key": key}));
    assert!(!store.exists(&key).unwrap());
    assert_eq!(store.save(&key, &data(r#"{"a":2}"#), false), Err(sessionbox::Error::NotFound));
    let key = dj.create(&data(r#"{"a":1}"#));
    store.delete(&key).unwrap();
    assert!(!dj.exists(&key));
    // A request still carrying the old key: Django finds no session and
    // saves under a new key.
    let new = dj.ok(json!({"op": "save", "key": key, "data": {"a": 2}}))["key"].as_str().unwrap().to_owned();
    assert_ne!(new, key);
    assert!(!sb.file(&key).exists());
    assert_same_data(&found(&store, &new), &data(r#"{"a":2}"#), "saved by Django under a new key");
}

/// Django's `cycle_key` (what `login()` does) on sessions written by either
/// side leaves one file under the new key, which sessionbox reads.
#[test]
fn django_cycle_key_leaves_a_directory_sessionbox_reads() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    let expected = data(RICH);
    for who in ["sessionbox", "Django"] {
        let old = if who == "Django" { dj.create(&expected) } else { store.create(&expected).unwrap() };
        let cycled = dj.ok(json!({"op": "cycle_key", "key": old}));
        let new = cycled["key"].as_str().unwrap().to_owned();
        assert_ne!(new, old, "{who}");
        assert_eq!(names(&sb.dir), BTreeSet::from([format!("sessionid{new}")]), "{who}: only the new file is left");
        assert_same_data(&found(&store, &new), &expected, who);
        assert_eq!(store.load(&old).unwrap(), Loaded::Missing, "{who}");
        assert!(!store.exists(&old).unwrap());
        store.delete(&new).unwrap();
    }
}

/// `sessionbox cycle-key` (the CLI) and `Session::cycle_key` on sessions
/// written by either side leave one file under the new key, which Django
/// reads.
#[test]
fn sessionbox_cycle_key_leaves_a_directory_django_reads() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    let expected = data(RICH);
    let check = |dj: &mut Django, who: &str, old: &str, new: &str| {
        assert_ne!(new, old, "{who}");
        assert_eq!(names(&sb.dir), BTreeSet::from([format!("sessionid{new}")]), "{who}: only the new file is left");
        let loaded = dj.load(new);
        assert_django_data(&loaded, &expected, who);
        assert_eq!(loaded["key_after"], json!(new));
        assert!(!dj.exists(old), "{who}");
        assert_eq!(dj.load(old)["key_after"], Value::Null, "{who}: the old key is no session");
        store.delete(new).unwrap();
    };

    for who in ["CLI on a Django session", "CLI on a sessionbox session"] {
        let old = if who.contains("Django") { dj.create(&expected) } else { store.create(&expected).unwrap() };
        let out = sb.cli_ok(&sb.dir, &sb.cfg, &["cycle-key", &old]);
        assert_eq!(out["old_key"], json!(old));
        check(&mut dj, who, &old, out["key"].as_str().unwrap());
    }

    // The library's Session, without loading first (cycle_key loads).
    let old = dj.create(&expected);
    let mut session = store.session(Some(&old));
    session.cycle_key().unwrap();
    let new = session.key().unwrap().to_owned();
    check(&mut dj, "Session::cycle_key on a Django session", &old, &new);
}

// ---------------------------------------------------------------------------
// Secrets, prefix and salt
// ---------------------------------------------------------------------------

/// SECRET_KEY_FALLBACKS: a session signed with the old secret is read with
/// the new one (old as fallback) by both sides; re-saving signs it with the
/// new secret, so it then verifies without the fallback too.
#[test]
fn fallback_secrets_read_old_sessions_and_resave_under_the_new_secret() {
    let with_fallback = Config { secret: SECRET.into(), fallbacks: vec!["unused-fallback".into(), OLD_SECRET.into()], ..Config::default() };
    let sb = Sandbox::new(with_fallback.clone());
    let mut dj = sb.django();
    let old_only = Config { secret: OLD_SECRET.into(), fallbacks: vec![], ..Config::default() };
    let new_only = Config { secret: SECRET.into(), fallbacks: vec![], ..Config::default() };
    let (ours_old, ours_new, ours) = (sb.store_with(&old_only), sb.store_with(&new_only), sb.store());
    let as_old = json!({"SECRET_KEY": OLD_SECRET, "SECRET_KEY_FALLBACKS": []});
    let as_new_only = json!({"SECRET_KEY": SECRET, "SECRET_KEY_FALLBACKS": []});
    let original = data(r#"{"_auth_user_id":"9","cart":[1,2.5,"\u00e9"]}"#);

    // Django, old secret → sessionbox, new secret + fallback.
    let key = dj.ok(with_data(json!({"op": "create", "settings": as_old}), &original))["key"].as_str().unwrap().to_owned();
    assert_eq!(ours_new.load(&key).unwrap(), Loaded::BadSignature, "without the fallback it is rejected");
    assert_same_data(&found(&ours, &key), &original, "read via the fallback");
    let mut updated = original.clone();
    updated.insert("seen".into(), json!(true));
    ours.save(&key, &updated, false).unwrap();
    assert_same_data(&found(&ours_new, &key), &updated, "re-signed by sessionbox with the new secret");
    let r = dj.ok(json!({"op": "load", "key": key, "settings": as_new_only}));
    assert_django_data(&r, &updated, "Django, new secret only");
    assert_eq!(r["corrupted"], json!(false));

    // sessionbox, old secret → Django, new secret + fallback.
    let key = ours_old.create(&original).unwrap();
    let r = dj.ok(json!({"op": "load", "key": key, "settings": as_new_only}));
    assert_eq!(r["corrupted"], json!(true), "without the fallback Django rejects it: {r}");
    assert_django_data(&r, &Data::new(), "rejected");
    assert_django_data(&dj.load(&key), &original, "Django via the fallback");
    dj.ok(json!({"op": "save", "key": key, "data": {"seen": true}}));
    assert_same_data(&found(&ours_new, &key), &updated, "re-signed by Django with the new secret");

    // The CLI with --fallback-keys-file: cycle-key re-signs too.
    let key = dj.ok(with_data(json!({"op": "create", "settings": as_old}), &original))["key"].as_str().unwrap().to_owned();
    let out = sb.cli_ok(&sb.dir, &with_fallback, &["cycle-key", &key]);
    let new = out["key"].as_str().unwrap();
    let r = dj.ok(json!({"op": "load", "key": new, "settings": as_new_only}));
    assert_django_data(&r, &original, "cycled by the CLI, read by Django without the fallback");
    assert!(!dj.exists(&key));
    assert_same_data(&found(&ours_new, new), &original, "cycled by the CLI");
}

/// SESSION_COOKIE_NAME as the file prefix, and a store subclass's key salt
/// (`django.contrib.sessions.<ClassName>`), shared by both sides.
#[test]
fn custom_file_prefix_and_key_salt_are_shared() {
    let cfg = Config { prefix: "app_sess".into(), store_class: "TenantSessionStore".into(), cookie_age: HOUR, ..Config::default() };
    let sb = Sandbox::new(cfg.clone());
    let store = sb.store();
    let mut dj = sb.django();
    assert_eq!(dj.ok(json!({"op": "info"}))["key_salt"], json!("django.contrib.sessions.TenantSessionStore"));
    assert_eq!(cfg.key_salt(), "django.contrib.sessions.TenantSessionStore");
    let expected = data(RICH);

    // Django → sessionbox.
    let by_django = dj.create(&expected);
    assert_eq!(names(&sb.dir), BTreeSet::from([format!("app_sess{by_django}")]));
    assert_same_data(&found(&store, &by_django), &expected, "custom salt, Django → sessionbox");
    let default_salt = sb.store_with(&Config { store_class: "SessionStore".into(), ..cfg.clone() });
    assert_eq!(default_salt.load(&by_django).unwrap(), Loaded::BadSignature, "the salt is part of the signature");

    // sessionbox → Django.
    let by_sessionbox = store.create(&expected).unwrap();
    assert!(sb.dir.join(format!("app_sess{by_sessionbox}")).exists());
    assert_django_data(&dj.load(&by_sessionbox), &expected, "custom salt, sessionbox → Django");
    let r = dj.ok(json!({"op": "load", "key": by_sessionbox, "store_class": "SessionStore"}));
    assert_eq!(r["corrupted"], json!(true), "Django's default salt rejects it: {r}");

    // The CLI with --prefix and --key-salt.
    // (Python's form: the data holds NaN, which strict JSON cannot.)
    let out = sb.cli(&sb.dir, &cfg, &["--json", "python", "get", &by_django]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), py(&expected));
    let new = sb.cli_ok(&sb.dir, &cfg, &["cycle-key", &by_django])["key"].as_str().unwrap().to_owned();
    assert_django_data(&dj.load(&new), &expected, "cycled by the CLI");
    assert!(!dj.exists(&by_django));

    // clear-expired with the custom prefix: files with the default prefix
    // are not sessions of this app, whatever their age.
    age_file(&sb.file(&new), 2 * HOUR);
    let default_prefixed = format!("sessionid{}", fresh_key(&store));
    let default_store = sb.store_with(&Config::default());
    let other_app = default_store.create(&Data::new()).unwrap();
    age_file(&sb.dir.join(format!("sessionid{other_app}")), 2 * HOUR);
    fs::write(sb.dir.join(&default_prefixed), "").unwrap();
    age_file(&sb.dir.join(&default_prefixed), 2 * HOUR);
    let expected = [
        Expect { what: "app_sess, saved 2 h ago".into(), file: format!("app_sess{new}"), django_keeps: false, sessionbox_keeps: false },
        Expect { what: "app_sess, fresh".into(), file: format!("app_sess{by_sessionbox}"), django_keeps: true, sessionbox_keeps: true },
        Expect { what: "sessionid session, 2 h old".into(), file: format!("sessionid{other_app}"), django_keeps: true, sessionbox_keeps: true },
        Expect { what: "sessionid placeholder, 2 h old".into(), file: default_prefixed, django_keeps: true, sessionbox_keeps: true },
    ];
    check_sweep(&sweep_both(&sb, &mut dj), &expected);
}

// ---------------------------------------------------------------------------
// Tampering
// ---------------------------------------------------------------------------

/// Hand-made changes to a session file: both sides refuse the data. Django
/// logs "Session data corrupted" and gives an empty session; sessionbox
/// reports a bad signature. (docs/SPEC.md §5 deviation: Django keeps the tampered
/// file's key for the next save, sessionbox's Session drops it.)
#[test]
fn hand_modified_files_are_rejected_by_both() {
    let sb = Sandbox::new(Config::default());
    let store = sb.store();
    let mut dj = sb.django();
    let forged = {
        // Django's own encoding of a forged session, for its payload.
        let text = dj.ok(json!({"op": "encode", "data": {"_auth_user_id": "1", "is_superuser": true}}))["text"].as_str().unwrap().to_owned();
        payload(&text).to_owned()
    };
    let other_secret = {
        let store = sb.store_with(&Config { secret: "attacker-guess".into(), ..Config::default() });
        let key = store.create(&data(r#"{"_auth_user_id":"1"}"#)).unwrap();
        let text = sb.content(&key);
        store.delete(&key).unwrap();
        text
    };

    let mut originals = Vec::new();
    for (name, text, _) in cases() {
        if name == "empty" {
            continue;
        }
        originals.push((format!("Django {name}"), sb.content(&dj.create(&data(&text)))));
        originals.push((format!("sessionbox {name}"), sb.content(&store.create(&data(&text)).unwrap())));
    }
    assert!(originals.iter().any(|(_, t)| is_compressed(t)) && originals.iter().any(|(_, t)| !is_compressed(t)));

    let flip = |c: char| if c == 'A' { 'B' } else { 'A' };
    let mut variants: Vec<(String, String)> = Vec::new();
    for (origin, text) in &originals {
        let parts: Vec<&str> = text.split(':').collect();
        let (p, ts, sig) = (parts[0], parts[1], parts[2]);
        let mid = p.len() / 2;
        let p_flipped: String = p.char_indices().map(|(i, c)| if i == mid { flip(c) } else { c }).collect();
        let sig_flipped: String = sig.char_indices().map(|(i, c)| if i == 5 { flip(c) } else { c }).collect();
        let toggled = match p.strip_prefix('.') {
            Some(rest) => rest.to_owned(),
            None => format!(".{p}"),
        };
        for (what, v) in [
            ("one payload character changed", format!("{p_flipped}:{ts}:{sig}")),
            ("payload swapped for a forged one", format!("{forged}:{ts}:{sig}")),
            ("timestamp changed", format!("{p}:{}:{sig}", if ts == "1" { "2" } else { "1" })),
            ("one signature character changed", format!("{p}:{ts}:{sig_flipped}")),
            ("signature cut short", format!("{p}:{ts}:{}", &sig[..sig.len() - 1])),
            ("signature removed", format!("{p}:{ts}")),
            ("compression marker toggled", format!("{toggled}:{ts}:{sig}")),
            ("newline appended by an editor", format!("{text}\n")),
            ("data appended", format!("{p}:{ts}:{sig}x")),
        ] {
            variants.push((format!("{origin}, {what}"), v));
        }
    }
    variants.push(("signed with another secret".into(), other_secret));

    for (what, content) in &variants {
        let key = fresh_key(&store);
        fs::write(sb.file(&key), content).unwrap();
        // sessionbox: no data, a bad signature, the file left as it was.
        assert_eq!(store.load(&key).unwrap(), Loaded::BadSignature, "{what}");
        let mut session = store.session(Some(&key));
        assert!(session.keys().unwrap().is_empty(), "{what}");
        assert_eq!(session.key(), None, "{what}: sessionbox's Session drops the key (docs/SPEC.md §5)");
        // Django: no data, the security warning, and (Django's quirk) the key kept.
        let r = dj.load(&key);
        assert_django_data(&r, &Data::new(), what);
        assert_eq!(r["corrupted"], json!(true), "{what}: Django logs it as a security event: {r}");
        assert_eq!(r["key_after"], json!(key), "{what}: Django keeps the key (docs/SPEC.md §5 deviation)");
        assert_eq!(&fs::read_to_string(sb.file(&key)).unwrap(), content, "{what}: neither side changed the file");
    }

    // The CLI says why.
    let key = fresh_key(&store);
    fs::write(sb.file(&key), &variants[0].1).unwrap();
    let out = sb.cli(&sb.dir, &sb.cfg, &["get", &key]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad signature"), "{}", String::from_utf8_lossy(&out.stderr));
}
