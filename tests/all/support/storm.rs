//! The storm both backends run (`storm.rs` on a directory, `redis.rs` on
//! Redis): threads of mixed operations on a few shared sessions, with
//! versions a torn or mixed read cannot pass for whole.

use serde_json::{json, Value};
use sessionbox::{Data, Error, Loaded, Store, SweepReport};
use std::time::{Duration, Instant};

/// One version of a session: who wrote it, which write, and a body derived
/// from both, so a torn or mixed read cannot pass [`check`].
pub fn version(writer: u64, seq: u64) -> Data {
    let body: String = (0..(200 + (seq % 7) * 300)).map(|i| char::from(b'a' + ((writer * 31 + seq * 17 + i) % 26) as u8)).collect();
    super::data(json!({"writer": writer, "seq": seq, "body": body}))
}

/// Whether `data` is exactly one version some writer produced (or empty: a
/// directory's placeholder between a create's probe and its rename).
pub fn check(data: &Data) -> Result<(), String> {
    if data.is_empty() {
        return Ok(());
    }
    let (Some(w), Some(s)) = (data.get("writer").and_then(Value::as_u64), data.get("seq").and_then(Value::as_u64)) else {
        return Err(format!("not a version: {data:?}"));
    };
    if *data != version(w, s) {
        return Err(format!("torn or mixed version writer={w} seq={s}"));
    }
    Ok(())
}

/// What the threads of one storm process did.
pub struct Thread {
    /// Pairs of keys: a session created, and the key it was cycled to.
    pub created: Vec<String>,
    /// Operations made.
    pub ops: u64,
    /// Loads that found no whole version.
    pub torn: u64,
}

/// Three threads of process `id`, for `for_how_long`, on the `shared`
/// sessions: loads (40 %), updates and create-if-absent saves, deletes,
/// create + cycle-key of a session of its own (checked at once), and a
/// sweep whose report `swept` checks. Any error but the ones a racing
/// delete or create explains fails the storm.
pub fn mixed_ops(store: &Store, id: u64, shared: &[String], for_how_long: Duration, swept: &(dyn Fn(SweepReport) + Sync)) -> Vec<Thread> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..3u64)
            .map(|t| {
                s.spawn(move || {
                    let writer = id * 10 + t;
                    let mut done = Thread { created: Vec::new(), ops: 0, torn: 0 };
                    let mut seq = 0u64;
                    let start = Instant::now();
                    while start.elapsed() < for_how_long {
                        seq += 1;
                        let key = &shared[((seq * 7 + t * 3 + id) % shared.len() as u64) as usize];
                        match seq % 10 {
                            0..=3 => match store.load(key).unwrap() {
                                Loaded::Found { data, .. } => {
                                    if let Err(e) = check(&data) {
                                        eprintln!("torn read of {key}: {e}");
                                        done.torn += 1;
                                    }
                                }
                                Loaded::Missing | Loaded::Expired => {}
                                other => panic!("load {key}: {other:?}"),
                            },
                            4 | 5 => match store.save(key, &version(writer, seq), false) {
                                Ok(()) | Err(Error::NotFound) => {}
                                Err(e) => panic!("save {key}: {e}"),
                            },
                            6 => match store.save(key, &version(writer, seq), true) {
                                Ok(()) | Err(Error::AlreadyExists) => {}
                                Err(e) => panic!("recreate {key}: {e}"),
                            },
                            7 => drop(store.delete(key).unwrap()),
                            8 => {
                                let new = store.create(&version(writer, seq)).unwrap();
                                let cycled = store.cycle_key(&new, &version(writer, seq + 1)).unwrap();
                                done.created.extend([new, cycled.clone()]);
                                match store.load(&cycled).unwrap() {
                                    Loaded::Found { data, .. } => assert_eq!(data, version(writer, seq + 1)),
                                    other => panic!("own cycled session {cycled}: {other:?}"),
                                }
                            }
                            _ => swept(store.clear_expired().unwrap()),
                        }
                        done.ops += 1;
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// One round of Django's Trac #37249: a session is created, then a delete
/// (a logout) and an update-save start at the same instant. Returns the
/// key, whether the delete found the session, and the save's result.
pub fn logout_racing_an_update(store: &Store, round: u64) -> (String, bool, sessionbox::Result<()>) {
    let key = store.create(&version(1, round)).unwrap();
    let barrier = std::sync::Barrier::new(2);
    let (deleted, saved) = std::thread::scope(|s| {
        let saver = s.spawn(|| {
            barrier.wait();
            store.save(&key, &version(2, round), false)
        });
        barrier.wait();
        let deleted = store.delete(&key).unwrap();
        (deleted, saver.join().unwrap())
    });
    (key, deleted, saved)
}
