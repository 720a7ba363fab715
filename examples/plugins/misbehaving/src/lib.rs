//! A plugin that misbehaves on request, for the isolation tests: the host,
//! its session stores and every other plugin must keep working whatever it
//! does.
//!
//! - `trap`: hits `unreachable`.
//! - `loop`: never returns.
//! - `oom`: allocates until the host refuses memory.
//! - `guess`: tries keys it was never given (a brute force of the key space,
//!   and keys of other plugins passed as further arguments); prints every
//!   key it found a session under, space-separated (nothing expected).
//! - `create`: creates an empty session; prints its key.
//! - `cycle KEY`: moves an empty session to a new key from KEY, which need
//!   not name a session (a way to make sessions past a create quota).
//! - `fill SIZE`: creates sessions of SIZE pseudo-random letters each
//!   (text compression cannot shrink much) until the store refuses one;
//!   fails with that error and how many it created (a way to fill the disk
//!   past a session quota).
//! - `env`: prints the environment it can read, `NAME=value` per line (in
//!   a composition with `no-environment` plugged in: nothing, though the
//!   runtime gave the composition the store's secret).

wit_bindgen::generate!({ path: "../wit", world: "example:plugin/session-plugin", generate_all });

use sessionbox::store::bound_sessions::{self as sessions, Loaded};

struct Misbehaving;
export!(Misbehaving);

impl Guest for Misbehaving {
    fn run(args: Vec<String>) -> Result<String, String> {
        match args.first().map(String::as_str) {
            Some("trap") => core::arch::wasm32::unreachable(),
            Some("loop") => {
                let mut n = 0u64;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            Some("oom") => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            Some("guess") => {
                let mut found = Vec::new();
                let guesses = (0..1000).map(|i| format!("{i:032}")).chain(args[1..].iter().cloned());
                for key in guesses {
                    if matches!(sessions::load(&key), Ok(Loaded::Found(_))) || matches!(sessions::exists(&key), Ok(true)) {
                        found.push(key);
                    }
                }
                Ok(found.join(" "))
            }
            Some("env") => Ok(std::env::vars().map(|(k, v)| format!("{k}={v}\n")).collect()),
            Some("cycle") => sessions::cycle_key(args.get(1).map_or("", String::as_str), "{}").map_err(|e| format!("{e:?}")),
            Some("fill") => {
                let size: usize = args.get(1).and_then(|s| s.parse().ok()).ok_or("fill needs a size")?;
                let mut x = 0x2545_F491u32;
                let mut n = 0u64;
                loop {
                    let junk: String = (0..size)
                        .map(|_| {
                            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                            (b'a' + (x >> 16) as u8 % 26) as char
                        })
                        .collect();
                    if let Err(e) = sessions::create(&serde_json::json!({ "junk": junk }).to_string()) {
                        return Err(format!("{e:?} after {n} sessions"));
                    }
                    n += 1;
                }
            }
            Some("create") => sessions::create("{}").map_err(|e| format!("{e:?}")),
            other => Err(format!("unknown command: {other:?}")),
        }
    }
}
