//! Writes JSON exactly as Python's `json.dumps(obj, separators=(",", ":"))`.
//!
//! Django signs the bytes this produces, so every detail matters: no spaces,
//! `ensure_ascii` escaping (everything outside 0x20..0x7E, DEL included, with
//! lowercase hex and UTF-16 surrogate pairs), `/` left alone, keys in insertion
//! order, and floats in Python's `repr` form.

use serde_json::{Map, Number, Value};
use std::fmt::Write;

/// Serialises `value` the way Python's compact `json.dumps` does. Iterative:
/// a tree of any depth is written without recursing.
pub fn to_string(value: &Value) -> String {
    let mut out = String::with_capacity(128);
    write_tree(&mut out, value);
    out
}

/// Appends [`to_string`] of `value` to `out`.
pub fn write_value(out: &mut String, value: &Value) {
    write_tree(out, value);
}

/// Appends the JSON string literal of `s`, quoted, in Python's form.
pub fn write_string(out: &mut String, s: &str) {
    write_str(out, s);
}

/// [`to_string`] of an object given as its map (no clone into a `Value`).
pub fn object_to_string(map: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(128);
    out.push('{');
    write_members(&mut out, vec![Open::Object(map.iter())]);
    out
}

/// A container being written: its remaining members.
enum Open<'a> {
    Array(std::slice::Iter<'a, Value>),
    Object(serde_json::map::Iter<'a>),
}

fn write_tree(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            write_members(out, vec![Open::Array(items.iter())]);
        }
        Value::Object(map) => {
            out.push('{');
            write_members(out, vec![Open::Object(map.iter())]);
        }
    }
}

/// Writes the members of the open containers on `stack`, innermost last,
/// and their closing brackets; nested containers go on the stack instead of
/// the call stack.
fn write_members<'a>(out: &mut String, mut stack: Vec<Open<'a>>) {
    while let Some(top) = stack.last_mut() {
        let first = matches!(out.as_bytes().last(), Some(b'[' | b'{'));
        let member = match top {
            Open::Array(items) => items.next().inspect(|_| {
                if !first {
                    out.push(',');
                }
            }),
            Open::Object(members) => members.next().map(|(k, v)| {
                if !first {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                v
            }),
        };
        match member {
            Some(Value::Array(items)) => {
                out.push('[');
                stack.push(Open::Array(items.iter()));
            }
            Some(Value::Object(map)) => {
                out.push('{');
                stack.push(Open::Object(map.iter()));
            }
            Some(scalar) => write_tree(out, scalar),
            None => {
                out.push(if matches!(top, Open::Array(_)) { ']' } else { '}' });
                stack.pop();
            }
        }
    }
}

/// Integers keep their exact text (Python ints are unbounded); anything with
/// a fraction or exponent is a Python float and is written as `repr` would.
fn write_number(out: &mut String, n: &Number) {
    let text = n.to_string();
    let is_float = text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E' | b'N' | b'I'));
    if !is_float {
        // Python reads "-0" as the int 0.
        out.push_str(if text == "-0" { "0" } else { &text });
        return;
    }
    let x = match text.as_str() {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        // Every text serde_json or our parser stores is a valid float literal.
        t => t.parse().unwrap_or(f64::NAN),
    };
    write_float_repr(out, x);
}

/// Python's `repr(float)`: shortest round-trip digits, fixed notation when the
/// decimal exponent is in -4..16, otherwise `d.ddde+XX`.
pub fn write_float_repr(out: &mut String, x: f64) {
    if x.is_nan() {
        return out.push_str("NaN");
    }
    if x.is_infinite() {
        return out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-5".
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    out.push_str(sign);
    // `decpt` is where the decimal point goes relative to the digits.
    let decpt = exp + 1;
    if (-3..=16).contains(&decpt) {
        if decpt <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-decpt) as usize));
            out.push_str(&digits);
        } else if decpt as usize >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', decpt as usize - digits.len()));
            out.push_str(".0");
        } else {
            let (int, frac) = digits.split_at(decpt as usize);
            let _ = write!(out, "{int}.{frac}");
        }
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    write_escaped_str(out, s);
    out.push('"');
}

/// The characters of `s` as `ensure_ascii` writes them, without quotes.
/// Runs of printable ASCII other than `"` and `\` (nearly all of a
/// session's text) are copied whole rather than pushed one by one.
pub(crate) fn write_escaped_str(out: &mut String, s: &str) {
    let mut rest = s;
    while !rest.is_empty() {
        let plain = rest.bytes().position(|b| !matches!(b, b' '..=b'~') || b == b'"' || b == b'\\').unwrap_or(rest.len());
        let (run, tail) = rest.split_at(plain);
        out.push_str(run);
        let mut chars = tail.chars();
        if let Some(c) = chars.next() {
            write_escaped(out, c);
        }
        rest = chars.as_str();
    }
}

/// One character of a string as `ensure_ascii` writes it.
pub(crate) fn write_escaped(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        ' '..='~' => out.push(c),
        _ => {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_a_string_matches_escaping_each_char() {
        // Every character below U+0800 (all widths of UTF-8 up to two
        // bytes, every ASCII control and the escapes) between plain runs,
        // plus a few wider ones.
        let mut cases: Vec<String> = (0u32..0x800).chain([0xFFFD, 0x1F600, 0x10FFFF]).filter_map(char::from_u32).map(|c| format!("ab{c}cd{c}{c}")).collect();
        cases.extend(["", "plain text", "\"", "a\\b", "tab\there\n", "\u{7f}del", "é", "x\u{1F600}y", "\u{0}", "ends with \"", "~ !"].map(String::from));
        for s in &cases {
            let mut whole = String::new();
            write_escaped_str(&mut whole, s);
            let mut each = String::new();
            s.chars().for_each(|c| write_escaped(&mut each, c));
            assert_eq!(whole, each, "{s:?}");
        }
    }

    fn repr(x: f64) -> String {
        let mut s = String::new();
        write_float_repr(&mut s, x);
        s
    }

    #[test]
    fn floats_match_python_repr() {
        let cases = [
            (1.5, "1.5"),
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e16, "1.5e+16"),
            (1e-5, "1e-05"),
            (1e-4, "0.0001"),
            (0.1, "0.1"),
            (123.456, "123.456"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (-2.5e-7, "-2.5e-07"),
            (1234567890123456.7, "1234567890123456.8"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (x, want) in cases {
            assert_eq!(repr(x), want, "repr({x:?})");
        }
    }

    #[test]
    fn strings_are_ensure_ascii() {
        let v = Value::String("é\u{7f}/\"\\\n😀\t\u{1}\u{1f}\u{8}\u{c}\r".into());
        assert_eq!(to_string(&v), r#""\u00e9\u007f/\"\\\n\ud83d\ude00\t\u0001\u001f\b\f\r""#);
    }

    #[test]
    fn compact_and_ordered() {
        let v = super::super::parse(r#"{ "z" : 1, "a" : [ true, null, {"y": -0} ], "f": 1E5 }"#).unwrap();
        assert_eq!(to_string(&v), r#"{"z":1,"a":[true,null,{"y":0}],"f":100000.0}"#);
    }
}
