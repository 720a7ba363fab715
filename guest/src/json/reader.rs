//! The tokenizer every JSON path shares: a state machine over the input with
//! an explicit stack of open containers (one byte per level), so no input
//! can exhaust the call stack however deeply it nests.

use super::ParseError;

/// A string token: the bytes between its quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Str {
    /// Index of the first byte after the opening quote.
    pub start: usize,
    /// Index of the closing quote.
    pub end: usize,
    /// Only printable ASCII other than `"`, `\` and DEL: its text is its
    /// value, and Python writes it unchanged.
    pub plain: bool,
}

/// One token of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    BeginObject,
    EndObject,
    BeginArray,
    EndArray,
    /// An object key (the `:` after it is consumed too).
    Key(Str),
    /// A string value.
    Str(Str),
    /// A number as written: `start..end`; `float` when it has a fraction or
    /// an exponent (a Python float; otherwise a Python int).
    Number { start: usize, end: usize, float: bool },
    /// `null`, `true`, `false`, `NaN`, `Infinity` or `-Infinity`.
    Word(&'static str),
}

/// What may come next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Value,
    /// Right after `{`.
    KeyOrEnd,
    /// Right after `[`.
    ValueOrEnd,
    /// After a value: `,`, the closing bracket, or the end of input.
    AfterValue,
    Done,
}

/// One UTF-16 unit or character a string escape stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// A character (a `\uXXXX\uXXXX` surrogate pair is one).
    Char(char),
    /// A `\uXXXX` surrogate with no partner, which Python keeps as is.
    LoneSurrogate(u16),
}

/// Tokenizes one JSON text.
pub(crate) struct Reader<'a> {
    s: &'a [u8],
    i: usize,
    /// Open containers, innermost last: `true` for an object.
    stack: Vec<bool>,
    expect: Expect,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub fn new(text: &'a str) -> Reader<'a> {
        Reader { s: text.as_bytes(), i: 0, stack: Vec::new(), expect: Expect::Value }
    }

    /// The input.
    pub fn bytes(&self) -> &'a [u8] {
        self.s
    }

    /// Where the next token starts looking: just past the last one read.
    pub fn offset(&self) -> usize {
        self.i
    }

    /// How many containers are open.
    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    /// An error at the current position.
    #[cold]
    #[inline(never)]
    pub fn error(&self, what: &str) -> ParseError {
        ParseError(format!("{what} at byte {}", self.i))
    }

    /// The next token, or `None` once the one top-level value has been read
    /// and only whitespace followed it.
    #[inline(always)]
    pub fn next(&mut self) -> Result<Option<Token>, ParseError> {
        self.skip_ws();
        let token = match self.expect {
            Expect::Value => self.value()?,
            Expect::KeyOrEnd if self.peek() == Some(b'}') => self.close(true),
            Expect::KeyOrEnd => self.key()?,
            Expect::ValueOrEnd if self.peek() == Some(b']') => self.close(false),
            Expect::ValueOrEnd => self.value()?,
            Expect::AfterValue => match (self.stack.last().copied(), self.peek()) {
                (None, None) => {
                    self.expect = Expect::Done;
                    return Ok(None);
                }
                (None, Some(_)) => return Err(self.error("trailing characters")),
                (Some(object), Some(b',')) => {
                    self.i += 1;
                    self.skip_ws();
                    if object {
                        self.key()?
                    } else {
                        self.value()?
                    }
                }
                (Some(true), Some(b'}')) => self.close(true),
                (Some(false), Some(b']')) => self.close(false),
                (Some(true), _) => return Err(self.error("expected ',' or '}'")),
                (Some(false), _) => return Err(self.error("expected ',' or ']'")),
            },
            Expect::Done => return Ok(None),
        };
        Ok(Some(token))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
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

    #[inline(always)]
    fn close(&mut self, object: bool) -> Token {
        self.i += 1;
        self.stack.pop();
        self.expect = Expect::AfterValue;
        if object {
            Token::EndObject
        } else {
            Token::EndArray
        }
    }

    #[inline(always)]
    fn key(&mut self) -> Result<Token, ParseError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string key"));
        }
        let key = self.string()?;
        self.skip_ws();
        if !self.eat(":") {
            return Err(self.error("expected ':'"));
        }
        self.expect = Expect::Value;
        Ok(Token::Key(key))
    }

    #[inline(always)]
    fn value(&mut self) -> Result<Token, ParseError> {
        let token = match self.peek() {
            Some(b'{') => {
                self.i += 1;
                self.stack.push(true);
                self.expect = Expect::KeyOrEnd;
                return Ok(Token::BeginObject);
            }
            Some(b'[') => {
                self.i += 1;
                self.stack.push(false);
                self.expect = Expect::ValueOrEnd;
                return Ok(Token::BeginArray);
            }
            Some(b'"') => Token::Str(self.string()?),
            Some(b'-' | b'0'..=b'9' | b'N' | b'I') => self.number()?,
            _ => match ["null", "true", "false"].into_iter().find(|word| self.eat(word)) {
                Some(word) => Token::Word(word),
                None => return Err(self.error("expected a value")),
            },
        };
        self.expect = Expect::AfterValue;
        Ok(token)
    }

    #[inline(always)]
    fn number(&mut self) -> Result<Token, ParseError> {
        if let Some(word) = ["NaN", "Infinity", "-Infinity"].into_iter().find(|word| self.eat(word)) {
            return Ok(Token::Word(word));
        }
        let start = self.i;
        self.eat("-");
        let int_start = self.i;
        let int_len = self.digits();
        if int_len == 0 || (int_len > 1 && self.s[int_start] == b'0') {
            return Err(self.error("malformed number"));
        }
        let mut float = false;
        if self.eat(".") {
            float = true;
            if self.digits() == 0 {
                return Err(self.error("malformed number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            float = true;
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("malformed number"));
            }
        }
        Ok(Token::Number { start, end: self.i, float })
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    /// A string starting at its opening quote: checked, not decoded.
    #[inline(always)]
    fn string(&mut self) -> Result<Str, ParseError> {
        self.i += 1;
        let start = self.i;
        let mut plain = true;
        loop {
            self.i = plain_run_end(self.s, self.i);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(Str { start, end: self.i - 1, plain });
                }
                Some(b'\\') => {
                    plain = false;
                    self.i += 1;
                    decode_escape(self.s, &mut self.i).map_err(|what| self.error(what))?;
                }
                // DEL, or the lead byte of a character outside ASCII (the
                // input is a `str`, so the sequence is valid UTF-8).
                Some(b) if b >= 0x7f => {
                    plain = false;
                    self.i += utf8_len(b);
                }
                Some(_) => return Err(self.error("control character in string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }
}

/// Length of the UTF-8 sequence a lead byte starts (1 for ASCII).
pub(crate) fn utf8_len(lead: u8) -> usize {
    match lead {
        0xf0.. => 4,
        0xe0.. => 3,
        0xc0.. => 2,
        _ => 1,
    }
}

/// Where the run of bytes a string copies unchanged (printable ASCII other
/// than `"` and `\`) that starts at `i` ends. Eight bytes per step: most of
/// a session is such runs, and a word test is as cheap in wasm as natively.
pub(crate) fn plain_run_end(s: &[u8], mut i: usize) -> usize {
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

/// Decodes the escape after a backslash at `s[*i..]`, moving `*i` past it.
pub(crate) fn decode_escape(s: &[u8], i: &mut usize) -> Result<Unit, &'static str> {
    let c = *s.get(*i).ok_or("unterminated escape")?;
    *i += 1;
    Ok(Unit::Char(match c {
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
                    let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    return Ok(Unit::Char(char::from_u32(code).ok_or("bad surrogate pair")?));
                }
                *i = save;
            }
            match char::from_u32(hi) {
                Some(c) => c,
                // Only D800..DFFF is not a char: a surrogate without partner.
                None => return Ok(Unit::LoneSurrogate(hi as u16)),
            }
        }
        _ => return Err("unknown escape"),
    }))
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

/// Calls `f` with each character or lone surrogate of the string `str` in
/// `s`, escapes decoded.
pub(crate) fn for_each_unit(s: &[u8], str: Str, mut f: impl FnMut(Unit)) {
    let mut i = str.start;
    while i < str.end {
        let b = s[i];
        if b == b'\\' {
            i += 1;
            // The reader checked every escape already.
            match decode_escape(s, &mut i) {
                Ok(unit) => f(unit),
                Err(_) => f(Unit::Char('\u{FFFD}')),
            }
        } else {
            let len = utf8_len(b);
            let c = std::str::from_utf8(&s[i..i + len]).ok().and_then(|t| t.chars().next()).unwrap_or('\u{FFFD}');
            f(Unit::Char(c));
            i += len;
        }
    }
}

/// The value of the string `str` in `s` as Rust text. Rust strings cannot
/// hold a lone surrogate; it becomes U+FFFD (the store's own paths keep it:
/// see [`canonical_object`](super::canonical_object)).
pub(crate) fn decode_str(s: &[u8], str: Str) -> String {
    let raw = &s[str.start..str.end];
    if str.plain {
        // Printable ASCII only, so the check cannot fail (and is much
        // cheaper than a lossy conversion); a bug that broke that would
        // panic here rather than lose the text.
        return std::str::from_utf8(raw).expect("a plain string is ASCII").to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    for_each_unit(s, str, |unit| match unit {
        Unit::Char(c) => out.push(c),
        Unit::LoneSurrogate(_) => out.push('\u{FFFD}'),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Result<Vec<Token>, ParseError> {
        let mut r = Reader::new(text);
        let mut out = Vec::new();
        while let Some(t) = r.next()? {
            out.push(t);
        }
        Ok(out)
    }

    #[test]
    fn nesting_is_bounded_by_input_only() {
        let n = 500_000;
        let deep = "[".repeat(n) + &"]".repeat(n);
        assert_eq!(tokens(&deep).unwrap().len(), 2 * n);
        assert!(tokens(&("[".repeat(n) + &"]".repeat(n - 1))).is_err());
    }

    #[test]
    fn plain_runs_stop_at_every_special_byte() {
        for special in [b'"', b'\\', 0x7f, 0x1f, 0x00, 0x80, 0xff] {
            for at in 0..20 {
                let mut s = vec![b'a'; 20];
                s[at] = special;
                assert_eq!(plain_run_end(&s, 0), at, "byte {special:#x} at {at}");
            }
        }
        assert_eq!(plain_run_end(&[b'a'; 20], 0), 20);
    }

    #[test]
    fn refuses_what_python_refuses() {
        for bad in ["", "{", "{\"a\":}", "[1,]", "01", "1.", "-", "\"\u{1}\"", "{} x", "nul", "\"\\x\"", "\"\\u+123\"", "{\"a\" 1}", "{1:2}", "[1 2]", "{\"a\":1,}", "]"] {
            assert!(tokens(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn lone_surrogates_are_units_of_their_own() {
        let text = r#""\ud800\u0041\udc00\ud83d\ude00""#;
        let mut r = Reader::new(text);
        let Some(Token::Str(s)) = r.next().unwrap() else { panic!() };
        let mut units = Vec::new();
        for_each_unit(r.bytes(), s, |u| units.push(u));
        assert_eq!(units, [Unit::LoneSurrogate(0xd800), Unit::Char('A'), Unit::LoneSurrogate(0xdc00), Unit::Char('😀')]);
    }
}
