//! docs/tower.md's one command works: the binary starts, serves the counter,
//! and logs alice in with the default password.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn request(addr: &str, raw: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn cookie(response: &str) -> String {
    let line = response.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie: sessionid=")).unwrap_or_else(|| panic!("no session cookie in {response}"));
    line["set-cookie: ".len()..].split(';').next().unwrap().to_owned()
}

#[test]
fn the_demo_binary_serves_the_counter_and_the_login() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sessionbox-demo"))
        .args(["--listen", "127.0.0.1:0", "--sessions"])
        .arg(tmp.path().join("sessions"))
        .env_remove("SESSIONBOX_SECRET_KEY")
        .env("SESSIONBOX_CACHE_DIR", tmp.path().join("cache"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.split("http://").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap_or_else(|| panic!("no address in {line:?}")).to_owned();

    let first = request(&addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(first.contains(r#"<span id="count">1</span>"#), "{first}");
    let session = cookie(&first);
    let second = request(&addr, &format!("GET / HTTP/1.1\r\nHost: x\r\nCookie: {session}\r\nConnection: close\r\n\r\n"));
    assert!(second.contains(r#"<span id="count">2</span>"#), "{second}");

    let body = "username=alice&password=wonderland";
    let login = request(
        &addr,
        &format!("POST /login HTTP/1.1\r\nHost: x\r\nCookie: {session}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
    );
    assert!(login.starts_with("HTTP/1.1 303"), "{login}");
    let logged_in = cookie(&login);
    assert_ne!(logged_in, session, "login cycles the key");
    let page = request(&addr, &format!("GET /session HTTP/1.1\r\nHost: x\r\nCookie: {logged_in}\r\nConnection: close\r\n\r\n"));
    assert!(page.contains(r#"<span id="user">alice</span>"#), "{page}");

    child.kill().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    child.wait().unwrap();
    assert!(stderr.contains("insecure demo secret"), "the placeholder secret is announced: {stderr}");
}
