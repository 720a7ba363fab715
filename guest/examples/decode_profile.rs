use sessionbox_guest::codec::Codec;
use std::time::Instant;
fn main() {
    let items: Vec<String> = (0..48).map(|i| format!(r#"{{"sku":"{:016x}","qty":{},"note":"{:040x}"}}"#, i * 7919u64 * 1234567, i % 5 + 1, (i as u128) * 0x9e3779b97f4a7c15u128 * 31)).collect();
    let json = format!(r#"{{"_auth_user_id":"42","cart":[{}],"visits":0}}"#, items.join(","));
    let codec = Codec::new("secret", &[], "django.contrib.sessions.SessionStore");
    let enc = codec.encode(&json, 1_700_000_000);
    println!("json {} bytes, stored {} bytes, compressed {}", json.len(), enc.len(), enc.starts_with('.'));
    let n = 5000;
    let t = Instant::now();
    for _ in 0..n { std::hint::black_box(codec.decode(enc.as_bytes(), 1 << 20).unwrap()); }
    println!("decode: {:.1} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let t = Instant::now();
    for _ in 0..n { std::hint::black_box(sessionbox_guest::json_parse::parse_object(&json).unwrap()); }
    println!("json_parse: {:.1} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let t = Instant::now();
    for _ in 0..n { std::hint::black_box(serde_json::from_str::<serde_json::Value>(&json).unwrap()); }
    println!("serde_json parse: {:.1} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let t = Instant::now();
    for _ in 0..n { std::hint::black_box(codec.encode(&json, 1_700_000_000)); }
    println!("encode: {:.1} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let t = Instant::now();
    for _ in 0..n { std::hint::black_box(codec.decode_session(enc.as_bytes(), 1 << 20).unwrap()); }
    println!("decode_session: {:.1} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let t = Instant::now();
    for _ in 0..n { std::hint::black_box(sessionbox_guest::json_scan::canonical_object(&json).unwrap()); }
    println!("canonical_object: {:.1} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let v = sessionbox_guest::json_parse::parse(&json).unwrap();
    let t = Instant::now();
    for _ in 0..n { std::hint::black_box(sessionbox_guest::json_python::to_string(&v)); }
    println!("python to_string: {:.1} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}
#[allow(dead_code)]
fn unused() {}
