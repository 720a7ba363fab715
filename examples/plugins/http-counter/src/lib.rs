//! A wasi:http handler with sessions and nothing else: a visit counter and
//! a login, on the sessions it imports (`sessionbox:store/bound-sessions`).
//! It holds no secret and no setting and has no filesystem; composed with
//! the sessionbox component (`wac plug`), the composition's environment
//! decides the settings (see docs/plugins.md).
//!
//! Routes, as the demo app's:
//! - `GET /`: counts visits in the session (`#count`), shows the user
//!   (`#user`).
//! - `GET /login`: a form; `POST /login` with `username` and `password`
//!   logs in (the example's one user: alice / wonderland), moving the
//!   session to a new key.
//! - `POST /logout`: deletes the session and its cookie.
//!
//! A request whose session a concurrent one deleted (a logout in another
//! tab) answers `400` and writes nothing, as Django's `SessionInterrupted`:
//! its data must not come back under a new key.
//! - `GET /healthz`: `ok`, touching no session (for readiness checks).
//!
//! The session cookie is Django's: `sessionid`, `HttpOnly`, `Path=/`,
//! `SameSite=Lax`, with `expires` and `Max-Age` from the session's own
//! expiry, attributes in Django's order.

wit_bindgen::generate!({ path: "../../../wit", world: "sessionbox:store/session-consumer" });

use serde_json::{json, Map, Value};
#[cfg(not(feature = "without-sessions"))]
use sessionbox::store::bound_sessions as sessions;
use sessionbox::store::bound_sessions::Loaded;

/// With the feature `without-sessions`: the same handler with every session
/// call compiled out (nothing is kept; each page is a first visit), so that
/// it imports no sessions and serves alone. The benchmark's baseline.
#[cfg(feature = "without-sessions")]
mod sessions {
    pub use super::sessionbox::store::bound_sessions::{Error, FoundSession, Loaded, Timestamp};

    const KEY: &str = "00000000000000000000000000000000";

    pub fn create(_data: &str) -> Result<String, Error> {
        Ok(KEY.into())
    }

    pub fn load(_key: &str) -> Result<Loaded, Error> {
        let now = wasip2::clocks::wall_clock::now().seconds as i64;
        Ok(Loaded::Found(FoundSession { data: "{}".into(), expires_at: Timestamp { seconds: now + 1_209_600, nanoseconds: 0 } }))
    }

    pub fn save(_key: &str, _data: &str, _must_create: bool) -> Result<(), Error> {
        Ok(())
    }

    pub fn exists(_key: &str) -> Result<bool, Error> {
        Ok(false)
    }

    pub fn delete(_key: &str) -> Result<bool, Error> {
        Ok(false)
    }

    pub fn cycle_key(_key: &str, _data: &str) -> Result<String, Error> {
        Ok(KEY.into())
    }
}
use wasip2::http::types::{Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam};

/// The cookie that carries the session key (Django's `SESSION_COOKIE_NAME`).
const COOKIE: &str = "sessionid";
/// Longest request body read (a login form).
const MAX_BODY: usize = 16 * 1024;

struct Handler;
wasip2::http::proxy::export!(Handler);

/// A response before it is sent.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn page(title: &str, content: &str) -> Reply {
        let body = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\
             <h1>{title}</h1><nav><a href=\"/\">counter</a> · <a href=\"/login\">log in</a></nav>{content}\
             <form method=\"post\" action=\"/logout\"><button id=\"logout\">log out</button></form></body></html>"
        );
        Reply { status: 200, headers: vec![("content-type".into(), "text/html; charset=utf-8".into())], body }
    }

    fn redirect(to: &str) -> Reply {
        Reply { status: 302, headers: vec![("location".into(), to.into())], body: String::new() }
    }

    fn error(status: u16, why: &str) -> Reply {
        Reply { status, headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())], body: why.into() }
    }
}

impl wasip2::exports::http::incoming_handler::Guest for Handler {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let reply = route(&request).unwrap_or_else(|why| Reply::error(500, &format!("session store: {why}")));
        // HEAD is answered as GET, without the body.
        send(out, reply, matches!(request.method(), Method::Head));
    }
}

fn route(request: &IncomingRequest) -> Result<Reply, String> {
    let path = request.path_with_query().unwrap_or_default();
    let path = path.split('?').next().unwrap_or("");
    let key = session_key(request);
    let method = match request.method() {
        Method::Head => Method::Get,
        other => other,
    };
    match (method, path) {
        (Method::Get, "/") => counter(key),
        (Method::Get, "/healthz") => Ok(Reply { status: 200, headers: Vec::new(), body: "ok".into() }),
        (Method::Get, "/login") => Ok(Reply::page(
            "log in",
            "<form method=\"post\" action=\"/login\"><input name=\"username\" id=\"username\">\
             <input name=\"password\" id=\"password\" type=\"password\"><button id=\"submit\">log in</button></form>",
        )),
        (Method::Post, "/login") => match read_body(request) {
            Ok(form) => login(key, &form),
            Err(refusal) => Ok(refusal),
        },
        (Method::Post, "/logout") => {
            if let Some(key) = key {
                sessions::delete(&key).map_err(why)?;
            }
            let mut reply = Reply::redirect("/");
            reply.headers.push(("set-cookie".into(), deleting_cookie()));
            Ok(reply)
        }
        (_, "/" | "/login" | "/logout") => Ok(Reply::error(405, "method not allowed")),
        _ => Ok(Reply::error(404, "not found")),
    }
}

/// `GET /`: one more visit.
fn counter(key: Option<String>) -> Result<Reply, String> {
    let (mut data, key) = match &key {
        Some(key) => match found_data(key)? {
            Some(data) => (data, Some(key.clone())),
            None => (Map::new(), None),
        },
        None => (Map::new(), None),
    };
    let count = data.get("counter").and_then(Value::as_u64).unwrap_or(0) + 1;
    data.insert("counter".into(), json!(count));
    let user = data.get("user").and_then(Value::as_str).unwrap_or("").to_owned();
    let Some(key) = store(key, &data)? else { return Ok(interrupted()) };
    let Some(cookie) = session_cookie(&key)? else { return Ok(interrupted()) };
    let mut reply = Reply::page(
        "sessionbox http-counter",
        &format!("<p>Visits: <span id=\"count\">{count}</span></p><p>User: <span id=\"user\">{}</span></p>", escape(&user)),
    );
    reply.headers.push(("set-cookie".into(), cookie));
    Ok(reply)
}

/// `POST /login`: checks the form; on success the session moves to a new
/// key holding the user.
fn login(key: Option<String>, form: &str) -> Result<Reply, String> {
    // As Django's QueryDict: names decoded too, the last value wins.
    let field = |name: &str| {
        form.split('&').filter_map(|pair| pair.split_once('=')).filter(|(k, _)| url_decode(k) == name).map(|(_, v)| url_decode(v)).last()
    };
    let (user, password) = (field("username").unwrap_or_default(), field("password").unwrap_or_default());
    if !(user == "alice" && password == "wonderland") {
        return Ok(Reply::error(403, "wrong username or password"));
    }
    let mut data = match &key {
        Some(key) => found_data(key)?.unwrap_or_default(),
        None => Map::new(),
    };
    data.insert("user".into(), json!(user));
    let text = Value::Object(data).to_string();
    // The session-fixation defence: a login never keeps the old key.
    let new_key = match key {
        Some(key) if sessions::exists(&key).map_err(why)? => sessions::cycle_key(&key, &text).map_err(why)?,
        _ => sessions::create(&text).map_err(why)?,
    };
    let Some(cookie) = session_cookie(&new_key)? else { return Ok(interrupted()) };
    let mut reply = Reply::redirect("/");
    reply.headers.push(("set-cookie".into(), cookie));
    Ok(reply)
}

/// Saves `data` under `key`, or in a new session when the request came
/// without a live one; returns the key it is under. `None` when `key`'s
/// session was deleted meanwhile (a logout in a concurrent request): the
/// data loaded from it must not come back under a new key.
fn store(key: Option<String>, data: &Map<String, Value>) -> Result<Option<String>, String> {
    let text = Value::Object(data.clone()).to_string();
    match key {
        Some(key) => match sessions::save(&key, &text, false) {
            Ok(()) => Ok(Some(key)),
            Err(sessions::Error::NotFound) => Ok(None),
            Err(e) => Err(why(e)),
        },
        None => sessions::create(&text).map(Some).map_err(why),
    }
}

/// The answer to a request whose session was deleted while it ran, as
/// Django's `SessionInterrupted`: nothing saved, no cookie.
fn interrupted() -> Reply {
    Reply::error(
        400,
        "The request's session was deleted before the request completed. The user may have logged out in a concurrent request, for example.",
    )
}

/// The live session's data, `None` when there is none.
fn found_data(key: &str) -> Result<Option<Map<String, Value>>, String> {
    match sessions::load(key).map_err(why)? {
        Loaded::Found(found) => Ok(serde_json::from_str(&found.data).ok()),
        _ => Ok(None),
    }
}

/// The session cookie for `key`, expiring when the session does (asked of
/// the store: the handler does not know the cookie age); `None` when the
/// session was deleted right after it was saved (a concurrent logout).
fn session_cookie(key: &str) -> Result<Option<String>, String> {
    let expires_at = match sessions::load(key).map_err(why)? {
        Loaded::Found(found) => found.expires_at.seconds,
        _ => return Ok(None),
    };
    let now = wasip2::clocks::wall_clock::now().seconds as i64;
    let max_age = expires_at.saturating_sub(now);
    Ok(Some(format!("{COOKIE}={key}; expires={}; HttpOnly; Max-Age={max_age}; Path=/; SameSite=Lax", http_date(expires_at))))
}

/// The cookie that makes the browser forget the session, as Django writes it.
fn deleting_cookie() -> String {
    format!("{COOKIE}=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax")
}

/// The session key from the request's cookies, if it looks like one: as
/// Django reads them, the last cookie of that name wins and surrounding
/// double quotes are dropped.
fn session_key(request: &IncomingRequest) -> Option<String> {
    let headers = request.headers();
    let values = headers.get("cookie");
    let value = values
        .iter()
        .filter_map(|v| std::str::from_utf8(v).ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.split_once('=').filter(|(name, _)| name.trim() == COOKIE).map(|(_, value)| value.trim()))
        .last()?;
    let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
    (!value.is_empty() && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())).then(|| value.to_owned())
}

/// The request body as text, at most [`MAX_BODY`] bytes; else the answer
/// that refuses it.
fn read_body(request: &IncomingRequest) -> Result<String, Reply> {
    let unreadable = || Reply::error(400, "the request body cannot be read");
    let body = request.consume().map_err(|_| unreadable())?;
    let stream = body.stream().map_err(|_| unreadable())?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(4096) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(wasip2::io::streams::StreamError::Closed) => break,
            Err(_) => return Err(unreadable()),
        }
        if bytes.len() > MAX_BODY {
            return Err(Reply::error(413, "the request body is too large"));
        }
    }
    drop(stream);
    String::from_utf8(bytes).map_err(|_| Reply::error(400, "the request body is not UTF-8"))
}

fn send(out: ResponseOutparam, reply: Reply, head_only: bool) {
    let mut headers: Vec<(String, Vec<u8>)> = reply.headers.into_iter().map(|(n, v)| (n, v.into_bytes())).collect();
    // A length rather than chunks: keep-alive clients know where it ends.
    // (A HEAD response has no body to measure.)
    if !head_only {
        headers.push(("content-length".into(), reply.body.len().to_string().into_bytes()));
    }
    let fields = Fields::from_list(&headers).unwrap_or_else(|_| Fields::new());
    let response = OutgoingResponse::new(fields);
    let _ = response.set_status_code(reply.status);
    let body = response.body().expect("a new response has a body");
    ResponseOutparam::set(out, Ok(response));
    let stream = body.write().expect("a new body has a stream");
    let body_bytes = if head_only { &[][..] } else { reply.body.as_bytes() };
    for chunk in body_bytes.chunks(4096) {
        if stream.blocking_write_and_flush(chunk).is_err() {
            break;
        }
    }
    drop(stream);
    let _ = OutgoingBody::finish(body, None);
}

fn why(e: sessions::Error) -> String {
    format!("{e:?}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `application/x-www-form-urlencoded` value decoding: `+` is a space, `%`
/// and two hex digits a byte; anything else stays as it is.
fn url_decode(value: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(high), Some(low)) => {
                out.push(high << 4 | low);
                i += 2;
            }
            (b, _, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An HTTP date (`Thu, 01 Jan 1970 00:00:00 GMT`) for seconds since the epoch.
fn http_date(seconds: i64) -> String {
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}
