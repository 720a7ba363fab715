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
        self.check().map_err(|(_, why)| crate::Error::InvalidSettings(why.to_owned()))
    }

    /// [`validate`](Self::validate), saying which setting it refused: the
    /// environment variable that set it, for [`from_env`](Self::from_env).
    fn check(&self) -> Result<(), (&'static str, &'static str)> {
        const SECRET: &str = "SESSIONBOX_SECRET_KEY";
        const PREFIX: &str = "SESSIONBOX_FILE_PREFIX";
        if self.secret_key.is_empty() {
            return Err((SECRET, "the secret key is empty"));
        }
        if self.file_prefix.is_empty() || self.file_prefix.starts_with('.') {
            return Err((PREFIX, "the file prefix must be non-empty and not start with '.'"));
        }
        if self.file_prefix.chars().any(|c| c == '/' || c == '\\' || c.is_control()) {
            return Err((PREFIX, "the file prefix may not contain '/', '\\' or control characters"));
        }
        if self.file_prefix.len() > MAX_FILE_PREFIX_LEN {
            return Err((PREFIX, "the file prefix is too long: session file names must fit in 255 bytes"));
        }
        if self.max_session_size == 0 {
            return Err(("SESSIONBOX_MAX_SESSION_SIZE", "the max session size must be at least 1 byte"));
        }
        Ok(())
    }

    /// Settings from environment variables, looked up with `var`:
    /// `SESSIONBOX_SECRET_KEY` (required), `SESSIONBOX_SECRET_KEY_FALLBACKS`
    /// (one key per line; a CR before the LF is dropped),
    /// `SESSIONBOX_COOKIE_AGE` (seconds), `SESSIONBOX_FILE_PREFIX`,
    /// `SESSIONBOX_KEY_SALT`, `SESSIONBOX_MAX_SESSION_SIZE` (bytes) and
    /// `SESSIONBOX_DURABILITY` (`none`, `file` or `full`); an unset one keeps
    /// Django's default. The component's `bound-sessions` export runs on
    /// these, so that a composition's settings come from its runtime
    /// (`wasmtime serve --env`) rather than from a file.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Settings, crate::Error> {
        let bad = |name: &str, why: &str| crate::Error::InvalidSettings(format!("${name} {why}"));
        let number = |name: &str| -> Result<Option<u64>, crate::Error> {
            var(name).map(|v| v.parse::<u64>().map_err(|_| bad(name, "is not a whole number"))).transpose()
        };
        let secret = var("SESSIONBOX_SECRET_KEY").ok_or_else(|| bad("SESSIONBOX_SECRET_KEY", "is not set"))?;
        let mut settings = Settings::new(secret);
        if let Some(keys) = var("SESSIONBOX_SECRET_KEY_FALLBACKS") {
            settings.fallback_keys =
                keys.split('\n').map(|k| k.strip_suffix('\r').unwrap_or(k)).filter(|k| !k.is_empty()).map(str::to_owned).collect();
        }
        if let Some(age) = number("SESSIONBOX_COOKIE_AGE")? {
            settings.cookie_age = age;
        }
        if let Some(prefix) = var("SESSIONBOX_FILE_PREFIX") {
            settings.file_prefix = prefix;
        }
        if let Some(salt) = var("SESSIONBOX_KEY_SALT") {
            settings.key_salt = salt;
        }
        if let Some(size) = number("SESSIONBOX_MAX_SESSION_SIZE")? {
            settings.max_session_size =
                u32::try_from(size).map_err(|_| bad("SESSIONBOX_MAX_SESSION_SIZE", "is above 4294967295"))?;
        }
        if let Some(durability) = var("SESSIONBOX_DURABILITY") {
            settings.durability = match durability.as_str() {
                "none" => Durability::None,
                "file" => Durability::File,
                "full" => Durability::Full,
                _ => return Err(bad("SESSIONBOX_DURABILITY", "is not none, file or full")),
            };
        }
        settings.check().map_err(|(name, why)| bad(name, &format!("cannot be used: {why}")))?;
        Ok(settings)
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
    fn from_env() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(Settings::from_env(env(&[("SESSIONBOX_SECRET_KEY", "s")])).unwrap(), Settings::new("s"));
        let all = Settings::from_env(env(&[
            ("SESSIONBOX_SECRET_KEY", "s"),
            ("SESSIONBOX_SECRET_KEY_FALLBACKS", "old 1\r\n\nold 2"),
            ("SESSIONBOX_COOKIE_AGE", "60"),
            ("SESSIONBOX_FILE_PREFIX", "sid"),
            ("SESSIONBOX_KEY_SALT", "salt"),
            ("SESSIONBOX_MAX_SESSION_SIZE", "4294967295"),
            ("SESSIONBOX_DURABILITY", "full"),
        ]))
        .unwrap();
        assert_eq!(all.fallback_keys, ["old 1", "old 2"]);
        assert_eq!((all.cookie_age, all.file_prefix.as_str(), all.key_salt.as_str()), (60, "sid", "salt"));
        assert_eq!((all.max_session_size, all.durability), (u32::MAX, Durability::Full));
        for (pairs, says) in [
            (&[][..], "$SESSIONBOX_SECRET_KEY is not set"),
            (&[("SESSIONBOX_SECRET_KEY", "")][..], "$SESSIONBOX_SECRET_KEY cannot be used: the secret key is empty"),
            (&[("SESSIONBOX_SECRET_KEY", "s"), ("SESSIONBOX_FILE_PREFIX", "")][..], "$SESSIONBOX_FILE_PREFIX cannot be used"),
            (&[("SESSIONBOX_SECRET_KEY", "s"), ("SESSIONBOX_MAX_SESSION_SIZE", "0")][..], "$SESSIONBOX_MAX_SESSION_SIZE cannot be used"),
            (&[("SESSIONBOX_SECRET_KEY", "s"), ("SESSIONBOX_COOKIE_AGE", "-1")][..], "$SESSIONBOX_COOKIE_AGE is not a whole number"),
            (&[("SESSIONBOX_SECRET_KEY", "s"), ("SESSIONBOX_MAX_SESSION_SIZE", "4294967296")][..], "above"),
            (&[("SESSIONBOX_SECRET_KEY", "s"), ("SESSIONBOX_DURABILITY", "always")][..], "$SESSIONBOX_DURABILITY"),
            (&[("SESSIONBOX_SECRET_KEY", "s"), ("SESSIONBOX_FILE_PREFIX", "a/b")][..], "$SESSIONBOX_FILE_PREFIX cannot be used"),
        ] {
            let err = Settings::from_env(env(pairs)).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
        }
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
