//! The Redis provider of the key-value import: sessions on one Redis (or
//! Valkey) server or a Redis Cluster, through the `redis` crate with r2d2
//! pooling its connections. The guest names each key and holds all session
//! logic; this file only maps the five `kv` calls to Redis commands:
//!
//! | `kv` call        | Redis                                 |
//! |------------------|---------------------------------------|
//! | `get`            | `MULTI`, `PTTL`, `GETRANGE 0 <limit>`, `EXEC`: one atomic transaction, one round trip; on a cluster `EVALSHA` of `READ_SCRIPT` (`TYPE`, `STRLEN`, `PTTL`, `GET`) |
//! | `set-if-absent`  | `SET key value NX [PX ttl]`           |
//! | `set-if-present` | `SET key value XX [PX ttl]`           |
//! | `delete`         | `DEL`                                 |
//! | `exists`         | `EXISTS`                              |
//! | `set-if-equal`   | `WATCH`, `GET`, compare, `MULTI`, `SET [PX ttl]`, `EXEC`: one atomic step, no script; on a cluster `EVALSHA` of `CAS_SCRIPT` |
//! | `set-ttl`        | the same with `PEXPIRE` (`PERSIST` for no TTL); on a cluster `TTL_SCRIPT` |
//! | `keys`           | `SCAN cursor MATCH <prefix>* COUNT n` (never `KEYS`); not on a cluster |
//!
//! Every command touches one key, so none crosses cluster slots. `SCAN`
//! walks one server: a Redis Cluster spreads keys over nodes the client
//! does not scan one by one, so listing sessions there is refused.

use crate::error::{Error, Result};
use crate::kv::{Format, KeyPage, KeyValue, KvEntry, KvError};
use redis::cluster::{ClusterClient, ClusterConnection};
use redis::{ConnectionLike, IntoConnectionInfo, RedisError, RedisResult, Value};
use std::path::Path;
use std::time::Duration;

/// Where a Redis-backed [`Store`](crate::Store) keeps its sessions, and how
/// it reaches them. The password never appears in `Debug` output, logs or
/// errors.
#[derive(Clone)]
pub struct RedisOptions {
    /// `redis://[user[:password]@]host:port[/db]` (or `redis+unix://`): the
    /// server; with [`cluster`](Self::cluster), any of the cluster's nodes
    /// (the rest are discovered).
    pub urls: Vec<String>,
    /// Whether `urls` name nodes of a Redis Cluster.
    pub cluster: bool,
    /// How sessions are stored: sessionbox's signed text, or Django's cache
    /// backend's pickle.
    pub format: RedisFormat,
    /// The password (`AUTH`), if not in the URL; an empty one counts as
    /// none (an unset variable in a compose file). See
    /// [`password_from_env`](Self::password_from_env) and
    /// [`password_from_file`](Self::password_from_file).
    pub password: Option<String>,
    /// Longest wait for a new connection, handshake and `AUTH` included,
    /// and for a free pooled one (default 2 s). [`Store::open_redis_with`]
    /// caps it at a quarter of [`Options::deadline`](crate::Options).
    ///
    /// [`Store::open_redis_with`]: crate::Store::open_redis_with
    pub connect_timeout: Duration,
    /// Longest wait for one reply; a slower server fails the call as an I/O
    /// error (default 2 s; capped like `connect_timeout`). A write that
    /// timed out may still have been applied.
    pub response_timeout: Duration,
    /// Most connections kept open at once (default 16); a call that finds
    /// all in use waits up to `connect_timeout` for one.
    pub pool_size: u32,
}

/// How sessions are stored in Redis: the value format and the key each
/// session gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisFormat {
    /// The same signed text as a session file, under
    /// `<key_prefix><file prefix><session key>` (default prefix
    /// `sessionbox:`, so `sessionbox:sessionid<key>`).
    Signed {
        /// Put before every key, to keep sessionbox's keys apart.
        key_prefix: String,
    },
    /// What Django's cache session backend stores through
    /// `django.core.cache.backends.redis.RedisCache`: the session dict
    /// pickled, under `<KEY_PREFIX>:<VERSION>:django.contrib.sessions.cache<key>`.
    /// Not signed: anyone who can write the Redis can forge sessions, as
    /// with Django itself.
    Django {
        /// Django's cache `KEY_PREFIX` (default empty).
        key_prefix: String,
        /// Django's cache `VERSION` (default 1).
        version: i64,
    },
}

impl RedisFormat {
    /// sessionbox's signed text under the prefix `sessionbox:`.
    pub fn signed() -> RedisFormat {
        RedisFormat::Signed { key_prefix: "sessionbox:".to_owned() }
    }

    /// Django's cache backend with Django's defaults (`KEY_PREFIX` empty,
    /// `VERSION` 1).
    pub fn django() -> RedisFormat {
        RedisFormat::Django { key_prefix: String::new(), version: 1 }
    }

    /// What goes before the guest's name for a session.
    fn key_prefix(&self) -> String {
        match self {
            RedisFormat::Signed { key_prefix } => key_prefix.clone(),
            // Django's default KEY_FUNCTION: "%s:%s:%s" % (prefix, version, key).
            RedisFormat::Django { key_prefix, version } => format!("{key_prefix}:{version}:"),
        }
    }

    fn value_format(&self) -> Format {
        match self {
            RedisFormat::Signed { .. } => Format::Signed,
            RedisFormat::Django { .. } => Format::DjangoPickle,
        }
    }
}

impl RedisOptions {
    /// One server at `url`, sessionbox's signed format, default timeouts.
    pub fn new(url: impl Into<String>) -> RedisOptions {
        RedisOptions {
            urls: vec![url.into()],
            cluster: false,
            format: RedisFormat::signed(),
            password: None,
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
            pool_size: 16,
        }
    }

    /// A Redis Cluster reached through any of `nodes`.
    pub fn cluster<I: IntoIterator<Item = S>, S: Into<String>>(nodes: I) -> RedisOptions {
        RedisOptions { urls: nodes.into_iter().map(Into::into).collect(), cluster: true, ..RedisOptions::new("") }
    }

    /// Takes the password from the environment variable `var`.
    pub fn password_from_env(mut self, var: &str) -> Result<RedisOptions> {
        self.password = Some(crate::kv::password_from_env("Redis", var)?);
        Ok(self)
    }

    /// Takes the password from the file at `path` (its first line, which
    /// must not be empty).
    pub fn password_from_file(mut self, path: impl AsRef<Path>) -> Result<RedisOptions> {
        self.password = Some(crate::kv::password_from_file("Redis", path.as_ref())?);
        Ok(self)
    }

    /// The servers without any password they carry, for messages:
    /// "Redis at redis://***@host:port".
    pub fn describe(&self) -> String {
        let urls: Vec<String> = self.urls.iter().map(|url| redact(url)).collect();
        format!("{}{}", if self.cluster { "Redis Cluster at " } else { "Redis at " }, urls.join(", "))
    }
}

/// `url` with any user information replaced by `***` and any query (where
/// `redis+unix://` URLs carry `?pass=`) dropped. A `?` before the last `@`
/// (in a password, or an `@` in a query) makes the split ambiguous: then
/// everything after the scheme goes.
fn redact(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let (scheme, rest) = url.split_at(start);
    let (query, at) = (rest.find('?'), rest.rfind('@'));
    if let (Some(query), Some(at)) = (query, at) {
        if query < at {
            return format!("{scheme}***");
        }
    }
    let rest = match at {
        Some(at) => format!("***{}", &rest[at..]),
        None => rest.to_owned(),
    };
    match rest.find('?') {
        Some(query) => format!("{scheme}{}?***", &rest[..query]),
        None => format!("{scheme}{rest}"),
    }
}

impl std::fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisOptions")
            .field("urls", &self.urls.iter().map(|u| redact(u)).collect::<Vec<_>>())
            .field("cluster", &self.cluster)
            .field("format", &self.format)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// Opens connections for the pool: a single server's with timeouts on
/// every read and write, or a cluster connection (the cluster client
/// applies its own).
enum Manager {
    Single {
        /// Connects and authenticates (`AUTH` or `HELLO`, one reply) and
        /// nothing more: no `CLIENT SETINFO`, no `SELECT`, whose replies the
        /// client would each wait for a whole timeout.
        client: redis::Client,
        /// The database the URL names, selected by `connect` itself.
        db: i64,
        connect_timeout: Duration,
        response_timeout: Duration,
    },
    Cluster(ClusterClient),
}

/// One pooled connection.
enum Conn {
    Single(redis::Connection),
    Cluster(ClusterConnection),
    /// What a connection becomes after a call on it failed other than by a
    /// server's error reply (a timeout, a dropped or garbled stream): the
    /// stream may hold a late or half-read reply that the next call would
    /// take for its own, so the connection is closed here and the pool
    /// drops it (`has_broken`) instead of handing it out again.
    Broken,
}

impl Conn {
    fn as_like(&mut self) -> &mut dyn ConnectionLike {
        match self {
            Conn::Single(c) => c,
            Conn::Cluster(c) => c,
            // The pool never hands out a broken connection (has_broken).
            Conn::Broken => unreachable!("a broken Redis connection was reused"),
        }
    }

    fn is_open(&self) -> bool {
        match self {
            Conn::Single(c) => c.is_open(),
            Conn::Cluster(c) => c.is_open(),
            Conn::Broken => false,
        }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = RedisError;

    fn connect(&self) -> RedisResult<Conn> {
        match self {
            Manager::Single { client, db, connect_timeout, response_timeout } => {
                // The whole of it, handshake included, within one
                // `connect_timeout`: a frozen server (its kernel still
                // accepts connections) costs one timeout, not one per reply.
                let started = std::time::Instant::now();
                let mut conn = client.get_connection_with_timeout(*connect_timeout)?;
                let left = connect_timeout.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Err(RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, "connecting timed out")));
                }
                conn.set_read_timeout(Some(left))?;
                conn.set_write_timeout(Some(left))?;
                // One round trip now: the handshake sends nothing without a
                // password, so a server that wants one (NOAUTH), or one that
                // accepts connections but does not answer, shows up here
                // rather than as the first call's failure.
                if *db != 0 {
                    redis::cmd("SELECT").arg(*db).query::<()>(&mut conn)?;
                } else {
                    redis::cmd("PING").query::<()>(&mut conn)?;
                }
                conn.set_read_timeout(Some(*response_timeout))?;
                conn.set_write_timeout(Some(*response_timeout))?;
                Ok(Conn::Single(conn))
            }
            Manager::Cluster(client) => Ok(Conn::Cluster(client.get_connection()?)),
        }
    }

    fn is_valid(&self, conn: &mut Conn) -> RedisResult<()> {
        redis::cmd("PING").query::<()>(conn.as_like())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        !conn.is_open()
    }
}

/// The Redis provider: a connection pool, the key prefix and the format.
/// [`Store::open_redis`](crate::Store::open_redis) opens a store on one;
/// [`Store::open_kv`](crate::Store::open_kv) takes one made here.
pub struct RedisKv {
    pool: r2d2::Pool<Manager>,
    prefix: String,
    format: Format,
    /// The servers, without passwords, for messages.
    describe: String,
    /// `READ_SCRIPT`, run by its SHA-1 (on a cluster).
    get_script: redis::Script,
    /// `CAS_SCRIPT`, run by its SHA-1 (on a cluster, or for a user refused
    /// transactions).
    cas_script: redis::Script,
    /// `TTL_SCRIPT`, likewise.
    ttl_script: redis::Script,
    /// Whether the server is a cluster, whose client runs no transactions.
    cluster: bool,
    /// Set once the server refused `MULTI` to this user: reads use the
    /// script from then on.
    no_transactions: std::sync::atomic::AtomicBool,
    /// How long retries through dead connections may go on.
    response_timeout: Duration,
}

/// r2d2's errors go to its log; forward them to ours at debug level, where
/// a connection that cannot be made shows up.
#[derive(Debug)]
struct LogErrors;

impl r2d2::HandleError<RedisError> for LogErrors {
    fn handle_error(&self, error: RedisError) {
        log::debug!(target: "sessionbox::redis", "connection failed: {error}");
    }
}

impl RedisKv {
    /// Connects (one connection now, so an unreachable server, a wrong
    /// password or a bad URL shows up here) and sets up the pool. The
    /// timeouts are used as given: [`Store::open_redis_with`](crate::Store::open_redis_with)
    /// caps them to fit the call deadline first.
    pub fn connect(options: &RedisOptions) -> Result<RedisKv> {
        let describe = options.describe();
        let config = |e: RedisError| Error::Config(format!("{describe}: {}", describe_error(&e)));
        if options.urls.is_empty() || options.urls.iter().any(String::is_empty) {
            return Err(Error::Config("no Redis URL given".to_owned()));
        }
        let manager = if options.cluster {
            let mut builder = ClusterClient::builder(options.urls.clone())
                .connection_timeout(options.connect_timeout)
                .response_timeout(options.response_timeout)
                // A moved slot is followed at once; a node that is down
                // fails the call instead of stalling it through 16 retries.
                .retries(2)
                .min_retry_wait(10)
                .max_retry_wait(100);
            if let Some(password) = options.password.as_deref().filter(|p| !p.is_empty()) {
                builder = builder.password(password.to_owned());
            }
            Manager::Cluster(builder.build().map_err(config)?)
        } else {
            let info = options.urls[0].as_str().into_connection_info().map_err(config)?;
            let mut settings = info.redis_settings().clone();
            let db = settings.db();
            if let Some(password) = options.password.as_deref().filter(|p| !p.is_empty()) {
                settings = settings.set_password(password);
            }
            let info = info.set_redis_settings(settings.set_db(0).set_skip_set_lib_name());
            Manager::Single {
                client: redis::Client::open(info).map_err(config)?,
                db,
                connect_timeout: options.connect_timeout,
                response_timeout: options.response_timeout,
            }
        };
        // The first connection by hand: r2d2's own start-up error says only
        // that it timed out.
        let mut first = r2d2::ManageConnection::connect(&manager).map_err(config)?;
        if let Conn::Cluster(conn) = &mut first {
            // A cluster client connects to a plain server too, and then
            // fails every call; ask now. Only "no cluster here" counts: a
            // user whose ACL refuses CLUSTER INFO may still use the cluster.
            if let Err(e) = redis::cmd("CLUSTER").arg("INFO").query::<String>(conn) {
                if e.kind() == redis::ErrorKind::ClusterConnectionNotFound || e.to_string().contains("cluster support disabled") {
                    return Err(Error::Config(format!("{describe}: not a Redis Cluster ({})", describe_error(&e))));
                }
                log::debug!(target: "sessionbox::redis", "CLUSTER INFO at open: {e}");
            }
        }
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(options.connect_timeout.max(Duration::from_millis(1)))
            // Checked by use, not by a PING per checkout (a round trip per
            // call); a connection that failed is dropped (has_broken).
            .test_on_check_out(false)
            .error_handler(Box::new(LogErrors))
            .build_unchecked(manager);
        drop(first);
        let get_script = redis::Script::new(READ_SCRIPT);
        let cas_script = redis::Script::new(CAS_SCRIPT);
        let ttl_script = redis::Script::new(TTL_SCRIPT);
        Ok(RedisKv {
            pool,
            prefix: options.format.key_prefix(),
            format: options.format.value_format(),
            describe,
            get_script,
            cas_script,
            ttl_script,
            cluster: options.cluster,
            no_transactions: Default::default(),
            response_timeout: options.response_timeout,
        })
    }

    /// Runs `f` on a pooled connection. Pooled connections the server
    /// closed meanwhile (a restart, a failover) fail as dropped: each is
    /// discarded and the call goes on with the next, until one answers, the
    /// pool has been gone through (then the pool opens a new connection),
    /// or a response timeout has passed. A dropped connection cannot tell
    /// whether the server ran the command before the reply was lost; all
    /// five commands may run twice without harm to the session: a create
    /// retried may leave an unused key behind (it expires by its TTL), and
    /// a delete retried may report that there was nothing to delete.
    /// `key` is the call's Redis key, kept out of every message.
    fn with_conn<T>(&self, key: &str, f: impl Fn(&mut Conn) -> RedisResult<T>) -> std::result::Result<T, KvError> {
        let attempts = self.pool.max_size() + 1;
        let started = std::time::Instant::now();
        for attempt in 1..=attempts {
            let mut conn = self.pool.get().map_err(|e| self.other(key, format!("no connection: {e}")))?;
            match f(&mut conn) {
                Ok(value) => return Ok(value),
                Err(e) if attempt < attempts && e.is_connection_dropped() && started.elapsed() < self.response_timeout => {
                    log::debug!(target: "sessionbox::redis", "a pooled connection was closed ({}); trying another", self.redact(&e.to_string(), key));
                    *conn = Conn::Broken;
                }
                Err(e) => {
                    // Only a server's error reply (WRONGTYPE, NOAUTH, ...)
                    // leaves the stream in step; after a timeout the late
                    // reply would be read as the next call's.
                    if e.code().is_none() {
                        *conn = Conn::Broken;
                    }
                    return Err(self.error(key, &e));
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// A read on a cluster: the cluster client runs no transactions, so
    /// one script does the read's commands on the key's node, atomically,
    /// in one reply. A huge foreign value is refused by its length, without
    /// being transferred. EVALSHA: the script's text goes over the wire
    /// once per node (on its NOSCRIPT reply), not with every load.
    fn get_by_script(&self, key: &str, max_len: u64) -> std::result::Result<Option<KvEntry>, KvError> {
        let reply: Vec<Value> = self.with_conn(key, |conn| self.get_script.key(key).arg(max_len.min(i64::MAX as u64)).invoke(conn.as_like()))?;
        let parse = |e: redis::ParsingError| self.other(key, format!("an unexpected reply: {e}"));
        let mut reply = reply.into_iter();
        let status: String = redis::from_redis_value(reply.next().unwrap_or(Value::Nil)).map_err(parse)?;
        match status.as_str() {
            "none" => Ok(None),
            "wrongtype" => Err(KvError::WrongType),
            "toolarge" => Err(KvError::TooLarge),
            "ok" => {
                let pttl: i64 = redis::from_redis_value(reply.next().unwrap_or(Value::Nil)).map_err(parse)?;
                let value: Vec<u8> = redis::from_redis_value(reply.next().unwrap_or(Value::Nil)).map_err(parse)?;
                entry(value, pttl, max_len)
            }
            other => Err(self.other(key, format!("an unexpected reply to GET: {other}"))),
        }
    }

    /// The error for a failed call on `key`: the server named, the key not
    /// ([`redact_key`]).
    fn error(&self, key: &str, e: &RedisError) -> KvError {
        let why = format!("{}: {}", self.describe, self.redact(&describe_error(e), key));
        match e.kind() {
            _ if e.code() == Some("WRONGTYPE") => KvError::WrongType,
            redis::ErrorKind::AuthenticationFailed => KvError::AccessDenied(why),
            _ if matches!(e.code(), Some("NOAUTH" | "WRONGPASS" | "NOPERM")) => KvError::AccessDenied(why),
            _ => KvError::Other(why),
        }
    }

    /// `KvError::Other` for a call on `key`: the server and `why`, with
    /// no trace of the key.
    fn other(&self, key: &str, why: String) -> KvError {
        KvError::Other(format!("{}: {}", self.describe, self.redact(&why, key)))
    }

    /// `text` without `key` ([`redact_key`]).
    fn redact(&self, text: &str, key: &str) -> String {
        redact_key(text, key, self.prefix.len())
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Runs what `write` adds to a transaction only while the Redis key
    /// `key` holds `expected`; whether it ran. On a single server:
    /// `WATCH`, `GET`, then `MULTI`/`EXEC` (nil when the key changed after
    /// the `WATCH`). On a cluster, or once the server refused this user
    /// transactions, `script` with `KEYS[1] = key`, `ARGV[1] = expected`
    /// and what `args` adds.
    fn compare_and(
        &self,
        key: &str,
        expected: &[u8],
        write: &dyn Fn(&mut redis::Pipeline),
        script: &redis::Script,
        args: &dyn Fn(&mut redis::ScriptInvocation<'_>),
    ) -> std::result::Result<bool, KvError> {
        let by_script = || -> std::result::Result<bool, KvError> {
            let done: i64 = self.with_conn(key, |conn| {
                let mut invocation = script.key(key);
                invocation.arg(expected);
                args(&mut invocation);
                invocation.invoke(conn.as_like())
            })?;
            Ok(done == 1)
        };
        if self.cluster || self.no_transactions.load(std::sync::atomic::Ordering::Relaxed) {
            return by_script();
        }
        let watched = self.with_conn(key, |conn| {
            let conn = conn.as_like();
            redis::cmd("WATCH").arg(key).query::<()>(conn)?;
            let now: Option<Vec<u8>> = match redis::cmd("GET").arg(key).query(conn) {
                Ok(now) => now,
                Err(e) => {
                    let _ = redis::cmd("UNWATCH").query::<()>(conn);
                    return Err(e);
                }
            };
            if now.as_deref() != Some(expected) {
                redis::cmd("UNWATCH").query::<()>(conn)?;
                return Ok(false);
            }
            let mut pipe = redis::pipe();
            pipe.atomic();
            write(&mut pipe);
            // Nil when a write to the key came between the WATCH and EXEC.
            Ok(pipe.query::<Option<Vec<Value>>>(conn)?.is_some())
        });
        match watched {
            Err(KvError::AccessDenied(why)) if why.contains("NOPERM") => {
                log::debug!(target: "sessionbox::redis", "WATCH/MULTI refused; comparing with the script");
                self.no_transactions.store(true, std::sync::atomic::Ordering::Relaxed);
                by_script()
            }
            other => other,
        }
    }

    fn set(&self, key: &str, value: &[u8], ttl_ms: Option<u64>, condition: &str) -> std::result::Result<bool, KvError> {
        let key = self.key(key);
        self.with_conn(&key, |conn| {
            let mut cmd = redis::cmd("SET");
            cmd.arg(&key).arg(value).arg(condition);
            if let Some(ms) = ttl_ms {
                // Redis refuses a PX past i64 milliseconds; that far is never.
                cmd.arg("PX").arg(ms.clamp(1, i64::MAX as u64 / 2));
            }
            Ok(cmd.query::<Option<()>>(conn.as_like())?.is_some())
        })
    }
}

/// The Lua script a Redis Cluster store runs (by its SHA-1, `EVALSHA`) for
/// every load (a single server gets a `MULTI`/`EXEC` transaction instead,
/// unless its ACL refuses the user `MULTI`):
/// the key's value and TTL, or why there is none to give, in one atomic
/// call on the one key. Replies `{"none"}`, `{"wrongtype"}`,
/// `{"toolarge"}` (longer than ARGV[1] bytes; not transferred) or
/// `{"ok", pttl, value}`. Public for operators whose clusters restrict
/// scripts (ACLs, managed offerings): this is the one they must allow.
pub const READ_SCRIPT: &str = r#"
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then return {'none'} end
if kind ~= 'string' then return {'wrongtype'} end
if redis.call('STRLEN', KEYS[1]) > tonumber(ARGV[1]) then return {'toolarge'} end
return {'ok', redis.call('PTTL', KEYS[1]), redis.call('GET', KEYS[1])}
"#;

/// A read's entry: the value, refused past `max_len` bytes, and its TTL
/// (`PTTL`'s -1, no TTL, is none).
fn entry(value: Vec<u8>, pttl: i64, max_len: u64) -> std::result::Result<Option<KvEntry>, KvError> {
    if value.len() as u64 > max_len {
        return Err(KvError::TooLarge);
    }
    Ok(Some(KvEntry { value, ttl_ms: u64::try_from(pttl).ok() }))
}

/// What a read transaction gave.
enum Transaction {
    /// `EXEC`'s reply: the `PTTL` and the `GETRANGE` replies.
    Ran(Vec<Value>),
    /// `MULTI` itself was refused (an ACL without `@transaction`, a proxy):
    /// the two commands ran on their own and `EXEC` failed; all read.
    Refused(redis::ServerError),
}

/// `MULTI`, `PTTL key`, `GETRANGE key 0 end`, `EXEC`, written at once, and
/// their four replies. The replies are read one by one and the first that
/// does not arrive ends the call: a pipeline read through the client waits
/// out its timeout once per reply, four times for this one. A command
/// refused while queued (an ACL's `NOPERM`) is the error, read after
/// `EXEC` aborted the transaction. An `EXEC` that neither ran nor aborted
/// may leave the connection inside `MULTI`: that error carries no code, so
/// the connection is dropped, not reused.
fn read_in_transaction(conn: &mut redis::Connection, key: &str, end: u64) -> RedisResult<Transaction> {
    let mut transaction = redis::pipe();
    transaction.atomic().cmd("PTTL").arg(key).cmd("GETRANGE").arg(key).arg(0).arg(end);
    conn.send_packed_command(&transaction.get_packed_pipeline())?;
    // RESP3 push messages may come between replies; none is a reply.
    let mut reply = || loop {
        match conn.recv_response()? {
            Value::Push { .. } => continue,
            value => return RedisResult::Ok(value),
        }
    };
    let multi = reply()?;
    let (pttl, getrange) = (reply()?, reply()?);
    let exec = reply()?;
    if let Value::ServerError(e) = multi {
        return Ok(Transaction::Refused(e));
    }
    let queued = [pttl, getrange].into_iter().find_map(|r| match r {
        Value::ServerError(e) => Some(e),
        _ => None,
    });
    match exec {
        Value::Array(items) if queued.is_none() => Ok(Transaction::Ran(items)),
        Value::ServerError(e) if e.code() == "EXECABORT" => Err(queued.unwrap_or(e).into()),
        other => Err(RedisError::from((redis::ErrorKind::UnexpectedReturnType, "a read transaction's EXEC neither ran nor aborted", format!("{other:?}")))),
    }
}

/// Longest a message quotes from a reply or a server's error text.
const MAX_QUOTED: usize = 200;

/// `text` for a message about a call on `key`, a whole Redis key (the
/// name the guest gave, after `prefix_len` bytes of prefix): the key, and
/// the name within it (which ends in the session key, the user's
/// credential), cut to their first four characters and `…` wherever they
/// occur, and the whole text cut to [`MAX_QUOTED`] characters, so that
/// nothing a server, a proxy or a dumped reply echoes carries a usable key
/// (or a whole session value).
fn redact_key(text: &str, key: &str, prefix_len: usize) -> String {
    let shorten = |text: String, part: &str| match part.char_indices().nth(4) {
        Some((cut, _)) => text.replace(part, &format!("{}…", &part[..cut])),
        None => text,
    };
    let out = shorten(text.to_owned(), key);
    let out = match key.get(prefix_len..) {
        Some(name) if prefix_len > 0 => shorten(out, name),
        _ => out,
    };
    match out.char_indices().nth(MAX_QUOTED) {
        Some((cut, _)) => format!("{}…", &out[..cut]),
        None => out,
    }
}

/// A Redis error in one line, saying "timed out" for a timeout.
fn describe_error(e: &RedisError) -> String {
    if e.is_timeout() && !e.to_string().to_lowercase().contains("timed out") {
        format!("timed out ({e})")
    } else {
        e.to_string()
    }
}

impl std::fmt::Debug for RedisKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

impl KeyValue for RedisKv {
    fn format(&self) -> Format {
        self.format
    }

    fn get(&self, key: &str, max_len: u64) -> std::result::Result<Option<KvEntry>, KvError> {
        let key = self.key(key);
        if self.cluster || self.no_transactions.load(std::sync::atomic::Ordering::Relaxed) {
            return self.get_by_script(&key, max_len);
        }
        // One transaction: one write and one round trip, atomic (the TTL
        // and the value are the same write's), with no script for the
        // server to run (cheaper than EVALSHA, and open to servers whose
        // ACLs forbid scripting). GETRANGE sends at most one byte past the
        // limit, so a huge foreign value is refused without being sent whole.
        let end = max_len.min(i64::MAX as u64);
        let reply = match self.with_conn(&key, |conn| match conn {
            Conn::Single(conn) => read_in_transaction(conn, &key, end),
            other => unreachable!("a single server's pool held {}", if other.is_open() { "a cluster connection" } else { "a broken connection" }),
        })? {
            Transaction::Ran(reply) => reply,
            // A user without transactions may still run the script, as
            // every load did before transactions: from now on, it does.
            Transaction::Refused(e) if e.code() == "NOPERM" => {
                log::debug!(target: "sessionbox::redis", "MULTI refused ({}); reading with the script", self.redact(&e.to_string(), &key));
                self.no_transactions.store(true, std::sync::atomic::Ordering::Relaxed);
                return self.get_by_script(&key, max_len);
            }
            Transaction::Refused(e) => return Err(self.error(&key, &e.into())),
        };
        let unexpected = |what: String| self.other(&key, format!("an unexpected reply to a read: {what}"));
        let [pttl, value] = <[Value; 2]>::try_from(reply).map_err(|reply| unexpected(format!("{reply:?}")))?;
        let pttl: i64 = redis::from_redis_value(pttl).map_err(|e| unexpected(e.to_string()))?;
        if pttl == -2 {
            return Ok(None);
        }
        let value: Vec<u8> = match value {
            Value::ServerError(e) => return Err(self.error(&key, &e.into())),
            value => redis::from_redis_value(value).map_err(|e| unexpected(e.to_string()))?,
        };
        entry(value, pttl, max_len)
    }

    fn set_if_absent(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> std::result::Result<bool, KvError> {
        self.set(key, value, ttl_ms, "NX")
    }

    fn set_if_present(&self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> std::result::Result<bool, KvError> {
        self.set(key, value, ttl_ms, "XX")
    }

    fn delete(&self, key: &str) -> std::result::Result<bool, KvError> {
        let key = self.key(key);
        self.with_conn(&key, |conn| Ok(redis::cmd("DEL").arg(&key).query::<i64>(conn.as_like())? > 0))
    }

    fn exists(&self, key: &str) -> std::result::Result<bool, KvError> {
        let key = self.key(key);
        self.with_conn(&key, |conn| Ok(redis::cmd("EXISTS").arg(&key).query::<i64>(conn.as_like())? > 0))
    }

    /// Compared and set in one atomic step: `WATCH`, `GET`, compare, then
    /// `MULTI`/`SET`/`EXEC`, which the server refuses to run if the key
    /// changed after the `WATCH` (no script, so an ACL without scripting
    /// serves it); on a cluster, or for a user refused transactions,
    /// [`CAS_SCRIPT`].
    fn set_if_equal(&self, key: &str, expected: &[u8], value: &[u8], ttl_ms: Option<u64>) -> std::result::Result<bool, KvError> {
        let key = self.key(key);
        let ttl = ttl_ms.map(|ms| ms.clamp(1, i64::MAX as u64 / 2));
        self.compare_and(&key, expected, &|pipe| {
            pipe.cmd("SET").arg(&key).arg(value);
            if let Some(ms) = ttl {
                pipe.arg("PX").arg(ms);
            }
        }, &self.cas_script, &|script| {
            script.arg(value).arg(ttl.map(|ms| ms.to_string()).unwrap_or_default());
        })
    }

    /// `PEXPIRE` (`PERSIST` for no TTL) while the key holds `expected`, in
    /// one step as [`set_if_equal`](Self::set_if_equal) does.
    fn set_ttl(&self, key: &str, expected: &[u8], ttl_ms: Option<u64>) -> std::result::Result<bool, KvError> {
        let key = self.key(key);
        let ttl = ttl_ms.map(|ms| ms.clamp(1, i64::MAX as u64 / 2));
        self.compare_and(&key, expected, &|pipe| match ttl {
            Some(ms) => {
                pipe.cmd("PEXPIRE").arg(&key).arg(ms);
            }
            None => {
                pipe.cmd("PERSIST").arg(&key);
            }
        }, &self.ttl_script, &|script| {
            script.arg(ttl.map(|ms| ms.to_string()).unwrap_or_default());
        })
    }

    /// `SCAN` with a `MATCH` of the namespace and `prefix`: the server's
    /// cursor is the page's. A key may come twice (Redis' guarantee is at
    /// least once).
    fn keys(&self, prefix: &str, cursor: Option<&str>, count: u32) -> std::result::Result<KeyPage, KvError> {
        if self.cluster {
            return Err(KvError::Other(format!(
                "{}: listing sessions on a Redis Cluster is not supported (SCAN walks one node); run it against each node as a single server",
                self.describe
            )));
        }
        let pattern = format!("{}*", glob_escape(&self.key(prefix)));
        let from = cursor.unwrap_or("0").to_owned();
        let (next, keys): (String, Vec<Vec<u8>>) = self.with_conn(&pattern, |conn| {
            redis::cmd("SCAN").arg(&from).arg("MATCH").arg(&pattern).arg("COUNT").arg(count.max(1)).query(conn.as_like())
        })?;
        let keys = keys
            .into_iter()
            .filter_map(|k| String::from_utf8(k).ok())
            .filter_map(|k| k.strip_prefix(self.prefix.as_str()).map(str::to_owned))
            .collect();
        Ok(KeyPage { keys, cursor: (next != "0").then_some(next) })
    }
}

/// The Lua script of `set-ttl` on a cluster (or for a user refused
/// `MULTI`): sets the TTL of `KEYS[1]` to `ARGV[2]` milliseconds (none when
/// empty) only if it holds exactly `ARGV[1]`; replies 1 when set, 0 when
/// not.
pub const TTL_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
"#;

/// `text` with the glob characters of `SCAN MATCH` escaped.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The Lua script of `set-if-equal` on a cluster (or for a user refused
/// `MULTI`): sets `KEYS[1]` to `ARGV[2]` (with a TTL of `ARGV[3]`
/// milliseconds, or none when empty) only if it holds exactly `ARGV[1]`;
/// replies 1 when set, 0 when not.
pub const CAS_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let mut options = RedisOptions::new("redis://user:hunter2@127.0.0.1:6379/0");
        options.password = Some("hunter3".into());
        let shown = format!("{options:?} {}", options.describe());
        assert!(!shown.contains("hunter"), "{shown}");
        assert!(shown.contains("redis://***@127.0.0.1:6379/0"), "{shown}");
        for url in ["redis+unix:///run/r.sock?pass=hunter4", "unix:///run/r.sock?user=u&pass=hunter5", "redis://127.0.0.1/0?password=hunter6"] {
            let shown = RedisOptions::new(url).describe();
            assert!(!shown.contains("hunter") && shown.ends_with("?***"), "{shown}");
        }
        // A `?` in a password, an `@` in a query: nothing of either shows.
        for url in ["redis://user:hun?ter7@127.0.0.1:1/0", "unix:///r.sock?user=a@b&pass=hunter8"] {
            let shown = RedisOptions::new(url).describe();
            assert!(!shown.contains("hun") && !shown.contains("user"), "{shown}");
        }
        assert_eq!(RedisOptions::new("redis://user:pw@host:1/0?db=3").describe(), "Redis at redis://***@host:1/0?***");
    }

    #[test]
    fn keys_never_show_in_quoted_text() {
        let key = "sessionbox:sessionid0qcgz2mabcdefghijklmnopqrstuvwxy";
        let name = &key["sessionbox:".len()..];
        for text in [format!("ERR no such key {key} here"), format!("ERR {name}"), format!("{key}{key} and {name}")] {
            let shown = redact_key(&text, key, "sessionbox:".len());
            assert!(!shown.contains("0qcgz2m") && !shown.contains(name), "{shown}");
            assert!(shown.contains("sess…"), "{shown}");
        }
        let long = "x".repeat(5000);
        assert_eq!(redact_key(&long, key, 11).chars().count(), MAX_QUOTED + 1);
        assert_eq!(redact_key("timed out", key, 11), "timed out");
        // A key too short to shorten is left as it is (never a session's).
        assert_eq!(redact_key("ab", "ab", 0), "ab");
    }

    #[test]
    fn django_keys_follow_its_key_function() {
        assert_eq!(RedisFormat::django().key_prefix(), ":1:");
        assert_eq!(RedisFormat::Django { key_prefix: "app".into(), version: 7 }.key_prefix(), "app:7:");
        assert_eq!(RedisFormat::signed().key_prefix(), "sessionbox:");
    }
}
