//! The session directory deleted and re-created (or replaced) under a
//! running server: `rm -rf sessions; mkdir -m700 sessions`. Warm instances
//! hold a handle to the directory they were opened on; the store must
//! notice the path names another directory and reopen it by itself, as
//! Django (which opens by path each time) does.

use crate::support::web::{exchange, DemoApp};
use crate::support::logs::capture;
use sessionbox::{Data, Loaded, Settings, Store};
use std::os::unix::fs::DirBuilderExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Counts visits on the demo app with a fresh session each time until the
/// directory is replaced, then measures how long until requests work
/// again, and checks every request after that works, with its session
/// in the new directory.
#[test]
fn a_server_recovers_when_its_session_directory_is_recreated() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sessions");
    let store = Store::open(&dir, Settings::new("dir-replaced-secret")).unwrap();
    let demo = DemoApp::start(store.clone(), vec![]);
    // Warm: several instances open on the first directory.
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..10 {
                    assert_eq!(exchange(demo.port(), "GET", "/", None, "").status, 200);
                }
            });
        }
    });
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
    let replaced = Instant::now();
    let mut recovered = None;
    let mut failed_after = 0;
    let mut keys = Vec::new();
    while replaced.elapsed() < Duration::from_secs(3) {
        let reply = exchange(demo.port(), "GET", "/", None, "");
        match (reply.status, recovered) {
            (200, None) => recovered = Some(replaced.elapsed()),
            (200, Some(_)) => {}
            (_, Some(_)) => failed_after += 1,
            (_, None) => {}
        }
        if reply.status == 200 {
            keys.extend(reply.session_cookie.filter(|k| !k.is_empty()));
        }
    }
    let recovered = recovered.expect("no request worked in the 3 s after the directory was re-created");
    eprintln!("directory re-created: first working request after {recovered:?}; {failed_after} failures after that; {} sessions made", keys.len());
    assert!(recovered < Duration::from_secs(1), "recovered only after {recovered:?}");
    assert_eq!(failed_after, 0, "requests failed after the store recovered");
    // The sessions made since are in the new directory, and load.
    let last = keys.last().expect("sessions were made after the re-creation");
    assert!(dir.join(format!("sessionid{last}")).exists(), "the session is not in the new directory");
    assert!(matches!(store.load(last).unwrap(), Loaded::Found { .. }));
}

/// Through the library alone: the directory replaced by another (renamed
/// away, a new one made) and then deleted outright. Each time the next
/// calls work on what the path names now; a deleted directory is created
/// again (0700), as `Store::open` does.
#[test]
fn a_store_follows_its_path_when_the_directory_is_replaced_or_deleted() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sessions");
    let store = Store::open(&dir, Settings::new("dir-replaced-secret")).unwrap();
    let old = store.create(&Default::default()).unwrap();
    std::fs::rename(&dir, tmp.path().join("old")).unwrap();
    std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
    // The old directory still exists, so nothing fails in it: the store
    // notices the new one at its next look at the path, at most 50 ms on.
    std::thread::sleep(std::time::Duration::from_millis(60));
    let key = store.create(&Default::default()).unwrap();
    assert!(dir.join(format!("sessionid{key}")).exists(), "created in the replaced directory");
    assert!(matches!(store.load(&old).unwrap(), Loaded::Missing), "the old directory's session is not at the path any more");
    std::fs::remove_dir_all(&dir).unwrap();
    let key = store.create(&Default::default()).unwrap();
    assert!(dir.join(format!("sessionid{key}")).exists(), "the deleted directory was not made again");
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
}

/// The directory's parent is gone, so the store cannot make it again:
/// each failing call runs the watch's look at once, and may not log a
/// warning every time.
#[test]
fn a_directory_that_cannot_be_made_again_does_not_log_a_warning_per_call() {
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path().join("parent");
    std::fs::create_dir(&parent).unwrap();
    let dir = parent.join("sessions");
    let store = Store::open(&dir, Settings::new("hostile-secret")).unwrap();
    std::fs::remove_dir_all(&parent).unwrap();
    let (results, logs) = capture(|| (0..200).map(|_| store.create(&Data::new()).is_err()).filter(|e| *e).count());
    eprintln!("{results} of 200 failed; {} log lines; first: {:?}", logs.len(), logs.first());
    assert!(logs.len() < 10, "{} warnings for 200 calls", logs.len());
}

/// Twelve warm instances; the directory deleted (and made again) between
/// two bursts of twelve concurrent creates, within the watch's 50 ms: each
/// create of the last burst that runs on an instance opened on the deleted
/// directory fails there, and is to run once more on the new one. Only the
/// thread whose own look notices the change retries: the others return
/// the I/O error.
#[test]
fn a_dozen_creates_in_flight_when_the_directory_is_recreated_all_succeed() {
    let mut total_failed = 0;
    for round in 0..20 {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("sessions");
        let store = Store::open(&dir, Settings::new("hostile-secret")).unwrap();
        let barrier = std::sync::Barrier::new(13);
        let failed = AtomicUsize::new(0);
        let errors = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..12 {
                s.spawn(|| {
                    for burst in 0..3 {
                        barrier.wait();
                        // The second burst only looks (cheap), so the store's
                        // last look at the path is a moment ago.
                        if burst == 1 {
                            let _ = store.exists("abcdefgh12345678");
                        } else if let Err(e) = store.create(&Data::new()) {
                            failed.fetch_add(1, Ordering::Relaxed);
                            errors.lock().unwrap().push(format!("burst {burst}: {e}"));
                        }
                        barrier.wait();
                    }
                });
            }
            barrier.wait();
            barrier.wait();
            barrier.wait();
            barrier.wait();
            // All twelve back in the pool; delete and re-create at once.
            std::fs::remove_dir_all(&dir).unwrap();
            std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
            barrier.wait();
            barrier.wait();
        });
        let failed = failed.into_inner();
        total_failed += failed;
        eprintln!("round {round}: {failed} of 12 failed: {:?}", errors.into_inner().unwrap().first());
    }
    assert_eq!(total_failed, 0, "creates failed after the directory was re-created");
}
