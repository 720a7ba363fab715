//! The committed guest components (`host/component/sessionbox_guest.wasm`
//! and its key-value flavour `sessionbox_guest_kv.wasm`, which the host
//! embeds) are exactly what the guest sources build: the test rebuilds them
//! with `scripts/build-component`, the same script and flags a developer
//! uses to refresh them, and compares the bytes.

use std::path::Path;
use std::process::Command;

use crate::support::{require_wasm_target, workspace_root};

/// What a developer runs after changing the guest, the WIT or Cargo.lock.
const REFRESH: &str = "scripts/build-component && git add host/component/";

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap_or_else(|e| panic!("running sha256sum: {e}"));
    assert!(out.status.success(), "sha256sum {} failed", path.display());
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_owned()
}

#[test]
fn committed_component_is_what_the_sources_build() {
    require_wasm_target();
    let root = workspace_root();
    let committed = root.join("host/component/sessionbox_guest.wasm");

    // The rebuild goes next to the script's own build (target/component), so
    // a second run is incremental.
    let rebuilt = root.join("target/component/check/sessionbox_guest.wasm");
    let _ = std::fs::remove_file(&rebuilt);
    let _ = std::fs::remove_file(rebuilt.with_file_name("sessionbox_guest_kv.wasm"));
    let started = std::time::Instant::now();
    let out = Command::new("bash")
        .arg(root.join("scripts/build-component"))
        .arg(&rebuilt)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("running scripts/build-component: {e}"));
    assert!(
        out.status.success(),
        "scripts/build-component failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("component: rebuilt the guest in {:.1?}", started.elapsed());

    for (committed, rebuilt) in [
        (committed.clone(), rebuilt.clone()),
        (root.join("host/component/sessionbox_guest_kv.wasm"), root.join("target/component/check/sessionbox_guest_kv.wasm")),
    ] {
        let committed_bytes = std::fs::read(&committed).unwrap_or_else(|e| panic!("reading {}: {e}", committed.display()));
        let rebuilt_bytes = std::fs::read(&rebuilt).unwrap_or_else(|e| panic!("reading {}: {e}", rebuilt.display()));
        assert!(
            committed_bytes == rebuilt_bytes,
            "{} is not what the guest sources build \
             (committed: {} bytes, sha256 {}; rebuilt: {} bytes, sha256 {}). \
             Refresh it from the workspace root with:\n    {REFRESH}",
            committed.display(),
            committed_bytes.len(),
            sha256_hex(&committed),
            rebuilt_bytes.len(),
            sha256_hex(&rebuilt),
        );
    }
}

/// What the host runs is the committed components, byte for byte: the
/// `component` check above then covers what users run.
#[test]
fn the_host_embeds_the_committed_components() {
    let root = workspace_root();
    for (file, embedded) in [
        ("host/component/sessionbox_guest.wasm", sessionbox::guest_component()),
        ("host/component/sessionbox_guest_kv.wasm", sessionbox::guest_kv_component()),
    ] {
        let path = root.join(file);
        assert_eq!(sha256_hex(&path), crate::support::sha256_hex(embedded), "the host embeds another file than {file}");
    }
}
