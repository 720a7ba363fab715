//! Shared set-up for the interop tests: where outside tools are cached, and
//! how they are installed once per machine.
//!
//! Tools live in `$SESSIONBOX_TOOLS_DIR`, else `~/.cache/sessionbox-tools`:
//! outside the clone, so CI runs on the same machine reuse them, and a fresh
//! machine installs them on the first run.



pub mod django;
pub mod logs;
pub mod plugins;
pub mod redis;
pub mod runtimes;
pub mod storm;
pub mod web;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cache directory for outside tools.
pub fn tools_dir() -> PathBuf {
    let dir = match std::env::var_os("SESSIONBOX_TOOLS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => dirs_home().join(".cache").join("sessionbox-tools"),
    };
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

fn dirs_home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).expect("HOME is set")
}

/// The guest component exactly as the build produced it (the file the host
/// embeds), not a special test build.
pub fn guest_wasm() -> PathBuf {
    PathBuf::from(env!("SESSIONBOX_GUEST_WASM"))
}

/// An exclusive lock on `<tools>/<name>.lock`, held until dropped: one
/// installer at a time across parallel tests and processes.
pub fn lock(name: &str) -> File {
    let lock_path = tools_dir().join(format!("{name}.lock"));
    let lock = File::create(&lock_path).unwrap_or_else(|e| panic!("creating {}: {e}", lock_path.display()));
    lock.lock().unwrap_or_else(|e| panic!("locking {}: {e}", lock_path.display()));
    lock
}

/// Runs `install` unless `done` already exists, holding an exclusive lock on
/// `<tools>/<name>.lock` so parallel tests and processes install only once.
/// `install` must create `done` last, only when everything it needs is in
/// place.
pub fn install_once(name: &str, done: &Path, install: impl FnOnce()) {
    if done.exists() {
        return;
    }
    let _lock = lock(name);
    if !done.exists() {
        eprintln!("sessionbox tests: installing {name} into {} (once per machine)", tools_dir().display());
        install();
        assert!(done.exists(), "installing {name} did not produce {}", done.display());
    }
}

/// A JSON object literal (`json!({...})`) as session data; panics on any
/// other value.
pub fn data(v: serde_json::Value) -> sessionbox::Data {
    v.as_object().cloned().expect("session data is a JSON object")
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    let host = Path::new(env!("CARGO_MANIFEST_DIR"));
    host.parent().expect("host/ sits in the workspace root").canonicalize().expect("the workspace root exists")
}

/// The wasm target the guest and the example plugins build for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// The wasm target, added through rustup when missing (as on a fresh
/// machine): the component test and the plugin tests build for it. Fails
/// (never skips) when it cannot be had.
pub fn require_wasm_target() {
    let installed = || {
        let out = Command::new("rustc")
            .args(["--print", "target-libdir", "--target", WASM_TARGET])
            .output()
            .unwrap_or_else(|e| panic!("running rustc: {e}"));
        out.status.success() && PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).is_dir()
    };
    if installed() {
        return;
    }
    let _lock = lock("rustup-target");
    if !installed() {
        eprintln!("sessionbox tests: adding the {WASM_TARGET} target (rustup target add {WASM_TARGET})");
        let status = Command::new("rustup").args(["target", "add", WASM_TARGET]).status();
        assert!(
            status.is_ok_and(|s| s.success()) && installed(),
            "the {WASM_TARGET} target is missing and `rustup target add {WASM_TARGET}` did not add it"
        );
    }
}

/// The names of the entries in `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

/// Runs `cmd`, panicking with its output when it fails.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `len` pseudo-random letters from `seed`: text zlib cannot shrink much, so
/// a session holding it makes a file about as large as its JSON.
pub fn letters(len: usize, seed: u32) -> String {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (b'a' + (x >> 16) as u8 % 26) as char
        })
        .collect()
}
