//! `clear_expired` through the component: it deletes only what it has shown
//! to be expired (a session by its own expiry, garbage by the cookie age),
//! never aborts on an odd entry, and finishes whatever the directory's size
//! by working in batches that each fit the deadline.

use sessionbox::{Options, Settings, Store, SweepReport};
use sessionbox_guest::codec::Codec;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

const SECRET: &str = "sweep-secret";
const COOKIE_AGE: u64 = 3600;

fn settings() -> Settings {
    let mut s = Settings::new(SECRET);
    s.cookie_age = COOKIE_AGE;
    s
}

fn codec() -> Codec {
    Codec::new(SECRET, &[], sessionbox::DEFAULT_KEY_SALT)
}

fn age(path: &Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs)).unwrap();
}

/// Writes `content` as session `key`, last modified `secs` ago.
fn put(dir: &Path, key: &str, content: &[u8], secs: u64) {
    let path = dir.join(format!("sessionid{key}"));
    std::fs::write(&path, content).unwrap();
    age(&path, secs);
}

fn counts(r: SweepReport) -> (u32, u32, u32) {
    (r.scanned, r.deleted, r.skipped)
}

/// Garbage goes once older than the cookie age, as in Django; a file whose
/// signature verifies is a trusted writer's session, and one this
/// implementation cannot read is skipped, never deleted (the old guest
/// deleted such files, e.g. sessions nested deeper than it could parse).
#[test]
fn garbage_goes_after_the_cookie_age_and_signed_files_are_never_deleted_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = Store::open(dir, settings()).unwrap();
    let old = 2 * COOKIE_AGE;
    let bad_signature = Codec::new("another-secret", &[], sessionbox::DEFAULT_KEY_SALT).encode(r#"{"a":1}"#, 1_700_000_000);
    let signed_not_json = codec().encode("not json at all", 1_700_000_000);
    let signed_not_object = codec().encode("[1,2]", 1_700_000_000);
    let cases: [(&str, &[u8], bool); 6] = [
        ("garbage0000000000000000000000001", bad_signature.as_bytes(), true),
        ("garbage0000000000000000000000002", "n\u{f6}t ascii".as_bytes(), true),
        ("garbage0000000000000000000000003", b"", true),
        ("garbage0000000000000000000000004", b"no separator at all", true),
        ("signed00000000000000000000000001", signed_not_json.as_bytes(), false),
        ("signed00000000000000000000000002", signed_not_object.as_bytes(), false),
    ];
    for (key, content, _) in &cases {
        put(dir, key, content, old);
        put(dir, &key.replace('0', "1"), content, 10);
    }
    let report = store.clear_expired().unwrap();
    // 12 files: the 4 old garbage files go; the 2 old signed ones and the 2
    // young signed ones are skipped; young garbage stays.
    assert_eq!(counts(report), (12, 4, 4));
    for (key, _, garbage) in &cases {
        assert_eq!(store.exists(key).unwrap(), !garbage, "{key}");
        assert!(store.exists(&key.replace('0', "1")).unwrap(), "young {key}");
    }
}

/// A name that is not UTF-8 cannot cross WASI as a string; it is counted as
/// skipped and the sweep goes on (it used to abort the whole sweep with
/// "Illegal byte sequence").
#[test]
fn names_that_are_not_utf8_are_skipped_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = Store::open(dir, settings()).unwrap();
    std::fs::write(dir.join(OsStr::from_bytes(b"sessionid\xff\xfe")), b"x").unwrap();
    std::fs::write(dir.join(OsStr::from_bytes(b"other-\x80")), b"x").unwrap();
    let expired = store.create_json("{}").unwrap();
    age(&dir.join(format!("sessionid{expired}")), 2 * COOKIE_AGE);
    let live = store.create_json("{}").unwrap();
    let report = store.clear_expired().unwrap();
    assert_eq!(counts(report), (2, 1, 2));
    assert!(!store.exists(&expired).unwrap() && store.exists(&live).unwrap());
}

/// A sweep of any size finishes: a sweep that takes far longer than the
/// deadline runs in batches, each within it, and reports the totals. One
/// call for all of it ran into the deadline.
#[test]
fn a_sweep_longer_than_the_deadline_finishes_in_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The deadline leaves room for a busy machine (the browser tests run
    // beside this one) to hold the thread off the CPU; the 4 KB sessions,
    // each decoded to judge it, make the sweep outlast it all the same.
    let deadline = Duration::from_millis(400);
    // One thread: each thread's first batch lists the whole directory
    // before its budget starts, and several threads listing at once beside
    // the rest of the suite can hold one past a deadline this short.
    let options = Options { deadline, sweep_batch: Some(Duration::from_millis(10)), sweep_threads: Some(1), ..Options::default() };
    let store = Store::open_with(dir, settings(), options).unwrap();
    let expired = codec().encode(&format!(r#"{{"pad":"{}"}}"#, crate::support::letters(4000, 7)), 1_700_000_000);
    let n = 20_000;
    for i in 0..n {
        put(dir, &format!("expired{i:025}"), expired.as_bytes(), 2 * COOKIE_AGE);
    }
    let live = store.create_json(r#"{"live":true}"#).unwrap();
    let mut batches = 0;
    let started = std::time::Instant::now();
    let report = store.clear_expired_with(|_| batches += 1).unwrap();
    let took = started.elapsed();
    assert!(took > deadline, "the sweep must outlast the deadline to prove anything: {took:?}");
    assert_eq!(counts(report), (n + 1, n, 0));
    assert!(batches > 1);
    assert_eq!(std::fs::read_dir(dir).unwrap().count(), 1);
    assert!(store.exists(&live).unwrap());
}

/// Cursors: each batch continues after the last name of the one before, in
/// byte order, and the batches' reports add up to one whole sweep.
#[test]
fn batches_continue_where_the_last_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Batches of 1 ms: 300 reads and deletes cannot fit one.
    let options = Options { sweep_batch: Some(Duration::from_millis(1)), ..Options::default() };
    let store = Store::open_with(dir, settings(), options).unwrap();
    let expired = codec().encode("{}", 1_700_000_000);
    for i in 0..300 {
        put(dir, &format!("expired{i:025}"), expired.as_bytes(), 2 * COOKIE_AGE);
    }
    let mut cursor: Option<String> = None;
    let mut total = SweepReport::default();
    let mut cursors = Vec::new();
    loop {
        let batch = store.sweep(cursor.as_deref()).unwrap();
        total.add(batch.report);
        match batch.cursor {
            Some(next) => {
                assert!(cursor.as_ref().is_none_or(|last| &next > last), "cursors move forward");
                cursors.push(next.clone());
                cursor = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(counts(total), (300, 300, 0));
    assert!(!cursors.is_empty(), "a 1 ms batch cannot cover 300 reads and deletes");
}

/// The listing streams: however many entries the directory holds, the
/// guest keeps at most one window of session names, so a small memory
/// limit still sweeps a big directory (the whole listing used to be held,
/// and a million entries ran out of the default 64 MiB).
#[test]
fn a_big_directory_sweeps_within_a_small_memory_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let options = Options { memory_limit: 8 << 20, ..Options::default() };
    let store = Store::open_with(dir, settings(), options).unwrap();
    // 200,000 entries of another application, ~11 MB of names.
    for i in 0..200_000 {
        std::fs::File::create(dir.join(format!("other-app-cache-entry-{i:08}"))).unwrap();
    }
    let expired = codec().encode("{}", 1_700_000_000);
    put(dir, "expired0000000000000000000000001", expired.as_bytes(), 2 * COOKIE_AGE);
    let live = store.create_json("{}").unwrap();
    let report = store.clear_expired().unwrap();
    assert_eq!(counts(report), (2, 1, 0));
    assert!(store.exists(&live).unwrap());
}

/// A directory for the parallel sweeps: `n` sessions whose keys start with
/// every key character, a third of them expired; names with the prefix
/// that are no key and sort anywhere (below `0`, between `9` and `a`, above
/// `z`, at the cut between two ranges, too short), 16 in all; an expired
/// session with a 40-character key; and another application's file.
/// Returns the names a sweep must leave.
fn parallel_fixture(dir: &Path, n: usize) -> Vec<String> {
    let expired = codec().encode(r#"{"a":1}"#, 1_700_000_000);
    let live = codec().encode(r#"{"a":2}"#, 1_700_000_000);
    let mut kept = Vec::new();
    for (i, c) in "0123456789abcdefghijklmnopqrstuvwxyz".chars().cycle().take(n).enumerate() {
        let key = format!("{c}{i:031}");
        if i % 3 == 0 {
            put(dir, &key, expired.as_bytes(), 2 * COOKIE_AGE);
        } else {
            put(dir, &key, live.as_bytes(), 10);
            kept.push(format!("sessionid{key}"));
        }
    }
    for odd in ["", "!", "-dash", ":", "@", "_under", "`", "i", "h~", "i_", "{", "~tilde", "\u{7f}", "\u{e9}", "abc", "9~"] {
        let name = format!("sessionid{odd}");
        std::fs::write(dir.join(&name), expired.as_bytes()).unwrap();
        age(&dir.join(&name), 2 * COOKIE_AGE);
        kept.push(name);
    }
    put(dir, &"x".repeat(40), expired.as_bytes(), 2 * COOKIE_AGE);
    std::fs::write(dir.join("other-app-file"), b"x").unwrap();
    kept.push("other-app-file".into());
    kept.sort();
    kept
}

/// The names in `dir` that are UTF-8, sorted.
fn utf8_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().filter_map(|e| e.unwrap().file_name().into_string().ok()).collect();
    names.sort();
    names
}

/// A sweep on several threads, each over its own range of names with its
/// own instance, deletes exactly the expired sessions, keeps the live ones
/// and the odd names, and counts every entry exactly once: its totals are a
/// one-thread sweep's, whatever the thread count and however many batches
/// each range takes.
#[test]
fn a_parallel_sweep_counts_every_entry_once_and_deletes_only_the_expired() {
    let n = 1_000;
    let mut reports = Vec::new();
    for (threads, batch) in [(1, None), (2, None), (2, Some(1)), (3, Some(1)), (8, None), (36, None), (64, Some(1))] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let kept = parallel_fixture(dir, n);
        std::fs::write(dir.join(OsStr::from_bytes(b"sessionid\xff")), b"x").unwrap();
        let options = Options { sweep_threads: Some(threads), sweep_batch: batch.map(Duration::from_millis), ..Options::default() };
        let store = Store::open_with(dir, settings(), options).unwrap();
        assert_eq!(store.sweep_threads(), threads);
        let mut last = SweepReport::default();
        let mut calls = 0;
        let report = store
            .clear_expired_with(|total| {
                assert!(total.scanned >= last.scanned && total.deleted >= last.deleted, "progress only grows");
                last = *total;
                calls += 1;
            })
            .unwrap();
        assert_eq!(last, report, "{threads} threads: the last progress is the total");
        assert!(calls >= threads.min(36), "{threads} threads: every range reports ({calls} calls)");
        // The sessions, the 16 odd names, the long key, and (skipped
        // unscanned) the name that is not UTF-8.
        let expired = n.div_ceil(3) as u32 + 1;
        assert_eq!(counts(report), (n as u32 + 16 + 1, expired, 16 + 1), "{threads} threads, batches of {batch:?} ms");
        assert_eq!(utf8_names(dir), kept, "{threads} threads");
        reports.push(report);
    }
    assert!(reports.windows(2).all(|pair| pair[0] == pair[1]));
}

/// Each thread takes its own instance, so a sweep on more threads than the
/// store keeps warm works, and calls made during it get instances too.
#[test]
fn a_parallel_sweep_needs_no_warm_instances() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let kept = parallel_fixture(dir, 300);
    let options = Options { sweep_threads: Some(4), max_idle_instances: 0, ..Options::default() };
    let store = Store::open_with(dir, settings(), options).unwrap();
    let live = kept.iter().find_map(|name| name.strip_prefix("sessionid").filter(|k| k.len() == 32)).unwrap().to_owned();
    let report = store.clear_expired_with(|_| assert!(store.exists(&live).unwrap())).unwrap();
    assert_eq!(counts(report), (300 + 16 + 1, 100 + 1, 16));
    assert_eq!(utf8_names(dir), kept);
}

/// Through the component, the sweep judges every kind of file as a
/// verified decode would, though it computes the HMAC only where the
/// signature decides: genuine, fallback-signed, forged, tampered, unsigned
/// and non-ASCII files, corrupt or too large under a genuine signature,
/// with every kind of expiry, young and old; and, at the default 1 MiB
/// limit, sessions that inflate past what the sweep reads unverified.
#[test]
fn the_sweep_judges_every_file_as_a_verified_decode_would() {
    use sessionbox_guest::fuzz::{expiry_payloads, sweep_grid, verified_verdict};
    use sessionbox_guest::Time;
    for max_session_size in [4000, sessionbox::DEFAULT_MAX_SESSION_SIZE] {
        let mut s = settings();
        s.cookie_age = 100;
        s.fallback_keys = vec!["old-secret".to_owned()];
        s.max_session_size = max_session_size;
        let limit = max_session_size as usize;
        let salt = sessionbox::DEFAULT_KEY_SALT;
        let signers = [Codec::new(SECRET, &[], salt), Codec::new("old-secret", &[], salt), Codec::new("another-secret", &[], salt)];
        let pad = |n: usize| "a".repeat(n);
        let mut payloads = expiry_payloads();
        payloads.extend([
            // Past the limit; within it but inflating past 16 bytes per stored byte.
            format!(r#"{{"_session_expiry":-1,"pad":"{}"}}"#, pad(limit + 10)),
            format!(r#"{{"_session_expiry":-1,"pad":"{}"}}"#, pad(limit - 40)),
            format!(r#"{{"pad":"{}"}}"#, pad(limit - 20)),
        ]);
        let files = sweep_grid(&signers, &payloads);
        let reference = Codec::new(SECRET, &s.fallback_keys, salt);
        let dir = tempfile::tempdir().unwrap();
        let mut expected = SweepReport::default();
        let mut kept = Vec::new();
        for (i, content) in files.iter().enumerate() {
            for (secs, tag) in [(10, "young"), (200, "old")] {
                let key = format!("{tag}{i:08}x");
                put(dir.path(), &key, content, secs);
                let path = dir.path().join(format!("sessionid{key}"));
                let modified = Time::from_system_time(std::fs::metadata(&path).unwrap().modified().unwrap());
                let now = Time::from_system_time(SystemTime::now());
                expected.scanned += 1;
                match verified_verdict(&reference, content, limit, modified, now, 100) {
                    None => {
                        expected.skipped += 1;
                        kept.push(format!("sessionid{key}"));
                    }
                    Some(true) => expected.deleted += 1,
                    Some(false) => kept.push(format!("sessionid{key}")),
                }
            }
        }
        assert!(expected.deleted > 20 && expected.skipped > 5 && kept.len() > 40, "the grid covers every verdict: {expected:?}");
        let store = Store::open(dir.path(), s).unwrap();
        assert_eq!(store.clear_expired().unwrap(), expected, "limit {max_session_size}");
        kept.sort();
        assert_eq!(crate::support::file_names(dir.path()), kept, "limit {max_session_size}");
    }
}
