//! Django's file backend, run by `django_bench.py` in the venv the interop
//! tests install (when it is there).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where the tests install outside tools once per machine.
pub fn tools_dir() -> Option<PathBuf> {
    match std::env::var_os("SESSIONBOX_TOOLS_DIR") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => Some(PathBuf::from(std::env::var_os("HOME")?).join(".cache/sessionbox-tools")),
    }
}

/// The venv's python, if the interop tests have installed it.
pub fn python() -> Option<PathBuf> {
    let python = tools_dir()?.join("django-5.2-venv/bin/python");
    python.exists().then_some(python)
}

/// µs per op of `workload` over `dir` with `n` ops (or one sweep).
pub fn run(python: &Path, dir: &Path, workload: &str, n: usize, data_json: &str) -> f64 {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/sessions/django_bench.py");
    let job = format!(r#"{{"dir":{:?},"workload":"{workload}","n":{n},"data":{data_json}}}"#, dir.display().to_string());
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start python");
    child.stdin.take().expect("stdin").write_all(job.as_bytes()).expect("send job");
    let out = child.wait_with_output().expect("python ran");
    assert!(out.status.success(), "django_bench.py failed for {workload}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json from django_bench.py");
    v["us_per_op"].as_f64().expect("us_per_op")
}
