//! Django's session encoding: `signing.dumps(data, salt=key_salt,
//! compress=True)` with the JSON serializer, and the matching `loads`.
//!
//! A session file is `<payload>:<timestamp>:<signature>`, where the payload is
//! the URL-safe base64 of the JSON (zlib-compressed and prefixed with `.` when
//! that is shorter) and the signature is an HMAC-SHA256 keyed with
//! `SHA256(key_salt + "signer" + secret)`.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::cell::RefCell;
use subtle::ConstantTimeEq;

/// Python's `urlsafe_b64decode` accepts missing padding and stray low bits.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Why stored text did not decode to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Not ASCII text, so not something Django wrote; no signature was
    /// checked. Garbage, like a bad signature.
    NotAscii,
    /// The signature matches neither the secret nor any fallback (or there is
    /// no signature at all).
    BadSignature,
    /// Signed with a known secret, yet not a readable session: bad
    /// timestamp, base64, zlib or JSON, or JSON that is not an object. A
    /// trusted writer made it; it is never treated as garbage.
    Corrupt,
    /// The payload decompresses to more than the size limit.
    TooLarge,
}

/// A verified session: its JSON text, and its `_session_expiry` if set.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The JSON object as stored.
    pub json: String,
    /// The top-level `_session_expiry` value.
    pub expiry: Option<Value>,
}

/// Signs and verifies with one secret plus its fallbacks.
#[derive(Clone)]
pub struct Codec {
    /// One keyed HMAC per secret, current first; cloned per use so the key
    /// schedule is computed once.
    macs: Vec<Hmac<Sha256>>,
}

/// Django's `salted_hmac(key_salt, value, secret)` (SHA-256), ready for the
/// value: an HMAC keyed with `SHA256(key_salt + secret)`. Session signing
/// and `AbstractBaseUser.get_session_auth_hash` both use it.
pub fn salted_hmac(key_salt: &str, secret: &str) -> Hmac<Sha256> {
    let key = Sha256::new().chain_update(key_salt).chain_update(secret).finalize();
    // HMAC accepts keys of any length; this cannot fail.
    Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length")
}

impl Codec {
    /// The codec for these secrets, reusing the last one built on this thread
    /// when they match: a component instance serves many calls with the same
    /// settings, and this skips re-deriving the keys each time.
    pub fn cached(secret: &str, fallbacks: &[String], key_salt: &str) -> Codec {
        thread_local! {
            static LAST: std::cell::RefCell<Option<(String, Vec<String>, String, Codec)>> = const { std::cell::RefCell::new(None) };
        }
        LAST.with_borrow_mut(|last| match last {
            Some((s, f, k, codec)) if s == secret && f == fallbacks && k == key_salt => codec.clone(),
            _ => {
                let codec = Codec::new(secret, fallbacks, key_salt);
                *last = Some((secret.to_owned(), fallbacks.to_vec(), key_salt.to_owned(), codec.clone()));
                codec
            }
        })
    }

    /// Derives the signing keys: Django's signer uses
    /// `salted_hmac(key_salt + "signer", value, secret)`.
    pub fn new(secret: &str, fallbacks: &[String], key_salt: &str) -> Codec {
        let salt = format!("{key_salt}signer");
        let macs = std::iter::once(secret).chain(fallbacks.iter().map(String::as_str)).map(|secret| salted_hmac(&salt, secret)).collect();
        Codec { macs }
    }

    fn signature(mac: &Hmac<Sha256>, value: &str) -> String {
        let mut mac = mac.clone();
        mac.update(value.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Encodes `json` (already in Python's compact form) signed with the
    /// current secret at `timestamp` (Unix seconds).
    pub fn encode(&self, json: &str, timestamp: i64) -> String {
        let compressed = compress(json.as_bytes());
        let mut out = String::with_capacity(json.len().saturating_mul(4) / 3 + 64);
        // Django compresses only when that saves more than the '.' it costs.
        match compressed {
            Some(z) if z.len() < json.len().saturating_sub(1) => {
                out.push('.');
                URL_SAFE_NO_PAD.encode_string(z, &mut out);
            }
            _ => URL_SAFE_NO_PAD.encode_string(json, &mut out),
        }
        out.push(':');
        out.push_str(&crate::base62::encode(timestamp));
        let signature = Self::signature(&self.macs[0], &out);
        out.push(':');
        out.push_str(&signature);
        out
    }

    /// Decodes stored bytes into the session data, refusing any payload whose
    /// JSON would exceed `max_json` bytes. Returns the JSON text as stored and
    /// its parsed form.
    pub fn decode(&self, stored: &[u8], max_json: usize) -> Result<(String, Map<String, Value>), DecodeError> {
        let json = self.unsign(stored, max_json)?;
        let data = crate::json::parse_object(&json).map_err(|_| DecodeError::Corrupt)?;
        Ok((json, data))
    }

    /// Like [`decode`](Self::decode) but builds no tree: checks the JSON and
    /// returns its text with the `_session_expiry` value, all `load` needs.
    pub fn decode_session(&self, stored: &[u8], max_json: usize) -> Result<Decoded, DecodeError> {
        self.decode_session_signed(stored, max_json).map(|(decoded, _)| decoded)
    }

    /// [`decode_session`](Self::decode_session), also telling which secret
    /// verified it: 0 for the current one, n for the n-th fallback.
    pub fn decode_session_signed(&self, stored: &[u8], max_json: usize) -> Result<(Decoded, usize), DecodeError> {
        let signed = Signed::split(stored)?;
        let signer = self.signer(&signed).ok_or(DecodeError::BadSignature)?;
        let json = signed.unpack(max_json)?;
        let expiry = expiry_of(&json)?;
        Ok((Decoded { json, expiry }, signer))
    }

    /// Re-signs a verified value with the current secret, keeping its
    /// payload and timestamp byte for byte.
    pub fn resign(&self, signed: &Signed<'_>) -> String {
        format!("{}:{}", signed.value, Self::signature(&self.macs[0], signed.value))
    }

    /// Verifies the signature and unpacks the payload to JSON text.
    fn unsign(&self, stored: &[u8], max_json: usize) -> Result<String, DecodeError> {
        let signed = Signed::split(stored)?;
        if !self.verify(&signed) {
            return Err(DecodeError::BadSignature);
        }
        signed.unpack(max_json)
    }

    /// Constant-time check against every secret; all are tried, so timing does
    /// not reveal which one matched.
    ///
    /// Django compares base64 text; this compares the raw MACs instead, which
    /// is the same test because the strict decoder accepts only the one
    /// canonical spelling of 32 bytes (43 characters, no padding, zero
    /// trailing bits). It saves encoding every candidate.
    pub fn verify(&self, signed: &Signed<'_>) -> bool {
        self.signer(signed).is_some()
    }

    /// Which secret signed `signed` (0 for the current one, n for the n-th
    /// fallback), checked as [`verify`](Self::verify) does: every secret is
    /// tried, in constant time each.
    pub fn signer(&self, signed: &Signed<'_>) -> Option<usize> {
        let mut given = [0u8; 32];
        if URL_SAFE_NO_PAD.decode_slice(signed.signature, &mut given) != Ok(given.len()) {
            return None;
        }
        let mut found = None;
        for (i, mac) in self.macs.iter().enumerate() {
            let mut mac = mac.clone();
            mac.update(signed.value.as_bytes());
            let ok: bool = mac.finalize().into_bytes().as_slice().ct_eq(&given).into();
            if ok && found.is_none() {
                found = Some(i);
            }
        }
        found
    }
}

/// Stored text split at its signature, not yet verified: what
/// [`Codec::verify`] checks and what [`Signed::unpack`] reads.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// `<payload>:<timestamp>`, the signed value.
    value: &'a str,
    /// The base64 signature after the last `:`.
    signature: &'a str,
}

impl<'a> Signed<'a> {
    /// Splits stored bytes at the last `:`. Not ASCII means not something
    /// Django wrote; no separator means no signature, which Django's signer
    /// calls a bad signature too (and logs as a security event).
    pub fn split(stored: &'a [u8]) -> Result<Signed<'a>, DecodeError> {
        if !stored.is_ascii() {
            return Err(DecodeError::NotAscii);
        }
        let text = std::str::from_utf8(stored).map_err(|_| DecodeError::NotAscii)?;
        let (value, signature) = text.rsplit_once(':').ok_or(DecodeError::BadSignature)?;
        Ok(Signed { value, signature })
    }

    /// The payload as JSON text, refusing more than `max_json` bytes. Only
    /// `Corrupt` and `TooLarge` come from here, and only what the signature
    /// covers is read, so for a verified value the answer is the verified
    /// session's.
    pub fn unpack(&self, max_json: usize) -> Result<String, DecodeError> {
        let (payload, timestamp) = self.value.rsplit_once(':').ok_or(DecodeError::Corrupt)?;
        if !crate::base62::is_valid(timestamp) {
            return Err(DecodeError::Corrupt);
        }
        let (compressed, b64) = match payload.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, payload),
        };
        let mut bytes = LENIENT_B64.decode(b64).map_err(|_| DecodeError::Corrupt)?;
        if compressed {
            bytes = decompress(&bytes, max_json)?;
        }
        if bytes.len() > max_json {
            return Err(DecodeError::TooLarge);
        }
        // Django decodes the JSON bytes as Latin-1; ASCII (what Django
        // writes) needs no conversion.
        Ok(match String::from_utf8(bytes) {
            Ok(ascii) if ascii.is_ascii() => ascii,
            Ok(text) => text.bytes().map(|b| b as char).collect(),
            Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
        })
    }

    /// When it was signed (Unix seconds): the base62 timestamp Django's
    /// `TimestampSigner` puts before the signature.
    pub fn timestamp(&self) -> Result<i64, DecodeError> {
        let (_, timestamp) = self.value.rsplit_once(':').ok_or(DecodeError::Corrupt)?;
        crate::base62::decode(timestamp).ok_or(DecodeError::Corrupt)
    }

    /// The `_session_expiry` of the unpacked payload; `Corrupt` when the
    /// JSON is not an object.
    pub fn expiry(&self, max_json: usize) -> Result<Option<Value>, DecodeError> {
        expiry_of(&self.unpack(max_json)?)
    }
}

/// The top-level `_session_expiry` of a session's JSON, checking the whole
/// text is one object.
fn expiry_of(json: &str) -> Result<Option<Value>, DecodeError> {
    crate::json::object_field(json, crate::expiry::EXPIRY_KEY).map_err(|_| DecodeError::Corrupt)
}

thread_local! {
    /// zlib streams reused across calls: setting one up allocates and zeroes
    /// tens of kilobytes, more than compressing a small session costs.
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::default(), true));
    static INFLATE: RefCell<Decompress> = RefCell::new(Decompress::new(true));
}

/// zlib-compresses `data` at Python's default level (6).
fn compress(data: &[u8]) -> Option<Vec<u8>> {
    DEFLATE.with_borrow_mut(|z| {
        z.reset();
        // zlib's own bound for incompressible input: never needs a second pass.
        let mut out = Vec::with_capacity(data.len() + data.len() / 1000 + 64);
        match z.compress_vec(data, &mut out, FlushCompress::Finish).ok()? {
            Status::StreamEnd => Some(out),
            _ => None,
        }
    })
}

/// Inflates at most `limit + 1` bytes, so a decompression bomb costs no more
/// memory than the limit. Bytes after the end of the zlib stream are
/// ignored, as Python's `zlib.decompress` does.
fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    INFLATE.with_borrow_mut(|z| {
        z.reset(true);
        let cap = limit.saturating_add(1);
        let mut out = Vec::with_capacity(data.len().saturating_mul(4).clamp(256.min(cap), cap));
        loop {
            let (read, written) = (z.total_in(), out.len());
            let status = z.decompress_vec(&data[read as usize..], &mut out, FlushDecompress::Finish).map_err(|_| DecodeError::Corrupt)?;
            if out.len() > limit {
                return Err(DecodeError::TooLarge);
            }
            if status == Status::StreamEnd {
                return Ok(out);
            }
            if out.len() == out.capacity() {
                out.reserve(out.capacity().min(cap - out.len()).max(1));
            } else if z.total_in() == read && out.len() == written {
                // No progress with room to spare: the stream is truncated.
                return Err(DecodeError::Corrupt);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> Codec {
        Codec::new("test-secret", &["old-secret".to_owned()], "django.contrib.sessions.SessionStore")
    }

    #[test]
    fn spec_worked_example() {
        assert_eq!(codec().encode(r#"{"a":1}"#, 1_700_000_000), "eyJhIjoxfQ:1r31eq:VDoz3q_CPuIfX082QS3lXvNvB9Hqf_apspxKtUHkO_o");
    }

    #[test]
    fn compressed_round_trip_and_bomb_limit() {
        let json = format!(r#"{{"k":"{}"}}"#, "x".repeat(5000));
        let stored = codec().encode(&json, 1);
        assert!(stored.starts_with('.'));
        let back = codec().decode(stored.as_bytes(), 10_000).unwrap();
        assert_eq!(back.1["k"].as_str().map(str::len), Some(5000));
        assert_eq!(codec().decode(stored.as_bytes(), 1000), Err(DecodeError::TooLarge));
    }

    #[test]
    fn fallback_secret_verifies_but_never_signs() {
        let old = Codec::new("old-secret", &[], "django.contrib.sessions.SessionStore");
        let stored = old.encode("{}", 5);
        assert!(codec().decode(stored.as_bytes(), 100).is_ok());
        assert_ne!(codec().encode("{}", 5), stored);
    }

    #[test]
    fn truncated_and_trailing_zlib() {
        let json = format!(r#"{{"k":"{}"}}"#, "ab".repeat(3000));
        let z = compress(json.as_bytes()).unwrap();
        assert_eq!(decompress(&z, 10_000).unwrap(), json.as_bytes());
        for cut in [0, 1, 2, z.len() / 2, z.len() - 1] {
            assert_eq!(decompress(&z[..cut], 10_000), Err(DecodeError::Corrupt), "cut at {cut}");
        }
        let mut trailing = z.clone();
        trailing.extend_from_slice(b"junk");
        assert_eq!(decompress(&trailing, 10_000).unwrap(), json.as_bytes());
        assert_eq!(decompress(&z, json.len()).unwrap(), json.as_bytes());
        assert_eq!(decompress(&z, json.len() - 1), Err(DecodeError::TooLarge));
    }

    #[test]
    fn damaged_input_never_panics() {
        let good = codec().encode(r#"{"a":1}"#, 1_700_000_000);
        let tampered = good.replacen("eyJhIjox", "eyJhIjoy", 1);
        assert_eq!(codec().decode(tampered.as_bytes(), 100), Err(DecodeError::BadSignature));
        for bad in ["", ":", "::", "é:1:2"] {
            assert!(codec().decode(bad.as_bytes(), 100).is_err());
        }
        assert_eq!(codec().decode(b"Zmxhc2tkajphbGtkamY=", 100), Err(DecodeError::BadSignature));
        assert_eq!(codec().decode(&[0xff, b':', b'a'], 100), Err(DecodeError::NotAscii));
    }

    /// Django compares signature text, so only the exact text Django writes
    /// may pass: not another spelling of the same 32 bytes, and not the
    /// signature with padding, a different alphabet or an extra character.
    #[test]
    fn only_the_canonical_signature_text_verifies() {
        let good = codec().encode(r#"{"a":1}"#, 1_700_000_000);
        assert!(codec().decode(good.as_bytes(), 100).is_ok());
        let (value, signature) = good.rsplit_once(':').unwrap();
        let last = signature.chars().last().unwrap();
        // The last of 43 characters carries 4 bits and 2 zero bits: setting
        // the lowest spells the same bytes with non-zero trailing bits.
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = alphabet.find(last).unwrap();
        assert_eq!(index % 4, 0, "canonical trailing bits are zero");
        let other_spelling = &alphabet[index + 1..index + 2];
        let stem = &signature[..signature.len() - 1];
        let mut variants = vec![format!("{stem}{other_spelling}"), format!("{signature}="), format!("{signature}A"), stem.to_owned()];
        if signature.contains(['-', '_']) {
            variants.push(signature.replace('-', "+").replace('_', "/"));
        }
        for variant in variants {
            let stored = format!("{value}:{variant}");
            assert_eq!(codec().decode(stored.as_bytes(), 100), Err(DecodeError::BadSignature), "{variant}");
        }
    }
}
