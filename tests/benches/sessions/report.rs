//! The results table, the targets, and BENCHMARKS.md.

use crate::bounds::Bounds;
use crate::php::{self as peers, Peers};
use crate::plugins::Plugins;
use crate::redis::{self as on_redis, Redis};
use crate::workloads::median;
use crate::http::{Backend, Case, Http, Stack, CASES, CONNECTIONS};
use crate::in_tokio::InTokio;
use crate::oneshot::CliTimes;
use sessionbox::Durability;
use std::fmt::Write;

/// One workload's medians, in µs per op (per sweep for clear-expired).
pub struct Row {
    workload: String,
    size: String,
    durability: Durability,
    floor: f64,
    native: f64,
    component: f64,
    django: Option<f64>,
}

impl Row {
    pub fn new(workload: &str, size: &str, durability: Durability, floor: f64, native: f64, component: f64, django: Option<f64>) -> Row {
        Row { workload: workload.into(), size: size.into(), durability, floor, native, component, django }
    }

    fn durability(&self) -> &'static str {
        match self.durability {
            Durability::None => "none",
            Durability::File => "file",
            Durability::Full => "full",
        }
    }

    fn django_over_component(&self) -> Option<f64> {
        self.django.map(|d| d / self.component)
    }

    /// The best Django/sessionbox ratio possible here: Django over the bare
    /// filesystem operations, i.e. a sessionbox that cost nothing else.
    fn django_over_floor(&self) -> Option<f64> {
        self.django.map(|d| d / self.floor)
    }

    /// One markdown table line.
    pub fn line(&self) -> String {
        let us = |x: f64| if x >= 10_000.0 { format!("{:.1} ms", x / 1e3) } else { format!("{x:.1}") };
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2}× | {:.2}× | {} |",
            self.workload,
            self.size,
            self.durability(),
            us(self.floor),
            us(self.native),
            us(self.component),
            self.django.map_or("–".into(), us),
            if self.workload.starts_with("clear") { "–".to_owned() } else { format!("{:.0}", 1e6 / self.component) },
            self.component / self.native,
            self.native / self.floor,
            self.django_over_component().map_or("–".into(), |r| format!("{r:.1}×")),
        )
    }
}

/// Everything one run measured.
pub struct Report {
    pub rows: Vec<Row>,
    pub threads: [f64; 2],
    pub native_threads: [f64; 2],
    pub cli: CliTimes,
    pub rss_kb: u64,
    pub bounds: Bounds,
    pub in_tokio: InTokio,
    pub http: Option<Http>,
    pub plugins: Option<Plugins>,
    pub redis: Option<Result<Redis, String>>,
    /// The peers workload (php.rs): PHP, tower-sessions-file-store, floors.
    pub peers: Option<Peers>,
    /// The threaded sweep workload (sweep.rs).
    pub sweep: Option<crate::sweep::Sweep>,
}

impl Report {
    pub fn new() -> Report {
        Report { rows: Vec::new(), threads: [0.0; 2], native_threads: [0.0; 2], cli: CliTimes::default(), rss_kb: 0, bounds: Bounds::default(), in_tokio: InTokio::default(), http: None, plugins: None, redis: None, peers: None, sweep: None }
    }

    fn rows_where(&self, f: impl Fn(&Row) -> bool) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(move |r| f(r))
    }

    /// The issue's targets, each with the worst figure that decides it and,
    /// where the machine itself sets one, the best any implementation could
    /// reach.
    pub fn targets(&self) -> Vec<(String, String, bool, String)> {
        let worst = |f: &dyn Fn(&Row) -> bool, m: &dyn Fn(&Row) -> f64| self.rows_where(f).map(m).fold(f64::NAN, f64::max);
        let least = |f: &dyn Fn(&Row) -> bool, m: &dyn Fn(&Row) -> Option<f64>| self.rows_where(f).filter_map(m).fold(f64::NAN, f64::min);
        let is = |name: &'static str| move |r: &Row| r.workload == name;
        let ops = |r: &Row| !r.workload.starts_with("clear");
        let mut t = Vec::new();
        let mut push = |what: &str, value: f64, limit: f64, higher_is_better: bool, unit: &str, bound: Option<f64>| {
            let ok = if higher_is_better { value >= limit } else { value <= limit };
            let bound = bound.filter(|b| !b.is_nan()).map_or(String::new(), |b| format!("{b:.2}{unit}"));
            t.push((what.to_owned(), format!("{value:.2}{unit} (target {}{limit}{unit})", if higher_is_better { "≥ " } else { "≤ " }), ok && !value.is_nan(), bound));
        };
        let best_load = worst(&is("load"), &|r| self.bounds.best_component_over_native(&r.size, r.native).unwrap_or(f64::NAN));
        push("component load / native", worst(&is("load"), &|r| r.component / r.native), 1.5, false, "×", Some(best_load));
        push("component create / native", worst(&is("create"), &|r| r.component / r.native), 1.25, false, "×", None);
        push("component update-save / native", worst(&is("update-save"), &|r| r.component / r.native), 1.25, false, "×", None);
        let best_floor = worst(&is("load"), &|r| self.bounds.best_native_over_floor(&r.size, r.floor).unwrap_or(f64::NAN));
        push("native / syscall floor (create, load, save, cycle)", worst(&ops, &|r| r.native / r.floor), 1.2, false, "×", Some(best_floor));
        for op in ["create", "load", "update-save"] {
            push(&format!("Django / component, {op}"), least(&is(op), &Row::django_over_component), 10.0, true, "×", Some(least(&is(op), &Row::django_over_floor)));
        }
        let small_load = |r: &Row| r.workload == "load" && r.size == "~200 B" && r.durability == Durability::None;
        let big_load = |r: &Row| r.workload == "load" && r.size == "4 KB" && r.durability == Durability::None;
        push("component load / native, ~200 B", worst(&small_load, &|r| r.component / r.native), 1.5, false, "×", None);
        let decode_4k = self.bounds.decode.iter().find(|(size, _)| size == "4 KB").map_or(f64::NAN, |(_, d)| *d);
        push("native decode of a stored 4 KB session, map built", decode_4k, 12.0, false, " µs", None);
        push("component load, 4 KB", worst(&big_load, &|r| r.component), 30.0, false, " µs", None);
        push("Django / component, load 4 KB", least(&big_load, &Row::django_over_component), 3.0, true, "×", Some(least(&big_load, &Row::django_over_floor)));
        let session_4k = |figures: &[(String, f64)]| figures.iter().find(|(size, _)| size == "4 KB").map_or(f64::NAN, |(_, x)| *x);
        push("4 KB `Session` load + one `get` / `Store::load_json`", session_4k(&self.bounds.session_load_get_over_load_json), 1.15, false, "×", None);
        let django_4k = self.rows_where(big_load).find_map(|r| r.django).unwrap_or(f64::NAN);
        push("Django load / component `Session` load + one `get`, 4 KB", django_4k / session_4k(&self.bounds.session_load_get), 1.7, true, "×", None);
        let sweep = |r: &Row| r.workload == "clear-expired 100k";
        push("Django / component, clear-expired 100k", least(&sweep, &Row::django_over_component), 20.0, true, "×", Some(least(&sweep, &Row::django_over_floor)));
        push("one-shot CLI, warm cache", self.cli.warm_ms, 20.0, false, " ms", None);
        push("2 threads / 1 thread, component load", self.threads[1] / self.threads[0], 1.7, true, "×", None);
        push("2 threads / 1 thread, component clear-expired", self.sweep.as_ref().map_or(f64::NAN, crate::sweep::Sweep::speedup), 1.7, true, "×", None);
        // Django's clearsessions over the same fixture size, against the
        // sweep a user gets by default (two threads on this 2-core VM).
        let every_core = self.sweep.as_ref().and_then(|sw| {
            let label = format!("clear-expired {}k", sw.sessions() / 1000);
            let django_ms = self.rows.iter().find(|r| r.workload == label)?.django? / 1000.0;
            Some(django_ms / sw.component_two_threads_ms())
        });
        push("Django clearsessions / component clear-expired on every core, 100k", every_core.unwrap_or(f64::NAN), 5.0, true, "×", None);
        push("host peak RSS", self.rss_kb as f64 / 1024.0, 50.0, false, " MB", None);
        t
    }

    /// The whole report as markdown.
    pub fn markdown(&self, quick: bool) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# sessionbox benchmarks\n");
        let _ = writeln!(s, "{}", machine());
        let command = if quick { "cargo bench -p sessionbox --bench sessions -- --quick" } else { "cargo bench -p sessionbox --bench sessions" };
        let _ = writeln!(s, "Command: `{command}`. Medians of interleaved rounds on fresh directories; µs per operation (per sweep for clear-expired, on one thread in every column; the clear-expired section below runs it on threads). Ratios are the claims: absolute figures on this VM drift between runs.\n");
        let _ = writeln!(s, "| workload | session | durability | floor µs | native µs | component µs | Django µs | component ops/s | component/native | native/floor | Django/component |");
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
        for row in &self.rows {
            let _ = writeln!(s, "{}", row.line());
        }
        let _ = writeln!(s, "\nDjango runs only with durability `none` (it never fsyncs). `file` fsyncs each file before it takes its name; `full` also fsyncs the directory after, and times writes only (a load reads the same way at every durability).\n");
        let _ = writeln!(s, "| whole-process figure | value |\n|---|---|");
        let _ = writeln!(s, "| `sessionbox get KEY`, cold compile cache | {:.1} ms |", self.cli.cold_ms);
        let _ = writeln!(s, "| `sessionbox get KEY`, warm compile cache | {:.1} ms |", self.cli.warm_ms);
        let _ = writeln!(s, "| component load, 1 thread | {:.0} ops/s |", self.threads[0]);
        let _ = writeln!(s, "| component load, 2 threads (one shared Store) | {:.0} ops/s ({:.2}×) |", self.threads[1], self.threads[1] / self.threads[0]);
        let _ = writeln!(s, "| native load, 1 → 2 threads | {:.0} → {:.0} ops/s ({:.2}×) |", self.native_threads[0], self.native_threads[1], self.native_threads[1] / self.native_threads[0]);
        let t = &self.in_tokio;
        let _ = writeln!(s, "| component load (~200 B) outside tokio | {:.1} µs |", t.outside);
        let _ = writeln!(s, "| … from a task on a multi-thread tokio runtime (in place, no `block_in_place`) | {:.1} µs |", t.task);
        let _ = writeln!(s, "| … through `tokio::task::spawn_blocking` | {:.1} µs |", t.spawn_blocking);
        let _ = writeln!(s, "| … from a current-thread tokio runtime (runs in place) | {:.1} µs |", t.current_thread);
        let _ = writeln!(s, "| host peak RSS (2 threads × 2000 create+load, 4 KB) | {:.1} MB |", self.rss_kb as f64 / 1024.0);
        let b = &self.bounds;
        let _ = writeln!(s, "\n## What no guest code removes\n");
        let _ = writeln!(s, "| cost | µs |\n|---|---|");
        let _ = writeln!(s, "| one component call that makes no filesystem call | {:.2} |", b.bare_call);
        let _ = writeln!(
            s,
            "| `exists` on a session file (one stat; the component's call crosses to the host once): native → component | {:.2} → {:.2} (+{:.2}) |",
            b.native_exists,
            b.component_exists,
            b.component_exists - b.native_exists
        );
        let _ = writeln!(
            s,
            "| loading an empty session file (stat, open, read, close, and the clock; nothing to decode): native → component | {:.2} → {:.2} (+{:.2}) |",
            b.native_empty_load, b.component_empty_load, b.crossings()
        );
        for (size, native, component) in &b.bad_signature_load {
            let _ = writeln!(
                s,
                "| loading a {size} session signed with another secret (all of a load up to and including the HMAC check): native → component | {native:.2} → {component:.2} (+{:.2}) |",
                component - native
            );
        }
        for (size, decode) in &b.decode {
            let text = b.decode_text.iter().find(|(s, _)| s == size).map_or(f64::NAN, |(_, t)| *t);
            let _ = writeln!(s, "| decoding a stored {size} session natively, no file access: up to its checked JSON text (signature, base64, inflate, JSON syntax) → with its map built too | {text:.2} → {decode:.2} (+{:.2}) |", decode - text);
        }
        for (size, json) in &b.component_load_json {
            let _ = writeln!(s, "| loading a {size} session through the component as JSON text (`Store::load_json`: all of a load but the map) | {json:.2} |");
        }
        for (size, get) in &b.session_load_get {
            let ratio = b.session_load_get_over_load_json.iter().find(|(s, _)| s == size).map_or(f64::NAN, |(_, r)| *r);
            let _ = writeln!(s, "| loading a {size} session as a `Session` and reading one key (the text indexed, one value parsed; same files and rounds as `Store::load_json`) | {get:.2} ({ratio:.2}× `load_json`) |");
        }
        let _ = writeln!(s, "\n## Targets\n\nThe last column is the best reachable on this machine. Django ratios: Django's time over the bare filesystem operations. Component/native load: native plus what the component adds to a load that stops after the signature check, i.e. the wasm boundary and SHA-256 without the CPU's SHA instructions (wasm has none), with the rest of the guest code as fast as native code. Native/floor: the floor plus decoding the session (the floor reads bytes and decodes nothing). The floor, native and component open files to read with `O_NOATIME` (no access time written; Django does not), so their ratios compare like with like.\n\n| target | measured | met | bound here |\n|---|---|---|---|");
        for (what, value, ok, bound) in self.targets() {
            let _ = writeln!(s, "| {what} | {value} | {} | {bound} |", if ok { "yes" } else { "**no**" });
        }
        if let Some(p) = &self.peers {
            let _ = write!(s, "\n{}", peers_section(p));
        }
        if let Some(sweep) = &self.sweep {
            let _ = write!(s, "\n{}", crate::sweep::section(sweep, command));
        }
        if let Some(http) = &self.http {
            let _ = write!(s, "\n{}", http_section(http));
        }
        if let Some(plugins) = &self.plugins {
            let _ = write!(s, "\n{}", plugins_section(plugins));
        }
        if let Some(redis) = &self.redis {
            let _ = write!(s, "\n{}", redis_section(redis));
        }
        // What the figures mean and what earlier runs measured: kept by hand,
        // so that every performance figure is in this one file.
        let _ = write!(s, "\n{}", include_str!("notes.md"));
        s
    }
}

/// The machine, the date and the toolchain, for the report header.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let run = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd).args(args).output().ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default()
    };
    format!(
        "Machine: {cpu}, {cores} cores, kernel {}. Date: {}. {}.\n",
        run("uname", &["-r"]),
        run("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        run("rustc", &["--version"])
    )
}

/// The HTTP section: the table and its targets.
pub fn http_section(h: &Http) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## HTTP: per request and at {CONNECTIONS} connections\n");
    let _ = writeln!(
        s,
        "One axum route, `GET /` answering 4 bytes; with a session layer, the request carries the cookie of an existing ~200 B session (the auth session above) and the handler reads one key from it (load) or also changes one value, so the response saves it (update). sessionbox stores with durability `none`, as Django. \
         Per request: in-process, `Router::oneshot` from a task on a 2-worker multi-thread tokio runtime (sessionbox's loads run in place, its saves under `block_in_place`), {} requests per round ({} for updates). \
         At {CONNECTIONS} connections: `axum::serve` on that runtime over loopback TCP, {CONNECTIONS} keep-alive HTTP/1.1 connections from one raw-TCP client on a current-thread runtime in the same process (one request in flight per connection, each its own session), {} s per round; the client shares the 2 cores, and the CPU column is the whole process's (server, store, client) over requests served. \
         Medians of {} interleaved rounds on fresh directories; \"over no session\" and the ratios are medians of same-round differences and ratios.\n",
        h.load_requests, h.update_requests, h.seconds, h.rounds
    );
    let _ = writeln!(s, "| stack | request | µs per request | over no session, µs | requests/s, {CONNECTIONS} connections | vs no session | CPU µs per request, {CONNECTIONS} connections |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for case in CASES {
        let over = if case.stack == Stack::Bare { "–".to_owned() } else { format!("+{:.1}", h.over_bare(case)) };
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} | {over} | {:.0} | {:.2}× | {:.1} |",
            case.stack_name(),
            case.request_name(),
            h.latency(case),
            h.throughput(case),
            h.throughput_ratio(case, CASES[0]),
            h.cpu(case)
        );
    }
    let _ = writeln!(
        s,
        "\nTargets (`SessionLayer` against the same request under tower-sessions). The last column is the best reachable with sessionbox's way of calling and saving, from the bound row for an update: a save that cost nothing but replacing the file by rename, under `block_in_place`. (A load has no such bound: it runs in place.)\n\n| target | measured | met | bound here |\n|---|---|---|---|"
    );
    for (what, value, ok, bound) in http_targets(h) {
        let _ = writeln!(s, "| {what} | {value} | {} | {bound} |", if ok { "yes" } else { "**no**" });
    }
    s
}

/// The issue's HTTP targets: (what, measured with target, met, bound).
fn http_targets(h: &Http) -> Vec<(String, String, bool, String)> {
    let layer = |update| Case { stack: Stack::Layer, update };
    let tower = |backend, update| Case { stack: Stack::TowerSessions(backend), update };
    let mut t = Vec::new();
    let over = h.over_bare(layer(false));
    t.push(("`SessionLayer` load: µs added per request over no session".to_owned(), format!("+{over:.1} µs (target ≤ 30 µs)"), over <= 30.0, String::new()));
    let over = h.over_bare(layer(true));
    t.push(("`SessionLayer` update: µs added per request over no session (no target; a save writes a file)".to_owned(), format!("+{over:.1} µs"), true, String::new()));
    for (update, request, bound) in [(false, "load", None), (true, "update", Some(Stack::RenameOver))] {
        for (backend, name, limit) in [(Backend::ThirdPartyFile, "tower-sessions-file-store", 1.0), (Backend::Memory, "`MemoryStore`", 0.5)] {
            let ratio = h.throughput_ratio(layer(update), tower(backend, update));
            let best = bound.map_or(String::new(), |stack| format!("{:.2}×", h.throughput_ratio(Case { stack, update }, tower(backend, update))));
            t.push((format!("requests/s, {request}: `SessionLayer` / tower-sessions + {name}"), format!("{ratio:.2}× (target ≥ {limit}×)"), ratio >= limit, best));
        }
    }
    t
}

/// The plugin section: the import against the host's own load, and the
/// composition under `wasmtime serve`.
pub fn plugins_section(p: &Plugins) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Plugins: sessions through the import, and composed under `wasmtime serve`\n");
    let _ = writeln!(
        s,
        "A plugin's load goes plugin → host (`sessionbox::plugin`, the `bound-sessions` import) → sessionbox component → directory. Measured with the example plugin host and the example counter plugin: one plugin run making {} loads of one ~200 B session (so the plugin's own instantiation is spread over them), against {} `Store::load_json` calls from the host; durability `none`. Medians of {} interleaved rounds; the ratio is the median of same-round ratios.\n",
        p.loads, p.loads, p.rounds
    );
    let _ = writeln!(s, "| load | µs per load |\n|---|---|");
    let _ = writeln!(s, "| from the host (`Store::load_json`) | {:.2} |", p.direct_load);
    let _ = writeln!(s, "| from a plugin, through the import | {:.2} |", p.import_load);
    let _ = writeln!(s, "| a whole plugin run that loads once (a fresh plugin instance each run) | {:.1} |", p.one_run);
    let ok = p.ratio <= 1.3;
    let _ = writeln!(s, "\n| target | measured | met |\n|---|---|---|\n| import / direct, per load | {:.2}× (target ≤ 1.3×) | {} |\n", p.ratio, if ok { "yes" } else { "**no**" });
    match &p.served {
        Ok(rows) => {
            let _ = writeln!(
                s,
                "The http-counter handler composed with the sessionbox component and `no-environment` (`wac plug`), served by the wasmtime 48 CLI (`wasmtime serve -S cli`, built with the features the tests use, so `-O pooling-allocator=n`), which instantiates the composition once per request; beside it the same handler built without sessions, served alone. {CONNECTIONS} keep-alive connections, each with its own ~200 B session's cookie, for {} s per row and round from one raw-TCP client in the benchmark process; durability `none`; the rows interleaved round by round.\n",
                p.seconds
            );
            let _ = writeln!(s, "| request | requests/s | vs the handler without sessions |\n|---|---|---|");
            let base = rows.first().map_or(f64::NAN, |r| r.1);
            for (what, per_second) in rows {
                let _ = writeln!(s, "| {what} | {per_second:.0} | {:.2}× |", per_second / base);
            }
        }
        Err(why) => {
            let _ = writeln!(s, "`wasmtime serve` was not measured: {why}.");
        }
    }
    s
}

/// The Redis section: per-operation figures, ratios and targets, and load
/// throughput from 1 to 2 host processes.
pub fn redis_section(r: &Result<Redis, String>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Redis: sessionbox on one `redis-server`\n");
    let r = match r {
        Ok(r) => r,
        Err(why) => {
            let _ = writeln!(s, "Not measured: {why}.");
            return s;
        }
    };
    use on_redis::{OPS, STORES};
    let (floor, signed, pickled, tower, django) = (0, 1, 2, 3, 4);
    let [signed_len, pickle_len, record_len] = r.value_len;
    let _ = writeln!(
        s,
        "One `redis-server` {} started by the benchmark on loopback (no persistence), shared by every store. The ~200 B auth session above; stored, it is {signed_len} B of signed text (sessionbox, signed format), {pickle_len} B of pickle (sessionbox's django format and Django itself) and {record_len} B of MessagePack (tower-sessions). \
         Each round, every store creates {} sessions, then loads each once, then saves each once with changed data (the save is an update of an existing session); the stores take turns in an order that rotates each round, the server is emptied (`FLUSHALL`) between rounds, and a warm-up round is dropped. Medians of {} rounds; ratios are medians of same-round ratios. {}\n",
        r.server,
        r.ops,
        r.rounds,
        match r.pinned {
            Some(cpu) => format!("These rounds run on one core (CPU {cpu}: the benchmark's thread, `redis-server` and Python, by `sched_setaffinity`), so a round trip is a switch between two processes on that core: across two cores, every round trip waits for an idle vCPU to wake, which on this VM adds 15 to 50 µs depending on what else runs and swamps the costs compared here."),
            None => "The CPU affinity could not be set: round trips cross cores.".to_owned(),
        }
    );
    let _ = writeln!(s, "- **floor**: one `redis::Connection` (the `redis` crate sessionbox uses), a bare `GET`, `SET key value XX PX ttl` and `SET key value NX PX ttl` of a {signed_len} B value; nothing encoded or decoded.");
    let _ = writeln!(s, "- **sessionbox**: `Store::open_redis` (default r2d2 pool, durability `none`), `Store::load` / `save(key, data, false)` / `create`. A load is one round trip, a `MULTI`/`EXEC` transaction of `PTTL` and `GETRANGE` on the key, then the component call and parsing the JSON into `Data`; a save is one `SET … XX PX`, a create one `SET … NX PX` (after drawing a key in the guest).");
    let _ = writeln!(s, "- **tower-sessions**: `tower-sessions-redis-store` 0.16's `RedisStore` over a fred 10 `Pool` of one client, driven through the `SessionStore` trait (tower-sessions-core 0.14) on a current-thread tokio runtime, each call timed around `block_on` (so each includes waking fred's connection task). Load = `GET` + MessagePack decode; save = `SET … XX EXAT`; create = `SET … NX EXAT`.");
    match (&r.django_missing, &r.redis_py) {
        (None, version) => {
            let _ = writeln!(
                s,
                "- **Django**: `SESSION_ENGINE = \"django.contrib.sessions.backends.cache\"` on `django.core.cache.backends.redis.RedisCache` (redis-py {}), in the Django venv, timed in Python with `time.perf_counter_ns` over the same number of operations in the same rounds (interpreter start-up and the first connection not counted). Load = `GET` + unpickle; save = `GET` (is the session still there?) + `SET … PX`; create = `EXISTS` on a fresh key + `SET … NX PX`: two round trips for save and create.",
                version.as_deref().unwrap_or("?")
            );
        }
        (Some(why), _) => {
            let _ = writeln!(s, "- **Django**: not measured: {why}.");
        }
    }
    let _ = writeln!(s, "\n| store | load µs | save µs | create µs | load / floor | save / floor | create / floor |\n|---|---|---|---|---|---|---|");
    for (i, name) in STORES.iter().enumerate() {
        let cell = |x: Option<f64>, f: &dyn Fn(f64) -> String| x.map_or("–".to_owned(), f);
        let us: Vec<String> = (0..3).map(|op| cell(r.us(i, op), &|x| format!("{x:.1}"))).collect();
        let ratios: Vec<String> = (0..3).map(|op| if i == floor { "1×".to_owned() } else { cell(r.ratio(i, floor, op), &|x| format!("{x:.2}×")) }).collect();
        let _ = writeln!(s, "| {name} | {} | {} | {} | {} | {} | {} |", us[0], us[1], us[2], ratios[0], ratios[1], ratios[2]);
    }
    let read = |i: usize| median(r.read_only.iter().map(|x| x[i]).collect());
    let (get, pipelined) = (read(0), read(1));
    let pipe_ratio = median(r.read_only.iter().map(|x| x[1] / x[0]).collect());
    let _ = writeln!(
        s,
        "\nWhere a load's time goes: one session read again and again (same rounds), µs per read.\n\n| read | signed format | django format |\n|---|---|---|\n\
         | a bare `GET` (the floor) | {get:.1} | |\n\
         | sessionbox's read (`MULTI`, `PTTL`, `GETRANGE`, `EXEC`) sent by hand | {pipelined:.1} ({pipe_ratio:.2}× the `GET`) | |\n\
         | `Store::load_json`: that read through the pool, the component call, the check or unpickling, the JSON text | {:.1} | {:.1} |\n\
         | `Store::load`: that, and the JSON parsed into `Data` in the host | {:.1} | {:.1} |\n",
        read(2),
        read(4),
        read(3),
        read(5)
    );
    let _ = writeln!(s, "Targets: sessionbox within 1.3× of the floor on every operation, and faster than Django and than tower-sessions on load and save (create is shown, with no target). Cells are same-round ratios; the µs differences in the notes below are medians of same-round differences.\n");
    let _ = writeln!(s, "| target | load | save | create |\n|---|---|---|---|");
    let verdict = |ratio: Option<f64>, ok: &dyn Fn(f64) -> bool, has_target: bool| match ratio {
        None => "–".to_owned(),
        Some(x) if !has_target => format!("{x:.2}× (no target)"),
        Some(x) => format!("{x:.2}× {}", if ok(x) { "yes" } else { "**no**" }),
    };
    let mut misses = Vec::new();
    for (format, sb) in [("signed", signed), ("django", pickled)] {
        let row: Vec<String> = (0..3)
            .map(|op| {
                let ratio = r.ratio(sb, floor, op);
                if ratio.is_some_and(|x| x > 1.3) {
                    misses.push((format, op));
                }
                verdict(ratio, &|x| x <= 1.3, true)
            })
            .collect();
        let _ = writeln!(s, "| sessionbox ({format} format) / floor (target ≤ 1.3×) | {} | {} | {} |", row[0], row[1], row[2]);
        for (other, name) in [(django, "Django"), (tower, "tower-sessions")] {
            let row: Vec<String> = (0..3).map(|op| verdict(r.ratio(other, sb, op), &|x| x > 1.0, op != 2)).collect();
            let _ = writeln!(s, "| {name} / sessionbox ({format} format): sessionbox faster (target > 1×) | {} | {} | {} |", row[0], row[1], row[2]);
        }
    }
    if !misses.is_empty() {
        let _ = writeln!(s);
        let load_misses = misses.iter().filter(|m| m.1 == 0).count();
        if load_misses > 0 {
            let over = |sb: usize| r.over(sb, floor, 0);
            let _ = writeln!(
                s,
                "Why the load misses 1.3×: the floor's load is one bare `GET`, which decodes nothing. sessionbox's load is one round trip too, and it costs sessionbox +{:.1} µs (signed) and +{:.1} µs (django format) over the floor. Of that, its transaction of two commands instead of one `GET` accounts for +{:.1} µs (the read alone, above); the rest, about {:.1} µs (signed) and {:.1} µs (django format), is the call into the component (the signature check, or unpickling, and building the JSON) and parsing the JSON into `Data` in the host.",
                over(signed),
                over(pickled),
                pipelined - get,
                over(signed) - (pipelined - get),
                over(pickled) - (pipelined - get)
            );
        }
        for (format, op) in misses.iter().filter(|m| m.1 != 0) {
            let sb = if *format == "signed" { signed } else { pickled };
            let _ = writeln!(
                s,
                "\nWhy the {} ({format} format) misses 1.3×: one `SET` like the floor's, plus encoding ({}) in the component and the host's call into it: +{:.1} µs over the floor.",
                OPS[*op],
                if *format == "signed" { "JSON, compression check, HMAC-SHA-256 in wasm" } else { "pickling" },
                r.over(sb, floor, *op)
            );
        }
    }
    let tower_misses: Vec<String> = [("signed", signed), ("django", pickled)]
        .into_iter()
        .flat_map(|(format, sb)| (0..2).map(move |op| (format, sb, op)))
        .filter(|&(_, sb, op)| r.ratio(tower, sb, op).is_some_and(|x| x <= 1.0))
        .map(|(format, sb, op)| format!("{} ({format} format) {:+.1} µs", OPS[op], r.over(sb, tower, op)))
        .collect();
    if !tower_misses.is_empty() {
        let _ = writeln!(
            s,
            "\nWhy sessionbox is slower than tower-sessions ({}): both make one round trip per operation, but tower-sessions stores an unsigned MessagePack record under its random id and runs natively, while sessionbox crosses into the wasm sandbox on every call, signs or verifies with HMAC-SHA-256 in wasm (no SHA instructions) or (django format) pickles and unpickles, and converts between JSON text and `Data` on the host side.",
            tower_misses.join(", ")
        );
    }
    let [[floor1, floor2], [sb1, sb2]] = r.scaling;
    let [floor_ratio, sb_ratio] = r.scaling_ratio;
    let _ = writeln!(
        s,
        "\n### Load throughput from 1 to 2 host processes\n\n{} loads of one ~200 B session in one process, against the same total split over two processes (this binary re-run as workers, each loading its own session with its own connection), on the same `redis-server`; timed from the moment every worker is connected and warmed up. Medians of {} interleaved rounds; the ratio is the median of same-round ratios. Here nothing is pinned: the workers and `redis-server` run where the scheduler puts them. The machine has {} cores, shared by the workers and the single-threaded `redis-server`, so a load is a round trip that keeps the server's core busy too.\n",
        r.scaling_loads,
        r.rounds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let _ = writeln!(s, "| loads | 1 process, loads/s | 2 processes, loads/s | 2 / 1 |\n|---|---|---|---|");
    let _ = writeln!(s, "| floor: bare `GET` | {floor1:.0} | {floor2:.0} | {floor_ratio:.2}× |");
    let _ = writeln!(s, "| sessionbox (signed): `Store::load` | {sb1:.0} | {sb2:.0} | {sb_ratio:.2}× |");
    let _ = writeln!(s, "\n1-minute load average on this machine before and after these runs: {:.2} and {:.2} (other processes share the cores).", r.loadavg[0], r.loadavg[1]);
    if floor_ratio > 2.0 || sb_ratio > 2.0 {
        let _ = writeln!(
            s,
            "\nAbove 2×: one process leaves the cores idle between round trips (the client and `redis-server` each wait for the other to be scheduled again), two keep them busy, so each round trip waits less; anything else running on the machine also weighs more on a one-process run."
        );
    }
    s
}

/// The peers section: sessionbox beside PHP's `files` handler,
/// tower-sessions-file-store and the two syscall floors, the price of
/// atomicity, why sessionbox trails where it does, and the targets.
pub fn peers_section(p: &Peers) -> String {
    use peers::{ATOMIC, IN_PLACE, OPS, PEERS, PHP, SESSIONBOX, SWEEP, TOWER};
    let mut s = String::new();
    let _ = writeln!(s, "## Peers: PHP's files handler, tower-sessions-file-store, and the price of atomicity\n");
    let [target, source, fstype, options] = &p.mount;
    let discard = options.split(',').any(|o| o == "discard");
    let _ = writeln!(
        s,
        "The ~200 B auth session above (update-save writes the changed one), durability `none` (no peer here ever fsyncs). Each round, every implementation gets a fresh temporary directory in `{}`, creates {} sessions, then loads each once, then saves each once with changed data. Each phase runs in {} chunks, and the implementations take turns chunk by chunk (in an order that rotates), with a `sync` before each chunk, so all of them see the machine in the same state. gc / sweep: one sweep of a fresh fixture of {} sessions in the implementation's own format, {} of them past Django's two-week cookie age (by mtime, and for tower-sessions also by the record's expiry), synced before the sweep. Medians of {} rounds ({} for sweeps); \"/ sessionbox\" is the median of same-round ratios, so above 1× sessionbox leads; where it disagrees with the ratio of the µs columns (medians of each implementation's own rounds), the rounds drifted: file creates, renames and unlinks on this VM vary several-fold from minute to minute with what else runs. Nothing is pinned: what is timed is one thread making its own syscalls (PHP's in its own process, timing itself), with no round trip to another process; only tower-sessions' create hands off to tokio's blocking pool.\n",
        std::env::temp_dir().display(),
        p.ops,
        peers::CHUNKS,
        p.sweep_files,
        p.sweep_files / 10,
        p.rounds,
        p.sweep_rounds
    );
    let _ = writeln!(
        s,
        "The filesystem: `findmnt -T` puts that directory on `{source}` ({fstype}, mounted at `{target}`) with options `{options}` (`{target}` is the mount; `findmnt -no OPTIONS /tmp` prints nothing here, as `/tmp` is not a mount point of its own). {}\n",
        if discard {
            format!("This filesystem is {fstype} mounted with `discard`, where freeing blocks (a rename over a file, an unlink) is slow: the device is told of every freed block as the journal commits.")
        } else {
            format!("This filesystem is {fstype} mounted without `discard`.")
        }
    );
    let php_version = match &p.php {
        Ok(version) => format!("PHP {version}"),
        Err(_) => "PHP".to_owned(),
    };
    let _ = writeln!(s, "- **sessionbox**: the component through `sessionbox::Store` with the benchmark's settings; `create`, `load` (parsed into `Data`), `save(key, data, false)`, `clear_expired`. A create writes a temp file and hard-links it to the new name; an update stats the session, writes a temp file and renames it over the old one; signed, Django's format. Its sweep reads and decodes every session, as Django's `clearsessions` does (the expiry may be set inside the data).");
    match &p.php {
        Ok(_) => {
            let _ = writeln!(
                s,
                "- **{php_version} `files` handler**: `php -n php_bench.php` (no php.ini), one process per round, each chunk timed with `hrtime(true)` inside it (start-up not counted); `session.save_path` = the directory, `use_cookies=0`, `use_strict_mode=0`, `serialize_handler=php`, `gc_probability=0`, `gc_maxlifetime=1209600`. Create = `session_id(new id)` + `session_start()` + the four keys set in `$_SESSION` + `session_write_close()`; load = `session_id(id)` + `session_start(['read_and_close' => true])` + one key read (read_and_close: the data is read and the file unlocked and closed at once, nothing written back); update-save = `session_start()` + the changed payload's keys set + `session_write_close()`; gc = one `session_gc()`, which stats every file and unlinks the old ones, reading none. Its syscalls per session: `open(O_RDWR|O_CREAT)`, `flock(LOCK_EX)`, `fstat`, `pread`, and to write `ftruncate(0)` + `pwrite` into the same file, then `close`."
            );
        }
        Err(why) => {
            let _ = writeln!(s, "- **PHP**: not measured: {why}.");
        }
    }
    let _ = writeln!(s, "- **tower-sessions-file-store 0.3**: `FileSessionStorage` driven directly through tower-sessions-core 0.15's `SessionStore` trait (`create`, `load`, `save`); it is async, so each call is run to completion by `block_on` on a current-thread tokio runtime, and its create's `tokio::fs::create_dir_all` hands off to the runtime's blocking-pool thread. It stores an unsigned serde_json record in place: create = `create_new` + write, save = open with truncate + write; no temp file, no lock. Its gc is `ExpiredDeletion::delete_expired`, which skips files modified in the last minute and loads the rest.");
    let _ = writeln!(s, "- **floor: atomic**: the main table's syscall floor (`Floor` in variants.rs), reused: create = a temp file created and written, hard-linked to the new name, unlinked; load = `lstat` + read; update = `lstat`, temp file, `rename` over the session; sweep = list, stat and read every file, unlink the old ones. Like sessionbox (and its native twin) it opens to read with `O_NOATIME`, so no read writes an access time; PHP and Django do not. It writes the payload's JSON, nothing signed.");
    let _ = writeln!(s, "- **floor: in place**: PHP's syscalls with nothing encoded: create = `open(O_CREAT|O_EXCL|O_RDWR)` + `flock(LOCK_EX)` + `ftruncate(0)` + `pwrite` + `close`; load = `open(O_RDWR|O_CREAT)` + `flock` + `fstat` + `pread` + `close`; update = `open(O_RDWR)` + `flock` + `ftruncate(0)` + `pwrite` + `close`; sweep = list, stat, unlink the old ones.\n");
    let us = |x: f64| if x >= 10_000.0 { format!("{:.1} ms", x / 1e3) } else { format!("{x:.1}") };
    let _ = writeln!(s, "| operation | implementation | µs per op | / sessionbox |\n|---|---|---|---|");
    for (op, name) in OPS.iter().enumerate() {
        let name = if op == SWEEP { format!("{name} of {} files (µs per sweep)", p.sweep_files) } else { name.to_string() };
        for (peer, peer_name) in PEERS.iter().enumerate() {
            let Some(x) = p.us(peer, op) else { continue };
            let ratio = if peer == SESSIONBOX { "1×".to_owned() } else { p.ratio(peer, SESSIONBOX, op).map_or("–".into(), |r| format!("{r:.2}×")) };
            let _ = writeln!(s, "| {name} | {peer_name} | {} | {ratio} |", us(x));
        }
    }
    let price = |op: usize| p.over(ATOMIC, IN_PLACE, op).map_or("–".into(), |d| format!("{d:+.1} µs ({:.2}×)", p.ratio(ATOMIC, IN_PLACE, op).unwrap_or(f64::NAN)));
    let _ = writeln!(
        s,
        "\nThe price of atomicity, atomic floor over in-place floor (medians of same-round differences and ratios): create {}, update-save {}. Both update floors free a block on every save: the rename frees the replaced file's, PHP's `ftruncate(0)` the file's own{}.",
        price(0),
        price(2),
        if discard { ", so on this filesystem both pay for freeing it" } else { "" }
    );
    // Where a peer is faster, why: each peer's way of storing, per operation.
    let why = |peer: usize, op: usize| -> &'static str {
        match (peer, op) {
            (PHP, 0 | 2) => "PHP writes the session file in place, unsigned, with no temp file, so a crash or a full disk mid-write can leave a session empty or torn; sessionbox encodes and signs, writes a temp file and links or renames it into place, so a reader sees the old session or the new one, never a part",
            (PHP, 1) => "PHP's load is one open, lock, read and close and unserializing in C, with nothing to verify; sessionbox's crosses into wasm, verifies an HMAC-SHA-256 signature in software (wasm has no SHA instructions) and builds the caller's `Data`",
            (PHP, _) => "PHP's gc decides by mtime alone and reads no file; sessionbox, like Django's `clearsessions`, reads and decodes every session, since the expiry can be set inside the data",
            (TOWER, 0 | 2) => "tower-sessions-file-store writes an unsigned JSON record in place, with no temp file and no lock: a crash mid-write can tear it, and two writers can interleave",
            (TOWER, 1) => "tower-sessions-file-store reads an unsigned JSON record with nothing to verify, natively",
            _ => "tower-sessions-file-store skips every file modified in the last minute and reads only the rest",
        }
    };
    let mut trails = Vec::new();
    for peer in [PHP, TOWER] {
        for (op, name) in OPS.iter().enumerate() {
            if let Some(r) = p.ratio(peer, SESSIONBOX, op).filter(|&r| r < 1.0) {
                trails.push(format!("- {} faster than sessionbox at {name} ({r:.2}×): {}.", PEERS[peer], why(peer, op)));
            }
        }
    }
    if !trails.is_empty() {
        let _ = writeln!(s, "\nWhere sessionbox does not lead:\n\n{}", trails.join("\n"));
    }
    let encode = p.encode_us();
    let _ = writeln!(
        s,
        "\nTargets. \"Encoding\" is what a sessionbox write costs besides its files, measured in the same rounds as a `Store::save` of a session that does not exist: the call into the component, the JSON canonicalized, signed and base64-encoded, then one failing stat: {encode:.1} µs.\n\n| target | measured | met |\n|---|---|---|"
    );
    match p.ratio(SESSIONBOX, PHP, 1) {
        Some(r) => {
            let _ = writeln!(s, "| ~200 B load: sessionbox / PHP | {r:.2}× (target ≤ 2×) | {} |", if r <= 2.0 { "yes" } else { "**no**" });
        }
        None => {
            let _ = writeln!(s, "| ~200 B load: sessionbox / PHP | PHP not measured (target ≤ 2×) | – |");
        }
    }
    for (op, floor) in [(0, "create: temp + link + unlink"), (2, "update-save: lstat + temp + rename")] {
        let over = p.over(SESSIONBOX, ATOMIC, op).unwrap_or(f64::NAN);
        let _ = writeln!(s, "| {}: sessionbox − atomic floor ({floor}) | {over:+.1} µs (target ≤ encoding, {encode:.1} µs) | {} |", OPS[op], if over <= encode { "yes" } else { "**no**" });
    }
    s
}
