//! [`TowerSessionsStore`]: tower-sessions' `SessionStore` over a sessionbox
//! [`Store`], for apps already on tower-sessions.
//!
//! Each session is a file in Django's format, so Django's `clearsessions`
//! and the `sessionbox` CLI work on it. The id becomes the session key as 32
//! lowercase hex digits, and the record's expiry is stored as Django's
//! `_session_expiry` (an ISO 8601 moment) and read back from it.
//!
//! tower-sessions puts its own id in its own cookie format, which Django
//! cannot read: this store cannot share a login with a Django app. For that,
//! use [`SessionLayer`](crate::SessionLayer), which speaks Django's cookie.

use async_trait::async_trait;
use sessionbox::{Data, Error as StoreError, Expiry, Loaded, Store, EXPIRY_KEY};
use std::time::SystemTime;
use time::OffsetDateTime;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, ExpiredDeletion, SessionStore};

/// A tower-sessions store in a sessionbox [`Store`].
///
/// ```
/// use sessionbox::{Settings, Store};
/// use sessionbox_tower::TowerSessionsStore;
/// use tower_sessions_core::ExpiredDeletion;
///
/// # let tmp = tempfile::tempdir().unwrap();
/// let store = TowerSessionsStore::new(Store::open(tmp.path().join("s"), Settings::new("secret"))?);
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// // Sweep expired sessions every minute, in the background.
/// let deletion = tokio::spawn(store.clone().continuously_delete_expired(tokio::time::Duration::from_secs(60)));
/// # deletion.abort();
/// # });
/// # Ok::<(), sessionbox::Error>(())
/// ```
///
/// Saving a session that was deleted meanwhile (a logout in a concurrent
/// request) does not bring it back: the save is dropped with a warning, the
/// response goes out as it is, and the next request with that cookie gets a
/// fresh session. (tower-sessions would turn an error into a `500`.) Unlike
/// Django (Trac #37249), no delete is undone, whenever it lands: the host's
/// rename replaces only an existing session file.
#[derive(Clone, Debug)]
pub struct TowerSessionsStore {
    store: Store,
}

impl TowerSessionsStore {
    /// Sessions in `store`.
    pub fn new(store: Store) -> TowerSessionsStore {
        TowerSessionsStore { store }
    }

    /// The sessionbox store underneath.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// The session key for a tower-sessions id: 32 lowercase hex digits, a
/// valid Django key.
pub fn key_for(id: &Id) -> String {
    format!("{:032x}", id.0 as u128)
}

fn backend(e: StoreError) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// The record's data as the file stores it: keys sorted (a `HashMap` has no
/// order of its own, and files should not change for nothing) and the
/// expiry as `_session_expiry`.
fn stored_data(record: &Record) -> Data {
    let mut keys: Vec<&String> = record.data.keys().filter(|k| k.as_str() != EXPIRY_KEY).collect();
    keys.sort();
    let mut data: Data = keys.into_iter().map(|k| (k.clone(), record.data[k].clone())).collect();
    // Within what a Django `datetime` (and sessionbox) reads: years 1 to
    // 9999. Outside it, the ISO text would be `-0100-…` or `10000-…`, which
    // both read as no expiry (two more weeks of life) or not at all
    // (Django's `ValueError`). A moment before 1970 is as expired as 1970.
    let at = SystemTime::from(record.expiry_date).clamp(SystemTime::UNIX_EPOCH, sessionbox::latest_expiry());
    data.insert(EXPIRY_KEY.to_owned(), Expiry::At(at).value().expect("a moment has a value"));
    data
}

#[async_trait]
impl SessionStore for TowerSessionsStore {
    /// Creates the session exclusively; a taken id is replaced by a new one
    /// until one is free.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = stored_data(record);
        loop {
            match self.store.save(&key_for(&record.id), &data, true) {
                Err(StoreError::AlreadyExists) => record.id = Id::default(),
                other => return other.map_err(backend),
            }
        }
    }

    /// Saves over the existing session; see the type's docs for a session
    /// deleted meanwhile.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self.store.save(&key_for(&record.id), &stored_data(record), false) {
            Err(StoreError::NotFound) => {
                log::warn!(target: "sessionbox", "a tower-sessions session was deleted before the request that changed it finished (a logout in a concurrent request?); the change was dropped");
                Ok(())
            }
            other => other.map_err(backend),
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self.store.load(&key_for(id)).map_err(backend)? {
            Loaded::Found { mut data, expires_at } => {
                // The date this adapter wrote, to the microsecond; a store
                // that keeps a TTL (Redis, SQL) gives the expiry to the
                // millisecond only.
                let written = match data.shift_remove(EXPIRY_KEY) {
                    Some(serde_json::Value::String(iso)) => OffsetDateTime::parse(&iso, &time::format_description::well_known::Rfc3339).ok(),
                    _ => None,
                };
                let expiry_date = written.unwrap_or_else(|| OffsetDateTime::from(expires_at));
                Ok(Some(Record { id: *id, data: data.into_iter().collect(), expiry_date }))
            }
            // A bad signature was logged by the store.
            _ => Ok(None),
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store.delete(&key_for(id)).map(drop).map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for TowerSessionsStore {
    /// Sweeps the whole store (every session in it, not only this store's)
    /// on a blocking thread: a large directory takes a while.
    async fn delete_expired(&self) -> session_store::Result<()> {
        let store = self.store.clone();
        let report = tokio::task::spawn_blocking(move || store.clear_expired())
            .await
            .map_err(|e| session_store::Error::Backend(format!("the sweep panicked: {e}")))?
            .map_err(backend)?;
        log::info!(target: "sessionbox", "swept expired sessions: {} deleted, {} skipped, {} scanned", report.deleted, report.skipped, report.scanned);
        Ok(())
    }
}
