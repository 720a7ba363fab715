//! Store-wide settings; mirrors the WIT `settings` record.

use std::fmt;

/// Django's `SESSION_COOKIE_AGE` default: two weeks.
pub const DEFAULT_COOKIE_AGE: u64 = 1_209_600;
/// Django's `SESSION_COOKIE_NAME` default, used as the file prefix.
pub const DEFAULT_FILE_PREFIX: &str = "sessionid";
/// The salt Django's file backend signs with.
pub const DEFAULT_KEY_SALT: &str = "django.contrib.sessions.SessionStore";
/// Longest file prefix: leaves room for a 32-character key and a temporary
/// file's `_out_` suffix within a 255-byte file name.
pub const MAX_FILE_PREFIX_LEN: usize = 200;
/// Default largest session, in bytes of JSON: 1 MiB.
pub const DEFAULT_MAX_SESSION_SIZE: u32 = 1 << 20;

/// How hard a save works to survive a power loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Durability {
    /// No fsync (Django's behaviour).
    None,
    /// Fsync the new file before renaming it into place.
    #[default]
    File,
    /// As `File`, plus fsync the directory after the rename.
    Full,
}

/// The settings every operation runs with.
///
/// `Debug` never shows the secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// Django's `SECRET_KEY`; signs every session written.
    pub secret_key: String,
    /// Django's `SECRET_KEY_FALLBACKS`; accepted when reading, never used to sign.
    pub fallback_keys: Vec<String>,
    /// Seconds a session without `_session_expiry` lives after its last save.
    pub cookie_age: u64,
    /// Prefix of session file names (Django's `SESSION_COOKIE_NAME`).
    pub file_prefix: String,
    /// Signing salt (`django.contrib.sessions.` + the store class name).
    pub key_salt: String,
    /// Largest session accepted, in bytes of JSON text.
    pub max_session_size: u32,
    /// The fsync policy for saves.
    pub durability: Durability,
}

impl Settings {
    /// Django's defaults with the given secret key.
    pub fn new(secret_key: impl Into<String>) -> Settings {
        Settings {
            secret_key: secret_key.into(),
            fallback_keys: Vec::new(),
            cookie_age: DEFAULT_COOKIE_AGE,
            file_prefix: DEFAULT_FILE_PREFIX.to_owned(),
            key_salt: DEFAULT_KEY_SALT.to_owned(),
            max_session_size: DEFAULT_MAX_SESSION_SIZE,
            durability: Durability::default(),
        }
    }

    /// Checks what would otherwise fail later or escape the file-name scheme:
    /// an empty secret, or a prefix that is empty or not a plain name part.
    pub fn validate(&self) -> Result<(), crate::Error> {
        let bad = |why: &str| Err(crate::Error::InvalidSettings(why.to_owned()));
        if self.secret_key.is_empty() {
            return bad("the secret key is empty");
        }
        if self.file_prefix.is_empty() || self.file_prefix.starts_with('.') {
            return bad("the file prefix must be non-empty and not start with '.'");
        }
        if self.file_prefix.chars().any(|c| c == '/' || c == '\\' || c.is_control()) {
            return bad("the file prefix may not contain '/', '\\' or control characters");
        }
        if self.file_prefix.len() > MAX_FILE_PREFIX_LEN {
            return bad("the file prefix is too long: session file names must fit in 255 bytes");
        }
        if self.max_session_size == 0 {
            return bad("the max session size must be at least 1 byte");
        }
        Ok(())
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("secret_key", &"<redacted>")
            .field("fallback_keys", &format_args!("<{} redacted>", self.fallback_keys.len()))
            .field("cookie_age", &self.cookie_age)
            .field("file_prefix", &self.file_prefix)
            .field("key_salt", &self.key_salt)
            .field("max_session_size", &self.max_session_size)
            .field("durability", &self.durability)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let mut s = Settings::new("hunter2-secret");
        s.fallback_keys.push("older-secret".into());
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("older"), "{shown}");
        assert!(shown.contains("sessionid"));
    }

    #[test]
    fn validation() {
        assert!(Settings::new("s").validate().is_ok());
        assert!(Settings::new("").validate().is_err());
        for prefix in ["", "a/b", "..", "a\\b", "a\0", &"p".repeat(MAX_FILE_PREFIX_LEN + 1)] {
            let mut s = Settings::new("s");
            s.file_prefix = prefix.into();
            assert!(s.validate().is_err(), "{prefix:?}");
        }
    }
}
