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
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};
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
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessionbox"));
        cmd.arg("--dir").arg(dir);
        cmd.args(["--prefix", &cfg.prefix, "--key-salt", &cfg.key_salt(), "--cookie-age", &cfg.cookie_age.to_string()]);
        if !cfg.fallbacks.is_empty() {
            let path = self.root.path().join("fallback-keys");
            let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path).unwrap();
            f.write_all(cfg.fallbacks.join("\n").as_bytes()).unwrap();
            cmd.arg("--fallback-keys-file").arg(&path);
        }
        cmd.args(args);
        cmd.env("SESSIONBOX_SECRET_KEY", &cfg.secret).env("XDG_CONFIG_HOME", self.root.path().join("config"));
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

/// A running `django_sessions.py`: one op in, one JSON result out.
struct Django {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr_path: PathBuf,
    store_class: String,
    _stderr_dir: tempfile::TempDir,
}

impl Django {
    fn start(dir: &Path, cfg: &Config) -> Django {
        let python = django::django_python();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/interop/django_sessions.py");
        let stderr_dir = tempfile::tempdir().unwrap();
        let stderr_path = stderr_dir.path().join("stderr");
        let mut child = Command::new(python)
            .arg(script)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr_path).unwrap())
            .spawn()
            .expect("starting Django's Python");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut django =
            Django { child, stdin, stdout, stderr_path, store_class: cfg.store_class.clone(), _stderr_dir: stderr_dir };
        django.send(&json!({
            "secret_key": cfg.secret,
            "fallback_keys": cfg.fallbacks,
            "dir": dir,
            "cookie_name": cfg.prefix,
            "cookie_age": cfg.cookie_age,
        }));
        django
    }

    /// Sends one line. The text is Python-form JSON, so Python reads big ints,
    /// floats and strings exactly as they are in the test data.
    fn send(&mut self, v: &Value) {
        self.send_text(&json_python::to_string(v));
    }

    fn send_text(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").and_then(|()| stdin.flush()).unwrap_or_else(|e| self.died(&format!("writing to it: {e}")));
    }

    fn died(&mut self, why: &str) -> ! {
        self.stdin = None;
        let _ = self.child.wait();
        let stderr = fs::read_to_string(&self.stderr_path).unwrap_or_default();
        panic!("the Django process failed ({why}); its stderr:\n{stderr}");
    }

    /// Runs one op (with this process's store class unless the op names
    /// one) and returns its result, whether it succeeded or not.
    fn op(&mut self, mut op: Value) -> Value {
        op.as_object_mut().unwrap().entry("store_class").or_insert(json!(self.store_class));
        self.send(&op);
        self.answer(&op.to_string())
    }

    /// Runs one op given as JSON text (for what a Rust `Value` cannot hold,
    /// such as a lone surrogate).
    fn op_text(&mut self, op: &str) -> Value {
        self.send_text(op);
        self.answer(op)
    }

    /// Reads the result line of `op`.
    fn answer(&mut self, op: &str) -> Value {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => self.died(&format!("no answer to {op}")),
            Ok(_) => {}
            Err(e) => self.died(&format!("reading its answer to {op}: {e}")),
        }
        // parse_data keeps Python's number text and the key order.
        Value::Object(sessionbox::parse_data(&line).unwrap_or_else(|e| panic!("Django answered {line:?}: {e}")))
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
}

impl Drop for Django {
    fn drop(&mut self) {
        self.stdin = None; // EOF: the script ends
        let _ = self.child.wait();
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
    json_python::to_string(&Value::Object(d.clone()))
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
        Loaded::Found(d) => d,
        other => panic!("sessionbox could not load {key}: {other:?}"),
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
    session.remove("alpha").unwrap();
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

/// README: a lone UTF-16 surrogate (which Python writes and reads) is read by
/// sessionbox as U+FFFD.
#[test]
fn lone_surrogate_from_django_reads_as_replacement_character() {
    let sb = Sandbox::new(Config::default());
    let mut dj = sb.django();
    let created = dj.op_text(r#"{"op":"create","data":{"s":"a\ud800b"}}"#);
    let key = created["key"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned();
    assert_eq!(dj.load(&key)["data_json"], json!(r#"{"s":"a\ud800b"}"#), "Python keeps the lone surrogate");
    assert_same_data(&found(&sb.store(), &key), &data(r#"{"s":"a\ufffdb"}"#), "lone surrogate");
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
        assert_eq!(store.load(&key).unwrap(), Loaded::Found(Data::new()));
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

/// docs/SPEC.md §5: a naive ISO `_session_expiry` (no offset): Django (USE_TZ) raises
/// TypeError comparing it with an aware "now", which aborts `clear_expired`
/// and fails `load`; sessionbox reads it as UTC and the sweep goes on.
#[test]
fn deviation_naive_iso_expiry_is_utc_in_sessionbox_and_an_error_in_django() {
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
    // sessionbox: UTC. 2099 is live; its expiry date is 2099-01-01T00:00Z.
    assert_eq!(store.session(Some(&future_django)).expiry_date().unwrap(), iso_time("2099-01-01T00:00:00+00:00"));

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
