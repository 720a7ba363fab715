//! Races a real server sees, run at its concurrency: a logout among a
//! dozen requests of the same user (in one process, over HTTP, and across
//! processes through the CLI), and sweeps beside saves of sessions near
//! their expiry. Each asserts the count the docs promise: none undone,
//! none deleted while live.

use crate::support::web::{exchange, DemoApp};
use sessionbox::{Data, Loaded, Settings, Store};
use sessionbox_demo::DemoUser;
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

const SECRET: &str = "races-secret-4c1f0a";

/// Logs alice in on the demo app; returns her session key.
fn log_in(demo: &DemoApp) -> String {
    let login = exchange(demo.port(), "POST", "/login", None, "username=alice&password=wonderland");
    assert_eq!(login.status, 303, "login failed: {}", login.body);
    login.session_cookie.filter(|k| !k.is_empty()).expect("the login sets a session cookie")
}

/// Whether the session `key` holds a login.
fn logged_in(store: &Store, key: &str) -> bool {
    matches!(store.load(key).unwrap(), Loaded::Found { data, .. } if data.contains_key("_auth_user_id"))
}

/// docs/tower.md's promise: a logout that races other requests of the same
/// session is never undone. Per round, alice logs in, then 11 `GET /`
/// (each counts a visit: a save) and one `POST /logout` start at once on
/// her cookie. Afterwards her session must be gone, and no response may
/// hand out a session that still holds her login.
#[test]
fn a_logout_among_twelve_concurrent_requests_is_never_undone() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path().join("sessions"), Settings::new(SECRET)).unwrap();
    let demo = DemoApp::start(store.clone(), vec![DemoUser::with_password("1", "alice", "wonderland", 1000)]);
    let rounds = 30;
    let mut undone = 0;
    for _ in 0..rounds {
        let key = log_in(&demo);
        let barrier = Barrier::new(12);
        let handed_out: Vec<Option<String>> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..12)
                .map(|i| {
                    let (barrier, key, port) = (&barrier, &key, demo.port());
                    s.spawn(move || {
                        barrier.wait();
                        let reply = if i == 6 { exchange(port, "POST", "/logout", Some(key), "") } else { exchange(port, "GET", "/", Some(key), "") };
                        assert!(reply.status == 200 || reply.status == 400, "status {}: {}", reply.status, reply.body);
                        reply.session_cookie.filter(|k| !k.is_empty())
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let back = logged_in(&store, &key) || handed_out.iter().flatten().any(|k| logged_in(&store, k));
        undone += u32::from(back);
    }
    eprintln!("logout among 12 concurrent requests, in one process: undone in {undone} of {rounds} rounds");
    assert_eq!(undone, 0, "a logout was undone in {undone} of {rounds} rounds");
}

/// The `sessionbox` binary on `dir`.
fn cli(dir: &Path, args: &[&str]) -> Output {
    crate::support::sessionbox_on(dir, SECRET).args(args).output().unwrap()
}

fn created_key(out: &Output) -> String {
    assert!(out.status.success(), "create failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["key"].as_str().unwrap().to_owned()
}

/// The same race across processes: per round, 11 `sessionbox set` and one
/// `sessionbox delete` of one session start at once, each its own process.
/// The session must be gone afterwards: the host's rename replaces only an
/// existing file, so a save never recreates a deleted session, whichever
/// process deleted it.
#[test]
fn a_delete_among_twelve_concurrent_cli_saves_is_never_undone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sessions");
    let store = Store::open(&dir, Settings::new(SECRET)).unwrap();
    let rounds = 20;
    let mut undone = 0;
    for round in 0..rounds {
        let key = created_key(&cli(&dir, &["create", r#"{"_auth_user_id":"1"}"#]));
        let barrier = Barrier::new(12);
        std::thread::scope(|s| {
            for i in 0..12 {
                let (barrier, key, dir) = (&barrier, &key, &dir);
                s.spawn(move || {
                    barrier.wait();
                    if i == 6 {
                        let out = cli(dir, &["delete", key]);
                        assert!(out.status.success(), "delete failed: {}", String::from_utf8_lossy(&out.stderr));
                    } else {
                        let out = cli(dir, &["set", key, &format!(r#"{{"n":{round}}}"#)]);
                        // Saved before the delete, or refused after it.
                        assert!(out.status.success() || out.status.code() == Some(3), "set failed: {}", String::from_utf8_lossy(&out.stderr));
                    }
                });
            }
        });
        if store.exists(&key).unwrap() {
            undone += 1;
            store.delete(&key).unwrap();
        }
    }
    eprintln!("delete among 12 concurrent CLI saves, across processes: undone in {undone} of {rounds} rounds");
    assert_eq!(undone, 0, "a delete was undone in {undone} of {rounds} rounds");
}

/// The sweep never deletes a live session near its expiry. 12 sessions
/// with `_session_expiry: 2` are each updated every 0.3–0.6 s (plus the
/// CLI's own time) with `sessionbox set` while two loops run `sessionbox
/// clear-expired`. A session a sweep judged expired may have been saved
/// again before the sweep's unlink; the sweep deletes only the file it
/// judged. As in Django, a session with less than a whole second left is
/// expired; a `set` that finds its session gone although it ended less
/// than 0.9 s after the last successful write began (so over 1.1 s were
/// left when it looked) counts as a live session lost.
#[test]
fn sweeps_beside_saves_near_expiry_delete_no_live_session() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sessions");
    cli(&dir, &["stats"]);
    let secs: u64 = std::env::var("SESSIONBOX_RACE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let until = Instant::now() + Duration::from_secs(secs);
    let (lost, saves, sweeps, expired) = std::thread::scope(|s| {
        let sweepers: Vec<_> = (0..2)
            .map(|_| {
                let dir = &dir;
                s.spawn(move || {
                    let mut sweeps = 0;
                    while Instant::now() < until {
                        let out = cli(dir, &["clear-expired"]);
                        assert!(out.status.success(), "clear-expired failed: {}", String::from_utf8_lossy(&out.stderr));
                        sweeps += 1;
                    }
                    sweeps
                })
            })
            .collect();
        let updaters: Vec<_> = (0..12u64)
            .map(|i| {
                let dir = &dir;
                s.spawn(move || {
                    let (mut lost, mut saves, mut expired) = (Vec::new(), 0, 0);
                    // When the last successful write began: its file's
                    // mtime is no earlier, however long the process then
                    // took to exit (a loaded machine deschedules it).
                    let mut saved_at = Instant::now();
                    let mut key = created_key(&cli(dir, &["create", r#"{"_session_expiry":2}"#]));
                    let mut n = 0u64;
                    while Instant::now() < until {
                        n += 1;
                        // 0.3 to 0.6 s, spread by writer and round.
                        std::thread::sleep(Duration::from_millis(300 + (i * 97 + n * 151) % 300));
                        let started = Instant::now();
                        let out = cli(dir, &["set", &key, &format!(r#"{{"n":{n}}}"#)]);
                        let ended = Instant::now();
                        if out.status.success() {
                            saves += 1;
                            saved_at = started;
                            continue;
                        }
                        assert_eq!(out.status.code(), Some(3), "set failed: {}", String::from_utf8_lossy(&out.stderr));
                        let since = ended.duration_since(saved_at);
                        if since < Duration::from_millis(900) {
                            lost.push(since);
                        } else {
                            expired += 1;
                        }
                        // Expired for real (a slow machine), or lost: go on with a new one.
                        saved_at = Instant::now();
                        key = created_key(&cli(dir, &["create", r#"{"_session_expiry":2}"#]));
                    }
                    (lost, saves, expired)
                })
            })
            .collect();
        let (mut lost, mut saves, mut expired) = (Vec::new(), 0, 0);
        for u in updaters {
            let (l, n, e) = u.join().unwrap();
            lost.extend(l);
            saves += n;
            expired += e;
        }
        let sweeps: u32 = sweepers.into_iter().map(|s| s.join().unwrap()).sum();
        (lost, saves, sweeps, expired)
    });
    eprintln!("sweeps beside saves near expiry, {secs} s: {saves} saves, {sweeps} sweeps, {expired} sessions expired between saves, live sessions lost: {lost:?}");
    assert!(saves > 100 && sweeps > 10, "the race did too little to mean anything: {saves} saves, {sweeps} sweeps");
    assert!(lost.is_empty(), "{} live sessions were deleted; the failed set ended {lost:?} after the last save", lost.len());
}

/// The same race, timed so it happens: each of 12 threads saves its
/// session (`_session_expiry: 2`, so expired once less than a whole second
/// is left) again just before it would expire, while two threads sweep in
/// tight loops. A sweep that judged the old file expired must not delete
/// the file the save renamed over it. Half a second after each save the
/// thread checks that its session is still there.
#[test]
fn sweeps_racing_saves_at_the_expiry_boundary_delete_no_live_session() {
    let tmp = tempfile::tempdir().unwrap();
    let mut settings = Settings::new(SECRET);
    settings.durability = sessionbox::Durability::None;
    let store = Store::open(tmp.path().join("sessions"), settings).unwrap();
    let secs: u64 = std::env::var("SESSIONBOX_RACE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(20).min(10);
    let until = Instant::now() + Duration::from_secs(secs);
    let data = sessionbox::parse_data(r#"{"_session_expiry":2}"#).unwrap();
    let (lost, boundary_saves, sweeps) = std::thread::scope(|s| {
        let sweepers: Vec<_> = (0..2)
            .map(|_| {
                let store = &store;
                s.spawn(move || {
                    let mut sweeps = 0u32;
                    while Instant::now() < until {
                        store.clear_expired().unwrap();
                        sweeps += 1;
                    }
                    sweeps
                })
            })
            .collect();
        let updaters: Vec<_> = (0..12u64)
            .map(|i| {
                let (store, data) = (&store, &data);
                s.spawn(move || {
                    let (mut lost, mut boundary_saves) = (0u32, 0u32);
                    // When the last save began: its file's mtime is no
                    // earlier (less the coarse clock's few milliseconds).
                    let mut saved_at = Instant::now();
                    let mut key = store.create(data).unwrap();
                    while Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(500).saturating_sub(saved_at.elapsed()));
                        // Half a second after a save: live whatever the sweeps
                        // do. A thread descheduled past the second the save
                        // bought proves nothing either way.
                        let found = matches!(store.load(&key).unwrap(), Loaded::Found { .. });
                        if !found && saved_at.elapsed() < Duration::from_millis(950) {
                            lost += 1;
                        }
                        // Just before the whole second runs out (spread by
                        // thread): load, then save again.
                        std::thread::sleep(Duration::from_micros(985_000 + i * 1_000).saturating_sub(saved_at.elapsed()));
                        saved_at = Instant::now();
                        let saved = match store.load(&key).unwrap() {
                            Loaded::Found { data, .. } => store.save(&key, &data, false),
                            _ => Err(sessionbox::Error::NotFound),
                        };
                        match saved {
                            Ok(()) => boundary_saves += 1,
                            // Expired (and swept) first: a new session.
                            Err(sessionbox::Error::NotFound) => key = store.create(data).unwrap(),
                            Err(e) => panic!("{e}"),
                        }
                    }
                    (lost, boundary_saves)
                })
            })
            .collect();
        let (mut lost, mut saves) = (0, 0);
        for u in updaters {
            let (l, n) = u.join().unwrap();
            lost += l;
            saves += n;
        }
        (lost, saves, sweepers.into_iter().map(|s| s.join().unwrap()).sum::<u32>())
    });
    eprintln!("sweeps racing saves at the expiry boundary, {secs} s: {boundary_saves} saves, {sweeps} sweeps, {lost} live sessions deleted");
    assert!(boundary_saves > 50 && sweeps > 100, "the race did too little to mean anything: {boundary_saves} saves, {sweeps} sweeps");
    assert_eq!(lost, 0, "{lost} sessions were deleted within half a second of a save");
}

/// A directory swapped in under the session's name between the save's
/// probe and its rename: the exchange moves it to the temporary name, the
/// unlink of that fails (EISDIR, ignored), the save reports success, and
/// the directory stays there for good (the sweep skips it every time).
#[test]
fn a_directory_swapped_in_under_a_session_is_not_left_under_a_temporary_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sessions");
    let store = Store::open(&dir, Settings::new("hostile-secret")).unwrap();
    let key = store.create(&Data::new()).unwrap();
    let name = dir.join(format!("sessionid{key}"));
    let aside = dir.join("aside");
    std::fs::create_dir(&aside).unwrap();
    let stop = AtomicBool::new(false);
    let (mut ok, mut err) = (0, 0);
    std::thread::scope(|s| {
        s.spawn(|| {
            use std::ffi::CString;
            use std::os::unix::ffi::OsStrExt;
            let a = CString::new(name.as_os_str().as_bytes()).unwrap();
            let b = CString::new(aside.as_os_str().as_bytes()).unwrap();
            while !stop.load(Ordering::Relaxed) {
                unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE) };
            }
        });
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            match store.save(&key, &Data::new(), false) {
                Ok(()) => ok += 1,
                Err(_) => err += 1,
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    let mut odd = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let t = entry.file_type().unwrap();
        odd.push(format!("{} dir={}", entry.file_name().to_string_lossy(), t.is_dir()));
    }
    eprintln!("saves ok {ok}, failed {err}; entries: {odd:?}");
    let report = store.clear_expired().unwrap();
    eprintln!("sweep: {report:?}");
    assert!(!odd.iter().any(|e| e.contains("_out_") && e.ends_with("dir=true")), "a directory left under a temporary name: {odd:?}");
}
