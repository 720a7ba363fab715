//! The costs no amount of guest tuning removes, measured so the report can
//! show how close each ratio target can get on this machine:
//!
//! - **the wasm boundary**: every load makes five host calls (stat, open,
//!   read, close, and the wall clock) that each cross from the component to
//!   the host and back. `exists` on a session file makes one (a stat), so
//!   it shows what one crossing costs; loading an *empty* session file (a
//!   create placeholder) needs all five but no decoding, so component minus
//!   native there is what the crossings alone cost a load;
//! - **SHA-256 without the CPU's SHA instructions**: natively, sha2 uses
//!   them; wasm has no such instructions. Loading a session signed with
//!   another secret does everything a load does up to and including the
//!   HMAC check, then stops, so component minus native there is the boundary
//!   plus hashing in software (and the few string checks before it);
//! - **the format**: verifying Django's signature, inflating and checking
//!   the JSON, and building the caller's map, which the syscall floor skips.
//!   Timed natively on the stored bytes, with no filesystem call at all,
//!   once whole and once stopping at the checked JSON text, so the map's
//!   share shows; and the component's own load stopping there too
//!   (`Store::load_json`), so what the component costs and what building
//!   the caller's map in the host costs stand apart;
//! - **the lazy `Session`**: a `Session` load that reads one key (what a
//!   request usually does) keeps the JSON text and parses only that key's
//!   value, so it should cost little more than `Store::load_json` on the
//!   same files, timed in the same rounds.

use crate::variants::{settings, Component, Native, Payload, Variant};
use crate::workloads::{median, settle};
use sessionbox::Durability;
use sessionbox_guest::codec::Codec;
use std::path::Path;
use std::time::Instant;

/// What one run measured, in µs per call.
#[derive(Default)]
pub struct Bounds {
    /// One component call that makes no filesystem call (an invalid key).
    pub bare_call: f64,
    /// `exists` on a session file natively: one stat.
    pub native_exists: f64,
    /// `exists` on a session file through the component: the call plus one
    /// `stat-at` crossing to the host.
    pub component_exists: f64,
    /// Loading an empty session file natively.
    pub native_empty_load: f64,
    /// Loading an empty session file through the component.
    pub component_empty_load: f64,
    /// Decoding a stored session and building its map natively, by session
    /// size label.
    pub decode: Vec<(String, f64)>,
    /// Decoding a stored session natively up to its checked JSON text (the
    /// signature, base64, inflating, the JSON's syntax and expiry), no map.
    pub decode_text: Vec<(String, f64)>,
    /// Loading a session through the component as JSON text
    /// (`Store::load_json`): everything `Store::load` does but the map.
    pub component_load_json: Vec<(String, f64)>,
    /// Loading a session through the component as a [`sessionbox::Session`]
    /// and reading one key (`store.session(key).get(..)`), by size label.
    pub session_load_get: Vec<(String, f64)>,
    /// That over `Store::load_json` on the same files: the median of the
    /// rounds' own ratios, by size label.
    pub session_load_get_over_load_json: Vec<(String, f64)>,
    /// Loading a session of each size whose signature does not verify:
    /// (size label, native µs, component µs).
    pub bad_signature_load: Vec<(String, f64, f64)>,
}

impl Bounds {
    /// What crossing the wasm boundary adds to every load.
    pub fn crossings(&self) -> f64 {
        self.component_empty_load - self.native_empty_load
    }

    /// The best component/native a load of a `size` session at `native` µs
    /// could show: the component adds what it adds to a load that stops
    /// after the signature check, and its guest code costs nothing more than
    /// native code after that.
    pub fn best_component_over_native(&self, size: &str, native: f64) -> Option<f64> {
        let (_, n, c) = self.bad_signature_load.iter().find(|(s, _, _)| s == size)?;
        Some((native + c - n) / native)
    }

    /// The best native/floor a load of a `size` session could show over a
    /// floor at `floor` µs: nothing but the floor and the decoding.
    pub fn best_native_over_floor(&self, size: &str, floor: f64) -> Option<f64> {
        self.decode.iter().find(|(s, _)| s == size).map(|(_, decode)| (floor + decode) / floor)
    }
}

/// Measures the bounds over `n` calls per round, variants interleaved.
pub fn measure(n: usize, rounds: usize, payloads: &[(&str, Payload)]) -> Bounds {
    let (mut bare, mut native, mut component) = (Vec::new(), Vec::new(), Vec::new());
    let (mut native_exists, mut component_exists) = (Vec::new(), Vec::new());
    let mut decode = vec![Vec::new(); payloads.len()];
    let mut decode_text = vec![Vec::new(); payloads.len()];
    let mut load_json = vec![Vec::new(); payloads.len()];
    let mut session_get = vec![Vec::new(); payloads.len()];
    let mut session_get_ratio = vec![Vec::new(); payloads.len()];
    let signed_here: Vec<String> = payloads.iter().map(|(_, p)| signed_with(&settings(Durability::None).secret_key, p)).collect();
    let mut bad_signature = vec![(Vec::new(), Vec::new()); payloads.len()];
    let signed_elsewhere: Vec<String> = payloads.iter().map(|(_, p)| signed_with_another_secret(p)).collect();
    for _ in 0..rounds {
        native.push(loads_of(n, b"", |dir| Native::open(dir, Durability::None), |v, key| v.load(key)));
        component.push(loads_of(n, b"", |dir| Component::open(dir, Durability::None), |v, key| v.load(key)));
        bare.push(bare_calls(n));
        native_exists.push(loads_of(n, b"", |dir| Native::open(dir, Durability::None), |v, key| assert!(v.0.exists(key).expect("exists"))));
        component_exists.push(loads_of(n, b"", |dir| Component::open(dir, Durability::None), |v, key| assert!(v.0.exists(key).expect("exists"))));
        for (times, (_, payload)) in decode.iter_mut().zip(payloads) {
            times.push(decode_only(n, payload, true));
        }
        for (times, (_, payload)) in decode_text.iter_mut().zip(payloads) {
            times.push(decode_only(n, payload, false));
        }
        for (i, stored) in signed_here.iter().enumerate() {
            // Alternating which goes first, so neither always runs on the
            // warmer cache.
            let json = || loads_of(n, stored.as_bytes(), |dir| Component::open(dir, Durability::None), |v, key| {
                assert!(matches!(v.0.load_json(key), Ok(sessionbox::Loaded::Found { .. })));
            });
            let get = || loads_of(n, stored.as_bytes(), |dir| Component::open(dir, Durability::None), |v, key| {
                assert!(matches!(v.0.session(Some(key)).get("_auth_user_id"), Ok(Some(_))));
            });
            let (json, get) = if load_json[i].len() % 2 == 0 { let j = json(); (j, get()) } else { let g = get(); (json(), g) };
            load_json[i].push(json);
            session_get[i].push(get);
            session_get_ratio[i].push(get / json);
        }
        for ((native, component), stored) in bad_signature.iter_mut().zip(&signed_elsewhere) {
            native.push(loads_of(n, stored.as_bytes(), |dir| Native::open(dir, Durability::None), |v, key| {
                assert_eq!(v.0.load(key).expect("load"), sessionbox_guest::Loaded::BadSignature);
            }));
            component.push(loads_of(n, stored.as_bytes(), |dir| Component::open(dir, Durability::None), |v, key| {
                assert!(matches!(v.0.load(key), Ok(sessionbox::Loaded::BadSignature)));
            }));
        }
    }
    let sizes = payloads.iter().map(|(size, _)| size.to_string());
    Bounds {
        bare_call: median(bare),
        native_exists: median(native_exists),
        component_exists: median(component_exists),
        native_empty_load: median(native),
        component_empty_load: median(component),
        decode: sizes.clone().zip(decode).map(|(size, times)| (size, median(times))).collect(),
        decode_text: sizes.clone().zip(decode_text).map(|(size, times)| (size, median(times))).collect(),
        component_load_json: sizes.clone().zip(load_json).map(|(size, times)| (size, median(times))).collect(),
        session_load_get: sizes.clone().zip(session_get).map(|(size, times)| (size, median(times))).collect(),
        session_load_get_over_load_json: sizes.clone().zip(session_get_ratio).map(|(size, ratios)| (size, median(ratios))).collect(),
        bad_signature_load: sizes.zip(bad_signature).map(|(size, (n, c))| (size, median(n), median(c))).collect(),
    }
}

/// `payload` as stored by a store with a different secret: well-formed, the
/// same size, and its signature fails only after the HMAC is computed.
fn signed_with_another_secret(payload: &Payload) -> String {
    signed_with("another-secret-key-another-secret-key-012345", payload)
}

/// `payload` as a store with `secret` (and the benchmark's salt) stores it.
fn signed_with(secret: &str, payload: &Payload) -> String {
    Codec::new(secret, &[], &settings(Durability::None).key_salt).encode(&payload.json, 1_700_000_000)
}

/// µs per load of `n` distinct session files all holding `content`, on a
/// fresh directory.
fn loads_of<V>(n: usize, content: &[u8], open: impl Fn(&Path) -> V, mut load: impl FnMut(&mut V, &str)) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys: Vec<String> = (0..n).map(|i| format!("bounds{i:026}")).collect();
    for key in &keys {
        std::fs::write(dir.path().join(format!("sessionid{key}")), content).expect("session file");
    }
    let mut v = open(dir.path());
    settle();
    let start = Instant::now();
    keys.iter().for_each(|k| load(&mut v, k));
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// µs per component call that returns at once (the key is invalid).
fn bare_calls(n: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Component::open(dir.path(), Durability::None).0;
    let start = Instant::now();
    for _ in 0..n {
        assert!(store.exists("not a key").is_err());
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// µs to decode `payload` as stored and, with `map`, build its map,
/// natively, with the stored bytes already in memory.
fn decode_only(n: usize, payload: &Payload, map: bool) -> f64 {
    let s = settings(Durability::None);
    let codec = Codec::new(&s.secret_key, &[], &s.key_salt);
    let stored = codec.encode(&payload.json, 1_700_000_000);
    let start = Instant::now();
    for _ in 0..n {
        let decoded = codec.decode_session(stored.as_bytes(), s.max_session_size as usize).expect("decodes");
        if map {
            drop(std::hint::black_box(sessionbox::parse_data(&decoded.json).expect("an object")));
        } else {
            drop(std::hint::black_box(decoded));
        }
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}
