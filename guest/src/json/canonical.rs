//! An object rewritten in Python's compact `json.dumps` form: what `save`
//! signs and stores. One streaming pass; a repeated key (rare) switches to a
//! flat tree that applies Python's dict rule (the last value wins, in the
//! first key's place). Both are linear in the input and never recurse.

use super::python::{write_escaped, write_float_repr};
use super::reader::{for_each_unit, Reader, Str, Token, Unit};
use super::ParseError;
use indexmap::IndexMap;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::fmt::Write;
use std::hash::{Hash, Hasher};

/// `text` (a JSON object) in Python's compact `json.dumps` form; the same
/// as parsing it in Python and dumping it with `separators=(",", ":")`.
pub fn canonical_object(text: &str) -> Result<String, ParseError> {
    match stream(text)? {
        Some(out) => Ok(out),
        None => flat_tree(text),
    }
}

/// The streaming pass; `None` when some object may repeat a key.
fn stream(text: &str) -> Result<Option<String>, ParseError> {
    let mut reader = Reader::new(text);
    let mut out = String::with_capacity(text.len() + 16);
    // Per open container: does the next member need a comma, and the keys
    // seen so far (objects only).
    let mut open: Vec<(bool, Keys)> = Vec::new();
    expect_object(&mut reader)?;
    out.push('{');
    open.push((false, Keys::None));
    while let Some(token) = reader.next()? {
        let s = reader.bytes();
        let member = !matches!(token, Token::EndObject | Token::EndArray);
        // A value after a key is no new member: the key wrote its comma.
        if member && !out.ends_with(':') {
            if let Some((needs_comma, _)) = open.last_mut() {
                if *needs_comma {
                    out.push(',');
                }
                *needs_comma = true;
            }
        }
        match token {
            Token::BeginObject | Token::BeginArray => {
                out.push(if token == Token::BeginObject { '{' } else { '[' });
                open.push((false, Keys::None));
            }
            Token::EndObject | Token::EndArray => {
                out.push(if token == Token::EndObject { '}' } else { ']' });
                open.pop();
            }
            Token::Key(key) => {
                let from = out.len();
                write_str(&mut out, s, key);
                let hash = hash_of(&out[from..]);
                if open.last_mut().is_some_and(|(_, keys)| !keys.insert(hash)) {
                    return Ok(None);
                }
                out.push(':');
            }
            other => write_scalar(&mut out, s, other),
        }
    }
    Ok(Some(out))
}

/// Hashes of an object's keys so far. Hashes can collide: a false alarm only
/// sends the text to the flat tree, which compares keys exactly.
enum Keys {
    None,
    One(u64),
    Many(HashSet<u64>),
}

impl Keys {
    /// Notes `hash`; `false` when it was seen before.
    fn insert(&mut self, hash: u64) -> bool {
        match self {
            Keys::None => *self = Keys::One(hash),
            Keys::One(first) if *first == hash => return false,
            Keys::One(first) => *self = Keys::Many(HashSet::from([*first, hash])),
            Keys::Many(seen) => return seen.insert(hash),
        }
        true
    }
}

fn hash_of(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

fn expect_object(reader: &mut Reader) -> Result<(), ParseError> {
    match reader.next()? {
        Some(Token::BeginObject) => Ok(()),
        _ => Err(ParseError("expected a JSON object at byte 0".to_owned())),
    }
}

/// A scalar token in Python's form.
fn write_scalar(out: &mut String, s: &[u8], token: Token) {
    match token {
        Token::Str(str) => write_str(out, s, str),
        Token::Number { start, end, float } => {
            // Only ASCII digits, signs, '.', 'e' and 'E'.
            let text = std::str::from_utf8(&s[start..end]).unwrap_or("0");
            if float {
                write_float_repr(out, text.parse().unwrap_or(f64::NAN));
            } else {
                // Python reads "-0" as the int 0.
                out.push_str(if text == "-0" { "0" } else { text });
            }
        }
        Token::Word(word) => out.push_str(word),
        Token::BeginObject | Token::EndObject | Token::BeginArray | Token::EndArray | Token::Key(_) => {}
    }
}

/// A string re-escaped as `ensure_ascii` does; a lone surrogate stays the
/// `\uXXXX` escape Python writes for it.
fn write_str(out: &mut String, s: &[u8], str: Str) {
    out.push('"');
    if str.plain {
        // Printable ASCII only: always valid UTF-8.
        out.push_str(std::str::from_utf8(&s[str.start..str.end]).unwrap_or_default());
    } else {
        for_each_unit(s, str, |unit| match unit {
            Unit::Char(c) => write_escaped(out, c),
            Unit::LoneSurrogate(u) => {
                let _ = write!(out, "\\u{u:04x}");
            }
        });
    }
    out.push('"');
}

/// A value of the flat tree: scalars are their canonical text.
enum Node {
    Scalar(std::ops::Range<usize>),
    Array(Vec<usize>),
    /// Canonical key text (quoted) → node; insertion keeps the first place.
    Object(IndexMap<String, usize>),
}

/// The rewrite for objects that repeat keys: nodes in one arena (so nothing
/// recurses, not even dropping it), then written out with an explicit stack.
fn flat_tree(text: &str) -> Result<String, ParseError> {
    let mut reader = Reader::new(text);
    let mut nodes: Vec<Node> = Vec::new();
    let mut scalars = String::new();
    // Open containers with the key their next value goes under.
    let mut open: Vec<(usize, Option<String>)> = Vec::new();
    expect_object(&mut reader)?;
    nodes.push(Node::Object(IndexMap::new()));
    open.push((0, None));
    while let Some(token) = reader.next()? {
        let s = reader.bytes();
        let new = match token {
            Token::EndObject | Token::EndArray => {
                open.pop();
                continue;
            }
            Token::Key(key) => {
                let mut quoted = String::new();
                write_str(&mut quoted, s, key);
                if let Some(top) = open.last_mut() {
                    top.1 = Some(quoted);
                }
                continue;
            }
            Token::BeginObject => Node::Object(IndexMap::new()),
            Token::BeginArray => Node::Array(Vec::new()),
            scalar => {
                let from = scalars.len();
                write_scalar(&mut scalars, s, scalar);
                Node::Scalar(from..scalars.len())
            }
        };
        let id = nodes.len();
        let container = matches!(new, Node::Object(_) | Node::Array(_));
        nodes.push(new);
        if let Some((parent, key)) = open.last_mut() {
            match (&mut nodes[*parent], key.take()) {
                (Node::Object(map), Some(key)) => {
                    map.insert(key, id);
                }
                (Node::Array(items), _) => items.push(id),
                _ => {}
            }
        }
        if container {
            open.push((id, None));
        }
    }
    let mut out = String::with_capacity(text.len());
    // Explicit stack of (node, index of its next child).
    let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
    out.push('{');
    while let Some((id, next)) = stack.last_mut() {
        let child = match &nodes[*id] {
            Node::Object(map) => map.get_index(*next).map(|(key, &child)| {
                if *next > 0 {
                    out.push(',');
                }
                out.push_str(key);
                out.push(':');
                child
            }),
            Node::Array(items) => items.get(*next).map(|&child| {
                if *next > 0 {
                    out.push(',');
                }
                child
            }),
            Node::Scalar(_) => None,
        };
        let Some(child) = child else {
            out.push(if matches!(nodes[*id], Node::Object(_)) { '}' } else { ']' });
            stack.pop();
            continue;
        };
        *next += 1;
        match &nodes[child] {
            Node::Scalar(range) => out.push_str(&scalars[range.clone()]),
            Node::Object(_) => {
                out.push('{');
                stack.push((child, 0));
            }
            Node::Array(_) => {
                out.push('[');
                stack.push((child, 0));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_compact_form() {
        let text = r#" { "z" : 1, "a" : [ true, null, {"y": -0} ], "f": 1E5, "s": "é\u00e9\/\ud800x😀\u007f" } "#;
        assert_eq!(canonical_object(text).unwrap(), r#"{"z":1,"a":[true,null,{"y":0}],"f":100000.0,"s":"\u00e9\u00e9/\ud800x\ud83d\ude00\u007f"}"#);
    }

    #[test]
    fn repeated_keys_keep_the_first_place_and_the_last_value() {
        assert_eq!(canonical_object(r#"{"dup":1,"other":2,"dup":3}"#).unwrap(), r#"{"dup":3,"other":2}"#);
        assert_eq!(canonical_object(r#"{"\u0064up":1,"dup":[2,{"x":1,"x":{"y":[]}}]}"#).unwrap(), r#"{"dup":[2,{"x":{"y":[]}}]}"#);
        // Not repeated: the same key in sibling and nested objects.
        assert_eq!(canonical_object(r#"{"a":{"a":1},"b":{"a":2,"b":3}}"#).unwrap(), r#"{"a":{"a":1},"b":{"a":2,"b":3}}"#);
        // A lone surrogate key differs from U+FFFD.
        assert_eq!(canonical_object(r#"{"\ud800":1,"\ufffd":2}"#).unwrap(), r#"{"\ud800":1,"\ufffd":2}"#);
    }

    #[test]
    fn flat_tree_agrees_with_the_stream_without_repeats() {
        for text in [r#"{}"#, r#"{"a":[]}"#, r#"{"a":[[],{}],"b":{"c":[1,2.5,"x"]},"d":NaN}"#] {
            assert_eq!(flat_tree(text).unwrap(), stream(text).unwrap().unwrap(), "{text}");
        }
    }

    #[test]
    fn depth_and_key_count_cost_linear_time() {
        let n = 300_000;
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(n), "]".repeat(n));
        assert_eq!(canonical_object(&deep).unwrap(), deep);
        let repeated = format!("{{\"d\":{}2{}}}", "{\"k\":1,\"k\":".repeat(n / 4), "}".repeat(n / 4));
        let want = format!("{{\"d\":{}2{}}}", "{\"k\":".repeat(n / 4), "}".repeat(n / 4));
        assert_eq!(canonical_object(&repeated).unwrap(), want);
        let keys: String = (0..100_000).map(|i| format!("\"k{i}\":{i},")).collect();
        let many = format!("{{{}\"last\":0}}", keys);
        assert_eq!(canonical_object(&many).unwrap(), many);
    }

    #[test]
    fn only_objects() {
        for bad in ["[]", "1", "\"s\"", "", "{\"a\":1} x"] {
            assert!(canonical_object(bad).is_err(), "{bad:?}");
        }
    }
}
