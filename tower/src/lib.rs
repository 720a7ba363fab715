//! Django's `SessionMiddleware` for [tower] and [axum] over a
//! [`sessionbox::Store`].
//!
//! [`SessionLayer`] reads the session cookie, hands each request a lazily
//! loaded [`Session`] (an axum extractor with the `axum` feature, else a
//! request extension), and finishes the response as Django does: `Vary:
//! Cookie` when the session was read or its cookie sent, the cookie deleted
//! when the session was emptied, the session saved (and the cookie
//! refreshed) only when it was modified or
//! [`SessionConfig::save_every_request`] is set, never on a 5xx response,
//! and `400 Bad Request` when the session was deleted meanwhile (a logout in
//! another tab) rather than bringing it back, however the requests
//! interleave (Django's Trac #37249 undoes such a logout): the host's rename
//! replaces only an existing session file. The files, the cookie and
//! [`auth`]'s login keys are Django's own, so a Django app over the same
//! directory and secret shares the login.
//!
//! ```
//! use axum::{routing::get, Router};
//! use sessionbox::{Settings, Store};
//! use sessionbox_tower::{Session, SessionLayer};
//!
//! async fn counter(session: Session) -> Result<String, sessionbox_tower::Error> {
//!     let n: u64 = session.get("n").await?.unwrap_or(0) + 1;
//!     session.insert("n", n).await?;
//!     Ok(format!("visit {n}"))
//! }
//!
//! # let tmp = tempfile::tempdir().unwrap();
//! let store = Store::open(tmp.path().join("sessions"), Settings::new("the Django SECRET_KEY"))?;
//! let app: Router = Router::new().route("/", get(counter)).layer(SessionLayer::new(store));
//! # Ok::<(), sessionbox::Error>(())
//! ```
//!
//! Store calls block: a load from a directory for the microseconds it
//! takes, in place; a save, and every call on Redis (which may wait out
//! its response timeout), under `block_in_place` on tokio's multi-thread
//! runtime (the worker's other tasks move on meanwhile). Nothing else
//! blocks.
//!
//! [tower]: https://docs.rs/tower
//! [axum]: https://docs.rs/axum

pub mod auth;
mod config;
mod cookie;
mod error;
mod layer;
mod session;
#[cfg(feature = "tower-sessions")]
pub mod tower_sessions_store;

pub use config::{SameSite, SessionConfig};
pub use error::{Error, Result};
pub use layer::{SessionLayer, SessionService};
pub use session::Session;
pub use sessionbox::Expiry;
#[cfg(feature = "tower-sessions")]
pub use tower_sessions_store::TowerSessionsStore;
