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

/// The `redis` client Django's `RedisCache` needs, as the tests install it.
const REDIS_PY_REQUIREMENT: &str = "redis==5.*";

/// The venv's python with redis-py, for Django's cache session backend on
/// Redis: installed into the venv (under the tests' lock and marker file,
/// `redis-py-version.txt`) when missing. Err says why there is none.
pub fn redis_python() -> Result<PathBuf, String> {
    let python = python().ok_or("the Django venv is not installed (run the interop tests once)")?;
    let venv = python.parent().and_then(Path::parent).ok_or("odd venv path")?.to_owned();
    let done = venv.join("redis-py-version.txt");
    if done.exists() {
        return Ok(python);
    }
    let lock_path = tools_dir().ok_or("no tools dir")?.join("django-5.2-venv.lock");
    let lock = std::fs::File::create(&lock_path).map_err(|e| format!("creating {}: {e}", lock_path.display()))?;
    lock.lock().map_err(|e| format!("locking {}: {e}", lock_path.display()))?;
    if !done.exists() {
        eprintln!("installing redis-py into {} for Django's Redis cache backend", venv.display());
        let pip = Command::new(&python)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", REDIS_PY_REQUIREMENT])
            .env("PIP_NO_INPUT", "1")
            .output()
            .map_err(|e| format!("running pip: {e}"))?;
        if !pip.status.success() {
            return Err(format!("pip install {REDIS_PY_REQUIREMENT} failed: {}", String::from_utf8_lossy(&pip.stderr).trim()));
        }
        let version = Command::new(&python).args(["-c", "import redis; print(redis.__version__)"]).output().map_err(|e| e.to_string())?;
        if !version.status.success() {
            return Err("redis-py does not import after pip install".into());
        }
        std::fs::write(&done, &version.stdout).map_err(|e| format!("writing {}: {e}", done.display()))?;
    }
    Ok(python)
}
