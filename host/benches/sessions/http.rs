//! The web layer over HTTP: one axum route (`GET /`, a 4-byte text) with no
//! session layer, under `sessionbox_tower::SessionLayer`, and under
//! tower-sessions' `SessionManagerLayer` over three stores (sessionbox's
//! `TowerSessionsStore`, tower-sessions' `MemoryStore`, and the third-party
//! `tower-sessions-file-store`), each with a request that only reads the
//! ~200 B session and one that changes a value in it (so it is saved).
//!
//! Two figures per case, on a fresh directory of 64 sessions each round,
//! the cases interleaved round by round (the order rotated every round):
//!
//! - µs per request in-process: the `Router` called with `oneshot` in a
//!   loop from a task on a two-worker multi-thread tokio runtime (where the
//!   store calls run under `block_in_place`), cycling through the 64
//!   sessions' cookies;
//! - requests/s at 64 connections: `axum::serve` on that runtime over
//!   loopback TCP, driven by 64 keep-alive HTTP/1.1 connections (one request
//!   in flight on each, each with its own session's cookie) from a raw-TCP
//!   client on a current-thread runtime in this process, the same client for
//!   every case.

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

/// The cases, in table order.
pub const CASES: [Case; 9] = [
    case(Stack::Bare, false),
    case(Stack::Layer, false),
    case(Stack::Layer, true),
    case(Stack::TowerSessions(Backend::Sessionbox), false),
    case(Stack::TowerSessions(Backend::Sessionbox), true),
    case(Stack::TowerSessions(Backend::Memory), false),
    case(Stack::TowerSessions(Backend::Memory), true),
    case(Stack::TowerSessions(Backend::ThirdPartyFile), false),
    case(Stack::TowerSessions(Backend::ThirdPartyFile), true),
];

impl Case {
    pub fn stack_name(self) -> &'static str {
        match self.stack {
            Stack::Bare => "no session layer",
            Stack::Layer => "sessionbox-tower `SessionLayer` + `Store`",
            Stack::TowerSessions(Backend::Sessionbox) => "tower-sessions + `TowerSessionsStore` (sessionbox)",
            Stack::TowerSessions(Backend::Memory) => "tower-sessions + `MemoryStore`",
            Stack::TowerSessions(Backend::ThirdPartyFile) => "tower-sessions + tower-sessions-file-store 0.3",
        }
    }

    pub fn request_name(self) -> &'static str {
        match (self.stack, self.update) {
            (Stack::Bare, _) => "no session",
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
}

impl Http {
    fn rounds_of<'a>(figures: &'a [(Case, Vec<f64>)], case: Case) -> &'a [f64] {
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
    let mut throughput = latency.clone();
    for round in 0..rounds {
        for i in (0..CASES.len()).map(|i| (i + round) % CASES.len()) {
            let case = CASES[i];
            let fixture = Fixture::new(&server, case, data);
            fixture.check(&server);
            let n = if case.update { update_requests } else { load_requests };
            latency[i].1.push(fixture.time_requests(&server, n));
            throughput[i].1.push(fixture.serve(&server, &client, for_how_long));
        }
    }
    let http = Http { rounds, load_requests, update_requests, seconds: for_how_long.as_secs_f64(), latency, throughput };
    for case in CASES {
        eprintln!(
            "http: {}: {:.1} µs/request (+{:.1} over no session), {:.0} requests/s at {CONNECTIONS} connections",
            case.label(),
            http.latency(case),
            http.over_bare(case),
            http.throughput(case)
        );
    }
    http
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
    fn serve(&self, server: &Runtime, client: &Runtime, for_how_long: Duration) -> f64 {
        let listener = server.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = server.spawn(axum::serve(listener, self.app.clone()).with_graceful_shutdown(async move { drop(stopped.await) }).into_future());
        let requests: Vec<Vec<u8>> = self
            .cookies
            .iter()
            .map(|c| format!("GET / HTTP/1.1\r\nhost: {addr}\r\ncookie: {}\r\n\r\n", c.to_str().expect("ascii")).into_bytes())
            .collect();
        let per_second = client.block_on(async move {
            let mut connections = Vec::new();
            for request in requests {
                let mut c = Connection::open(addr, request).await;
                c.exchange().await; // not timed: connecting and the first request
                connections.push(c);
            }
            let start = Instant::now();
            let deadline = start + for_how_long;
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
            total as f64 / start.elapsed().as_secs_f64()
        });
        let _ = stop.send(());
        server.block_on(serving).expect("server task").expect("serve");
        per_second
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
struct Connection {
    stream: TcpStream,
    request: Vec<u8>,
    received: Vec<u8>,
}

impl Connection {
    async fn open(addr: std::net::SocketAddr, request: Vec<u8>) -> Connection {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Connection { stream, request, received: Vec::with_capacity(4096) }
    }

    /// Sends the request and reads its whole response (a 200 with a
    /// `Content-Length`).
    async fn exchange(&mut self) {
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
