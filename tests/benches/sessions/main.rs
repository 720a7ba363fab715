//! The sessionbox benchmark: the component beside the same logic natively,
//! the raw syscall floor, and Django's file backend, in one run.
//!
//! ```text
//! cargo bench -p sessionbox --bench sessions            # full run, writes BENCHMARKS.md
//! cargo bench -p sessionbox --bench sessions -- --quick # small smoke run, writes nothing
//! cargo bench -p sessionbox --bench sessions -- --only http [--quick]
//! cargo bench -p sessionbox --bench sessions -- --only plugins [--quick]
//! cargo bench -p sessionbox --bench sessions -- --only redis [--quick]
//! cargo bench -p sessionbox --bench sessions -- --only peers [--quick]
//! cargo bench -p sessionbox --bench sessions -- --only sweep [--quick]
//! cargo bench -p sessionbox --bench sessions -- --only node [--quick]
//! cargo bench -p sessionbox --bench sessions -- --only python [--quick]
//! cargo bench -p sessionbox-tests --bench sessions -- --only operators [--quick]
//! cargo bench -p sessionbox --bench sessions -- --only writes [--quick]
//! ```
//!
//! `--only node` runs only the Node workload (node.rs: the express-session
//! store of `js/` beside session-file-store and MemoryStore in one Node
//! process) and prints its section; without `--quick` it also puts that
//! section into BENCHMARKS.md.
//!
//! `--only python` runs only the Python workload (python.rs: the Django
//! engine in python/ beside Django's file backend in one Python process,
//! and where its time goes) and prints its section; without `--quick` it
//! also writes that section into BENCHMARKS.md (and so does the full run).
//!
//! `--only writes` runs only the writes workload (writes.rs: a merging
//! update and a touch against a full save of one session, on a directory,
//! Redis, SQLite and PostgreSQL servers it starts) and prints its section.
//!
//! `--only peers` runs only the peers workload (php.rs: sessionbox beside
//! PHP's `files` session handler, tower-sessions-file-store, and the
//! syscall floors of an atomic replace and of PHP's write in place, on the
//! same kind of fresh directory) and prints its section. Without PHP it
//! leaves PHP's rows out, except on CI (`CI` set), where it fails.
//!
//! `--only sweep` runs only the threaded sweep workload (sweep.rs:
//! clear-expired over 100k sessions, 10k with `--quick`, on one thread and
//! on two, natively and through the component, beside the syscall floor;
//! the cost of the listing alone; and load latency on another thread during
//! a sweep) and prints its section.
//!
//! `--only operators` runs only operators.rs: `revoke_user` beside
//! `clear_expired` on one directory of 100k sessions (10k with `--quick`),
//! 1 % of them one user's, and prints its section.
//!
//! `--only redis` runs only the Redis workload (redis.rs: sessionbox on a
//! `redis-server` the benchmark starts, in both formats, beside bare `redis`
//! crate round trips, tower-sessions' Redis store and Django's cache
//! backend; and load throughput from 1 to 2 host processes, this binary
//! re-run with `--redis-worker`) and prints its section.
//!
//! `--only plugins` runs only the plugin workload (plugins.rs: a load
//! through the plugin import against the host's own, and the composed
//! http-counter under `wasmtime serve`) and prints its section.
//!
//! `--only http` runs only the HTTP workload (http.rs: the web layer and
//! tower-sessions behind one axum route, per request and at 64 connections)
//! and prints its section of the report to stdout; like `--quick`, it
//! writes nothing. `--only http-probe` serves stand-ins for the layer's
//! parts (a 12 µs spin with and without `block_in_place`, a bare
//! `Store::load` in the handler and through `spawn_blocking`, the layer
//! around a handler that ignores the session, a file replaced by rename and
//! rewritten in place) and prints their figures to stderr: where the
//! layer's time goes under load. `SESSIONBOX_HTTP_PROBE=N` runs only the
//! Nth probe, for a profiler.
//!
//! Ratios, not absolute numbers, are the claims: file create/rename cost on
//! shared VMs drifts several-fold between runs, so every workload runs its
//! variants interleaved, round by round, on fresh directories, and reports
//! the median round.

mod bounds;
mod django;
mod http;
mod in_tokio;
mod node;
mod oneshot;
mod php;
mod plugins;
mod python;
mod redis;
mod operators;
mod report;
mod sweep;
mod variants;
mod workloads;
mod writes;

/// The test suite's own Redis and PostgreSQL servers (tests/all/support),
/// for the writes workload.
#[path = "../../all/support"]
#[allow(dead_code)]
mod support {
    pub mod postgres;
    pub mod redis;

    /// Runs `cmd`, which must succeed; its stdout.
    pub fn run_ok(cmd: &mut std::process::Command) -> String {
        let out = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
        assert!(out.status.success(), "{cmd:?} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

pub use workloads::median;

use report::{Report, Row};
use sessionbox::Durability;
use variants::Payload;
use workloads::{Kind, Op};

/// How much work each measurement does.
struct Plan {
    ops: usize,
    ops_synced: usize,
    rounds: usize,
    sweep_sizes: Vec<usize>,
    sweep_rounds: usize,
    quick: bool,
}

fn main() {
    if let Some(dir) = std::env::args().skip_while(|a| a != "--rss-probe").nth(1) {
        return oneshot::rss_probe(std::path::Path::new(&dir));
    }
    let worker: Vec<String> = std::env::args().skip_while(|a| a != "--redis-worker").skip(1).take(3).collect();
    if let [url, kind, n] = &worker[..] {
        return redis::worker(url, kind, n.parse().expect("--redis-worker URL KIND N"));
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let plan = if quick {
        Plan { ops: 200, ops_synced: 50, rounds: 3, sweep_sizes: vec![2_000], sweep_rounds: 1, quick }
    } else {
        Plan { ops: 2_000, ops_synced: 300, rounds: 5, sweep_sizes: vec![10_000, 100_000], sweep_rounds: 3, quick }
    };
    let measure_http = || {
        let serve_for = std::time::Duration::from_millis(if quick { 300 } else { 2_000 });
        http::measure(plan.rounds, plan.ops, plan.ops / 4, serve_for, &Payload::new(auth_session(0)))
    };
    let measure_plugins = || {
        let serve_for = std::time::Duration::from_millis(if quick { 300 } else { 2_000 });
        plugins::measure(plan.rounds, plan.ops, serve_for, &Payload::new(auth_session(0)))
    };
    // Redis round trips on a shared VM stall now and then: more (cheap) rounds
    // keep the medians steady.
    let measure_redis = || redis::measure(if quick { plan.rounds } else { plan.rounds * 3 }, plan.ops, plan.ops * 10, &Payload::new(auth_session(0)), &Payload::new(auth_session(1)));
    // Loads are the cheapest and tightest figures here: twice the rounds.
    let measure_peers = || {
        let (rounds, sweep_rounds) = if quick { (plan.rounds, 1) } else { (plan.rounds * 2, 5) };
        php::measure(rounds, plan.ops, plan.sweep_sizes[0], sweep_rounds, &Payload::new(auth_session(0)), &Payload::new(auth_session(1)))
    };
    match std::env::args().skip_while(|a| a != "--only").nth(1).as_deref() {
        None => {}
        Some("http") => return print!("{}", report::http_section(&measure_http())),
        Some("plugins") => return print!("{}", report::plugins_section(&measure_plugins())),
        Some("redis") => return print!("{}", report::redis_section(&measure_redis())),
        Some("peers") => return print!("{}", report::peers_section(&measure_peers())),
        Some("sweep") => {
            let (n, rounds, command) = if quick { (10_000, 2, "cargo bench -p sessionbox --bench sessions -- --only sweep --quick") } else { (100_000, 5, "cargo bench -p sessionbox --bench sessions -- --only sweep") };
            return print!("{}", sweep::section(&sweep::measure(n, rounds, &Payload::new(auth_session(0))), command));
        }
        Some("python") => {
            let command = if quick { "cargo bench -p sessionbox --bench sessions -- --only python --quick" } else { "cargo bench -p sessionbox --bench sessions -- --only python" };
            let measured = measure_python(&plan);
            if let Err(e) = &measured {
                panic!("the Python workload could not run: {e}");
            }
            let section = python::section(&measured, command);
            if !quick {
                let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../BENCHMARKS.md");
                python::write_into(path, &section).expect("write BENCHMARKS.md");
                eprintln!("wrote the Python section into {path}");
            }
            return print!("{section}");
        }
        Some("operators") => {
            let (n, rounds, command) = if quick { (10_000, 2, "cargo bench -p sessionbox-tests --bench sessions -- --only operators --quick") } else { (100_000, 3, "cargo bench -p sessionbox-tests --bench sessions -- --only operators") };
            let others = Payload::new(auth_session(0));
            let theirs = Payload::new(auth_session(0).replace("\"_auth_user_id\":\"4200\"", "\"_auth_user_id\":\"7\""));
            assert!(theirs.json.contains("\"_auth_user_id\":\"7\""), "the user's payload");
            return print!("{}", operators::section(&operators::measure(n, rounds, &others, &theirs), command));
        }
        Some("http-probe") => {
            let serve_for = std::time::Duration::from_millis(if quick { 300 } else { 2_000 });
            return http::probe(plan.rounds, plan.ops, serve_for, &Payload::new(auth_session(0)));
        }
        Some("node") => return node::run_only(quick),
        Some("writes") => {
            let (rounds, ops) = if quick { (3, 50) } else { (7, 400) };
            return print!("{}", writes::section(&writes::measure(rounds, ops, &Payload::new(auth_session(0)))));
        }
        Some("loads") => {}
        Some(other) => panic!("--only takes `http`, `http-probe`, `loads`, `node`, `operators`, `peers`, `plugins`, `python`, `redis`, `sweep` or `writes`, not {other:?}"),
    }
    // `--only loads`: the load rows at durability `none` and the bounds that
    // explain them, a minute's run for trying a change to the read path.
    let loads_only = std::env::args().skip_while(|a| a != "--only").nth(1).as_deref() == Some("loads");
    let django = django::python();
    if django.is_none() {
        eprintln!("Django venv not found (run the interop tests once to install it): the Django column stays empty");
    }
    let mut report = Report::new();
    let payloads = [("~200 B", Payload::new(auth_session(0))), ("4 KB", Payload::new(big_session(0)))];
    let updates = [Payload::new(auth_session(1)), Payload::new(big_session(1))];

    let durabilities: &[Durability] = if loads_only { &[Durability::None] } else { &[Durability::None, Durability::File, Durability::Full] };
    for &durability in durabilities {
        let n = if durability == Durability::None { plan.ops } else { plan.ops_synced };
        for ((size, data), update) in payloads.iter().zip(&updates) {
            // A load reads the same way at every durability: `full` times writes only.
            for op in Op::ALL.into_iter().filter(|&op| !(durability == Durability::Full && op == Op::Load) && (!loads_only || op == Op::Load)) {
                let mut per_kind = [Vec::new(), Vec::new(), Vec::new()];
                let mut djangos = Vec::new();
                // Loads are cheap and their ratio is the tightest target:
                // more rounds make its median steadier.
                let rounds = if op == Op::Load { plan.rounds * 3 } else { plan.rounds };
                for _ in 0..rounds {
                    for (i, kind) in Kind::ALL.into_iter().enumerate() {
                        per_kind[i].push(workloads::time_op(kind, op, durability, n, data, update));
                    }
                    if let (Some(py), Durability::None) = (&django, durability) {
                        let dir = tempfile::tempdir().expect("tempdir");
                        djangos.push(django::run(py, dir.path(), op.name(), n, &data.json));
                    }
                }
                let [floor, native, component] = per_kind.map(median);
                let row = Row::new(op.name(), size, durability, floor, native, component, (!djangos.is_empty()).then(|| median(djangos)));
                eprintln!("{}", row.line());
                report.rows.push(row);
            }
        }
    }

    for &n in plan.sweep_sizes.iter().filter(|_| !loads_only) {
        let fixture = tempfile::tempdir().expect("tempdir");
        let base = fixture.path().join("base");
        std::fs::create_dir(&base).expect("mkdir");
        workloads::sweep_fixture(&base, n, &payloads[0].1);
        let mut per_kind = [Vec::new(), Vec::new(), Vec::new()];
        let mut djangos = Vec::new();
        for round in 0..plan.sweep_rounds {
            for (i, kind) in Kind::ALL.into_iter().enumerate() {
                let copy = fixture.path().join(format!("r{round}-{i}"));
                workloads::link_copy(&base, &copy);
                let mut v = kind.open(&copy, Durability::None);
                let start = std::time::Instant::now();
                let deleted = v.clear_expired();
                per_kind[i].push(start.elapsed().as_secs_f64() * 1e6);
                assert_eq!(deleted as usize, n / 10, "{kind:?} swept the wrong number of files");
                std::fs::remove_dir_all(&copy).expect("cleanup");
            }
            if let Some(py) = &django {
                let copy = fixture.path().join(format!("r{round}-django"));
                workloads::link_copy(&base, &copy);
                djangos.push(django::run(py, &copy, "clear-expired", 0, "{}"));
            }
        }
        let [floor, native, component] = per_kind.map(median);
        let label = format!("clear-expired {}k", n / 1000);
        let row = Row::new(&label, "~200 B", Durability::None, floor, native, component, (!djangos.is_empty()).then(|| median(djangos)));
        eprintln!("{}", row.line());
        report.rows.push(row);
    }

    if let Some(&n) = plan.sweep_sizes.last().filter(|_| !loads_only) {
        report.sweep = Some(sweep::measure(n, plan.sweep_rounds, &payloads[0].1));
    }

    report.bounds = bounds::measure(plan.ops * 5, plan.rounds, &payloads);
    eprintln!(
        "bounds: bare call {:.2} µs, empty load native {:.2} / component {:.2} µs, decode {:?} (JSON text only {:?}), component load as JSON text {:?}, Session load + one get {:?} (over load_json {:?}), bad-signature load (native, component) {:?}",
        report.bounds.bare_call,
        report.bounds.native_empty_load,
        report.bounds.component_empty_load,
        report.bounds.decode,
        report.bounds.decode_text,
        report.bounds.component_load_json,
        report.bounds.session_load_get,
        report.bounds.session_load_get_over_load_json,
        report.bounds.bad_signature_load
    );
    if loads_only {
        // The load targets this run decides (the others show NaN).
        for (what, value, ok, _) in report.targets().into_iter().filter(|(what, ..)| what.contains("load")) {
            eprintln!("target: {what}: {value}{}", if ok { "" } else { " — not met (or not measured)" });
        }
        return;
    }
    report.threads = [1, 2].map(|t| workloads::load_throughput(Kind::Component, t, std::time::Duration::from_secs(if quick { 1 } else { 3 }), &payloads[0].1));
    report.native_threads = [1, 2].map(|t| workloads::load_throughput(Kind::Native, t, std::time::Duration::from_secs(if quick { 1 } else { 3 }), &payloads[0].1));
    report.in_tokio = in_tokio::measure(plan.ops * 5, plan.rounds, &payloads[0].1);
    report.cli = oneshot::cli_times(if quick { 5 } else { 20 });
    report.rss_kb = oneshot::rss_of_probe();
    report.http = Some(measure_http());
    report.plugins = Some(measure_plugins());
    report.peers = Some(measure_peers());
    // A failure here (no redis-server, a stalled server) must not cost the
    // rest of the report: it becomes the section's "not measured".
    report.redis = Some(std::panic::catch_unwind(std::panic::AssertUnwindSafe(measure_redis)).unwrap_or_else(|e| {
        Err(e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "the Redis workload panicked".into()))
    }));

    let python = measure_python(&plan);
    if let (Err(e), true) = (&python, std::env::var_os("CI").is_some()) {
        panic!("the Python workload could not run: {e}");
    }
    let python = python::section(&python, "cargo bench -p sessionbox --bench sessions");
    print!("{}\n{python}", report.markdown(plan.quick));
    if !plan.quick {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../BENCHMARKS.md");
        std::fs::write(path, report.markdown(false)).expect("write BENCHMARKS.md");
        python::write_into(path, &python).expect("write BENCHMARKS.md");
        // The Node section (node.rs) goes in beside the report's own.
        let command = "cargo bench -p sessionbox --bench sessions -- --only node";
        node::splice(std::path::Path::new(path), &node::section(&node::measure(1_000, 5), command));
        eprintln!("wrote {path}");
    }
}

/// The Python workload at the plan's size.
fn measure_python(plan: &Plan) -> Result<python::PythonBench, String> {
    python::measure(plan.ops / 2, plan.rounds, &auth_session(0), &auth_session(1))
}

/// An authenticated user's session, about 200 bytes of JSON.
fn auth_session(version: u32) -> String {
    format!(
        r#"{{"_auth_user_id":"{}","_auth_user_backend":"django.contrib.auth.backends.ModelBackend","_auth_user_hash":"{}","visits":{version}}}"#,
        4200 + version,
        hex(64, version)
    )
}

/// A 4 KB session: the auth keys plus a cart of items with varied text (so
/// it compresses like real data, not like a run of one byte).
fn big_session(version: u32) -> String {
    let items: Vec<String> = (0..48).map(|i| format!(r#"{{"sku":"{}","qty":{},"note":"{}"}}"#, hex(16, i * 7 + version), i % 5 + 1, hex(40, i + 100 * version))).collect();
    let json = format!(r#"{{"_auth_user_id":"42","cart":[{}],"visits":{version}}}"#, items.join(","));
    debug_assert!((3900..4300).contains(&json.len()), "{}", json.len());
    json
}

/// `len` pseudo-random hex digits, fixed by `seed`.
fn hex(len: usize, seed: u32) -> String {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            char::from_digit(x % 16, 16).expect("a hex digit")
        })
        .collect()
}
