//! What the fuzzer feeds inputs to. Each target checks a property beyond
//! "does not panic" where one is cheap to state.

use super::{MemDir, MemKv, MemValue};
use crate::codec::Codec;
use crate::time::Time;
use crate::{iso8601, json, pickle, Format, Kv, SessionStore, Settings, DJANGO_CACHE_KEY_PREFIX};

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
    Target { name: "json", run: json_rw },
    Target { name: "iso8601", run: iso },
    Target { name: "load", run: load },
    Target { name: "pickle", run: pickle_rw },
];

const LIMIT: usize = 4096;

fn codec() -> Codec {
    Codec::new("test-secret", &["old-secret".to_owned()], crate::DEFAULT_KEY_SALT)
}

/// Stored bytes straight into the decoder; what decodes must re-encode to
/// the same data.
fn decode(input: &[u8]) {
    if let Ok((_, data)) = codec().decode(input, LIMIT) {
        let again = json::to_string(&serde_json::Value::Object(data.clone()));
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
/// the canonical rewrite agrees with the tree (where the tree can hold the
/// data: it turns lone surrogates into U+FFFD, the rewrite keeps them).
fn json_rw(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else { return };
    let tree = json::parse_object(text);
    let canonical = json::canonical_object(text);
    assert_eq!(canonical.is_ok(), tree.is_ok(), "rewrite and tree disagree on {text:?}");
    if let (Ok(map), Ok(canonical)) = (&tree, &canonical) {
        assert_eq!(json::canonical_object(canonical).as_ref(), Ok(canonical), "the rewrite is idempotent");
        let from_tree = json::to_string(&serde_json::Value::Object(map.clone()));
        if !has_lone_surrogate(canonical) {
            assert_eq!(&from_tree, canonical);
        }
        let field = json::object_field(text, "_session_expiry").expect("valid");
        let shallow = map.get("_session_expiry").map(|v| match v {
            serde_json::Value::Array(_) => serde_json::Value::Array(Vec::new()),
            serde_json::Value::Object(_) => serde_json::Value::Object(serde_json::Map::new()),
            scalar => scalar.clone(),
        });
        assert_eq!(field, shallow);
    }
    if let Ok(value) = json::parse(text) {
        let written = json::to_string(&value);
        assert!(written.is_ascii(), "ensure_ascii output must be ASCII");
        let reread = json::parse(&written).expect("our own output parses");
        assert_eq!(json::to_string(&reread), written);
    }
}

/// Whether canonical JSON text holds a `\uXXXX` escape of a surrogate that
/// is not part of a pair.
fn has_lone_surrogate(canonical: &str) -> bool {
    let b = canonical.as_bytes();
    let unit = |i: usize| b.get(i..i + 6).filter(|u| u.starts_with(b"\\u")).and_then(|u| u32::from_str_radix(std::str::from_utf8(&u[2..]).ok()?, 16).ok());
    let mut i = 0;
    while i < b.len() {
        match unit(i) {
            Some(0xd800..=0xdbff) if matches!(unit(i + 6), Some(0xdc00..=0xdfff)) => i += 12,
            Some(0xd800..=0xdfff) => return true,
            Some(_) => i += 6,
            None if b[i] == b'\\' => i += 2,
            None => i += 1,
        }
    }
    false
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

/// Arbitrary content under a session name, then `load` (and for the
/// directory a sweep): as a file, and as a key-value entry in both formats.
fn load(input: &[u8]) {
    let dir = MemDir::new(Time::new(1_700_000_000, 0));
    let mut settings = Settings::new("test-secret");
    settings.max_session_size = LIMIT as u32;
    let key = "abcdefgh12345678";
    dir.insert(&format!("sessionid{key}"), input);
    let store = SessionStore::new(dir.clone(), dir.clone(), settings.clone()).expect("settings are valid");
    let _ = store.load(key);
    let _ = store.clear_expired();
    for (format, name) in [(Format::Signed, "sessionid"), (Format::DjangoPickle, DJANGO_CACHE_KEY_PREFIX)] {
        let kv = MemKv::default();
        kv.insert(&format!("{name}{key}"), MemValue::Plain(input.to_vec(), Some(60_000)));
        let store = SessionStore::with_storage(Kv::new(kv, format), dir.clone(), settings.clone()).expect("settings are valid");
        let _ = store.load(key);
    }
}

/// Arbitrary bytes as a pickled session (Django's cache backend): what
/// reads is canonical JSON, and writing it back reads the same.
fn pickle_rw(input: &[u8]) {
    if let Ok(text) = pickle::to_json_object(input, LIMIT) {
        assert_eq!(json::canonical_object(&text).as_ref(), Ok(&text), "a pickle read as non-canonical JSON");
        let again = pickle::from_json_object(&text).expect("our own JSON pickles");
        assert_eq!(pickle::to_json_object(&again, LIMIT).as_ref(), Ok(&text), "a pickle round trip changed the data");
    }
}
