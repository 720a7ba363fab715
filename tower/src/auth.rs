//! Django's login keys (`django.contrib.auth`), so that a login on either
//! side is a login on both.
//!
//! Django keeps the logged-in user in three session keys: the user's primary
//! key, the authentication backend's dotted path, and a hash of the user's
//! password hash ([`session_auth_hash`]). On every request Django recomputes
//! that hash and flushes the session when it differs, so a password change
//! logs the user out everywhere; to log a user in so that Django accepts it,
//! the Rust side needs the user's password hash as Django stores it (the
//! `password` column of `auth_user`).

use crate::error::Result;
use crate::session::Session;
use hmac::Mac;

/// Django's `SESSION_KEY`: the logged-in user's primary key, as a string.
pub const USER_ID_KEY: &str = "_auth_user_id";
/// Django's `BACKEND_SESSION_KEY`: the dotted path of the backend that
/// authenticated the user.
pub const BACKEND_KEY: &str = "_auth_user_backend";
/// Django's `HASH_SESSION_KEY`: [`session_auth_hash`] of the user.
pub const HASH_KEY: &str = "_auth_user_hash";
/// Django's default authentication backend.
pub const MODEL_BACKEND: &str = "django.contrib.auth.backends.ModelBackend";

/// A user as Django's session login needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The primary key, as Django writes it into the session (`"42"`).
    pub id: String,
    /// The user's password hash exactly as Django stores it, e.g.
    /// `pbkdf2_sha256$1000000$salt$hash` (or `!…` for an unusable password).
    pub password_hash: String,
    /// The authentication backend's dotted path; it must be in Django's
    /// `AUTHENTICATION_BACKENDS` ([`MODEL_BACKEND`] by default).
    pub backend: String,
}

impl User {
    /// A user authenticated by Django's default [`MODEL_BACKEND`].
    pub fn new(id: impl Into<String>, password_hash: impl Into<String>) -> User {
        User { id: id.into(), password_hash: password_hash.into(), backend: MODEL_BACKEND.to_owned() }
    }
}

/// Django's `AbstractBaseUser.get_session_auth_hash()` for a user whose
/// stored password hash is `password_hash`, under `secret_key` (Django's
/// `SECRET_KEY`): `salted_hmac` with SHA-256, as lowercase hex.
pub fn session_auth_hash(password_hash: &str, secret_key: &str) -> String {
    const SALT: &str = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash";
    let mut mac = sessionbox::salted_hmac(SALT, secret_key);
    mac.update(password_hash.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Logs `user` in, as Django's `django.contrib.auth.login` does: a session
/// that belongs to another user (or to this user under an old password) is
/// flushed, any other gets a new key (against session fixation), and the
/// three login keys are set. `secret_key` is Django's `SECRET_KEY`, the one
/// the store signs with. (Django's login also rotates the CSRF token; an app
/// that shares Django's CSRF cookie must do that itself.)
pub async fn login(session: &Session, user: &User, secret_key: &str) -> Result<()> {
    let hash = session_auth_hash(&user.password_hash, secret_key);
    match user_id(session).await? {
        Some(current) => {
            // Compared as text, as Django compares the primary keys it
            // converts: a stored `1` is user "1".
            let same_user = current == user.id;
            let same_hash = session.get::<String>(HASH_KEY).await.ok().flatten().is_some_and(|h| constant_time_eq(&h, &hash));
            if !same_user || !same_hash {
                session.flush().await?;
            }
        }
        None => session.cycle_key().await?,
    }
    session.insert(USER_ID_KEY, &user.id).await?;
    session.insert(BACKEND_KEY, &user.backend).await?;
    session.insert(HASH_KEY, &hash).await?;
    Ok(())
}

/// Logs out (Django's `logout`): deletes the session and empties it; the
/// response deletes the cookie.
pub async fn logout(session: &Session) -> Result<()> {
    session.flush().await
}

/// Logs the session's user out everywhere: deletes every session of that
/// user in the store (every browser and device they are signed in on),
/// this one included, and empties this one; the response deletes the
/// cookie. Returns what the store did ([`sessionbox::Store::revoke_user`]),
/// or `None` when nobody is logged in to this session (which is then
/// logged out as by [`logout`]). It reads every session in the store:
/// meant for a "sign out of all devices" button, not for every request.
pub async fn logout_everywhere(session: &Session) -> Result<Option<sessionbox::Revoked>> {
    let Some(user) = user_id(session).await? else {
        logout(session).await?;
        return Ok(None);
    };
    let store = session.with(|s| Ok(s.store().clone())).await?;
    let revoked = store.revoke_user(&user, None)?;
    session.flush().await?;
    Ok(Some(revoked))
}

/// The logged-in user's primary key, if the session names one. This does not
/// check the user still exists or the hash still matches; see
/// [`verified_user_id`] for the check Django makes on every request.
pub async fn user_id(session: &Session) -> Result<Option<String>> {
    Ok(match session.get::<serde_json::Value>(USER_ID_KEY).await? {
        Some(serde_json::Value::String(id)) => Some(id),
        Some(other) => Some(other.to_string()),
        None => None,
    })
}

/// The logged-in user's primary key if the session's hash matches `user`'s
/// current password hash under `secret_key` or one of `fallback_keys`
/// (Django's check in `get_user`); a session that names `user` with a stale
/// hash is flushed, as Django does. A hash that only a fallback key matches
/// is renewed as Django renews it: the session gets a new key and the hash
/// under `secret_key`, so the login outlives the fallback key's removal.
/// `None` when no one, or someone else, is logged in.
pub async fn verified_user_id(session: &Session, user: &User, secret_key: &str, fallback_keys: &[String]) -> Result<Option<String>> {
    if user_id(session).await?.as_deref() != Some(user.id.as_str()) {
        return Ok(None);
    }
    // Django answers anonymous when the session names no backend, or one
    // other than the user's.
    if session.get::<serde_json::Value>(BACKEND_KEY).await?.as_ref().and_then(|b| b.as_str()) != Some(user.backend.as_str()) {
        return Ok(None);
    }
    let stored = session.get::<String>(HASH_KEY).await.ok().flatten().unwrap_or_default();
    let current = session_auth_hash(&user.password_hash, secret_key);
    if !stored.is_empty() && constant_time_eq(&stored, &current) {
        return Ok(Some(user.id.clone()));
    }
    let by_fallback = !stored.is_empty()
        && fallback_keys.iter().any(|secret| constant_time_eq(&stored, &session_auth_hash(&user.password_hash, secret)));
    if by_fallback {
        session.cycle_key().await?;
        session.insert(HASH_KEY, &current).await?;
        Ok(Some(user.id.clone()))
    } else {
        session.flush().await?;
        Ok(None)
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    /// Computed by Django 5.2: `User(password=...).get_session_auth_hash()`
    /// with `SECRET_KEY = "django-insecure-test-secret"`.
    #[test]
    fn matches_django() {
        let hash = super::session_auth_hash(
            "pbkdf2_sha256$1000000$abcdefghijklmnopqrstuv$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "django-insecure-test-secret",
        );
        assert_eq!(hash, "9ed092047d0943f652f7f567578d209a43a01bbf232aeed1673170c9f7a90c30");
    }
}
