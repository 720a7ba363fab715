//! Builds the guest component (`sessionbox-guest` for `wasm32-wasip2`) with a
//! nested cargo in its own target directory, so the host can embed it with
//! `include_bytes!`. Installs the rustup target when it is missing.

use sha2::{Digest, Sha256};
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("host/ sits in the workspace root");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for watched in ["guest/src", "guest/Cargo.toml", "wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    ensure_target_installed();

    // Step 1: build the component in release, in a target dir of its own so
    // it never waits on (or invalidates) the outer build.
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = out_dir.join("guest-target");
    let status = Command::new(cargo)
        .args(["build", "--release", "--target", TARGET, "-p", "sessionbox-guest", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir)
        // Flags meant for the host build must not leak into the wasm build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status()
        .expect("could not run cargo to build the guest component");
    if !status.success() {
        panic!("building the guest component (sessionbox-guest for {TARGET}) failed; see the errors above");
    }

    // Step 2: hand the host the component and its hash (the compile cache key).
    let wasm = target_dir.join(TARGET).join("release").join("sessionbox_guest.wasm");
    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| panic!("reading {}: {e}", wasm.display()));
    let embedded = out_dir.join("sessionbox_guest.wasm");
    std::fs::write(&embedded, &bytes).unwrap_or_else(|e| panic!("writing {}: {e}", embedded.display()));
    let hash: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    println!("cargo:rustc-env=SESSIONBOX_GUEST_WASM={}", embedded.display());
    println!("cargo:rustc-env=SESSIONBOX_GUEST_SHA256={hash}");
}

/// Adds the rustup target when its standard library is missing, or stops
/// with the exact command to run.
fn ensure_target_installed() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if libdir.as_deref().is_some_and(Path::exists) {
        return;
    }
    eprintln!("sessionbox: the {TARGET} target is missing; running `rustup target add {TARGET}`");
    let added = Command::new("rustup").args(["target", "add", TARGET]).status().is_ok_and(|s| s.success());
    if !added {
        panic!("the Rust target {TARGET} is not installed and could not be added; run: rustup target add {TARGET}");
    }
}
