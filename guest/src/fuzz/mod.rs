//! An in-repo fuzzer for the native build (stable Rust has no libFuzzer):
//! mutates seed inputs and feeds them to the decoder, the
//! JSON reader/writer, the ISO-8601 reader, `load` over arbitrary file
//! content and the pickle reader. Any panic is a finding; the input that caused it is returned.
//!
//! Run it with `cargo run --release -p sessionbox-guest --features fuzz --example fuzz --
//! --inputs 10000000`; a short run is part of `cargo test`.

mod mem_dir;
mod mem_kv;
mod mutate;
mod sweep_grid;
mod targets;

pub use mem_dir::MemDir;
pub use mem_kv::{MemKv, MemValue};
pub use mutate::Rng;
pub use sweep_grid::{expiry_payloads, sweep_grid, verified_verdict};
pub use targets::{Target, TARGETS};

use std::panic::{catch_unwind, AssertUnwindSafe};

/// An input that made a target panic.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The target's name.
    pub target: &'static str,
    /// The input.
    pub input: Vec<u8>,
    /// The panic message.
    pub message: String,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Inputs tried, over all targets.
    pub inputs: u64,
    /// Inputs that panicked.
    pub findings: Vec<Finding>,
}

/// Runs `inputs` mutated inputs, spread over all [`TARGETS`], from `seeds`.
pub fn run(seeds: &[Vec<u8>], inputs: u64, seed: u64) -> Summary {
    run_targets(&TARGETS, seeds, inputs, seed)
}

/// Runs `inputs` mutated inputs, spread over `targets`, from `seeds`.
pub fn run_targets(targets: &[Target], seeds: &[Vec<u8>], inputs: u64, seed: u64) -> Summary {
    let mut rng = Rng::new(seed);
    let mut summary = Summary::default();
    let seeds: Vec<Vec<u8>> = if seeds.is_empty() { vec![b"{}".to_vec()] } else { seeds.to_vec() };
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for i in 0..inputs {
        let target = &targets[(i % targets.len() as u64) as usize];
        let input = mutate::mutate(&seeds, &mut rng);
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| (target.run)(&input))) {
            let message = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            summary.findings.push(Finding { target: target.name, input, message });
        }
        summary.inputs += 1;
    }
    std::panic::set_hook(previous_hook);
    summary
}

#[cfg(test)]
mod tests {
    /// The committed seeds, compiled in so the short run needs no files.
    fn seeds() -> Vec<Vec<u8>> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz-corpus");
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(dir).unwrap().map(|e| std::fs::read(e.unwrap().path()).unwrap()).collect();
        seeds.sort();
        seeds
    }

    #[test]
    fn short_run_finds_nothing() {
        let seeds = seeds();
        assert!(seeds.len() >= 5, "the corpus seeds are missing");
        let summary = super::run(&seeds, 20_000, 0x5e55_10b0);
        assert_eq!(summary.inputs, 20_000);
        assert!(summary.findings.is_empty(), "{:#?}", &summary.findings[..summary.findings.len().min(3)]);
    }

    #[test]
    fn a_panicking_target_is_reported() {
        let targets = [super::Target { name: "colon", run: |input| assert!(!input.contains(&b':'), "found a colon") }];
        let summary = super::run_targets(&targets, &[b"a:b".to_vec()], 200, 7);
        let finding = summary.findings.first().expect("inputs with ':' panic");
        assert_eq!(finding.target, "colon");
        assert!(finding.input.contains(&b':') && finding.message.contains("found a colon"));
    }
}
