//! The sessionbox demo app: a visit counter, a login shared with Django, and
//! a page listing the session, on [`sessionbox_tower::SessionLayer`].
//!
//! Routes (HTML; every value a test reads has an element id):
//! - `/`: counts visits in the session (`#count`) and shows the user (`#user`).
//! - `/login`: a form; a right password logs the user in as Django's `login`
//!   does, so a Django app on the same store sees the user too.
//! - `/logout`: a form whose POST is Django's `logout` (the session is
//!   deleted, and its cookie; with signed cookies the cookie is all there
//!   is to delete). Logging out takes a POST, as in Django 5, so a link or an
//!   image on another site cannot log the user out.
//! - `/logout-everywhere`: a form whose POST signs the user out of every
//!   browser and device (`auth::logout_everywhere`: every session of the
//!   user in the store is deleted, this one too); the page says how many
//!   (`#revoked`).
//! - `/session`: the session's data as JSON (`#session`), its key, the user,
//!   and its expiry (`#expiry-age`, `#expiry-date`).
//! - `/set?key=K&value=V`: stores a string in the session.
//! - `/expiry?seconds=N`: Django's `set_expiry(N)` (0: until the browser closes).
//!
//! [`open_store`] opens the store where [`Sessions`] says: a session
//! directory, Redis, Django's `db` engine on SQLite or PostgreSQL, its
//! `cached_db` engine (the database behind Redis), or its `signed_cookies`
//! engine (no store: the session is the cookie).

use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use pbkdf2::pbkdf2_hmac;
use serde::Deserialize;
use sessionbox::kv::sql::{postgres::PostgresOptions, sqlite::SqliteOptions};
use sessionbox::{DbOptions, Expiry, Options, RedisFormat, RedisOptions, Settings, Store};
use sessionbox_tower::auth::{self, User};
use sessionbox_tower::{Session, SessionConfig, SessionLayer};
use sha2::Sha256;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

/// Where the demo keeps its sessions (the binary's `--sessions`, `--redis`,
/// `--sqlite`, `--postgres`, `--cached-db` or `--signed-cookies`). Holds no
/// Debug: a URL may carry a password.
#[derive(Clone)]
pub enum Sessions {
    /// Files in this directory (Django's `SESSION_FILE_PATH`), created if
    /// missing.
    Dir(PathBuf),
    /// Redis or Valkey at `url`: sessionbox's signed text, or with
    /// `django_cache` what Django's cache session backend stores
    /// ([`RedisFormat::django`]).
    Redis { url: String, django_cache: bool },
    /// Django's `db` engine: rows of the `django_session` table in this
    /// SQLite database file (Django's `DATABASES` `NAME`). Without
    /// `create_table` the table must exist (Django's `migrate` makes it).
    Sqlite { path: PathBuf, create_table: bool },
    /// Django's `db` engine on PostgreSQL at `url`. The password comes from
    /// `password_file` (its first line), else from
    /// `$SESSIONBOX_POSTGRES_PASSWORD` ([`POSTGRES_PASSWORD_ENV`]), else
    /// from the URL, as for the `sessionbox` CLI.
    Postgres { url: String, password_file: Option<PathBuf>, create_table: bool },
    /// Django's `cached_db` engine: the database `db` (a
    /// [`Sessions::Sqlite`] or [`Sessions::Postgres`]; anything else is a
    /// configuration error) with Redis at `redis_url` in front of it as
    /// Django's cache, in Django's format ([`RedisFormat::django`]: the
    /// cache's default `KEY_PREFIX` and `VERSION`).
    CachedDb { redis_url: String, db: Box<Sessions> },
    /// Django's `signed_cookies` engine: nothing is stored, the session is
    /// the cookie, signed with the secret ([`Store::open_signed_cookies`]).
    SignedCookies,
}

/// The environment variable a PostgreSQL password may come from (the
/// `sessionbox` CLI's too).
pub const POSTGRES_PASSWORD_ENV: &str = "SESSIONBOX_POSTGRES_PASSWORD";

/// Opens the store `sessions` names, with `settings` and `options`; returns
/// it and where it is, for a start-up line (never a password).
pub fn open_store(sessions: &Sessions, settings: Settings, options: Options) -> sessionbox::Result<(Store, String)> {
    Ok(match sessions {
        Sessions::Dir(dir) => (Store::open_with(dir, settings, options)?, dir.display().to_string()),
        Sessions::Redis { url, django_cache } => {
            let mut redis = RedisOptions::new(url);
            if *django_cache {
                redis.format = RedisFormat::django();
            }
            (Store::open_redis_with(&redis, settings, options)?, redis.describe())
        }
        Sessions::Sqlite { .. } | Sessions::Postgres { .. } => match db_options(sessions)? {
            (DbOptions::Sqlite(sqlite), about) => (Store::open_sqlite(&sqlite, settings, options)?, about),
            (DbOptions::Postgres(postgres), about) => (Store::open_postgres(&postgres, settings, options)?, about),
        },
        Sessions::CachedDb { redis_url, db } => {
            let (db, _) = db_options(db)?;
            let mut redis = RedisOptions::new(redis_url);
            redis.format = RedisFormat::django();
            let store = Store::open_cached_db(&db, &redis, settings, options)?;
            let about = store.about().to_owned();
            (store, about)
        }
        Sessions::SignedCookies => (Store::open_signed_cookies(settings, options)?, "signed cookies (nothing stored)".to_owned()),
    })
}

/// The database options of a [`Sessions::Sqlite`] or [`Sessions::Postgres`],
/// and where it is (never a password); a configuration error for any other.
fn db_options(sessions: &Sessions) -> sessionbox::Result<(DbOptions, String)> {
    match sessions {
        Sessions::Sqlite { path, create_table } => {
            let sqlite = SqliteOptions { create_table: *create_table, ..SqliteOptions::new(path) };
            let about = sqlite.describe();
            Ok((DbOptions::Sqlite(sqlite), about))
        }
        Sessions::Postgres { url, password_file, create_table } => {
            let postgres = PostgresOptions { create_table: *create_table, ..PostgresOptions::new(url) };
            let postgres = match password_file {
                Some(file) => postgres.password_from_file(file)?,
                None if std::env::var_os(POSTGRES_PASSWORD_ENV).is_some() => postgres.password_from_env(POSTGRES_PASSWORD_ENV)?,
                None => postgres,
            };
            let about = postgres.describe();
            Ok((DbOptions::Postgres(postgres), about))
        }
        _ => Err(sessionbox::Error::Config("cached_db keeps its sessions in a database: give SQLite or PostgreSQL".into())),
    }
}

/// A user the demo can log in: Django's `auth_user` row, as far as a login
/// needs it.
#[derive(Debug, Clone, Deserialize)]
pub struct DemoUser {
    /// The primary key (`"1"`).
    pub id: String,
    /// The user name typed at login.
    pub username: String,
    /// Django's stored password hash (`pbkdf2_sha256$…`).
    pub password_hash: String,
}

impl DemoUser {
    /// A user with `password` hashed as Django's default hasher does
    /// (PBKDF2-SHA256, a fresh salt, `iterations` rounds).
    pub fn with_password(id: &str, username: &str, password: &str, iterations: u32) -> DemoUser {
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).expect("the OS gives random bytes");
        let salt: String = raw.iter().map(|b| char::from(b'a' + b % 26)).collect();
        DemoUser { id: id.into(), username: username.into(), password_hash: django_pbkdf2(password, &salt, iterations) }
    }

    fn as_auth_user(&self) -> User {
        User::new(&self.id, &self.password_hash)
    }
}

/// Django's `PBKDF2PasswordHasher.encode`.
fn django_pbkdf2(password: &str, salt: &str, iterations: u32) -> String {
    use base64::Engine;
    let mut out = [0u8; 32];
    pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut out);
    format!("pbkdf2_sha256${iterations}${salt}${}", base64::engine::general_purpose::STANDARD.encode(out))
}

/// Whether `password` matches Django's stored `hash` (only Django's default
/// `pbkdf2_sha256` format is understood). Takes as long as the hash's
/// iterations say (a fifth of a second at Django's million): call it off
/// the async workers.
pub fn check_password(password: &str, hash: &str) -> bool {
    let mut parts = hash.splitn(4, '$');
    let (Some("pbkdf2_sha256"), Some(iterations), Some(salt), Some(_)) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(iterations) = iterations.parse::<u32>() else { return false };
    let computed = django_pbkdf2(password, salt, iterations);
    computed.len() == hash.len() && computed.bytes().zip(hash.bytes()).fold(0, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Django 5.2's PBKDF2 iterations (`PBKDF2PasswordHasher.iterations`).
pub const DJANGO_ITERATIONS: u32 = 1_000_000;

/// The iterations of a `pbkdf2_sha256` hash.
fn hash_iterations(hash: &str) -> Option<u32> {
    let mut parts = hash.splitn(3, '$');
    (parts.next() == Some("pbkdf2_sha256")).then(|| parts.next()?.parse().ok()).flatten()
}

/// The hash an unknown user name is checked against, so that a login with
/// it costs what a real user's wrong password does and its timing does not
/// tell which names exist (Django runs its default hasher for the same
/// reason): as many iterations as the costliest user's hash, Django's
/// default without users. No password matches it.
fn dummy_hash(users: &[DemoUser]) -> String {
    let iterations = users.iter().filter_map(|u| hash_iterations(&u.password_hash)).max().unwrap_or(DJANGO_ITERATIONS);
    format!("pbkdf2_sha256${iterations}$unknownuser$")
}

/// What the app serves with.
#[derive(Clone)]
pub struct Demo {
    store: Store,
    users: Arc<Vec<DemoUser>>,
    dummy_hash: Arc<str>,
}

/// The demo app over `store` (the secret that signs sessions also makes the
/// login hash), with the cookie sent as `config` says.
pub fn app(store: Store, config: SessionConfig, users: Vec<DemoUser>) -> Router {
    let demo = Demo { store: store.clone(), dummy_hash: dummy_hash(&users).into(), users: Arc::new(users) };
    Router::new()
        .route("/", get(counter))
        .route("/login", get(login_form).post(login))
        .route("/logout", get(logout_form).post(logout))
        .route("/logout-everywhere", get(logout_everywhere_form).post(logout_everywhere))
        .route("/session", get(show_session))
        .route("/set", get(set))
        .route("/expiry", get(expiry))
        .with_state(demo)
        .layer(SessionLayer::with_config(store, config))
}

type Result<T> = std::result::Result<T, sessionbox_tower::Error>;

/// The logged-in user, checked as Django's `get_user` checks it.
async fn current_user(demo: &Demo, session: &Session) -> Result<Option<DemoUser>> {
    let Some(id) = auth::user_id(session).await? else { return Ok(None) };
    let Some(user) = demo.users.iter().find(|u| u.id == id) else { return Ok(None) };
    let settings = demo.store.settings();
    let verified = auth::verified_user_id(session, &user.as_auth_user(), &settings.secret_key, &settings.fallback_keys).await?;
    Ok(verified.map(|_| user.clone()))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\
         <nav><a href=\"/\">counter</a> · <a href=\"/session\">session</a> · <a href=\"/login\">log in</a> · <a href=\"/logout\">log out</a></nav>\
         <h1>{title}</h1>{body}</body></html>",
        title = escape(title)
    ))
}

fn user_line(user: &Option<DemoUser>) -> String {
    let name = user.as_ref().map_or("anonymous", |u| u.username.as_str());
    format!("<p>User: <span id=\"user\">{}</span></p>", escape(name))
}

async fn counter(State(demo): State<Demo>, session: Session) -> Result<Html<String>> {
    let count: u64 = session.get("counter").await?.unwrap_or(0) + 1;
    session.insert("counter", count).await?;
    let user = current_user(&demo, &session).await?;
    Ok(page("sessionbox demo", &format!("<p>Visits: <span id=\"count\">{count}</span></p>{}", user_line(&user))))
}

async fn login_form() -> Html<String> {
    page(
        "Log in",
        "<form method=\"post\" action=\"/login\">\
         <label>User name <input id=\"username\" name=\"username\" autocomplete=\"username\"></label>\
         <label>Password <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\
         <button id=\"submit\" type=\"submit\">Log in</button></form>",
    )
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn login(State(demo): State<Demo>, session: Session, Form(form): Form<Credentials>) -> Result<Response> {
    let user = demo.users.iter().find(|u| u.username == form.username);
    // Check a password even for an unknown name, at the same cost, so
    // timing does not tell which names exist. On the blocking pool: a
    // check holds a CPU for a fifth of a second, which on an async worker
    // would hold up every request queued behind it.
    let hash = user.map_or_else(|| demo.dummy_hash.to_string(), |u| u.password_hash.clone());
    let password = form.password;
    let matches = tokio::task::spawn_blocking(move || check_password(&password, &hash)).await.unwrap_or(false);
    let ok = matches && user.is_some();
    match user {
        Some(user) if ok => {
            auth::login(&session, &user.as_auth_user(), &demo.store.settings().secret_key).await?;
            Ok(Redirect::to("/session").into_response())
        }
        _ => Ok((axum::http::StatusCode::UNAUTHORIZED, page("Log in", "<p id=\"error\">Wrong user name or password.</p>")).into_response()),
    }
}

async fn logout_form() -> Html<String> {
    page("Log out", "<form method=\"post\" action=\"/logout\"><button id=\"logout\" type=\"submit\">Log out</button></form>")
}

async fn logout(session: Session) -> Result<Html<String>> {
    auth::logout(&session).await?;
    Ok(page("Logged out", &user_line(&None)))
}

async fn logout_everywhere_form() -> Html<String> {
    page(
        "Sign out everywhere",
        "<form method=\"post\" action=\"/logout-everywhere\"><button id=\"logout-everywhere\" type=\"submit\">Sign out of all devices</button></form>",
    )
}

/// A POST, as `/logout`: a link on another site cannot sign anyone out.
async fn logout_everywhere(session: Session) -> Result<Html<String>> {
    let revoked = auth::logout_everywhere(&session).await?;
    let deleted = revoked.map_or(0, |r| r.deleted);
    Ok(page("Signed out everywhere", &format!("{}<p>Sessions ended: <span id=\"revoked\">{deleted}</span></p>", user_line(&None))))
}

async fn show_session(State(demo): State<Demo>, session: Session) -> Result<Html<String>> {
    let user = current_user(&demo, &session).await?;
    let data = serde_json::to_string_pretty(&session.data().await?).unwrap_or_default();
    let age = session.expiry_age().await?;
    let date = session.expiry_date().await?.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let key = session.key().unwrap_or_default();
    Ok(page(
        "Session",
        &format!(
            "{}<p>Key: <code id=\"key\">{}</code></p><pre id=\"session\">{}</pre>\
             <p>Expires in <span id=\"expiry-age\">{age}</span> s, at <span id=\"expiry-date\">{date}</span> (Unix time).</p>",
            user_line(&user),
            escape(&key),
            escape(&data)
        ),
    ))
}

async fn set(session: Session, Query(q): Query<HashMap<String, String>>) -> Result<Html<String>> {
    let (Some(k), Some(v)) = (q.get("key"), q.get("value")) else {
        return Ok(page("Set", "<p id=\"error\">Give key and value.</p>"));
    };
    session.insert(k, v).await?;
    Ok(page("Set", &format!("<p id=\"ok\">{} = {}</p>", escape(k), escape(v))))
}

async fn expiry(session: Session, Query(q): Query<HashMap<String, String>>) -> Result<Html<String>> {
    let seconds: i64 = q.get("seconds").and_then(|s| s.parse().ok()).unwrap_or(0);
    session.set_expiry(Expiry::Seconds(seconds)).await?;
    Ok(page("Expiry", &format!("<p id=\"ok\">expires in {seconds} s</p>")))
}

#[cfg(test)]
mod tests {
    /// Made by Django 5.2: `make_password("wonderland", "saltsaltsalt",
    /// "pbkdf2_sha256")` with 1000 iterations.
    #[test]
    fn django_hashes_check() {
        let hash = super::django_pbkdf2("wonderland", "saltsaltsalt", 1000);
        assert_eq!(hash, "pbkdf2_sha256$1000$saltsaltsalt$hqvMwDdOFrMubl9lhrs9/qyxAcrGeeU3w7OAh2Rvfv8=");
        assert!(super::check_password("wonderland", &hash));
        assert!(!super::check_password("wonderlanD", &hash));
        assert!(!super::check_password("wonderland", "argon2$whatever"));
    }

    /// The dummy hash costs what the costliest user's does, and matches no
    /// password (not even an empty one).
    #[test]
    fn the_dummy_hash_costs_what_a_user_hash_does() {
        let users = [super::DemoUser::with_password("1", "a", "x", 1000), super::DemoUser::with_password("2", "b", "y", 1200)];
        let dummy = super::dummy_hash(&users);
        assert_eq!(super::hash_iterations(&dummy), Some(1200));
        assert_eq!(super::hash_iterations(&super::dummy_hash(&[])), Some(super::DJANGO_ITERATIONS));
        for password in ["", "x", "unknownuser"] {
            assert!(!super::check_password(password, &dummy));
        }
    }
}
