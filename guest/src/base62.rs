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

#[cfg(test)]
mod tests {
    use super::*;

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
