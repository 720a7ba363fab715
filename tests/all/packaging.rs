//! A new user's build: another project depending on `sessionbox` builds and
//! runs with a toolchain that has no wasm32-wasip2 target and no rustup,
//! both on the crates `cargo package` makes (the crates.io shape) and on a
//! path dependency on `host/` (what a git dependency checks out, too).
//!
//! Everything runs offline (the registry cache already holds every
//! dependency, since the workspace itself was built from it) and in the
//! target directory these tests were built in, where the dependencies are
//! already compiled with the same features: only the two sessionbox crates
//! and the user's program build, in seconds instead of minutes.

use crate::support::workspace_root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The user's program: opens a store, creates a session and loads it back,
/// through the component embedded in the crate it depends on.
const MAIN_RS: &str = r##"use sessionbox::{Loaded, Settings, Store};

fn main() -> Result<(), sessionbox::Error> {
    let store = Store::open("./sessions", Settings::new("a-secret-key".to_owned()))?;
    let key = store.create(&sessionbox::parse_data(r#"{"user": 42}"#)?)?;
    match store.load(&key)? {
        Loaded::Found { data, .. } => println!("found {}", serde_json_text(&data)),
        _ => println!("not found"),
    }
    Ok(())
}

fn serde_json_text(data: &sessionbox::Data) -> String {
    data.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}
"##;

/// Runs `cmd`, panicking with its output when it fails; returns stdout.
fn run(what: &str, cmd: &mut Command) -> String {
    let started = std::time::Instant::now();
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{cmd:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("packaging: {what} took {:.1?}", started.elapsed());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The directory holding the cargo and rustc that run these tests (the
/// toolchain's own binaries, not rustup's proxies).
fn toolchain_bin() -> PathBuf {
    let out = Command::new("rustc").args(["--print", "sysroot"]).output().expect("running rustc --print sysroot");
    assert!(out.status.success(), "rustc --print sysroot failed");
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("bin");
    assert!(bin.join("cargo").is_file() && bin.join("rustc").is_file(), "no cargo and rustc in {}", bin.display());
    bin
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The target directory these tests were built in (cargo gives integration
/// tests its `tmp` subdirectory).
fn tests_target_dir() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("CARGO_TARGET_TMPDIR lies in the target dir")
}

/// The profile the tests were built in, so that the user's build finds the
/// dependencies compiled: its cargo arguments and output directory.
fn tests_profile() -> (&'static [&'static str], &'static str) {
    if cfg!(debug_assertions) {
        (&[], "debug")
    } else {
        (&["--release"], "release")
    }
}

/// `cargo` for a user's build: the toolchain's real cargo, `RUSTC` a
/// wrapper that refuses to compile for any wasm target (as a toolchain
/// without it would), a `rustup` first on `PATH` that always fails, no
/// `RUSTUP_TOOLCHAIN`. A build script that builds the guest (a nested cargo
/// for wasm32-wasip2, `rustup target add`) fails here.
fn users_cargo(work: &Path) -> Command {
    let bin = toolchain_bin();
    let fake = work.join("bin");
    std::fs::create_dir_all(&fake).unwrap();
    write_executable(&fake.join("rustup"), "#!/bin/sh\necho \"the user's build ran: rustup $*\" >&2\nexit 1\n");
    let rustc = fake.join("rustc-without-wasm");
    write_executable(
        &rustc,
        &format!(
            "#!/bin/sh\nfor arg in \"$@\"; do\n  case $arg in\n    *wasm32*) echo \"the user's build ran: rustc $*\" >&2; exit 1 ;;\n  esac\ndone\nexec '{}' \"$@\"\n",
            bin.join("rustc").display()
        ),
    );
    let path = std::env::join_paths(
        [fake.clone(), bin.clone()].into_iter().chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let mut cmd = Command::new(bin.join("cargo"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        // What cargo set for this test process describes this package, not
        // the user's; the caller's own settings (CARGO_PROFILE_*, RUSTFLAGS)
        // stay, as the dependencies were built with them.
        let set_by_cargo = ["CARGO_MANIFEST_", "CARGO_PKG_", "CARGO_BIN_", "CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
            || ["CARGO_TARGET_TMPDIR", "CARGO_MAKEFLAGS", "CARGO_RUSTC_CURRENT_DIR", "RUSTUP_TOOLCHAIN", "RUSTC"].contains(&name.as_str());
        if set_by_cargo {
            cmd.env_remove(&name);
        }
    }
    cmd.env("PATH", path).env("RUSTC", &rustc).env_remove("RUSTC_WRAPPER").env_remove("RUSTC_WORKSPACE_WRAPPER");
    // RUSTC's path is not part of cargo's fingerprints: the dependencies
    // compiled for the tests are reused as they are.
    cmd.env("CARGO_TARGET_DIR", tests_target_dir());
    cmd
}

/// A binary project `name` in `work`, depending on `sessionbox` as
/// `dependency` (TOML), with the workspace's Cargo.lock so that the offline
/// resolution picks the versions the workspace is tested with.
fn user_project(work: &Path, name: &str, dependency: &str, patch: &str) -> PathBuf {
    let dir = work.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nsessionbox = {dependency}\n\n{patch}\n\
         # Not a member of the repository's workspace, which it lies below.\n[workspace]\n"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/main.rs"), MAIN_RS).unwrap();
    std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    dir
}

/// Builds the project `name` as a user would, checks which `sessionbox` it
/// got, and runs it: a session made and read back through the component.
fn build_and_run(work: &Path, name: &str, dependency: &str, patch: &str, expected_source: &Path) {
    let dir = user_project(work, name, dependency, patch);
    let (profile_args, profile_dir) = tests_profile();
    run(&format!("cargo build of {name}"), users_cargo(work).args(["build", "--offline"]).args(profile_args).current_dir(&dir));
    let tree = run(
        &format!("cargo tree of {name}"),
        users_cargo(work).args(["tree", "--offline", "--prefix", "none", "--depth", "1", "-e", "normal"]).current_dir(&dir),
    );
    let wanted = format!("sessionbox v0.1.0 ({})", expected_source.display());
    assert!(tree.lines().any(|l| l == wanted), "{name} did not build against {}:\n{tree}", expected_source.display());

    let sessions = tempfile::tempdir().unwrap();
    let printed = run(
        &format!("running {name}"),
        Command::new(tests_target_dir().join(profile_dir).join(name))
            .current_dir(sessions.path())
            .env("SESSIONBOX_CACHE_DIR", "")
            .env_remove("SESSIONBOX_SECRET_KEY"),
    );
    assert_eq!(printed.trim(), "found user=42", "{name} printed {printed:?}");
}

/// Sets the mtime of every file under `dir` to now.
fn touch_all(dir: &Path) {
    let now = std::time::SystemTime::now();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            touch_all(&entry.path());
        } else {
            std::fs::File::options().append(true).open(entry.path()).unwrap().set_modified(now).unwrap();
        }
    }
}

fn toml_path(path: &Path) -> String {
    let text = path.to_str().expect("a UTF-8 path");
    format!("{text:?}")
}

#[test]
fn a_user_project_builds_on_the_packaged_crates_and_on_a_path_dependency() {
    let root = workspace_root();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("packaging");
    let packages = work.join("package");

    // The two crates as they would be published.
    let _ = std::fs::remove_dir_all(&packages);
    run(
        "cargo package",
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["package", "--offline", "--no-verify", "--allow-dirty", "-p", "sessionbox-guest", "-p", "sessionbox"])
            .arg("--target-dir")
            .arg(&packages)
            .current_dir(&root)
            .env_remove("CARGO_TARGET_DIR"),
    );
    let unpacked = work.join("unpacked");
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked).unwrap();
    for krate in ["sessionbox-guest-0.1.0.crate", "sessionbox-0.1.0.crate"] {
        let file = packages.join("package").join(krate);
        run(&format!("unpacking {krate}"), Command::new("tar").arg("xzf").arg(&file).arg("-C").arg(&unpacked));
    }
    // `cargo package` stamps every file with one fixed old mtime, and the
    // user projects build into the shared target directory, where cargo
    // judges a path dependency fresh by mtimes: without this, a change to a
    // crate since the last run of this test would build the old one.
    touch_all(&unpacked);
    let packaged = unpacked.join("sessionbox-0.1.0");
    for file in ["component/sessionbox_guest.wasm", "wit/sessionbox.wit", "README.md", "build.rs"] {
        assert!(packaged.join(file).is_file(), "the sessionbox package lacks {file}");
    }
    assert!(!packaged.join("wit").is_symlink(), "the package holds a link to wit/, not the files");
    // The crate's page is the crate's own short README, not the project's.
    assert_eq!(
        std::fs::read_to_string(packaged.join("README.md")).unwrap(),
        std::fs::read_to_string(root.join("host/README.md")).unwrap(),
        "the packaged README.md is not host/README.md"
    );

    // The crates.io shape: `sessionbox = "0.1.0"`, patched to the packages.
    let patch = format!(
        "[patch.crates-io]\nsessionbox = {{ path = {} }}\nsessionbox-guest = {{ path = {} }}\n",
        toml_path(&packaged),
        toml_path(&unpacked.join("sessionbox-guest-0.1.0"))
    );
    build_and_run(&work, "packaged-user", "\"0.1.0\"", &patch, &packaged);

    // A path dependency on host/ from outside the workspace.
    let host = root.join("host");
    build_and_run(&work, "path-user", &format!("{{ path = {} }}", toml_path(&host)), "", &host);
}

/// Every package's feature sets as `cargo tree` resolves them with `args`:
/// one set per build of it (a package built for a build script or a
/// proc-macro as well as for the target is two builds).
fn resolved_features(args: &[&str]) -> std::collections::BTreeMap<String, std::collections::BTreeSet<Vec<String>>> {
    let out = run(
        &format!("cargo tree {}", args.join(" ")),
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["tree", "--offline", "--prefix", "none", "--format", "{p}|{f}"])
            .args(args)
            .current_dir(workspace_root()),
    );
    let mut features = std::collections::BTreeMap::<String, std::collections::BTreeSet<Vec<String>>>::new();
    for line in out.lines() {
        let Some((package, list)) = line.split_once('|') else { continue };
        // "name vX.Y.Z (path) (*)": the name and version identify it.
        let package = package.split(" (").next().unwrap_or(package).to_owned();
        let list = list.trim_end_matches(" (*)").trim_end_matches(" (proc-macro)");
        let mut set: Vec<String> = list.split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned).collect();
        set.sort();
        features.entry(package).or_default().insert(set);
    }
    features
}

/// The README's two commands, `cargo run -p sessionbox` and `cargo test`,
/// resolve the same features for every package the run builds (but the
/// host and the guest themselves, which the tests build with test-only
/// features): so a fresh machine compiles wasmtime, and everything under
/// it, once. A dependency of this test package (tests/Cargo.toml) that
/// turns on another feature of a package under the host fails this; add it
/// to the host's feature pins (host/Cargo.toml).
#[test]
fn the_run_and_the_tests_build_wasmtime_once() {
    let run_graph = resolved_features(&["-p", "sessionbox", "-e", "normal,build"]);
    let test_graph = resolved_features(&["--workspace", "-e", "normal,build,dev"]);
    assert!(run_graph.keys().any(|p| p.starts_with("wasmtime v")), "no wasmtime in {run_graph:?}");
    let differ: Vec<String> = run_graph
        .iter()
        .filter(|(package, _)| !package.starts_with("sessionbox v") && !package.starts_with("sessionbox-guest v"))
        .filter_map(|(package, run)| {
            let test = test_graph.get(package)?;
            // Every build the run makes, the tests make with the same features.
            (!run.is_subset(test)).then(|| format!("{package}: the run builds it with {:?}, the tests with {:?}", run.difference(test).collect::<Vec<_>>(), test))
        })
        .collect();
    assert!(differ.is_empty(), "the run and the tests resolve different features, so shared crates compile twice:\n{}", differ.join("\n"));
}
