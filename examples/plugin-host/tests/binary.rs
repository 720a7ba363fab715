//! The example host's command line, as docs/plugins.md shows it, running the
//! example counter plugin (built here from `examples/plugins`, as the
//! docs/plugins.md builds it, into the workspace's `target/plugins`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The counter plugin, built for wasm32-wasip2 (CI adds the target; so do
/// the workspace's other tests).
fn counter_wasm() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = root.join("target/plugins");
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--locked", "--release", "--target", "wasm32-wasip2", "-p", "counter", "--manifest-path"])
        .arg(root.join("examples/plugins/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("running cargo");
    assert!(out.status.success(), "building the counter plugin failed (is the wasm32-wasip2 target installed?):\n{}", String::from_utf8_lossy(&out.stderr));
    target.join("wasm32-wasip2/release/counter.wasm")
}

#[test]
fn the_example_host_binary_runs_a_plugin() {
    let tmp = tempfile::tempdir().unwrap();
    let counter = counter_wasm();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sessionbox-plugin-host"))
            .arg("--sessions")
            .arg(tmp.path().join("sessions"))
            .arg(&counter)
            .args(args)
            .env("SESSIONBOX_SECRET_KEY", "example-secret")
            .env("SESSIONBOX_CACHE_DIR", tmp.path().join("cache"))
            .output()
            .unwrap()
    };
    let first = run(&["visit"]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let out = String::from_utf8(first.stdout).unwrap();
    let key = out.split_whitespace().next().unwrap();
    let second = run(&["visit", key]);
    assert_eq!(String::from_utf8(second.stdout).unwrap(), format!("{key} 2\n"));
    let unknown = run(&["dance"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(String::from_utf8(unknown.stderr).unwrap(), "sessionbox-plugin-host: unknown command: dance\n");
    let usage = Command::new(env!("CARGO_BIN_EXE_sessionbox-plugin-host")).output().unwrap();
    assert_eq!(usage.status.code(), Some(1));
    assert!(String::from_utf8(usage.stderr).unwrap().contains("usage: "));
}
