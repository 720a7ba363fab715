//! JSON into `serde_json` values, built without recursion, and the one-field
//! lookup `load` uses, which builds no tree at all.

use super::reader::{decode_str, for_each_unit, plain_run_end, Reader, Str, Token, Unit};
use super::ParseError;
use serde_json::{Map, Number, Value};

/// Parses `text` as one JSON value (surrounding whitespace allowed). A lone
/// surrogate in a string becomes U+FFFD: Rust strings cannot hold one.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    build(text, usize::MAX)
}

/// Parses `text` as a JSON object, the only shape a session can have.
pub fn parse_object(text: &str) -> Result<Map<String, Value>, ParseError> {
    parse_object_within(text, usize::MAX)
}

/// Like [`parse_object`], refusing containers nested more than `max_depth`
/// deep (the object itself is depth 1), so that code which walks the tree
/// recursively (`Drop`, `Clone`, serializers) cannot overflow its stack.
pub fn parse_object_within(text: &str, max_depth: usize) -> Result<Map<String, Value>, ParseError> {
    match build(text, max_depth)? {
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

/// Builds the tree bottom-up on two flat stacks: the values (and, for
/// objects, the keys) of every open container wait there, and a closing
/// bracket moves its container's share into a collection of exactly that
/// size. Growing each map or vector one insert at a time would reallocate
/// and move its entries again and again.
fn build(text: &str, max_depth: usize) -> Result<Value, ParseError> {
    let mut reader = Reader::new(text);
    let mut values: Vec<Value> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    // Each open container: where its values and keys start on the stacks.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut done = None;
    while let Some(token) = reader.next()? {
        let s = reader.bytes();
        let value = match token {
            Token::BeginObject | Token::BeginArray => {
                if open.len() >= max_depth {
                    return Err(reader.error(&format!("nested deeper than {max_depth} levels")));
                }
                open.push((values.len(), keys.len()));
                continue;
            }
            Token::Key(key) => {
                keys.push(decode_str(s, key));
                continue;
            }
            Token::EndObject | Token::EndArray => {
                let (first_value, first_key) = open.pop().ok_or_else(|| reader.error("unbalanced close"))?;
                if token == Token::EndObject {
                    // Python's dict: a repeated key keeps its place, takes the value.
                    let pairs = keys.len() - first_key;
                    let mut map: Map<String, Value> = keys.drain(first_key..).zip(values.drain(first_value..)).collect();
                    if map.len() < pairs {
                        // Room was reserved for every pair, repeats too: a
                        // map of one key repeated a million times must not
                        // keep that room for as long as the caller holds it.
                        map = map.into_iter().collect();
                    }
                    Value::Object(map)
                } else if first_value == 0 {
                    // The array owns the whole stack (the outermost, or one
                    // before any sibling value): take it instead of copying,
                    // so a huge flat array costs its size once, not twice.
                    let mut items = std::mem::take(&mut values);
                    items.shrink_to_fit();
                    Value::Array(items)
                } else {
                    Value::Array(values.drain(first_value..).collect())
                }
            }
            Token::Str(str) => Value::String(decode_str(s, str)),
            Token::Number { start, end, .. } => number(&s[start..end]),
            Token::Word(word) => word_value(word),
        };
        if open.is_empty() {
            done = Some(value);
        } else {
            values.push(value);
        }
    }
    done.ok_or_else(|| reader.error("expected a value"))
}

/// A number's text, kept exactly (Python ints are unbounded).
fn number(text: &[u8]) -> Value {
    // The reader passed only ASCII digits, signs, '.', 'e' and 'E'.
    Value::Number(Number::from_string_unchecked(String::from_utf8_lossy(text).into_owned()))
}

/// `null`, `true`, `false`, or the number `NaN`, `Infinity`, `-Infinity`.
fn word_value(word: &str) -> Value {
    match word {
        "null" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::Number(Number::from_string_unchecked(word.to_owned())),
    }
}

/// Checks that `text` is a JSON object and returns the value of its
/// top-level field `key`, if present (the last one, if repeated). A scalar
/// comes back whole; an array or object comes back empty (of its kind), so
/// no tree is built: callers such as the expiry rules only read scalars.
pub fn object_field(text: &str, key: &str) -> Result<Option<Value>, ParseError> {
    let mut reader = Reader::new(text);
    if reader.next()? != Some(Token::BeginObject) {
        return Err(ParseError("expected a JSON object at byte 0".to_owned()));
    }
    let mut found = None;
    let mut wanted = false;
    while let Some(token) = reader.next()? {
        let s = reader.bytes();
        match token {
            Token::Key(k) if reader.depth() == 1 => {
                let raw = &s[k.start..k.end];
                wanted = if k.plain { raw == key.as_bytes() } else { decode_str(s, k) == key };
            }
            Token::BeginObject | Token::BeginArray => {
                if std::mem::take(&mut wanted) {
                    found = Some(if token == Token::BeginObject { Value::Object(Map::new()) } else { Value::Array(Vec::new()) });
                }
            }
            Token::Str(str) if wanted => found = Some(Value::String(decode_str(s, str))),
            Token::Number { start, end, .. } if wanted => found = Some(number(&s[start..end])),
            Token::Word(word) if wanted => found = Some(word_value(word)),
            _ => {}
        }
        if !matches!(token, Token::Key(_)) {
            wanted = false;
        }
    }
    Ok(found)
}

/// One top-level member of a JSON object, as [`object_members_within`]
/// finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The key, decoded as [`parse`] decodes it (a lone surrogate becomes
    /// U+FFFD).
    pub key: String,
    /// Where the value's text lies in the object's text, without the
    /// whitespace around it: [`parse`] of that slice is the value.
    pub value: std::ops::Range<usize>,
}

/// An object's top-level members, as [`object_members_within`] finds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    /// Every member in text order; a repeated key once per occurrence.
    pub members: Vec<Member>,
    /// Whether some string, key or value at any depth, holds a lone
    /// surrogate escape: [`parse`] turns it into U+FFFD, so the text then
    /// says more than the tree parsed from it.
    pub lone_surrogates: bool,
}

/// Checks `text` exactly as [`parse_object_within`] does (JSON as Python
/// reads it, an object, nested at most `max_depth` deep), failing with the
/// same error, and returns where each top-level value lies instead of a
/// tree: a caller that reads a few keys parses only their values.
pub fn object_members_within(text: &str, max_depth: usize) -> Result<Members, ParseError> {
    let mut reader = Reader::new(text);
    if reader.next()? != Some(Token::BeginObject) {
        // Not an object: the tree builder says why, in its own words.
        return Err(parse_object_within(text, max_depth).err().unwrap_or_else(|| ParseError("expected a JSON object at byte 0".to_owned())));
    }
    if max_depth == 0 {
        return Err(reader.error(&format!("nested deeper than {max_depth} levels")));
    }
    let s = reader.bytes();
    let mut found = Members::default();
    while let Some(token) = reader.next()? {
        match token {
            Token::BeginObject | Token::BeginArray => {
                if reader.depth() > max_depth {
                    return Err(reader.error(&format!("nested deeper than {max_depth} levels")));
                }
                continue;
            }
            Token::Key(key) => {
                found.lone_surrogates |= has_lone_surrogate(s, key);
                if reader.depth() == 1 {
                    let mut start = reader.offset();
                    while let Some(b' ' | b'\t' | b'\n' | b'\r') = s.get(start) {
                        start += 1;
                    }
                    found.members.push(Member { key: decode_str(s, key), value: start..start });
                }
                continue;
            }
            Token::Str(str) => found.lone_surrogates |= has_lone_surrogate(s, str),
            _ => {}
        }
        // A scalar, or a container's closing bracket, back at the top level:
        // the last key's value ends here.
        if reader.depth() == 1 {
            if let Some(last) = found.members.last_mut() {
                last.value.end = reader.offset();
            }
        }
    }
    Ok(found)
}

/// [`object_members_within`] for text already known to be a valid JSON
/// object, such as what a store's load returns (the load checked it): only
/// the nesting is checked here, in one quick pass over the bytes that
/// tokenizes nothing, and anything unexpected (too deep, not an object, a
/// possible lone surrogate) is handed to [`object_members_within`], so
/// the answer and the errors are its own. On text that is not valid JSON
/// the spans may not parse: the caller's [`parse`] of a value then fails.
pub fn object_members_of_valid(text: &str, max_depth: usize) -> Result<Members, ParseError> {
    match quick_members(text.as_bytes(), max_depth) {
        Some(members) => Ok(Members { members, lone_surrogates: false }),
        None => object_members_within(text, max_depth),
    }
}

/// The pass [`object_members_of_valid`] makes; `None` for anything it
/// leaves to the checking reader.
fn quick_members(s: &[u8], max_depth: usize) -> Option<Vec<Member>> {
    let ws = |i: &mut usize| {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = s.get(*i) {
            *i += 1;
        }
    };
    let mut i = 0;
    ws(&mut i);
    if s.get(i) != Some(&b'{') || max_depth == 0 {
        return None;
    }
    i += 1;
    let mut depth = 1;
    let mut members: Vec<Member> = Vec::new();
    // At the top level, the next string is a key.
    let mut want_key = true;
    while depth > 0 {
        match *s.get(i)? {
            b'"' => {
                let start = i + 1;
                let (end, plain) = skip_string(s, start)?;
                i = end + 1;
                if depth == 1 && want_key {
                    want_key = false;
                    ws(&mut i);
                    if s.get(i) != Some(&b':') {
                        return None;
                    }
                    i += 1;
                    ws(&mut i);
                    members.push(Member { key: decode_str(s, Str { start, end, plain }), value: i..i });
                    continue;
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return None;
                }
                i += 1;
                continue;
            }
            b'}' | b']' => {
                depth -= 1;
                i += 1;
            }
            b',' => {
                want_key = depth == 1;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\n' | b'\r' | b':' => {
                i += 1;
                continue;
            }
            // A number or a word: up to the next delimiter.
            _ => {
                i += 1;
                while !matches!(s.get(i), None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')) {
                    i += 1;
                }
            }
        }
        // A value just ended: at the top level, the last key's.
        if depth == 1 {
            members.last_mut()?.value.end = i;
        }
    }
    Some(members)
}

/// The end (closing quote) of the string whose text starts at `i`, and
/// whether it is plain; `None` at a `\ud` escape, which may be a lone
/// surrogate, or at the end of the input.
fn skip_string(s: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let mut plain = true;
    loop {
        i = plain_run_end(s, i);
        match *s.get(i)? {
            b'"' => return Some((i, plain)),
            b'\\' => {
                plain = false;
                if s.get(i + 1) == Some(&b'u') && s.get(i + 2).is_some_and(|b| b | 0x20 == b'd') {
                    return None;
                }
                i += 2;
            }
            _ => {
                plain = false;
                i += 1;
            }
        }
    }
}

/// Whether the string `str` holds a `\u` escape of a surrogate with no
/// partner. Only an escape starting `\ud` can be one, which few strings
/// hold; only those are decoded.
fn has_lone_surrogate(s: &[u8], str: Str) -> bool {
    if str.plain || !s[str.start..str.end].windows(3).any(|w| w[0] == b'\\' && w[1] == b'u' && (w[2] | 0x20) == b'd') {
        return false;
    }
    let mut lone = false;
    for_each_unit(s, str, |unit| lone |= matches!(unit, Unit::LoneSurrogate(_)));
    lone
}

/// Whether `text` (one JSON value) holds `NaN`, `Infinity` or `-Infinity`,
/// which Python writes but strict JSON (RFC 8259) has no words for.
pub fn has_non_finite(text: &str) -> Result<bool, ParseError> {
    let mut reader = Reader::new(text);
    let mut found = false;
    while let Some(token) = reader.next()? {
        found |= matches!(token, Token::Word("NaN" | "Infinity" | "-Infinity"));
    }
    Ok(found)
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
    fn depth_limit_only_where_asked() {
        let nested = |n: usize| format!("{{\"a\":{}{}}}", "[".repeat(n - 1), "]".repeat(n - 1));
        assert!(parse_object_within(&nested(1000), 1000).is_ok());
        assert!(parse_object_within(&nested(1001), 1000).is_err());
        // Unlimited: deeper than any recursive parser could go. Dropping it
        // would recurse, so it is leaked on purpose.
        std::mem::forget(parse_object(&nested(200_000)).unwrap());
    }

    #[test]
    fn spots_non_finite_numbers_outside_strings() {
        assert_eq!(has_non_finite(r#"{"a":[1,{"b":-Infinity}]}"#), Ok(true));
        assert_eq!(has_non_finite(r#"{"NaN":"Infinity","x":1e308}"#), Ok(false));
    }

    #[test]
    fn members_are_the_values_parse_reads() {
        let text = r#" { "a" : [1, {"b": 2}] , "s":"x\u00e9","a":  NaN ,"n":12345678901234567890,"o":{}} "#;
        let found = object_members_within(text, 10).unwrap();
        assert!(!found.lone_surrogates);
        let spans: Vec<(&str, &str)> = found.members.iter().map(|m| (m.key.as_str(), &text[m.value.clone()])).collect();
        assert_eq!(spans, [("a", r#"[1, {"b": 2}]"#), ("s", r#""x\u00e9""#), ("a", "NaN"), ("n", "12345678901234567890"), ("o", "{}")]);
        let whole = parse_object(text).unwrap();
        for m in &found.members[1..] {
            assert_eq!(parse(&text[m.value.clone()]).unwrap(), whole[&m.key]);
        }
        assert!(object_members_within("{}", 1).unwrap().members.is_empty());
    }

    #[test]
    fn members_fail_as_the_tree_builder_does() {
        let nested = |n: usize| format!("{{\"a\":{}{}}}", "[".repeat(n - 1), "]".repeat(n - 1));
        assert!(object_members_within(&nested(1000), 1000).is_ok());
        for (text, depth) in [(nested(1001), 1000), (nested(3), 2), ("{}".to_owned(), 0), ("[1]".to_owned(), 5), ("{\"a\":1,}".to_owned(), 5), ("{\"a\":[1}".to_owned(), 5), ("1 x".to_owned(), 5)] {
            assert_eq!(object_members_within(&text, depth).err(), parse_object_within(&text, depth).err(), "{text:.40}");
            assert!(object_members_within(&text, depth).is_err());
        }
    }

    #[test]
    fn the_quick_pass_agrees_with_the_checking_reader() {
        let nested = |n: usize| format!("{{\"a\":{}{}}}", "[".repeat(n - 1), "]".repeat(n - 1));
        let texts = [
            r#"{}"#.to_owned(),
            r#" { "a" : [1, {"b": "}]\"{["}] , "s":"x\u00e9","a":  NaN ,"n":-12.5e+3,"o":{},"t":true,"\u0062":null } "#.to_owned(),
            r#"{"k":"\\","l":"\"","é":"ü","deep":[[[[]]]],"w":-Infinity}"#.to_owned(),
            r#"{"a":"\ud83d\ude00"}"#.to_owned(),
            r#"{"a":"\ud800"}"#.to_owned(),
            nested(10),
        ];
        for text in &texts {
            for depth in [0, 1, 2, 4, 5, 10, 100] {
                assert_eq!(object_members_of_valid(text, depth), object_members_within(text, depth), "{text} within {depth}");
            }
        }
        assert_eq!(quick_members(texts[1].as_bytes(), 10).map(|m| m.len()), Some(7), "the quick pass itself ran");
        assert_eq!(quick_members(br#"{"a":"\ud800"}"#, 10), None);
        assert!(object_members_of_valid(&nested(3), 2).is_err());
    }

    #[test]
    fn members_note_lone_surrogates_only() {
        let lone = |text: &str| object_members_within(text, 10).unwrap().lone_surrogates;
        assert!(lone(r#"{"a":"\ud800"}"#));
        assert!(lone(r#"{"\uDC00":1}"#));
        assert!(lone(r#"{"a":[{"b":"x\ud83dy"}]}"#));
        assert!(!lone(r#"{"a":"\ud83d\ude00","b":"\\ud800","c":"\u00e9"}"#));
    }

    #[test]
    fn finds_top_level_fields_only() {
        let text = r#"{"a":{"_session_expiry":1},"_session_expiry":[1,{"x":2}],"\u005fsession_expiry":5,"b":NaN}"#;
        assert_eq!(object_field(text, "_session_expiry").unwrap(), Some(Value::from(5)));
        assert_eq!(object_field(r#"{"e":[1,2]}"#, "e").unwrap(), Some(Value::Array(vec![])));
        assert_eq!(object_field(r#"{"e":{"x":1}}"#, "e").unwrap(), Some(Value::Object(Map::new())));
        assert_eq!(object_field(r#"{"e":null}"#, "e").unwrap(), Some(Value::Null));
        assert_eq!(object_field(r#"{"e":true}"#, "e").unwrap(), Some(Value::Bool(true)));
        assert_eq!(object_field(r#"{"e":-Infinity}"#, "e").unwrap().map(|v| v.to_string()), Some("-Infinity".to_owned()));
        assert_eq!(object_field(r#"{"e":"x","f":1}"#, "f").unwrap(), Some(Value::from(1)));
        assert_eq!(object_field(r#"{"x":1}"#, "e").unwrap(), None);
        assert!(object_field(r#"{"e":1"#, "e").is_err());
        assert!(object_field(r#"[1]"#, "e").is_err());
    }
}
