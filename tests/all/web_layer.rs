//! `sessionbox_tower::SessionLayer` in an axum app over the component: the
//! response finished exactly as Django's `SessionMiddleware` finishes it.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, Request, Response, StatusCode};
use axum::routing::get;
use axum::Router;
use sessionbox::{Expiry, Loaded, Settings, Store};
use sessionbox_tower::{SameSite, Session, SessionConfig, SessionLayer};
use std::collections::HashMap;
use std::time::{Duration, SystemTime};
use tower::ServiceExt;

const SECRET: &str = "web layer test secret";

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    app: Router,
}

type Params = Query<HashMap<String, String>>;

async fn count(session: Session) -> Result<String, sessionbox_tower::Error> {
    let n: u64 = session.get("n").await?.unwrap_or(0) + 1;
    session.insert("n", n).await?;
    Ok(n.to_string())
}

async fn read(session: Session) -> Result<String, sessionbox_tower::Error> {
    Ok(session.get::<u64>("n").await?.unwrap_or(0).to_string())
}

async fn expiry(session: Session, Query(q): Params) -> Result<String, sessionbox_tower::Error> {
    let expiry = match (q.get("secs"), q.get("at")) {
        (Some(secs), _) => Expiry::Seconds(secs.parse().unwrap()),
        (_, Some(at)) => Expiry::At(SystemTime::UNIX_EPOCH + Duration::from_secs(at.parse().unwrap())),
        _ => Expiry::Default,
    };
    session.set_expiry(expiry).await?;
    session.insert("x", 1).await?;
    Ok("ok".into())
}

/// Loads the session, then deletes its file behind the request's back (a
/// logout in another tab), then changes it.
async fn deleted_meanwhile(State(store): State<Store>, session: Session) -> Result<String, sessionbox_tower::Error> {
    session.get::<u64>("n").await?;
    store.delete(&session.key().expect("a session")).unwrap();
    session.insert("n", 100).await?;
    Ok("changed".into())
}

fn app(store: &Store, config: SessionConfig) -> Router {
    Router::new()
        .route("/count", get(count))
        .route("/read", get(read))
        .route("/nothing", get(|| async { "nothing" }))
        .route("/flush", get(|s: Session| async move { s.flush().await.map(|_| "flushed") }))
        .route("/clear", get(|s: Session| async move { s.clear().await; "cleared" }))
        .route("/fail", get(|s: Session| async move { s.insert("n", 7).await.unwrap(); StatusCode::INTERNAL_SERVER_ERROR }))
        .route("/login", get(|s: Session| async move {
            s.cycle_key().await?;
            s.insert("user", "alice").await?;
            Ok::<_, sessionbox_tower::Error>("in")
        }))
        .route("/take", get(|s: Session| async move {
            // Typed: the count as a number, once; then nothing.
            let n: Option<u64> = s.remove("n").await?;
            Ok::<_, sessionbox_tower::Error>(format!("{n:?}"))
        }))
        .route("/take-as-text", get(|s: Session| async move { s.remove::<String>("n").await.map(|v| format!("{v:?}")) }))
        .route("/expiry", get(expiry))
        .route("/deleted-meanwhile", get(deleted_meanwhile))
        .with_state(store.clone())
        .layer(SessionLayer::with_config(store.clone(), config))
}

fn fixture_with(configure: impl FnOnce(&mut SessionConfig)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("sessions"), Settings::new(SECRET)).unwrap();
    let mut config = SessionConfig::for_store(&store);
    configure(&mut config);
    let app = app(&store, config);
    Fixture { _dir: dir, store, app }
}

fn fixture() -> Fixture {
    fixture_with(|_| {})
}

struct Reply {
    status: StatusCode,
    set_cookie: Vec<String>,
    vary: Option<String>,
    body: String,
}

impl Reply {
    fn new_key(&self) -> String {
        let [cookie] = &self.set_cookie[..] else { panic!("one Set-Cookie expected: {:?}", self.set_cookie) };
        let value = cookie.split(';').next().unwrap().strip_prefix("sessionid=").unwrap();
        assert_eq!(value.len(), 32, "{cookie}");
        value.to_owned()
    }
}

impl Fixture {
    async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut req = Request::get(path);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn send(&self, req: Request<Body>) -> Reply {
        let res: Response<Body> = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let set_cookie = res.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        let vary = res.headers().get(header::VARY).map(|v| v.to_str().unwrap().to_owned());
        let bytes = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
        Reply { status, set_cookie, vary, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    fn stored(&self, key: &str) -> Option<sessionbox::Data> {
        match self.store.load(key).unwrap() {
            Loaded::Found { data, .. } => Some(data),
            _ => None,
        }
    }
}

/// The `expires` attribute of a cookie, as a time.
fn expires(cookie: &str) -> SystemTime {
    let value = cookie.split("; ").find_map(|a| a.strip_prefix("expires=")).unwrap_or_else(|| panic!("no expires in {cookie}"));
    httpdate::parse_http_date(value).unwrap()
}

fn near(a: SystemTime, b: SystemTime) -> bool {
    a.duration_since(b).or_else(|e| Ok::<_, ()>(e.duration())).unwrap() <= Duration::from_secs(3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untouched_session_costs_nothing_and_sets_nothing() {
    let f = fixture();
    let r = f.get("/nothing", None).await;
    assert_eq!((r.status, r.set_cookie.len(), r.vary), (StatusCode::OK, 0, None));
    // A live cookie on a page that ignores the session: no Vary, no cookie.
    let key = f.get("/count", None).await.new_key();
    let r = f.get("/nothing", Some(&format!("sessionid={key}"))).await;
    assert_eq!((r.set_cookie.len(), r.vary), (0, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modified_session_is_saved_with_djangos_cookie() {
    let f = fixture();
    let before = SystemTime::now();
    let r = f.get("/count", None).await;
    assert_eq!((r.status, r.body.as_str(), r.vary.as_deref()), (StatusCode::OK, "1", Some("Cookie")));
    let key = r.new_key();
    let cookie = &r.set_cookie[0];
    let exp = httpdate::fmt_http_date(expires(cookie));
    assert_eq!(*cookie, format!("sessionid={key}; expires={exp}; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax"));
    assert!(near(expires(cookie), before + Duration::from_secs(1_209_600)), "{cookie}");
    assert_eq!(f.stored(&key).unwrap()["n"], 1);

    let r = f.get("/count", Some(&format!("other=1; sessionid={key}"))).await;
    assert_eq!((r.body.as_str(), r.new_key()), ("2", key.clone()), "same key, saved over");
    assert_eq!(f.stored(&key).unwrap()["n"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_request_varies_but_does_not_save() {
    let f = fixture();
    let key = f.get("/count", None).await.new_key();
    let file = f._dir.path().join("sessions").join(format!("sessionid{key}"));
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let r = f.get("/read", Some(&format!("sessionid={key}"))).await;
    assert_eq!((r.body.as_str(), r.set_cookie.len(), r.vary.as_deref()), ("1", 0, Some("Cookie")));
    assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), mtime, "not written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_every_request_refreshes_the_cookie() {
    let f = fixture_with(|c| c.save_every_request = true);
    let key = f.get("/count", None).await.new_key();
    let r = f.get("/read", Some(&format!("sessionid={key}"))).await;
    assert_eq!(r.new_key(), key);
    // An empty session is never saved, even so.
    let r = f.get("/read", None).await;
    assert!(r.set_cookie.is_empty(), "{:?}", r.set_cookie);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_deletes_the_file_and_the_cookie() {
    let f = fixture_with(|c| c.cookie_domain = Some("example.com".into()));
    let key = f.get("/count", None).await.set_cookie[0].split(';').next().unwrap()["sessionid=".len()..].to_owned();
    let r = f.get("/flush", Some(&format!("sessionid={key}"))).await;
    assert_eq!(r.set_cookie, vec![r#"sessionid=""; Domain=example.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax"#]);
    assert_eq!(r.vary.as_deref(), Some("Cookie"));
    assert_eq!(f.store.load(&key).unwrap(), Loaded::Missing);
    // Emptying keeps the key and saves it empty, as Django does.
    let key = f.get("/count", None).await.set_cookie[0].split(';').next().unwrap()["sessionid=".len()..].to_owned();
    let r = f.get("/clear", Some(&format!("sessionid={key}"))).await;
    assert!(r.set_cookie[0].starts_with(&format!("sessionid={key};")), "{:?}", r.set_cookie);
    assert_eq!(f.stored(&key), Some(sessionbox::Data::new()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_saved_on_a_server_error() {
    let f = fixture();
    let r = f.get("/fail", None).await;
    assert_eq!((r.status, r.set_cookie.len()), (StatusCode::INTERNAL_SERVER_ERROR, 0));
    assert_eq!(std::fs::read_dir(f._dir.path().join("sessions")).unwrap().count(), 0);
    let key = f.get("/count", None).await.new_key();
    f.get("/fail", Some(&format!("sessionid={key}"))).await;
    assert_eq!(f.stored(&key).unwrap()["n"], 1, "the 500 did not save n = 7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_deleted_meanwhile_is_a_400_not_a_resurrection() {
    let f = fixture();
    let key = f.get("/count", None).await.new_key();
    let r = f.get("/deleted-meanwhile", Some(&format!("sessionid={key}"))).await;
    assert_eq!((r.status, r.set_cookie.len()), (StatusCode::BAD_REQUEST, 0));
    assert_eq!(f.store.load(&key).unwrap(), Loaded::Missing, "not recreated");
    assert_eq!(std::fs::read_dir(f._dir.path().join("sessions")).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_cycles_the_key() {
    let f = fixture();
    let old = f.get("/count", None).await.new_key();
    let r = f.get("/login", Some(&format!("sessionid={old}"))).await;
    let new = r.new_key();
    assert_ne!(new, old);
    assert_eq!(f.store.load(&old).unwrap(), Loaded::Missing);
    let data = f.stored(&new).unwrap();
    assert_eq!((data["n"].clone(), data["user"].clone()), (1.into(), "alice".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_lives_as_long_as_the_session() {
    let f = fixture();
    let r = f.get("/expiry?secs=300", None).await;
    assert!(r.set_cookie[0].contains("; Max-Age=300;"), "{:?}", r.set_cookie);
    assert!(near(expires(&r.set_cookie[0]), SystemTime::now() + Duration::from_secs(300)));
    let at = SystemTime::now() + Duration::from_secs(7200);
    let unix = at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let r = f.get(&format!("/expiry?at={unix}"), None).await;
    let max_age: u64 = r.set_cookie[0].split("; ").find_map(|a| a.strip_prefix("Max-Age=")).unwrap().parse().unwrap();
    assert!((7195..=7200).contains(&max_age), "{max_age}");
    // 0 is Django's "until the browser closes": no Max-Age, no expires.
    let r = f.get("/expiry?secs=0", None).await;
    assert!(!r.set_cookie[0].contains("Max-Age") && !r.set_cookie[0].contains("expires"), "{:?}", r.set_cookie);
    // An expiry already past: the browser is told to drop the cookie, in
    // Django's words (Django 5.2 writes `Max-Age=-10` and an `expires` ten
    // seconds ago).
    let r = f.get("/expiry?secs=-10", None).await;
    assert!(r.set_cookie[0].contains("; Max-Age=-10;"), "{:?}", r.set_cookie);
    assert!(near(expires(&r.set_cookie[0]), SystemTime::now() - Duration::from_secs(10)), "{:?}", r.set_cookie);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_close_and_cookie_attributes_follow_the_config() {
    let f = fixture_with(|c| {
        c.expire_at_browser_close = true;
        c.cookie_secure = true;
        c.cookie_httponly = false;
        c.cookie_samesite = SameSite::Strict;
        c.cookie_path = "/app".into();
    });
    let r = f.get("/count", None).await;
    let key = r.new_key();
    assert_eq!(r.set_cookie[0], format!("sessionid={key}; Path=/app; SameSite=Strict; Secure"));
    // A session's own expiry beats the browser-close default.
    let r = f.get("/expiry?secs=60", Some(&format!("sessionid={key}"))).await;
    assert!(r.set_cookie[0].contains("Max-Age=60"), "{:?}", r.set_cookie);
    let f = fixture_with(|c| c.cookie_samesite = SameSite::Unset);
    assert!(!f.get("/count", None).await.set_cookie[0].contains("SameSite"));
    let f = fixture_with(|c| c.cookie_samesite = SameSite::None);
    let key = f.get("/count", None).await.new_key();
    let r = f.get("/flush", Some(&format!("sessionid={key}"))).await;
    assert!(r.set_cookie[0].ends_with("; SameSite=None; Secure"), "browsers drop SameSite=None without Secure: {:?}", r.set_cookie);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_cookies_get_a_fresh_session() {
    let f = fixture();
    let deleted = f.get("/count", None).await.new_key();
    f.store.delete(&deleted).unwrap();
    let live = f.get("/count", None).await.new_key();
    let thousand: String = (0..1000).map(|i| format!("c{i}=v{i}; ")).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("over-long", format!("sessionid={}", "a".repeat(100_000)).into_bytes()),
        ("uppercase", format!("sessionid={}", live.to_uppercase()).into_bytes()),
        ("non-ASCII", format!("sessionid={}é", &live[..20]).into_bytes()),
        ("Latin-1 byte", [b"sessionid=".as_slice(), &live.as_bytes()[..20], b"\xe9"].concat()),
        ("semicolon inside quotes", format!("sessionid=\"{};{}\"", &live[..10], &live[10..]).into_bytes()),
        ("comma", format!("sessionid={},{}", &live[..10], &live[10..]).into_bytes()),
        ("path traversal", b"sessionid=../../../../etc/passwd".to_vec()),
        ("short", b"sessionid=abc".to_vec()),
        ("empty", b"sessionid=".to_vec()),
        ("a deleted session's key", format!("sessionid={deleted}").into_bytes()),
        ("1000 cookies", format!("{thousand}sessionid={deleted}").into_bytes()),
    ];
    for (what, cookie) in cases {
        let req = Request::get("/count").header(header::COOKIE, cookie).body(Body::empty()).unwrap();
        let r = f.send(req).await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "1"), "{what}: a fresh session");
        let key = r.new_key();
        assert!(key != live && key != deleted, "{what}: a new key");
        let req = Request::get("/read").header(header::COOKIE, format!("sessionid={key}")).body(Body::empty()).unwrap();
        assert_eq!(f.send(req).await.body, "1", "{what}");
    }
    assert_eq!(f.stored(&live).unwrap()["n"], 1, "the live session was never touched");
    assert_eq!(f.store.load(&deleted).unwrap(), Loaded::Missing, "the deleted one never came back");
    // A bogus cookie on a request that leaves the session empty is deleted.
    let r = f.get("/read", Some("sessionid=NOT-A-KEY")).await;
    assert!(r.set_cookie[0].starts_with("sessionid=\"\"; expires=Thu, 01 Jan 1970"), "{:?}", r.set_cookie);
}

#[tokio::test(flavor = "current_thread")]
async fn works_on_a_current_thread_runtime() {
    let f = fixture();
    let key = f.get("/count", None).await.new_key();
    assert_eq!(f.get("/count", Some(&format!("sessionid={key}"))).await.body, "2");
}

/// Django's `process_response` varies on `Cookie` whenever it sets the
/// session cookie. With `save_every_request`, a page that never touches the
/// session still gets a `Set-Cookie`, and Django 5.2 answers it with `Vary:
/// Cookie` (checked with Django's own middleware); without it a shared cache
/// may hand one visitor's session cookie to the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_every_request_varies_on_cookie_when_the_page_never_touched_the_session() {
    let f = fixture_with(|c| c.save_every_request = true);
    let key = f.get("/count", None).await.new_key();
    let r = f.get("/nothing", Some(&format!("sessionid={key}"))).await;
    assert_eq!(r.new_key(), key, "the cookie is refreshed");
    assert_eq!(r.vary.as_deref(), Some("Cookie"), "a Set-Cookie without Vary: Cookie");
}

/// A cookie value that can be no key but that Django holds as one (8
/// characters or more) leaves a page that never touches the session alone:
/// Django 5.2 sends neither `Set-Cookie` nor `Vary` for it, so a sibling app
/// whose own `sessionid` looks different keeps its cookie. Once the session
/// is read, it is deleted as Django deletes it; with `save_every_request`,
/// Django gives it a fresh session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_cookie_is_left_alone_by_a_page_that_ignores_the_session() {
    let f = fixture();
    let r = f.get("/nothing", Some("sessionid=ABCDEFGH12345678")).await;
    assert_eq!((r.set_cookie.len(), r.vary), (0, None), "{:?}", r.set_cookie);
    let r = f.get("/read", Some("sessionid=ABCDEFGH12345678")).await;
    assert!(r.set_cookie[0].starts_with("sessionid=\"\"; expires=Thu, 01 Jan 1970"), "{:?}", r.set_cookie);

    let f = fixture_with(|c| c.save_every_request = true);
    let r = f.get("/nothing", Some("sessionid=ABCDEFGH12345678")).await;
    let key = r.new_key();
    assert_eq!(f.stored(&key), Some(sessionbox::Data::new()), "a fresh, empty session, as Django saves it");
    assert_eq!(r.vary.as_deref(), Some("Cookie"));
}

/// After a `SECRET_KEY` rotation, a login hashed under the old secret (now a
/// fallback) is renewed as Django's `get_user` renews it: a new session key
/// and the hash under the current secret. Without that, the login dies the
/// day the fallback key is dropped, and the session keeps its pre-rotation
/// key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_verified_by_a_fallback_key_is_renewed_as_django_does() {
    use sessionbox_tower::auth::{self, User};
    const PASSWORD_HASH: &str = "pbkdf2_sha256$1000000$abcdefghijklmnopqrstuv$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::new("the new secret");
    settings.fallback_keys = vec!["the old secret".into()];
    let store = Store::open(dir.path().join("sessions"), settings).unwrap();
    let data: sessionbox::Data = serde_json::from_value(serde_json::json!({
        auth::USER_ID_KEY: "1",
        auth::BACKEND_KEY: auth::MODEL_BACKEND,
        auth::HASH_KEY: auth::session_auth_hash(PASSWORD_HASH, "the old secret"),
    }))
    .unwrap();
    let old = store.create(&data).unwrap();
    let app = Router::new()
        .route(
            "/who",
            get(|s: Session| async move {
                let user = User::new("1", PASSWORD_HASH);
                let id = auth::verified_user_id(&s, &user, "the new secret", &["the old secret".to_owned()]).await?;
                Ok::<_, sessionbox_tower::Error>(id.unwrap_or_else(|| "anonymous".into()))
            }),
        )
        .layer(SessionLayer::new(store.clone()));
    let f = Fixture { _dir: dir, store, app };
    let r = f.get("/who", Some(&format!("sessionid={old}"))).await;
    assert_eq!(r.body, "1", "still logged in");
    let new = r.new_key();
    assert_ne!(new, old, "Django cycles the key");
    assert_eq!(f.store.load(&old).unwrap(), Loaded::Missing);
    assert_eq!(f.stored(&new).unwrap()[auth::HASH_KEY], auth::session_auth_hash(PASSWORD_HASH, "the new secret"));
}

/// Django's `get_user`: a session whose backend is missing or another is
/// anonymous, and a numeric `_auth_user_id` is the same user as its text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_needs_the_users_backend_and_ids_compare_as_text() {
    use sessionbox_tower::auth::{self, User};
    const PASSWORD_HASH: &str = "pbkdf2_sha256$1000$salt$hash=";
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("sessions"), Settings::new(SECRET)).unwrap();
    let hash = auth::session_auth_hash(PASSWORD_HASH, SECRET);
    let mut keys = Vec::new();
    for (id, backend) in [(serde_json::json!("1"), Some(auth::MODEL_BACKEND)), (serde_json::json!(1), Some(auth::MODEL_BACKEND)), (serde_json::json!("1"), None), (serde_json::json!("1"), Some("my.OtherBackend"))] {
        let mut data = sessionbox::Data::new();
        data.insert(auth::USER_ID_KEY.into(), id);
        if let Some(b) = backend {
            data.insert(auth::BACKEND_KEY.into(), b.into());
        }
        data.insert(auth::HASH_KEY.into(), hash.clone().into());
        keys.push(store.create(&data).unwrap());
    }
    let app = Router::new()
        .route(
            "/who",
            get(|s: Session| async move {
                let id = auth::verified_user_id(&s, &User::new("1", PASSWORD_HASH), SECRET, &[]).await?;
                Ok::<_, sessionbox_tower::Error>(id.unwrap_or_else(|| "anonymous".into()))
            }),
        )
        .route(
            "/login",
            get(|s: Session| async move {
                auth::login(&s, &User::new("1", PASSWORD_HASH), SECRET).await?;
                Ok::<_, sessionbox_tower::Error>("in")
            }),
        )
        .layer(SessionLayer::new(store.clone()));
    let f = Fixture { _dir: dir, store, app };
    let answers: Vec<String> = who_for_each(&f, &keys).await;
    assert_eq!(answers, ["1", "1", "anonymous", "anonymous"]);
    // Logging user 1 in over a session holding the numeric id 1 and a
    // matching hash keeps it (no flush, no new key), as Django does.
    let r = f.get("/login", Some(&format!("sessionid={}", keys[1]))).await;
    assert_eq!(r.new_key(), keys[1]);
}

async fn who_for_each(f: &Fixture, keys: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for key in keys {
        out.push(f.get("/who", Some(&format!("sessionid={key}"))).await.body);
    }
    out
}

/// One `sessionid` cookie per response, as Django's `response.cookies`
/// holds one per name: the layer's replaces one the handler set, and other
/// cookies stay. An empty domain is left out, as Python leaves it out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_replaces_a_handlers_and_an_empty_domain_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("sessions"), Settings::new(SECRET)).unwrap();
    let mut config = SessionConfig::for_store(&store);
    config.cookie_domain = Some(String::new());
    let app = Router::new()
        .route(
            "/",
            get(|s: Session| async move {
                s.insert("n", 1).await.unwrap();
                let mut res = Response::new(Body::from("ok"));
                res.headers_mut().append(header::SET_COOKIE, "theme=dark; Path=/".parse().unwrap());
                res.headers_mut().append(header::SET_COOKIE, "sessionid=fromhandler; Path=/".parse().unwrap());
                res
            }),
        )
        .layer(SessionLayer::with_config(store.clone(), config));
    let f = Fixture { _dir: dir, store, app };
    let r = f.get("/", None).await;
    assert_eq!(r.set_cookie.len(), 2, "{:?}", r.set_cookie);
    assert_eq!(r.set_cookie[0], "theme=dark; Path=/");
    let key = r.set_cookie[1].split(';').next().unwrap().strip_prefix("sessionid=").unwrap();
    assert_eq!(key.len(), 32, "{:?}", r.set_cookie);
    assert!(!r.set_cookie[1].contains("Domain"), "{:?}", r.set_cookie);
}

/// `remove` is typed as `get` is: the value as `T`, once, and the removal
/// is saved; a value that is no `T` is an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_takes_a_typed_value_and_saves_its_absence() {
    let f = fixture();
    let key = f.get("/count", None).await.new_key();
    let cookie = format!("sessionid={key}");
    let r = f.get("/take", Some(&cookie)).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "Some(1)"));
    assert_eq!(f.stored(&key).unwrap().get("n"), None, "the removal was not saved");
    assert_eq!(f.get("/take", Some(&cookie)).await.body, "None");
    f.get("/count", Some(&cookie)).await;
    let r = f.get("/take-as-text", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
    // The error is a 500, and a failed response saves nothing.
    assert_eq!(f.stored(&key).unwrap()["n"], 1);
}
