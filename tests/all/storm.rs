//! Load, races and crashes: two processes hammering one directory, and
//! writers killed with SIGKILL mid-save. The worker processes are this test
//! binary re-run with `SESSIONBOX_WORKER` set (see `worker`).

use crate::support::storm::{check, logout_racing_an_update, mixed_ops, version};
use sessionbox::{Durability, Loaded, Settings, Store};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

const WORKER_ENV: &str = "SESSIONBOX_WORKER";
const SHARED_KEYS: usize = 12;

fn shared_key(i: usize) -> String {
    format!("stormshared{i:021}")
}

fn settings(durability: Durability) -> Settings {
    let mut s = Settings::new("storm-secret");
    s.durability = durability;
    s
}

/// Runs this test binary as a worker process.
fn spawn_worker(mode: &str, dir: &Path, id: u64, secs: f64, durability: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["storm::worker", "--exact", "--nocapture", "--test-threads=1"])
        .env(WORKER_ENV, format!("{mode}|{}|{id}|{secs}|{durability}", dir.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The body of the worker processes; a no-op when run as a plain test.
#[test]
fn worker() {
    let Ok(spec) = std::env::var(WORKER_ENV) else { return };
    let parts: Vec<&str> = spec.split('|').collect();
    let (mode, dir, id, secs) = (parts[0], PathBuf::from(parts[1]), parts[2].parse::<u64>().unwrap(), parts[3].parse::<f64>().unwrap());
    let durability = match parts[4] {
        "none" => Durability::None,
        "full" => Durability::Full,
        _ => Durability::File,
    };
    let store = Store::open(&dir, settings(durability)).unwrap();
    match mode {
        "storm" => storm_worker(&store, id, Duration::from_secs_f64(secs)),
        "saver" => loop {
            // Killed from outside at a random moment.
            for i in 0..SHARED_KEYS {
                let seq = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64 % 1_000_000;
                let _ = store.save(&shared_key(i), &version(id, seq), false);
                let _ = store.create(&version(id, seq));
            }
        },
        other => panic!("unknown worker mode {other}"),
    }
}

/// Three threads of mixed operations; prints the keys it created, one per
/// line, then "ops N"; exits non-zero on any torn read or unexpected error.
fn storm_worker(store: &Store, id: u64, for_how_long: Duration) {
    let shared: Vec<String> = (0..SHARED_KEYS).map(shared_key).collect();
    let results = mixed_ops(store, id, &shared, for_how_long, &drop);
    assert_eq!(results.iter().map(|r| r.torn).sum::<u64>(), 0, "torn reads");
    // libtest has printed "test storm::worker ... " without a newline:
    // end that line, so the first key is not glued to it and lost.
    println!();
    for key in results.iter().flat_map(|r| &r.created) {
        println!("key {key}");
    }
    println!("ops {}", results.iter().map(|r| r.ops).sum::<u64>());
}

fn names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect()
}

#[test]
fn two_processes_storm_one_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sessions");
    let store = Store::open(&dir, settings(Durability::File)).unwrap();
    for i in 0..SHARED_KEYS {
        store.save(&shared_key(i), &version(0, i as u64), true).unwrap();
    }
    // SESSIONBOX_STORM_SECS makes this a soak test (default 3 s).
    let secs: f64 = std::env::var("SESSIONBOX_STORM_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let workers: Vec<_> = (1..=2).map(|id| spawn_worker("storm", &dir, id, secs, "file")).collect();
    let mut all_keys = Vec::new();
    let mut total_ops = 0;
    for child in workers {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "worker failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        all_keys.extend(stdout.lines().filter_map(|l| l.strip_prefix("key ")).map(str::to_owned));
        total_ops += stdout.lines().find_map(|l| l.strip_prefix("ops ")).and_then(|n| n.parse::<u64>().ok()).expect("worker reported ops");
    }
    let unique: HashSet<&String> = all_keys.iter().collect();
    assert_eq!(unique.len(), all_keys.len(), "two creates returned the same key");
    assert!(total_ops > 300, "the storm did too little to mean anything: {total_ops} ops");
    eprintln!("storm: 2 processes x 3 threads, {secs} s, {total_ops} operations, {} keys created", all_keys.len());

    let leftovers: Vec<String> = names(&dir).into_iter().filter(|n| n.contains("_out_")).collect();
    assert!(leftovers.is_empty(), "temp files left after the storm: {leftovers:?}");
    for name in names(&dir) {
        let key = name.trim_start_matches("sessionid");
        match store.load(key).unwrap() {
            Loaded::Found { data, .. } => check(&data).unwrap_or_else(|e| panic!("{name}: {e}")),
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// Django's open Trac #37249: a logout (delete) that lands between an
/// update-save's probe and its rename brings the session back. WASI 0.2
/// has no rename-only-if-exists, so the guest alone can only narrow that
/// moment (it probes again right before the rename); the sessionbox host
/// closes it: its rename exchanges the temporary file with the existing
/// session, and fails when the session is gone. No racing pair may bring
/// a session back.
#[test]
fn logout_racing_an_update_save_never_brings_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), settings(Durability::None)).unwrap();
    let rounds = 300;
    let mut resurrected = 0;
    for round in 0..rounds {
        let (key, _, saved) = logout_racing_an_update(&store, round);
        match store.load(&key).unwrap() {
            Loaded::Found { data, .. } => {
                // The save finished after the delete: the session is back.
                assert!(saved.is_ok());
                assert_eq!(data, version(2, round));
                resurrected += 1;
                store.delete(&key).unwrap();
            }
            Loaded::Missing => {}
            other => panic!("{other:?}"),
        }
    }
    eprintln!("logout vs update-save race: {resurrected} of {rounds} racing pairs brought the session back");
    assert_eq!(resurrected, 0, "{resurrected} of {rounds} racing pairs brought the session back");
    assert!(names(tmp.path()).is_empty());
}

#[test]
fn writers_killed_mid_save_leave_only_whole_files() {
    for durability in ["none", "file", "full"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("sessions");
        let store = Store::open(&dir, settings(Durability::File)).unwrap();
        for i in 0..SHARED_KEYS {
            store.save(&shared_key(i), &version(0, i as u64), true).unwrap();
        }
        let rounds = 12;
        for round in 0..rounds {
            let mut child = spawn_worker("saver", &dir, round + 1, 0.0, durability);
            // A random moment: 30..130 ms in, past start-up, mid-loop.
            std::thread::sleep(Duration::from_millis(30 + (round * 37 + 11) % 100));
            child.kill().unwrap();
            child.wait().unwrap();
        }
        let (mut whole, mut placeholders, mut temps) = (0, 0, 0);
        for name in names(&dir) {
            if name.contains("_out_") {
                temps += 1;
                continue;
            }
            let key = name.trim_start_matches("sessionid");
            match store.load(key).unwrap() {
                Loaded::Found { data, .. } if data.is_empty() => placeholders += 1,
                Loaded::Found { data, .. } => {
                    check(&data).unwrap_or_else(|e| panic!("{durability}: {name}: {e}"));
                    whole += 1;
                }
                other => panic!("{durability}: {name} after a crash: {other:?}"),
            }
        }
        // Creates write the content first and link it into place, so a kill
        // never leaves an empty placeholder; updates rename whole files.
        assert_eq!(placeholders, 0, "{durability}: empty session files after kill -9");
        for i in 0..SHARED_KEYS {
            assert!(matches!(store.load(&shared_key(i)).unwrap(), Loaded::Found { data: d, .. } if !d.is_empty()), "{durability}: shared session {i}");
        }
        // Leftover temp files go once older than an hour.
        let hour_ago = SystemTime::now() - Duration::from_secs(3700);
        for name in names(&dir).into_iter().filter(|n| n.contains("_out_")) {
            std::fs::File::options().write(true).open(dir.join(&name)).unwrap().set_modified(hour_ago).unwrap();
        }
        store.clear_expired().unwrap();
        assert!(names(&dir).iter().all(|n| !n.contains("_out_")), "{durability}: temp files survived the sweep");
        eprintln!("kill -9 ({durability}): {rounds} rounds, {whole} whole sessions, {placeholders} empty placeholders, {temps} temp files swept");
    }
}
