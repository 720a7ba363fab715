//! The Node workload (`--only node`): the express-session store of `js/`
//! (`sessionbox-express`, the component through jco) beside
//! session-file-store and express-session's MemoryStore, in one Node
//! process, per operation on a ~200 B session; and where the store's time
//! goes. `js/bench/bench.mjs` measures; this renders its JSON as a section
//! of BENCHMARKS.md.
//!
//! It needs `js/node_modules` (`npm ci` in `js/`, or one run of the
//! `node_store::` tests, which link it) and Node 20 on `PATH`; without
//! them the section says "not measured", and on CI (`CI` set) it fails.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The section's heading; a run replaces the section under it.
const HEADING: &str = "## Node: express-session stores in one process";
/// The hand-kept notes the section goes before, when it is not there yet.
const BEFORE: &str = "## Notes on the figures (kept by hand)";

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../js")
}

/// Runs the workload: `ops` sessions per round, `rounds` rounds.
pub fn measure(ops: usize, rounds: usize) -> Result<Value, String> {
    let js = js_dir();
    if !js.join("node_modules").exists() {
        return Err("js/node_modules is missing: run `npm ci` in js/ (or the node_store:: tests once)".into());
    }
    let build = Command::new("node").arg("scripts/build.mjs").current_dir(&js).output().map_err(|e| format!("running node: {e}"))?;
    if !build.status.success() {
        return Err(format!("building js/gen failed: {}", String::from_utf8_lossy(&build.stderr)));
    }
    let out = Command::new("node")
        .arg("bench/bench.mjs")
        .arg(super::auth_session(0))
        .arg(super::auth_session(1))
        .args(["--ops", &ops.to_string(), "--rounds", &rounds.to_string()])
        .current_dir(&js)
        .env_remove("NODE_OPTIONS")
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("running node bench/bench.mjs: {e}"))?;
    if !out.status.success() {
        return Err(format!("node bench/bench.mjs failed ({})", out.status));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("bench.mjs printed no JSON: {e}"))
}

fn us(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.1}"),
        None => "—".into(),
    }
}

fn ratio(a: &Value, b: &Value) -> String {
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".into(),
    }
}

/// The section, from [`measure`]'s result; `command` is how it was run.
pub fn section(result: &Result<Value, String>, command: &str) -> String {
    let mut s = format!("{HEADING}\n\n");
    let r = match result {
        Ok(r) => r,
        Err(e) => return s + &format!("Not measured: {e}.\n\n"),
    };
    s += &format!(
        "`{command}`: Node {}, {} sessions per round ({} for the two stores that fsync), the median of {} rounds ({} for loads), the stores interleaved round by round on fresh directories; µs per operation through the express-session `Store` API (callbacks), a {}-byte session.\n\n",
        r["node"].as_str().unwrap_or("?"),
        r["ops"],
        (r["ops"].as_u64().unwrap_or(0) / 5).max(20),
        r["rounds"],
        r["rounds"].as_u64().unwrap_or(0) * 2,
        r["json_bytes"]
    );
    s += "| operation | sessionbox `none` | sessionbox `file` | session-file-store | MemoryStore | sessionbox `file` ÷ session-file-store | sessionbox `none` ÷ MemoryStore |\n";
    s += "|---|---:|---:|---:|---:|---:|---:|\n";
    for row in r["rows"].as_array().into_iter().flatten() {
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            row["op"].as_str().unwrap_or("?"),
            us(&row["sessionbox_none"]),
            us(&row["sessionbox_file"]),
            us(&row["file_store"]),
            us(&row["memory"]),
            ratio(&row["sessionbox_file"], &row["file_store"]),
            ratio(&row["sessionbox_none"], &row["memory"]),
        );
    }
    let b = &r["bounds"];
    let pct = |v: &Value| v.as_f64().map_or("—".into(), |x| format!("{:.0} %", x * 100.0));
    s += &format!(
        "\nsession-file-store writes through write-file-atomic, which fsyncs before its rename: its peer is sessionbox `file` (an fsync of the new file, then the rename); sessionbox `none` is Django's own behaviour. `touch` is a load and a save in sessionbox (the 0.5.0 component has no touch), a rewrite in session-file-store. MemoryStore keeps objects in the process and touches no disk.\n\n\
         Where the sessionbox store's time goes (durability `none`, µs per call):\n\n\
         - a bare component call (`decode-cookie` of an empty value: no storage, no crypto): {}; signing and compressing the session with no storage (`encode-cookie`): {};\n\
         - the component's `load` alone: {} (the store's `load`, with `JSON.parse` and the cookie: {}); Node reading the same {}-byte file itself: {};\n\
         - the component's update (`save`): {}; Node writing a temporary file and renaming it over the session: {} ({} with an fsync);\n\
         - {} of a load's and {} of an update's CPU profile is the main thread waiting on the shim's I/O worker thread (preview2-shim serves file streams there, synchronously, through `Atomics.wait`), the largest single part; the rest is jco's lifting and lowering and the shim's own filesystem calls. The binding layer, not the file work (Node's own read and replace above) and not the session logic (`encode-cookie`), is where the time goes.\n\n\
         Every figure comes from one run on a shared 2-core VM under another build's load: the ratios within a round are the claim, not the absolute times.\n\n",
        us(&b["bare_call"]),
        us(&b["encode_only"]),
        us(&b["component_load"]),
        us(&b["store_load"]),
        b["file_bytes"],
        us(&b["node_read"]),
        us(&b["component_update"]),
        us(&b["node_replace"]),
        us(&b["node_replace_fsync"]),
        pct(&b["load_worker_share"]),
        pct(&b["update_worker_share"]),
    );
    s
}

/// Puts `section` into BENCHMARKS.md at `path`: in place of its previous
/// run, else before the hand-kept notes, else at the end.
pub fn splice(path: &Path, section: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let new = if let Some(at) = text.find(HEADING) {
        let end = text[at + HEADING.len()..].find("\n## ").map_or(text.len(), |e| at + HEADING.len() + e + 1);
        format!("{}{}{}", &text[..at], section, &text[end..])
    } else if let Some(at) = text.find(BEFORE) {
        format!("{}{}{}", &text[..at], section, &text[at..])
    } else {
        format!("{text}\n{section}")
    };
    std::fs::write(path, new).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// `--only node`: measures, prints the section, and (without `--quick`)
/// puts it into BENCHMARKS.md.
pub fn run_only(quick: bool) {
    let (ops, rounds, command) = if quick {
        (200, 3, "cargo bench -p sessionbox --bench sessions -- --only node --quick")
    } else {
        (1_000, 5, "cargo bench -p sessionbox --bench sessions -- --only node")
    };
    let result = measure(ops, rounds);
    if let (Err(e), true) = (&result, std::env::var_os("CI").is_some()) {
        panic!("the Node workload cannot run on CI: {e}");
    }
    let text = section(&result, command);
    print!("{text}");
    if !quick && result.is_ok() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../BENCHMARKS.md"));
        splice(path, &text);
        eprintln!("wrote the Node section of {}", path.display());
    }
}
