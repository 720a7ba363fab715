//! sessionbox: Django's file-based session store, run as a sandboxed WASI
//! 0.2 component inside wasmtime.
//!
//! The component (built from `guest/`) holds all session logic; this crate
//! embeds it, gives it exactly one directory, and offers a [`Store`] (the raw
//! operations) and a Django-style [`Session`] on top. Files are
//! byte-compatible with Django's `django.contrib.sessions.backends.file`.
//! [`plugin`] gives other components sessions through an import, backed by
//! a `Store` the embedder chooses.
//!
//! ```
//! use sessionbox::{Settings, Store, Loaded};
//! use serde_json::json;
//!
//! # let tmp = tempfile::tempdir().unwrap();
//! # let sessions = tmp.path().join("sessions");
//! let store = Store::open(&sessions, Settings::new("a long random secret"))?;
//! let data = json!({"_auth_user_id": "42"}).as_object().cloned().unwrap_or_default();
//! let key = store.create(&data)?;
//! match store.load(&key)? {
//!     Loaded::Found { data: found, expires_at } => {
//!         assert_eq!(found, data);
//!         assert!(expires_at > std::time::SystemTime::now()); // two weeks on
//!     }
//!     other => panic!("no session: {other:?}"),
//! }
//! store.delete(&key)?;
//! # Ok::<(), sessionbox::Error>(())
//! ```

// Leaves first: a module uses only those above it.
mod error;
mod data;
mod expiry;
mod bindings;
mod state;
mod wasi;
pub mod kv;
mod compile_cache;
mod runtime;
mod instance;
mod directory;
mod store;
mod session;
pub mod plugin;

pub use compile_cache::cache_dir;
pub use error::{Error, Result};
pub use expiry::{latest_expiry, Expiry};
/// The session-data key Django keeps a session's own expiry under (what
/// [`Session::set_expiry`] writes).
pub use sessionbox_guest::expiry::EXPIRY_KEY;
/// Django's `salted_hmac` (SHA-256): the HMAC keyed with
/// `SHA256(key_salt + secret)`, ready to be given the value.
pub use sessionbox_guest::codec::salted_hmac;
/// How every error message shows a session key: its first four characters
/// and `…` (a key is the user's credential, and error text ends up in logs).
pub use sessionbox_guest::redacted_key;
pub use session::{Session, TEST_COOKIE_NAME, TEST_COOKIE_VALUE};
pub use sessionbox_guest::{Durability, Settings, DEFAULT_COOKIE_AGE, DEFAULT_FILE_PREFIX, DEFAULT_KEY_SALT, DEFAULT_MAX_SESSION_SIZE};
#[cfg(feature = "redis")]
pub use kv::redis::{RedisFormat, RedisOptions};
pub use data::{parse_data, Data, Loaded, MAX_DATA_DEPTH};
/// A moment as the component reports it: seconds and nanoseconds since the Unix epoch.
pub use sessionbox_guest::Time;
pub use store::{
    Change, Imported, MigrateReport, Options, ResignReport, Resigned, Revoked, ScanReport, SecretUse, SecretsReport, SessionInfo, Store, SweepBatch, SweepReport,
};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use store::DbOptions;

/// Session keys: which strings name a session, as Django's `SessionBase`
/// accepts them, and the length of the keys a store creates.
pub mod key {
    pub use sessionbox_guest::key::{has_valid_chars, is_valid, KEY_LEN, MIN_KEY_LEN};
}

/// Session data as JSON text the way Python's `json` writes and reads it
/// (what [`Store::load_json`] returns and the `*_json` methods take).
pub mod json {
    pub use sessionbox_guest::json::{canonical_object, has_non_finite, ParseError};
}

/// The embedded component's bytes (the `.wasm` the build produced), for
/// running it in another WASI 0.2 host.
pub fn guest_component() -> &'static [u8] {
    compile_cache::GUEST.wasm
}

/// The embedded key-value flavour of the component (world
/// `session-store-kv`: the same exports over a `sessionbox:store/kv`
/// import instead of `wasi:filesystem`), for composing it with another
/// provider of that import.
pub fn guest_kv_component() -> &'static [u8] {
    compile_cache::GUEST_KV.wasm
}

/// The crate page's example (host/README.md, the package's README).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;

/// docs/redis.md's example.
#[cfg(doctest)]
#[doc = include_str!("../../docs/redis.md")]
struct RedisDocDoctests;

/// docs/engines.md's examples.
#[cfg(doctest)]
#[doc = include_str!("../../docs/engines.md")]
struct EnginesDocDoctests;

/// docs/plugins.md's example.
#[cfg(doctest)]
#[doc = include_str!("../../docs/plugins.md")]
struct PluginsDocDoctests;
