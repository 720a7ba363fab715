//! Whole-process figures: one-shot CLI wall time (cold and warm compile
//! cache) and the host's peak RSS.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Median wall time of `sessionbox get KEY`, in ms: with an empty compile
/// cache (every run compiles the component) and with a warm one.
#[derive(Clone, Copy, Debug, Default)]
pub struct CliTimes {
    pub cold_ms: f64,
    pub warm_ms: f64,
}

fn sessionbox(dir: &Path, cache: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessionbox-cli"));
    cmd.arg("--dir").arg(dir).args(args);
    cmd.env("SESSIONBOX_SECRET_KEY", "benchmark-secret").env("SESSIONBOX_CACHE_DIR", cache);
    cmd
}

fn wall_ms(cmd: &mut Command) -> f64 {
    let start = Instant::now();
    let out = cmd.output().expect("run sessionbox");
    let ms = start.elapsed().as_secs_f64() * 1e3;
    assert!(out.status.success(), "sessionbox failed: {}", String::from_utf8_lossy(&out.stderr));
    ms
}

pub fn cli_times(runs: usize) -> CliTimes {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (dir, warm_cache) = (tmp.path().join("sessions"), tmp.path().join("cache"));
    let out = sessionbox(&dir, &warm_cache, &["create", r#"{"_auth_user_id":"42"}"#]).output().expect("create");
    let key: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let key = key["key"].as_str().expect("key").to_owned();
    let warm = (0..runs).map(|_| wall_ms(&mut sessionbox(&dir, &warm_cache, &["get", &key]))).collect();
    let cold = (0..runs.min(5))
        .map(|i| wall_ms(&mut sessionbox(&dir, &tmp.path().join(format!("cold{i}")), &["get", &key])))
        .collect();
    CliTimes { cold_ms: crate::median(cold), warm_ms: crate::median(warm) }
}

/// Peak RSS (kB) of a host process that does real work: this binary re-run
/// with `--rss-probe`.
pub fn rss_of_probe() -> u64 {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = Command::new(std::env::current_exe().expect("own path")).arg("--rss-probe").arg(tmp.path()).output().expect("probe");
    assert!(out.status.success(), "rss probe failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("kB")
}

/// The probe: two threads creating and loading 4 KB sessions through one
/// store, then print VmHWM in kB.
pub fn rss_probe(dir: &Path) {
    let store = sessionbox::Store::open(dir, sessionbox::Settings::new("benchmark-secret")).expect("open");
    let data = sessionbox::parse_data(&crate::big_session(0)).expect("data");
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..2_000 {
                    let key = store.create(&data).expect("create");
                    store.load(&key).expect("load");
                }
            });
        }
    });
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let hwm = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).expect("VmHWM");
    println!("{}", hwm.trim().trim_end_matches("kB").trim());
}
