//! sessionbox-guest: Django's file session store logic.
//!
//! Built for `wasm32-wasip2` this crate is the sessionbox component: it
//! exports the `sessionbox:store/sessions` interface (settings passed by the
//! host) and `sessionbox:store/bound-sessions` (settings from its
//! environment, for compositions; see `wit/`), and stores sessions through
//! the directory its host preopens. Built natively it is a
//! plain library: the same [`SessionStore`] over any [`Dir`] (with the
//! `native` feature, over cap-std), plus the codec, JSON and expiry pieces the
//! host library reuses.
//!
//! ```
//! use sessionbox_guest::codec::Codec;
//! let codec = Codec::new("test-secret", &[], "django.contrib.sessions.SessionStore");
//! assert_eq!(
//!     codec.encode(r#"{"a":1}"#, 1_700_000_000),
//!     "eyJhIjoxfQ:1r31eq:VDoz3q_CPuIfX082QS3lXvNvB9Hqf_apspxKtUHkO_o"
//! );
//! ```

pub mod base62;
pub mod codec;
pub mod cookie;
pub mod dir;
mod error;
pub mod expiry;
#[cfg(all(not(target_os = "wasi"), any(test, feature = "fuzz")))]
pub mod fuzz;
pub mod iso8601;
pub mod json;
pub mod key;
pub mod pickle;
mod settings;
mod store;
pub mod system;
pub mod time;

#[cfg(any(feature = "native", test))]
pub mod native;
#[cfg(target_os = "wasi")]
mod wasi;

pub use dir::{Dir, File, Metadata, NotAFile};
pub use system::System;
pub use error::{redacted_key, Error, INVALID_KEY};
pub use settings::{Durability, Settings, DEFAULT_COOKIE_AGE, DEFAULT_FILE_PREFIX, DEFAULT_KEY_SALT, DEFAULT_MAX_SESSION_SIZE};
pub use store::{
    sweep_ranges, Age, Change, Core, Files, Format, Imported, KeyPage, KeyValue, Kv, KvEntry, KvError, Loaded, Resigned, ScanBatch, ScanReport, SessionInfo,
    SessionStore, Storage, Stored, SweepBatch, SweepRange, SweepReport, Unread,
    DJANGO_CACHED_DB_KEY_PREFIX, DJANGO_CACHE_KEY_PREFIX, TEMP_FILE_MAX_AGE_SECS,
};
pub use time::Time;
