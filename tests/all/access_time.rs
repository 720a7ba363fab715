//! Reading a session writes nothing: the host opens session files to read
//! with `O_NOATIME`, and a process refused that (it does not own the file)
//! still reads them.

use sessionbox::{Data, Settings, Store};
use std::fs::{File, FileTimes};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

const SECRET: &str = "access-time-secret";

fn data() -> Data {
    serde_json::from_str(r#"{"_auth_user_id":"7","visits":3}"#).unwrap()
}

/// Puts the file's access time a day before its modification, where
/// `relatime` (the usual mount option) updates it on the next plain read.
fn age_access_time(path: &Path) -> SystemTime {
    let accessed = std::fs::metadata(path).unwrap().modified().unwrap() - Duration::from_secs(86_400);
    File::options().write(true).open(path).unwrap().set_times(FileTimes::new().set_accessed(accessed)).unwrap();
    accessed
}

fn accessed(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().accessed().unwrap()
}

#[test]
fn loads_and_sweeps_leave_the_access_time_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Settings::new(SECRET)).unwrap();
    let key = store.create(&data()).unwrap();
    let file = dir.path().join(format!("sessionid{key}"));
    let before = age_access_time(&file);

    assert_eq!(store.load(&key).unwrap().into_data(), Some(data()));
    assert_eq!(accessed(&file), before, "a load wrote the access time");
    assert_eq!(store.clear_expired().unwrap().scanned, 1);
    assert_eq!(accessed(&file), before, "a sweep wrote the access time");

    // The check can fail: a plain read on this filesystem does write it.
    std::fs::read(&file).unwrap();
    assert_ne!(accessed(&file), before, "this filesystem never writes access times (noatime?): the test proves nothing here");
}

#[test]
fn a_process_that_does_not_own_the_session_files_still_loads_them() {
    // Linux grants O_NOATIME only to a file's owner or to CAP_FOWNER, so
    // the refusal is shown by a process without it (`nobody`) reading a
    // file root owns. Switching users needs root, which CI has.
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "this test needs root, to run the CLI as another user");
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sessions = root.path().join("sessions");
    let store = Store::open(&sessions, Settings::new(SECRET)).unwrap();
    let key = store.create(&data()).unwrap();
    let file = sessions.join(format!("sessionid{key}"));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = age_access_time(&file);
    let nobody = 65534;
    std::os::unix::fs::chown(&sessions, Some(nobody), Some(nobody)).unwrap();
    let cache = root.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    std::os::unix::fs::chown(&cache, Some(nobody), Some(nobody)).unwrap();

    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(crate::support::sessionbox_cli())
        .arg("--dir")
        .arg(&sessions)
        .args(["get", &key])
        .env("SESSIONBOX_SECRET_KEY", SECRET)
        .env("SESSIONBOX_CACHE_DIR", &cache)
        .env("HOME", &cache)
        .output()
        .expect("setpriv (util-linux) runs");
    assert!(out.status.success(), "nobody could not load root's session: {}", String::from_utf8_lossy(&out.stderr));
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got, serde_json::Value::Object(data()), "{}", String::from_utf8_lossy(&out.stdout));
    // Read without O_NOATIME, as any reader would.
    assert_ne!(accessed(&file), before, "the load did not read the file as a non-owner");
}
