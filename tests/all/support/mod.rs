//! Shared set-up for the interop tests: where outside tools are cached, and
//! how they are installed once per machine.
//!
//! Tools live in `$SESSIONBOX_TOOLS_DIR`, else `~/.cache/sessionbox-tools`:
//! outside the clone, so CI runs on the same machine reuse them, and a fresh
//! machine installs them on the first run.



pub mod django;
pub mod logs;
pub mod plugins;
pub mod postgres;
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

/// The guest component exactly as the build produced it (the committed file
/// the host embeds, `component::the_host_embeds_the_committed_components`),
/// not a special test build.
pub fn guest_wasm() -> PathBuf {
    workspace_root().join("host/component/sessionbox_guest.wasm")
}

/// The SHA-256 (hex) of the component the host embeds.
pub fn guest_sha256() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| sha256_hex(sessionbox::guest_component()))
}

/// SHA-256 of `bytes`, in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The `sessionbox` command line, built from host/src/main.rs in this
/// package (as `sessionbox-cli`) and linked under its real name, so what it
/// prints about itself (clap's usage line takes argv[0]) is what a user sees.
pub fn sessionbox_cli() -> &'static Path {
    static CLI: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CLI.get_or_init(|| {
        let built = Path::new(env!("CARGO_BIN_EXE_sessionbox-cli"));
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let cli = dir.join("sessionbox");
        let _ = std::fs::remove_file(&cli);
        if std::fs::hard_link(built, &cli).is_err() {
            std::fs::copy(built, &cli).unwrap_or_else(|e| panic!("copying {} to {}: {e}", built.display(), cli.display()));
        }
        cli
    })
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

/// The `sessionbox` command line with `secret` as `SESSIONBOX_SECRET_KEY`
/// and no other `SESSIONBOX_*` setting inherited from the test's
/// environment. Every test that runs the CLI starts from this one.
pub fn sessionbox(secret: &str) -> Command {
    let mut cmd = Command::new(sessionbox_cli());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SESSIONBOX_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("SESSIONBOX_SECRET_KEY", secret);
    cmd
}

/// [`sessionbox`] on the session directory `dir` (`--dir DIR`, then the
/// caller's arguments).
pub fn sessionbox_on(dir: &Path, secret: &str) -> Command {
    let mut cmd = sessionbox(secret);
    cmd.arg("--dir").arg(dir);
    cmd
}

/// A JSON object literal (`json!({...})`) as session data; panics on any
/// other value.
pub fn data(v: serde_json::Value) -> sessionbox::Data {
    v.as_object().cloned().expect("session data is a JSON object")
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests.parent().expect("tests/ sits in the workspace root").canonicalize().expect("the workspace root exists")
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
