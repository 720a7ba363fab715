//! Reading the session key from `Cookie` headers and writing `Set-Cookie`,
//! byte for byte as Django does.

use crate::config::SessionConfig;
use http::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE, VARY};
use std::time::{Duration, SystemTime};

/// Longest cookie value taken as a session key. A valid key is at most a
/// file name long; anything longer names no session.
const MAX_KEY_LEN: usize = 255;

/// What the request's cookies say about the session.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RequestCookie {
    /// The request carried a cookie of the session's name (Django's
    /// `SESSION_COOKIE_NAME in request.COOKIES`).
    pub present: bool,
    /// Its value, when it can be a session key: 8 to 255 characters of
    /// `[a-z0-9]`. Any other value counts as no key, so a hostile cookie
    /// gets a fresh session.
    pub key: Option<String>,
    /// The value is no key, yet Django would hold it as one (8 characters
    /// or more: `_validate_session_key`) until the session is loaded and
    /// the key found to name no file. Until then the session is not empty:
    /// a page that never touches it leaves the cookie alone.
    pub unusable_key: bool,
}

/// Finds cookie `name` in every `Cookie` header as Django's `parse_cookie`
/// does: chunks split on `;`, name and value split at the first `=` and
/// trimmed, a chunk without `=` taken as a value with an empty name, and the
/// last of repeated names winning. Headers that are not valid UTF-8 are read
/// with the bad bytes replaced (a key with them is invalid anyway).
/// The most a browser keeps of one cookie, name and value together (RFC
/// 6265 §6.1 asks for at least this; Chromium and Firefox keep no more).
pub(crate) const MAX_COOKIE_BYTES: usize = 4096;

/// Whether `value` can be a `signed_cookies` session: what Django's
/// signer writes (URL-safe base64, `.`, `:`), within the browser's limit.
fn is_signed_cookie(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_COOKIE_BYTES
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

pub(crate) fn request_cookie(headers: &HeaderMap, name: &str, signed_cookies: bool) -> RequestCookie {
    let mut found: Option<String> = None;
    for header in headers.get_all(COOKIE) {
        let text = String::from_utf8_lossy(header.as_bytes());
        for chunk in text.split(';') {
            let (k, v) = chunk.split_once('=').unwrap_or(("", chunk));
            if k.trim() == name && !(k.trim().is_empty() && v.trim().is_empty()) {
                found = Some(unquote(v.trim()).to_owned());
            }
        }
    }
    match found {
        None => RequestCookie::default(),
        Some(value) => {
            let valid = match signed_cookies {
                true => is_signed_cookie(&value),
                false => value.len() <= MAX_KEY_LEN && sessionbox::key::is_valid(&value),
            };
            let unusable_key = !valid && value.chars().count() >= 8;
            RequestCookie { present: true, key: valid.then_some(value), unusable_key }
        }
    }
}

/// A value without the double quotes Python's cookie parser strips. Escapes
/// inside are left as they are: they make the value no valid key.
fn unquote(v: &str) -> &str {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner,
        None => v,
    }
}

/// How long the cookie lives: `None` for a browser-session cookie, else its
/// `Max-Age` in seconds.
pub(crate) type Lifetime = Option<i64>;


/// Appends the session cookie carrying `key`, as Django's `set_cookie` writes
/// it (attributes in Python's sorted order).
pub(crate) fn set(headers: &mut HeaderMap, config: &SessionConfig, key: &str, lifetime: Lifetime) {
    let mut cookie = format!("{}={}", config.cookie_name, key);
    if let Some(domain) = domain(config) {
        cookie += &format!("; Domain={domain}");
    }
    if let Some(max_age) = lifetime {
        // Django's `http_date(time.time() + max_age)`: in the past for an
        // expiry already past, kept within what an HTTP date can show.
        let now = SystemTime::now();
        let step = Duration::from_secs(max_age.unsigned_abs());
        let at = if max_age >= 0 { now.checked_add(step) } else { now.checked_sub(step) };
        // The end of year 9999 is the last an HTTP date (and Python's
        // `datetime`) can show.
        let latest = sessionbox::latest_expiry();
        let at = match at {
            Some(at) => at.clamp(SystemTime::UNIX_EPOCH, latest),
            None if max_age > 0 => latest,
            None => SystemTime::UNIX_EPOCH,
        };
        cookie += &format!("; expires={}", httpdate::fmt_http_date(at));
    }
    if config.cookie_httponly {
        cookie += "; HttpOnly";
    }
    if let Some(max_age) = lifetime {
        // As Django writes it, negative included (`Max-Age=-10`): a browser
        // drops the cookie for any Max-Age of zero or less.
        cookie += &format!("; Max-Age={max_age}");
    }
    finish(headers, config, cookie, config.cookie_secure);
}

/// Appends a cookie that deletes the session cookie (Django's
/// `delete_cookie`: same name, path, domain and `SameSite`; `Secure` only
/// where the browser demands it).
pub(crate) fn delete(headers: &mut HeaderMap, config: &SessionConfig) {
    let mut cookie = format!("{}=\"\"", config.cookie_name);
    if let Some(domain) = domain(config) {
        cookie += &format!("; Domain={domain}");
    }
    cookie += "; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0";
    let name = &config.cookie_name;
    let secure = name.starts_with("__Secure-") || name.starts_with("__Host-") || config.cookie_samesite == crate::SameSite::None;
    finish(headers, config, cookie, secure);
}

/// The `Domain` attribute: none for an empty domain, which Python's cookie
/// output leaves out.
fn domain(config: &SessionConfig) -> Option<&str> {
    config.cookie_domain.as_deref().filter(|d| !d.is_empty())
}

fn finish(headers: &mut HeaderMap, config: &SessionConfig, mut cookie: String, secure: bool) {
    cookie += &format!("; Path={}", config.cookie_path);
    if let Some(samesite) = config.cookie_samesite.as_str() {
        cookie += &format!("; SameSite={samesite}");
    }
    if secure {
        cookie += "; Secure";
    }
    match HeaderValue::try_from(cookie) {
        Ok(value) => {
            // One cookie per name, as Django's `response.cookies` holds:
            // the session's replaces one the handler set under its name.
            let name = format!("{}=", config.cookie_name);
            let others: Vec<HeaderValue> = headers
                .get_all(SET_COOKIE)
                .iter()
                .filter(|v| !String::from_utf8_lossy(v.as_bytes()).trim_start().starts_with(&name))
                .cloned()
                .collect();
            headers.remove(SET_COOKIE);
            for other in others {
                headers.append(SET_COOKIE, other);
            }
            headers.append(SET_COOKIE, value);
        }
        // Only a configured name, domain or path with control characters
        // gets here.
        Err(e) => log::error!(target: "sessionbox", "cannot send the session cookie: {e}"),
    }
}

/// Adds `Cookie` to `Vary` (Django's `patch_vary_headers`): kept once,
/// whatever the case, and not added beside `*`.
pub(crate) fn vary_on_cookie(headers: &mut HeaderMap) {
    let mut fields: Vec<String> = Vec::new();
    for value in headers.get_all(VARY) {
        let text = String::from_utf8_lossy(value.as_bytes());
        fields.extend(text.split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned));
    }
    if !fields.iter().any(|f| f.eq_ignore_ascii_case("cookie")) {
        fields.push("Cookie".to_owned());
    }
    // Django's rule: a `*` anywhere makes the whole header `*`.
    let joined = if fields.iter().any(|f| f == "*") { "*".to_owned() } else { fields.join(", ") };
    if let Ok(value) = HeaderValue::try_from(joined) {
        headers.insert(VARY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(COOKIE, HeaderValue::from_bytes(c).unwrap());
        }
        h
    }

    #[test]
    fn parses_like_django() {
        let key = "abcdefgh12345678";
        let c = request_cookie(&headers(&[format!("a=1; sessionid={key}; b=2").as_bytes()]), "sessionid", false);
        assert_eq!(c, RequestCookie { present: true, key: Some(key.into()), unusable_key: false });
        let c = request_cookie(&headers(&[b"sessionid=aaaaaaaa1", b"sessionid=\"bbbbbbbb2\""]), "sessionid", false);
        assert_eq!(c.key.as_deref(), Some("bbbbbbbb2"), "the last one wins, quotes stripped");
        for hostile in [&b"sessionid=ABCDEFGH12345678"[..], b"sessionid=short", b"sessionid=abc\xc3\xa9defghij", b"sessionid=abcdefgh,ijk"] {
            let c = request_cookie(&headers(&[hostile]), "sessionid", false);
            assert_eq!((c.present, c.key), (true, None), "{}", String::from_utf8_lossy(hostile));
            assert_eq!(c.unusable_key, hostile != b"sessionid=short", "{}", String::from_utf8_lossy(hostile));
        }
        let long = format!("sessionid={}", "a".repeat(256));
        assert_eq!(request_cookie(&headers(&[long.as_bytes()]), "sessionid", false).key, None);
        assert!(!request_cookie(&headers(&[b"xsessionid=abcdefgh1"]), "sessionid", false).present);
    }

    #[test]
    fn a_signed_cookie_store_takes_signed_values() {
        let value = ".eJyrVkrLz1eyUkpKLFKqBQAcGgQf:1xagdB:QmrMV8tNzszHZ0q3HvGed82FH7GQomp4HdJyiRhZ-JM";
        let c = request_cookie(&headers(&[format!("sessionid={value}").as_bytes()]), "sessionid", true);
        assert_eq!(c.key.as_deref(), Some(value));
        assert_eq!(request_cookie(&headers(&[format!("sessionid={value}").as_bytes()]), "sessionid", false).key, None);
        for hostile in ["sessionid=a b:c", "sessionid=a/b:c:d", "sessionid=é:x:y"] {
            assert_eq!(request_cookie(&headers(&[hostile.as_bytes()]), "sessionid", true).key, None, "{hostile}");
        }
        let long = format!("sessionid={}", "a".repeat(MAX_COOKIE_BYTES + 1));
        assert_eq!(request_cookie(&headers(&[long.as_bytes()]), "sessionid", true).key, None);
    }

    #[test]
    fn vary_is_patched_once() {
        let mut h = HeaderMap::new();
        h.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        vary_on_cookie(&mut h);
        vary_on_cookie(&mut h);
        assert_eq!(h.get(VARY).unwrap(), "Accept-Encoding, Cookie");
        let mut star = HeaderMap::new();
        star.insert(VARY, HeaderValue::from_static("*"));
        vary_on_cookie(&mut star);
        assert_eq!(star.get(VARY).unwrap(), "*");
        // Django's patch_vary_headers: a `*` among others makes it all `*`.
        let mut mixed = HeaderMap::new();
        mixed.insert(VARY, HeaderValue::from_static("Accept, *"));
        vary_on_cookie(&mut mixed);
        assert_eq!(mixed.get(VARY).unwrap(), "*");
    }
}
