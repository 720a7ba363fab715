//! The fast paths: a one-pass JSON reader that accepts exactly what
//! [`json_parse`](crate::json_parse) accepts but builds no tree. It either
//! rewrites an object in Python's compact form (what `save` stores) or checks
//! an object and finds one top-level field (what `load` needs for expiry).
//!
//! The tree path stays the reference: the fuzzer checks that both agree.

use crate::json_parse::{self, ParseError, MAX_DEPTH};
use crate::json_python::write_float_repr;
use serde_json::Value;

/// `text` (a JSON object) in Python's compact `json.dumps` form; the same
/// as parsing it and writing it with [`json_python`](crate::json_python).
pub fn canonical_object(text: &str) -> Result<String, ParseError> {
    let mut scan = Scan { s: text.as_bytes(), i: 0, out: Some(String::with_capacity(text.len() + 16)), keys: Vec::new(), wanted: None };
    match scan.document() {
        Ok(()) => Ok(scan.out.unwrap_or_default()),
        // Repeated keys collapse (the last value wins, in the first key's
        // place): rare, so the tree path handles them.
        Err(Failure::DuplicateKey) => {
            let map = json_parse::parse_object(text)?;
            Ok(crate::json_python::to_string(&Value::Object(map)))
        }
        Err(Failure::Invalid(e)) => Err(e),
    }
}

/// Checks that `text` is a JSON object and returns the value of its
/// top-level field `key`, if present (the last one, if repeated).
pub fn object_field(text: &str, key: &str) -> Result<Option<Value>, ParseError> {
    let mut scan = Scan { s: text.as_bytes(), i: 0, out: None, keys: Vec::new(), wanted: Some((key, None)) };
    match scan.document() {
        Ok(()) | Err(Failure::DuplicateKey) => {}
        Err(Failure::Invalid(e)) => return Err(e),
    }
    match scan.wanted.and_then(|(_, span)| span) {
        Some((start, end)) => json_parse::parse(&text[start..end]).map(Some),
        None => Ok(None),
    }
}

enum Failure {
    Invalid(ParseError),
    DuplicateKey,
}

type Result<T, E = Failure> = std::result::Result<T, E>;

struct Scan<'a, 'k> {
    s: &'a [u8],
    i: usize,
    /// Where the canonical form goes; `None` when only checking.
    out: Option<String>,
    /// Output ranges of the keys of the objects being written, innermost
    /// last, to spot repeated keys.
    keys: Vec<(usize, usize)>,
    /// The top-level field to find, and the input span of its value.
    wanted: Option<(&'k str, Option<(usize, usize)>)>,
}

impl Scan<'_, '_> {
    fn fail<T>(&self, what: &str) -> Result<T> {
        Err(Failure::Invalid(ParseError(format!("{what} at byte {}", self.i))))
    }

    fn push(&mut self, s: &str) {
        if let Some(out) = &mut self.out {
            out.push_str(s);
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        let found = self.s[self.i..].starts_with(word.as_bytes());
        if found {
            self.i += word.len();
        }
        found
    }

    fn document(&mut self) -> Result<()> {
        self.skip_ws();
        if self.s.get(self.i) != Some(&b'{') {
            return self.fail("expected a JSON object");
        }
        self.value(0)?;
        self.skip_ws();
        if self.i != self.s.len() {
            return self.fail("trailing characters");
        }
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return self.fail("nesting too deep");
        }
        self.skip_ws();
        match self.s.get(self.i) {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9' | b'N' | b'I') => self.number(),
            _ => {
                for word in ["null", "true", "false"] {
                    if self.eat(word) {
                        self.push(word);
                        return Ok(());
                    }
                }
                self.fail("expected a value")
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<()> {
        self.i += 1;
        self.push("{");
        let keys_from = self.keys.len();
        self.skip_ws();
        if !self.eat("}") {
            loop {
                self.skip_ws();
                if self.s.get(self.i) != Some(&b'"') {
                    return self.fail("expected a string key");
                }
                let key_in = self.i;
                let key_out = self.out.as_ref().map_or(0, String::len);
                self.string()?;
                let key_end = self.i;
                self.note_key(keys_from, key_out)?;
                self.skip_ws();
                if !self.eat(":") {
                    return self.fail("expected ':'");
                }
                self.push(":");
                self.skip_ws();
                let value_in = self.i;
                self.value(depth + 1)?;
                if depth == 0 {
                    self.note_wanted(key_in..key_end, value_in);
                }
                self.skip_ws();
                if self.eat(",") {
                    self.push(",");
                    continue;
                }
                if self.eat("}") {
                    break;
                }
                return self.fail("expected ',' or '}'");
            }
        }
        self.keys.truncate(keys_from);
        self.push("}");
        Ok(())
    }

    /// Records the key just written at `out[key_out..]`; a repeat of an
    /// earlier key of the same object stops the fast path.
    fn note_key(&mut self, keys_from: usize, key_out: usize) -> Result<()> {
        let Some(out) = &self.out else { return Ok(()) };
        let new = &out.as_bytes()[key_out..];
        if self.keys[keys_from..].iter().any(|&(a, b)| &out.as_bytes()[a..b] == new) {
            return Err(Failure::DuplicateKey);
        }
        self.keys.push((key_out, out.len()));
        Ok(())
    }

    fn note_wanted(&mut self, key: std::ops::Range<usize>, value_in: usize) {
        let Some((wanted, span)) = &mut self.wanted else { return };
        // The key as written, without its quotes.
        let raw = &self.s[key.start + 1..key.end - 1];
        // Keys with escapes are compared after decoding; plain ones directly.
        let matches = raw == wanted.as_bytes() || (raw.contains(&b'\\') && decoded_key(&self.s[key]).as_deref() == Some(*wanted));
        if matches {
            *span = Some((value_in, self.i));
        }
    }

    fn array(&mut self, depth: usize) -> Result<()> {
        self.i += 1;
        self.push("[");
        self.skip_ws();
        if !self.eat("]") {
            loop {
                self.value(depth + 1)?;
                self.skip_ws();
                if self.eat(",") {
                    self.push(",");
                    continue;
                }
                if self.eat("]") {
                    break;
                }
                return self.fail("expected ',' or ']'");
            }
        }
        self.push("]");
        Ok(())
    }

    fn number(&mut self) -> Result<()> {
        for word in ["NaN", "Infinity", "-Infinity"] {
            if self.eat(word) {
                self.push(word);
                return Ok(());
            }
        }
        let start = self.i;
        self.eat("-");
        let int_start = self.i;
        let int_len = self.digits();
        if int_len == 0 || (int_len > 1 && self.s[int_start] == b'0') {
            return self.fail("malformed number");
        }
        let mut float = false;
        if self.eat(".") {
            float = true;
            if self.digits() == 0 {
                return self.fail("malformed number");
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            float = true;
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return self.fail("malformed number");
            }
        }
        // Only ASCII digits, signs, '.', 'e' and 'E' were consumed.
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("0");
        if let Some(out) = &mut self.out {
            if float {
                write_float_repr(out, text.parse().unwrap_or(f64::NAN));
            } else {
                out.push_str(if text == "-0" { "0" } else { text });
            }
        }
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    /// A string, re-escaped as Python's `ensure_ascii` does.
    fn string(&mut self) -> Result<()> {
        self.i += 1;
        self.push("\"");
        loop {
            let run = self.i;
            self.i = plain_run_end(self.s, run);
            if let Some(out) = &mut self.out {
                // Printable ASCII only: always valid UTF-8.
                out.push_str(std::str::from_utf8(&self.s[run..self.i]).unwrap_or_default());
            }
            match self.s.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    self.push("\"");
                    return Ok(());
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.escape()?;
                    self.write_char(c);
                }
                Some(&b) if b >= 0x7f => {
                    // A raw non-ASCII character (or DEL): decode one UTF-8 sequence.
                    let rest = &self.s[self.i..self.s.len().min(self.i + 4)];
                    let valid = match std::str::from_utf8(rest) {
                        Ok(s) => s,
                        Err(e) => std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(),
                    };
                    let Some(c) = valid.chars().next() else { return self.fail("bad UTF-8") };
                    self.i += c.len_utf8();
                    self.write_char(c);
                }
                Some(_) => return self.fail("control character in string"),
                None => return self.fail("unterminated string"),
            }
        }
    }

    /// After a backslash: the character the escape stands for.
    fn escape(&mut self) -> Result<char> {
        json_parse::decode_escape(self.s, &mut self.i).or_else(|what| self.fail(what))
    }

    fn write_char(&mut self, c: char) {
        if let Some(out) = &mut self.out {
            crate::json_python::write_escaped(out, c);
        }
    }
}

/// Where the run of bytes a string copies unchanged (printable ASCII other
/// than `"` and `\`) that starts at `i` ends. Eight bytes per step: most of
/// a session is such runs, and a word test is as cheap in wasm as natively.
fn plain_run_end(s: &[u8], mut i: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES * 0x80;
    // Nonzero when some byte of `v` is zero (exact as a yes/no answer).
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    while let Some(chunk) = s.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        let special = below_space | (x & HIGH) | has_zero(x ^ (ONES * 0x7f)) | has_zero(x ^ (ONES * u64::from(b'"'))) | has_zero(x ^ (ONES * u64::from(b'\\')));
        if special != 0 {
            break;
        }
        i += 8;
    }
    while matches!(s.get(i), Some(&b) if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
        i += 1;
    }
    i
}

/// The decoded text of `quoted`, a JSON string with its quotes.
fn decoded_key(quoted: &[u8]) -> Option<String> {
    match json_parse::parse(std::str::from_utf8(quoted).ok()?) {
        Ok(Value::String(k)) => Some(k),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow(text: &str) -> Result<String, ParseError> {
        json_parse::parse_object(text).map(|m| crate::json_python::to_string(&Value::Object(m)))
    }

    #[test]
    fn agrees_with_the_tree_path() {
        for text in [
            r#"{}"#,
            r#" { "a" : 1 , "b":[ true,false,null,-0,1.0,1E5,1e-7,12345678901234567890,NaN,-Infinity ] } "#,
            r#"{"s":"\u00e9\ud83d\ude00\u0041\/\"\\\b\f\n\r\t\u0001\u007f\ud800x é😀"}"#,
            r#"{"nested":{"z":{"y":[{"x":{}}]}},"a":"mid"}"#,
            r#"{"dup":1,"other":2,"dup":3}"#,
            r#"{"\u0064up":1,"dup":2}"#,
            r#"{"a":{"k":1,"k":2}}"#,
        ] {
            assert_eq!(canonical_object(text).map_err(|e| e.0), slow(text).map_err(|e| e.0), "{text}");
        }
    }

    #[test]
    fn refuses_what_the_tree_path_refuses() {
        for bad in ["", "[]", "1", "{", r#"{"a":}"#, r#"{"a":01}"#, r#"{"a":1.}"#, "{\"a\":\"\u{1}\"}", r#"{"a":1} x"#, r#"{"a":"\x"}"#, r#"{"a":"\u12"}"#, r#"{"a":"\u+123"}"#] {
            assert!(canonical_object(bad).is_err(), "{bad:?}");
            assert!(object_field(bad, "a").is_err(), "{bad:?}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(canonical_object(&deep).is_err() && slow(&deep).is_err());
    }

    #[test]
    fn plain_runs_stop_at_every_special_byte() {
        for special in (0u8..0x20).chain([b'"', b'\\', 0x7f, 0x80, 0xc3, 0xff]) {
            for at in 0..20 {
                let mut s = vec![b'a'; 24];
                s[at] = special;
                assert_eq!(plain_run_end(&s, 0), at, "byte {special:#x} at {at}");
                assert_eq!(plain_run_end(&s, at + 1), 24);
            }
        }
        assert_eq!(plain_run_end(b" !#[]~~~~~~~~~~~~", 0), 17);
    }

    #[test]
    fn finds_top_level_fields_only() {
        let text = r#"{"x":{"_session_expiry":1},"_session_expiry":"2030-01-01","y":2}"#;
        assert_eq!(object_field(text, "_session_expiry").unwrap(), Some(Value::String("2030-01-01".into())));
        assert_eq!(object_field(r#"{"x":{"_session_expiry":1}}"#, "_session_expiry").unwrap(), None);
        assert_eq!(object_field(r#"{"k":1,"k":-5}"#, "k").unwrap().map(|v| v.to_string()), Some("-5".into()));
        assert_eq!(object_field(r#"{"\u006b":7}"#, "k").unwrap().map(|v| v.to_string()), Some("7".into()));
    }
}
