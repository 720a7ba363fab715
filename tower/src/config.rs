//! [`SessionConfig`]: Django's `SESSION_*` cookie settings.

use sessionbox::Store;

/// The `SameSite` attribute of the session cookie (Django's
/// `SESSION_COOKIE_SAMESITE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// Sent on top-level navigations from other sites (Django's default).
    #[default]
    Lax,
    /// Never sent with requests from other sites.
    Strict,
    /// Sent with every request; browsers then require `secure`.
    None,
    /// No `SameSite` attribute (Django's `False`): the browser decides.
    Unset,
}

impl SameSite {
    /// The attribute's value, `None` when it is left out.
    pub(crate) fn as_str(self) -> Option<&'static str> {
        match self {
            SameSite::Lax => Some("Lax"),
            SameSite::Strict => Some("Strict"),
            SameSite::None => Some("None"),
            SameSite::Unset => None,
        }
    }
}

/// How the session cookie is sent: Django's `SESSION_*` settings, with
/// Django's defaults.
///
/// `SESSION_COOKIE_AGE` is not here: it is the store's
/// [`Settings::cookie_age`](sessionbox::Settings), which also decides when a
/// session expires on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// `SESSION_COOKIE_NAME`; by default the store's file prefix, which is
    /// `sessionid` unless set otherwise (Django uses this one setting for
    /// both).
    pub cookie_name: String,
    /// `SESSION_COOKIE_DOMAIN` (default none: the cookie is host-only).
    pub cookie_domain: Option<String>,
    /// `SESSION_COOKIE_PATH` (default `/`).
    pub cookie_path: String,
    /// `SESSION_COOKIE_SECURE` (default off): send the cookie over HTTPS only.
    pub cookie_secure: bool,
    /// `SESSION_COOKIE_HTTPONLY` (default on): hide the cookie from scripts.
    pub cookie_httponly: bool,
    /// `SESSION_COOKIE_SAMESITE` (default `Lax`).
    pub cookie_samesite: SameSite,
    /// `SESSION_SAVE_EVERY_REQUEST` (default off): save a non-empty session
    /// (and refresh its cookie) on every response, modified or not.
    pub save_every_request: bool,
    /// `SESSION_EXPIRE_AT_BROWSER_CLOSE`: a session that sets no expiry of
    /// its own gets a cookie without `Max-Age`/`Expires`, which the browser
    /// drops when it closes. By default the store's
    /// [`Options::expire_at_browser_close`](sessionbox::Options).
    pub expire_at_browser_close: bool,
}

impl SessionConfig {
    /// Django's defaults, with the cookie name and browser-close default
    /// taken from `store`.
    pub fn for_store(store: &Store) -> SessionConfig {
        SessionConfig {
            cookie_name: store.settings().file_prefix.clone(),
            cookie_domain: None,
            cookie_path: "/".to_owned(),
            cookie_secure: false,
            cookie_httponly: true,
            cookie_samesite: SameSite::Lax,
            save_every_request: false,
            expire_at_browser_close: store.options().expire_at_browser_close,
        }
    }
}
