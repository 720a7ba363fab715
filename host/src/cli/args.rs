//! The command line, as clap reads it.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Django's file-based session store, sandboxed in a WASI component.
///
/// Sessions live as files in one directory, byte-compatible with Django's
/// `django.contrib.sessions.backends.file`: point --dir at Django's
/// SESSION_FILE_PATH and use the same secret to share them. With --redis
/// they live on Redis or Valkey instead, one key per session expiring by its
/// TTL; --redis-format django shares them with Django's cache session
/// backend. With --sqlite or --postgres they are rows of Django's own
/// django_session table, shared with Django's db session backend.
#[derive(Debug, Parser)]
#[command(
    name = "sessionbox",
    version,
    after_help = "SECRET KEY:\n  --secret-key-file FILE, else $SESSIONBOX_SECRET_KEY; with neither, a key is\n  generated once, kept (mode 0600) in the user's config directory\n  (sessionbox/secret-key), and announced on stderr. A set but empty or\n  non-UTF-8 $SESSIONBOX_SECRET_KEY is an error, never a fallback.\n  Key files hold one secret per line: a line ends at LF (a CR before it\n  is dropped), nothing else is trimmed, empty lines are ignored.\n\nOUTPUT:\n  Strict JSON (RFC 8259) on stdout, ASCII only, as Python's json.dumps\n  writes it. A session holding NaN or Infinity cannot be printed as strict\n  JSON: that is an error unless --json python, which prints Python's bare\n  NaN/Infinity tokens.\n\nEXIT CODES:\n  0  success\n  1  failure (I/O error, invalid key or data, configuration or settings, component\n     failure)\n  2  the command line was not understood\n  3  no such session (get, set, cycle-key: missing, expired, tampered or corrupt;\n     exists: no file or key)"
)]
pub struct Cli {
    /// The session directory (Django's SESSION_FILE_PATH); created 0700 when
    /// missing.
    #[arg(long, global = true, default_value = "./sessions", conflicts_with_all = ["redis", "sqlite", "postgres"])]
    pub dir: PathBuf,
    /// Keep sessions in Django's session table (django_session) of this
    /// SQLite database file (Django's DATABASES NAME), as Django's db
    /// session backend does, instead of in --dir.
    #[arg(long, global = true, value_name = "PATH", conflicts_with = "postgres")]
    pub sqlite: Option<PathBuf>,
    /// Keep sessions in Django's session table of this PostgreSQL database
    /// (postgres://[user[:password]@]host[:port]/db, or libpq's
    /// "host=… dbname=…"), as Django's db session backend does. The
    /// password is better given by --postgres-password-file or
    /// $SESSIONBOX_POSTGRES_PASSWORD.
    #[arg(long, global = true, value_name = "URL")]
    pub postgres: Option<String>,
    /// Django's cached_db engine: the --sqlite or --postgres database with
    /// the --redis server in front of it as Django's cache, always in
    /// Django's format (--redis-format does not apply; --redis-key-prefix is
    /// the cache's KEY_PREFIX, default empty, and --django-cache-version its
    /// VERSION).
    #[arg(long, global = true, requires = "redis")]
    pub cached_db: bool,
    /// A file whose first line is the PostgreSQL password (else
    /// $SESSIONBOX_POSTGRES_PASSWORD, else the URL's, else none).
    #[arg(long, global = true, value_name = "FILE", requires = "postgres")]
    pub postgres_password_file: Option<PathBuf>,
    /// PEM certificates of the authorities whose PostgreSQL server
    /// certificates TLS accepts, instead of the system's (libpq's
    /// sslrootcert). TLS itself follows the URL's sslmode (disable, prefer:
    /// the default, require).
    #[arg(long, global = true, value_name = "FILE", requires = "postgres")]
    pub postgres_ca_file: Option<PathBuf>,
    /// The session table for --sqlite and --postgres (a custom session
    /// model's db_table; on PostgreSQL optionally schema.table).
    #[arg(long, global = true, value_name = "NAME", default_value = "django_session")]
    pub table: String,
    /// Create the table (and a --sqlite database file) with Django's own DDL
    /// when missing (else a missing table is an error: run Django's
    /// migrate).
    #[arg(long, global = true)]
    pub create_table: bool,
    /// Keep sessions on Redis or Valkey at this URL
    /// (redis://[user[:password]@]host:port[/db]) instead of in --dir.
    /// Repeat it to name several nodes of a Redis Cluster (with
    /// --redis-cluster). The password is better given by
    /// --redis-password-file or $SESSIONBOX_REDIS_PASSWORD.
    #[arg(long, global = true, value_name = "URL")]
    pub redis: Vec<String>,
    /// The --redis URLs name nodes of a Redis Cluster.
    #[arg(long, global = true, requires = "redis")]
    pub redis_cluster: bool,
    /// How sessions are stored on Redis: signed (sessionbox's signed text,
    /// the content of a session file) or django (what Django's cache session
    /// backend stores through its Redis cache: the dict pickled, unsigned).
    #[arg(long, global = true, value_enum, default_value_t = RedisFormatArg::Signed, requires = "redis")]
    pub redis_format: RedisFormatArg,
    /// What every Redis key starts with: for signed, default "sessionbox:"
    /// (then the --prefix and the key); for django, Django's cache
    /// KEY_PREFIX, default empty (then ":VERSION:django.contrib.sessions.cache"
    /// and the key).
    #[arg(long, global = true, value_name = "PREFIX", requires = "redis")]
    pub redis_key_prefix: Option<String>,
    /// Django's cache VERSION, for --redis-format django.
    #[arg(long, global = true, value_name = "N", default_value_t = 1, requires = "redis")]
    pub django_cache_version: i64,
    /// A file whose first line is the Redis password (else
    /// $SESSIONBOX_REDIS_PASSWORD, else the URL's, else none).
    #[arg(long, global = true, value_name = "FILE", requires = "redis")]
    pub redis_password_file: Option<PathBuf>,
    /// A file holding the secret key (Django's SECRET_KEY).
    #[arg(long, global = true)]
    pub secret_key_file: Option<PathBuf>,
    /// A file of older secret keys still accepted when reading, one per line
    /// (Django's SECRET_KEY_FALLBACKS).
    #[arg(long, global = true)]
    pub fallback_keys_file: Option<PathBuf>,
    /// Seconds a session without its own expiry lives after its last save
    /// (Django's SESSION_COOKIE_AGE).
    #[arg(long, global = true, default_value_t = sessionbox::DEFAULT_COOKIE_AGE)]
    pub cookie_age: u64,
    /// Session file name prefix (Django's SESSION_COOKIE_NAME).
    #[arg(long, global = true, default_value = sessionbox::DEFAULT_FILE_PREFIX)]
    pub prefix: String,
    /// Signing salt (django.contrib.sessions. + the store class name).
    #[arg(long, global = true, default_value = sessionbox::DEFAULT_KEY_SALT)]
    pub key_salt: String,
    /// Largest session accepted, in bytes of JSON.
    #[arg(long, global = true, default_value_t = sessionbox::DEFAULT_MAX_SESSION_SIZE)]
    pub max_session_size: u32,
    /// Fsync policy for writes: none (Django's), file, or full (also the
    /// directory).
    #[arg(long, global = true, value_enum, default_value_t = DurabilityArg::File)]
    pub durability: DurabilityArg,
    /// How session data is printed: strict JSON, or Python's json.dumps
    /// (bare NaN and Infinity).
    #[arg(long = "json", id = "output", global = true, value_enum, default_value_t = JsonArg::Strict)]
    pub output: JsonArg,
    /// Longest one call into the sandboxed component may run, in seconds
    /// (clear-expired works in batches of at most a second, so a sweep of
    /// any size finishes). One too long to count means no deadline in
    /// practice.
    #[arg(long, global = true, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub deadline: Duration,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The durability levels, as spelled on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DurabilityArg {
    /// No fsync.
    None,
    /// Fsync the file before renaming it into place.
    File,
    /// Fsync the file and the directory.
    Full,
}

/// The Redis value formats, as spelled on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RedisFormatArg {
    /// sessionbox's signed text.
    Signed,
    /// Django's cache session backend's pickle.
    Django,
}

/// How session data is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JsonArg {
    /// RFC 8259 JSON; a session holding NaN or Infinity is an error.
    Strict,
    /// Python's json.dumps, which writes NaN, Infinity and -Infinity bare.
    Python,
}

/// A number of seconds, fractions allowed, from a millisecond up; one past
/// what a `Duration` holds (about 584 billion years) saturates to the
/// longest, which is no deadline in practice.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs >= 0.001 && secs.is_finite() => Ok(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)),
        _ => Err(format!("{text:?} is not a number of seconds of at least 0.001")),
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a session; prints {"key": KEY}.
    Create {
        /// The session data as a JSON object ("-" reads it from stdin, at
        /// most 4 times --max-session-size bytes).
        #[arg(default_value = "{}")]
        json: String,
    },
    /// Print a session's data as a JSON object.
    Get {
        /// The session key.
        key: String,
    },
    /// Merge JSON keys into an existing session; prints the new data.
    Set {
        /// The session key.
        key: String,
        /// The keys to set, as a JSON object ("-" reads it from stdin, at
        /// most 4 times --max-session-size bytes).
        json: String,
    },
    /// Delete a session (a missing one is not an error); prints
    /// {"key": KEY, "deleted": true|false}.
    Delete {
        /// The session key.
        key: String,
    },
    /// Print {"key": KEY, "exists": true} when a file (on Redis, a key) for
    /// KEY is there (expired or tampered ones count, as in Django); exit code
    /// 3 and nothing on stdout when it is not.
    Exists {
        /// The session key.
        key: String,
    },
    /// Move a session to a new key and delete the old one; prints
    /// {"key": NEW, "old_key": OLD}.
    CycleKey {
        /// The session key.
        key: String,
    },
    /// Delete expired sessions and stale temporary files (Django's
    /// clearsessions); prints {"scanned", "deleted", "skipped"}. Sweeps on
    /// one thread per core (at most 8). Shows progress on stderr when it is
    /// a terminal. On Redis, keys expire by their TTL: nothing is scanned,
    /// and stderr says so.
    ClearExpired,
    /// Print the keys of all session files as a JSON array: regular files
    /// named like sessions (files are not opened, so expired sessions are
    /// listed too; a directory, FIFO or symlink with such a name is no
    /// session, and stats counts it as other). Directory stores only.
    List,
    /// Print counts of session files, temporary files and other entries
    /// (directories, FIFOs, symlinks and odd names count as other) in the
    /// session directory, the total bytes of session files, and their oldest
    /// and newest modification times (Unix seconds, negative before 1970).
    /// Directory stores only.
    Stats,
    /// List a user's live sessions (Django's _auth_user_id, e.g. 42): prints
    /// {"user", "sessions": [{"key", "expires_at", "written_at"}], "scanned",
    /// "live", "expired", "bad_signature", "skipped"} (times in Unix
    /// seconds; written_at null where the store keeps none). Reads and
    /// verifies every session, deleting nothing: on every core for a
    /// directory, with SCAN on Redis (not a Redis Cluster), in one pass
    /// over an SQL table. Progress on stderr when it is a terminal.
    SessionsOf {
        /// The user's primary key, as Django stores it in _auth_user_id.
        user: String,
    },
    /// Log a user out everywhere: delete every live session of theirs
    /// (except --keep); prints {"user", "found", "deleted", "kept", "gone",
    /// "scanned", "live", "expired", "bad_signature", "skipped"}. Each
    /// delete is a logout: a request of that session saving meanwhile does
    /// not bring it back. Other users' sessions, expired ones and tampered
    /// ones are counted, never touched.
    RevokeUser {
        /// The user's primary key, as Django stores it in _auth_user_id.
        user: String,
        /// A session key to leave signed in (the one you use now).
        #[arg(long, value_name = "KEY")]
        keep: Option<String>,
    },
    /// Count, per secret, the live sessions only it verifies: prints
    /// {"current": {"sessions", "latest_expiry"}, "fallbacks": [{"fallback":
    /// 1, "sessions", "latest_expiry", "advice"}], "unsigned", "scanned",
    /// ...}. A fallback that verifies no session can leave
    /// SECRET_KEY_FALLBACKS (--fallback-keys-file) now; one that does,
    /// after its latest_expiry, or now after --resign. Pickled sessions
    /// (--redis-format django) are not signed: counted as unsigned.
    SecretsReport {
        /// First re-sign with the secret key every session a fallback
        /// verifies (keeping its data and expiry; a session saved or
        /// deleted meanwhile is left as it is), then report; prints
        /// {"resigned", "unchanged", "report": {...}}.
        #[arg(long)]
        resign: bool,
    },
    /// Copy every live session to another store, with its key and the time
    /// it has left, so nobody is logged out when an app moves stores:
    /// prints {"created", "replaced", "kept_newer", "gone", "refused",
    /// "scanned", "live", "expired", "bad_signature", "skipped"}. A session
    /// the destination has written as late or later is left as it is, so a
    /// run after an interruption copies only the rest; expired and tampered
    /// sessions are counted, not copied; the source is not changed. STORE
    /// is dir:PATH, sqlite:PATH (with --table), postgres://… ,
    /// redis://host[:port][/db] (sessionbox's signed format under
    /// "sessionbox:"), or a redis:// URL ending in
    /// ?format=django[&key_prefix=P][&version=N] (Django's cache format).
    /// Secrets and --prefix, --cookie-age and the other settings apply to
    /// both stores. Progress on stderr when it is a terminal.
    Migrate {
        /// Where the sessions are now (default: the store the other
        /// options name, --dir by default).
        #[arg(long, value_name = "STORE")]
        from: Option<String>,
        /// Where they go.
        #[arg(long, value_name = "STORE")]
        to: String,
        /// Write nothing: count the live sessions and how many the
        /// destination already has.
        #[arg(long, conflicts_with = "move_sessions")]
        dry_run: bool,
        /// Delete each session from the source once the destination has it:
        /// for an app already running on the destination with the source
        /// as its read-through fallback, where a copy left behind would come
        /// back after a logout that did not read through.
        #[arg(long = "move", id = "move_sessions")]
        move_sessions: bool,
    },
    /// Django's signed_cookies engine, where the cookie is the session:
    /// print {"cookie": VALUE}, the session cookie's value holding the data,
    /// signed now with the secret key (salt
    /// "django.contrib.sessions.backends.signed_cookies"). No store is used.
    EncodeCookie {
        /// The session data as a JSON object ("-" reads it from stdin).
        json: String,
    },
    /// Print the data in a signed_cookies session cookie's value; exit code
    /// 3 when it holds no live session (expired after --cookie-age from its
    /// signing, or its own _session_expiry; tampered; corrupt). No store is
    /// used.
    DecodeCookie {
        /// The cookie's value.
        cookie: String,
    },
}

impl Command {
    /// Whether the command works on cookies alone, with no store.
    pub fn is_cookie(&self) -> bool {
        matches!(self, Command::EncodeCookie { .. } | Command::DecodeCookie { .. })
    }
}
