//! Session keys: what a valid key is, and how new ones are drawn.

/// Length of every key sessionbox creates (Django's, too).
pub const KEY_LEN: usize = 32;
/// Shortest key Django accepts.
pub const MIN_KEY_LEN: usize = 8;
const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Whether `key` is a session key as Django's `SessionBase` accepts one: at
/// least 8 characters, all in `[a-z0-9]`.
pub fn is_valid(key: &str) -> bool {
    key.len() >= MIN_KEY_LEN && has_valid_chars(key)
}

/// Whether every character of `key` is in `[a-z0-9]`: Django's file backend
/// refuses any other (`InvalidSessionKey`), and this check is the
/// path-traversal guard. Length is not its business: a short key simply
/// names no session.
pub fn has_valid_chars(key: &str) -> bool {
    key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Draws `len` characters uniformly from `[a-z0-9]`, pulling bytes from
/// `random` (a CSPRNG). Bytes >= 252 are rejected so every character is
/// equally likely (252 = 7 × 36).
pub fn random_string(len: usize, mut random: impl FnMut(&mut [u8])) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        random(&mut buf);
        for &b in &buf {
            if b < 252 && out.len() < len {
                out.push(ALPHABET[(b % 36) as usize] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        assert!(is_valid("abcdefgh") && is_valid("0123456789abcdefghijklmnopqrstuv"));
        for bad in ["", "abcdefg", "ABCDEFGH", "abcd/efgh", "abcd\\efgh", "..abcdefg", "abcdefgh\0", "abcdéfgh", "abcd efgh"] {
            assert!(!is_valid(bad), "{bad:?}");
        }
    }

    #[test]
    fn random_strings_use_the_whole_alphabet_and_skip_biased_bytes() {
        let mut counter = 0u8;
        let s = random_string(300, |buf| {
            for b in buf.iter_mut() {
                *b = counter;
                counter = counter.wrapping_add(1);
            }
        });
        assert_eq!(s.len(), 300);
        assert!(is_valid(&s));
        // Bytes 252..=255 were dropped: the cycle is 252 characters long.
        assert_eq!(&s[..36], "abcdefghijklmnopqrstuvwxyz0123456789");
        assert_eq!(&s[252..288], "abcdefghijklmnopqrstuvwxyz0123456789");
    }
}
