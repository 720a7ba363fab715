//! `cargo bench -p sessionbox --bench sessions`: the benchmark lives with
//! the integration tests in the unpublished `sessionbox-tests` package
//! (tests/benches/sessions), whose dependencies (the web layer, tower-sessions
//! and its stores, a browser driver) the library should not carry, not even
//! as dev-dependencies. This runs it there with the same arguments; it is
//! the same as `cargo bench -p sessionbox-tests --bench sessions`.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    // cargo passes `--bench` to a benchmark without the test harness; the
    // cargo below passes its own.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["bench", "-p", "sessionbox-tests", "--bench", "sessions", "--"])
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status();
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => {
            eprintln!("sessionbox-tests' benchmark failed: {s}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("running cargo for sessionbox-tests' benchmark: {e}");
            ExitCode::FAILURE
        }
    }
}
