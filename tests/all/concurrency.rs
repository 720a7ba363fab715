//! Many threads sharing one `Store` (Clone + Send + Sync): concurrent
//! creates, saves and loads must never produce a duplicate key, a torn or
//! mixed read, or a leftover temporary file.
//!
//! Every version written is self-checking: it names its writer, its counter
//! and the slot (session) it was written to, repeats that triple in a
//! `check` field, and carries a pseudo-random `noise` string derived from the
//! triple (so the payload does not compress away and a torn read cannot look
//! whole). Before a writer saves a version it records it in a shared set, so
//! every version a reader sees must be in the set.

use serde_json::{json, Value};
use sessionbox::{Data, Error, Loaded, Settings, Store};
use std::collections::HashSet;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

const THREADS: usize = 8;
const ITERATIONS: usize = 50;
const SHARED_SLOTS: usize = 4;
const NOISE_LEN: usize = 3000;

fn noise(writer: u64, counter: u64, slot: u64) -> String {
    // xorshift64*, seeded by the triple.
    let mut x = (writer + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (counter + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ (slot + 7);
    (0..NOISE_LEN)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[(r >> 58) as usize % 62] as char
        })
        .collect()
}

fn version(writer: u64, counter: u64, slot: u64) -> Data {
    let tag = format!("{writer}/{counter}/{slot};");
    json!({
        "writer": writer,
        "counter": counter,
        "slot": slot,
        "check": tag.repeat(40),
        "noise": noise(writer, counter, slot),
        "tail": tag,
    })
    .as_object()
    .cloned()
    .unwrap()
}

/// Checks one loaded version is whole; returns its (writer, counter, slot).
fn verify(data: &Data) -> Result<(u64, u64, u64), String> {
    let num = |k: &str| data.get(k).and_then(Value::as_u64).ok_or_else(|| format!("field {k:?} missing or not a number in {data:?}"));
    let (w, c, s) = (num("writer")?, num("counter")?, num("slot")?);
    let want = version(w, c, s);
    if *data != want {
        return Err(format!("torn or mixed version: claims writer {w} counter {c} slot {s} but the fields do not match"));
    }
    let keys: Vec<&String> = data.keys().collect();
    let want_keys: Vec<&String> = want.keys().collect();
    if keys != want_keys {
        return Err(format!("key order changed: {keys:?}"));
    }
    Ok((w, c, s))
}

#[test]
fn the_checker_catches_torn_and_mixed_versions() {
    let good = version(3, 7, 1);
    assert_eq!(verify(&good), Ok((3, 7, 1)));
    // The noise of one version with the header of another: a mix of two writes.
    let mut mixed = good.clone();
    mixed.insert("noise".into(), Value::String(noise(3, 8, 1)));
    assert!(verify(&mixed).is_err());
    // A version truncated short.
    let mut torn = good.clone();
    let cut = torn["noise"].as_str().unwrap()[..NOISE_LEN / 2].to_owned();
    torn.insert("noise".into(), Value::String(cut));
    assert!(verify(&torn).is_err());
    // A version claiming another slot.
    let mut moved = good.clone();
    moved.insert("slot".into(), json!(2));
    assert!(verify(&moved).is_err());
    // Same content, different key order.
    let mut reordered = Data::new();
    for (k, v) in good.iter().rev() {
        reordered.insert(k.clone(), v.clone());
    }
    assert!(verify(&reordered).is_err());
    assert!(verify(&Data::new()).is_err());
}

fn is_valid_key(k: &str) -> bool {
    k.len() == 32 && k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[test]
fn threads_sharing_one_store_never_see_torn_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), Settings::new("concurrency-secret")).unwrap();

    // Shared slots everybody writes to and reads from; version (0, 0, slot)
    // with writer id THREADS is the initial one.
    let initial = THREADS as u64;
    let slots: Vec<String> = (0..SHARED_SLOTS).map(|s| store.create(&version(initial, 0, s as u64)).unwrap()).collect();
    let announced: Arc<Mutex<HashSet<(u64, u64, u64)>>> = Arc::new(Mutex::new((0..SHARED_SLOTS as u64).map(|s| (initial, 0, s)).collect()));
    // Keys created so far, for cross-thread reads.
    let published: Arc<Mutex<Vec<(String, Data)>>> = Arc::new(Mutex::new(Vec::new()));
    let start = Arc::new(Barrier::new(THREADS));

    let handles: Vec<_> = (0..THREADS as u64)
        .map(|w| {
            let store = store.clone();
            let slots = slots.clone();
            let announced = Arc::clone(&announced);
            let published = Arc::clone(&published);
            let start = Arc::clone(&start);
            thread::spawn(move || -> Result<(Vec<String>, Vec<String>, usize), String> {
                let mut created = Vec::new();
                let mut deleted = Vec::new();
                let mut reads = 0;
                start.wait();
                for c in 1..=ITERATIONS as u64 {
                    // Create a private session and read it straight back.
                    let own = version(w, c, 1000 + w);
                    let key = store.create(&own).map_err(|e| format!("writer {w}: create: {e}"))?;
                    created.push(key.clone());
                    match store.load(&key) {
                        Ok(Loaded::Found { data: d, .. }) if d == own => {}
                        other => return Err(format!("writer {w}: own new session {key} loaded as {other:?}")),
                    }
                    published.lock().unwrap().push((key.clone(), own.clone()));

                    // Overwrite a shared slot.
                    let slot = ((w + c) % SHARED_SLOTS as u64) as usize;
                    announced.lock().unwrap().insert((w, c, slot as u64));
                    store
                        .save(&slots[slot], &version(w, c, slot as u64), false)
                        .map_err(|e| format!("writer {w}: save slot {slot}: {e}"))?;

                    // Read every shared slot: each must be one whole version
                    // that somebody saved to that very slot.
                    for (s, key) in slots.iter().enumerate() {
                        let data = match store.load(key) {
                            Ok(Loaded::Found { data: d, .. }) => d,
                            other => return Err(format!("writer {w}: slot {s} loaded as {other:?} (a reader must always see a version)")),
                        };
                        let (vw, vc, vs) = verify(&data).map_err(|e| format!("writer {w}: slot {s}: {e}"))?;
                        if vs != s as u64 {
                            return Err(format!("writer {w}: slot {s} holds a version written to slot {vs}"));
                        }
                        if !announced.lock().unwrap().contains(&(vw, vc, vs)) {
                            return Err(format!("writer {w}: slot {s} holds version {vw}/{vc} that nobody saved"));
                        }
                        reads += 1;
                    }

                    // Read a session another thread created.
                    let other = {
                        let p = published.lock().unwrap();
                        p.get((w as usize * 7 + c as usize * 13) % p.len()).cloned()
                    };
                    if let Some((k, want)) = other {
                        match store.load(&k) {
                            Ok(Loaded::Found { data: d, .. }) => {
                                verify(&d).map_err(|e| format!("writer {w}: session {k}: {e}"))?;
                                // The owner may have re-saved it with a later counter.
                                if d != want && d.get("writer") != want.get("writer") {
                                    return Err(format!("writer {w}: session {k} changed owner"));
                                }
                            }
                            // The owner may have deleted it.
                            Ok(Loaded::Missing) => {}
                            other => return Err(format!("writer {w}: session {k} loaded as {other:?}")),
                        }
                        reads += 1;
                    }

                    // Re-save the own session, then every third iteration delete one.
                    let again = version(w, c + 100_000, 1000 + w);
                    store.save(&key, &again, false).map_err(|e| format!("writer {w}: re-save: {e}"))?;
                    if c % 3 == 0 {
                        let victim = created[created.len() - 2].clone();
                        store.delete(&victim).map_err(|e| format!("writer {w}: delete: {e}"))?;
                        if store.load(&victim) != Ok(Loaded::Missing) {
                            return Err(format!("writer {w}: deleted session {victim} still loads"));
                        }
                        deleted.push(victim);
                    }
                }
                Ok((created, deleted, reads))
            })
        })
        .collect();

    let mut all_created = Vec::new();
    let mut all_deleted = HashSet::new();
    let mut total_reads = 0;
    for h in handles {
        let (created, deleted, reads) = h.join().expect("a worker thread panicked").unwrap_or_else(|e| panic!("{e}"));
        all_created.extend(created);
        all_deleted.extend(deleted);
        total_reads += reads;
    }
    assert!(total_reads >= THREADS * ITERATIONS * SHARED_SLOTS, "too few reads happened: {total_reads}");

    // No duplicate keys, all well-formed, none equal to a slot.
    assert_eq!(all_created.len(), THREADS * ITERATIONS);
    let unique: HashSet<&String> = all_created.iter().chain(&slots).collect();
    assert_eq!(unique.len(), all_created.len() + slots.len(), "duplicate session keys were handed out");
    assert!(all_created.iter().all(|k| is_valid_key(k)), "a malformed key was created");

    // Every surviving session holds its owner's last version; deleted ones are gone.
    for key in &all_created {
        let loaded = store.load(key).unwrap();
        if all_deleted.contains(key) {
            assert_eq!(loaded, Loaded::Missing, "deleted session {key} came back");
        } else {
            let Loaded::Found { data: d, .. } = loaded else { panic!("session {key} loaded as {loaded:?}") };
            let (_, c, _) = verify(&d).unwrap();
            assert!(c > 100_000, "session {key} lost its re-save (counter {c})");
        }
    }
    for (s, key) in slots.iter().enumerate() {
        let Ok(Loaded::Found { data: d, .. }) = store.load(key) else { panic!("slot {s} lost") };
        assert_eq!(verify(&d).unwrap().2, s as u64);
    }

    // The directory holds exactly the live sessions: no temp files, no
    // placeholders, nothing else.
    let names: Vec<String> = std::fs::read_dir(store.dir().unwrap()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    let leftovers: Vec<&String> = names.iter().filter(|n| n.contains("_out_")).collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
    let want: HashSet<String> =
        all_created.iter().filter(|k| !all_deleted.contains(*k)).chain(&slots).map(|k| format!("sessionid{k}")).collect();
    let got: HashSet<String> = names.into_iter().collect();
    assert_eq!(got, want, "the directory does not hold exactly the live sessions");
    for name in &got {
        let len = std::fs::metadata(store.dir().unwrap().join(name)).unwrap().len();
        assert!(len > 0, "{name} is an empty placeholder");
    }
}

#[test]
fn racing_must_create_saves_have_exactly_one_winner() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), Settings::new("race-secret")).unwrap();
    const ROUNDS: usize = 15;
    for round in 0..ROUNDS {
        let key = format!("race{round:028}");
        let barrier = Arc::new(Barrier::new(THREADS));
        let results: Vec<(u64, Result<(), Error>)> = (0..THREADS as u64)
            .map(|w| {
                let store = store.clone();
                let key = key.clone();
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    barrier.wait();
                    (w, store.save(&key, &version(w, round as u64, 0), true))
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().expect("a racer panicked"))
            .collect();
        let winners: Vec<u64> = results.iter().filter(|(_, r)| r.is_ok()).map(|(w, _)| *w).collect();
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}, results {results:?}");
        for (w, r) in &results {
            if !winners.contains(w) {
                assert_eq!(r, &Err(Error::AlreadyExists), "round {round}: loser {w}");
            }
        }
        // The winner's version is what is stored, whole.
        let Ok(Loaded::Found { data: d, .. }) = store.load(&key) else { panic!("round {round}: nothing stored") };
        let (w, c, _) = verify(&d).unwrap();
        assert_eq!((w, c), (winners[0], round as u64), "round {round}: stored version is not the winner's");
    }
    let leftovers: Vec<String> = std::fs::read_dir(store.dir().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("_out_"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
}

#[test]
fn readers_racing_one_writer_always_see_a_whole_version() {
    // One key hammered by a writer while readers load it in a tight loop:
    // the rename must make every read see the old or the new content.
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), Settings::new("reader-secret")).unwrap();
    let key = store.create(&version(99, 0, 0)).unwrap();
    const WRITES: u64 = 120;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..THREADS - 1)
        .map(|r| {
            let store = store.clone();
            let key = key.clone();
            let done = Arc::clone(&done);
            thread::spawn(move || -> Result<usize, String> {
                let mut seen = 0;
                let mut last = 0;
                while !done.load(std::sync::atomic::Ordering::Acquire) || seen == 0 {
                    match store.load(&key) {
                        Ok(Loaded::Found { data: d, .. }) => {
                            let (w, c, _) = verify(&d).map_err(|e| format!("reader {r}: {e}"))?;
                            if w != 99 || c > WRITES {
                                return Err(format!("reader {r}: impossible version {w}/{c}"));
                            }
                            // One writer, renames in order: versions never go back.
                            if c < last {
                                return Err(format!("reader {r}: saw version {c} after {last}"));
                            }
                            last = c;
                        }
                        other => return Err(format!("reader {r}: loaded {other:?}")),
                    }
                    seen += 1;
                }
                Ok(seen)
            })
        })
        .collect();
    for c in 1..=WRITES {
        store.save(&key, &version(99, c, 0), false).unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Release);
    for h in readers {
        let seen = h.join().expect("a reader panicked").unwrap_or_else(|e| panic!("{e}"));
        assert!(seen > 0);
    }
    let Ok(Loaded::Found { data: d, .. }) = store.load(&key) else { panic!("lost") };
    assert_eq!(verify(&d).unwrap(), (99, WRITES, 0));
    let names: Vec<String> = std::fs::read_dir(store.dir().unwrap()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names, [format!("sessionid{key}")], "temporary files or other debris left behind");
}
