//! The example plugins (`examples/plugins`, a workspace of wasm32-wasip2
//! components), built once per test process from their sources with
//! `--locked`, into `target/plugins`.

use super::runtimes::wac_cli;
use super::{guest_wasm, install_once, require_wasm_target, run_ok, tools_dir, workspace_root, WASM_TARGET};
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The built component of the example plugin crate `name` (`counter`,
/// `misbehaving`, `snooping`, `http-counter`).
pub fn plugin_wasm(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        require_wasm_target();
        let root = workspace_root();
        let target_dir = root.join("target/plugins");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        run_ok(
            Command::new(cargo)
                .args(["build", "--locked", "--release", "--target", WASM_TARGET, "--manifest-path"])
                .arg(root.join("examples/plugins/Cargo.toml"))
                .env("CARGO_TARGET_DIR", &target_dir)
                // The build is for another target: the test build's own
                // flags do not apply.
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS"),
        );
        target_dir.join(WASM_TARGET).join("release")
    });
    let wasm = dir.join(format!("{}.wasm", name.replace('-', "_")));
    assert!(wasm.is_file(), "{} was not built", wasm.display());
    wasm
}

/// Composes the component `handler` with the sessionbox component into
/// `out`, as docs/plugins.md says: `wac plug HANDLER --plug no_environment.wasm
/// --plug sessionbox_guest.wasm -o OUT`. With `hide_environment` false, the
/// `no-environment` plug is left out (the handler then reads the
/// composition's environment, secret included).
pub fn compose(handler: &Path, hide_environment: bool, out: &Path) -> std::path::PathBuf {
    let mut cmd = Command::new(wac_cli());
    cmd.arg("plug").arg(handler);
    if hide_environment {
        cmd.arg("--plug").arg(plugin_wasm("no-environment"));
    }
    run_ok(cmd.arg("--plug").arg(guest_wasm()).arg("-o").arg(out));
    out.to_owned()
}

/// The componentize-py version the Python plugin is built with.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// `componentize-py`, installed once per machine from PyPI into
/// `<tools>/componentize-py-venv`.
pub fn componentize_py() -> PathBuf {
    let venv = tools_dir().join("componentize-py-venv");
    let bin = venv.join("bin/componentize-py");
    install_once("componentize-py", &bin, || {
        run_ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        let requirement = format!("componentize-py=={COMPONENTIZE_PY_VERSION}");
        run_ok(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "--disable-pip-version-check", &requirement]));
    });
    bin
}

/// The Python counter plugin (`examples/plugins/counter-py`), built once per
/// test process with `--stub-wasi` (without it CPython's runtime imports a
/// filesystem and sockets), into `target/plugins/counter_py.wasm`.
pub fn python_plugin_wasm() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = workspace_root();
            let out = root.join("target/plugins/counter_py.wasm");
            std::fs::create_dir_all(out.parent().unwrap()).unwrap();
            let started = std::time::Instant::now();
            run_ok(
                Command::new(componentize_py())
                    .current_dir(&root)
                    .args(["-d", "examples/plugins/wit", "-w", "example:plugin/session-plugin", "componentize", "app"])
                    .args(["-p", "examples/plugins/counter-py", "--stub-wasi", "-o"])
                    .arg(&out)
                    .env("PYTHONDONTWRITEBYTECODE", "1"),
            );
            eprintln!("sessionbox tests: built the Python plugin in {:.1?}", started.elapsed());
            out
        })
        .clone()
}
