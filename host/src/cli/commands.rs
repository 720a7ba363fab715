//! One function per subcommand; each returns the JSON text to print.
//!
//! Session data goes through as text, exactly as stored (Python's compact
//! `json.dumps` form): a round trip through `Data` would lose lone
//! surrogates and refuse very deep sessions.

use super::args::{Command, JsonArg};
use super::Failure;
use serde_json::json;
use sessionbox::{Loaded, ScanReport, SecretsReport, Store, SweepReport};
use sessionbox::{json as pyjson, key};
use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::MetadataExt;

/// What a command prints, and what it changed (for the message when
/// printing fails, so that a created key is never lost silently).
pub struct Printed {
    /// The JSON text for stdout.
    pub text: String,
    /// What the command did that printing cannot undo, e.g. "session KEY was
    /// created".
    pub done: Option<String>,
}

impl From<String> for Printed {
    fn from(text: String) -> Printed {
        Printed { text, done: None }
    }
}

/// Runs `command` against `store`.
pub fn run(store: &Store, command: &Command, output: JsonArg) -> Result<Printed, Failure> {
    Ok(match command {
        Command::Create { json } => {
            let key = store.create_json(&read_data(store, json)?)?;
            Printed { text: json!({ "key": key }).to_string(), done: Some(format!("session {} was created", shown(&key))) }
        }
        Command::Get { key } => printable(load(store, key)?, output)?.into(),
        Command::Set { key, json } => Printed { text: set(store, key, &read_data(store, json)?, output)?, done: Some(format!("session {} was saved", shown(key))) },
        Command::Delete { key } => {
            check_chars(key)?;
            let deleted = store.delete(key)?;
            Printed { text: json!({ "key": key, "deleted": deleted }).to_string(), done: deleted.then(|| format!("session {} was deleted", shown(key))) }
        }
        Command::Exists { key } => {
            check_chars(key)?;
            match store.exists(key)? {
                true => json!({ "key": key, "exists": true }).to_string().into(),
                false => return Err(Failure::NoSession(format!("no session {}{}", shown(key), why_no_file(store, key)))),
            }
        }
        Command::CycleKey { key } => {
            let data = load(store, key)?;
            let new_key = store.cycle_key_json(key, &data)?;
            Printed { text: json!({ "key": new_key, "old_key": key }).to_string(), done: Some(format!("session {} moved to the new key {}", shown(key), shown(&new_key))) }
        }
        Command::ClearExpired => {
            let r = sweep(store)?;
            let done = (r.deleted > 0).then(|| format!("{} expired sessions and stale files were deleted", r.deleted));
            Printed { text: json!({ "scanned": r.scanned, "deleted": r.deleted, "skipped": r.skipped }).to_string(), done }
        }
        Command::SessionsOf { user } => sessions_of(store, user)?.into(),
        Command::RevokeUser { user, keep } => {
            if let Some(keep) = keep {
                check_chars(keep)?;
            }
            let mut progress = Progress::new();
            let r = store.revoke_user_with(user, keep.as_deref(), &mut |r| progress.show(&format!("scanned {}, deleted {} of the user's {}", r.scan.scanned, r.deleted, r.found)))?;
            progress.end();
            let mut out = scan_json(&r.scan);
            out["user"] = json!(user);
            (out["found"], out["deleted"], out["kept"], out["gone"]) = (json!(r.found), json!(r.deleted), json!(r.kept), json!(r.gone));
            let done = (r.deleted > 0).then(|| format!("{} sessions of the user were deleted", r.deleted));
            Printed { text: ascii(&out)?, done }
        }
        Command::SecretsReport { resign } => secrets_report(store, *resign)?,
        // Opens two stores: run by `cli::run` through `migrate`.
        Command::Migrate { .. } => return Err(Failure::Error("migrate opens its own stores".into())),
        Command::List => json!(list(store)?).to_string().into(),
        Command::Stats => stats(store)?.into(),
        Command::EncodeCookie { json } => json!({ "cookie": store.encode_cookie_json(&read_data(store, json)?)? }).to_string().into(),
        Command::DecodeCookie { cookie } => printable(decode_cookie(store, cookie)?, output)?.into(),
    })
}

/// Session data from a command-line argument, or from stdin for "-", read
/// up to four times the size limit (room for whitespace; the store measures
/// the compact form) so that endless input cannot exhaust memory.
fn read_data(store: &Store, arg: &str) -> Result<String, Failure> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let max = u64::from(store.settings().max_session_size);
    // Nor more than the component could ever take in (its memory limit).
    let cap = max.saturating_mul(4).saturating_add(4096).min(store.options().memory_limit as u64);
    let mut bytes = Vec::new();
    std::io::stdin().take(cap + 1).read_to_end(&mut bytes).map_err(|e| Failure::Error(format!("reading stdin: {e}")))?;
    if bytes.len() as u64 > cap {
        return Err(Failure::Error(format!(
            "the session data on stdin is over {cap} bytes (4 × --max-session-size + 4 KiB, at most the component's memory); a session holds at most {max} bytes of JSON"
        )));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::Error("no session data on stdin (it is empty)".to_owned()));
    }
    String::from_utf8(bytes).map_err(|_| Failure::Error("the session data on stdin is not UTF-8".to_owned()))
}

/// A key with a character outside `[a-z0-9]` is a usage error, not a
/// missing session.
fn check_chars(key: &str) -> Result<(), Failure> {
    if key::has_valid_chars(key) {
        Ok(())
    } else {
        Err(sessionbox::Error::InvalidKey.into())
    }
}

/// Why a key of valid characters can have no file.
fn why_no_file(store: &Store, key: &str) -> &'static str {
    if key.len() < key::MIN_KEY_LEN {
        " (a session key has at least 8 characters)"
    } else if store.settings().file_prefix.len() + key.len() > 255 {
        " (a session key this long makes a file name over 255 bytes)"
    } else {
        ""
    }
}

/// A live session's data as JSON text, or the no-session failure saying why
/// there is none.
fn load(store: &Store, key: &str) -> Result<String, Failure> {
    check_chars(key)?;
    let why = match store.load_json(key)? {
        // In Python's compact form even if another writer stored it
        // otherwise (spaces, raw non-ASCII, repeated keys).
        Loaded::Found { data, .. } => return pyjson::canonical_object(&data).map_err(|e| sessionbox::Error::InvalidData(e.to_string()).into()),
        Loaded::Missing => "does not exist",
        Loaded::Expired => "had expired (its file was deleted)",
        Loaded::BadSignature => "has a bad signature (tampered, or signed with another secret)",
        Loaded::Corrupt => "is corrupt",
    };
    Err(Failure::NoSession(format!("session {} {why}{}", shown(key), why_no_file(store, key))))
}

/// The data in a signed_cookies value, in Python's compact form.
fn decode_cookie(store: &Store, cookie: &str) -> Result<String, Failure> {
    let why = match store.decode_cookie_json(cookie)? {
        Loaded::Found { data, .. } => return pyjson::canonical_object(&data).map_err(|e| sessionbox::Error::InvalidData(e.to_string()).into()),
        Loaded::Missing => "is empty",
        Loaded::Expired => "had expired",
        Loaded::BadSignature => "has a bad signature (tampered, or signed with another secret)",
        Loaded::Corrupt => "is corrupt",
    };
    Err(Failure::NoSession(format!("the cookie {why}")))
}

/// Session data as the output format asks: Python's form as stored, which
/// is strict JSON unless it holds NaN or Infinity.
fn printable(data: String, output: JsonArg) -> Result<String, Failure> {
    if output == JsonArg::Strict && pyjson::has_non_finite(&data).unwrap_or(false) {
        return Err(Failure::Error(
            "the session holds NaN or Infinity, which strict JSON cannot represent; pass --json python to print Python's form".to_owned(),
        ));
    }
    Ok(data)
}

/// Merges the keys of `changes` into session `key` (Python's `dict.update`:
/// a key already there keeps its place and takes the new value). Data the
/// output format cannot print is refused before anything is saved.
fn set(store: &Store, key: &str, changes: &str, output: JsonArg) -> Result<String, Failure> {
    let invalid = |e: pyjson::ParseError| Failure::from(sessionbox::Error::InvalidData(e.to_string()));
    let changes = pyjson::canonical_object(changes).map_err(invalid)?;
    let data = load(store, key)?;
    // Both are compact objects: their members, joined, read back with the
    // last value of each key winning in its first place, are the update.
    let members = |object: &str| object[1..object.len() - 1].to_owned();
    let joined = [members(&data), members(&changes)].into_iter().filter(|m| !m.is_empty()).collect::<Vec<_>>().join(",");
    let merged = printable(pyjson::canonical_object(&format!("{{{joined}}}")).map_err(invalid)?, output)?;
    match store.save_json(key, &merged, false) {
        Err(sessionbox::Error::NotFound) => Err(Failure::NoSession(format!("session {} was deleted meanwhile", shown(key)))),
        Err(e) => Err(e.into()),
        Ok(()) => Ok(merged),
    }
}

/// The whole sweep, with a progress line on stderr when it is a terminal.
fn sweep(store: &Store) -> Result<SweepReport, Failure> {
    if store.expires_by_itself() {
        let _ = writeln!(std::io::stderr(), "sessionbox: nothing to sweep: the store ({}) expires each session by its TTL", store.about());
    }
    let progress = std::io::stderr().is_terminal();
    let mut shown = false;
    let report = store.clear_expired_with(|total| {
        if progress {
            let _ = write!(std::io::stderr(), "\rsessionbox: swept {} entries, deleted {}, skipped {} ", total.scanned, total.deleted, total.skipped);
            shown = true;
        }
    });
    if shown {
        let _ = writeln!(std::io::stderr());
    }
    Ok(report?)
}

/// What kind of entry a directory entry is.
enum Entry {
    Session(String),
    Temp,
    Other,
}

/// Sessions and temporary files are regular files with the right names;
/// anything else (directories, FIFOs, symlinks, odd names) is other.
fn classify(store: &Store, name: &str, regular: bool) -> Entry {
    match name.strip_prefix(store.settings().file_prefix.as_str()) {
        Some(rest) if regular && rest.contains("_out_") => Entry::Temp,
        Some(key) if regular && key::is_valid(key) => Entry::Session(key.to_owned()),
        _ => Entry::Other,
    }
}

fn read_dir(store: &Store) -> Result<std::fs::ReadDir, Failure> {
    let Some(dir) = store.dir() else {
        return Err(Failure::Error(format!("list and stats read a session directory; this store is on {}", store.about())));
    };
    std::fs::read_dir(dir).map_err(|e| Failure::Error(format!("listing {}: {e}", dir.display())))
}

/// The keys of the session files: the entries `stats` counts as sessions.
/// A directory, FIFO or symlink named like a session is not one (the store
/// never reads it as one either). The type comes from the listing itself,
/// which never follows a symlink; only a filesystem that leaves it unknown
/// costs a stat.
fn list(store: &Store) -> Result<Vec<String>, Failure> {
    let mut keys: Vec<String> = read_dir(store)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let regular = e.file_type().is_ok_and(|t| t.is_file());
            match classify(store, &name, regular) {
                Entry::Session(key) => Some(key),
                _ => None,
            }
        })
        .collect();
    keys.sort();
    Ok(keys)
}

fn stats(store: &Store) -> Result<String, Failure> {
    let (mut sessions, mut temp_files, mut other_files, mut bytes) = (0u64, 0u64, 0u64, 0u64);
    let (mut oldest, mut newest) = (None::<i64>, None::<i64>);
    for entry in read_dir(store)?.filter_map(|e| e.ok()) {
        let meta = std::fs::symlink_metadata(entry.path()).ok();
        let regular = meta.as_ref().is_some_and(|m| m.is_file());
        let name = entry.file_name().into_string().unwrap_or_default();
        match classify(store, &name, regular) {
            Entry::Session(_) => {
                sessions += 1;
                if let Some(meta) = meta {
                    bytes += meta.len();
                    // Seconds since 1970, negative before it.
                    let secs = meta.mtime();
                    oldest = Some(oldest.map_or(secs, |o| o.min(secs)));
                    newest = Some(newest.map_or(secs, |n| n.max(secs)));
                }
            }
            Entry::Temp => temp_files += 1,
            Entry::Other => other_files += 1,
        }
    }
    let stats = json!({
        "dir": store.dir().unwrap_or(std::path::Path::new("")).to_string_lossy(),
        "sessions": sessions,
        "session_bytes": bytes,
        "temp_files": temp_files,
        "other_files": other_files,
        "oldest_mtime": oldest,
        "newest_mtime": newest,
    });
    // ASCII like every output: a directory's name may not be.
    pyjson::canonical_object(&stats.to_string()).map_err(|e| Failure::Error(e.to_string()))
}

/// A session key as error text shows it: its first characters only, as the
/// library's own errors do (the key is the user's credential, and stderr
/// ends up in logs).
fn shown(key: &str) -> String {
    sessionbox::redacted_key(key)
}

/// A progress line on stderr, rewritten in place, when stderr is a terminal.
struct Progress {
    on: bool,
    shown: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress { on: std::io::stderr().is_terminal(), shown: false }
    }

    fn show(&mut self, line: &str) {
        if self.on {
            let _ = write!(std::io::stderr(), "\rsessionbox: {line} ");
            self.shown = true;
        }
    }

    fn end(self) {
        if self.shown {
            let _ = writeln!(std::io::stderr());
        }
    }
}

/// A scan's counts as the JSON object the operator commands print.
fn scan_json(r: &ScanReport) -> serde_json::Value {
    json!({ "scanned": r.scanned, "live": r.live, "expired": r.expired, "bad_signature": r.bad_signature, "skipped": r.skipped })
}

/// JSON text, ASCII only (a user id may not be).
fn ascii(value: &serde_json::Value) -> Result<String, Failure> {
    pyjson::canonical_object(&value.to_string()).map_err(|e| Failure::Error(e.to_string()))
}

/// Unix seconds of a moment.
fn unix(t: sessionbox::Time) -> i64 {
    t.secs
}

fn sessions_of(store: &Store, user: &str) -> Result<String, Failure> {
    let mut progress = Progress::new();
    let mut found = Vec::new();
    let scan = store.scan_with(Some(user), &|sessions| Ok(sessions.to_vec()), &mut |total, batch| {
        found.extend(batch);
        progress.show(&format!("scanned {}, the user's: {}", total.scanned, found.len()));
    })?;
    progress.end();
    found.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = scan_json(&scan);
    out["user"] = json!(user);
    out["sessions"] = found.iter().map(|s| json!({ "key": s.key, "expires_at": unix(s.expires_at), "written_at": s.written_at.map(unix) })).collect();
    ascii(&out)
}

/// The report, per secret, as JSON, with what may be done about each
/// fallback.
fn report_json(store: &Store, r: &SecretsReport) -> serde_json::Value {
    let expiry = |t: Option<std::time::SystemTime>| t.map(|t| t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64));
    let mut out = scan_json(&r.scan);
    out["current"] = json!({ "sessions": r.current.sessions, "latest_expiry": expiry(r.current.latest_expiry) });
    out["unsigned"] = json!(r.unsigned);
    out["fallbacks"] = r
        .fallbacks
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let advice = match expiry(f.latest_expiry) {
                None => "no live session needs it: it can go now".to_owned(),
                Some(secs) => {
                    let (n, needs) = if f.sessions == 1 { ("1 session".to_owned(), "needs") } else { (format!("{} sessions", f.sessions), "need") };
                    format!("{n} {needs} it until {}; it can go then, or now after secrets-report --resign", iso(secs))
                }
            };
            json!({ "fallback": i + 1, "sessions": f.sessions, "latest_expiry": expiry(f.latest_expiry), "advice": advice })
        })
        .collect();
    if store.settings().fallback_keys.is_empty() {
        out["advice"] = json!("no fallback keys are configured (--fallback-keys-file)");
    }
    out
}

/// Unix seconds as an ISO 8601 UTC date and time.
fn iso(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn secrets_report(store: &Store, resign: bool) -> Result<Printed, Failure> {
    if store.settings().fallback_keys.is_empty() && resign {
        return Err(Failure::Error("--resign re-signs sessions that a fallback key verifies; no fallback keys are configured (--fallback-keys-file)".into()));
    }
    let mut progress = Progress::new();
    if !resign {
        let report = store.secrets_report_with(&mut |scan| progress.show(&format!("scanned {}", scan.scanned)))?;
        progress.end();
        return Ok(ascii(&report_json(store, &report))?.into());
    }
    let done = store.resign_fallbacks_with(&mut |r| progress.show(&format!("scanned {}, re-signed {}", r.scan.scanned, r.resigned)))?;
    progress.end();
    let report = store.secrets_report()?;
    let out = json!({ "resigned": done.resigned, "unchanged": done.unchanged, "report": report_json(store, &report) });
    Ok(Printed { text: ascii(&out)?, done: (done.resigned > 0).then(|| format!("{} sessions were re-signed", done.resigned)) })
}

/// `migrate`: every live session of `from` copied to `to`.
pub fn migrate(from: &Store, to: &Store, dry_run: bool, move_sessions: bool) -> Result<Printed, Failure> {
    let mut progress = Progress::new();
    let mut show = |r: &sessionbox::MigrateReport| progress.show(&format!("scanned {}, copied {}, already there {}", r.scan.scanned, r.created + r.replaced, r.kept_newer));
    let r = if move_sessions { from.move_to(to, &mut show)? } else { from.migrate_to(to, dry_run, &mut show)? };
    progress.end();
    let mut out = scan_json(&r.scan);
    (out["created"], out["replaced"], out["kept_newer"], out["gone"], out["refused"]) =
        (json!(r.created), json!(r.replaced), json!(r.kept_newer), json!(r.gone), json!(r.refused));
    out["dry_run"] = json!(dry_run);
    out["moved"] = json!(move_sessions);
    let copied = r.created + r.replaced;
    Ok(Printed { text: ascii(&out)?, done: (!dry_run && copied > 0).then(|| format!("{copied} sessions were copied")) })
}
