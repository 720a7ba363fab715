//! `--only sweep`: `clear-expired` over one directory (100k sessions, 10k
//! with `--quick`, a tenth of them expired) on one thread and on two, beside
//! the same logic natively and the syscall floor; what listing the directory
//! costs on its own; and how long loads on another thread of the same
//! `Store` take while a sweep runs.
//!
//! Every round sweeps a fresh hard-link copy of one fixture per variant, the
//! variants in a rotated order (so none always runs first, after the copy's
//! writeback); the figures are medians over rounds, and the speed-ups are
//! medians of same-round ratios.

use crate::variants::{self, Payload};
use crate::workloads::{self, median};
use sessionbox::{Durability, Options, Store};
use sessionbox_guest::native::{NativeDir, NativeSystem};
use sessionbox_guest::{SessionStore, Settings};
use std::fmt::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The timed sweeps, in table order.
const VARIANTS: [&str; 8] = [
    "floor, 1 thread",
    "floor, 2 threads",
    "native, 1 thread",
    "native, 2 threads",
    "component, 1 thread",
    "component, 2 threads",
    "CPU alone, 1 thread",
    "CPU alone, 2 threads",
];
const FLOOR_1: usize = 0;
const FLOOR_2: usize = 1;
const NATIVE_1: usize = 2;
const NATIVE_2: usize = 3;
const COMPONENT_1: usize = 4;
const COMPONENT_2: usize = 5;
const CPU_1: usize = 6;
const CPU_2: usize = 7;

/// Loads on the other thread start this far apart: a steady request rate,
/// not a thread that competes for a core with the sweep.
const LOAD_EVERY: Duration = Duration::from_micros(500);

/// What `--only sweep` measured.
pub struct Sweep {
    n: usize,
    rounds: usize,
    /// ms per sweep, per variant, per round.
    times: [Vec<f64>; VARIANTS.len()],
    /// ms to list the fixture with no name matching the prefix (component,
    /// native), per round.
    listing: [Vec<f64>; 2],
    /// Load latencies in µs with no sweep, during a one-thread and during a
    /// two-thread component sweep (all rounds pooled), and those sweeps'
    /// ms per round.
    loads: [Vec<f64>; 3],
    sweeps_under_load: [Vec<f64>; 2],
}

/// Sweeps `n` sessions `rounds` times in each variant.
pub fn measure(n: usize, rounds: usize, data: &Payload) -> Sweep {
    let fixture = tempfile::tempdir().expect("tempdir");
    let base = fixture.path().join("base");
    std::fs::create_dir(&base).expect("mkdir");
    workloads::sweep_fixture(&base, n, data);
    let live = live_keys(&base, 256);
    let mut s = Sweep { n, rounds, times: Default::default(), listing: Default::default(), loads: Default::default(), sweeps_under_load: Default::default() };
    let expired = (n / 10) as u32;
    let mut copies = 0;
    let mut fresh_copy = || {
        copies += 1;
        let copy = fixture.path().join(format!("c{copies}"));
        workloads::link_copy(&base, &copy);
        workloads::settle();
        copy
    };
    for round in 0..rounds {
        for step in 0..VARIANTS.len() {
            let variant = (step + round) % VARIANTS.len();
            if variant == CPU_1 || variant == CPU_2 {
                let start = Instant::now();
                spin(if variant == CPU_1 { 1 } else { 2 });
                s.times[variant].push(start.elapsed().as_secs_f64() * 1e3);
                continue;
            }
            let copy = fresh_copy();
            // Opened untimed, as in the main table.
            let sweep: Box<dyn FnOnce() -> u32 + '_> = match variant {
                FLOOR_1 | FLOOR_2 => Box::new(|| floor_sweep(&copy, if variant == FLOOR_1 { 1 } else { 2 })),
                NATIVE_1 | NATIVE_2 => Box::new(|| native_sweep(&copy, if variant == NATIVE_1 { 1 } else { 2 })),
                _ => {
                    let store = component(&copy, if variant == COMPONENT_1 { 1 } else { 2 }, "sessionid");
                    Box::new(move || store.clear_expired().expect("sweep").deleted)
                }
            };
            let start = Instant::now();
            let deleted = sweep();
            s.times[variant].push(start.elapsed().as_secs_f64() * 1e3);
            assert_eq!(deleted, expired, "{} swept the wrong number of files", VARIANTS[variant]);
            std::fs::remove_dir_all(&copy).expect("cleanup");
        }
        // Listing alone: a prefix no name has, so nothing is judged.
        let store = component(&base, 1, "nomatch");
        let start = Instant::now();
        assert_eq!(store.clear_expired().expect("listing").scanned, 0);
        s.listing[0].push(start.elapsed().as_secs_f64() * 1e3);
        let native = native_store(&base, "nomatch");
        let start = Instant::now();
        assert_eq!(native.clear_expired().expect("listing").scanned, 0);
        s.listing[1].push(start.elapsed().as_secs_f64() * 1e3);

        // Loads beside a sweep of the same Store, and beside none (for as
        // long as the last two-thread sweep took).
        for (slot, threads) in [(0, 0), (1, 1), (2, 2)] {
            let copy = fresh_copy();
            let store = component(&copy, threads.max(1), "sessionid");
            let done = AtomicBool::new(false);
            let latencies = std::thread::scope(|scope| {
                let loads = scope.spawn(|| timed_loads(&store, &live, &done));
                if threads == 0 {
                    std::thread::sleep(Duration::from_secs_f64(s.times[COMPONENT_2].last().copied().unwrap_or(500.0) / 1e3));
                } else {
                    let start = Instant::now();
                    assert_eq!(store.clear_expired().expect("sweep").deleted, expired);
                    s.sweeps_under_load[threads - 1].push(start.elapsed().as_secs_f64() * 1e3);
                }
                done.store(true, Ordering::Relaxed);
                loads.join().expect("load thread")
            });
            s.loads[slot].extend(latencies);
            std::fs::remove_dir_all(&copy).expect("cleanup");
        }
        eprintln!(
            "sweep round {round}: {} ms; listing only: component {:.1} ms, native {:.1} ms",
            VARIANTS.iter().zip(&s.times).map(|(name, t)| format!("{name} {:.1}", t.last().unwrap())).collect::<Vec<_>>().join(", "),
            s.listing[0].last().unwrap(),
            s.listing[1].last().unwrap()
        );
    }
    s
}

/// The component with `threads` sweep threads and the benchmark's settings
/// (under another `prefix` to list without judging).
fn component(dir: &Path, threads: usize, prefix: &str) -> Store {
    let mut settings = variants::settings(Durability::None);
    settings.file_prefix = prefix.into();
    Store::open_with(dir, settings, Options { sweep_threads: Some(threads), ..Options::default() }).expect("open store")
}

fn native_store(dir: &Path, prefix: &str) -> SessionStore<sessionbox_guest::Files<NativeDir>, NativeSystem> {
    let mut settings: Settings = variants::settings(Durability::None);
    settings.file_prefix = prefix.into();
    SessionStore::new(NativeDir::open(dir).expect("open dir"), NativeSystem, settings).expect("store")
}

/// The guest's sweep compiled natively, over the same ranges the host
/// splits a sweep into, one thread (and store) per range.
fn native_sweep(dir: &Path, threads: usize) -> u32 {
    let ranges = sessionbox_guest::sweep_ranges("sessionid", threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .iter()
            .map(|range| {
                scope.spawn(move || {
                    let store = native_store(dir, "sessionid");
                    let mut deleted = 0;
                    let mut cursor = range.after.clone();
                    loop {
                        let batch = store.sweep_range(cursor.as_deref(), range.upto.as_deref(), None).expect("sweep");
                        deleted += batch.report.deleted;
                        match batch.cursor {
                            Some(next) => cursor = Some(next),
                            None => return deleted,
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("sweep thread")).sum()
    })
}

/// The floor's sweep (the same syscalls as `Floor::clear_expired`: list,
/// stat, read, unlink what is old, nothing decoded) over the ranges a
/// sweep on `threads` threads uses, each thread listing the directory and
/// taking the names in its range.
fn floor_sweep(dir: &Path, threads: usize) -> u32 {
    let ranges = sessionbox_guest::sweep_ranges("sessionid", threads);
    let cookie_age = Duration::from_secs(1_209_600);
    std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .iter()
            .map(|range| {
                scope.spawn(move || {
                    let now = SystemTime::now();
                    let mut deleted = 0;
                    for entry in std::fs::read_dir(dir).expect("readdir") {
                        let entry = entry.expect("entry");
                        let name = entry.file_name();
                        let name = name.as_encoded_bytes();
                        if range.after.as_ref().is_some_and(|after| name <= after.as_bytes()) || range.upto.as_ref().is_some_and(|upto| name > upto.as_bytes()) {
                            continue;
                        }
                        let path = entry.path();
                        let meta = std::fs::symlink_metadata(&path).expect("stat");
                        let _content = variants::read_noatime(&path);
                        if meta.modified().expect("mtime") + cookie_age < now {
                            std::fs::remove_file(&path).expect("unlink");
                            deleted += 1;
                        }
                    }
                    deleted
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("sweep thread")).sum()
    })
}

/// A fixed amount of arithmetic split over `threads` threads: how much two
/// threads gain on this machine at this moment when nothing but the CPU is
/// involved (other work on a shared VM takes cores away).
fn spin(threads: u64) {
    const WORK: u64 = 200_000_000;
    std::thread::scope(|scope| {
        for t in 0..threads {
            scope.spawn(move || {
                let mut x = t + 1;
                for _ in 0..WORK / threads {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                }
                std::hint::black_box(x);
            });
        }
    });
}

/// Up to `count` keys of sessions in `dir` a sweep keeps (written within the
/// last day).
fn live_keys(dir: &Path, count: usize) -> Vec<String> {
    let recent = SystemTime::now() - Duration::from_secs(86_400);
    std::fs::read_dir(dir)
        .expect("readdir")
        .map(|e| e.expect("entry"))
        .filter(|e| e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t > recent))
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_prefix("sessionid")).map(str::to_owned))
        .take(count)
        .collect()
}

/// µs per load of `keys` in turn, one every [`LOAD_EVERY`], until `done`.
fn timed_loads(store: &Store, keys: &[String], done: &AtomicBool) -> Vec<f64> {
    let mut latencies = Vec::new();
    let mut next = Instant::now();
    for key in keys.iter().cycle() {
        if done.load(Ordering::Relaxed) {
            break;
        }
        let start = Instant::now();
        assert!(matches!(store.load(key), Ok(sessionbox::Loaded::Found { .. })), "load {key}");
        latencies.push(start.elapsed().as_secs_f64() * 1e6);
        next += LOAD_EVERY;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        } else {
            next = Instant::now();
        }
    }
    latencies
}

/// The `q` quantile of `xs` (nearest rank).
fn quantile(xs: &[f64], q: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1))).copied().unwrap_or(f64::NAN)
}

/// Median of same-round ratios `a[i] / b[i]`.
fn ratio(a: &[f64], b: &[f64]) -> (f64, Vec<f64>) {
    let per_round: Vec<f64> = a.iter().zip(b).map(|(a, b)| a / b).collect();
    (median(per_round.clone()), per_round)
}

impl Sweep {
    /// How much faster the component sweeps on 2 threads than on 1: the
    /// median of same-round ratios.
    /// The sessions this workload sweeps.
    pub fn sessions(&self) -> usize {
        self.n
    }

    /// Median ms of a component sweep on two threads (every core here).
    pub fn component_two_threads_ms(&self) -> f64 {
        median(self.times[COMPONENT_2].clone())
    }

    pub fn speedup(&self) -> f64 {
        ratio(&self.times[COMPONENT_1], &self.times[COMPONENT_2]).0
    }
}

/// The section as markdown, for a run made with `command`.
pub fn section(s: &Sweep, command: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## clear-expired on threads\n");
    let _ = writeln!(
        out,
        "Command: `{command}`. {} sessions of ~200 B, a tenth expired; {} rounds, each variant on a fresh hard-link copy, in rotated order; medians of rounds, and speed-ups as medians of same-round ratios. Available parallelism here: {}.\n",
        s.n,
        s.rounds,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let _ = writeln!(out, "| sweep | ms | / floor on as many threads (same round) |\n|---|---|---|");
    for (i, (name, times)) in VARIANTS.iter().zip(&s.times).enumerate() {
        let floor = match i {
            CPU_1 | CPU_2 => "–".to_owned(),
            _ => format!("{:.2}×", ratio(times, &s.times[if i % 2 == 0 { FLOOR_1 } else { FLOOR_2 }]).0),
        };
        let _ = writeln!(out, "| {name} | {:.1} | {floor} |", median(times.clone()));
    }
    let fmt = |v: &[f64]| v.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(", ");
    let (component, rounds) = (s.speedup(), ratio(&s.times[COMPONENT_1], &s.times[COMPONENT_2]).1);
    let (native, native_rounds) = ratio(&s.times[NATIVE_1], &s.times[NATIVE_2]);
    let (per_thread, _) = ratio(&s.times[COMPONENT_1], &s.times[NATIVE_1]);
    let (two, _) = ratio(&s.times[COMPONENT_2], &s.times[NATIVE_2]);
    let _ = writeln!(out, "\n- component, 2 threads / 1 thread: **{component:.2}×** faster (target ≥ 1.7×; rounds: {})", fmt(&rounds));
    let _ = writeln!(out, "- native, 2 threads / 1 thread: {native:.2}× faster (rounds: {})", fmt(&native_rounds));
    let (floor, floor_rounds) = ratio(&s.times[FLOOR_1], &s.times[FLOOR_2]);
    let (cpu, cpu_rounds) = ratio(&s.times[CPU_1], &s.times[CPU_2]);
    let _ = writeln!(out, "- the bounds here: the floor's syscalls, 2 threads / 1 thread: {floor:.2}× (rounds: {}); arithmetic alone, 2 threads / 1 thread: {cpu:.2}× (rounds: {})", fmt(&floor_rounds), fmt(&cpu_rounds));
    let _ = writeln!(out, "- component / native: {per_thread:.2}× on 1 thread, {two:.2}× on 2 threads");
    let (list_c, list_n) = (median(s.listing[0].clone()), median(s.listing[1].clone()));
    let _ = writeln!(
        out,
        "- listing the {} entries alone (a prefix no name has): component {list_c:.1} ms, native {list_n:.1} ms; {:.1}% of a one-thread component sweep. Each range lists the whole directory once per window of 65,536 names, so two ranges list it twice in all, each thread once.",
        s.n,
        100.0 * list_c / median(s.times[COMPONENT_1].clone())
    );
    let _ = writeln!(
        out,
        "\nLoads of ~200 B sessions on another thread of the same `Store`, one every {} µs, beside no sweep and beside a component sweep (that sweep's median: {:.1} ms on 1 thread, {:.1} ms on 2):\n",
        LOAD_EVERY.as_micros(),
        median(s.sweeps_under_load[0].clone()),
        median(s.sweeps_under_load[1].clone())
    );
    let _ = writeln!(out, "| beside | loads | p50 µs | p99 µs | max µs |\n|---|---|---|---|---|");
    for (name, loads) in ["no sweep", "a 1-thread sweep", "a 2-thread sweep"].iter().zip(&s.loads) {
        let _ = writeln!(out, "| {name} | {} | {:.1} | {:.1} | {:.1} |", loads.len(), quantile(loads, 0.5), quantile(loads, 0.99), quantile(loads, 1.0));
    }
    out
}
