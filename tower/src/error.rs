//! The crate's error: a store failure or a value that would not convert.

/// What a [`Session`](crate::Session) operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The session store failed (I/O, a deadline, a session too large).
    #[error(transparent)]
    Store(#[from] sessionbox::Error),
    /// A value could not be turned into JSON for the session.
    #[error("cannot store the value in the session: {0}")]
    Encode(serde_json::Error),
    /// A stored value is not of the type asked for.
    #[error("the session value is not of the expected type: {0}")]
    Decode(serde_json::Error),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for Error {
    /// A `500 Internal Server Error`; the details go to the log, not to the
    /// client.
    fn into_response(self) -> axum_core::response::Response {
        log::error!(target: "sessionbox", "session error: {self}");
        http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}
