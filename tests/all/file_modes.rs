//! Session files and their temporary files are created 0600 whatever the
//! umask (Django's `mkstemp` mode), through the library and through the
//! CLI: under `umask 022` they used to be 0644, readable by every local
//! user in a directory others can enter.

use sessionbox::{Durability, Settings, Store};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "file-modes-secret";

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

/// A session directory others can enter (0755, as a shared one often is).
fn open_dir(root: &Path) -> PathBuf {
    let dir = root.join("sessions");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Temporary files (`_out_`) seen in a directory, with their modes.
type Seen = Arc<Mutex<Vec<(String, u32)>>>;

/// Watches `dir` until `stop`, recording the mode of every temporary file
/// it catches in the moment between its creation and its rename.
fn watch_temp_files(dir: PathBuf, stop: Arc<AtomicBool>) -> (Seen, std::thread::JoinHandle<()>) {
    let seen = Seen::default();
    let record = seen.clone();
    let watcher = std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.contains("_out_") {
                    // Gone already (renamed, or linked and removed): missed.
                    if let Ok(meta) = std::fs::symlink_metadata(entry.path()) {
                        record.lock().unwrap().push((name, meta.permissions().mode() & 0o777));
                    }
                }
            }
        }
    });
    (seen, watcher)
}

/// Session data large enough (incompressible, fsynced) that its temporary
/// file lives long enough for the watcher to see it.
fn big_json(seed: u32) -> String {
    format!(r#"{{"blob":"{}"}}"#, crate::support::letters(400_000, seed))
}

/// `umask 022` for this process while `f` runs (the umask is per process;
/// 022 is the usual default, so the other tests running meanwhile see what
/// they normally do).
fn with_umask_022<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: umask(2) cannot fail and touches nothing but the mask.
    let old = unsafe { libc::umask(0o022) };
    let out = f();
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    out
}

#[test]
fn store_creates_and_saves_session_files_0600_under_umask_022() {
    let root = tempfile::tempdir().unwrap();
    let dir = open_dir(root.path());
    let mut settings = Settings::new(SECRET);
    settings.durability = Durability::Full;
    let store = Store::open(&dir, settings).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (seen, watcher) = watch_temp_files(dir.clone(), stop.clone());
    let (created, updated) = with_umask_022(|| {
        let created = store.create_json(r#"{"a":1}"#).unwrap();
        let updated = store.create_json(r#"{"b":1}"#).unwrap();
        // Saves and creates until the watcher caught a few temporary files
        // (or 30 s).
        let start = Instant::now();
        let mut n = 0;
        while seen.lock().unwrap().len() < 3 && start.elapsed() < Duration::from_secs(30) {
            store.save_json(&updated, &big_json(n), false).unwrap();
            store.create_json(&big_json(1000 + n)).unwrap();
            n += 1;
        }
        (created, updated)
    });
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    let temps = seen.lock().unwrap().clone();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    assert_eq!(mode(&dir.join(format!("sessionid{created}"))), 0o600, "created session file");
    assert_eq!(mode(&dir.join(format!("sessionid{updated}"))), 0o600, "updated session file");
    assert!(!temps.is_empty(), "the watcher never caught a temporary file");
    assert!(temps.iter().all(|(_, m)| *m == 0o600), "temporary files not 0600: {temps:?}");
}

/// The CLI run as `sh -c 'umask 022; exec sessionbox …'`.
fn cli_under_umask_022(dir: &Path, config: &Path, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"umask 022; exec "$0" "$@""#)
        .arg(crate::support::sessionbox_cli())
        .arg("--dir")
        .arg(dir)
        .arg("--durability")
        .arg("full")
        .args(args)
        .env("SESSIONBOX_SECRET_KEY", SECRET)
        .env("XDG_CONFIG_HOME", config)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cli_creates_and_saves_session_files_0600_under_umask_022() {
    let root = tempfile::tempdir().unwrap();
    let dir = open_dir(root.path());
    let config = root.path().join("config");
    let key_of = |out: &str| serde_json::from_str::<serde_json::Value>(out).unwrap()["key"].as_str().unwrap().to_owned();
    let created = key_of(&cli_under_umask_022(&dir, &config, &["create", r#"{"a":1}"#], None));
    let updated = key_of(&cli_under_umask_022(&dir, &config, &["create", r#"{"b":1}"#], None));
    assert_eq!(mode(&dir.join(format!("sessionid{created}"))), 0o600, "session file created by the CLI");

    let stop = Arc::new(AtomicBool::new(false));
    let (seen, watcher) = watch_temp_files(dir.clone(), stop.clone());
    let start = Instant::now();
    let mut n = 0;
    while seen.lock().unwrap().len() < 3 && start.elapsed() < Duration::from_secs(60) {
        cli_under_umask_022(&dir, &config, &["set", &updated, "-"], Some(&big_json(n)));
        cli_under_umask_022(&dir, &config, &["create", "-"], Some(&big_json(1000 + n)));
        n += 1;
    }
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    let temps = seen.lock().unwrap().clone();
    assert_eq!(mode(&dir.join(format!("sessionid{updated}"))), 0o600, "session file updated by the CLI");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    assert!(!temps.is_empty(), "the watcher never caught a temporary file");
    assert!(temps.iter().all(|(_, m)| *m == 0o600), "temporary files not 0600: {temps:?}");
}
