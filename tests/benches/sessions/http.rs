//! The web layer over HTTP: one axum route (`GET /`, a 4-byte text) with no
//! session layer, under `sessionbox_tower::SessionLayer`, and under
//! tower-sessions' `SessionManagerLayer` over three stores (sessionbox's
//! `TowerSessionsStore`, tower-sessions' `MemoryStore`, and the third-party
//! `tower-sessions-file-store`), each with a request that only reads the
//! ~200 B session and one that changes a value in it (so it is saved);
//! and two bounds with no session layer: a handler that only calls
//! `block_in_place` (what every sessionbox save on a multi-thread runtime
//! pays beside its work; loads, which take microseconds, run in place) and
//! one that only replaces the session's file by rename (what every
//! sessionbox save pays).
//!
//! Two figures per case, on a fresh directory of 64 sessions each round,
//! the cases interleaved round by round (the order rotated every round):
//!
//! - µs per request in-process: the `Router` called with `oneshot` in a
//!   loop from a task on a two-worker multi-thread tokio runtime (where
//!   sessionbox's loads run in place and its saves under
//!   `block_in_place`), cycling through the 64
//!   sessions' cookies;
//! - requests/s at 64 connections: `axum::serve` on that runtime over
//!   loopback TCP, driven by 64 keep-alive HTTP/1.1 connections (one request
//!   in flight on each, each with its own session's cookie) from a raw-TCP
//!   client on a current-thread runtime in this process, the same client for
//!   every case; beside requests/s, the whole process's CPU time and
//!   context switches per request.

use crate::variants::{settings, Payload};
use crate::workloads::median;
use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use sessionbox::{Durability, Store};
use sessionbox_tower::{SessionLayer, TowerSessionsStore};
use std::collections::HashMap;
use std::future::IntoFuture;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Builder, Runtime};
use tower::ServiceExt;
use tower_sessions::session::{Id, Record};
use tower_sessions::{MemoryStore, SessionManagerLayer, SessionStore};
use tower_sessions_file_store::FileSessionStorage;

/// Concurrent connections, and so sessions per fixture.
pub const CONNECTIONS: usize = 64;

/// The key every handler reads, and what the route answers.
const USER_KEY: &str = "_auth_user_id";
const USER: &str = "4200";

/// What stands around the route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stack {
    /// No session layer at all.
    Bare,
    /// `sessionbox_tower::SessionLayer` over a `sessionbox::Store`.
    Layer,
    /// tower-sessions' `SessionManagerLayer` over a store.
    TowerSessions(Backend),
    /// No session layer; the handler calls `block_in_place(|| ())`: what
    /// handing the worker to another thread costs, which every sessionbox
    /// store call on a multi-thread runtime pays.
    BlockInPlace,
    /// No session layer; under `block_in_place`, the handler replaces the
    /// session's file as Django and sessionbox do (a temp file written and
    /// renamed over it) with the JSON as it is: the floor of a save.
    RenameOver,
}

/// The store under tower-sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sessionbox,
    Memory,
    ThirdPartyFile,
}

/// One measured case: a stack and what the request does to the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Case {
    pub stack: Stack,
    /// The handler changes one value (the response saves the session);
    /// otherwise it only reads one.
    pub update: bool,
}

const fn case(stack: Stack, update: bool) -> Case {
    Case { stack, update }
}

/// The cases, in table order; the last two are bounds.
pub const CASES: [Case; 11] = [
    case(Stack::Bare, false),
    case(Stack::Layer, false),
    case(Stack::Layer, true),
    case(Stack::TowerSessions(Backend::Sessionbox), false),
    case(Stack::TowerSessions(Backend::Sessionbox), true),
    case(Stack::TowerSessions(Backend::Memory), false),
    case(Stack::TowerSessions(Backend::Memory), true),
    case(Stack::TowerSessions(Backend::ThirdPartyFile), false),
    case(Stack::TowerSessions(Backend::ThirdPartyFile), true),
    case(Stack::BlockInPlace, false),
    case(Stack::RenameOver, true),
];

impl Case {
    pub fn stack_name(self) -> &'static str {
        match self.stack {
            Stack::Bare => "no session layer",
            Stack::Layer => "sessionbox-tower `SessionLayer` + `Store`",
            Stack::TowerSessions(Backend::Sessionbox) => "tower-sessions + `TowerSessionsStore` (sessionbox)",
            Stack::TowerSessions(Backend::Memory) => "tower-sessions + `MemoryStore`",
            Stack::TowerSessions(Backend::ThirdPartyFile) => "tower-sessions + tower-sessions-file-store 0.3",
            Stack::BlockInPlace | Stack::RenameOver => "bound: no session layer",
        }
    }

    pub fn request_name(self) -> &'static str {
        match (self.stack, self.update) {
            (Stack::Bare, _) => "no session",
            (Stack::BlockInPlace, _) => "`block_in_place` around nothing, in the handler",
            (Stack::RenameOver, _) => "the session's file replaced (temp file, rename) under `block_in_place`, no encoding",
            (_, false) => "load, read a key",
            (_, true) => "load, change a value, save",
        }
    }

    /// A short name for stderr.
    pub fn label(self) -> String {
        format!("{} / {}", self.stack_name().replace('`', ""), self.request_name())
    }
}

/// What one run measured: per case, one figure per round.
pub struct Http {
    pub rounds: usize,
    pub load_requests: usize,
    pub update_requests: usize,
    pub seconds: f64,
    /// µs per request, per round.
    pub latency: Vec<(Case, Vec<f64>)>,
    /// Requests/s at [`CONNECTIONS`] connections, per round.
    pub throughput: Vec<(Case, Vec<f64>)>,
    /// CPU µs (the whole process: server, store and client) per request at
    /// [`CONNECTIONS`] connections, per round.
    pub cpu: Vec<(Case, Vec<f64>)>,
    /// Context switches (the whole process) per request at [`CONNECTIONS`]
    /// connections, per round.
    pub switches: Vec<(Case, Vec<f64>)>,
}

impl Http {
    fn rounds_of(figures: &[(Case, Vec<f64>)], case: Case) -> &[f64] {
        &figures.iter().find(|(c, _)| *c == case).expect("a measured case").1
    }

    /// Median µs per request.
    pub fn latency(&self, case: Case) -> f64 {
        median(Self::rounds_of(&self.latency, case).to_vec())
    }

    /// Median, over rounds, of what `case` adds to a request with no session
    /// layer in the same round.
    pub fn over_bare(&self, case: Case) -> f64 {
        let bare = Self::rounds_of(&self.latency, CASES[0]);
        median(Self::rounds_of(&self.latency, case).iter().zip(bare).map(|(c, b)| c - b).collect())
    }

    /// Median requests/s.
    pub fn throughput(&self, case: Case) -> f64 {
        median(Self::rounds_of(&self.throughput, case).to_vec())
    }

    /// Median CPU µs per request at [`CONNECTIONS`] connections.
    pub fn cpu(&self, case: Case) -> f64 {
        median(Self::rounds_of(&self.cpu, case).to_vec())
    }

    /// Median context switches per request at [`CONNECTIONS`] connections.
    pub fn switches(&self, case: Case) -> f64 {
        median(Self::rounds_of(&self.switches, case).to_vec())
    }

    /// Median, over rounds, of `a`'s requests/s over `b`'s in the same round.
    pub fn throughput_ratio(&self, a: Case, b: Case) -> f64 {
        let (a, b) = (Self::rounds_of(&self.throughput, a), Self::rounds_of(&self.throughput, b));
        median(a.iter().zip(b).map(|(a, b)| a / b).collect())
    }
}

/// Measures every case for `rounds` rounds: `load_requests` (or, for the
/// cases that save, `update_requests`) timed requests in-process, then
/// `for_how_long` of serving 64 connections.
pub fn measure(rounds: usize, load_requests: usize, update_requests: usize, for_how_long: Duration, data: &Payload) -> Http {
    let server = Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("server runtime");
    let client = Builder::new_current_thread().enable_all().build().expect("client runtime");
    let mut latency: Vec<(Case, Vec<f64>)> = CASES.iter().map(|&c| (c, Vec::new())).collect();
    let (mut throughput, mut cpu, mut switches) = (latency.clone(), latency.clone(), latency.clone());
    for round in 0..rounds {
        for i in (0..CASES.len()).map(|i| (i + round) % CASES.len()) {
            let case = CASES[i];
            let fixture = Fixture::new(&server, case, data);
            fixture.check(&server);
            let n = if case.update { update_requests } else { load_requests };
            latency[i].1.push(fixture.time_requests(&server, n));
            let served = fixture.serve(&server, &client, for_how_long);
            throughput[i].1.push(served.per_second);
            cpu[i].1.push(served.cpu_us);
            switches[i].1.push(served.switches);
        }
    }
    let http = Http { rounds, load_requests, update_requests, seconds: for_how_long.as_secs_f64(), latency, throughput, cpu, switches };
    for case in CASES {
        eprintln!(
            "http: {}: {:.1} µs/request (+{:.1} over no session); at {CONNECTIONS} connections {:.0} requests/s, {:.1} CPU µs and {:.2} context switches per request",
            case.label(),
            http.latency(case),
            http.over_bare(case),
            http.throughput(case),
            http.cpu(case),
            http.switches(case),
        );
    }
    http
}

/// What serving one case for a while measured.
struct Served {
    per_second: f64,
    /// Process CPU time (user and system) per request, µs.
    cpu_us: f64,
    /// Process context switches (voluntary and not) per request.
    switches: f64,
}

/// The process's CPU time (µs) and context switches so far, all threads.
fn usage() -> (f64, f64) {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) }, 0);
    let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    (us(u.ru_utime) + us(u.ru_stime), (u.ru_nvcsw + u.ru_nivcsw) as f64)
}

/// One case's app over a fresh directory of [`CONNECTIONS`] sessions.
struct Fixture {
    _dir: tempfile::TempDir,
    app: Router,
    /// One `Cookie` header per session.
    cookies: Vec<HeaderValue>,
}

impl Fixture {
    fn new(server: &Runtime, case: Case, data: &Payload) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let open = || Store::open(dir.path().join("sessions"), settings(Durability::None)).expect("open store");
        let (app, cookies) = match case.stack {
            Stack::Bare => (Router::new().route("/", get(|| async { USER })), (0..CONNECTIONS).map(|i| format!("sessionid={i:032}")).collect()),
            Stack::Layer => {
                let store = open();
                let cookies = (0..CONNECTIONS).map(|_| format!("sessionid={}", store.create(&data.data).expect("create"))).collect();
                let route = if case.update { get(layer_update) } else { get(layer_load) };
                (Router::new().route("/", route).layer(SessionLayer::new(store)), cookies)
            }
            Stack::TowerSessions(Backend::Sessionbox) => tower_sessions_app(server, TowerSessionsStore::new(open()), case.update, data),
            Stack::TowerSessions(Backend::Memory) => tower_sessions_app(server, MemoryStore::default(), case.update, data),
            Stack::TowerSessions(Backend::ThirdPartyFile) => {
                tower_sessions_app(server, FileSessionStorage::new_in_folder(dir.path().join("sessions")), case.update, data)
            }
            Stack::BlockInPlace => (
                Router::new().route("/", get(|| async { tokio::task::block_in_place(|| ()); USER })),
                (0..CONNECTIONS).map(|i| format!("sessionid={i:032}")).collect(),
            ),
            Stack::RenameOver => {
                let store = open();
                let cookies = (0..CONNECTIONS).map(|_| format!("sessionid={}", store.create(&data.data).expect("create"))).collect();
                (Router::new().route("/", get(rename_over)).with_state((dir.path().join("sessions"), data.json.clone())), cookies)
            }
        };
        let cookies = cookies.into_iter().map(|c: String| HeaderValue::try_from(c).expect("a header value")).collect();
        Fixture { _dir: dir, app, cookies }
    }

    /// One request per session, each answered with the session's user: the
    /// cookies name live sessions (and every store has an instance warm).
    fn check(&self, server: &Runtime) {
        server.block_on(async {
            for cookie in &self.cookies {
                assert_eq!(request(&self.app, cookie).await, USER.as_bytes(), "{cookie:?}");
            }
        });
    }

    /// µs per request over `n` requests from a task on `server`.
    fn time_requests(&self, server: &Runtime, n: usize) -> f64 {
        let (app, cookies) = (self.app.clone(), self.cookies.clone());
        let task = server.spawn(async move {
            let start = Instant::now();
            for cookie in cookies.iter().cycle().take(n) {
                std::hint::black_box(request(&app, cookie).await);
            }
            start.elapsed().as_secs_f64() * 1e6 / n as f64
        });
        server.block_on(task).expect("timing task")
    }

    /// Requests/s with the app served on `server` and driven from `client`
    /// for `for_how_long`.
    fn serve(&self, server: &Runtime, client: &Runtime, for_how_long: Duration) -> Served {
        let listener = server.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = server.spawn(axum::serve(listener, self.app.clone()).with_graceful_shutdown(async move { drop(stopped.await) }).into_future());
        let requests: Vec<Vec<u8>> = self
            .cookies
            .iter()
            .map(|c| format!("GET / HTTP/1.1\r\nhost: {addr}\r\ncookie: {}\r\n\r\n", c.to_str().expect("ascii")).into_bytes())
            .collect();
        let served = client.block_on(async move {
            let mut connections = Vec::new();
            for request in requests {
                let mut c = Connection::open(addr, request).await;
                c.exchange().await; // not timed: connecting and the first request
                connections.push(c);
            }
            let (cpu_before, switches_before) = usage();
            let start = Instant::now();
            let total = exchange_until(connections, start + for_how_long).await;
            let elapsed = start.elapsed().as_secs_f64();
            let (cpu, switches) = usage();
            let total = total as f64;
            Served { per_second: total / elapsed, cpu_us: (cpu - cpu_before) / total, switches: (switches - switches_before) / total }
        });
        let _ = stop.send(());
        server.block_on(serving).expect("server task").expect("serve");
        served
    }
}

/// The route under tower-sessions over `store`, with [`CONNECTIONS`]
/// sessions created in it; their cookies.
fn tower_sessions_app<S: SessionStore + Clone>(server: &Runtime, store: S, update: bool, data: &Payload) -> (Router, Vec<String>) {
    let fields: HashMap<String, serde_json::Value> = serde_json::from_str(&data.json).expect("an object");
    let cookies = server.block_on(async {
        let mut cookies = Vec::new();
        for _ in 0..CONNECTIONS {
            let expiry_date = time::OffsetDateTime::now_utc() + time::Duration::weeks(2);
            let mut record = Record { id: Id::default(), data: fields.clone(), expiry_date };
            store.create(&mut record).await.expect("create");
            cookies.push(format!("id={}", record.id));
        }
        cookies
    });
    let route = if update { get(tower_sessions_update) } else { get(tower_sessions_load) };
    (Router::new().route("/", route).layer(SessionManagerLayer::new(store)), cookies)
}

async fn layer_load(session: sessionbox_tower::Session) -> String {
    session.get::<String>(USER_KEY).await.expect("get").unwrap_or_default()
}

async fn layer_update(session: sessionbox_tower::Session) -> String {
    let visits: u64 = session.get("visits").await.expect("get").unwrap_or(0);
    session.insert("visits", visits + 1).await.expect("insert");
    session.get::<String>(USER_KEY).await.expect("get").unwrap_or_default()
}

async fn tower_sessions_load(session: tower_sessions::Session) -> String {
    session.get::<String>(USER_KEY).await.expect("get").unwrap_or_default()
}

async fn tower_sessions_update(session: tower_sessions::Session) -> String {
    let visits: u64 = session.get("visits").await.expect("get").unwrap_or(0);
    session.insert("visits", visits + 1).await.expect("insert");
    session.get::<String>(USER_KEY).await.expect("get").unwrap_or_default()
}

/// One in-process request; the response body.
async fn request(app: &Router, cookie: &HeaderValue) -> axum::body::Bytes {
    let req = Request::get("/").header(header::COOKIE, cookie.clone()).body(Body::empty()).expect("request");
    let res = app.clone().oneshot(req).await.expect("infallible");
    assert_eq!(res.status(), StatusCode::OK);
    http_body_util::BodyExt::collect(res.into_body()).await.expect("body").to_bytes()
}

/// A keep-alive connection that sends one fixed request at a time.
pub struct Connection {
    stream: TcpStream,
    request: Vec<u8>,
    received: Vec<u8>,
}

impl Connection {
    pub async fn open(addr: std::net::SocketAddr, request: Vec<u8>) -> Connection {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Connection { stream, request, received: Vec::with_capacity(4096) }
    }

    /// Sends the request and reads its whole response (a 200 with a
    /// `Content-Length`).
    pub async fn exchange(&mut self) {
        self.stream.write_all(&self.request).await.expect("send");
        loop {
            if let Some(len) = response_len(&self.received) {
                self.received.drain(..len);
                return;
            }
            self.received.reserve(4096);
            let n = self.stream.read_buf(&mut self.received).await.expect("receive");
            assert!(n > 0, "the server closed the connection");
        }
    }
}

/// Keeps every connection exchanging requests, one in flight each, until
/// `deadline`; returns how many were answered.
pub async fn exchange_until(connections: Vec<Connection>, deadline: Instant) -> u64 {
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|mut c| {
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    c.exchange().await;
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("client task");
    }
    total
}

/// The length of the whole response at the start of `buf`, once it is all
/// there.
fn response_len(buf: &[u8]) -> Option<usize> {
    let head_len = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_len]).expect("an ASCII head");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let body_len = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.trim().parse::<usize>().expect("a length")))
        .expect("a Content-Length");
    (buf.len() >= head_len + body_len).then_some(head_len + body_len)
}

/// What the layer's cost under load is made of (`--only http-probe`):
/// stand-ins for its parts, each served like the cases, printed to stderr.
/// With `SESSIONBOX_HTTP_PROBE=N`, only the Nth (from 0), e.g. under `perf
/// record`.
pub fn probe(rounds: usize, requests: usize, for_how_long: Duration, data: &Payload) {
    let only: Option<usize> = std::env::var("SESSIONBOX_HTTP_PROBE").ok().map(|n| n.parse().expect("SESSIONBOX_HTTP_PROBE: a probe's index"));
    const PROBES: [&str; 11] = [
        "no session layer",
        "spin 12 µs in the handler",
        "block_in_place(spin 12 µs)",
        "block_in_place(nothing)",
        "Store::load in the handler (block_in_place inside)",
        "Store::load through spawn_blocking",
        "SessionLayer, handler ignores the session",
        "SessionLayer, handler reads a key",
        "block_in_place(write a temp file, rename it over the session's)",
        "block_in_place(truncate the session's file, write it)",
        "SessionLayer, handler changes a value",
    ];
    let server = Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("server runtime");
    let client = Builder::new_current_thread().enable_all().build().expect("client runtime");
    let mut figures = vec![[const { Vec::new() }; 4]; PROBES.len()];
    for round in 0..rounds {
        for i in (0..PROBES.len()).map(|i| (i + round) % PROBES.len()) {
            if only.is_some_and(|only| only != i) {
                continue;
            }
            let dir = tempfile::tempdir().expect("tempdir");
            let store = Store::open(dir.path().join("sessions"), settings(Durability::None)).expect("open store");
            let cookies: Vec<String> = (0..CONNECTIONS).map(|_| format!("sessionid={}", store.create(&data.data).expect("create"))).collect();
            let app = match i {
                0 => Router::new().route("/", get(|| async { USER })),
                1 => Router::new().route("/", get(|| async { spin(12); USER })),
                2 => Router::new().route("/", get(|| async { tokio::task::block_in_place(|| spin(12)); USER })),
                3 => Router::new().route("/", get(|| async { tokio::task::block_in_place(|| ()); USER })),
                4 => Router::new().route("/", get(store_load)).with_state(store),
                5 => Router::new().route("/", get(store_load_spawn_blocking)).with_state(store),
                6 => Router::new().route("/", get(|_: sessionbox_tower::Session| async { USER })).layer(SessionLayer::new(store)),
                7 => Router::new().route("/", get(layer_load)).layer(SessionLayer::new(store)),
                8 => Router::new().route("/", get(rename_over)).with_state((dir.path().join("sessions"), data.json.clone())),
                9 => Router::new().route("/", get(truncate_write)).with_state((dir.path().join("sessions"), data.json.clone())),
                _ => Router::new().route("/", get(layer_update)).layer(SessionLayer::new(store)),
            };
            let cookies = cookies.into_iter().map(|c| HeaderValue::try_from(c).expect("a header value")).collect();
            let fixture = Fixture { _dir: dir, app, cookies };
            fixture.check(&server);
            figures[i][0].push(fixture.time_requests(&server, if i >= 8 { requests / 4 } else { requests }));
            let served = fixture.serve(&server, &client, for_how_long);
            figures[i][1].push(served.per_second);
            figures[i][2].push(served.cpu_us);
            figures[i][3].push(served.switches);
        }
    }
    for (name, [latency, per_second, cpu, switches]) in PROBES.iter().zip(figures).filter(|(_, f)| !f[0].is_empty()) {
        eprintln!(
            "http probe: {name}: {:.1} µs/request; at {CONNECTIONS} connections {:.0} requests/s, {:.1} CPU µs and {:.2} context switches per request",
            median(latency),
            median(per_second),
            median(cpu),
            median(switches)
        );
    }
}

/// Busy for `us` µs, without yielding.
fn spin(us: u64) {
    let until = Instant::now() + Duration::from_micros(us);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// The session key in a `Cookie: sessionid=KEY` header.
fn key_of(headers: &axum::http::HeaderMap) -> String {
    let cookie = headers.get(header::COOKIE).and_then(|c| c.to_str().ok()).expect("a cookie");
    cookie.strip_prefix("sessionid=").expect("the session cookie").to_owned()
}

fn user_of(loaded: sessionbox::Result<sessionbox::Loaded<sessionbox::Data>>) -> String {
    match loaded.expect("load") {
        sessionbox::Loaded::Found { data, .. } => data[USER_KEY].as_str().expect("a user").to_owned(),
        other => panic!("{other:?}"),
    }
}

async fn store_load(axum::extract::State(store): axum::extract::State<Store>, headers: axum::http::HeaderMap) -> String {
    user_of(store.load(&key_of(&headers)))
}

async fn store_load_spawn_blocking(axum::extract::State(store): axum::extract::State<Store>, headers: axum::http::HeaderMap) -> String {
    let key = key_of(&headers);
    user_of(tokio::task::spawn_blocking(move || store.load(&key)).await.expect("blocking task"))
}

type Files = axum::extract::State<(std::path::PathBuf, String)>;

/// The session's file replaced as Django and sessionbox replace it: a new
/// temp file, written, renamed over the old name (no encoding, no fsync).
fn replace_by_rename(dir: &std::path::Path, key: &str, json: &str) {
    let temp = dir.join(format!("{key}.tmp"));
    std::fs::write(&temp, json).expect("write temp");
    std::fs::rename(&temp, dir.join(format!("sessionid{key}"))).expect("rename");
}

async fn rename_over(axum::extract::State((dir, json)): Files, headers: axum::http::HeaderMap) -> &'static str {
    tokio::task::block_in_place(|| replace_by_rename(&dir, &key_of(&headers), &json));
    USER
}

/// The session's file rewritten in place, as tower-sessions-file-store
/// saves (but in one write): truncated, then written.
async fn truncate_write(axum::extract::State((dir, json)): Files, headers: axum::http::HeaderMap) -> &'static str {
    let name = dir.join(format!("sessionid{}", key_of(&headers)));
    tokio::task::block_in_place(|| std::fs::write(&name, &json).expect("rewrite"));
    USER
}
