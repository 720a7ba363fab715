//! Golden vectors produced by real Django (`tests/data/django-codec.json`, a copy of `shared/vectors/django-codec.json`),
//! checked through the public host API (`Store::load` over session files
//! written into a temporary directory) and through the guest codec.
//!
//! For every case: the stored string loads as exactly `data_json` (same data,
//! same key order, and the same Python-style JSON text); uncompressed cases
//! re-encode to the exact bytes at the vector's timestamp; compressed cases
//! round-trip through our own encoder. Every `must_decode_to_empty` string
//! loads as no session. Fallback-signed cases verify only when the fallback
//! secret is configured, and a re-save signs with the current secret.

use serde_json::Value;
use sessionbox::{Data, Loaded, Settings, Store};
use sessionbox_guest::codec::{Codec, DecodeError};
use sessionbox_guest::json as json_python;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// A copy of `shared/vectors/django-codec.json`, kept in the repository so a
/// fresh clone tests on its own.
const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/django-codec.json");

/// The vectors file, parsed.
struct Vectors {
    secret_key: String,
    fallback_keys: Vec<String>,
    key_salt: String,
    timestamp: i64,
    cases: Vec<Case>,
    must_decode_to_empty: Vec<String>,
}

#[derive(Debug)]
struct Case {
    name: String,
    data_json: String,
    encoded: String,
    signed_with: String,
    compressed: bool,
    exact_bytes_required: bool,
}

fn str_field(v: &Value, field: &str) -> String {
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("vectors file: field {field:?} missing or not a string in {v}"))
        .to_owned()
}

fn bool_field(v: &Value, field: &str) -> bool {
    v.get(field).and_then(Value::as_bool).unwrap_or_else(|| panic!("vectors file: field {field:?} missing or not a bool in {v}"))
}

fn vectors() -> Vectors {
    let text = std::fs::read_to_string(VECTORS).unwrap_or_else(|e| panic!("reading {VECTORS}: {e}"));
    let root: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {VECTORS}: {e}"));
    let strings = |field: &str| -> Vec<String> {
        root.get(field)
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("vectors file: {field:?} missing or not a list"))
            .iter()
            .map(|s| s.as_str().unwrap_or_else(|| panic!("vectors file: {field:?} holds a non-string {s}")).to_owned())
            .collect()
    };
    let cases = root
        .get("cases")
        .and_then(Value::as_array)
        .expect("vectors file: \"cases\" missing")
        .iter()
        .map(|c| Case {
            name: str_field(c, "name"),
            data_json: str_field(c, "data_json"),
            encoded: str_field(c, "encoded"),
            signed_with: str_field(c, "signed_with"),
            compressed: bool_field(c, "compressed"),
            exact_bytes_required: bool_field(c, "exact_bytes_required"),
        })
        .collect::<Vec<_>>();
    let v = Vectors {
        secret_key: str_field(&root, "secret_key"),
        fallback_keys: strings("fallback_keys"),
        key_salt: str_field(&root, "key_salt"),
        timestamp: root.get("timestamp").and_then(Value::as_i64).expect("vectors file: \"timestamp\" missing"),
        cases,
        must_decode_to_empty: strings("must_decode_to_empty"),
    };
    // Guard against a silently shrunken file making every loop vacuous.
    assert!(v.cases.len() >= 10, "expected the full set of golden cases, found {}", v.cases.len());
    assert!(v.must_decode_to_empty.len() >= 5, "expected the must-decode-to-empty list, found {}", v.must_decode_to_empty.len());
    assert!(v.cases.iter().any(|c| c.compressed) && v.cases.iter().any(|c| c.exact_bytes_required));
    assert!(
        v.cases.iter().any(|c| c.signed_with != v.secret_key && v.fallback_keys.contains(&c.signed_with)),
        "expected at least one case signed with a fallback key"
    );
    v
}

fn settings(v: &Vectors, with_fallbacks: bool) -> Settings {
    let mut s = Settings::new(v.secret_key.clone());
    if with_fallbacks {
        s.fallback_keys = v.fallback_keys.clone();
    }
    s.key_salt = v.key_salt.clone();
    s
}

/// A valid 32-character key, distinct per index.
fn key_for(i: usize) -> String {
    let k = format!("vector{i:026}");
    assert_eq!(k.len(), 32);
    k
}

fn write_session(dir: &Path, key: &str, content: &[u8]) {
    std::fs::write(dir.join(format!("sessionid{key}")), content).expect("writing a session file");
}

fn session_path(store: &Store, key: &str) -> std::path::PathBuf {
    store.dir().unwrap().join(format!("sessionid{key}"))
}

/// Parses `data_json` independently of the library (serde_json with
/// `preserve_order` and `arbitrary_precision`, so number text is kept).
fn expected_data(case: &Case) -> Data {
    serde_json::from_str(&case.data_json).unwrap_or_else(|e| panic!("case {}: data_json does not parse: {e}", case.name))
}

/// Equality of `serde_json::Map` ignores order; this checks the key order at
/// every level as well.
fn assert_same_order(got: &Value, want: &Value, path: &str, case: &str) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            let gk: Vec<&String> = g.keys().collect();
            let wk: Vec<&String> = w.keys().collect();
            assert_eq!(gk, wk, "case {case}: key order differs at {path}");
            for (k, wv) in w {
                assert_same_order(&g[k], wv, &format!("{path}.{k}"), case);
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "case {case}: array length differs at {path}");
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                assert_same_order(gv, wv, &format!("{path}[{i}]"), case);
            }
        }
        _ => assert_eq!(got, want, "case {case}: value differs at {path}"),
    }
}

fn assert_data_matches(got: &Data, case: &Case) {
    let want = expected_data(case);
    assert_eq!(got, &want, "case {}: decoded data differs", case.name);
    assert_same_order(&Value::Object(got.clone()), &Value::Object(want), "$", &case.name);
    // The strongest check: written back in Python's form it is the very text
    // Django signed.
    assert_eq!(
        json_python::to_string(&Value::Object(got.clone())),
        case.data_json,
        "case {}: decoded data does not re-serialise to Django's JSON text",
        case.name
    );
}

fn base62_decode(s: &str) -> i64 {
    const ALPHABET: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    s.chars().fold(0i64, |n, c| n * 62 + ALPHABET.find(c).unwrap_or_else(|| panic!("bad base62 digit {c:?} in {s:?}")) as i64)
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn vector_settings_match_the_spec_worked_example() {
    let v = vectors();
    assert_eq!(v.key_salt, sessionbox::DEFAULT_KEY_SALT);
    assert_eq!(sessionbox_guest::base62::encode(v.timestamp), "1r31eq");
    let codec = Codec::new(&v.secret_key, &[], &v.key_salt);
    assert_eq!(codec.encode(r#"{"a":1}"#, v.timestamp), "eyJhIjoxfQ:1r31eq:VDoz3q_CPuIfX082QS3lXvNvB9Hqf_apspxKtUHkO_o");
}

#[test]
fn every_case_loads_through_the_store_as_its_data() {
    let v = vectors();
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), settings(&v, true)).expect("opening the store");
    for (i, case) in v.cases.iter().enumerate() {
        let key = key_for(i);
        write_session(store.dir().unwrap(), &key, case.encoded.as_bytes());
        match store.load(&key) {
            Ok(Loaded::Found { data, .. }) => assert_data_matches(&data, case),
            other => panic!("case {}: expected Found, got {other:?}", case.name),
        }
        // Loading neither deletes nor rewrites a live session.
        let after = std::fs::read(session_path(&store, &key)).unwrap();
        assert_eq!(after, case.encoded.as_bytes(), "case {}: load changed the file", case.name);
        // The Django-style Session sees the same data and keeps the key.
        let mut session = store.session(Some(&key));
        assert_data_matches(&session.load().unwrap(), case);
        assert_eq!(session.key(), Some(key.as_str()), "case {}: Session dropped the key of a valid session", case.name);
    }
}

#[test]
fn every_case_decodes_with_the_codec() {
    let v = vectors();
    let codec = Codec::new(&v.secret_key, &v.fallback_keys, &v.key_salt);
    for case in &v.cases {
        assert_eq!(case.encoded.starts_with('.'), case.compressed, "case {}: the vector's compressed flag", case.name);
        let (json, data) = codec
            .decode(case.encoded.as_bytes(), sessionbox::DEFAULT_MAX_SESSION_SIZE as usize)
            .unwrap_or_else(|e| panic!("case {}: codec refused it: {e:?}", case.name));
        assert_eq!(json, case.data_json, "case {}: decoded JSON text", case.name);
        assert_data_matches(&data, case);
    }
}

#[test]
fn uncompressed_cases_reencode_to_the_exact_bytes() {
    let v = vectors();
    let mut checked = 0;
    for case in v.cases.iter().filter(|c| c.exact_bytes_required) {
        assert!(!case.compressed, "case {}: exact bytes are only promised for uncompressed payloads", case.name);
        // Re-encode what was *decoded* (via the store's parser and the Python
        // writer), signed with the secret the vector was signed with.
        let data = sessionbox::parse_data(&case.data_json).unwrap();
        let json = json_python::to_string(&Value::Object(data));
        assert_eq!(json, case.data_json, "case {}: Python JSON text", case.name);
        let codec = Codec::new(&case.signed_with, &[], &v.key_salt);
        assert_eq!(codec.encode(&json, v.timestamp), case.encoded, "case {}: re-encoded bytes differ from Django's", case.name);
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} exact-bytes cases were checked");
}

#[test]
fn compressed_cases_round_trip_through_our_encoder() {
    let v = vectors();
    let codec = Codec::new(&v.secret_key, &[], &v.key_salt);
    let mut checked = 0;
    for case in v.cases.iter().filter(|c| c.compressed) {
        let data = sessionbox::parse_data(&case.data_json).unwrap();
        let json = json_python::to_string(&Value::Object(data));
        assert_eq!(json, case.data_json, "case {}: Python JSON text", case.name);
        let ours = codec.encode(&json, v.timestamp);
        // Deflate output may differ from zlib's, so compare decoded data; the
        // frame (":1r31eq:" + 43-char signature) must still be Django's.
        let (payload, rest) = ours.split_once(':').unwrap();
        let (ts, sig) = rest.split_once(':').unwrap();
        assert_eq!(ts, "1r31eq", "case {}", case.name);
        assert_eq!(sig.len(), 43, "case {}: signature length", case.name);
        if payload.starts_with('.') {
            checked += 1;
        }
        let (back, data) = codec.decode(ours.as_bytes(), 1 << 20).unwrap_or_else(|e| panic!("case {}: {e:?}", case.name));
        assert_eq!(back, case.data_json, "case {}", case.name);
        assert_data_matches(&data, case);
    }
    // The clearly compressible cases must be compressed by us too.
    assert!(checked >= 3, "our encoder compressed only {checked} of the compressed vectors");
}

#[test]
fn must_decode_to_empty_strings_give_no_session() {
    let v = vectors();
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), settings(&v, true)).unwrap();
    for (i, bad) in v.must_decode_to_empty.iter().enumerate() {
        let key = key_for(1000 + i);
        write_session(store.dir().unwrap(), &key, bad.as_bytes());
        let loaded = store.load(&key);
        if bad.is_empty() {
            // An empty file is the placeholder of a create in progress.
            assert_eq!(loaded.map(Loaded::into_data), Ok(Some(Data::new())), "empty file");
        } else {
            assert!(matches!(loaded, Ok(Loaded::BadSignature | Loaded::Corrupt)), "{bad:?} must decode to no session, got {loaded:?}");
        }
        // Through the Session API it is an empty session, never an error.
        let mut session = store.session(Some(&key));
        assert_eq!(session.load(), Ok(Data::new()), "{bad:?} through Session");
        if !bad.is_empty() {
            assert_eq!(session.key(), None, "{bad:?}: a tampered/corrupt session must lose its key");
        }
        // And the codec agrees.
        let codec = Codec::new(&v.secret_key, &v.fallback_keys, &v.key_salt);
        assert!(codec.decode(bad.as_bytes(), 1 << 20).is_err(), "{bad:?}: the codec accepted it");
    }
}

#[test]
fn fallback_signed_cases_need_the_fallback_secret() {
    let v = vectors();
    let fallback_cases: Vec<&Case> = v.cases.iter().filter(|c| c.signed_with != v.secret_key).collect();
    assert!(!fallback_cases.is_empty());

    let with = tempfile::tempdir().unwrap();
    let without = tempfile::tempdir().unwrap();
    let store_with = Store::open(with.path(), settings(&v, true)).unwrap();
    let store_without = Store::open(without.path(), settings(&v, false)).unwrap();
    for (i, case) in fallback_cases.iter().enumerate() {
        assert!(v.fallback_keys.contains(&case.signed_with), "case {}: signed with an unknown secret", case.name);
        let key = key_for(2000 + i);
        write_session(store_with.dir().unwrap(), &key, case.encoded.as_bytes());
        write_session(store_without.dir().unwrap(), &key, case.encoded.as_bytes());

        match store_with.load(&key) {
            Ok(Loaded::Found { data, .. }) => assert_data_matches(&data, case),
            other => panic!("case {}: with the fallback configured expected Found, got {other:?}", case.name),
        }
        assert_eq!(store_without.load(&key), Ok(Loaded::BadSignature), "case {}: without the fallback", case.name);

        // Re-saving signs with the current secret only, never the fallback.
        let data = expected_data(case);
        store_with.save(&key, &data, false).expect("re-saving a fallback-signed session");
        let stored = std::fs::read(session_path(&store_with, &key)).unwrap();
        let current_only = Codec::new(&v.secret_key, &[], &v.key_salt);
        let fallback_only = Codec::new(&case.signed_with, &[], &v.key_salt);
        let (json, _) = current_only.decode(&stored, 1 << 20).expect("re-saved file must verify with the current secret");
        assert_eq!(json, case.data_json, "case {}", case.name);
        assert_eq!(fallback_only.decode(&stored, 1 << 20).map(|_| ()), Err(DecodeError::BadSignature), "case {}", case.name);
    }

    // A case signed with the current secret does not verify under another salt.
    let mut salted = settings(&v, true);
    salted.key_salt = "django.contrib.sessions.MyStore".into();
    let other = tempfile::tempdir().unwrap();
    let store_salted = Store::open(other.path(), salted).unwrap();
    let case = v.cases.iter().find(|c| c.signed_with == v.secret_key).unwrap();
    write_session(store_salted.dir().unwrap(), &key_for(3000), case.encoded.as_bytes());
    assert_eq!(store_salted.load(&key_for(3000)), Ok(Loaded::BadSignature), "a different key_salt must not verify");
}

#[test]
fn store_writes_django_format_for_every_case() {
    let v = vectors();
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), settings(&v, true)).unwrap();
    let current_only = Codec::new(&v.secret_key, &[], &v.key_salt);
    for case in &v.cases {
        let data = expected_data(case);
        let before = now_secs();
        let key = store.create(&data).unwrap_or_else(|e| panic!("case {}: create failed: {e}", case.name));
        let after = now_secs();
        assert!(key.len() == 32 && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "bad new key {key:?}");
        let stored = std::fs::read(session_path(&store, &key)).unwrap();
        let text = String::from_utf8(stored.clone()).expect("session file must be ASCII");
        assert!(text.is_ascii() && !text.contains('\n') && !text.contains('\r'), "case {}: not one ASCII line: {text:?}", case.name);

        // <payload>:<timestamp>:<signature>, timestamp = now in base62.
        let parts: Vec<&str> = text.split(':').collect();
        assert_eq!(parts.len(), 3, "case {}: {text:?}", case.name);
        let ts = base62_decode(parts[1]);
        assert!((before..=after).contains(&ts), "case {}: timestamp {ts} not within [{before}, {after}]", case.name);
        assert_eq!(parts[2].len(), 43, "case {}: signature length", case.name);

        let (json, decoded) = current_only.decode(&stored, 1 << 20).unwrap_or_else(|e| panic!("case {}: {e:?}", case.name));
        assert_eq!(json, case.data_json, "case {}: stored JSON text is not Django's", case.name);
        assert_data_matches(&decoded, case);
        if case.exact_bytes_required {
            // Same JSON and timestamp as Django would use: the same bytes.
            assert_eq!(text, current_only.encode(&case.data_json, ts), "case {}: stored bytes", case.name);
        }
        // And it loads back.
        match store.load(&key) {
            Ok(Loaded::Found { data: back, .. }) => assert_data_matches(&back, case),
            other => panic!("case {}: reloading gave {other:?}", case.name),
        }
    }
}
