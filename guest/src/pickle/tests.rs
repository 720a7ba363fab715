//! The pickle codec against Python itself: every case pickled by Python in
//! protocols 0 to 5 reads as Python's `json.dumps` of it, and what we write
//! Python reads back as the same dict.

use super::*;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// Runs `script` under python3 with `input` on stdin; its stdout.
fn python(script: &str, input: &str) -> String {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs (CI installs it)");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 failed");
    String::from_utf8(out.stdout).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// Python expressions of dicts of plain values.
const CASES: &[&str] = &[
    "{}",
    "{'_auth_user_id': '42', '_auth_user_backend': 'django.contrib.auth.backends.ModelBackend', '_session_expiry': 1209600}",
    "{'ints': [0, 1, 255, 256, 65535, 65536, 2**31 - 1, 2**31, -1, -2**31, -2**31 - 1, 2**63, -2**63, 2**70, -2**70, 10**4299]}",
    "{'floats': [1.5, -0.0, 1e300, 5e-324, float('nan'), float('inf'), -float('inf'), 0.1]}",
    "{'n': None, 't': True, 'f': False, 'nested': {'a': [{'b': []}, {}], 'c': {'d': None}}}",
    r#"{'ü': 'ééé', 'emoji': '\U0001F600', 'lone': '\ud800x\udfff', 'ctl': '\x00\n"\\'}"#,
    "{'short': 'x' * 255, 'long': 'y' * 256, 'longer': 'z' * 70000}",
    "{'shared': ['same'] * 3, 'k': 'same', 'again': 'same'}",
    "{str(i): i for i in range(2500)}",
    "{'deep': [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}",
    "(lambda l: {'a': l, 'b': l})([1, 2])",
    "{'t': (1, 'a', (2,), ()), 'pairs': [(1, 2), (3, 4, 5)], 'long': tuple(range(10)), 'shared': (lambda t: [t, t])(('x', 'y'))}",
];

#[test]
fn python_pickles_of_every_protocol_read_as_python_json() {
    let script = r#"
import json, pickle, sys
for expr in json.load(sys.stdin):
    obj = eval(expr)
    row = {"json": json.dumps(obj, separators=(",", ":")), "pickles": [pickle.dumps(obj, p).hex() for p in range(6)]}
    print(json.dumps(row))
"#;
    let out = python(script, &serde_json::to_string(CASES).unwrap());
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), CASES.len());
    for (case, row) in CASES.iter().zip(&rows) {
        let json = row["json"].as_str().unwrap();
        for (protocol, pickled) in row["pickles"].as_array().unwrap().iter().enumerate() {
            let read = to_json_object(&unhex(pickled.as_str().unwrap()), 1 << 24);
            assert_eq!(read.as_deref(), Ok(json), "{case}, protocol {protocol}");
        }
    }
}

#[test]
fn what_we_write_python_reads_as_the_same_dict() {
    let script = r#"
import json, pickle, sys
for line in sys.stdin:
    obj = pickle.loads(bytes.fromhex(line.strip()))
    assert type(obj) is dict
    print(json.dumps(obj, separators=(",", ":")))
"#;
    let texts = python("import json, sys\nfor e in json.load(sys.stdin): print(json.dumps(eval(e), separators=(',', ':')))", &serde_json::to_string(CASES).unwrap());
    let texts: Vec<&str> = texts.lines().collect();
    let pickles: String = texts.iter().map(|t| hex(&from_json_object(t).unwrap()) + "\n").collect();
    let back = python(script, &pickles);
    assert_eq!(back.lines().collect::<Vec<_>>(), texts);
    // And we read our own pickles back.
    for text in texts {
        assert_eq!(to_json_object(&from_json_object(text).unwrap(), 1 << 24).as_deref(), Ok(text));
    }
}

#[test]
fn anything_but_a_dict_of_plain_values_is_refused_unrun() {
    let script = r#"
import datetime, decimal, json, pickle, sys
cases = [
    {"when": datetime.datetime(2026, 1, 1)},
    {"s": {1, 2}},
    {"b": b"bytes"},
    {"d": decimal.Decimal("1.5")},
    {1: "int key"},
    {("a",): "tuple key"},
    [1, 2],
    "text",
    {"c": 1j},
]
for obj in cases:
    print(" ".join(pickle.dumps(obj, p).hex() for p in range(6)))
"#;
    for (i, line) in python(script, "").lines().enumerate() {
        for (protocol, pickled) in line.split(' ').enumerate() {
            let read = to_json_object(&unhex(pickled), 1 << 20);
            assert!(read.is_err(), "case {i}, protocol {protocol}: {read:?}");
        }
    }
    // Hand-made damage.
    let good = from_json_object(r#"{"a":[1,"x"]}"#).unwrap();
    for cut in 0..good.len() {
        assert!(to_json_object(&good[..cut], 1 << 20).is_err(), "cut at {cut}");
    }
    let mut extra = good.clone();
    extra.push(b'N');
    assert!(to_json_object(&extra, 1 << 20).is_err(), "bytes after STOP");
    let mut future = good.clone();
    future[1] = 6;
    assert!(to_json_object(&future, 1 << 20).is_err(), "protocol 6");
    assert!(to_json_object(b"cos\nsystem\n(S'true'\ntR.", 1 << 20).is_err(), "GLOBAL and REDUCE");
    assert!(to_json_object(b"\x80\x05h\x00.", 1 << 20).is_err(), "a memo entry never stored");
}

#[test]
fn shared_and_cyclic_references_stay_within_the_size_limit() {
    let script = r#"
import pickle
l = [1]
l.append(l)
print(pickle.dumps({"loop": l}, 5).hex())
x = ["x" * 100]
for _ in range(40):
    x = [x, x]
print(pickle.dumps({"wide": x}, 5).hex())
"#;
    let out = python(script, "");
    let mut lines = out.lines();
    let cycle = to_json_object(&unhex(lines.next().unwrap()), 1 << 20).unwrap_err();
    assert_eq!(cycle, PickleError::TooLarge, "{cycle}");
    // 2^40 copies of a small list: refused at the limit, not built.
    let started = std::time::Instant::now();
    assert!(to_json_object(&unhex(lines.next().unwrap()), 1 << 20).is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn ints_past_pythons_digit_limit_are_refused_both_ways() {
    let big = format!("{{\"n\":{}}}", "9".repeat(MAX_INT_DIGITS + 1));
    assert!(from_json_object(&big).is_err());
    let script = "import pickle, sys\nsys.set_int_max_str_digits(0)\nprint(pickle.dumps({'n': 10**5000}, 5).hex())";
    assert!(to_json_object(&unhex(python(script, "").trim()), 1 << 20).is_err());
}

/// A list that holds itself a thousand times: refused at the size limit
/// without queueing its expansion first.
#[test]
fn a_list_of_references_to_itself_is_refused_without_blowing_up() {
    let mut bytes = b"\x80\x05}\x94\x8c\x01a\x94]\x94(".to_vec();
    bytes.extend(std::iter::repeat_n(&b"h\x02"[..], 1000).flatten()); // memo 2: the list
    bytes.extend_from_slice(b"es.");
    let err = to_json_object(&bytes, 1 << 20).unwrap_err();
    assert_eq!(err, PickleError::TooLarge, "{err}");
}

/// Protocol 0 strings as CPython decodes them (raw-unicode-escape), on
/// input Python's pickler never writes.
#[test]
fn protocol_0_strings_decode_as_cpython_decodes_them() {
    let cases: &[&[u8]] = &[br"\u0041", br"\\u0041", br"\\\u0041", br"\u+041", br"a\", br"\U0001F600\u00e9", br"\ud800", br"\u00"];
    let script = r#"
import json, pickle, sys
for line in sys.stdin:
    raw = bytes.fromhex(line.strip())
    try:
        print(json.dumps(pickle.loads(b"(dp0\nVk\np1\nV" + raw + b"\np2\ns."), separators=(",", ":")))
    except Exception:
        print("error")
"#;
    let input: String = cases.iter().map(|c| hex(c) + "\n").collect();
    let expected = python(script, &input);
    for (case, expected) in cases.iter().zip(expected.lines()) {
        let mut pickled = b"(dp0\nVk\np1\nV".to_vec();
        pickled.extend_from_slice(case);
        pickled.extend_from_slice(b"\np2\ns.");
        let ours = to_json_object(&pickled, 1 << 20).unwrap_or_else(|_| "error".into());
        assert_eq!(ours, expected, "{}", String::from_utf8_lossy(case));
    }
}

/// A flat pickle of a million one-byte values fits three times the size
/// limit in bytes, yet would take some 60 MB of arena: refused as too large
/// once it holds more values than a session of the limit can.
#[test]
fn a_flat_pickle_of_tiny_values_is_refused_before_its_arena_grows() {
    for filler in [b']', b'N', b'('] {
        let mut bytes = b"\x80\x05}(\x8c\x01l](".to_vec();
        bytes.extend(std::iter::repeat_n(filler, 1_398_000));
        bytes.extend_from_slice(b"eu.");
        assert_eq!(to_json_object(&bytes, 1 << 20), Err(PickleError::TooLarge), "filler {}", filler as char);
    }
    // The largest list of small ints a 1 MiB session holds still reads.
    let n = (1 << 20) / 2 - 8;
    let mut bytes = b"\x80\x05}(\x8c\x01l](".to_vec();
    bytes.extend(std::iter::repeat_n(&b"K\x00"[..], n).flatten());
    bytes.extend_from_slice(b"eu.");
    assert_eq!(to_json_object(&bytes, 1 << 20).map(|json| json.len()), Ok(n * 2 + 7));
}

/// Ints of every size up to Python's digit limit, both signs, as Python
/// pickles them, read as Python's `json.dumps` writes them; and LONG
/// opcodes padded with redundant sign bytes, which Python reads as the
/// same int.
#[test]
fn big_ints_of_every_size_read_as_python_writes_them() {
    let script = r#"
import json, pickle
ints = [0, 1, -1, 2**31, -2**31 - 1]
for k in [8, 31, 32, 33, 63, 64, 65, 100, 255, 256, 257, 1000, 4096, 14000, 14284]:
    ints += [2**k - 1, 2**k, 2**k + 1, -(2**k) + 1, -(2**k), -(2**k) - 1]
ints += [10**4299, -(10**4299), 10**4300 - 1, -(10**4300 - 1), 3**9000]
obj = {"ints": ints}
print(pickle.dumps(obj, 5).hex())
print(json.dumps(obj, separators=(",", ":")))
"#;
    let out = python(script, "");
    let mut lines = out.lines();
    let pickled = unhex(lines.next().unwrap());
    assert_eq!(to_json_object(&pickled, 1 << 24).as_deref(), Ok(lines.next().unwrap()));
    // LONG1 of -1 and of 255, each padded to 200 bytes.
    for (value, pad, expected) in [(0xFFu8, 0xFFu8, "-1"), (0xFF, 0x00, "255")] {
        let mut bytes = b"\x80\x05}\x8c\x01n\x8a\xc8".to_vec();
        bytes.push(value);
        bytes.extend(std::iter::repeat_n(pad, 199));
        bytes.extend_from_slice(b"s.");
        assert_eq!(to_json_object(&bytes, 1 << 20).as_deref(), Ok(format!("{{\"n\":{expected}}}").as_str()));
    }
}

/// A pickle of ints of 4300 digits each whose text would pass the size
/// limit: refused as too large once their digits would, before the rest
/// are converted (each costs some 4300² steps); under the limit the same
/// ints read whole.
#[test]
fn ints_whose_digits_pass_the_size_limit_are_too_large_before_conversion() {
    let pickled = |count: usize| {
        let script = format!("import pickle\nn = 10**4299 + 12345\nprint(pickle.dumps({{'n': [n + i for i in range({count})]}}, 5).hex())");
        unhex(python(&script, "").trim())
    };
    let many = pickled(2200);
    assert!(many.len() > 3_900_000, "{}", many.len());
    assert_eq!(to_json_object(&many, 1 << 20), Err(PickleError::TooLarge));
    // 200 of them (860,000 digits) fit a 1 MiB session: `{"n":[` and `]}`
    // around the ints and their commas.
    let json = to_json_object(&pickled(200), 1 << 20).unwrap();
    assert!(json.starts_with("{\"n\":[1000") && json.len() == 200 * 4301 - 1 + 8, "{}", json.len());
}
