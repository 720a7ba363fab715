//! [`Session`]: the request's session, shared by the handler and the layer.

use crate::error::{Error, Result};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use sessionbox::Expiry;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// The current request's session: Django's `request.session`.
///
/// Loaded from the store on first access, at most once per request; cheap to
/// clone (clones share the one session). With the `axum` feature it is an
/// extractor; it is also in the request's extensions for other tower
/// services. A request that never touches it costs no store call.
///
/// The methods are `async` so that a store that waits on the network can
/// stand behind them; with sessionbox's stores they return without
/// yielding.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Mutex<sessionbox::Session>>,
}

/// Shows neither the key nor the data: the key is the user's credential, the
/// data may hold `_auth_user_hash`, and `#[tracing::instrument]` logs every
/// handler argument with `Debug`.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let session = self.lock();
        f.debug_struct("Session")
            .field("key", &session.key().map(|_| "<redacted>"))
            .field("accessed", &session.accessed())
            .field("modified", &session.modified())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The session of one request, for the key its cookie carried.
    pub(crate) fn new(store: &sessionbox::Store, key: Option<&str>) -> Session {
        Session { inner: Arc::new(Mutex::new(store.session(key))) }
    }

    /// The underlying session. A handler that panicked while holding it
    /// leaves it as it was: the data is still consistent.
    pub(crate) fn lock(&self) -> MutexGuard<'_, sessionbox::Session> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the underlying [`sessionbox::Session`], for what this
    /// type does not wrap (`items`, `setdefault`, the test cookie, …). The
    /// session is locked while `f` runs: `f` must not use this `Session`
    /// (or a clone) itself, or it waits forever.
    pub async fn with<T>(&self, f: impl FnOnce(&mut sessionbox::Session) -> sessionbox::Result<T>) -> Result<T> {
        Ok(f(&mut self.lock())?)
    }

    /// The session key, if it has one (none for a new or emptied session
    /// until the response saves it).
    pub fn key(&self) -> Option<String> {
        self.lock().key().map(str::to_owned)
    }

    /// The value under `k`, as `T`.
    pub async fn get<T: DeserializeOwned>(&self, k: &str) -> Result<Option<T>> {
        typed(self.lock().get(k)?)
    }

    /// The value under `k`, as JSON.
    pub async fn get_value(&self, k: &str) -> Result<Option<Value>> {
        Ok(self.lock().get(k)?)
    }

    /// Sets `k` to `v`; the response saves the session.
    pub async fn insert(&self, k: &str, v: impl Serialize) -> Result<()> {
        let v = serde_json::to_value(v).map_err(Error::Encode)?;
        self.lock().insert(k, v)?;
        Ok(())
    }

    /// Removes `k` and returns its value as `T` (the session is modified
    /// only when `k` was there; a value that is no `T` is removed all the
    /// same, and reported as [`Error::Decode`]).
    pub async fn remove<T: DeserializeOwned>(&self, k: &str) -> Result<Option<T>> {
        typed(self.lock().pop(k)?)
    }

    /// Removes `k` and returns its value as JSON.
    pub async fn remove_value(&self, k: &str) -> Result<Option<Value>> {
        Ok(self.lock().pop(k)?)
    }

    /// The data as a JSON object.
    pub async fn data(&self) -> Result<sessionbox::Data> {
        Ok(self.lock().items()?.into_iter().collect())
    }

    /// Empties the data, keeping the key (Django's `clear`).
    pub async fn clear(&self) {
        self.lock().clear();
    }

    /// Whether the session holds neither a key nor data.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Whether the data was changed in this request.
    pub fn modified(&self) -> bool {
        self.lock().modified()
    }

    /// Sets when the session expires (Django's `set_expiry`); the cookie's
    /// `Max-Age` and `Expires` follow.
    pub async fn set_expiry(&self, expiry: Expiry) -> Result<()> {
        Ok(self.lock().set_expiry(expiry)?)
    }

    /// Seconds until the session expires, counted from now (Django's
    /// `get_expiry_age`).
    pub async fn expiry_age(&self) -> Result<i64> {
        Ok(self.lock().expiry_age()?)
    }

    /// When the session expires, counted from now (Django's
    /// `get_expiry_date`).
    pub async fn expiry_date(&self) -> Result<SystemTime> {
        Ok(self.lock().expiry_date()?)
    }

    /// Moves the data to a new key and deletes the old session: call it at
    /// login, against session fixation. The response sends the new key.
    pub async fn cycle_key(&self) -> Result<()> {
        Ok(self.lock().cycle_key()?)
    }

    /// Deletes the session and empties it (logout); the response deletes
    /// the cookie.
    pub async fn flush(&self) -> Result<()> {
        Ok(self.lock().flush()?)
    }
}

#[cfg(feature = "axum")]
impl<S: Send + Sync> axum_core::extract::FromRequestParts<S> for Session {
    type Rejection = (http::StatusCode, &'static str);

    async fn from_request_parts(parts: &mut http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or((http::StatusCode::INTERNAL_SERVER_ERROR, "sessionbox_tower::Session needs SessionLayer around the route"))
    }
}

/// A session value as `T`.
fn typed<T: DeserializeOwned>(value: Option<Value>) -> Result<Option<T>> {
    value.map(|v| serde_json::from_value(v).map_err(Error::Decode)).transpose()
}
