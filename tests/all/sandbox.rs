//! Escape attempts through the filesystem: special files named like
//! sessions, links pointing out of the directory, a swapped directory
//! symlink. Each is refused or harmless; nothing outside is read, written or
//! deleted, and nothing hangs.

use sessionbox::{Data, Loaded, Settings, Store};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

const KEY: &str = "abcdefgh12345678abcdefgh12345678";

fn data(text: &str) -> Data {
    sessionbox::parse_data(text).unwrap()
}

/// Runs `f` on another thread and fails if it takes longer than 10 s.
fn within_10s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    within(what, Duration::from_secs(10), f)
}

/// Runs `f` on another thread and fails if it takes longer than `limit`.
fn within<T: Send + 'static>(what: &str, limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| panic!("{what} hung"))
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo failed");
}

#[test]
fn a_fifo_named_like_a_session_never_hangs() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), Settings::new("secret")).unwrap();
    mkfifo(&tmp.path().join(format!("sessionid{KEY}")));
    let s = store.clone();
    assert_eq!(within_10s("load of a FIFO", move || s.load(KEY).unwrap()), Loaded::Corrupt);
    let s = store.clone();
    assert!(within_10s("save over a FIFO", move || s.save(KEY, &data("{}"), false)).is_err());
    let s = store.clone();
    let report = within_10s("sweep with a FIFO", move || s.clear_expired().unwrap());
    assert_eq!((report.scanned, report.skipped), (1, 1));
    // Deleting unlinks it without opening it.
    let s = store.clone();
    within_10s("delete of a FIFO", move || s.delete(KEY).unwrap());
    assert!(!tmp.path().join(format!("sessionid{KEY}")).exists());
}

/// An entry swapped between a regular file and a FIFO while the store reads
/// it: the guest's stat may see the file and its open the FIFO. The host
/// opens without blocking and refuses what is not a regular file, so every
/// call returns (opening the FIFO used to block the call forever; no epoch
/// deadline interrupts a blocked host call).
#[test]
fn a_fifo_swapped_in_after_the_stat_never_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    let store = Store::open(&dir, Settings::new("secret")).unwrap();
    let key = store.create(&data(r#"{"user":"42"}"#)).unwrap();
    let target = dir.join(format!("sessionid{key}"));
    let content = std::fs::read(&target).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (dir, target, stop) = (dir.clone(), target.clone(), stop.clone());
        std::thread::spawn(move || {
            let (fifo, file) = (dir.join("swap-fifo"), dir.join("swap-file"));
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                mkfifo(&fifo);
                std::fs::rename(&fifo, &target).unwrap();
                std::fs::write(&file, &content).unwrap();
                std::fs::rename(&file, &target).unwrap();
                swaps += 1;
            }
            swaps
        })
    };
    let s = store.clone();
    let key2 = key.clone();
    let (found, refused) = within("3 s of loads and sweeps during swaps", Duration::from_secs(60), move || {
        let (mut found, mut refused) = (0, 0);
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(3) {
            match s.load(&key2).unwrap() {
                Loaded::Found { .. } => found += 1,
                Loaded::Corrupt => refused += 1,
                other => panic!("load during swaps: {other:?}"),
            }
            s.clear_expired().unwrap();
        }
        (found, refused)
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(found > 0 && refused > 0 && swaps > 100, "found {found}, refused {refused}, swaps {swaps}");
}

#[test]
fn a_real_device_node_named_like_a_session_is_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), Settings::new("secret")).unwrap();
    let path = tmp.path().join(format!("sessionid{KEY}"));
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // /dev/zero's numbers (1, 5); creating device nodes needs root.
    // SAFETY: a valid NUL-terminated path.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 5)) } == 0;
    assert!(made, "mknod failed ({}): this test creates a device node and needs root", std::io::Error::last_os_error());
    let s = store.clone();
    assert_eq!(within_10s("load of a device node", move || s.load(KEY).unwrap()), Loaded::Corrupt);
    let s = store.clone();
    assert!(within_10s("save over a device node", move || s.save(KEY, &data("{}"), false)).is_err());
    let s = store.clone();
    assert_eq!(within_10s("sweep with a device node", move || s.clear_expired().unwrap()).skipped, 1);
}

#[test]
fn a_symlink_to_a_device_named_like_a_session_is_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), Settings::new("secret")).unwrap();
    // A symlink to a device is what an unprivileged attacker could plant.
    std::os::unix::fs::symlink("/dev/zero", tmp.path().join(format!("sessionid{KEY}"))).unwrap();
    let s = store.clone();
    assert_eq!(within_10s("load of /dev/zero", move || s.load(KEY).unwrap()), Loaded::Corrupt);
}

#[test]
fn a_hard_link_to_an_outside_file_is_replaced_not_written_through() {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path().join("sessions");
    let store = Store::open(&sessions, Settings::new("secret")).unwrap();
    let outside = tmp.path().join("outside.txt");
    std::fs::write(&outside, "precious").unwrap();
    std::fs::hard_link(&outside, sessions.join(format!("sessionid{KEY}"))).unwrap();
    // Not a valid session, so no session; a save replaces the link itself.
    assert_eq!(store.load(KEY).unwrap(), Loaded::BadSignature);
    store.save(KEY, &data(r#"{"a":1}"#), false).unwrap();
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious");
    assert_eq!(store.load(KEY).unwrap().into_data(), Some(data(r#"{"a":1}"#)));
    store.delete(KEY).unwrap();
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious");
}

#[test]
fn a_symlink_as_the_save_target_is_refused_and_the_target_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path().join("sessions");
    let store = Store::open(&sessions, Settings::new("secret")).unwrap();
    let outside = tmp.path().join("outside.txt");
    std::fs::write(&outside, "precious").unwrap();
    std::os::unix::fs::symlink(&outside, sessions.join(format!("sessionid{KEY}"))).unwrap();
    assert!(store.save(KEY, &data(r#"{"a":1}"#), false).is_err());
    assert!(store.save(KEY, &data(r#"{"a":1}"#), true).is_err());
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious");
    assert!(std::fs::symlink_metadata(sessions.join(format!("sessionid{KEY}"))).unwrap().file_type().is_symlink());
    // Deleting removes the link, never the file it points to.
    store.delete(KEY).unwrap();
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious");
}

#[test]
fn swapping_a_symlinked_session_directory_after_open_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (real, other, link) = (tmp.path().join("real"), tmp.path().join("other"), tmp.path().join("link"));
    std::fs::create_dir(&real).unwrap();
    std::fs::create_dir(&other).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let store = Store::open(&link, Settings::new("secret")).unwrap();
    // Point the link elsewhere, then use the store (new instances included).
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&other, &link).unwrap();
    let keys: Vec<String> = (0..40).map(|_| store.create(&data("{}")).unwrap()).collect();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| store.create(&data("{}")).unwrap());
        }
    });
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 0, "sessions followed the swapped symlink");
    assert_eq!(std::fs::read_dir(&real).unwrap().count(), 44);
    assert!(keys.iter().all(|k| store.exists(k).unwrap()));
}
