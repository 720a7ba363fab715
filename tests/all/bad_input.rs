//! Hostile and broken input through the host API: bad keys, bad data, huge
//! data, deep nesting, and odd things on disk where a session file should be.
//! Every case must end in a clear error or "no session", never a panic, and
//! nothing outside the session directory may be read or written.
//!
//! Layout of every fixture:
//!
//! ```text
//! <tmp>/canary.txt            must never change
//! <tmp>/outside_session       a *valid* session (signed with the store's secret)
//!                             outside the directory: must never be loaded
//! <tmp>/sessions/             the session directory
//! <tmp>/sessions/sessionid/   a directory named like the prefix, so a naive
//!                             `prefix + key` join with key "/../../x" would
//!                             resolve outside
//! ```

use crate::support::data;
use serde_json::{json, Value};
use sessionbox::{Data, Error, Loaded, Settings, Store};
use sessionbox_guest::codec::Codec;
use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

const SECRET: &str = "bad-input-secret";
const CANARY: &[u8] = b"canary: nobody may touch this file";
const OUTSIDE_DATA: &str = r#"{"stolen":"outside the session directory"}"#;

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    dir: PathBuf,
    store: Store,
}

fn settings() -> Settings {
    Settings::new(SECRET)
}

fn codec() -> Codec {
    Codec::new(SECRET, &[], sessionbox::DEFAULT_KEY_SALT)
}

fn fixture_with(settings: Settings) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    std::fs::write(root.join("canary.txt"), CANARY).unwrap();
    std::fs::write(root.join("outside_session"), codec().encode(OUTSIDE_DATA, 1_700_000_000)).unwrap();
    let dir = root.join("sessions");
    std::fs::create_dir(&dir).unwrap();
    std::fs::create_dir(dir.join("sessionid")).unwrap();
    let store = Store::open(&dir, settings).expect("opening the store");
    Fixture { _tmp: tmp, root, dir, store }
}

fn fixture() -> Fixture {
    fixture_with(settings())
}

/// What one entry is: a file (content), a directory, or a symlink (target).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    File(Vec<u8>),
    Dir,
    Link(PathBuf),
}

/// Every entry under `path` (not following symlinks), by relative path.
fn snapshot(path: &Path) -> BTreeMap<PathBuf, Entry> {
    fn walk(base: &Path, path: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
        for entry in std::fs::read_dir(path).unwrap() {
            let p = entry.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().to_path_buf();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(rel, Entry::Link(std::fs::read_link(&p).unwrap()));
            } else if meta.is_dir() {
                out.insert(rel, Entry::Dir);
                walk(base, &p, out);
            } else {
                out.insert(rel, Entry::File(std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(path, path, &mut out);
    out
}

impl Fixture {
    /// Everything outside the session directory.
    fn outside(&self) -> BTreeMap<PathBuf, Entry> {
        let mut all = snapshot(&self.root);
        all.retain(|p, _| !p.starts_with("sessions"));
        all
    }

    fn assert_outside_untouched(&self, what: &str) {
        let canary = std::fs::read(self.root.join("canary.txt")).unwrap_or_else(|e| panic!("{what}: canary gone: {e}"));
        assert_eq!(canary, CANARY, "{what}: the canary beside the session directory changed");
        let outside =
            std::fs::read_to_string(self.root.join("outside_session")).unwrap_or_else(|e| panic!("{what}: outside file gone: {e}"));
        assert_eq!(outside, codec().encode(OUTSIDE_DATA, 1_700_000_000), "{what}: the outside file changed");
        let names: Vec<PathBuf> = self.outside().into_keys().collect();
        assert_eq!(names, [PathBuf::from("canary.txt"), PathBuf::from("outside_session")], "{what}: entries appeared outside");
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("sessionid{key}"))
    }
}

fn is_no_session(loaded: &Loaded) -> bool {
    matches!(loaded, Loaded::Missing | Loaded::BadSignature | Loaded::Corrupt)
}

/// Keys that must never name a file.
fn invalid_keys() -> Vec<(&'static str, String)> {
    vec![
        ("forward slash", "abcd/efghijklmnop".into()),
        ("leading slash", "/etc/passwd0000".into()),
        ("traversal to the canary", "/../../canary.txt".into()),
        ("traversal to the outside session", "/../../outside_session".into()),
        ("backslash", "abcd\\efghijklmnop".into()),
        ("backslash traversal", "\\..\\..\\canary.txt".into()),
        ("dot dot", "..abcdefghijklmn".into()),
        ("trailing dot dot", "abcdefghijklmn..".into()),
        ("dot", "abcdefgh.ijklmno".into()),
        ("NUL", "abcdefgh\0ijklmnop".into()),
        ("NUL then traversal", "abcdefgh\0/../../canary.txt".into()),
        ("uppercase", "ABCDEFGHIJKLMNOP".into()),
        ("one uppercase char", "abcdefghijklmnoP".into()),
        ("unicode letter", "abcdéfghijklmnop".into()),
        ("fullwidth letters", "ａｂｃｄｅｆｇｈｉｊ".into()),
        ("right-to-left override", "abcdefgh\u{202e}ijkl".into()),
        ("space", "abcd efghijklmnop".into()),
        ("newline", "abcdefghijklmnop\n".into()),
        ("dash", "abcd-efghijklmnop".into()),
        ("underscore temp marker", "abcdefgh_out_ijkl".into()),
        ("10 KB of traversal", "../".repeat(10 * 1024 / 3)),
        ("10 KB uppercase", "A".repeat(10 * 1024)),
        ("10 KB with one slash", format!("{}/{}", "a".repeat(5 * 1024), "b".repeat(5 * 1024))),
    ]
}

/// Keys of valid characters that can name no session (Django's
/// `SessionBase` refuses keys under 8 characters; a file name holds 255
/// bytes): every operation treats them as a missing session, as Django does.
fn keys_naming_no_session() -> Vec<(&'static str, String)> {
    vec![
        ("7 chars", "abcdefg".into()),
        ("1 char", "1".into()),
        ("empty", String::new()),
        ("file name of 256 bytes", "a".repeat(256 - "sessionid".len())),
        ("10 KB", "a".repeat(10 * 1024)),
    ]
}

#[test]
fn keys_naming_no_session_are_missing_sessions() {
    let f = fixture();
    let payload = data(json!({"written": "by a key no session has"}));
    let before = snapshot(&f.dir);
    for (what, key) in keys_naming_no_session() {
        assert_eq!(f.store.load(&key), Ok(Loaded::Missing), "load with {what}");
        assert_eq!(f.store.exists(&key), Ok(false), "exists with {what}");
        assert_eq!(f.store.delete(&key), Ok(false), "delete with {what}");
        assert_eq!(f.store.save(&key, &payload, false), Err(Error::NotFound), "save with {what}");
        assert_eq!(f.store.save(&key, &payload, true), Err(Error::InvalidKey), "save(must_create) with {what}");
        assert_eq!(snapshot(&f.dir), before, "{what}: the session directory changed");
        // Cycling away from such a key makes a new session (nothing to delete).
        let new = f.store.cycle_key(&key, &payload).unwrap_or_else(|e| panic!("cycle_key with {what}: {e}"));
        assert_eq!(f.store.load(&new).map(Loaded::into_data), Ok(Some(payload.clone())));
        assert!(f.store.delete(&new).unwrap());
    }
    f.assert_outside_untouched("keys naming no session");
}

/// The longest keys Django's file backend can use (file name = 255 bytes)
/// work in every operation, though their temporary files must be named
/// shorter.
#[test]
fn keys_up_to_the_file_name_limit_are_sessions() {
    let f = fixture();
    let before = snapshot(&f.dir);
    for len in [234, 240, 246, 255 - "sessionid".len()] {
        let key = "k".repeat(len);
        let v1 = data(json!({"len": len}));
        f.store.save(&key, &v1, true).unwrap_or_else(|e| panic!("create with a {len}-char key: {e}"));
        assert_eq!(f.store.exists(&key), Ok(true));
        let v2 = data(json!({"len": len, "again": true}));
        f.store.save(&key, &v2, false).unwrap();
        assert_eq!(f.store.load(&key).map(Loaded::into_data), Ok(Some(v2)));
        assert_eq!(f.store.delete(&key), Ok(true));
        assert_eq!(f.store.delete(&key), Ok(false));
    }
    assert_eq!(snapshot(&f.dir), before, "no temporary file left");
}

#[test]
fn invalid_keys_are_refused_by_every_operation() {
    let f = fixture();
    let payload = data(json!({"written": "by an invalid key"}));
    let before = snapshot(&f.dir);
    for (what, key) in invalid_keys() {
        assert_eq!(f.store.load(&key), Ok(Loaded::Missing), "load with {what} ({key:?})");
        assert_eq!(f.store.exists(&key), Err(Error::InvalidKey), "exists with {what}");
        assert_eq!(f.store.delete(&key), Err(Error::InvalidKey), "delete with {what}");
        assert_eq!(f.store.save(&key, &payload, false), Err(Error::InvalidKey), "save with {what}");
        assert_eq!(f.store.save(&key, &payload, true), Err(Error::InvalidKey), "save(must_create) with {what}");
        assert_eq!(f.store.cycle_key(&key, &payload), Err(Error::InvalidKey), "cycle_key with {what}");
        assert_eq!(snapshot(&f.dir), before, "{what}: the session directory changed");
        f.assert_outside_untouched(what);
    }
}

/// Debug text cut short: errors may quote a 10 KB file name.
fn short(v: &impl std::fmt::Debug) -> String {
    let text = format!("{v:?}");
    match text.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

#[test]
fn a_very_long_key_is_no_session() {
    // 10 KB of valid characters: no file can have this name (NAME_MAX is 255),
    // so it is a missing session. docs/SPEC.md §3: load of a missing file is "no
    // session", and decode never fails loudly; Django's load catches the
    // OSError (ENAMETOOLONG) and starts a new session.
    let f = fixture();
    let key = "a".repeat(10 * 1024);
    let payload = data(json!({"k": 1}));
    let before = snapshot(&f.dir);
    // Collect every deviation, so one run reports them all.
    let mut failures = Vec::new();
    let loaded = f.store.load(&key);
    if loaded != Ok(Loaded::Missing) {
        failures.push(format!("load: expected Ok(Missing), got {}", short(&loaded)));
    }
    let exists = f.store.exists(&key);
    if !matches!(exists, Ok(false) | Err(Error::InvalidKey)) {
        failures.push(format!("exists: expected Ok(false) or Err(InvalidKey), got {}", short(&exists)));
    }
    let deleted = f.store.delete(&key);
    if !matches!(deleted, Ok(false) | Err(Error::InvalidKey)) {
        failures.push(format!("delete: expected Ok(false) or Err(InvalidKey), got {}", short(&deleted)));
    }
    let saved = f.store.save(&key, &payload, false);
    if !matches!(saved, Err(Error::InvalidKey | Error::NotFound)) {
        failures.push(format!("save: expected Err(InvalidKey) or Err(NotFound), got {}", short(&saved)));
    }
    let created = f.store.save(&key, &payload, true);
    if !matches!(created, Err(Error::InvalidKey | Error::Io(_))) {
        failures.push(format!("save(must_create): expected Err(InvalidKey) or Err(Io), got {}", short(&created)));
    }
    // Through the Session API it is simply a new, empty session.
    let mut session = f.store.session(Some(&key));
    let got = session.get("k");
    if got != Ok(None) {
        failures.push(format!("Session::get: expected Ok(None), got {}", short(&got)));
    }
    if session.key().is_some() {
        failures.push("Session::key: the 10 KB key survived loading".to_owned());
    }
    assert_eq!(snapshot(&f.dir), before, "a 10 KB key changed the directory");
    f.assert_outside_untouched("10 KB key");
    assert!(failures.is_empty(), "a 10 KB key of [a-z0-9]:\n  {}", failures.join("\n  "));
}

#[test]
fn session_api_with_an_invalid_key_is_just_no_session() {
    let f = fixture();
    let before = snapshot(&f.dir);
    for (what, key) in invalid_keys() {
        // Reading: empty, and the key is dropped.
        let mut s = f.store.session(Some(&key));
        assert_eq!(s.get("anything"), Ok(None), "{what}: get");
        assert_eq!(s.contains_key("anything"), Ok(false), "{what}: contains_key");
        assert_eq!(s.keys(), Ok(vec![]), "{what}: keys");
        assert_eq!(s.load(), Ok(Data::new()), "{what}: load");
        assert_eq!(s.key(), None, "{what}: an invalid key must not survive loading");
        assert_eq!(s.exists(&key), Ok(false), "{what}: Session::exists");
        assert_eq!(s.delete(), Ok(()), "{what}: delete");
        assert_eq!(s.flush(), Ok(()), "{what}: flush");
        assert_eq!(s.key(), None, "{what}: key after flush");

        // Deleting without loading first is a no-op, not an error.
        let mut s = f.store.session(Some(&key));
        assert_eq!(s.delete(), Ok(()), "{what}: delete before load");
        assert_eq!(snapshot(&f.dir), before, "{what}: reading/deleting changed the directory");

        // Saving without loading first: no file under the bad name; either a
        // clear error (Django raises here too) or a fresh valid key.
        let mut s = f.store.session(Some(&key));
        match s.save(false) {
            Ok(()) => {
                let new = s.key().expect("a saved session has a key").to_owned();
                assert!(sessionbox_guest::key::is_valid(&new) && new != key, "{what}: saved under {new:?}");
                f.store.delete(&new).unwrap();
            }
            Err(e) => assert!(matches!(e, Error::InvalidKey | Error::NotFound), "{what}: save gave {e:?}"),
        }
        let mut s = f.store.session(Some(&key));
        match s.save(true) {
            Ok(()) => {
                let new = s.key().expect("a saved session has a key").to_owned();
                assert!(sessionbox_guest::key::is_valid(&new) && new != key, "{what}: saved under {new:?}");
                f.store.delete(&new).unwrap();
            }
            Err(e) => assert_eq!(e, Error::InvalidKey, "{what}: save(must_create)"),
        }
        assert_eq!(snapshot(&f.dir), before, "{what}: saving left files behind");

        // Django's test_invalid_key: using the session, then saving, gives a
        // brand-new session under a fresh key.
        let mut s = f.store.session(Some(&key));
        assert_eq!(s.insert("cat", "meow"), Ok(None), "{what}: insert");
        s.save(false).unwrap_or_else(|e| panic!("{what}: saving a used session with an invalid key failed: {e}"));
        let new = s.key().expect("saved").to_owned();
        assert!(sessionbox_guest::key::is_valid(&new) && new.len() == 32, "{what}: new key {new:?}");
        assert_eq!(f.store.load(&new).map(Loaded::into_data), Ok(Some(data(json!({"cat": "meow"})))), "{what}");
        f.store.delete(&new).unwrap();
        assert_eq!(snapshot(&f.dir), before, "{what}");
        f.assert_outside_untouched(what);
    }
}

#[test]
fn data_that_is_not_an_object_is_invalid_data() {
    for text in [
        r#""a string""#,
        "[1,2,3]",
        "[]",
        "42",
        "-1.5",
        "NaN",
        "null",
        "true",
        "",
        "   ",
        "{",
        "}",
        r#"{"a":}"#,
        r#"{"a":1,}"#,
        r#"{"a":1} trailing"#,
        r#"{a:1}"#,
        r#"{'a':1}"#,
        "{\"a\":\"\u{1}\"}",
        r#"{"a":"\x"}"#,
        r#"{"a":01}"#,
        "\u{feff}{}",
    ] {
        match sessionbox::parse_data(text) {
            Err(Error::InvalidData(why)) => assert!(!why.is_empty(), "{text:?}: empty reason"),
            other => panic!("{text:?}: expected InvalidData, got {other:?}"),
        }
    }
    // Control: what Python writes is accepted.
    let ok = sessionbox::parse_data(r#"{"n":NaN,"i":-Infinity,"big":123456789012345678901234567890}"#).unwrap();
    assert_eq!(ok.len(), 3);
}

/// `[[[...]]]` nested `depth` deep, built without recursion.
fn nested_array(depth: usize) -> Value {
    let mut v = Value::Array(vec![]);
    for _ in 0..depth {
        v = Value::Array(vec![v]);
    }
    v
}

/// Python reads JSON nested as deep as its stack allows (3.11: 993 levels,
/// 3.14: over 100 000): the store keeps a session of any depth that fits the
/// size limit, and only the `Data` view is bounded.
#[test]
fn deeply_nested_json_of_any_depth_is_kept() {
    let f = fixture();
    let before = snapshot(&f.dir);
    let arrays = |n: usize| format!("{{\"a\":{}{}}}", "[".repeat(n), "]".repeat(n));
    let objects = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
    let mixed = |n: usize| format!("{}1{}", "{\"a\":[".repeat(n / 2), "]}".repeat(n / 2));
    // The deepest array session that fits the default 1 MiB limit.
    let deepest = (sessionbox::DEFAULT_MAX_SESSION_SIZE as usize - 8) / 2;
    let cases = [
        ("200 arrays", arrays(200)),
        ("arrays at Data's limit", arrays(sessionbox::MAX_DATA_DEPTH - 1)),
        ("10 000 objects", objects(10_000)),
        ("10 000 mixed", mixed(10_000)),
        ("arrays filling 1 MiB", arrays(deepest)),
    ];
    for (what, text) in &cases {
        assert_eq!(text, &sessionbox_guest::json::canonical_object(text).unwrap(), "{what}: the test text is canonical");
        let key = f.store.create_json(text).unwrap_or_else(|e| panic!("{what}: create: {e}"));
        assert_eq!(f.store.load_json(&key).map(Loaded::into_data), Ok(Some(text.clone())), "{what}: load_json");
        f.store.save_json(&key, text, false).unwrap_or_else(|e| panic!("{what}: save: {e}"));
        let key = f.store.cycle_key_json(&key, text).unwrap_or_else(|e| panic!("{what}: cycle_key: {e}"));
        // As Data: up to MAX_DATA_DEPTH, else a clear error (not a panic,
        // not "no session").
        let depth = text.bytes().take_while(|&b| b == b'{' || b == b'[' || b == b'"' || b == b'a' || b == b':').filter(|&b| b == b'{' || b == b'[').count();
        match f.store.load(&key) {
            Ok(Loaded::Found { data, .. }) => {
                assert!(depth <= sessionbox::MAX_DATA_DEPTH, "{what}: {depth} levels as Data");
                assert_eq!(sessionbox_guest::json::object_to_string(&data), *text);
                std::mem::forget(data);
            }
            Err(Error::InvalidData(why)) => assert!(depth > sessionbox::MAX_DATA_DEPTH && why.contains("load_json"), "{what}: {why}"),
            other => panic!("{what}: load gave {other:?}"),
        }
        // A correctly signed file Django wrote with the same text.
        let file_key = "deepfile00000000000000000000000c";
        std::fs::write(f.path(file_key), codec().encode(text, 1_700_000_000)).unwrap();
        assert_eq!(f.store.load_json(file_key).map(Loaded::into_data), Ok(Some(text.clone())), "{what}: Django's file");
        assert_eq!(f.store.clear_expired().unwrap().deleted, 0, "{what}: swept");
        assert!(f.store.delete(&key).unwrap() && f.store.delete(file_key).unwrap());
    }
    // Unclosed nesting is invalid data, not a crash.
    let unclosed = format!("{{\"a\":{}", "[".repeat(100_000));
    assert!(matches!(f.store.create_json(&unclosed), Err(Error::InvalidData(_))));
    assert!(matches!(sessionbox::parse_data(&unclosed), Err(Error::InvalidData(_))));
    assert_eq!(snapshot(&f.dir), before);
    f.assert_outside_untouched("deep nesting");
}

#[test]
fn oversized_data_is_too_large_and_writes_nothing() {
    let mut s = settings();
    s.max_session_size = 1024;
    let f = fixture_with(s);

    // {"k":"xxx..."} is 8 bytes of JSON around the string.
    let sized = |n: usize| data(json!({"k": "x".repeat(n)}));
    let empty_dir = snapshot(&f.dir);
    assert_eq!(f.store.create(&sized(1017)), Err(Error::TooLarge), "1025 bytes of JSON");
    assert_eq!(f.store.create(&sized(100_000)), Err(Error::TooLarge), "100 KB");
    // The limit counts Python's JSON text: each é is written as \u00e9 (6 bytes),
    // so 200 of them (400 bytes of UTF-8) are 1200+ bytes of JSON.
    assert_eq!(f.store.create(&data(json!({"k": "é".repeat(200)}))), Err(Error::TooLarge), "escaped non-ASCII");
    assert_eq!(snapshot(&f.dir), empty_dir, "a refused create left a file (placeholder or temp) behind");

    // Exactly at the limit is fine, and loads back.
    let at_limit = sized(1016);
    let key = f.store.create(&at_limit).expect("1024 bytes of JSON is within the limit");
    assert_eq!(f.store.load(&key).map(Loaded::into_data), Ok(Some(at_limit)));

    // Over an existing session: refused, the old content stays byte for byte.
    let small = data(json!({"small": 1}));
    f.store.save(&key, &small, false).unwrap();
    let stored = std::fs::read(f.path(&key)).unwrap();
    let with_session = snapshot(&f.dir);
    assert_eq!(f.store.save(&key, &sized(5000), false), Err(Error::TooLarge));
    assert_eq!(f.store.cycle_key(&key, &sized(5000)), Err(Error::TooLarge));
    let fresh = "toolarge000000000000000000000000";
    assert_eq!(f.store.save(fresh, &sized(5000), true), Err(Error::TooLarge));
    assert_eq!(std::fs::read(f.path(&key)).unwrap(), stored, "the old session was modified");
    assert_eq!(snapshot(&f.dir), with_session, "a refused save left a file behind");
    assert_eq!(f.store.exists(fresh), Ok(false));
    assert_eq!(f.store.load(&key).map(Loaded::into_data), Ok(Some(small)));

    // Through the Session API too.
    let mut session = f.store.session(Some(&key));
    session.insert("big", "y".repeat(5000)).unwrap();
    assert_eq!(session.save(false), Err(Error::TooLarge));
    assert_eq!(std::fs::read(f.path(&key)).unwrap(), stored);

    // Too-large content on disk: a clear error or no session, bounded memory.
    // (a) A huge file.
    let huge = "hugefile00000000000000000000000a";
    std::fs::write(f.path(huge), "e".repeat(4 << 20)).unwrap();
    let loaded = f.store.load(huge);
    assert!(matches!(&loaded, Err(Error::TooLarge)) || matches!(&loaded, Ok(l) if is_no_session(l)), "huge file: {loaded:?}");
    // (b) A correctly signed decompression bomb: 100 KB of JSON in a few
    // hundred bytes. The WIT contract says too-large.
    let bomb_json = format!(r#"{{"k":"{}"}}"#, "x".repeat(100_000));
    let bomb = codec().encode(&bomb_json, 1_700_000_000);
    assert!(bomb.starts_with('.') && bomb.len() < 1024, "the bomb should be small and compressed ({} bytes)", bomb.len());
    let bomb_key = "bombfile00000000000000000000000a";
    std::fs::write(f.path(bomb_key), &bomb).unwrap();
    assert_eq!(f.store.load(bomb_key), Err(Error::TooLarge), "decompression bomb");
    f.assert_outside_untouched("oversized data");
}

/// A key whose file the test writes by hand.
fn key(n: u32) -> String {
    format!("odd{n:029}")
}

#[test]
fn broken_session_files_are_no_session() {
    let f = fixture();
    let good = codec().encode(r#"{"user":"42","cart":[1,2,3]}"#, 1_700_000_000);
    let mut n = 0;
    let mut check = |what: &str, content: &[u8], want: &dyn Fn(&Loaded) -> bool| {
        n += 1;
        let k = key(n);
        std::fs::write(f.path(&k), content).unwrap();
        let loaded = f.store.load(&k);
        match &loaded {
            Ok(l) if want(l) => {}
            other => panic!("{what}: unexpected {other:?}"),
        }
        // The Session API turns it into an empty session.
        let mut s = f.store.session(Some(&k));
        assert_eq!(s.load(), Ok(Data::new()), "{what}: Session::load");
        f.assert_outside_untouched(what);
    };

    // Empty: the placeholder of a create in progress.
    check("empty file", b"", &|l| l.data() == Some(&Data::new()));
    // Every truncation of a good file.
    for len in 1..good.len() {
        check(&format!("truncated to {len}"), &good.as_bytes()[..len], &|l| matches!(l, Loaded::BadSignature | Loaded::Corrupt));
    }
    let corrupt_or_bad = |l: &Loaded| matches!(l, Loaded::BadSignature | Loaded::Corrupt);
    // Non-ASCII bytes.
    check("latin-1 byte in payload", &[b"e\xe9".as_slice(), &good.as_bytes()[2..]].concat(), &corrupt_or_bad);
    check("UTF-8 é in payload", format!("é{good}").as_bytes(), &corrupt_or_bad);
    check("invalid UTF-8", &[0xff, 0xfe, b':', b'1', b':', 0x80], &corrupt_or_bad);
    check("NUL bytes", &[0u8; 64], &corrupt_or_bad);
    check("trailing newline", format!("{good}\n").as_bytes(), &corrupt_or_bad);
    check("leading space", format!(" {good}").as_bytes(), &corrupt_or_bad);
    check("two sessions in one file", format!("{good}{good}").as_bytes(), &corrupt_or_bad);
    check("colons only", b"::", &corrupt_or_bad);
    check("binary junk", &(0..=255u8).cycle().take(4096).collect::<Vec<u8>>(), &corrupt_or_bad);

    // Tampered: exactly a bad signature.
    let bad_sig = |l: &Loaded| *l == Loaded::BadSignature;
    let (payload, rest) = good.split_once(':').unwrap();
    let mut flipped = payload.as_bytes().to_vec();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    check("payload byte changed", format!("{}:{rest}", String::from_utf8(flipped).unwrap()).as_bytes(), &bad_sig);
    let mut sig_flipped = good.clone().into_bytes();
    let last = sig_flipped.len() - 1;
    sig_flipped[last] = if sig_flipped[last] == b'A' { b'B' } else { b'A' };
    check("signature byte changed", &sig_flipped, &bad_sig);
    let other_secret = Codec::new("some-other-secret", &[], sessionbox::DEFAULT_KEY_SALT).encode(r#"{"user":"1"}"#, 1_700_000_000);
    check("signed with another secret", other_secret.as_bytes(), &bad_sig);
    let other_salt = Codec::new(SECRET, &[], "django.contrib.sessions.Other").encode(r#"{"user":"1"}"#, 1_700_000_000);
    check("signed with another salt", other_salt.as_bytes(), &bad_sig);
    check("timestamp changed", good.replacen(":1r31eq:", ":1r31er:", 1).as_bytes(), &bad_sig);
    check("signature removed", format!("{payload}:1r31eq:").as_bytes(), &bad_sig);

    // Correctly signed but not a session object.
    for (what, json) in [("a list", "[1,2]"), ("a string", r#""s""#), ("a number", "7"), ("broken JSON", r#"{"a":"#)] {
        check(&format!("signed {what}"), codec().encode(json, 1_700_000_000).as_bytes(), &|l| *l == Loaded::Corrupt);
    }

    // A tampered session is not overwritten: the next save gets a fresh key.
    let k = key(9999);
    std::fs::write(f.path(&k), &sig_flipped).unwrap();
    let mut s = f.store.session(Some(&k));
    s.insert("fresh", true).unwrap();
    s.save(false).unwrap();
    let new = s.key().unwrap().to_owned();
    assert_ne!(new, k, "a tampered session kept its key");
    assert_eq!(std::fs::read(f.path(&k)).unwrap(), sig_flipped, "the tampered file was overwritten");
    assert_eq!(f.store.load(&new).map(Loaded::into_data), Ok(Some(data(json!({"fresh": true})))));

    // The sweep copes with all of it.
    let report = f.store.clear_expired().expect("clear_expired over broken files");
    assert!(report.scanned > 0);
    f.assert_outside_untouched("broken files");
}

#[test]
fn a_directory_where_a_session_file_should_be() {
    let f = fixture();
    let k = key(1);
    let as_dir = f.path(&k);
    std::fs::create_dir(&as_dir).unwrap();
    std::fs::write(as_dir.join("inner"), b"inner file").unwrap();
    let payload = data(json!({"x": 1}));

    let loaded = f.store.load(&k);
    assert!(matches!(&loaded, Ok(l) if is_no_session(l)) || matches!(loaded, Err(Error::Io(_))), "load: {loaded:?}");
    let saved = f.store.save(&k, &payload, false);
    assert!(matches!(saved, Err(Error::Io(_))), "save over a directory: {saved:?}");
    assert_eq!(f.store.save(&k, &payload, true), Err(Error::AlreadyExists), "save(must_create) over a directory");
    let deleted = f.store.delete(&k);
    assert!(matches!(deleted, Ok(_) | Err(Error::Io(_))), "delete of a directory: {deleted:?}");
    let cycled = f.store.cycle_key(&k, &payload);
    assert!(cycled.is_err() || cycled.as_ref().is_ok_and(|new| *new != k), "cycle_key: {cycled:?}");
    if let Ok(new) = cycled {
        f.store.delete(&new).unwrap();
    }
    assert!(as_dir.is_dir(), "the directory was removed or replaced");
    assert_eq!(std::fs::read(as_dir.join("inner")).unwrap(), b"inner file", "the directory's content changed");
    let mut s = f.store.session(Some(&k));
    assert_eq!(s.load(), Ok(Data::new()));
    f.store.clear_expired().expect("the sweep skips a directory");
    assert!(as_dir.join("inner").exists());
    f.assert_outside_untouched("directory as session");
}

#[test]
fn symlinks_out_of_the_directory_are_not_followed() {
    let f = fixture();
    let outside = f.root.join("outside_session");
    let not_yet = f.root.join("created_by_attacker");
    // The outside file holds a valid session: following the link would load it.
    let stolen = sessionbox::parse_data(OUTSIDE_DATA).unwrap();
    let payload = data(json!({"written": "through a symlink"}));
    let links: Vec<(&str, PathBuf)> = vec![
        ("relative link to an outside session", PathBuf::from("../outside_session")),
        ("absolute link to an outside session", outside.clone()),
        ("link to the canary", f.root.join("canary.txt")),
        ("link to the parent directory", PathBuf::from("..")),
        ("dangling link outside", not_yet.clone()),
    ];
    for (i, (what, target)) in links.into_iter().enumerate() {
        let k = key(100 + i as u32);
        let link = f.path(&k);
        symlink(&target, &link).unwrap();
        let fresh = || std::fs::symlink_metadata(&link).map(|m| m.file_type().is_symlink()).unwrap_or(false);

        let loaded = f.store.load(&k);
        assert!(!matches!(&loaded, Ok(Loaded::Found { data: d, .. }) if *d == stolen), "{what}: loaded the outside session");
        assert!(matches!(&loaded, Ok(l) if is_no_session(l)) || matches!(loaded, Err(Error::Io(_))), "{what}: load gave {loaded:?}");
        let mut s = f.store.session(Some(&k));
        assert!(!s.load().is_ok_and(|d| d == stolen), "{what}: Session loaded the outside session");
        f.assert_outside_untouched(&format!("{what}: after load"));

        let r = f.store.save(&k, &payload, false);
        assert!(r.is_err() || !fresh(), "{what}: save reported success yet the link is still there");
        f.assert_outside_untouched(&format!("{what}: after save"));
        assert!(!not_yet.exists(), "{what}: save created a file outside");

        if fresh() {
            assert_eq!(f.store.save(&k, &payload, true), Err(Error::AlreadyExists), "{what}: save(must_create)");
            f.assert_outside_untouched(&format!("{what}: after save(must_create)"));
            assert!(!not_yet.exists(), "{what}: save(must_create) created a file outside");
        }

        let cycled = f.store.cycle_key(&k, &payload);
        if let Ok(new) = &cycled {
            f.store.delete(new).unwrap();
        }
        f.assert_outside_untouched(&format!("{what}: after cycle_key"));

        let _ = f.store.exists(&k);
        let deleted = f.store.delete(&k);
        assert!(matches!(deleted, Ok(_) | Err(Error::Io(_))), "{what}: delete gave {deleted:?}");
        f.assert_outside_untouched(&format!("{what}: after delete"));
        assert!(!not_yet.exists());
        let _ = std::fs::remove_file(&link);
    }

    // A link to a session *inside* the directory is still only a link: the
    // store works on the name it was given and never through the link.
    let real = f.store.create(&data(json!({"real": 1}))).unwrap();
    let k = key(200);
    symlink(format!("sessionid{real}"), f.path(&k)).unwrap();
    let loaded = f.store.load(&k);
    assert!(matches!(&loaded, Ok(l) if is_no_session(l)) || matches!(loaded, Err(Error::Io(_))), "inner link: {loaded:?}");
    let _ = f.store.save(&k, &payload, false);
    assert_eq!(f.store.load(&real).map(Loaded::into_data), Ok(Some(data(json!({"real": 1})))), "a save through a link changed its target");

    f.store.clear_expired().expect("the sweep copes with symlinks");
    f.assert_outside_untouched("symlinks: after sweep");
}

#[test]
fn the_store_still_works_after_all_of_it() {
    // One store, every kind of bad call in a row, then normal use: no call
    // may poison the instance pool.
    let f = fixture();
    for (_, key) in invalid_keys() {
        let _ = f.store.load(&key);
        let _ = f.store.save(&key, &Data::new(), true);
    }
    let _ = sessionbox::parse_data(&"[".repeat(50_000));
    let k = key(7);
    std::fs::write(f.path(&k), [0xffu8; 100]).unwrap();
    let _ = f.store.load(&k);
    let good = data(json!({"still": "working", "n": 1.5}));
    let new = f.store.create(&good).unwrap();
    assert_eq!(f.store.load(&new).map(Loaded::into_data), Ok(Some(good)));
    f.assert_outside_untouched("after everything");
}

/// I/O errors say what failed on which file in plain words (they used to
/// end in WASI's "…, similar to `EISDIR` in POSIX"), naming the file by
/// its key's first four characters only: the key is the user's credential.
#[test]
fn io_errors_name_the_operation_and_the_file() {
    let f = fixture();
    let key = "adirectory000000000000000000000a";
    std::fs::create_dir(f.path(key)).unwrap();
    let err = f.store.delete(key).unwrap_err();
    assert_eq!(err.to_string(), "I/O error: delete sessionidadir…: is a directory");
    let err = f.store.save(key, &data(json!({"a": 1})), false).unwrap_err();
    assert_eq!(err.to_string(), "I/O error: sessionidadir… is not a regular file");
}
