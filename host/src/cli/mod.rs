//! Parses the command line, opens the store, runs one command, and maps the
//! outcome to an exit code. JSON goes to stdout; one-line errors to stderr.

mod args;
mod commands;
mod logger;
mod secret;

use sessionbox::kv::sql::{postgres::PostgresOptions, sqlite::SqliteOptions};
use sessionbox::DbOptions;
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

/// Exit code: the command worked.
pub const EXIT_OK: u8 = 0;
/// Exit code: the command failed (I/O, invalid input, component failure).
pub const EXIT_FAILURE: u8 = 1;
// Exit code 2, the command line was not understood, is clap's own.
/// Exit code: no such session (missing, expired, tampered or corrupt).
pub const EXIT_NO_SESSION: u8 = 3;

/// How a command ended, when it did not simply succeed.
pub enum Failure {
    /// No such session; the text says which and why.
    NoSession(String),
    /// Anything else.
    Error(String),
}

impl From<sessionbox::Error> for Failure {
    fn from(e: sessionbox::Error) -> Failure {
        Failure::Error(e.to_string())
    }
}

/// Runs the CLI. `stdout_was_closed`: standard output was closed when the
/// process started (Rust's runtime then quietly points it at /dev/null, so
/// only a check before `main` can tell).
pub fn run(stdout_was_closed: bool) -> ExitCode {
    logger::install();
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version: printed here, so a closed or full stdout is
        // an error as for every command (clap would exit 0 regardless).
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            return match print(e.render().to_string().trim_end()) {
                Ok(()) if !stdout_was_closed => ExitCode::from(EXIT_OK),
                Ok(()) => fail(EXIT_FAILURE, "error: standard output is closed"),
                Err(err) => fail(EXIT_FAILURE, &format!("error: writing to standard output failed: {err}")),
            };
        }
        Err(e) => e.exit(),
    };
    if stdout_was_closed {
        // Every command's result is on stdout; a key created now would be lost.
        return fail(EXIT_FAILURE, "error: standard output is closed, so the result could not be printed; nothing was done");
    }
    let outcome = secret::settings(&cli).and_then(|settings| {
        let options = sessionbox::Options { deadline: cli.deadline, ..sessionbox::Options::default() };
        if let args::Command::Migrate { from, to, dry_run, move_sessions } = &cli.command {
            let source = match from {
                Some(spec) => open_spec(&cli, spec, settings.clone(), options.clone())?,
                None => open_store(&cli, settings.clone(), options.clone())?,
            };
            let destination = open_spec(&cli, to, settings, options)?;
            return commands::migrate(&source, &destination, *dry_run, *move_sessions);
        }
        let store = open_store(&cli, settings, options)?;
        commands::run(&store, &cli.command, cli.output)
    });
    match outcome {
        Ok(printed) => match print(&printed.text) {
            Ok(()) => ExitCode::from(EXIT_OK),
            Err(e) => {
                let done = printed.done.map(|done| format!("{done}, but ")).unwrap_or_default();
                fail(EXIT_FAILURE, &format!("error: {done}writing the result to standard output failed: {e}"))
            }
        },
        Err(Failure::NoSession(why)) => fail(EXIT_NO_SESSION, &why),
        Err(Failure::Error(why)) => fail(EXIT_FAILURE, &format!("error: {why}")),
    }
}

/// The store the command line names: --redis, --sqlite, --postgres (and
/// --cached-db), else --dir; none for the cookie commands.
fn open_store(cli: &args::Cli, settings: sessionbox::Settings, options: sessionbox::Options) -> Result<sessionbox::Store, Failure> {
        let db = db_options(cli)?;
        Ok(if cli.command.is_cookie() {
            sessionbox::Store::open_signed_cookies(settings, options)?
        } else if cli.cached_db {
            let Some(db) = db else { return Err(Failure::Error("--cached-db needs a database: --sqlite or --postgres".into())) };
            let mut redis = redis_options(&cli)?.expect("clap requires --redis with --cached-db");
            redis.format = sessionbox::RedisFormat::Django {
                key_prefix: cli.redis_key_prefix.clone().unwrap_or_default(),
                version: cli.django_cache_version,
            };
            sessionbox::Store::open_cached_db(&db, &redis, settings, options)?
        } else if !cli.redis.is_empty() && db.is_some() {
            return Err(Failure::Error("--redis with --sqlite or --postgres is Django's cached_db engine: add --cached-db".into()));
        } else if let Some(redis) = redis_options(&cli)? {
            sessionbox::Store::open_redis_with(&redis, settings, options)?
        } else if let Some(DbOptions::Sqlite(sqlite)) = &db {
            sessionbox::Store::open_sqlite(sqlite, settings, options)?
        } else if let Some(DbOptions::Postgres(postgres)) = &db {
            sessionbox::Store::open_postgres(postgres, settings, options)?
        } else {
            sessionbox::Store::open_with(&cli.dir, settings, options)?
        })
}

/// The store a `migrate` STORE names (see its help): `dir:PATH`,
/// `sqlite:PATH`, `postgres://…`, `redis://…[?format=django&key_prefix=P&version=N]`.
fn open_spec(cli: &args::Cli, spec: &str, settings: sessionbox::Settings, options: sessionbox::Options) -> Result<sessionbox::Store, Failure> {
    if let Some(path) = spec.strip_prefix("dir:") {
        return Ok(sessionbox::Store::open_with(path, settings, options)?);
    }
    if let Some(path) = spec.strip_prefix("sqlite:") {
        let mut sqlite = SqliteOptions::new(path);
        (sqlite.table, sqlite.create_table) = (cli.table.clone(), cli.create_table);
        return Ok(sessionbox::Store::open_sqlite(&sqlite, settings, options)?);
    }
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        let mut postgres = PostgresOptions::new(spec);
        (postgres.table, postgres.create_table, postgres.ca_file) = (cli.table.clone(), cli.create_table, cli.postgres_ca_file.clone());
        if std::env::var_os(POSTGRES_PASSWORD_ENV).is_some() {
            postgres = postgres.password_from_env(POSTGRES_PASSWORD_ENV)?;
        }
        return Ok(sessionbox::Store::open_postgres(&postgres, settings, options)?);
    }
    if spec.starts_with("redis://") || spec.starts_with("rediss://") {
        let (url, query) = spec.split_once('?').unwrap_or((spec, ""));
        let (mut format, mut key_prefix, mut version, mut rest) = ("signed", None, 1, Vec::new());
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=').unwrap_or((pair, "")) {
                ("format", f) => format = f,
                ("key_prefix", p) => key_prefix = Some(p.to_owned()),
                ("version", v) => version = v.parse().map_err(|_| Failure::Error(format!("version={v:?} in a --to/--from Redis URL is not a number")))?,
                _ => rest.push(pair),
            }
        }
        let url = if rest.is_empty() { url.to_owned() } else { format!("{url}?{}", rest.join("&")) };
        let mut redis = sessionbox::RedisOptions::new(url);
        redis.format = match format {
            "signed" => sessionbox::RedisFormat::Signed { key_prefix: key_prefix.unwrap_or_else(|| "sessionbox:".into()) },
            "django" => sessionbox::RedisFormat::Django { key_prefix: key_prefix.unwrap_or_default(), version },
            other => return Err(Failure::Error(format!("format={other:?} in a Redis URL: signed or django"))),
        };
        if std::env::var_os(REDIS_PASSWORD_ENV).is_some() {
            redis = redis.password_from_env(REDIS_PASSWORD_ENV)?;
        }
        return Ok(sessionbox::Store::open_redis_with(&redis, settings, options)?);
    }
    Err(Failure::Error(format!(
        "{:?} names no store: dir:PATH, sqlite:PATH, postgres://…, or redis://… (?format=django for Django's cache format)",
        sessionbox::redacted_key(spec)
    )))
}

/// The Redis options the command line asks for; `None` without --redis.
fn redis_options(cli: &args::Cli) -> Result<Option<sessionbox::RedisOptions>, Failure> {
    if cli.redis.is_empty() {
        return Ok(None);
    }
    let mut redis = match cli.redis_cluster {
        true => sessionbox::RedisOptions::cluster(cli.redis.iter().cloned()),
        false if cli.redis.len() > 1 => return Err(Failure::Error("several --redis URLs name a cluster: add --redis-cluster".into())),
        false => sessionbox::RedisOptions::new(&cli.redis[0]),
    };
    redis.format = match cli.redis_format {
        args::RedisFormatArg::Signed => sessionbox::RedisFormat::Signed {
            key_prefix: cli.redis_key_prefix.clone().unwrap_or_else(|| "sessionbox:".into()),
        },
        args::RedisFormatArg::Django => sessionbox::RedisFormat::Django {
            key_prefix: cli.redis_key_prefix.clone().unwrap_or_default(),
            version: cli.django_cache_version,
        },
    };
    Ok(Some(match &cli.redis_password_file {
        Some(file) => redis.password_from_file(file)?,
        None if std::env::var_os(REDIS_PASSWORD_ENV).is_some() => redis.password_from_env(REDIS_PASSWORD_ENV)?,
        None => redis,
    }))
}

/// The database the command line names (--sqlite or --postgres), if any.
fn db_options(cli: &args::Cli) -> Result<Option<DbOptions>, Failure> {
    if let Some(path) = &cli.sqlite {
        let mut sqlite = SqliteOptions::new(path);
        (sqlite.table, sqlite.create_table) = (cli.table.clone(), cli.create_table);
        return Ok(Some(DbOptions::Sqlite(sqlite)));
    }
    let Some(url) = &cli.postgres else { return Ok(None) };
    let mut postgres = PostgresOptions::new(url);
    (postgres.table, postgres.create_table, postgres.ca_file) = (cli.table.clone(), cli.create_table, cli.postgres_ca_file.clone());
    let postgres = match &cli.postgres_password_file {
        Some(file) => postgres.password_from_file(file)?,
        None if std::env::var_os(POSTGRES_PASSWORD_ENV).is_some() => postgres.password_from_env(POSTGRES_PASSWORD_ENV)?,
        None => postgres,
    };
    Ok(Some(DbOptions::Postgres(postgres)))
}

/// The environment variable the Redis password may come from.
const REDIS_PASSWORD_ENV: &str = "SESSIONBOX_REDIS_PASSWORD";

/// The environment variable the PostgreSQL password may come from.
const POSTGRES_PASSWORD_ENV: &str = "SESSIONBOX_POSTGRES_PASSWORD";

/// Writes `text` and a newline to stdout, reporting a closed pipe or a full
/// device instead of panicking as `println!` does.
fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// One line on stderr (ignoring a stderr that cannot be written either),
/// then the exit code. Control characters, say a newline in a path the
/// message quotes, are escaped so the line stays one line.
fn fail(code: u8, line: &str) -> ExitCode {
    let line: String = line.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect();
    let _ = writeln!(std::io::stderr(), "sessionbox: {line}");
    ExitCode::from(code)
}
