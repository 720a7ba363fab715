//! The Python engine (python/, `sessionbox_django.file`) beside Django's
//! file backend in one Python process, run by `python_bench.py`: per
//! operation, and where the engine's time goes (inside wasmtime's component
//! call, and outside it in wasmtime-py's binding layer and the engine).
//!
//! The wheel is built from python/ and installed (`pip install --target`)
//! into a scratch directory on the Django venv's path; the venv must hold
//! wasmtime-py and setuptools, which the `django_engine` tests install.

use crate::django;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One workload's medians, µs per operation.
pub struct Row {
    pub workload: String,
    pub django: f64,
    pub sessionbox: f64,
    /// sessionbox again, in the pass that times each component call.
    pub counted: f64,
    /// Inside `wasmtime_component_func_call` (in that pass): the guest and
    /// the WASI host.
    pub in_call: f64,
    /// Component calls per operation.
    pub calls: f64,
}

/// A component call without a session's storage work.
pub struct Bare {
    pub what: String,
    pub total: f64,
    pub in_call: f64,
}

/// What `python_bench.py` measured.
pub struct PythonBench {
    pub rows: Vec<Row>,
    pub bare: Vec<Bare>,
    pub versions: String,
    pub n: usize,
    pub rounds: usize,
}

fn run(cmd: &mut Command, what: &str) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The Django venv's python with the freshly built engine on its path (the
/// directory returned holds it); Err says what is missing.
fn engine(scratch: &Path) -> Result<PathBuf, String> {
    let python = django::python().ok_or("the Django venv is not installed (run `cargo test -p sessionbox-tests --test all django_engine::` once)")?;
    run(Command::new(&python).args(["-c", "import wasmtime.component, setuptools"]), "wasmtime-py and setuptools in the Django venv (the django_engine tests install them)")?;
    let python_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../python");
    let wheels = scratch.join("wheel");
    run(
        Command::new(&python).args(["-m", "pip", "wheel", "--disable-pip-version-check", "--quiet", "--no-deps", "--no-build-isolation", "-w"]).arg(&wheels).arg(python_dir),
        "building the wheel",
    )?;
    let wheel = std::fs::read_dir(&wheels).map_err(|e| e.to_string())?.filter_map(Result::ok).map(|e| e.path()).find(|p| p.extension().is_some_and(|e| e == "whl")).ok_or("pip wheel made no wheel")?;
    let site = scratch.join("site");
    run(Command::new(&python).args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--no-deps", "--target"]).arg(&site).arg(&wheel), "installing the wheel")?;
    Ok(site)
}

/// Runs the workloads: `n` ops per round, `rounds` interleaved rounds.
pub fn measure(n: usize, rounds: usize, data_json: &str, update_json: &str) -> Result<PythonBench, String> {
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let site = engine(scratch.path())?;
    let python = django::python().ok_or("no Django venv")?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/sessions/python_bench.py");
    let job = format!(r#"{{"n":{n},"rounds":{rounds},"data":{data_json},"update":{update_json}}}"#);
    let mut child = Command::new(&python)
        .arg(script)
        .env("PYTHONPATH", &site)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(scratch.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting python: {e}"))?;
    child.stdin.take().ok_or("no stdin")?.write_all(job.as_bytes()).map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("python_bench.py failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("python_bench.py's output: {e}"))?;
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let rows = ["create", "load", "update-save", "delete"]
        .iter()
        .map(|w| {
            let r = &v["rows"][w];
            Row { workload: (*w).to_owned(), django: f(&r["django"]), sessionbox: f(&r["sessionbox"]), counted: f(&r["counted"]), in_call: f(&r["in_call"]), calls: f(&r["calls"]) }
        })
        .collect();
    let bare = ["bare call", "decode-cookie ~200 B"].iter().map(|w| Bare { what: (*w).to_owned(), total: f(&v["bare"][w]["total"]), in_call: f(&v["bare"][w]["in_call"]) }).collect();
    let versions = format!(
        "Python {}, Django {}, wasmtime-py {}",
        v["python"].as_str().unwrap_or("?"),
        v["django"].as_str().unwrap_or("?"),
        v["wasmtime_py"].as_str().unwrap_or("?")
    );
    Ok(PythonBench { rows, bare, versions, n, rounds })
}

const BEGIN: &str = "<!-- python section: written by `--only python` and by the full run -->";
const END: &str = "<!-- end of python section -->";

/// The section for BENCHMARKS.md.
pub fn section(r: &Result<PythonBench, String>, command: &str) -> String {
    let mut s = String::from("## Python: the Django engine beside Django's file backend\n\n");
    let p = match r {
        Ok(p) => p,
        Err(e) => return s + &format!("Not measured: {e}.\n"),
    };
    s += &format!(
        "Command: `{command}`. `sessionbox_django.file` (python/, the component through wasmtime-py) and \
         `django.contrib.sessions.backends.file` in one Python process ({}), ~200 B session, durability `none` \
         (Django's backend never fsyncs); medians of {} interleaved rounds of {} operations on fresh directories, µs per operation. \
         The breakdown comes from a separate pass that times every component call: \"inside the call\" is the time in \
         wasmtime's `wasmtime_component_func_call` (the guest and the WASI host functions it calls), \"outside\" the rest of \
         that pass's operation: wasmtime-py lowering the arguments (the settings record) and lifting the result, and the \
         engine's Python.\n\n",
        p.versions, p.rounds, p.n
    );
    s += "| workload | Django file µs | sessionbox_django µs | sessionbox/Django | inside the call µs | outside it µs | calls/op |\n|---|---|---|---|---|---|---|\n";
    for r in &p.rows {
        s += &format!(
            "| {} | {:.1} | {:.1} | {:.2}× | {:.1} | {:.1} | {:.0} |\n",
            r.workload,
            r.django,
            r.sessionbox,
            r.sessionbox / r.django,
            r.in_call,
            r.counted - r.in_call,
            r.calls
        );
    }
    s += "\nThe component call without a session's storage work (`decode-cookie`, which touches no storage), µs per call:\n\n";
    s += "| call | total µs | inside the call µs | outside it µs |\n|---|---|---|---|\n";
    for b in &p.bare {
        let what = match b.what.as_str() {
            "bare call" => "bare call: `decode-cookie` of an empty value".to_owned(),
            _ => "`decode-cookie` of a ~200 B session's cookie: a load's signature check and decoding, no filesystem".to_owned(),
        };
        s += &format!("| {what} | {:.1} | {:.1} | {:.1} |\n", b.total, b.in_call, b.total - b.in_call);
    }
    s
}

/// Puts `section` into BENCHMARKS.md at `path`, replacing the one there (or
/// before the hand-kept notes when there is none).
pub fn write_into(path: &str, section: &str) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{section}{END}\n");
    let new = match (text.find(BEGIN), text.find(END)) {
        (Some(b), Some(e)) if e > b => format!("{}{block}{}", &text[..b], text[e + END.len()..].trim_start_matches('\n')),
        _ => match text.find("## Notes on the figures") {
            Some(at) => format!("{}{block}\n{}", &text[..at], &text[at..]),
            None => format!("{}\n{block}", text.trim_end()),
        },
    };
    std::fs::write(path, new)
}
