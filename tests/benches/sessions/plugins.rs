//! Plugins (`--only plugins`): a plugin's session load through the
//! `bound-sessions` import (plugin → host → sessionbox component →
//! directory) against the same load from the host directly, and the
//! composed http-counter under the stock `wasmtime serve`, with and without
//! a session call per request.

use crate::django::tools_dir;
use crate::http::{exchange_until, Connection, CONNECTIONS};
use crate::variants::{settings, Payload};
use crate::workloads::median;
use sessionbox::{Durability, Store};
use sessionbox_plugin_host::{Limits, PluginHost};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What the plugin section measured.
pub struct Plugins {
    /// µs per load from the host (`Store::load_json`).
    pub direct_load: f64,
    /// µs per load made by a plugin through the import (N loads in one run).
    pub import_load: f64,
    /// Median of the same-round ratios import / direct.
    pub ratio: f64,
    /// µs for a whole plugin run that loads once (a fresh plugin instance).
    pub one_run: f64,
    pub loads: usize,
    pub rounds: usize,
    /// Requests/s under `wasmtime serve`: (request, per second), or why
    /// they were not measured.
    pub served: Result<Vec<(&'static str, f64)>, String>,
    pub seconds: f64,
}

/// The example plugins' directory of built components (built here, as the
/// tests build them), into `target/<name>` with `extra` cargo arguments.
fn built_plugins(name: &str, extra: &[&str]) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = root.join("target").join(name);
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--locked", "--release", "--target", "wasm32-wasip2", "--manifest-path"])
        .arg(root.join("examples/plugins/Cargo.toml"))
        .args(extra)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("cargo build of the example plugins");
    assert!(status.success(), "building examples/plugins failed");
    target.join("wasm32-wasip2/release")
}

pub fn measure(rounds: usize, loads: usize, serve_for: Duration, data: &Payload) -> Plugins {
    let plugins = built_plugins("plugins", &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("sessions"), settings(Durability::None)).expect("open store");
    let key = store.create_json(&data.json).expect("create");
    let host = PluginHost::new(Limits { deadline: Duration::from_secs(60), ..Limits::default() }).expect("plugin host");
    let counter = host.load(&std::fs::read(plugins.join("counter.wasm")).expect("counter.wasm"), store.clone()).expect("load plugin");
    let n = loads.to_string();
    let (mut direct, mut import, mut ratios, mut one_run) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Loads are the tightest claim: more rounds make the median steadier.
    for _ in 0..rounds * 3 {
        let start = Instant::now();
        for _ in 0..loads {
            assert!(matches!(std::hint::black_box(store.load_json(&key)), Ok(sessionbox::Loaded::Found { .. })));
        }
        let d = start.elapsed().as_secs_f64() * 1e6 / loads as f64;
        let start = Instant::now();
        let found = host.run(&counter, &["load-many", &key, &n]).expect("plugin ran").expect("plugin answered");
        let i = start.elapsed().as_secs_f64() * 1e6 / loads as f64;
        assert_eq!(found, n, "every load through the import found the session");
        let start = Instant::now();
        for _ in 0..20 {
            host.run(&counter, &["show", &key]).expect("plugin ran").expect("plugin answered");
        }
        one_run.push(start.elapsed().as_secs_f64() * 1e6 / 20.0);
        direct.push(d);
        import.push(i);
        ratios.push(i / d);
    }
    let served = serve(&plugins, rounds, serve_for, data);
    Plugins {
        direct_load: median(direct),
        import_load: median(import),
        ratio: median(ratios),
        one_run: median(one_run),
        loads,
        rounds: rounds * 3,
        served,
        seconds: serve_for.as_secs_f64(),
    }
}

/// The served rows: what each measures.
const SERVED: [&str; 3] = [
    "`GET /`, the handler built without sessions (`--features without-sessions`: the session calls compiled out), served alone",
    "`GET /healthz`, composed: no session call (the sessionbox component is instantiated all the same)",
    "`GET /`, composed: load, save, load again for the cookie's expiry",
];

/// `wasmtime serve` of the composition, driven at [`CONNECTIONS`]
/// connections, each request kind in turn per round.
fn serve(plugins: &Path, rounds: usize, serve_for: Duration, data: &Payload) -> Result<Vec<(&'static str, f64)>, String> {
    let tools = tools_dir().ok_or("no HOME")?;
    let (wac, wasmtime) = (tools.join("wac-0.12.0/bin/wac"), tools.join("wasmtime-48.0.8-run-serve/bin/wasmtime"));
    for tool in [&wac, &wasmtime] {
        if !tool.exists() {
            return Err(format!("{} is not installed (`cargo test` installs it once)", tool.display()));
        }
    }
    let without_sessions = built_plugins("plugins-without-sessions", &["-p", "http-counter", "--features", "without-sessions"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let composed = dir.path().join("composed.wasm");
    let guest = dir.path().join("sessionbox_guest.wasm");
    std::fs::write(&guest, sessionbox::guest_component()).expect("write the guest component");
    let status = Command::new(&wac)
        .arg("plug")
        .arg(plugins.join("http_counter.wasm"))
        .arg("--plug")
        .arg(plugins.join("no_environment.wasm"))
        .arg("--plug")
        .arg(&guest)
        .arg("-o")
        .arg(&composed)
        .status()
        .expect("wac");
    assert!(status.success(), "wac plug failed");
    let sessions = dir.path().join("sessions");
    let store = Store::open(&sessions, settings(Durability::None)).expect("open store");
    let cookies: Vec<String> = (0..CONNECTIONS).map(|_| format!("sessionid={}", store.create_json(&data.json).expect("create"))).collect();
    let (_alone, alone) = start_serve(&wasmtime, &without_sessions.join("http_counter.wasm"), None);
    let (_composed, composed) = start_serve(&wasmtime, &composed, Some(&sessions));
    let client = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("client runtime");
    let mut per_row = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, (addr, path)) in [(alone, "/"), (composed, "/healthz"), (composed, "/")].into_iter().enumerate() {
            per_row[i].push(drive(&client, addr, path, &cookies, serve_for));
        }
    }
    Ok(SERVED.into_iter().zip(per_row.map(median)).collect())
}

/// `wasmtime serve` of `component` on a free loopback port, with `sessions`
/// as its only preopen and the benchmark's settings in its environment.
fn start_serve(wasmtime: &Path, component: &Path, sessions: Option<&Path>) -> (ServeChild, std::net::SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let mut cmd = Command::new(wasmtime);
    cmd.args(["serve", "-O", "pooling-allocator=n", "-S", "cli", "--addr", &format!("127.0.0.1:{port}")]);
    if let Some(sessions) = sessions {
        cmd.arg("--dir").arg(format!("{}::.", sessions.display()));
    }
    let mut server = ServeChild(
        cmd.args(["--env", "SESSIONBOX_SECRET_KEY", "--env", "SESSIONBOX_DURABILITY"])
            .arg(component)
            .env("SESSIONBOX_SECRET_KEY", settings(Durability::None).secret_key)
            .env("SESSIONBOX_DURABILITY", "none")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("wasmtime serve"),
    );
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let started = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "wasmtime serve did not start");
        assert!(server.0.try_wait().expect("poll").is_none(), "wasmtime serve exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, addr)
}

/// Kills `wasmtime serve` when the measurement ends, however it ends.
struct ServeChild(Child);

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Requests/s of `GET path` over one keep-alive connection per cookie.
fn drive(client: &tokio::runtime::Runtime, addr: std::net::SocketAddr, path: &str, cookies: &[String], for_how_long: Duration) -> f64 {
    let requests: Vec<Vec<u8>> = cookies.iter().map(|c| format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\ncookie: {c}\r\n\r\n").into_bytes()).collect();
    client.block_on(async move {
        let mut connections = Vec::new();
        for request in requests {
            let mut c = Connection::open(addr, request).await;
            c.exchange().await;
            connections.push(c);
        }
        let start = Instant::now();
        let total = exchange_until(connections, start + for_how_long).await;
        total as f64 / start.elapsed().as_secs_f64()
    })
}
