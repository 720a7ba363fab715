//! Writes: what a merging save (`Store::update`, the request's changes on
//! what is stored now) and a touch (`Store::touch`, the life extended
//! without a rewrite) cost against a full save of the same session, on a
//! directory, Redis, SQLite and PostgreSQL. The three run interleaved,
//! round by round, on one session per store; the median round is reported.

use crate::variants::Payload;
use crate::workloads::median;
use sessionbox::kv::sql::{postgres::PostgresOptions, sqlite::SqliteOptions};
use sessionbox::{Change, Options, RedisOptions, Settings, Store};
use std::time::Instant;

const SECRET: &str = "bench-writes-secret";

/// Median µs per call of each kind, per store.
pub struct Writes {
    /// Store name, then µs per full save, per update, per touch.
    pub rows: Vec<(String, [f64; 3])>,
    pub rounds: usize,
    pub ops: usize,
}

/// Runs `ops` of each kind per round, `rounds` rounds, on every store.
pub fn measure(rounds: usize, ops: usize, data: &Payload) -> Writes {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let redis = crate::support::redis::RedisServer::start();
    let pg = crate::support::postgres::PostgresServer::start();
    let stores: Vec<(String, Store)> = vec![
        ("directory (fsync of each file: durability file)".into(), Store::open(tmp.path().join("sessions"), Settings::new(SECRET)).expect("directory")),
        ("Redis (signed)".into(), Store::open_redis(&RedisOptions::new(redis.url()), Settings::new(SECRET)).expect("redis")),
        (
            "SQLite (WAL)".into(),
            Store::open_sqlite(&SqliteOptions { create_table: true, ..SqliteOptions::new(tmp.path().join("db.sqlite3")) }, Settings::new(SECRET), Options::default())
                .expect("sqlite"),
        ),
        (
            "PostgreSQL (fsync=off)".into(),
            Store::open_postgres(&PostgresOptions { create_table: true, ..PostgresOptions::new(pg.url("sessionbox")) }, Settings::new(SECRET), Options::default())
                .expect("postgres"),
        ),
    ];
    let mut rows = Vec::new();
    for (name, store) in stores {
        let key = store.create_json(&data.json).expect("create");
        let mut times: [Vec<f64>; 3] = Default::default();
        for round in 0..rounds {
            // Rotate the order, so no kind always runs first.
            for k in 0..3 {
                let kind = (k + round) % 3;
                let start = Instant::now();
                for i in 0..ops {
                    match kind {
                        0 => store.save_json(&key, &data.json, false).expect("save"),
                        1 => store.update(&key, &[Change::Set("visits".into(), i.to_string())]).expect("update"),
                        _ => assert!(store.touch(&key).expect("touch")),
                    }
                }
                times[kind].push(start.elapsed().as_secs_f64() * 1e6 / ops as f64);
            }
        }
        let [save, update, touch] = times.map(median);
        eprintln!("writes: {name}: save {save:.1} µs, update {update:.1} µs, touch {touch:.1} µs");
        rows.push((name, [save, update, touch]));
    }
    Writes { rows, rounds, ops }
}

/// The BENCHMARKS.md section.
pub fn section(w: &Writes) -> String {
    let mut out = String::from("## Writes: a merging save and a touch against a full save\n\n");
    out += &format!(
        "`cargo bench -p sessionbox --bench sessions -- --only writes`: per store, one session (the auth payload), {} calls of each kind per round, interleaved, {} rounds, median round. \
         A full save is `Store::save` of the whole session; an update is `Store::update` with one changed key (what a request's save now sends: read, apply, compare-and-set); \
         a touch is `Store::touch` (Redis `PEXPIRE`, SQL `UPDATE expire_date`, a file's mtime).\n\n",
        w.ops, w.rounds
    );
    out += "| store | full save µs | update µs | update / save | touch µs | touch / save |\n|---|---:|---:|---:|---:|---:|\n";
    for (name, [save, update, touch]) in &w.rows {
        out += &format!("| {name} | {save:.1} | {update:.1} | {:.2} | {touch:.1} | {:.2} |\n", update / save, touch / save);
    }
    out
}
