//! Embeds the committed guest components: `component/sessionbox_guest.wasm`
//! (over a directory) and `component/sessionbox_guest_kv.wasm` (over the
//! host's key-value import).
//!
//! The component is built ahead of time (`scripts/build-component`, checked
//! byte for byte by the `component` test) and shipped in the package, so
//! building this crate needs neither the wasm32-wasip2 target nor rustup nor
//! a nested cargo: a dependent project builds it like any other crate.

use sha2::{Digest, Sha256};
use std::env;
use std::path::PathBuf;

/// A component's preamble: `\0asm`, then version 0x0d and layer 1 (a core
/// module has version 1, layer 0).
const COMPONENT_PREAMBLE: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    embed("sessionbox_guest.wasm", "SESSIONBOX_GUEST");
    embed("sessionbox_guest_kv.wasm", "SESSIONBOX_GUEST_KV");
}

/// Checks `component/<file>` and passes its path and SHA-256 to the crate as
/// `<var>_WASM` and `<var>_SHA256`.
fn embed(file: &str, var: &str) {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let wasm = manifest_dir.join("component").join(file);
    println!("cargo:rerun-if-changed={}", wasm.display());

    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| {
        panic!("reading the guest component {}: {e}; rebuild it with scripts/build-component", wasm.display())
    });
    // A checkout without the binary (a Git LFS pointer, a text-mode
    // conversion) would otherwise fail later, at the first Store::open.
    if !bytes.starts_with(&COMPONENT_PREAMBLE) {
        panic!("{} is not a WebAssembly component; rebuild it with scripts/build-component", wasm.display());
    }

    // The host embeds the file in place (include_bytes! needs an absolute
    // path); its hash keys the compiled-component cache.
    let hash: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    println!("cargo:rustc-env={var}_WASM={}", wasm.display());
    println!("cargo:rustc-env={var}_SHA256={hash}");
}
