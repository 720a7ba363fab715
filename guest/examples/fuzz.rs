//! Runs the in-repo fuzzer (see `sessionbox_guest::fuzz`) for a fixed
//! number of inputs:
//!
//! ```text
//! cargo run --release -p sessionbox-guest --features fuzz --example fuzz -- [--inputs N] [--seed S] [--corpus DIR]
//! ```
//!
//! Prints inputs tried, inputs per second and findings; exits 1 when any
//! input made a target panic (the inputs are written to `fuzz-findings/`).

use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

fn main() {
    let inputs: u64 = arg("--inputs").map_or(1_000_000, |n| n.parse().expect("--inputs takes a number"));
    let seed: u64 = arg("--seed").map_or(1, |n| n.parse().expect("--seed takes a number"));
    let corpus = arg("--corpus").unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz-corpus").to_owned());
    let seeds: Vec<Vec<u8>> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("reading corpus {corpus}: {e}"))
        .map(|e| std::fs::read(e.expect("corpus entry").path()).expect("corpus file"))
        .collect();
    let start = Instant::now();
    let summary = sessionbox_guest::fuzz::run(&seeds, inputs, seed);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} inputs over {} targets from {} seeds (seed {seed}) in {secs:.1} s ({:.0}/s): {} findings",
        summary.inputs,
        sessionbox_guest::fuzz::TARGETS.len(),
        seeds.len(),
        summary.inputs as f64 / secs,
        summary.findings.len()
    );
    if summary.findings.is_empty() {
        return;
    }
    std::fs::create_dir_all("fuzz-findings").expect("mkdir fuzz-findings");
    for (i, f) in summary.findings.iter().enumerate().take(100) {
        println!("{}: {} ({} bytes)", f.target, f.message, f.input.len());
        std::fs::write(format!("fuzz-findings/{}-{i}.bin", f.target), &f.input).expect("write finding");
    }
    std::process::exit(1);
}
