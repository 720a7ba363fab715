//! Django's base62 (`django.utils.baseconv`/`signing.b62_encode`): the
//! timestamp field of a signed session.

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Encodes `n` most significant digit first (`0` → "0", `62` → "10").
pub fn encode(n: i64) -> String {
    let mut digits = Vec::new();
    let mut rest = n.unsigned_abs();
    loop {
        digits.push(ALPHABET[(rest % 62) as usize]);
        rest /= 62;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        digits.push(b'-');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// Whether `s` is something Django's `b62_decode` accepts: an optional `-`
/// then one or more base62 digits. The value itself is never needed: session
/// timestamps are not checked on load.
pub fn is_valid(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Decodes what [`encode`] writes (Django's `b62_decode`); `None` for
/// anything else or a value past `i64`.
pub fn decode(s: &str) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for b in digits.bytes() {
        let d = ALPHABET.iter().position(|&a| a == b)? as i64;
        n = n.checked_mul(62)?.checked_add(d)?;
    }
    Some(if negative { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_it_encodes() {
        for n in [0, 1, 61, 62, 1_700_000_000, -62, i64::MAX] {
            assert_eq!(decode(&encode(n)), Some(n), "{n}");
        }
        for bad in ["", "-", "a b", "é", "zzzzzzzzzzzzzzzzzzzzzz"] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn matches_django() {
        assert_eq!(encode(0), "0");
        assert_eq!(encode(61), "z");
        assert_eq!(encode(62), "10");
        assert_eq!(encode(1_700_000_000), "1r31eq");
        assert_eq!(encode(-62), "-10");
    }

    #[test]
    fn validates_like_b62_decode() {
        assert!(is_valid("1r31eq") && is_valid("-1"));
        assert!(!is_valid("") && !is_valid("-") && !is_valid("1r3_eq") && !is_valid("é"));
    }
}
