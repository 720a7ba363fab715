//! What the fuzzer feeds inputs to. Each target checks a property beyond
//! "does not panic" where one is cheap to state.

use super::MemDir;
use crate::codec::Codec;
use crate::time::Time;
use crate::{iso8601, json_parse, json_python, json_scan, key, SessionStore, Settings};

/// A named fuzz target.
pub struct Target {
    /// Shown in findings.
    pub name: &'static str,
    /// Runs one input; panics on a violated property.
    pub run: fn(&[u8]),
}

/// All targets, fed in turn.
pub const TARGETS: [Target; 6] = [
    Target { name: "decode", run: decode },
    Target { name: "signed-payload", run: signed_payload },
    Target { name: "json", run: json },
    Target { name: "key", run: key_validator },
    Target { name: "iso8601", run: iso },
    Target { name: "load", run: load },
];

const LIMIT: usize = 4096;

fn codec() -> Codec {
    Codec::new("test-secret", &["old-secret".to_owned()], crate::DEFAULT_KEY_SALT)
}

/// Stored bytes straight into the decoder; what decodes must re-encode to
/// the same data.
fn decode(input: &[u8]) {
    if let Ok((_, data)) = codec().decode(input, LIMIT) {
        let again = json_python::to_string(&serde_json::Value::Object(data.clone()));
        let (_, back) = codec().decode(codec().encode(&again, 0).as_bytes(), LIMIT).expect("a re-encoded session decodes");
        assert_eq!(back, data);
    }
}

/// The input as a payload signed with the right secret, so mutations get
/// past the signature into base64, zlib and JSON.
fn signed_payload(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let _ = codec().decode(codec().encode(&text, 1_700_000_000).as_bytes(), LIMIT);
}

/// The JSON reader and the Python-style writer: writing is idempotent, and
/// the one-pass fast paths agree with the tree.
fn json(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else { return };
    let tree = json_parse::parse_object(text);
    let fast = json_scan::canonical_object(text);
    assert_eq!(fast.is_ok(), tree.is_ok(), "fast and tree paths disagree on {text:?}");
    if let (Ok(map), Ok(fast)) = (&tree, &fast) {
        assert_eq!(&json_python::to_string(&serde_json::Value::Object(map.clone())), fast);
        assert_eq!(json_scan::object_field(text, "_session_expiry").expect("valid"), map.get("_session_expiry").cloned());
    }
    if let Ok(value) = json_parse::parse(text) {
        let written = json_python::to_string(&value);
        assert!(written.is_ascii(), "ensure_ascii output must be ASCII");
        let reread = json_parse::parse(&written).expect("our own output parses");
        assert_eq!(json_python::to_string(&reread), written);
    }
}

fn key_validator(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    if key::is_valid(&text) {
        assert!(text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) && text.len() >= 8);
    }
}

/// Times that parse format back to themselves.
fn iso(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    if let Some(t) = iso8601::parse(&text) {
        let micros = Time::new(t.secs, t.nanos / 1000 * 1000);
        if (-62_135_596_800..253_402_300_800).contains(&t.secs) {
            assert_eq!(iso8601::parse(&iso8601::format(micros)), Some(micros));
        }
    }
}

/// Arbitrary file content under a session name, then `load` and a sweep.
fn load(input: &[u8]) {
    let dir = MemDir::new(Time::new(1_700_000_000, 0));
    let mut settings = Settings::new("test-secret");
    settings.max_session_size = LIMIT as u32;
    let key = "abcdefgh12345678";
    dir.insert(&format!("sessionid{key}"), input);
    let store = SessionStore::new(dir.clone(), dir.clone(), settings).expect("settings are valid");
    let _ = store.load(key);
    let _ = store.clear_expired();
}
