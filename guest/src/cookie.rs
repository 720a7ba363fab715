//! Django's `signed_cookies` session engine: the session is the cookie.
//! Its value is `signing.dumps(data, compress=True, salt=SALT,
//! serializer=JSONSerializer)`, the same signed text as a session file but
//! under its own salt, whatever the store's `key_salt`; nothing is stored.
//!
//! Django checks the signing time against `SESSION_COOKIE_AGE` on load
//! (`signing.loads(max_age=...)`) and ignores `_session_expiry` (Django
//! ticket #19201). sessionbox honours both: a cookie is live until its
//! signing time plus the cookie age, or until its own `_session_expiry`
//! counted from the signing time if that comes first, so a replayed cookie
//! never outlives what the app asked for, and nothing Django refuses is
//! accepted.

use crate::codec::{Codec, DecodeError, Signed};
use crate::store::Loaded;
use crate::{expiry, json, Error, Settings, Time};

/// The salt Django's `signed_cookies` backend signs with.
pub const SALT: &str = "django.contrib.sessions.backends.signed_cookies";

fn codec(settings: &Settings) -> Codec {
    Codec::cached(&settings.secret_key, &settings.fallback_keys, SALT)
}

/// The cookie value holding `data` (a JSON object as text), signed now with
/// the current secret. `TooLarge` past `max_session_size` bytes of JSON.
pub fn encode(settings: &Settings, data: &str, now: Time) -> Result<String, Error> {
    let json = json::canonical_object(data).map_err(|e| Error::InvalidData(e.to_string()))?;
    if json.len() as u64 > u64::from(settings.max_session_size) {
        return Err(Error::TooLarge);
    }
    Ok(codec(settings).encode(&json, now.secs))
}

/// Reads a cookie value: the session in it with the moment it expires, or
/// why there is none. An empty value is `Missing`; a payload that would
/// unpack past `max_session_size` is `TooLarge` before the memory is used.
pub fn decode(settings: &Settings, cookie: &str, now: Time) -> Result<Loaded, Error> {
    if cookie.is_empty() {
        return Ok(Loaded::Missing);
    }
    let signed = match Signed::split(cookie.as_bytes()) {
        Ok(signed) => signed,
        Err(DecodeError::BadSignature) => return Ok(Loaded::BadSignature),
        Err(_) => return Ok(Loaded::Corrupt),
    };
    if !codec(settings).verify(&signed) {
        return Ok(Loaded::BadSignature);
    }
    let (signed_at, json) = match signed.timestamp().and_then(|t| Ok((t, signed.unpack(settings.max_session_size as usize)?))) {
        Ok(parts) => parts,
        Err(DecodeError::TooLarge) => return Err(Error::TooLarge),
        Err(_) => return Ok(Loaded::Corrupt),
    };
    let Ok(field) = json::object_field(&json, expiry::EXPIRY_KEY) else {
        return Ok(Loaded::Corrupt);
    };
    let signed_at = Time::new(signed_at, 0);
    let cookie_age = settings.cookie_age.min(i64::MAX as u64) as i64;
    let expires_at = expiry::expires_at(field.as_ref(), signed_at, settings.cookie_age).min(signed_at.plus_secs(cookie_age));
    if expiry::is_expired(expires_at, now) {
        return Ok(Loaded::Expired);
    }
    Ok(Loaded::Found { data: json, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::new("cookie-secret")
    }

    #[test]
    fn a_cookie_reads_back_until_the_cookie_age_or_its_own_expiry() {
        let s = settings();
        let now = Time::new(1_800_000_000, 0);
        let cookie = encode(&s, r#"{"a": 1}"#, now).unwrap();
        let found = decode(&s, &cookie, now.plus_secs(10)).unwrap();
        assert_eq!(found, Loaded::Found { data: r#"{"a":1}"#.into(), expires_at: now.plus_secs(s.cookie_age as i64) });
        assert_eq!(decode(&s, &cookie, now.plus_secs(s.cookie_age as i64 + 1)).unwrap(), Loaded::Expired);
        // Its own _session_expiry when shorter; never longer than the age.
        let short = encode(&s, r#"{"_session_expiry": 60}"#, now).unwrap();
        assert!(matches!(decode(&s, &short, now.plus_secs(30)).unwrap(), Loaded::Found { expires_at, .. } if expires_at == now.plus_secs(60)));
        assert_eq!(decode(&s, &short, now.plus_secs(61)).unwrap(), Loaded::Expired);
        let long = encode(&s, &format!(r#"{{"_session_expiry": {}}}"#, s.cookie_age * 2), now).unwrap();
        assert_eq!(decode(&s, &long, now.plus_secs(s.cookie_age as i64 + 1)).unwrap(), Loaded::Expired);
    }

    #[test]
    fn tampered_foreign_and_broken_cookies_hold_no_session() {
        let s = settings();
        let now = Time::new(1_800_000_000, 0);
        let cookie = encode(&s, r#"{"user": "alice"}"#, now).unwrap();
        let mut other = settings();
        other.secret_key = "another".into();
        assert_eq!(decode(&other, &cookie, now).unwrap(), Loaded::BadSignature);
        // The file salt does not verify a cookie, nor the reverse.
        let file = Codec::new(&s.secret_key, &[], &s.key_salt).encode(r#"{"user":"alice"}"#, now.secs);
        assert_eq!(decode(&s, &file, now).unwrap(), Loaded::BadSignature);
        let tampered = cookie.replacen(':', "x:", 1);
        assert_eq!(decode(&s, &tampered, now).unwrap(), Loaded::BadSignature);
        assert_eq!(decode(&s, "", now).unwrap(), Loaded::Missing);
        assert_eq!(decode(&s, "no signature", now).unwrap(), Loaded::BadSignature);
        assert_eq!(decode(&s, "é:x:y", now).unwrap(), Loaded::Corrupt);
        // A fallback secret still reads it.
        other.fallback_keys = vec![s.secret_key.clone()];
        assert!(matches!(decode(&other, &cookie, now).unwrap(), Loaded::Found { .. }));
    }

    #[test]
    fn the_size_limit_holds_both_ways() {
        let mut s = settings();
        s.max_session_size = 100;
        let now = Time::new(1_800_000_000, 0);
        let big = format!(r#"{{"b": "{}"}}"#, "x".repeat(200));
        assert_eq!(encode(&s, &big, now), Err(Error::TooLarge));
        let mut roomy = settings();
        roomy.max_session_size = 1000;
        let cookie = encode(&roomy, &big, now).unwrap();
        assert_eq!(decode(&s, &cookie, now), Err(Error::TooLarge));
        assert!(matches!(encode(&s, "[1]", now), Err(Error::InvalidData(_))));
    }
}
