//! Django's `db` session engine on PostgreSQL: the `django_session` table
//! of the database Django uses, over pooled connections.
//!
//! Every call is bounded: a new connection waits at most
//! [`PostgresOptions::connect_timeout`], a statement at most
//! [`PostgresOptions::response_timeout`], measured on this side, so a
//! server that stops answering (stopped, partitioned) fails the call
//! instead of hanging it; the connection is then dropped. `expire_date` is
//! a `timestamp with time zone`, as Django creates it with `USE_TZ = True`
//! (a `timestamp` without one is read and written as UTC).
//!
//! TLS (feature `postgres-tls`, on by default) follows the URL's `sslmode`:
//! `disable`; `prefer` (the default), as libpq's: TLS when the server
//! offers it, its certificate not checked (a stock Debian cluster's is
//! self-signed), so it keeps out listeners but not an impostor; `require`,
//! as libpq's `verify-full`: TLS, the certificate verified against the
//! system's roots or [`PostgresOptions::ca_file`] and the host name. With
//! `ca_file` set, `prefer` verifies too. Without the feature, connections
//! are plain TCP or a Unix socket (`host=/run/postgresql`), and
//! `sslmode=require` is an error.

use super::{expire_date, latest, quoted_table, ttl_ms, Idle, DJANGO_SESSION_TABLE};
use crate::error::{Error, Result};
use crate::kv::{Format, KeyPage, KeyValue, KvEntry, KvError};
use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};
use tokio_postgres::{Client, NoTls, Statement};

/// Where a PostgreSQL-backed store keeps its sessions, and how it reaches
/// them. The password never appears in `Debug` output, logs or errors.
#[derive(Clone)]
pub struct PostgresOptions {
    /// The server and database: `postgres://user[:password]@host[:port]/db`
    /// or `host=… user=… dbname=…` (libpq's forms).
    pub url: String,
    /// The password, if not in `url`; an empty one counts as none.
    pub password: Option<String>,
    /// The session table (default `django_session`; a custom session
    /// model's `db_table`, optionally `schema.table`).
    pub table: String,
    /// Create the table with Django's DDL when it is missing (default:
    /// `false`, and a missing table is an error that says to run Django's
    /// `migrate`).
    pub create_table: bool,
    /// Longest wait for a new connection, authentication included
    /// (default 2 s).
    pub connect_timeout: Duration,
    /// Longest wait for one statement's answer (default 2 s). A write that
    /// timed out may still have been applied.
    pub response_timeout: Duration,
    /// Most idle connections kept open (default 16).
    pub pool_size: usize,
    /// PEM certificates of the authorities whose server certificates TLS
    /// accepts, instead of the system's roots (a private CA's `root.crt`,
    /// libpq's `sslrootcert`).
    pub ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("url", &redact(&self.url))
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("table", &self.table)
            .field("create_table", &self.create_table)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("pool_size", &self.pool_size)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl PostgresOptions {
    /// The server and database at `url`, Django's table, default timeouts.
    pub fn new(url: impl Into<String>) -> PostgresOptions {
        PostgresOptions {
            url: url.into(),
            password: None,
            table: DJANGO_SESSION_TABLE.to_owned(),
            create_table: false,
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
            pool_size: 16,
            ca_file: None,
        }
    }

    /// Takes the password from the environment variable `var`.
    pub fn password_from_env(mut self, var: &str) -> Result<PostgresOptions> {
        self.password = Some(crate::kv::password_from_env("PostgreSQL", var)?);
        Ok(self)
    }

    /// Takes the password from the file at `path` (its first line, which
    /// must not be empty).
    pub fn password_from_file(mut self, path: impl AsRef<Path>) -> Result<PostgresOptions> {
        self.password = Some(crate::kv::password_from_file("PostgreSQL", path.as_ref())?);
        Ok(self)
    }

    /// For messages: "PostgreSQL at postgres://***@host/db, table NAME".
    pub fn describe(&self) -> String {
        format!("PostgreSQL at {}, table {}", redact(&self.url), self.table)
    }
}

/// Where `url` points, rebuilt from what the client parses out of it (user,
/// hosts, ports, database), so no spelling of a password (in the user
/// information, a `password` query parameter, a quoted or spaced
/// `password = …` pair) can reach a message.
fn redact(url: &str) -> String {
    let Ok(config) = tokio_postgres::Config::from_str(url) else {
        return "an address that does not parse".to_owned();
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let host = match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(i).or(config.get_ports().first()) {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        })
        .collect();
    let user = config.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    format!("postgres://{user}{}/{}", hosts.join(","), config.get_dbname().unwrap_or_default())
}

/// One pooled connection with its prepared statements.
struct Conn {
    client: Client,
    get: Statement,
    insert: Statement,
    update: Statement,
    delete: Statement,
    exists: Statement,
    clear_expired: Statement,
    update_if_equal: Statement,
    retime: Statement,
    keys: Statement,
}

struct Sql {
    common: super::Statements,
    clear_expired: String,
    create: [String; 3],
}

impl Sql {
    fn new(t: &str, index: &str) -> Sql {
        Sql {
            common: super::Statements::new(t, '$'),
            clear_expired: format!(
                "DELETE FROM {t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {t} WHERE expire_date < $1 LIMIT {}))",
                super::CLEAR_BATCH
            ),
            // Django's migration sessions.0001 on PostgreSQL (`sqlmigrate`).
            create: [
                format!(
                    "CREATE TABLE IF NOT EXISTS {t} (\"session_key\" varchar(40) NOT NULL PRIMARY KEY, \
                     \"session_data\" text NOT NULL, \"expire_date\" timestamp with time zone NOT NULL)"
                ),
                format!("CREATE INDEX IF NOT EXISTS \"{index}\" ON {t} (\"expire_date\")"),
                format!("CREATE INDEX IF NOT EXISTS \"{index}_key_like\" ON {t} (\"session_key\" varchar_pattern_ops)"),
            ],
        }
    }
}

/// Sessions in a PostgreSQL table, as Django's `db` backend keeps them.
pub struct PostgresKv {
    options: PostgresOptions,
    config: tokio_postgres::Config,
    tls: Tls,
    sql: Sql,
    idle: Idle<Conn>,
    /// Drives the connections; callers block on their own answers, so a
    /// call works from any thread, a tokio worker's included.
    runtime: Option<tokio::runtime::Runtime>,
    /// Connections open, idle or in use: at most `pool_size`.
    open: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for PostgresKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresKv").field("options", &self.options).finish_non_exhaustive()
    }
}

impl Drop for PostgresKv {
    fn drop(&mut self) {
        // Allowed from any context, async included.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

enum Failed {
    TimedOut,
    Gone,
    Db(tokio_postgres::Error),
}

fn describe(doing: &str, e: Failed, timeout: Duration) -> KvError {
    match e {
        Failed::TimedOut => KvError::Other(format!("PostgreSQL {doing}: no answer within {timeout:?}")),
        Failed::Gone => KvError::Other(format!("PostgreSQL {doing}: the client failed")),
        Failed::Db(e) => {
            let code = e.code().map(|c| c.code().to_owned());
            let text = match e.as_db_error() {
                Some(db) => db.message().to_owned(),
                // "error connecting to server" says why only in its source.
                None => {
                    let mut text = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(cause) = source {
                        text = format!("{text}: {cause}");
                        source = cause.source();
                    }
                    text
                }
            };
            match code.as_deref() {
                // invalid_password, invalid_authorization_specification,
                // insufficient_privilege
                Some("28P01" | "28000" | "42501") => KvError::AccessDenied(format!("PostgreSQL {doing}: {text}")),
                _ => KvError::Other(format!("PostgreSQL {doing}: {text}")),
            }
        }
    }
}

impl PostgresKv {
    /// Connects once and checks the table (creating it with
    /// [`PostgresOptions::create_table`]), so an unreachable server, a
    /// wrong password or a missing `migrate` is an error here.
    pub fn connect(options: &PostgresOptions) -> Result<PostgresKv> {
        let table = quoted_table(&options.table, true)?;
        let mut config = tokio_postgres::Config::from_str(&options.url)
            .map_err(|e| Error::Config(format!("{}: not a PostgreSQL address: {e}", options.describe())))?;
        if let Some(password) = options.password.as_deref().filter(|p| !p.is_empty()) {
            config.password(password);
        }
        config.connect_timeout(options.connect_timeout);
        config.keepalives(true);
        // A connection a firewall dropped while idle is found within a minute.
        config.keepalives_idle(Duration::from_secs(30));
        config.application_name("sessionbox");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sessionbox-postgres")
            .enable_all()
            .build()
            .map_err(|e| Error::Io(format!("starting the PostgreSQL client's thread: {e}")))?;
        let index = if options.table == DJANGO_SESSION_TABLE {
            "django_session_expire_date_a5c62663".to_owned()
        } else {
            format!("{}_expire_date", options.table.replace('.', "_"))
        };
        let tls = Tls::new(&config, options)?;
        let kv = PostgresKv { options: options.clone(), config, tls, sql: Sql::new(&table, &index), idle: Idle::new(options.pool_size.max(1)), runtime: Some(runtime), open: std::sync::atomic::AtomicUsize::new(0) };

        // The table, before preparing statements on it.
        let (config, tls) = (kv.config.clone(), kv.tls.clone());
        let (probe, create, create_table) = (kv.sql.common.probe.clone(), kv.sql.create.clone(), options.create_table);
        let budget = options.connect_timeout + options.response_timeout * 4;
        let checked = kv.run(budget, async move {
            let client = open(&config, &tls).await?;
            if let Err(e) = client.prepare(&probe).await {
                let missing = e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE);
                if !(missing && create_table) {
                    return Ok(Some(missing));
                }
                for ddl in &create {
                    client.batch_execute(ddl).await?;
                }
            }
            Ok(None)
        });
        match checked {
            Ok(None) => {}
            Ok(Some(true)) => {
                return Err(Error::Config(format!(
                    "{}: the table does not exist; run Django's `python manage.py migrate` (or create it with Django's DDL: create_table, --create-table)",
                    options.describe()
                )))
            }
            Ok(Some(false)) => return Err(Error::Config(format!("{}: the table is not Django's session table", options.describe()))),
            Err(e) => {
                return Err(match describe("connect", e, budget) {
                    KvError::AccessDenied(why) => Error::Config(format!("{}: access denied: {why}", options.describe())),
                    other => Error::Config(format!("{}: {other}", options.describe())),
                })
            }
        }
        let (conn, _) = kv.conn_new().map_err(|e| Error::Config(format!("{}: {e}", options.describe())))?;
        kv.idle.give(conn);
        Ok(kv)
    }

    /// Runs `fut` on the client's runtime and waits for it, at most
    /// `timeout` (measured there, and once more here as a backstop).
    fn run<T: Send + 'static>(
        &self,
        timeout: Duration,
        fut: impl Future<Output = std::result::Result<T, tokio_postgres::Error>> + Send + 'static,
    ) -> std::result::Result<T, Failed> {
        let Some(runtime) = &self.runtime else { return Err(Failed::TimedOut) };
        let (send, answer) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let result = match tokio::time::timeout(timeout, fut).await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(e)) => Err(Failed::Db(e)),
                Err(_) => Err(Failed::TimedOut),
            };
            let _ = send.send(result);
        });
        match answer.recv_timeout(timeout + Duration::from_secs(1)) {
            Ok(result) => result,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(Failed::TimedOut),
            // The task ended without answering: it panicked.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(Failed::Gone),
        }
    }

    fn new_conn(&self) -> std::result::Result<Conn, KvError> {
        let (config, tls) = (self.config.clone(), self.tls.clone());
        let sql = [
            self.sql.common.get.clone(),
            self.sql.common.insert.clone(),
            self.sql.common.update.clone(),
            self.sql.common.delete.clone(),
            self.sql.common.exists.clone(),
            self.sql.clear_expired.clone(),
            self.sql.common.update_if_equal.clone(),
            self.sql.common.retime.clone(),
            self.sql.common.keys.clone(),
        ];
        let budget = self.options.connect_timeout + self.options.response_timeout;
        self.run(budget, async move {
            let client = open(&config, &tls).await?;
            let mut prepared = Vec::with_capacity(sql.len());
            for text in &sql {
                prepared.push(client.prepare(text).await?);
            }
            let mut p = prepared.into_iter();
            let mut next = || p.next().expect("one statement per text");
            Ok(Conn {
                get: next(),
                insert: next(),
                update: next(),
                delete: next(),
                exists: next(),
                clear_expired: next(),
                update_if_equal: next(),
                retime: next(),
                keys: next(),
                client,
            })
        })
        .map_err(|e| describe("connect", e, budget))
    }

    /// Runs one statement on a pooled connection (a new one if none is
    /// idle); a connection that failed or timed out is dropped.
    ///
    /// `retry`: a statement that may run twice (all but the insert) runs
    /// again, once, on a new connection when a pooled one turns out closed
    /// (the server restarted, a firewall dropped it while idle).
    fn with<T: Send + 'static, F, Fut>(&self, doing: &str, retry: bool, f: F) -> std::result::Result<T, KvError>
    where
        F: Fn(std::sync::Arc<Conn>) -> Fut,
        Fut: Future<Output = std::result::Result<T, tokio_postgres::Error>> + Send + 'static,
    {
        let (conn, pooled) = self.conn()?;
        match self.run_on(conn, &f) {
            Err(Failed::Db(e)) if retry && pooled && e.is_closed() => {
                let (conn, _) = self.conn_new()?;
                self.run_on(conn, &f).map_err(|e| describe(doing, e, self.options.response_timeout))
            }
            other => other.map_err(|e| describe(doing, e, self.options.response_timeout)),
        }
    }

    /// Runs `f` on `conn`, which goes back to the pool if it worked and is
    /// closed otherwise.
    fn run_on<T: Send + 'static, F, Fut>(&self, conn: Conn, f: &F) -> std::result::Result<T, Failed>
    where
        F: Fn(std::sync::Arc<Conn>) -> Fut,
        Fut: Future<Output = std::result::Result<T, tokio_postgres::Error>> + Send + 'static,
    {
        let conn = std::sync::Arc::new(conn);
        let result = self.run(self.options.response_timeout, f(conn.clone()));
        match (result.is_ok(), std::sync::Arc::try_unwrap(conn)) {
            (true, Ok(conn)) => self.idle.give(conn),
            _ => {
                self.open.fetch_sub(1, Ordering::Relaxed);
            }
        }
        result
    }

    /// An idle connection (`true`), or a new one.
    fn conn(&self) -> std::result::Result<(Conn, bool), KvError> {
        match self.idle.take() {
            Some(conn) if !conn.client.is_closed() => Ok((conn, true)),
            Some(closed) => {
                drop(closed);
                self.open.fetch_sub(1, Ordering::Relaxed);
                self.conn_new()
            }
            None => self.conn_new(),
        }
    }

    /// A new connection, if fewer than `pool_size` are open (the server's
    /// `max_connections` is shared with Django); else the first one given
    /// back within `connect_timeout`.
    fn conn_new(&self) -> std::result::Result<(Conn, bool), KvError> {
        let cap = self.options.pool_size.max(1);
        let deadline = std::time::Instant::now() + self.options.connect_timeout;
        loop {
            let open = self.open.load(Ordering::Relaxed);
            if open < cap {
                if self.open.compare_exchange(open, open + 1, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
                    return match self.new_conn() {
                        Ok(conn) => Ok((conn, false)),
                        Err(e) => {
                            self.open.fetch_sub(1, Ordering::Relaxed);
                            Err(e)
                        }
                    };
                }
                continue;
            }
            if let Some(conn) = self.idle.take() {
                if !conn.client.is_closed() {
                    return Ok((conn, true));
                }
                self.open.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            if std::time::Instant::now() >= deadline {
                return Err(KvError::Other(format!("PostgreSQL: all {cap} connections stayed busy for {:?}", self.options.connect_timeout)));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// How connections are made: plain, or TLS as `sslmode` asks.
#[derive(Clone)]
enum Tls {
    Plain,
    #[cfg(feature = "postgres-tls")]
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

impl Tls {
    fn new(config: &tokio_postgres::Config, options: &PostgresOptions) -> Result<Tls> {
        use tokio_postgres::config::SslMode;
        if config.get_ssl_mode() == SslMode::Disable {
            return Ok(Tls::Plain);
        }
        #[cfg(feature = "postgres-tls")]
        {
            let fail = |why: String| Error::Config(format!("{}: TLS: {why}", options.describe()));
            let mut roots = rustls::RootCertStore::empty();
            match &options.ca_file {
                Some(path) => {
                    use rustls::pki_types::pem::PemObject;
                    let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                        .map_err(|e| fail(format!("reading the CA file {}: {e}", path.display())))?;
                    for cert in certs {
                        let cert = cert.map_err(|e| fail(format!("reading the CA file {}: {e}", path.display())))?;
                        roots.add(cert).map_err(|e| fail(format!("a certificate in {}: {e}", path.display())))?;
                    }
                    if roots.is_empty() {
                        return Err(fail(format!("the CA file {} holds no certificate", path.display())));
                    }
                }
                None => {
                    for cert in rustls_native_certs::load_native_certs().certs {
                        let _ = roots.add(cert);
                    }
                }
            }
            // ring builds with a C compiler alone (aws-lc-rs, rustls's
            // default, wants more); its lack of post-quantum key exchange is
            // what rustls's deprecation note is about.
            #[allow(deprecated)]
            let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
            let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| fail(e.to_string()))?;
            let verify = options.ca_file.is_some() || config.get_ssl_mode() == SslMode::Require;
            let tls = match verify {
                true => builder.with_root_certificates(roots).with_no_client_auth(),
                false => builder.dangerous().with_custom_certificate_verifier(std::sync::Arc::new(Unchecked(provider))).with_no_client_auth(),
            };
            Ok(Tls::Rustls(tokio_postgres_rustls::MakeRustlsConnect::new(tls)))
        }
        #[cfg(not(feature = "postgres-tls"))]
        match config.get_ssl_mode() {
            SslMode::Require => Err(Error::Config(format!(
                "{}: sslmode=require, but this build has no TLS (the `postgres-tls` feature)",
                options.describe()
            ))),
            _ => Ok(Tls::Plain),
        }
    }
}

/// `sslmode=prefer` without a CA: any certificate (libpq's `prefer`), the
/// handshake's signatures still checked.
#[cfg(feature = "postgres-tls")]
#[derive(Debug)]
struct Unchecked(std::sync::Arc<rustls::crypto::CryptoProvider>);

#[cfg(feature = "postgres-tls")]
impl rustls::client::danger::ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

async fn open(config: &tokio_postgres::Config, tls: &Tls) -> std::result::Result<Client, tokio_postgres::Error> {
    // The connection task ends when the client is dropped or the server
    // goes; the calls on the client then fail and the pool drops it.
    match tls {
        Tls::Plain => {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(connection);
            Ok(client)
        }
        #[cfg(feature = "postgres-tls")]
        Tls::Rustls(tls) => {
            let (client, connection) = config.connect(tls.clone()).await?;
            tokio::spawn(connection);
            Ok(client)
        }
    }
}

impl KeyValue for PostgresKv {
    fn format(&self) -> Format {
        Format::DjangoDb
    }

    fn get(&self, key: &str, max_len: u64) -> std::result::Result<Option<KvEntry>, KvError> {
        let now = SystemTime::now();
        let key = key.to_owned();
        let row = self.with("read", true, move |c| {
            let key = key.clone();
            async move {
                let row = c.client.query_opt(&c.get, &[&key, &now]).await?;
                // A column of another type (a table that is not Django's,
                // an 'infinity' date) is an error, not a panic.
                row.map(|row| Ok((row.try_get::<_, String>(0)?, row.try_get::<_, SystemTime>(1)?))).transpose()
            }
        })?;
        let Some((data, expire)) = row else { return Ok(None) };
        if data.len() as u64 > max_len {
            return Err(KvError::TooLarge);
        }
        Ok(Some(KvEntry { value: data.into_bytes(), ttl_ms: (expire < latest()).then(|| ttl_ms(now, expire)) }))
    }

    /// Never run twice: a first insert the server applied would make the
    /// second find the key taken.
    fn set_if_absent(&self, key: &str, value: &[u8], ttl: Option<u64>) -> std::result::Result<bool, KvError> {
        let (key, data, now) = (key.to_owned(), text(value)?, SystemTime::now());
        let expire = expire_date(now, ttl);
        let changed = self.with("insert", false, move |c| {
            let (key, data) = (key.clone(), data.clone());
            async move { c.client.execute(&c.insert, &[&key, &data, &expire, &now]).await }
        })?;
        Ok(changed == 1)
    }

    fn set_if_present(&self, key: &str, value: &[u8], ttl: Option<u64>) -> std::result::Result<bool, KvError> {
        let (key, data, now) = (key.to_owned(), text(value)?, SystemTime::now());
        let expire = expire_date(now, ttl);
        let changed = self.with("update", true, move |c| {
            let (key, data) = (key.clone(), data.clone());
            async move { c.client.execute(&c.update, &[&key, &data, &expire, &now]).await }
        })?;
        Ok(changed == 1)
    }

    fn delete(&self, key: &str) -> std::result::Result<bool, KvError> {
        let key = key.to_owned();
        let deleted = self.with("delete", true, move |c| {
            let key = key.clone();
            async move { c.client.execute(&c.delete, &[&key]).await }
        })?;
        Ok(deleted > 0)
    }

    fn exists(&self, key: &str) -> std::result::Result<bool, KvError> {
        let (key, now) = (key.to_owned(), SystemTime::now());
        self.with("read", true, move |c| {
            let key = key.clone();
            async move { Ok(c.client.query_opt(&c.exists, &[&key, &now]).await?.is_some()) }
        })
    }

    fn set_if_equal(&self, key: &str, expected: &[u8], value: &[u8], ttl: Option<u64>) -> std::result::Result<bool, KvError> {
        let (key, data, expected, now) = (key.to_owned(), text(value)?, text(expected)?, SystemTime::now());
        let expire = expire_date(now, ttl);
        let changed = self.with("update", true, move |c| {
            let (key, data, expected) = (key.clone(), data.clone(), expected.clone());
            async move { c.client.execute(&c.update_if_equal, &[&key, &data, &expire, &now, &expected]).await }
        })?;
        Ok(changed == 1)
    }

    fn set_ttl(&self, key: &str, expected: &[u8], ttl: Option<u64>) -> std::result::Result<bool, KvError> {
        let (key, expected, now) = (key.to_owned(), text(expected)?, SystemTime::now());
        let expire = expire_date(now, ttl);
        let changed = self.with("update", true, move |c| {
            let (key, expected) = (key.clone(), expected.clone());
            async move { c.client.execute(&c.retime, &[&key, &expire, &now, &expected]).await }
        })?;
        Ok(changed == 1)
    }

    fn keys(&self, prefix: &str, cursor: Option<&str>, count: u32) -> std::result::Result<KeyPage, KvError> {
        let (after, limit) = (cursor.unwrap_or("").to_owned(), i64::from(count.max(1)));
        let rows = self.with("list", true, move |c| {
            let after = after.clone();
            async move {
                let rows = c.client.query(&c.keys, &[&after, &limit]).await?;
                rows.iter().map(|row| row.try_get::<_, String>(0)).collect::<std::result::Result<Vec<String>, _>>()
            }
        })?;
        Ok(super::key_page(rows, prefix, count))
    }

    /// In batches of [`CLEAR_BATCH`](super::CLEAR_BATCH) rows, each its own
    /// statement within the response timeout: a table never cleared goes
    /// in many short statements rather than one that times out.
    fn clear_expired(&self) -> std::result::Result<u64, KvError> {
        let now = SystemTime::now();
        let mut total = 0;
        loop {
            let deleted = self.with("clear_expired", true, move |c| async move { c.client.execute(&c.clear_expired, &[&now]).await })?;
            total += deleted;
            if deleted < super::CLEAR_BATCH {
                return Ok(total);
            }
        }
    }

    fn drops_expired(&self) -> bool {
        false
    }
}

/// The component's value as the text column holds it (signed text is
/// ASCII).
fn text(value: &[u8]) -> std::result::Result<String, KvError> {
    String::from_utf8(value.to_vec()).map_err(|_| KvError::Other("a session value is not text".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact("postgres://app:s3cret@db:5432/site"), "postgres://app@db:5432/site");
        assert_eq!(redact("postgresql://db/site?sslmode=disable"), "postgres://db:5432/site");
        assert_eq!(redact("host=db user=app password=s3cret dbname=site"), "postgres://app@db/site");
        for hidden in ["postgres://app@db/site?password=s3cret", "host=db password = s3cret", "host=db password='s3cret x'", "host=db password=\"s3cret\""] {
            assert!(!redact(hidden).contains("s3cret"), "{hidden}: {}", redact(hidden));
        }
        let mut options = PostgresOptions::new("postgres://app:s3cret@db/site");
        options.password = Some("other".into());
        let shown = format!("{options:?} {}", options.describe());
        assert!(!shown.contains("s3cret") && !shown.contains("other"), "{shown}");
    }
}
