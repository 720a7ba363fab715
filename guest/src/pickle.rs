//! Python's pickle, for the values Django's cache session backend stores: a
//! dict of plain values (dict, list, str, int, float, bool, None), the
//! session data as Django's Redis cache pickles it.
//!
//! [`to_json_object`] reads pickles of protocols 0 to 5 through an
//! allow-list of the opcodes Python's pickler emits for those types and
//! nothing else: no opcode that names a global, builds an object or calls
//! anything is accepted, so a hostile value can be refused but never run.
//! It gives the dict as JSON object text in Python's compact `json.dumps`
//! form, the form every other path of the store works in.
//! [`from_json_object`] writes such text as a protocol 5 pickle that
//! Python's `pickle.loads` reads back as the same dict.
//!
//! Both are iterative: no input can exhaust the call stack. Shared and
//! cyclic references (pickle's memo) are followed on output, within the
//! caller's size limit. Integers are limited to 4300 decimal digits,
//! Python's own default limit for converting them to text (so Django could
//! not have stored them as JSON either).

use crate::json::reader::{for_each_unit, Reader, Str, Token, Unit};
use crate::json::{write_float_repr, ParseError};
use indexmap::IndexMap;
use std::collections::HashMap;
use std::fmt::Write;

/// Python's default limit on the decimal digits of an int converted to or
/// from text (`sys.get_int_max_str_digits()`).
pub const MAX_INT_DIGITS: usize = 4300;

/// Most bytes an int of [`MAX_INT_DIGITS`] digits takes in two's
/// complement (10^4300 < 2^14285).
const MAX_LONG_BYTES: usize = 14_285 / 8 + 2;

/// The highest pickle protocol: what [`from_json_object`] writes.
pub const PROTOCOL: u8 = 5;

/// Why a pickle was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickleError {
    /// Not a pickle of a dict of plain values; the text says why.
    Unreadable(String),
    /// Its JSON text would pass the size limit (a cycle does too).
    TooLarge,
}

impl std::fmt::Display for PickleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PickleError::Unreadable(why) => f.write_str(why),
            PickleError::TooLarge => f.write_str("the session is larger than the max session size"),
        }
    }
}

impl std::error::Error for PickleError {}

fn bad<T>(why: impl Into<String>) -> Result<T, PickleError> {
    Err(PickleError::Unreadable(why.into()))
}

// ---------------------------------------------------------------------------
// Reading

/// A value read so far, in an arena: containers hold the indices of their
/// members, so shared references (the memo) stay shared and nothing
/// recurses.
enum Node {
    /// A scalar as its JSON text: `null`, `true`, `42`, `1.5`, `"text"`.
    Scalar(String),
    List(Vec<usize>),
    /// Key text as JSON (quoted) → member; a repeated key keeps its first
    /// place and takes the last value, as a Python dict does. Boxed: the
    /// map is large, and every node is the size of the largest variant.
    Dict(Box<IndexMap<String, usize>>),
}

enum Item {
    Mark,
    Node(usize),
}

struct Unpickler<'a> {
    s: &'a [u8],
    i: usize,
    nodes: Vec<Node>,
    stack: Vec<Item>,
    memo: HashMap<u64, usize>,
    /// Most nodes and memo entries a pickle may make (see [`max_nodes`]).
    max_nodes: usize,
    /// Most stack items (values and marks) it may hold at once.
    max_stack: usize,
    /// How many more int digits it may convert: every int of a pickle
    /// Python writes appears in the output, so digits past the output
    /// limit make it too large, found before converting the next int
    /// (converting one of n digits costs some n² steps).
    digits_left: usize,
}

/// How many values a pickle whose JSON fits `max_len` bytes can hold: in a
/// pickle Python writes, every value appears in the output, and none in
/// fewer than two bytes (`0,`, or `[` and `]`); the memo holds at most one
/// entry per value. Past this the pickle is too large, found before the
/// arena outgrows the memory a session of `max_len` bytes may use.
fn max_nodes(max_len: usize) -> usize {
    max_len / 2 + 16
}

/// How many stack items it can hold at once: pending values and a mark
/// per open container. `[0,[0,[0,…` keeps three (a list, its mark, a
/// pending `0`) per four bytes of JSON, so one per byte is a bound.
fn max_stack(max_len: usize) -> usize {
    max_len + 16
}

/// The pickled dict in `bytes` as JSON object text in Python's compact
/// `json.dumps` form; an error when it is not a pickle of a dict of plain
/// values (string keys only), or when that text would pass `max_len` bytes.
pub fn to_json_object(bytes: &[u8], max_len: usize) -> Result<String, PickleError> {
    let mut u = Unpickler {
        s: bytes,
        i: 0,
        nodes: Vec::new(),
        stack: Vec::new(),
        memo: HashMap::new(),
        max_nodes: max_nodes(max_len),
        max_stack: max_stack(max_len),
        digits_left: max_len,
    };
    let root = u.run()?;
    if !matches!(u.nodes[root], Node::Dict(_)) {
        return bad("the pickle holds no dict");
    }
    write_json(&u.nodes, root, max_len)
}

impl Unpickler<'_> {
    fn byte(&mut self) -> Result<u8, PickleError> {
        let b = *self.s.get(self.i).ok_or_else(|| PickleError::Unreadable("the pickle ends early".into()))?;
        self.i += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> Result<&[u8], PickleError> {
        let n = usize::try_from(n).map_err(|_| PickleError::Unreadable("a length past memory".into()))?;
        let end = self.i.checked_add(n).filter(|&end| end <= self.s.len()).ok_or_else(|| PickleError::Unreadable("the pickle ends early".into()))?;
        let out = &self.s[self.i..end];
        self.i = end;
        Ok(out)
    }

    fn uint(&mut self, n: usize) -> Result<u64, PickleError> {
        let b = self.take(n as u64)?;
        Ok(b.iter().rev().fold(0u64, |acc, &x| acc << 8 | u64::from(x)))
    }

    /// A protocol 0 argument: the bytes up to the next newline.
    fn line_bytes(&mut self) -> Result<&[u8], PickleError> {
        let rest = &self.s[self.i..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| PickleError::Unreadable("a text argument without its newline".into()))?;
        self.i += end + 1;
        Ok(&rest[..end])
    }

    /// A protocol 0 argument that is ASCII text (a number, an index).
    fn line(&mut self) -> Result<&str, PickleError> {
        std::str::from_utf8(self.line_bytes()?).map_err(|_| PickleError::Unreadable("a text argument that is not text".into()))
    }

    fn push(&mut self, node: Node) {
        self.nodes.push(node);
        self.stack.push(Item::Node(self.nodes.len() - 1));
    }

    fn push_scalar(&mut self, text: String) {
        self.push(Node::Scalar(text));
    }

    fn pop(&mut self) -> Result<usize, PickleError> {
        match self.stack.pop() {
            Some(Item::Node(n)) => Ok(n),
            _ => bad("an opcode found no value"),
        }
    }

    fn top(&self) -> Result<usize, PickleError> {
        match self.stack.last() {
            Some(Item::Node(n)) => Ok(*n),
            _ => bad("an opcode found no value"),
        }
    }

    /// The values above the topmost mark, which goes too.
    fn pop_mark(&mut self) -> Result<Vec<usize>, PickleError> {
        let mark = self.stack.iter().rposition(|item| matches!(item, Item::Mark)).ok_or_else(|| PickleError::Unreadable("no mark".into()))?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items.into_iter().map(|item| if let Item::Node(n) = item { n } else { unreachable!("marks end at the last one") }).collect())
    }

    fn set_items(&mut self, dict: usize, pairs: &[usize]) -> Result<(), PickleError> {
        if pairs.len() % 2 != 0 {
            return bad("a key without its value");
        }
        for pair in pairs.chunks(2) {
            let key = match &self.nodes[pair[0]] {
                Node::Scalar(text) if text.starts_with('"') => text.clone(),
                _ => return bad("a dict key that is not a str"),
            };
            match &mut self.nodes[dict] {
                Node::Dict(map) => {
                    map.insert(key, pair[1]);
                }
                _ => return bad("items set on something not a dict"),
            }
        }
        Ok(())
    }

    fn append(&mut self, list: usize, items: &[usize]) -> Result<(), PickleError> {
        match &mut self.nodes[list] {
            Node::List(members) => {
                members.extend_from_slice(items);
                Ok(())
            }
            _ => bad("items appended to something not a list"),
        }
    }

    fn memo_get(&mut self, index: u64) -> Result<(), PickleError> {
        let node = *self.memo.get(&index).ok_or_else(|| PickleError::Unreadable("a memo entry that was never stored".into()))?;
        self.stack.push(Item::Node(node));
        Ok(())
    }

    fn memo_put(&mut self, index: u64) -> Result<(), PickleError> {
        let top = self.top()?;
        self.memo.insert(index, top);
        Ok(())
    }

    fn str_node(&mut self, n: u64) -> Result<(), PickleError> {
        let bytes = self.take(n)?;
        let text = json_str_from_utf8_surrogatepass(bytes)?;
        self.push_scalar(text);
        Ok(())
    }

    fn int_node(&mut self, digits: String) -> Result<(), PickleError> {
        if digits.trim_start_matches('-').len() > MAX_INT_DIGITS {
            return bad("an int of more than 4300 digits");
        }
        self.digits_left = self.digits_left.checked_sub(digits.len()).ok_or(PickleError::TooLarge)?;
        self.push_scalar(digits);
        Ok(())
    }

    /// Runs the opcodes up to STOP; the index of the value left.
    fn run(&mut self) -> Result<usize, PickleError> {
        loop {
            // Each opcode adds at most one node, stack item or memo entry.
            if self.nodes.len().max(self.memo.len()) > self.max_nodes || self.stack.len() > self.max_stack {
                return Err(PickleError::TooLarge);
            }
            let op = self.byte()?;
            match op {
                0x80 => {
                    // PROTO
                    if self.byte()? > PROTOCOL {
                        return bad("a pickle protocol above 5");
                    }
                }
                0x95 => {
                    // FRAME: its length only helps a streaming reader.
                    self.take(8)?;
                }
                b'.' => {
                    // STOP
                    let root = self.pop()?;
                    if !self.stack.is_empty() {
                        return bad("values left over at STOP");
                    }
                    if self.i != self.s.len() {
                        return bad("bytes after STOP");
                    }
                    return Ok(root);
                }
                b'(' => self.stack.push(Item::Mark),
                b'}' => self.push(Node::Dict(Box::default())),
                b']' => self.push(Node::List(Vec::new())),
                b'd' => {
                    // DICT
                    let items = self.pop_mark()?;
                    self.push(Node::Dict(Box::default()));
                    let dict = self.top()?;
                    self.set_items(dict, &items)?;
                }
                b'l' => {
                    // LIST
                    let items = self.pop_mark()?;
                    self.push(Node::List(items));
                }
                // Tuples read as lists, as Django's JSON serializer writes
                // them: TUPLE, EMPTY_TUPLE, TUPLE1, TUPLE2, TUPLE3.
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Node::List(items));
                }
                b')' => self.push(Node::List(Vec::new())),
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let mut items = (0..n).map(|_| self.pop()).collect::<Result<Vec<_>, _>>()?;
                    items.reverse();
                    self.push(Node::List(items));
                }
                b's' => {
                    // SETITEM
                    let value = self.pop()?;
                    let key = self.pop()?;
                    let dict = self.top()?;
                    self.set_items(dict, &[key, value])?;
                }
                b'u' => {
                    // SETITEMS
                    let items = self.pop_mark()?;
                    let dict = self.top()?;
                    self.set_items(dict, &items)?;
                }
                b'a' => {
                    // APPEND
                    let value = self.pop()?;
                    let list = self.top()?;
                    self.append(list, &[value])?;
                }
                b'e' => {
                    // APPENDS
                    let items = self.pop_mark()?;
                    let list = self.top()?;
                    self.append(list, &items)?;
                }
                b'N' => self.push_scalar("null".into()),
                0x88 => self.push_scalar("true".into()),
                0x89 => self.push_scalar("false".into()),
                b'I' => {
                    // INT (protocol 0), which also spells bools.
                    let text = self.line()?.to_owned();
                    match text.as_str() {
                        "01" => self.push_scalar("true".into()),
                        "00" => self.push_scalar("false".into()),
                        _ => self.int_node(decimal(&text)?)?,
                    }
                }
                b'L' => {
                    // LONG (protocol 0): digits with a trailing L.
                    let text = self.line()?.to_owned();
                    self.int_node(decimal(text.strip_suffix('L').unwrap_or(&text))?)?;
                }
                b'J' => {
                    let v = self.uint(4)? as u32 as i32;
                    self.push_scalar(v.to_string());
                }
                b'K' => {
                    let v = self.uint(1)?;
                    self.push_scalar(v.to_string());
                }
                b'M' => {
                    let v = self.uint(2)?;
                    self.push_scalar(v.to_string());
                }
                0x8a | 0x8b => {
                    // LONG1, LONG4: little-endian two's complement.
                    let n = if op == 0x8a { self.uint(1)? } else { self.uint(4)? as u32 as i32 as i64 as u64 };
                    if n as i64 > MAX_LONG_BYTES as i64 {
                        return bad("an int of more than 4300 digits");
                    }
                    let max_digits = self.digits_left.min(MAX_INT_DIGITS);
                    let digits = decimal_from_le_twos_complement(self.take(n)?, max_digits)?;
                    self.int_node(digits)?;
                }
                b'F' => {
                    // FLOAT (protocol 0): Python's repr.
                    let text = self.line()?;
                    let x: f64 = text.trim().parse().map_err(|_| PickleError::Unreadable("a float that is not a number".into()))?;
                    let mut out = String::new();
                    write_float_repr(&mut out, x);
                    self.push_scalar(out);
                }
                b'G' => {
                    let b = self.take(8)?;
                    let x = f64::from_be_bytes(b.try_into().expect("8 bytes"));
                    let mut out = String::new();
                    write_float_repr(&mut out, x);
                    self.push_scalar(out);
                }
                0x8c => {
                    let n = self.uint(1)?;
                    self.str_node(n)?;
                }
                b'X' => {
                    let n = self.uint(4)?;
                    self.str_node(n)?;
                }
                0x8d => {
                    let n = self.uint(8)?;
                    self.str_node(n)?;
                }
                b'V' => {
                    // UNICODE (protocol 0): raw-unicode-escape.
                    let text = raw_unicode_escape(self.line_bytes()?)?;
                    self.push_scalar(text);
                }
                0x94 => {
                    // MEMOIZE
                    let index = self.memo.len() as u64;
                    self.memo_put(index)?;
                }
                b'p' => {
                    let index = self.line()?.parse().map_err(|_| PickleError::Unreadable("a bad memo index".into()))?;
                    self.memo_put(index)?;
                }
                b'q' => {
                    let index = self.uint(1)?;
                    self.memo_put(index)?;
                }
                b'r' => {
                    let index = self.uint(4)?;
                    self.memo_put(index)?;
                }
                b'g' => {
                    let index = self.line()?.parse().map_err(|_| PickleError::Unreadable("a bad memo index".into()))?;
                    self.memo_get(index)?;
                }
                b'h' => {
                    let index = self.uint(1)?;
                    self.memo_get(index)?;
                }
                b'j' => {
                    let index = self.uint(4)?;
                    self.memo_get(index)?;
                }
                other => return bad(format!("pickle opcode 0x{other:02x}, which builds no plain value")),
            }
        }
    }
}

/// A protocol 0 int's text, checked: an optional sign and digits.
fn decimal(text: &str) -> Result<String, PickleError> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return bad("an int that is not a number");
    }
    let trimmed = digits.trim_start_matches('0');
    let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
    Ok(if text.starts_with('-') && trimmed != "0" { format!("-{trimmed}") } else { trimmed.to_owned() })
}

/// Limbs of the decimal conversion: nine digits each.
const LIMB: u64 = 1_000_000_000;

/// The decimal text of a little-endian two's complement integer, if it
/// has at most `max_digits` digits: more is an error found from its length
/// before any conversion (`TooLarge`, or past [`MAX_INT_DIGITS`] the int
/// Python refuses), so the quadratic work is bounded by `max_digits`.
fn decimal_from_le_twos_complement(bytes: &[u8], max_digits: usize) -> Result<String, PickleError> {
    let negative = bytes.last().is_some_and(|b| b & 0x80 != 0);
    let mut magnitude = bytes.to_vec();
    if negative {
        negate_le(&mut magnitude);
    }
    // Most significant byte first, without leading zeros.
    let significant = magnitude.iter().rposition(|&b| b != 0).map_or(0, |top| top + 1);
    magnitude.truncate(significant);
    magnitude.reverse();
    // At least 256^(m-1): more than (m-1)·8·log10(2) digits.
    let fewest = significant.saturating_sub(1) * 2408 / 1000 + 1;
    if fewest > MAX_INT_DIGITS {
        return bad("an int of more than 4300 digits");
    }
    if fewest > max_digits {
        return Err(PickleError::TooLarge);
    }
    // Base 2^32 → base 10^9, least significant limb first: four bytes a
    // step (a limb times 2^32 plus a carry stays below 2^63).
    let mut limbs: Vec<u32> = Vec::with_capacity(significant * 241 / 900 + 2);
    let head = magnitude.len() % 4;
    let (first, rest) = magnitude.split_at(head);
    for chunk in std::iter::once(first).filter(|c| !c.is_empty()).chain(rest.chunks(4)) {
        let shift = 8 * chunk.len() as u32;
        let mut carry = chunk.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        for limb in limbs.iter_mut() {
            let v = (u64::from(*limb) << shift) + carry;
            *limb = (v % LIMB) as u32;
            carry = v / LIMB;
        }
        while carry > 0 {
            limbs.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
    }
    let mut out = String::with_capacity(limbs.len() * 9 + 1);
    if negative && !limbs.is_empty() {
        out.push('-');
    }
    match limbs.split_last() {
        None => out.push('0'),
        Some((top, rest)) => {
            let _ = write!(out, "{top}");
            for limb in rest.iter().rev() {
                let _ = write!(out, "{limb:09}");
            }
        }
    }
    Ok(out)
}

/// Negates a little-endian two's complement integer in place: invert,
/// add one.
fn negate_le(bytes: &mut [u8]) {
    let mut carry = true;
    for b in bytes {
        *b = !*b;
        if carry {
            (*b, carry) = b.overflowing_add(1);
        }
    }
}

/// A pickled str (UTF-8, with lone surrogates as Python's `surrogatepass`
/// writes them) as a JSON string literal in Python's `ensure_ascii` form.
fn json_str_from_utf8_surrogatepass(bytes: &[u8]) -> Result<String, PickleError> {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                crate::json::write_escaped_str(&mut out, text);
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                crate::json::write_escaped_str(&mut out, std::str::from_utf8(valid).unwrap_or_default());
                // A surrogate, encoded as UTF-8 would encode it: ED A0..BF xx.
                match after {
                    [0xED, b1 @ 0xA0..=0xBF, b2 @ 0x80..=0xBF, ..] => {
                        let unit = 0xD000 | (u16::from(b1 & 0x3F) << 6) | u16::from(b2 & 0x3F);
                        let _ = write!(out, "\\u{unit:04x}");
                        rest = &after[3..];
                    }
                    _ => return bad("a str that is not UTF-8"),
                }
            }
        }
    }
    out.push('"');
    Ok(out)
}

/// A protocol 0 str (raw-unicode-escape: `\uXXXX` and `\UXXXXXXXX` after
/// an odd run of backslashes, as CPython decodes it; other bytes Latin-1)
/// as a JSON string literal.
fn raw_unicode_escape(bytes: &[u8]) -> Result<String, PickleError> {
    let mut out = String::from("\"");
    let mut i = 0;
    // Backslashes right before `i`: only an odd run starts an escape.
    let mut run = 0usize;
    while i < bytes.len() {
        let escape = match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'u')) if run % 2 == 0 => Some(4),
            (b'\\', Some(b'U')) if run % 2 == 0 => Some(8),
            _ => None,
        };
        run = if bytes[i] == b'\\' && escape.is_none() { run + 1 } else { 0 };
        match escape {
            Some(len) => {
                let hex = bytes.get(i + 2..i + 2 + len).ok_or_else(|| PickleError::Unreadable("a cut \\u escape".into()))?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return bad("a bad \\u escape");
                }
                let hex = std::str::from_utf8(hex).map_err(|_| PickleError::Unreadable("a bad \\u escape".into()))?;
                let code = u32::from_str_radix(hex, 16).map_err(|_| PickleError::Unreadable("a bad \\u escape".into()))?;
                match char::from_u32(code) {
                    Some(c) => crate::json::write_escaped_char(&mut out, c),
                    None if (0xD800..0xE000).contains(&code) => {
                        let _ = write!(out, "\\u{code:04x}");
                    }
                    None => return bad("a \\U escape past Unicode"),
                }
                i += 2 + len;
            }
            None => {
                crate::json::write_escaped_char(&mut out, char::from(bytes[i]));
                i += 1;
            }
        }
    }
    out.push('"');
    Ok(out)
}

/// The tree under `root` as compact JSON, iteratively; an error past
/// `max_len` bytes (which also ends a cycle).
fn write_json(nodes: &[Node], root: usize, max_len: usize) -> Result<String, PickleError> {
    enum Step {
        Value(usize),
        Text(&'static str),
        Key(usize, usize),
    }
    let mut out = String::new();
    let mut todo = vec![Step::Value(root)];
    while let Some(step) = todo.pop() {
        match step {
            Step::Text(text) => out.push_str(text),
            Step::Key(node, index) => {
                if let Node::Dict(map) = &nodes[node] {
                    let (key, _) = map.get_index(index).expect("an index within the dict");
                    out.push_str(key);
                    out.push(':');
                }
            }
            Step::Value(node) => match &nodes[node] {
                Node::Scalar(text) => out.push_str(text),
                Node::List(items) => {
                    out.push('[');
                    todo.push(Step::Text("]"));
                    for (i, &item) in items.iter().enumerate().rev() {
                        todo.push(Step::Value(item));
                        if i > 0 {
                            todo.push(Step::Text(","));
                        }
                    }
                }
                Node::Dict(map) => {
                    out.push('{');
                    todo.push(Step::Text("}"));
                    for (i, (_, &value)) in map.iter().enumerate().rev() {
                        todo.push(Step::Value(value));
                        todo.push(Step::Key(node, i));
                        if i > 0 {
                            todo.push(Step::Text(","));
                        }
                    }
                }
            },
        }
        // Every pending step writes at least a byte: a cycle (or a list
        // of a thousand references to itself) stops here before its
        // pending steps outgrow the limit.
        if out.len() + todo.len() > max_len {
            return Err(PickleError::TooLarge);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Writing

/// `json` (a JSON object, as [`crate::json::canonical_object`] gives it) as
/// a protocol 5 pickle of the same dict: what Django's Redis cache stores.
pub fn from_json_object(json: &str) -> Result<Vec<u8>, ParseError> {
    let mut reader = Reader::new(json);
    let mut out = vec![0x80, PROTOCOL];
    let s = reader.bytes();
    let mut first = true;
    while let Some(token) = reader.next()? {
        if first && token != Token::BeginObject {
            return Err(ParseError("not a JSON object".into()));
        }
        first = false;
        match token {
            Token::BeginObject => out.extend_from_slice(b"}("),
            Token::EndObject => out.push(b'u'),
            Token::BeginArray => out.extend_from_slice(b"]("),
            Token::EndArray => out.push(b'e'),
            Token::Key(str) | Token::Str(str) => write_str(&mut out, s, str),
            Token::Number { start, end, float } => {
                let text = std::str::from_utf8(&s[start..end]).map_err(|_| ParseError("a number that is not text".into()))?;
                if float {
                    let x: f64 = text.parse().map_err(|_| ParseError(format!("the float {text}")))?;
                    write_float(&mut out, x);
                } else {
                    write_int(&mut out, text)?;
                }
            }
            Token::Word(word) => match word {
                "null" => out.push(b'N'),
                "true" => out.push(0x88),
                "false" => out.push(0x89),
                "NaN" => write_float(&mut out, f64::NAN),
                "Infinity" => write_float(&mut out, f64::INFINITY),
                _ => write_float(&mut out, f64::NEG_INFINITY),
            },
        }
    }
    out.push(b'.');
    Ok(out)
}

fn write_float(out: &mut Vec<u8>, x: f64) {
    out.push(b'G');
    out.extend_from_slice(&x.to_be_bytes());
}

/// A str: UTF-8, lone surrogates as `surrogatepass` encodes them.
fn write_str(out: &mut Vec<u8>, s: &[u8], str: Str) {
    let mut bytes = Vec::with_capacity(str.end - str.start);
    for_each_unit(s, str, |unit| match unit {
        Unit::Char(c) => {
            let mut buf = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        Unit::LoneSurrogate(u) => bytes.extend_from_slice(&[0xE0 | (u >> 12) as u8, 0x80 | ((u >> 6) & 0x3F) as u8, 0x80 | (u & 0x3F) as u8]),
    });
    match u8::try_from(bytes.len()) {
        Ok(n) => out.extend_from_slice(&[0x8c, n]),
        Err(_) => match u32::try_from(bytes.len()) {
            Ok(n) => {
                out.push(b'X');
                out.extend_from_slice(&n.to_le_bytes());
            }
            Err(_) => {
                out.push(0x8d);
                out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            }
        },
    }
    out.extend_from_slice(&bytes);
}

/// An int from its JSON text, in the shortest form Python's pickler uses.
fn write_int(out: &mut Vec<u8>, text: &str) -> Result<(), ParseError> {
    if let Ok(v) = text.parse::<i64>() {
        match v {
            0..=0xFF => out.extend_from_slice(&[b'K', v as u8]),
            0x100..=0xFFFF => {
                out.push(b'M');
                out.extend_from_slice(&(v as u16).to_le_bytes());
            }
            _ if i32::try_from(v).is_ok() => {
                out.push(b'J');
                out.extend_from_slice(&(v as i32).to_le_bytes());
            }
            _ => write_long(out, &le_twos_complement(&v.to_le_bytes())),
        }
        return Ok(());
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    if digits.len() > MAX_INT_DIGITS {
        return Err(ParseError("an int of more than 4300 digits, which Python cannot read from text either".into()));
    }
    // Base 10 → base 256, least significant byte first.
    let mut bytes: Vec<u8> = Vec::new();
    for d in digits.bytes() {
        let mut carry = u32::from(d - b'0');
        for b in bytes.iter_mut() {
            let v = u32::from(*b) * 10 + carry;
            *b = v as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            bytes.push(carry as u8);
            carry >>= 8;
        }
    }
    bytes.push(0); // room for the sign bit
    if negative {
        negate_le(&mut bytes);
    }
    write_long(out, &le_twos_complement(&bytes));
    Ok(())
}

/// `bytes` (little-endian two's complement) without the redundant top
/// bytes: the sign still reads right.
fn le_twos_complement(bytes: &[u8]) -> Vec<u8> {
    let mut v = bytes.to_vec();
    while v.len() > 1 {
        let (top, next) = (v[v.len() - 1], v[v.len() - 2]);
        if (top == 0 && next & 0x80 == 0) || (top == 0xFF && next & 0x80 != 0) {
            v.pop();
        } else {
            break;
        }
    }
    v
}

fn write_long(out: &mut Vec<u8>, bytes: &[u8]) {
    match u8::try_from(bytes.len()) {
        Ok(n) => out.extend_from_slice(&[0x8a, n]),
        Err(_) => {
            out.push(0x8b);
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        }
    }
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests;
