//! Retiring old secrets on evidence (issue 26, part 3): a real Django
//! rotates its SECRET_KEY with SECRET_KEY_FALLBACKS; `sessionbox
//! secrets-report` counts per fallback the live sessions only it verifies
//! and their latest expiry, `--resign` moves them to the new secret with
//! their expiry kept, and then the fallbacks can go: every session still
//! loads in Django and in sessionbox. A re-sign racing deletes brings none
//! back; pickled sessions are reported as unsigned.

use crate::support::django::{self, Driver};
use crate::support::redis::RedisServer;
use serde_json::{json, Value};
use sessionbox::kv::redis::RedisOptions;
use sessionbox::{Loaded, RedisFormat, Settings, Store};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

const NEW: &str = "secrets-new-key-5f0c1d9e";
const MID: &str = "secrets-middle-key-a71b2c";
const OLD: &str = "secrets-old-key-0e33f4";
const COOKIE_AGE: u64 = 1_209_600;

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Django on one engine (configured with the NEW secret and no fallbacks;
/// each write under an old one overrides SECRET_KEY for that op), and the
/// CLI's arguments naming the same sessions.
struct Site {
    django: Driver,
    engine: &'static str,
    args: Vec<String>,
    fallbacks_file: PathBuf,
    tmp: tempfile::TempDir,
}

impl Site {
    fn start(engine: &'static str) -> Site {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = json!({"engine": engine, "secret_key": NEW, "cookie_age": COOKIE_AGE});
        let args = match engine {
            "file" => {
                let dir = tmp.path().join("sessions");
                std::fs::create_dir(&dir).unwrap();
                config["dir"] = json!(dir);
                vec!["--dir".to_owned(), dir.display().to_string()]
            }
            "db" => {
                let path = tmp.path().join("db.sqlite3");
                config["database"] = json!({"sqlite": path});
                config["migrate"] = json!(true);
                vec!["--sqlite".to_owned(), path.display().to_string()]
            }
            _ => unreachable!("{engine}"),
        };
        let fallbacks_file = tmp.path().join("fallbacks");
        std::fs::write(&fallbacks_file, format!("{MID}\n{OLD}\n")).unwrap();
        let django = Driver::start(&django::django_python(), &config);
        Site { django, engine, args, fallbacks_file, tmp }
    }

    /// A session Django writes while `secret` is its SECRET_KEY.
    fn create_under(&mut self, secret: &str, user: &str, expiry: Option<u64>) -> String {
        let mut op = json!({"op": "create", "data": {"_auth_user_id": user, "cart": [user]}, "settings": {"SECRET_KEY": secret}});
        if let Some(secs) = expiry {
            op["expiry"] = json!({"timedelta": secs});
        }
        self.django.ok(&op)["key"].as_str().unwrap().to_owned()
    }

    /// What Django (NEW secret, no fallbacks) loads for `key`.
    fn load(&mut self, key: &str) -> Value {
        self.django.ok(&json!({"op": "load", "key": key}))["data"].clone()
    }

    /// When `key` expires as stored: the file's mtime (the file engine
    /// adds SESSION_COOKIE_AGE to it), or the row's expire_date.
    fn stored_expiry(&mut self, key: &str) -> String {
        match self.engine {
            "file" => {
                let path = self.tmp.path().join("sessions").join(format!("sessionid{key}"));
                format!("{:?}", std::fs::metadata(path).unwrap().modified().unwrap())
            }
            _ => self.django.ok(&json!({"op": "row", "key": key}))["row"]["expire_date"].as_str().unwrap().to_owned(),
        }
    }

    /// Django's own expiry date of `key` (its `get_expiry_date`), read
    /// with both old secrets as fallbacks.
    fn django_expiry(&mut self, key: &str) -> Value {
        self.django.ok(&json!({"op": "expiry", "key": key, "settings": {"SECRET_KEY_FALLBACKS": [MID, OLD]}}))["date"].clone()
    }

    /// The CLI with the NEW secret (and the fallbacks file when asked).
    fn cli(&self, fallbacks: bool, args: &[&str]) -> Value {
        let mut cmd = crate::support::sessionbox(NEW);
        cmd.args(&self.args);
        if fallbacks {
            cmd.arg("--fallback-keys-file").arg(&self.fallbacks_file);
        }
        serde_json::from_str(&crate::support::run_ok(cmd.args(args))).unwrap()
    }

    /// sessionbox's store on the same sessions, with `fallbacks`.
    fn store(&self, fallbacks: &[&str]) -> Store {
        let mut settings = Settings::new(NEW);
        settings.cookie_age = COOKIE_AGE;
        settings.fallback_keys = fallbacks.iter().map(|s| s.to_string()).collect();
        match self.engine {
            "file" => Store::open(self.tmp.path().join("sessions"), settings).unwrap(),
            _ => {
                let options = sessionbox::kv::sql::sqlite::SqliteOptions::new(self.tmp.path().join("db.sqlite3"));
                Store::open_sqlite(&options, settings, sessionbox::Options::default()).unwrap()
            }
        }
    }
}

/// The rotation: Django wrote one session under MID and three under OLD
/// (one with its own expiry 30 days out, past the cookie age), two under
/// NEW. The report counts 2 current, fallback 1 (MID) 1, fallback 2
/// (OLD) 3 with the 30-day expiry as its latest; `--resign` moves the 4;
/// then without fallbacks every session loads in Django and sessionbox,
/// with its stored expiry unchanged.
fn rotate_on(engine: &'static str) {
    let mut site = Site::start(engine);
    let month = 30 * 86_400;
    let mids = vec![site.create_under(MID, "1", None)];
    let olds = vec![site.create_under(OLD, "2", None), site.create_under(OLD, "3", Some(month)), site.create_under(OLD, "4", None)];
    let news = vec![site.create_under(NEW, "5", None), site.create_under(NEW, "6", None)];
    let all: Vec<String> = mids.iter().chain(&olds).chain(&news).cloned().collect();
    // Before: Django without fallbacks cannot read the old ones.
    assert_eq!(site.load(&olds[0]), json!({}), "{engine}: Django read an OLD session without the fallback");
    let before: Vec<(String, Value)> = all.clone().iter().map(|k| (site.stored_expiry(k), site.django_expiry(k))).collect();
    let month_out = site.django.ok(&json!({"op": "expiry", "key": olds[1], "settings": {"SECRET_KEY_FALLBACKS": [OLD]}}))["age"].as_i64().unwrap();
    let now = unix(SystemTime::now());

    let report = site.cli(true, &["secrets-report"]);
    assert_eq!(report["current"]["sessions"], json!(2), "{engine}: {report}");
    let fallbacks = report["fallbacks"].as_array().unwrap();
    assert_eq!(fallbacks.iter().map(|f| f["sessions"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 3], "{engine}: {report}");
    let latest = |i: usize| fallbacks[i]["latest_expiry"].as_i64().unwrap();
    assert!((latest(0) - (now + COOKIE_AGE as i64)).abs() <= 5, "{engine}: MID's latest expiry {} vs {}", latest(0), now + COOKIE_AGE as i64);
    assert!((latest(1) - (now + month_out)).abs() <= 5, "{engine}: OLD's latest expiry {} vs the 30-day session's {}", latest(1), now + month_out);
    assert!(fallbacks[0]["advice"].as_str().unwrap().starts_with("1 session needs it until 20"), "{report}");
    assert!(fallbacks[1]["advice"].as_str().unwrap().starts_with("3 sessions need it until 20"), "{report}");
    assert!(fallbacks[1]["advice"].as_str().unwrap().contains("--resign"), "{report}");
    assert_eq!(report["unsigned"], json!(0), "{engine}: {report}");

    let resigned = site.cli(true, &["secrets-report", "--resign"]);
    assert_eq!(resigned["resigned"], json!(4), "{engine}: {resigned}");
    assert_eq!(resigned["report"]["current"]["sessions"], json!(6), "{engine}: {resigned}");
    let after = resigned["report"]["fallbacks"].as_array().unwrap();
    assert!(after.iter().all(|f| f["sessions"] == json!(0) && f["latest_expiry"].is_null()), "{engine}: {resigned}");
    // A second run has nothing left to do.
    assert_eq!(site.cli(true, &["secrets-report", "--resign"])["resigned"], json!(0), "{engine}");

    // The fallbacks are gone: NEW only, on both sides.
    let store = site.store(&[]);
    for (i, key) in all.iter().enumerate() {
        let user = (i + 1).to_string();
        assert_eq!(site.load(key)["_auth_user_id"], json!(user), "{engine}: Django without fallbacks lost session {i}");
        let Loaded::Found { data, .. } = store.load(key).unwrap() else { panic!("{engine}: sessionbox without fallbacks lost session {i}") };
        assert_eq!(data["cart"], json!([user]), "{engine}: session {i}");
        let (stored, date) = (site.stored_expiry(key), site.django_expiry(key));
        if engine == "file" {
            // The file's mtime, restored exactly.
            assert_eq!(stored, before[i].0, "{engine}: session {i}'s file time moved");
        } else {
            // The row's expire_date is rewritten from the remaining time
            // read just before (the key-value seam carries a TTL in
            // milliseconds): it may move by the time between the read and
            // the write, never by more than a second.
            let moved = iso_secs(&stored) - iso_secs(&before[i].0);
            eprintln!("{engine}: session {i}'s expire_date moved by {:.3} ms", moved * 1000.0);
            assert!(moved.abs() < 1.0, "{engine}: session {i}'s expire_date moved by {moved} s: {stored} vs {}", before[i].0);
        }
        if i == 2 {
            // Its own expiry (_session_expiry, inside the signed data):
            // Django's date is the same instant.
            assert_eq!(date, before[i].1, "{engine}: the 30-day session's expiry moved");
        }
    }
    let report = site.cli(false, &["secrets-report"]);
    assert_eq!((report["current"]["sessions"].clone(), report["bad_signature"].clone()), (json!(6), json!(0)), "{engine}: {report}");
}

#[test]
fn a_rotation_on_djangos_file_engine_retires_the_fallbacks_with_every_session_kept() {
    rotate_on("file");
}

#[test]
fn a_rotation_on_djangos_db_engine_retires_the_fallbacks_with_every_session_kept() {
    rotate_on("db");
}

fn settings(secret: &str, fallbacks: &[&str]) -> Settings {
    let mut settings = Settings::new(secret);
    settings.fallback_keys = fallbacks.iter().map(|s| s.to_string()).collect();
    settings
}

/// Re-signing races deletes: 300 sessions signed with OLD; while
/// `resign_fallbacks` runs, 11 threads delete every other one. Afterwards
/// no deleted session exists again, and every kept one is signed by NEW.
fn a_resign_racing_deletes_brings_none_back(old: &Store, new: &Store, what: &str) {
    let keys: Vec<String> = (0..300).map(|i| old.create(&crate::support::data(json!({"n": i}))).unwrap()).collect();
    let doomed: Vec<&String> = keys.iter().step_by(2).collect();
    let barrier = std::sync::Barrier::new(12);
    let report = std::thread::scope(|s| {
        for t in 0..11 {
            let (barrier, doomed) = (&barrier, &doomed);
            s.spawn(move || {
                barrier.wait();
                for key in doomed.iter().skip(t).step_by(11) {
                    new.delete(key).unwrap();
                }
            });
        }
        barrier.wait();
        new.resign_fallbacks().unwrap()
    });
    let back = doomed.iter().filter(|k| new.exists(k).unwrap()).count();
    eprintln!("{what}: re-sign among 11 deleting threads: {back} of {} deleted sessions back; {report:?}", doomed.len());
    assert_eq!(back, 0, "{what}: {back} deleted sessions came back");
    let kept: Vec<&String> = keys.iter().skip(1).step_by(2).collect();
    for key in kept {
        assert!(matches!(new.load(key).unwrap(), Loaded::Found { .. }), "{what}: a kept session was lost");
    }
    assert_eq!(new.secrets_report().unwrap().fallbacks[0].sessions, 0, "{what}: a session still needs the fallback");
}

#[test]
fn a_resign_racing_deletes_on_a_directory_brings_none_back() {
    let tmp = tempfile::tempdir().unwrap();
    let old = Store::open(tmp.path(), settings(OLD, &[])).unwrap();
    let new = Store::open(tmp.path(), settings(NEW, &[OLD])).unwrap();
    a_resign_racing_deletes_brings_none_back(&old, &new, "directory");
}

#[test]
fn a_resign_racing_deletes_on_redis_brings_none_back() {
    let redis = RedisServer::start();
    let open = |s| Store::open_redis(&RedisOptions::new(redis.url()), s).unwrap();
    a_resign_racing_deletes_brings_none_back(&open(settings(OLD, &[])), &open(settings(NEW, &[OLD])), "redis");
}

/// Django's cache format is a pickle, not signed: no secret matters to
/// it, so the report counts it as unsigned and `--resign` leaves it.
#[test]
fn pickled_sessions_are_reported_as_unsigned() {
    let redis = RedisServer::start();
    let options = RedisOptions { format: RedisFormat::django(), ..RedisOptions::new(redis.url()) };
    let store = Store::open_redis(&options, settings(NEW, &[OLD])).unwrap();
    for i in 0..3 {
        store.create(&crate::support::data(json!({"n": i}))).unwrap();
    }
    let fallbacks = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(fallbacks.path(), format!("{OLD}\n")).unwrap();
    let cli = |args: &[&str]| -> Value {
        let mut cmd = crate::support::sessionbox(NEW);
        cmd.args(["--redis", &redis.url(), "--redis-format", "django", "--fallback-keys-file"]).arg(fallbacks.path()).args(args);
        serde_json::from_str(&crate::support::run_ok(&mut cmd)).unwrap()
    };
    let report = cli(&["secrets-report"]);
    assert_eq!((report["unsigned"].clone(), report["current"]["sessions"].clone()), (json!(3), json!(0)), "{report}");
    assert_eq!(report["fallbacks"][0]["sessions"], json!(0), "{report}");
    let resigned = cli(&["secrets-report", "--resign"]);
    assert_eq!(resigned["resigned"], json!(0), "{resigned}");
}

/// Seconds since 1970 of Django's `isoformat()` of an aware UTC datetime
/// (`2026-12-22T00:46:50.886260+00:00`).
fn iso_secs(text: &str) -> f64 {
    let (date, time) = text.split_once('T').unwrap();
    let time = time.trim_end_matches("+00:00");
    let d: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let t: Vec<f64> = time.split(':').map(|p| p.parse().unwrap()).collect();
    // Howard Hinnant's days-from-civil.
    let (y, m, day) = (if d[1] <= 2 { d[0] - 1 } else { d[0] }, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days as f64 * 86_400.0 + t[0] * 3600.0 + t[1] * 60.0 + t[2]
}
