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
use std::io::{Read, Write};
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
    /// The signature matches neither the secret nor any fallback.
    BadSignature,
    /// Signed correctly, or not even well-formed, but not a session: bad
    /// ASCII, base64, timestamp, zlib or JSON, or JSON that is not an object.
    Corrupt,
    /// The payload decompresses to more than the size limit.
    TooLarge,
}

/// Signs and verifies with one secret plus its fallbacks.
#[derive(Clone)]
pub struct Codec {
    /// One keyed HMAC per secret, current first; cloned per use so the key
    /// schedule is computed once.
    macs: Vec<Hmac<Sha256>>,
}

impl Codec {
    /// Derives the signing keys: `SHA256(key_salt + "signer" + secret)`.
    pub fn new(secret: &str, fallbacks: &[String], key_salt: &str) -> Codec {
        let macs = std::iter::once(secret)
            .chain(fallbacks.iter().map(String::as_str))
            .map(|secret| {
                let derived = Sha256::new()
                    .chain_update(key_salt)
                    .chain_update("signer")
                    .chain_update(secret)
                    .finalize();
                // HMAC accepts keys of any length; this cannot fail.
                Hmac::<Sha256>::new_from_slice(&derived).expect("HMAC takes any key length")
            })
            .collect();
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
        let mut out = String::with_capacity(json.len() * 4 / 3 + 64);
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
    /// JSON would exceed `max_json` bytes.
    /// Returns the JSON text as stored and its parsed form.
    pub fn decode(&self, stored: &[u8], max_json: usize) -> Result<(String, Map<String, Value>), DecodeError> {
        let text = std::str::from_utf8(stored).map_err(|_| DecodeError::Corrupt)?;
        if !text.is_ascii() {
            return Err(DecodeError::Corrupt);
        }
        // No separator means no signature: Django's signer calls that a bad
        // signature too, and logs it as a security event.
        let (value, signature) = text.rsplit_once(':').ok_or(DecodeError::BadSignature)?;
        if !self.verify(value, signature) {
            return Err(DecodeError::BadSignature);
        }
        let (payload, timestamp) = value.rsplit_once(':').ok_or(DecodeError::Corrupt)?;
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
        // Django decodes the JSON bytes as Latin-1.
        let json: String = bytes.iter().map(|&b| b as char).collect();
        let data = crate::json_parse::parse_object(&json).map_err(|_| DecodeError::Corrupt)?;
        Ok((json, data))
    }

    /// Constant-time check against every secret; all are tried, so timing does
    /// not reveal which one matched.
    fn verify(&self, value: &str, signature: &str) -> bool {
        let mut ok = subtle::Choice::from(0);
        for mac in &self.macs {
            ok |= Self::signature(mac, value).as_bytes().ct_eq(signature.as_bytes());
        }
        ok.into()
    }
}

fn compress(data: &[u8]) -> Option<Vec<u8>> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::with_capacity(data.len() / 2 + 16), flate2::Compression::default());
    z.write_all(data).ok()?;
    z.finish().ok()
}

/// Inflates at most `limit + 1` bytes, so a decompression bomb costs no more
/// memory than the limit.
fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let cap = limit as u64 + 1;
    flate2::read::ZlibDecoder::new(data)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|_| DecodeError::Corrupt)?;
    if out.len() as u64 >= cap {
        return Err(DecodeError::TooLarge);
    }
    Ok(out)
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
    fn damaged_input_never_panics() {
        let good = codec().encode(r#"{"a":1}"#, 1_700_000_000);
        let tampered = good.replacen("eyJhIjox", "eyJhIjoy", 1);
        assert_eq!(codec().decode(tampered.as_bytes(), 100), Err(DecodeError::BadSignature));
        for bad in ["", ":", "::", "é:1:2"] {
            assert!(codec().decode(bad.as_bytes(), 100).is_err());
        }
        assert_eq!(codec().decode(b"Zmxhc2tkajphbGtkamY=", 100), Err(DecodeError::BadSignature));
        assert_eq!(codec().decode(&[0xff, b':', b'a'], 100), Err(DecodeError::Corrupt));
    }
}
