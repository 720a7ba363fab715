//! One function per subcommand; each returns the JSON to print.

use super::args::Command;
use super::Failure;
use serde_json::{json, Value};
use sessionbox::{Data, Loaded, Store};
use std::io::Read;
use std::time::UNIX_EPOCH;

/// Runs `command` against `store`.
pub fn run(store: &Store, command: &Command) -> Result<Value, Failure> {
    match command {
        Command::Create { json } => Ok(json!({ "key": store.create(&read_data(json)?)? })),
        Command::Get { key } => Ok(Value::Object(load(store, key)?)),
        Command::Set { key, json } => set(store, key, read_data(json)?),
        Command::Delete { key } => {
            let existed = store.exists(key)?;
            store.delete(key)?;
            Ok(json!({ "key": key, "deleted": existed }))
        }
        Command::Exists { key } => match store.exists(key)? {
            true => Ok(json!({ "key": key, "exists": true })),
            false => Err(Failure::NoSession(format!("no session {key}"))),
        },
        Command::CycleKey { key } => {
            let data = load(store, key)?;
            Ok(json!({ "key": store.cycle_key(key, &data)?, "old_key": key }))
        }
        Command::ClearExpired => {
            let r = store.clear_expired()?;
            Ok(json!({ "scanned": r.scanned, "deleted": r.deleted, "skipped": r.skipped }))
        }
        Command::List => Ok(json!(list(store)?)),
        Command::Stats => stats(store),
    }
}

/// Session data from a command-line argument, or from stdin for "-".
fn read_data(arg: &str) -> Result<Data, Failure> {
    let text = if arg == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| Failure::Error(format!("reading stdin: {e}")))?;
        text
    } else {
        arg.to_owned()
    };
    Ok(sessionbox::parse_data(&text)?)
}

/// A live session's data, or the no-session failure saying why there is none.
fn load(store: &Store, key: &str) -> Result<Data, Failure> {
    if !sessionbox_guest::key::is_valid(key) {
        return Err(sessionbox::Error::InvalidKey.into());
    }
    let why = match store.load(key)? {
        Loaded::Found(data) => return Ok(data),
        Loaded::Missing => "does not exist",
        Loaded::Expired => "had expired (its file was deleted)",
        Loaded::BadSignature => "has a bad signature (tampered, or signed with another secret)",
        Loaded::Corrupt => "is corrupt",
    };
    Err(Failure::NoSession(format!("session {key} {why}")))
}

fn set(store: &Store, key: &str, changes: Data) -> Result<Value, Failure> {
    let mut data = load(store, key)?;
    data.extend(changes);
    match store.save(key, &data, false) {
        Err(sessionbox::Error::NotFound) => Err(Failure::NoSession(format!("session {key} was deleted meanwhile"))),
        other => other.map(|()| Value::Object(data)).map_err(Failure::from),
    }
}

/// What kind of file a directory entry is, judged by name alone.
enum Entry {
    Session(String),
    Temp,
    Other,
}

fn classify(store: &Store, name: &str) -> Entry {
    match name.strip_prefix(store.settings().file_prefix.as_str()) {
        Some(rest) if rest.contains("_out_") => Entry::Temp,
        Some(key) if sessionbox_guest::key::is_valid(key) => Entry::Session(key.to_owned()),
        _ => Entry::Other,
    }
}

fn read_dir(store: &Store) -> Result<std::fs::ReadDir, Failure> {
    std::fs::read_dir(store.dir()).map_err(|e| Failure::Error(format!("listing {}: {e}", store.dir().display())))
}

fn list(store: &Store) -> Result<Vec<String>, Failure> {
    let mut keys: Vec<String> = read_dir(store)?
        .filter_map(|e| e.ok())
        .filter_map(|e| match classify(store, &e.file_name().to_string_lossy()) {
            Entry::Session(key) => Some(key),
            _ => None,
        })
        .collect();
    keys.sort();
    Ok(keys)
}

fn stats(store: &Store) -> Result<Value, Failure> {
    let (mut sessions, mut temp_files, mut other_files, mut bytes) = (0u64, 0u64, 0u64, 0u64);
    let (mut oldest, mut newest) = (None::<u64>, None::<u64>);
    for entry in read_dir(store)?.filter_map(|e| e.ok()) {
        match classify(store, &entry.file_name().to_string_lossy()) {
            Entry::Session(_) => {
                sessions += 1;
                if let Ok(meta) = entry.metadata() {
                    bytes += meta.len();
                    if let Some(secs) = meta.modified().ok().and_then(|m| m.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs()) {
                        oldest = Some(oldest.map_or(secs, |o| o.min(secs)));
                        newest = Some(newest.map_or(secs, |n| n.max(secs)));
                    }
                }
            }
            Entry::Temp => temp_files += 1,
            Entry::Other => other_files += 1,
        }
    }
    Ok(json!({
        "dir": store.dir(),
        "sessions": sessions,
        "session_bytes": bytes,
        "temp_files": temp_files,
        "other_files": other_files,
        "oldest_mtime": oldest,
        "newest_mtime": newest,
    }))
}
