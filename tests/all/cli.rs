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
        let mut cmd = crate::support::sessionbox_on(&self.sessions(), SECRET);
        cmd.args(args);
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
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/django_decode.py");
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
    let out = crate::support::sessionbox_on(&missing_parent, SECRET).arg("list").output().unwrap();
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("configuration error"), "{}", stderr(&out));
}

/// The command with its standard output replaced by `stdout`.
fn run_with_stdout(sb: &Sandbox, args: &[&str], stdout: std::process::Stdio) -> Output {
    sb.bare(args).env("SESSIONBOX_SECRET_KEY", SECRET).stdout(stdout).stderr(std::process::Stdio::piped()).output().unwrap()
}

fn session_files(sb: &Sandbox) -> usize {
    std::fs::read_dir(sb.sessions()).map(|d| d.count()).unwrap_or(0)
}

/// `create >&-`: the key could never be printed, so nothing is created (it
/// used to create the session, print into nothing and exit 0).
#[test]
fn a_closed_stdout_refuses_before_doing_anything() {
    use std::os::unix::process::CommandExt;
    let sb = Sandbox::new();
    let mut cmd = sb.bare(&["create", r#"{"a":1}"#]);
    cmd.env("SESSIONBOX_SECRET_KEY", SECRET);
    // SAFETY: close(2) is async-signal-safe; only fd 1 of the child is closed.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(1);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("standard output is closed") && stderr(&out).contains("nothing was done"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1);
    assert_eq!(session_files(&sb), 0, "a session was created though its key could not be printed");
}

/// `create > /dev/full`: the session exists, and the one-line error names
/// it (it used to panic) by its key's first four characters, as every error
/// does (the key is a credential, and stderr ends up in logs): enough to
/// find it with `list`.
#[test]
fn a_full_stdout_is_an_error_that_names_the_created_key() {
    let sb = Sandbox::new();
    let full = std::fs::File::options().write(true).open("/dev/full").unwrap();
    let out = run_with_stdout(&sb, &["create", r#"{"a":1}"#], full.into());
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stderr(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(!text.contains("panicked") && text.contains("No space left on device"), "{text}");
    let shown = text.split_whitespace().find_map(|w| w.strip_suffix('…')).expect("the key is named");
    assert_eq!(shown.len(), 4, "{text}");
    assert!(text.contains(&format!("session {shown}… was created")), "{text}");
    let listed = sb.ok(&["list"]);
    let keys: Vec<&str> = listed.as_array().unwrap().iter().filter_map(|k| k.as_str()).filter(|k| k.starts_with(shown)).collect();
    let [key] = keys[..] else { panic!("one session starts with {shown}: {listed}") };
    assert_eq!(sb.ok(&["get", key]), json!({"a": 1}));
}

/// `list | head -c 10`: a reader that goes away is an error exit with one
/// line (it used to panic in println!).
#[test]
fn a_closed_pipe_is_an_error_not_a_panic() {
    let sb = Sandbox::new();
    let store = sessionbox::Store::open(sb.sessions(), sessionbox::Settings::new(SECRET)).unwrap();
    // More than a pipe buffer of keys, so the write must meet the closed end.
    for _ in 0..3000 {
        store.create_json("{}").unwrap();
    }
    let mut child = sb
        .bare(&["list"])
        .env("SESSIONBOX_SECRET_KEY", SECRET)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("Broken pipe") && !stderr(&out).contains("panicked"), "{}", stderr(&out));
}

/// `create -` reads at most 4 × --max-session-size from stdin: endless
/// input is refused with a clear error (it used to grow to 8 GB).
#[test]
fn endless_stdin_is_refused_at_the_size_limit() {
    let sb = Sandbox::new();
    let mut child = sb
        .bare(&["--max-session-size", "100000", "create", "-"])
        .env("SESSIONBOX_SECRET_KEY", SECRET)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        let zeros = vec![0u8; 1 << 16];
        let mut sent = 0u64;
        // Until the reader stops reading (or 1 GiB, far past the cap).
        while sent < 1 << 30 && stdin.write_all(&zeros).is_ok() {
            sent += zeros.len() as u64;
        }
        sent
    });
    let out = child.wait_with_output().unwrap();
    let sent = feeder.join().unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("over 404096 bytes") && stderr(&out).contains("100000 bytes of JSON"), "{}", stderr(&out));
    assert!(sent < 64 << 20, "it read {sent} bytes");
    assert_eq!(session_files(&sb), 0);
}

#[test]
fn stats_with_a_non_utf8_dir_and_odd_entries() {
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::new();
    let dir = sb.root.path().join(std::ffi::OsStr::from_bytes(b"sessions-\xff"));
    let run = |args: &[&str]| {
        crate::support::sessionbox_on(&dir, SECRET).args(args).output().unwrap()
    };
    let created = run(&["create", "{}"]);
    assert!(created.status.success(), "{}", stderr(&created));
    // A directory and a FIFO named like sessions are not sessions.
    std::fs::create_dir(dir.join("sessionidabcdefgh12345678")).unwrap();
    let fifo = std::ffi::CString::new(dir.join("sessionidfifofifo12345678").as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    // A session file last modified before 1970.
    let key: Value = serde_json::from_slice(&run(&["create", "{}"]).stdout).unwrap();
    let old = std::fs::File::options().write(true).open(dir.join(format!("sessionid{}", key["key"].as_str().unwrap()))).unwrap();
    old.set_modified(std::time::UNIX_EPOCH - std::time::Duration::from_secs(86_400)).unwrap();
    let out = run(&["stats"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((stats["sessions"].as_u64(), stats["other_files"].as_u64()), (Some(2), Some(2)), "{stats}");
    assert_eq!(stats["oldest_mtime"], json!(-86_400), "{stats}");
    assert!(stats["dir"].as_str().unwrap().contains("sessions-"), "{stats}");
}

/// A set but empty or non-UTF-8 secret is a configuration error; it must
/// never quietly sign with the generated key instead.
#[test]
fn an_unusable_secret_in_the_environment_is_an_error() {
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::new();
    for (value, why) in [(std::ffi::OsStr::new(""), "empty"), (std::ffi::OsStr::from_bytes(b"se\xffcret"), "not valid UTF-8")] {
        let out = sb.bare(&["create", "{}"]).env("SESSIONBOX_SECRET_KEY", value).output().unwrap();
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        assert!(stderr(&out).contains(why), "{}", stderr(&out));
        assert!(!sb.root.path().join("config/sessionbox/secret-key").exists(), "a key was generated");
        assert_eq!(session_files(&sb), 0);
    }
}

/// One rule for every key file: a line ends at LF, a CR before it goes,
/// nothing else is trimmed. A secret ending in a space keeps working after
/// it moves from the secret key file to the fallback file.
#[test]
fn key_files_share_one_trimming_rule() {
    let sb = Sandbox::new();
    let write = |name: &str, text: &str| {
        let path = sb.root.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let old = write("old.key", " old secret \r\n");
    let key = sb.ok(&["--secret-key-file", &old, "create", r#"{"a":1}"#])["key"].as_str().unwrap().to_owned();
    assert_eq!(django_decode(" old secret ", &sb.file_of(&key)), json!({"a": 1}));
    let new = write("new.key", "new-secret\n");
    let fallbacks = write("fallbacks", "\nsomething else\r\n old secret \n\n");
    assert_eq!(sb.ok(&["--secret-key-file", &new, "--fallback-keys-file", &fallbacks, "get", &key]), json!({"a": 1}));
    let two = write("two.key", "one\ntwo\n");
    let out = sb.run(&["--secret-key-file", &two, "get", &key]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("holds 2 lines"), "{}", stderr(&out));
}

/// Strict JSON by default: a session holding NaN is an error with a hint,
/// never bare NaN on stdout; `--json python` prints Python's form.
#[test]
fn stdout_is_strict_json_unless_asked_for_python() {
    let sb = Sandbox::new();
    let key = sb.ok(&["create", r#"{"n":NaN,"i":-Infinity,"s":"é"}"#])["key"].as_str().unwrap().to_owned();
    let out = sb.run(&["get", &key]);
    assert_eq!(code(&out), 1);
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("--json python"), "{}", stderr(&out));
    let python = sb.run(&["--json", "python", "get", &key]);
    assert_eq!(String::from_utf8(python.stdout).unwrap(), "{\"n\":NaN,\"i\":-Infinity,\"s\":\"\\u00e9\"}\n");
    // set refuses to save what it could not print.
    let out = sb.run(&["set", &key, r#"{"x":1}"#]);
    assert_eq!(code(&out), 1);
    assert_eq!(sb.run(&["--json", "python", "get", &key]).stdout, b"{\"n\":NaN,\"i\":-Infinity,\"s\":\"\\u00e9\"}\n");
    // Ordinary data: strict parsers read it.
    let plain = sb.ok(&["create", r#"{"big":123456789012345678901234567890,"f":1e100}"#])["key"].as_str().unwrap().to_owned();
    let out = sb.run(&["get", &plain]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "{\"big\":123456789012345678901234567890,\"f\":1e+100}\n");
}

/// Lone surrogates are kept as Python keeps them, on write and on read
/// (they used to become U+FFFD).
#[test]
fn lone_surrogates_round_trip_as_python_keeps_them() {
    let sb = Sandbox::new();
    let key = sb.ok(&["create", r#"{"s":"\ud800 x \udfff","\udbff":1}"#])["key"].as_str().unwrap().to_owned();
    let out = sb.run(&["get", &key]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "{\"s\":\"\\ud800 x \\udfff\",\"\\udbff\":1}\n");
    // Python reads the file as the same lone surrogates.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/django_decode.py");
    let py = Command::new("python3").arg(script).arg(SECRET).arg(sb.file_of(&key)).output().unwrap();
    assert!(py.status.success(), "{}", stderr(&py));
    assert_eq!(String::from_utf8(py.stdout).unwrap().trim_end(), r#"{"s":"\ud800 x \udfff","\udbff":1}"#);
    // set keeps what it does not touch (serde_json cannot read its output).
    assert_eq!(sb.run(&["set", &key, r#"{"t":2}"#]).stdout, b"{\"s\":\"\\ud800 x \\udfff\",\"\\udbff\":1,\"t\":2}\n");
    assert_eq!(sb.run(&["get", &key]).stdout, b"{\"s\":\"\\ud800 x \\udfff\",\"\\udbff\":1,\"t\":2}\n");
}

/// Keys as Django sees them: a short key is a missing session (exit 3) that
/// says why; characters outside [a-z0-9] are an error (exit 1); keys up to
/// the file-name limit work.
#[test]
fn keys_as_django_sees_them() {
    let sb = Sandbox::new();
    for args in [vec!["get", "1"], vec!["exists", "abc"]] {
        let out = sb.run(&args);
        assert_eq!(code(&out), 3, "{args:?}");
        assert!(stderr(&out).contains("at least 8 characters"), "{}", stderr(&out));
    }
    assert_eq!(sb.ok(&["delete", "1"]), json!({"key": "1", "deleted": false}));
    let long = "k".repeat(240);
    let store = sessionbox::Store::open(sb.sessions(), sessionbox::Settings::new(SECRET)).unwrap();
    store.save_json(&long, r#"{"long":true}"#, true).unwrap();
    assert_eq!(sb.ok(&["get", &long]), json!({"long": true}));
    assert_eq!(sb.ok(&["exists", &long]), json!({"key": long, "exists": true}));
    assert_eq!(sb.ok(&["delete", &long]), json!({"key": long, "deleted": true}));
}

/// Too many fallback secrets: one line naming the memory limit.
#[test]
fn the_memory_limit_is_one_line() {
    let sb = Sandbox::new();
    let path = sb.root.path().join("many");
    let lines: Vec<String> = (0..200_000).map(|i| format!("fallback-secret-number-{i:08}")).collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = sb.run(&["--fallback-keys-file", path.to_str().unwrap(), "list"]);
    assert_eq!(code(&out), 1);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("memory limit"), "{}", stderr(&out));
}

/// On a terminal, clear-expired shows its progress on stderr; the result on
/// stdout is the same JSON.
#[test]
fn clear_expired_shows_progress_on_a_terminal() {
    let sb = Sandbox::new();
    sb.ok(&["create", r#"{"_session_expiry":-1}"#]);
    // script(1) gives the command a pseudo-terminal for stdout and stderr.
    let command = format!(
        "SESSIONBOX_SECRET_KEY={SECRET} {} --dir {} clear-expired",
        crate::support::sessionbox_cli().display(),
        sb.sessions().display()
    );
    let out = Command::new("script").args(["-qec", &command, "/dev/null"]).output().expect("script(1) from util-linux");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("swept 1 entries, deleted 1"), "{text}");
    assert!(text.contains(r#"{"scanned":1,"deleted":1,"skipped":0}"#), "{text}");
}

/// Careless key files: a device, a FIFO nobody writes to, a pipe from a
/// command (which must work).
#[test]
fn key_files_that_are_devices_or_idle_fifos_fail_fast() {
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::new();
    let out = sb.run(&["--secret-key-file", "/dev/zero", "list"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("not a regular file or a pipe"), "{}", stderr(&out));
    let fifo = sb.root.path().join("keys.fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let started = std::time::Instant::now();
    let out = sb.run(&["--fallback-keys-file", fifo.to_str().unwrap(), "list"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "an idle FIFO hung the command");
    assert!(out.status.success(), "an empty fallback list is fine: {}", stderr(&out));
    let out = sb.bare(&["--secret-key-file", fifo.to_str().unwrap(), "list"]).output().unwrap();
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("holds no secret"), "{}", stderr(&out));
    // A pipe with a writer, as process substitution gives.
    let script = format!(
        "{} --dir {} --secret-key-file <(printf 'piped secret\\n') create '{{}}'",
        crate::support::sessionbox_cli().display(),
        sb.sessions().display()
    );
    let out = Command::new("bash").args(["-c", &script]).env_remove("SESSIONBOX_SECRET_KEY").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let key: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(django_decode("piped secret", &sb.file_of(key["key"].as_str().unwrap())), json!({}));
}

/// --help and --version print like every command: a full stdout is an error.
#[test]
fn help_to_a_full_stdout_is_an_error() {
    let sb = Sandbox::new();
    for args in [["--help"], ["--version"]] {
        let full = std::fs::File::options().write(true).open("/dev/full").unwrap();
        let out = run_with_stdout(&sb, &args, full.into());
        assert_eq!(code(&out), 1, "{args:?}");
        assert!(stderr(&out).contains("No space left on device"), "{}", stderr(&out));
    }
    assert!(sb.run(&["--help"]).status.success());
}

/// A session file another writer stored with spaces, raw non-ASCII and a
/// repeated key prints in Python's compact form, and `set` merges into it.
#[test]
fn stored_json_in_another_form_prints_as_python_writes_it() {
    let sb = Sandbox::new();
    let store = sessionbox::Store::open(sb.sessions(), sessionbox::Settings::new(SECRET)).unwrap();
    let key = "otherwriter00000000000000000000a";
    // Signed with the right secret, so only the form differs.
    let codec = sessionbox_guest::codec::Codec::new(SECRET, &[], sessionbox::DEFAULT_KEY_SALT);
    std::fs::write(sb.file_of(key), codec.encode(" {\"a\": 1, \"b\":\t[1, 2], \"a\": 3, \"n\": -1e400} ", 1_700_000_000)).unwrap();
    drop(store);
    let out = sb.run(&["--json", "python", "get", key]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "{\"a\":3,\"b\":[1,2],\"n\":-Infinity}\n");
    assert_eq!(code(&sb.run(&["get", key])), 1, "-1e400 is -Infinity, which strict JSON cannot carry");
    let out = sb.run(&["--json", "python", "set", key, r#"{"c":1}"#]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "{\"a\":3,\"b\":[1,2],\"n\":-Infinity,\"c\":1}\n");
}

/// Every output is ASCII: a directory name is escaped as Python escapes it.
#[test]
fn stats_of_a_non_ascii_dir_is_ascii() {
    let sb = Sandbox::new();
    let dir = sb.root.path().join("sessions-café");
    let out = crate::support::sessionbox_on(&dir, SECRET).arg("stats").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_ascii());
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(stats["dir"].as_str().unwrap().ends_with("sessions-café"), "{stats}");
}

/// A key too long for a file name with the prefix says why; so does one a
/// long prefix makes too long.
#[test]
fn too_long_keys_say_why() {
    let sb = Sandbox::new();
    let key = "a".repeat(247);
    let out = sb.run(&["get", &key]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("over 255 bytes"), "{}", stderr(&out));
    let prefix = "p".repeat(200);
    let out = sb.run(&["--prefix", &prefix, "exists", &"a".repeat(60)]);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("over 255 bytes"), "{}", stderr(&out));
}

/// `--deadline` too long to count in epoch ticks is no practical deadline:
/// every command works. 2^62 s used to wrap around to one tick, so a create
/// failed at once with "ran past its deadline"; one past what a `Duration`
/// holds was refused. Not a number of seconds is a clear usage error.
#[test]
fn a_huge_deadline_saturates() {
    let sb = Sandbox::new();
    for deadline in ["4611686018427387904", "1e19", "18446744073709551615", "1e30"] {
        let out = sb.run(&["--deadline", deadline, "create", r#"{"a":1}"#]);
        assert!(out.status.success(), "--deadline {deadline}: {}", stderr(&out));
        let key: Value = serde_json::from_slice(&out.stdout).unwrap();
        let key = key["key"].as_str().unwrap();
        assert_eq!(sb.ok(&["--deadline", deadline, "get", key]), json!({"a": 1}), "--deadline {deadline}");
        assert_eq!(sb.ok(&["--deadline", deadline, "set", key, r#"{"b":2}"#]), json!({"a": 1, "b": 2}));
        assert_eq!(sb.ok(&["--deadline", deadline, "clear-expired"])["scanned"], json!(1));
        assert_eq!(sb.ok(&["--deadline", deadline, "delete", key])["deleted"], json!(true));
    }
    for bad in ["inf", "NaN", "0", "-1"] {
        let out = sb.run(&[&format!("--deadline={bad}"), "list"]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(stderr(&out).contains("--deadline") && stderr(&out).contains("at least 0.001"), "{}", stderr(&out));
    }
}

/// `list` prints exactly the entries `stats` counts as sessions: a
/// directory, a FIFO and symlinks (to a live session file, and dangling)
/// named like sessions are none, and `stats` counts them as other. `list`
/// used to print them as keys.
#[test]
fn list_and_stats_agree_on_what_is_a_session() {
    let sb = Sandbox::new();
    let mut keys: Vec<String> = (0..2).map(|_| sb.ok(&["create", "{}"])["key"].as_str().unwrap().to_owned()).collect();
    keys.sort();
    let dir = sb.sessions();
    std::fs::create_dir(dir.join("sessioniddirdirdir12345678")).unwrap();
    let fifo = std::ffi::CString::new(format!("{}/sessionidfifofifo12345678", dir.display())).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::os::unix::fs::symlink(sb.file_of(&keys[0]), dir.join("sessionidlinklink12345678")).unwrap();
    std::os::unix::fs::symlink("/nonexistent", dir.join("sessioniddangling12345678")).unwrap();

    let listed: Vec<String> = serde_json::from_value(sb.ok(&["list"])).unwrap();
    let stats = sb.ok(&["stats"]);
    assert_eq!(listed, keys, "list printed entries that are no session files");
    assert_eq!(stats["sessions"], json!(listed.len()), "{stats}");
    assert_eq!(stats["other_files"], json!(4), "{stats}");
    // The store agrees: the symlink is no session.
    assert_eq!(code(&sb.run(&["get", "linklink12345678"])), 3);
}

/// Several first runs at once (no secret given, none kept yet) race to keep
/// the generated secret: every run must succeed and all must sign with the
/// one secret that was kept, announced by exactly one of them. They used to
/// fail with "File exists (os error 17)" (3 of 20 trials), and a reader
/// could meet the file before its writer had written it.
#[test]
fn parallel_first_runs_share_one_generated_secret() {
    const TRIALS: usize = 20;
    const PARALLEL: usize = 6;
    let mut failed_trials = Vec::new();
    for trial in 0..TRIALS {
        let sb = Sandbox::new();
        // Prepared first, so each run is at its secret as soon as it starts.
        std::fs::create_dir(sb.sessions()).unwrap();
        let children: Vec<_> = (0..PARALLEL)
            .map(|i| {
                sb.bare(&["create", &format!(r#"{{"run":{i}}}"#)])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
        let failures: Vec<String> = outs.iter().filter(|o| !o.status.success()).map(stderr).collect();
        if !failures.is_empty() {
            failed_trials.push(format!("trial {trial}: {failures:?}"));
            continue;
        }
        let secret = std::fs::read_to_string(sb.root.path().join("config/sessionbox/secret-key")).unwrap();
        assert_eq!(secret.len(), 50, "trial {trial}");
        let announced = outs.iter().filter(|o| stderr(o).contains("generated a new secret key")).count();
        assert_eq!(announced, 1, "trial {trial}: {announced} runs announced a new secret");
        // Every session verifies with the kept secret.
        let store = sessionbox::Store::open(sb.sessions(), sessionbox::Settings::new(secret)).unwrap();
        for (i, out) in outs.iter().enumerate() {
            let key: Value = serde_json::from_slice(&out.stdout).unwrap();
            let loaded = store.load_json(key["key"].as_str().unwrap()).unwrap();
            assert_eq!(loaded.into_data(), Some(format!(r#"{{"run":{i}}}"#)), "trial {trial}: run {i} signed with another secret");
        }
        // No temporary file is left beside the secret.
        let kept: Vec<_> = std::fs::read_dir(sb.root.path().join("config/sessionbox")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(kept, ["secret-key"], "trial {trial}");
    }
    assert!(failed_trials.is_empty(), "{} of {TRIALS} trials had a failed run: {failed_trials:#?}", failed_trials.len());
}
