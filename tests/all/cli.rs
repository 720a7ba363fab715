//! The `sessionbox` binary, run as a user would: JSON on stdout, one-line
//! errors on stderr, the documented exit codes.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SECRET: &str = "cli-test-secret";

/// A scratch directory with a session directory and a private config home.
struct Sandbox {
    root: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox { root: tempfile::tempdir().unwrap() }
    }

    fn sessions(&self) -> PathBuf {
        self.root.path().join("sessions")
    }

    /// The binary with `--dir` set and no secret from the environment.
    fn bare(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessionbox"));
        cmd.arg("--dir").arg(self.sessions()).args(args);
        cmd.env_remove("SESSIONBOX_SECRET_KEY").env("XDG_CONFIG_HOME", self.root.path().join("config"));
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.bare(args).env("SESSIONBOX_SECRET_KEY", SECRET).output().unwrap()
    }

    /// Runs a command that must succeed and returns its JSON output.
    fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn file_of(&self, key: &str) -> PathBuf {
        self.sessions().join(format!("sessionid{key}"))
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Decodes a session file with Django's algorithm (tests/django_decode.py).
fn django_decode(secret: &str, file: &Path) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/django_decode.py");
    let out = Command::new("python3").arg(script).arg(secret).arg(file).output().expect("python3 runs");
    assert!(out.status.success(), "django_decode failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn full_lifecycle_with_exit_codes() {
    let sb = Sandbox::new();
    let key = sb.ok(&["create", r#"{"user":"42","cart":[1,2]}"#])["key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 32);
    assert_eq!(sb.ok(&["get", &key]), json!({"user": "42", "cart": [1, 2]}));
    assert_eq!(sb.ok(&["set", &key, r#"{"cart":[],"theme":"dark"}"#]), json!({"user": "42", "cart": [], "theme": "dark"}));
    assert_eq!(sb.ok(&["exists", &key]), json!({"key": key, "exists": true}));

    let cycled = sb.ok(&["cycle-key", &key]);
    let new_key = cycled["key"].as_str().unwrap().to_owned();
    assert_eq!(cycled["old_key"], json!(key));
    assert_ne!(new_key, key);
    assert_eq!(sb.ok(&["get", &new_key]), json!({"user": "42", "cart": [], "theme": "dark"}));

    let gone = sb.run(&["get", &key]);
    assert_eq!(code(&gone), 3, "{}", stderr(&gone));
    assert!(gone.stdout.is_empty());
    assert_eq!(stderr(&gone).lines().count(), 1);
    assert_eq!(code(&sb.run(&["exists", &key])), 3);
    assert_eq!(code(&sb.run(&["set", &key, "{}"])), 3);

    assert_eq!(sb.ok(&["delete", &new_key]), json!({"key": new_key, "deleted": true}));
    assert_eq!(sb.ok(&["delete", &new_key]), json!({"key": new_key, "deleted": false}));
    assert_eq!(sb.ok(&["list"]), json!([]));
}

#[test]
fn files_written_by_the_cli_decode_with_djangos_algorithm() {
    let sb = Sandbox::new();
    let small = json!({"_auth_user_id": "42", "é": "ü\u{7f}😀", "f": 1.5, "big": 1e16, "n": null});
    let key = sb.ok(&["create", &small.to_string()])["key"].as_str().unwrap().to_owned();
    assert_eq!(django_decode(SECRET, &sb.file_of(&key)), small);

    // Large enough to be compressed (the payload starts with '.').
    let large = json!({"blob": "abc".repeat(500)});
    let key = sb.ok(&["create", &large.to_string()])["key"].as_str().unwrap().to_owned();
    assert!(std::fs::read_to_string(sb.file_of(&key)).unwrap().starts_with('.'));
    assert_eq!(django_decode(SECRET, &sb.file_of(&key)), large);
}

#[test]
fn generated_secret_is_private_persistent_and_announced() {
    let sb = Sandbox::new();
    let first = sb.bare(&["create", r#"{"a":1}"#]).output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stderr(&first).contains("generated a new secret key"), "{}", stderr(&first));
    let path = sb.root.path().join("config/sessionbox/secret-key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(!path.starts_with(sb.sessions()));
    let secret = std::fs::read_to_string(&path).unwrap();
    assert_eq!(secret.len(), 50);

    // The next run reuses it silently, so the session still verifies.
    let key: Value = serde_json::from_slice(&first.stdout).unwrap();
    let key = key["key"].as_str().unwrap();
    let second = sb.bare(&["get", key]).output().unwrap();
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stderr(&second).is_empty(), "{}", stderr(&second));
    assert_eq!(django_decode(&secret, &sb.file_of(key)), json!({"a": 1}));
}

#[test]
fn secret_key_file_and_fallbacks() {
    let sb = Sandbox::new();
    let old = sb.root.path().join("old.key");
    let new = sb.root.path().join("new.key");
    let fallbacks = sb.root.path().join("fallbacks");
    std::fs::write(&old, "old-secret\n").unwrap();
    std::fs::write(&new, "new-secret\n").unwrap();
    std::fs::write(&fallbacks, "old-secret\n").unwrap();
    let old_arg = old.to_str().unwrap();
    let key = sb.ok(&["--secret-key-file", old_arg, "create", r#"{"a":1}"#])["key"].as_str().unwrap().to_owned();

    let new_arg = new.to_str().unwrap();
    let rejected = sb.run(&["--secret-key-file", new_arg, "get", &key]);
    assert_eq!(code(&rejected), 3);
    assert!(stderr(&rejected).contains("bad signature"), "{}", stderr(&rejected));

    let fb_arg = fallbacks.to_str().unwrap();
    let with_fallback = ["--secret-key-file", new_arg, "--fallback-keys-file", fb_arg];
    assert_eq!(sb.ok(&[&with_fallback[..], &["get", &key]].concat()), json!({"a": 1}));
    // A save re-signs with the current secret.
    sb.ok(&[&with_fallback[..], &["set", &key, r#"{"b":2}"#]].concat());
    assert_eq!(django_decode("new-secret", &sb.file_of(&key)), json!({"a": 1, "b": 2}));
}

#[test]
fn clear_expired_list_and_stats() {
    let sb = Sandbox::new();
    let live = sb.ok(&["create", r#"{"_session_expiry":3600}"#])["key"].as_str().unwrap().to_owned();
    sb.ok(&["create", r#"{"_session_expiry":-3600}"#]);
    sb.ok(&["create", r#"{"_session_expiry":"2001-01-01T00:00:00+00:00"}"#]);
    std::fs::write(sb.sessions().join("unrelated.txt"), "keep me").unwrap();
    assert_eq!(sb.ok(&["stats"])["sessions"], json!(3));
    assert_eq!(sb.ok(&["stats"])["other_files"], json!(1));

    assert_eq!(sb.ok(&["clear-expired"]), json!({"scanned": 3, "deleted": 2, "skipped": 0}));
    assert_eq!(sb.ok(&["list"]), json!([live]));
    assert!(sb.sessions().join("unrelated.txt").exists());
}

#[test]
fn data_from_stdin() {
    let sb = Sandbox::new();
    let mut child = sb
        .bare(&["create", "-"])
        .env("SESSIONBOX_SECRET_KEY", SECRET)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(br#"{"from":"stdin"}"#).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let key: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sb.ok(&["get", key["key"].as_str().unwrap()]), json!({"from": "stdin"}));
}

#[test]
fn failures_are_one_line_with_distinct_exit_codes() {
    let sb = Sandbox::new();
    for (args, want) in [
        (vec!["create", "[1,2]"], 1),
        (vec!["create", "{not json"], 1),
        (vec!["get", "../../etc/passwd"], 1),
        (vec!["delete", "UPPERCASE1"], 1),
        (vec!["get", "abcdefgh12345678"], 3),
        (vec!["frobnicate"], 2),
        (vec!["get"], 2),
    ] {
        let out = sb.run(&args);
        assert_eq!(code(&out), want, "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
        if want != 2 {
            assert_eq!(stderr(&out).trim_end().lines().count(), 1, "{args:?}: {}", stderr(&out));
        }
    }
    let missing_parent = sb.root.path().join("no/such/dir");
    let out = Command::new(env!("CARGO_BIN_EXE_sessionbox"))
        .arg("--dir")
        .arg(&missing_parent)
        .arg("list")
        .env("SESSIONBOX_SECRET_KEY", SECRET)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("configuration error"), "{}", stderr(&out));
}
