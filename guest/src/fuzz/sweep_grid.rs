//! The sweep's differential tests, shared by the guest's native tests and
//! the host's tests through the component: every kind of file a sweep can
//! meet, and the verdict a verified decode gives each one.

use crate::codec::{Codec, DecodeError};
use crate::expiry::{expires_at, is_expired};
use crate::time::Time;

/// Session JSON with every kind of expiry (none, already past, seconds
/// either side of the grid's ages, dates past and future), plus JSON that
/// is not an object and text that is not JSON; callers add the sizes that
/// matter to their size limit.
pub fn expiry_payloads() -> Vec<String> {
    [
        "{}",
        r#"{"_session_expiry":-1}"#,
        r#"{"_session_expiry":30}"#,
        r#"{"_session_expiry":1000}"#,
        r#"{"_session_expiry":"2000-01-01T00:00:00+00:00"}"#,
        r#"{"_session_expiry":"2999-01-01T00:00:00+00:00"}"#,
        r#"{"_session_expiry":0,"a":1}"#,
        "[1]",
        "not json",
    ]
    .map(String::from)
    .to_vec()
}

/// Every kind of file a sweep meets: each payload as each signer stores
/// it, also with one byte tampered and with its signature cut short, plus
/// an empty file, one with no signature and one that is not ASCII.
pub fn sweep_grid(signers: &[Codec], payloads: &[String]) -> Vec<Vec<u8>> {
    let mut files: Vec<Vec<u8>> = vec![b"".to_vec(), b"no signature at all".to_vec(), "caf\u{e9}:1:x".as_bytes().to_vec()];
    for codec in signers {
        for json in payloads {
            let stored = codec.encode(json, 1_700_000_000);
            let mut tampered = stored.clone().into_bytes();
            tampered[1] ^= 1;
            let mut cut = stored.clone();
            cut.truncate(stored.len() - 2);
            files.extend([stored.into_bytes(), tampered, cut.into_bytes()]);
        }
    }
    files
}

/// What a sweep must do with a session file holding `content`, last
/// modified at `modified`, judged after a full decode verified by
/// `reference`: `None` to skip it (corrupt or too large inside a genuine
/// signature), else whether to delete it. A file that is not genuine is
/// garbage, judged by its age alone.
pub fn verified_verdict(reference: &Codec, content: &[u8], max_json: usize, modified: Time, now: Time, cookie_age: u64) -> Option<bool> {
    let expiry = match reference.decode_session(content, max_json) {
        Ok(decoded) => decoded.expiry,
        Err(DecodeError::BadSignature | DecodeError::NotAscii) => None,
        Err(DecodeError::Corrupt | DecodeError::TooLarge) => return None,
    };
    Some(is_expired(expires_at(expiry.as_ref(), modified, cookie_age), now))
}
