//! `--only operators`: logging one user out everywhere
//! (`Store::revoke_user`, what `sessionbox revoke-user` runs) beside
//! `clear-expired` on the same directory: 100k sessions (10k with
//! `--quick`), a tenth expired, 1 % of them one user's.
//!
//! Both read and verify every session file (the revocation decodes each
//! one's data to find `_auth_user_id`; the sweep decodes to judge expiry),
//! on every core. Every round runs each on a fresh hard-link copy of one
//! fixture, in alternating order; figures are medians over rounds, and the
//! ratio is the median of same-round ratios.

use crate::variants::{self, Native, Payload, Variant};
use crate::workloads::{self, median};
use sessionbox::{Durability, Options, Store};
use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// The user whose sessions are revoked.
const USER: &str = "7";

/// What `--only operators` measured.
pub struct Operators {
    n: usize,
    theirs: usize,
    expired: usize,
    rounds: usize,
    threads: usize,
    /// ms per round: revoke_user, clear_expired.
    revoke: Vec<f64>,
    sweep: Vec<f64>,
}

/// Writes the fixture: `n` live sessions of other users, every 100th the
/// user's, every 10th (never the user's) older than the cookie age.
fn fixture(dir: &Path, n: usize, others: &Payload, theirs: &Payload) -> (usize, usize) {
    let mut v = Native::open(dir, Durability::None);
    let old = SystemTime::now() - Duration::from_secs(1_209_600 + 3600);
    let (mut mine, mut expired) = (0, 0);
    for i in 0..n {
        if i % 100 == 0 {
            v.create(theirs);
            mine += 1;
            continue;
        }
        let key = v.create(others);
        if i % 10 == 5 {
            let f = std::fs::File::options().write(true).open(dir.join(format!("sessionid{key}"))).expect("open");
            f.set_modified(old).expect("age file");
            expired += 1;
        }
    }
    (mine, expired)
}

fn store(dir: &Path) -> Store {
    Store::open_with(dir, variants::settings(Durability::None), Options::default()).expect("open store")
}

/// Runs `rounds` rounds over a fixture of `n` sessions.
pub fn measure(n: usize, rounds: usize, others: &Payload, theirs: &Payload) -> Operators {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path().join("base");
    std::fs::create_dir(&base).expect("mkdir");
    let (mine, expired) = fixture(&base, n, others, theirs);
    let threads = store(&base).options().sweep_threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(8));
    let mut out = Operators { n, theirs: mine, expired, rounds, threads, revoke: Vec::new(), sweep: Vec::new() };
    for round in 0..rounds {
        for step in 0..2 {
            let revoke_now = (round + step) % 2 == 0;
            let copy = tmp.path().join(format!("r{round}-{step}"));
            workloads::link_copy(&base, &copy);
            let s = store(&copy);
            let started = Instant::now();
            if revoke_now {
                let r = s.revoke_user(USER, None).expect("revoke_user");
                out.revoke.push(started.elapsed().as_secs_f64() * 1e3);
                assert_eq!((r.found as usize, r.deleted as usize, r.scan.scanned as usize), (mine, mine, n), "revoke_user: {r:?}");
            } else {
                let r = s.clear_expired().expect("clear_expired");
                out.sweep.push(started.elapsed().as_secs_f64() * 1e3);
                assert_eq!(r.deleted as usize, expired, "clear_expired: {r:?}");
            }
            drop(s);
            std::fs::remove_dir_all(&copy).expect("rm copy");
        }
        eprintln!("operators round {round}: revoke_user {:.1} ms, clear_expired {:.1} ms", out.revoke[round], out.sweep[round]);
    }
    out
}

/// The section for BENCHMARKS.md.
pub fn section(o: &Operators, command: &str) -> String {
    let mut out = String::new();
    let per_round: Vec<f64> = o.revoke.iter().zip(&o.sweep).map(|(r, s)| r / s).collect();
    let fmt = |v: &[f64]| v.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(", ");
    let _ = writeln!(out, "## Operators: revoke-user beside clear-expired\n");
    let _ = writeln!(
        out,
        "Command: `{command}`. One directory of {} sessions of ~200 B: {} of them (1 %) user {USER}'s, {} others expired. Per round each operation runs on a fresh hard-link copy, in alternating order, through the component on {} sweep threads; {} rounds, medians, the ratio a median of same-round ratios.\n",
        o.n, o.theirs, o.expired, o.threads, o.rounds
    );
    let _ = writeln!(out, "| operation | deletes | ms |\n|---|---|---|");
    let _ = writeln!(out, "| `revoke_user(\"{USER}\")` (`sessionbox revoke-user {USER}`) | {} | {:.1} |", o.theirs, median(o.revoke.clone()));
    let _ = writeln!(out, "| `clear_expired()` (`sessionbox clear-expired`) | {} | {:.1} |", o.expired, median(o.sweep.clone()));
    let _ = writeln!(out, "\n- revoke-user / clear-expired: **{:.2}×** (rounds: {})", median(per_round.clone()), fmt(&per_round));
    let _ = writeln!(out, "{}", "- both read every session file; revoke-user also decodes each session's data for `_auth_user_id`, and deletes a tenth as many files as the sweep.");
    out
}
