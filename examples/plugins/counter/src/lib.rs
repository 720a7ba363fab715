//! A plugin of the example plugin host: a visit counter on sessions it
//! imports (`sessionbox:store/bound-sessions`). It has no filesystem, no
//! secret and no settings; the host decides where its sessions live.
//!
//! Commands (`run`'s arguments), the same in every language's version:
//! - `visit [KEY]`: counts a visit in session KEY (a new session when KEY is
//!   absent or names no live session); prints `KEY N`.
//! - `show KEY`: the session's data, or what `load` found instead
//!   (`missing`, `expired`, `bad-signature`, `corrupt`).
//! - `login KEY USER`: records USER as logged in and moves the session to a
//!   new key (Django's session-fixation defence); prints the new key.
//! - `logout KEY`: deletes the session; prints whether there was one.
//! - `load-many KEY N` (this version only, for the benchmark): loads the
//!   session N times; prints how many loads found it.

wit_bindgen::generate!({ path: "../wit", world: "example:plugin/session-plugin", generate_all });

use serde_json::{json, Map, Value};
use sessionbox::store::bound_sessions::{self as sessions, Loaded};

struct Counter;
export!(Counter);

impl Guest for Counter {
    fn run(args: Vec<String>) -> Result<String, String> {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match args.as_slice() {
            ["visit"] => visit(None),
            ["visit", key] => visit(Some(key)),
            ["show", key] => Ok(match sessions::load(key).map_err(why)? {
                Loaded::Found(found) => found.data,
                other => case(&other).to_owned(),
            }),
            ["login", key, user] => {
                let mut data = found_data(key)?.unwrap_or_default();
                data.insert("_auth_user_id".into(), json!(user));
                let text = Value::Object(data).to_string();
                if sessions::exists(key).map_err(why)? {
                    sessions::cycle_key(key, &text).map_err(why)
                } else {
                    sessions::create(&text).map_err(why)
                }
            }
            ["load-many", key, n] => {
                let n: u32 = n.parse().map_err(|_| format!("not a count: {n}"))?;
                let mut found = 0;
                for _ in 0..n {
                    found += u32::from(matches!(sessions::load(key).map_err(why)?, Loaded::Found(_)));
                }
                Ok(found.to_string())
            }
            ["logout", key] => Ok(sessions::delete(key).map_err(why)?.to_string()),
            [name, ..] => Err(format!("unknown command: {name}")),
            [] => Err("no command".into()),
        }
    }
}

/// Counts one visit; prints the session's key and the count.
fn visit(key: Option<&str>) -> Result<String, String> {
    if let Some(key) = key {
        if let Some(mut data) = found_data(key)? {
            let n = data.get("n").and_then(Value::as_u64).unwrap_or(0) + 1;
            data.insert("n".into(), json!(n));
            sessions::save(key, &Value::Object(data).to_string(), false).map_err(why)?;
            return Ok(format!("{key} {n}"));
        }
    }
    let key = sessions::create(r#"{"n":1}"#).map_err(why)?;
    Ok(format!("{key} 1"))
}

/// The live session's data, `None` when there is none.
fn found_data(key: &str) -> Result<Option<Map<String, Value>>, String> {
    match sessions::load(key).map_err(why)? {
        Loaded::Found(found) => serde_json::from_str(&found.data).map(Some).map_err(|e| e.to_string()),
        _ => Ok(None),
    }
}

/// The name of a `loaded` case that is not `found`.
fn case(loaded: &Loaded) -> &'static str {
    match loaded {
        Loaded::Found(_) => "found",
        Loaded::Missing => "missing",
        Loaded::Expired => "expired",
        Loaded::BadSignature => "bad-signature",
        Loaded::Corrupt => "corrupt",
    }
}

/// A store error as one line: the WIT case name, then its text (the same
/// in every language's version).
fn why(e: sessions::Error) -> String {
    use sessions::Error as E;
    match e {
        E::InvalidKey => "invalid-key".into(),
        E::AlreadyExists => "already-exists".into(),
        E::NotFound => "not-found".into(),
        E::TooLarge => "too-large".into(),
        E::InvalidData(why) => format!("invalid-data: {why}"),
        E::InvalidSettings(why) => format!("invalid-settings: {why}"),
        E::Io(why) => format!("io: {why}"),
    }
}
