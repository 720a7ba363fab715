//! `sessionbox-demo`: serves the demo app (see the library docs).

use clap::Parser;
use sessionbox::{Options, Settings};
use sessionbox_demo::{DemoUser, Sessions};
use sessionbox_tower::SessionConfig;
use std::path::PathBuf;

/// Django's insecure placeholder, for trying the demo out; a real app reads
/// its SECRET_KEY from the environment.
const DEMO_SECRET: &str = "django-insecure-sessionbox-demo-only";

/// The sessionbox demo app: a counter, login/logout shared with Django, and
/// the session listed.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    listen: String,
    /// The session directory (Django's SESSION_FILE_PATH); created if missing.
    #[arg(long, default_value = "demo-sessions", conflicts_with_all = ["redis", "sqlite", "postgres", "signed_cookies"])]
    sessions: PathBuf,
    /// Keep sessions on Redis or Valkey at this URL instead of --sessions:
    /// several demo processes on one Redis share their sessions. With
    /// --cached-db: the cache in front of --sqlite or --postgres.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// With --redis: store sessions as Django's cache session backend does
    /// (`:1:django.contrib.sessions.cache<key>`, the dict pickled), to share
    /// them with a Django using SESSION_ENGINE
    /// "django.contrib.sessions.backends.cache" on the same Redis. Without
    /// it: sessionbox's signed text under `sessionbox:sessionid<key>`.
    #[arg(long, requires = "redis", conflicts_with = "cached_db")]
    django_cache: bool,
    /// Keep sessions as Django's db session engine does, in the
    /// django_session table of this SQLite database file (Django's DATABASES
    /// NAME), instead of --sessions: a Django on the same file shares them.
    /// The table must exist (Django's migrate makes it) unless --create-table.
    #[arg(long, value_name = "PATH", conflicts_with = "postgres")]
    sqlite: Option<PathBuf>,
    /// Keep sessions as Django's db session engine does, in the
    /// django_session table of this PostgreSQL database
    /// (postgres://[user[:password]@]host[:port]/db, or libpq's
    /// "host=… dbname=…"), instead of --sessions. The password is better
    /// given by --postgres-password-file or $SESSIONBOX_POSTGRES_PASSWORD.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// A file whose first line is the PostgreSQL password (else
    /// $SESSIONBOX_POSTGRES_PASSWORD, else the URL's, else none).
    #[arg(long, value_name = "FILE", requires = "postgres")]
    postgres_password_file: Option<PathBuf>,
    /// With --sqlite or --postgres: create the django_session table (and the
    /// SQLite file) with Django's own DDL when missing.
    #[arg(long)]
    create_table: bool,
    /// Django's cached_db session engine: the django_session table of
    /// --sqlite or --postgres, with Redis at --redis in front of it as
    /// Django's cache, in Django's format (`:1:django.contrib.sessions.cached_db<key>`),
    /// to share sessions with a Django using SESSION_ENGINE
    /// "django.contrib.sessions.backends.cached_db" on the same database and
    /// Redis.
    #[arg(long, requires = "redis")]
    cached_db: bool,
    /// Django's signed_cookies session engine: nothing is stored, the
    /// session is the cookie, signed with the secret key; a Django using
    /// SESSION_ENGINE "django.contrib.sessions.backends.signed_cookies" with
    /// the same SECRET_KEY reads and writes the same cookie. A logout cannot
    /// revoke a copy of a cookie before it expires.
    #[arg(long, conflicts_with_all = ["redis", "sqlite", "postgres", "create_table"])]
    signed_cookies: bool,
    /// Django's SECRET_KEY. Without it the demo uses an insecure placeholder.
    #[arg(long = "secret-key", env = "SESSIONBOX_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// Django's SESSION_COOKIE_AGE, in seconds.
    #[arg(long, default_value_t = sessionbox::DEFAULT_COOKIE_AGE)]
    cookie_age: u64,
    /// Django's SESSION_EXPIRE_AT_BROWSER_CLOSE.
    #[arg(long)]
    expire_at_browser_close: bool,
    /// Django's SESSION_SAVE_EVERY_REQUEST.
    #[arg(long)]
    save_every_request: bool,
    /// Users who may log in: a JSON list of {"id", "username",
    /// "password_hash"} with Django's password hashes (the `auth_user`
    /// table). Without it: user `alice`, password `wonderland`, id 1.
    #[arg(long)]
    users: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sessionbox-demo: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let secret = args.secret_key.unwrap_or_else(|| {
        eprintln!("sessionbox-demo: no SESSIONBOX_SECRET_KEY; using an insecure demo secret");
        DEMO_SECRET.to_owned()
    });
    let users: Vec<DemoUser> = match &args.users {
        Some(path) => serde_json::from_slice(&std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?)
            .map_err(|e| format!("{}: {e}", path.display()))?,
        None => vec![DemoUser::with_password("1", "alice", "wonderland", 1_000_000)],
    };
    let mut settings = Settings::new(secret);
    settings.cookie_age = args.cookie_age;
    let options = Options { expire_at_browser_close: args.expire_at_browser_close, ..Options::default() };
    let db = match (args.sqlite, args.postgres) {
        (Some(path), _) => Some(Sessions::Sqlite { path, create_table: args.create_table }),
        (_, Some(url)) => Some(Sessions::Postgres { url, password_file: args.postgres_password_file, create_table: args.create_table }),
        _ if args.create_table => return Err("--create-table goes with --sqlite or --postgres".into()),
        _ => None,
    };
    let sessions = match (args.redis, db) {
        (Some(redis_url), Some(db)) if args.cached_db => Sessions::CachedDb { redis_url, db: Box::new(db) },
        (Some(_), None) if args.cached_db => return Err("--cached-db needs its database: --sqlite PATH or --postgres URL (with --redis URL)".into()),
        (Some(_), Some(_)) => return Err("--redis with --sqlite or --postgres is two stores: add --cached-db for Django's cached_db (Redis in front of the database)".into()),
        (Some(url), None) => Sessions::Redis { url, django_cache: args.django_cache },
        (None, Some(db)) => db,
        (None, None) if args.signed_cookies => Sessions::SignedCookies,
        (None, None) => Sessions::Dir(args.sessions),
    };
    let (store, place) = sessionbox_demo::open_store(&sessions, settings, options)?;
    let mut config = SessionConfig::for_store(&store);
    config.save_every_request = args.save_every_request;
    let app = sessionbox_demo::app(store, config, users);
    let listener = tokio::net::TcpListener::bind(&args.listen).await.map_err(|e| format!("listening on {}: {e}", args.listen))?;
    println!("sessionbox-demo: http://{} (sessions in {place})", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
