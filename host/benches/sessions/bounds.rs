//! The two costs no amount of guest tuning removes, measured so the report
//! can show how close each ratio target can get on this machine:
//!
//! - **the wasm boundary**: every load makes four filesystem calls (stat,
//!   open, read, close) that each cross from the component to the host and
//!   back. Loading an *empty* session file (a create placeholder) needs all
//!   four but no decoding, so component minus native there is what the
//!   crossings alone cost a load;
//! - **the format**: verifying Django's signature, inflating and checking
//!   the JSON, and building the caller's map, which the syscall floor skips.
//!   Timed natively on the stored bytes, with no filesystem call at all.

use crate::variants::{settings, Component, Native, Payload, Variant};
use crate::workloads::median;
use sessionbox::Durability;
use sessionbox_guest::codec::Codec;
use std::time::Instant;

/// What one run measured, in µs per call.
#[derive(Default)]
pub struct Bounds {
    /// One component call that makes no filesystem call (an invalid key).
    pub bare_call: f64,
    /// Loading an empty session file natively.
    pub native_empty_load: f64,
    /// Loading an empty session file through the component.
    pub component_empty_load: f64,
    /// Decoding a stored session and building its map natively, by session
    /// size label.
    pub decode: Vec<(String, f64)>,
}

impl Bounds {
    /// What crossing the wasm boundary adds to every load.
    pub fn crossings(&self) -> f64 {
        self.component_empty_load - self.native_empty_load
    }

    /// The best component/native a load at `native` µs could show: the
    /// component's guest code costing nothing more than native code.
    pub fn best_component_over_native(&self, native: f64) -> f64 {
        (native + self.crossings()) / native
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
    let mut decode = vec![Vec::new(); payloads.len()];
    for _ in 0..rounds {
        native.push(empty_loads(n, |dir| Box::new(Native::open(dir, Durability::None))));
        component.push(empty_loads(n, |dir| Box::new(Component::open(dir, Durability::None))));
        bare.push(bare_calls(n));
        for (times, (_, payload)) in decode.iter_mut().zip(payloads) {
            times.push(decode_only(n, payload));
        }
    }
    Bounds {
        bare_call: median(bare),
        native_empty_load: median(native),
        component_empty_load: median(component),
        decode: payloads.iter().zip(decode).map(|((size, _), times)| (size.to_string(), median(times))).collect(),
    }
}

/// µs per load of `n` distinct empty session files, on a fresh directory.
fn empty_loads(n: usize, open: impl Fn(&std::path::Path) -> Box<dyn Variant>) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys: Vec<String> = (0..n).map(|i| format!("empty{i:027}")).collect();
    for key in &keys {
        std::fs::write(dir.path().join(format!("sessionid{key}")), b"").expect("placeholder");
    }
    let mut v = open(dir.path());
    let start = Instant::now();
    keys.iter().for_each(|k| v.load(k));
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

/// µs to decode `payload` as stored and build its map, natively, with the
/// stored bytes already in memory.
fn decode_only(n: usize, payload: &Payload) -> f64 {
    let s = settings(Durability::None);
    let codec = Codec::new(&s.secret_key, &[], &s.key_salt);
    let stored = codec.encode(&payload.json, 1_700_000_000);
    let start = Instant::now();
    for _ in 0..n {
        let decoded = codec.decode_session(stored.as_bytes(), s.max_session_size as usize).expect("decodes");
        drop(std::hint::black_box(sessionbox::parse_data(&decoded.json).expect("an object")));
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}
