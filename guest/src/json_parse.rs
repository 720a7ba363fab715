//! A JSON parser that reads what Python's `json.loads` reads.
//!
//! serde_json rejects `NaN`, `Infinity` and `-Infinity`, which Python's
//! `json.dumps` writes for non-finite floats, so Django sessions may hold them.
//! This parser accepts them and keeps every number's text exactly
//! (serde_json's `arbitrary_precision`), so big integers survive a round trip.

use serde_json::{Map, Number, Value};

/// Deepest nesting accepted; deeper input is refused rather than recursed into.
pub const MAX_DEPTH: usize = 128;

/// Why a text is not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses `text` as one JSON value (surrounding whitespace allowed).
pub fn parse(text: &str) -> Result<Value, ParseError> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    let value = p.value(0)?;
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(p.err("trailing characters"));
    }
    Ok(value)
}

/// Parses `text` as a JSON object, the only shape a session can have.
pub fn parse_object(text: &str) -> Result<Map<String, Value>, ParseError> {
    match parse(text)? {
        Value::Object(map) => Ok(map),
        other => Err(ParseError(format!("expected a JSON object, found {}", kind(&other)))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> ParseError {
        ParseError(format!("{what} at byte {}", self.i))
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.skip_ws();
        match self.s.get(self.i) {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b'-' | b'0'..=b'9' | b'N' | b'I') => self.number(),
            _ if self.eat("null") => Ok(Value::Null),
            _ if self.eat("true") => Ok(Value::Bool(true)),
            _ if self.eat("false") => Ok(Value::Bool(false)),
            _ => Err(self.err("expected a value")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.i += 1;
        let mut map = Map::new();
        self.skip_ws();
        if self.eat("}") {
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.i) != Some(&b'"') {
                return Err(self.err("expected a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            if !self.eat(":") {
                return Err(self.err("expected ':'"));
            }
            let value = self.value(depth + 1)?;
            map.insert(key, value);
            self.skip_ws();
            if self.eat(",") {
                continue;
            }
            if self.eat("}") {
                return Ok(Value::Object(map));
            }
            return Err(self.err("expected ',' or '}'"));
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.i += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.eat("]") {
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            if self.eat(",") {
                continue;
            }
            if self.eat("]") {
                return Ok(Value::Array(items));
            }
            return Err(self.err("expected ',' or ']'"));
        }
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        for word in ["NaN", "Infinity", "-Infinity"] {
            if self.eat(word) {
                return Ok(Value::Number(Number::from_string_unchecked(word.to_owned())));
            }
        }
        let start = self.i;
        self.eat("-");
        let int_start = self.i;
        self.digits();
        let int_digits = &self.s[int_start..self.i];
        if int_digits.is_empty() || (int_digits.len() > 1 && int_digits[0] == b'0') {
            return Err(self.err("malformed number"));
        }
        if self.eat(".") && self.digits() == 0 {
            return Err(self.err("malformed number"));
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("malformed number"));
            }
        }
        // The slice holds only ASCII digits, signs, '.', 'e' and 'E'.
        let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        Ok(Value::Number(Number::from_string_unchecked(text)))
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let run = self.i;
            while matches!(self.s.get(self.i), Some(&b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.i += 1;
            }
            // `run..i` never splits a UTF-8 sequence: it stops only at ASCII.
            out.push_str(std::str::from_utf8(&self.s[run..self.i]).map_err(|_| self.err("bad UTF-8"))?);
            match self.s.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(self.err("control character in string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), ParseError> {
        let c = decode_escape(self.s, &mut self.i).map_err(|what| self.err(what))?;
        out.push(c);
        Ok(())
    }
}

/// Decodes the escape after a backslash at `s[*i..]`, moving `*i` past it.
/// Shared by the tree parser and the one-pass reader so both accept the same.
pub(crate) fn decode_escape(s: &[u8], i: &mut usize) -> Result<char, &'static str> {
    let c = *s.get(*i).ok_or("unterminated escape")?;
    *i += 1;
    Ok(match c {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hi = hex4(s, i)?;
            if (0xD800..0xDC00).contains(&hi) && s[*i..].starts_with(b"\\u") {
                let save = *i;
                *i += 2;
                let lo = hex4(s, i)?;
                if (0xDC00..0xE000).contains(&lo) {
                    return Ok(char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)).unwrap_or('\u{FFFD}'));
                }
                *i = save;
            }
            // Python keeps a lone surrogate; Rust strings cannot, so it
            // becomes U+FFFD rather than losing the whole session.
            char::from_u32(hi).unwrap_or('\u{FFFD}')
        }
        _ => return Err("unknown escape"),
    })
}

/// Exactly four hex digits (`from_str_radix` alone would take "+123").
fn hex4(s: &[u8], i: &mut usize) -> Result<u32, &'static str> {
    let digits = s.get(*i..*i + 4).ok_or("short \\u escape")?;
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err("bad \\u escape");
    }
    let code = digits.iter().fold(0, |n, d| n * 16 + (*d as char).to_digit(16).unwrap_or(0));
    *i += 4;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_python_only_tokens_and_keeps_number_text() {
        let v = parse(r#"{"n":NaN,"i":Infinity,"m":-Infinity,"big":12345678901234567890,"f":1e+16}"#).unwrap();
        assert_eq!(v["n"].to_string(), "NaN");
        assert_eq!(v["m"].to_string(), "-Infinity");
        assert_eq!(v["big"].to_string(), "12345678901234567890");
        assert_eq!(v["f"].to_string(), "1e+16");
    }

    #[test]
    fn keeps_key_order_and_last_duplicate_wins_in_place() {
        let m = parse_object(r#"{"z":1,"a":2,"z":3}"#).unwrap();
        let keys: Vec<_> = m.keys().cloned().collect();
        assert_eq!(keys, ["z", "a"]);
        assert_eq!(m["z"], 3);
    }

    #[test]
    fn decodes_escapes_and_surrogate_pairs() {
        let v = parse(r#""\u00e9\ud83d\ude00\n\/\ud800x""#).unwrap();
        assert_eq!(v, Value::String("é😀\n/\u{FFFD}x".into()));
    }

    #[test]
    fn refuses_malformed_and_too_deep_input() {
        for bad in ["", "{", "{\"a\":}", "[1,]", "01", "1.", "-", "\"\u{1}\"", "{} x", "nul", "\"\\x\"", "\"\\u+123\""] {
            assert!(parse(bad).is_err(), "{bad:?} should fail");
        }
        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert!(parse(&deep).is_err());
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
        assert!(parse_object("[1]").is_err());
    }
}
