//! Component loads called the way a tokio web server makes them: directly
//! from a task on a multi-thread runtime, through `spawn_blocking`, and
//! directly from a current-thread runtime; beside the same loads made
//! outside tokio.

use crate::variants::{Component, Payload, Variant};
use crate::workloads::median;
use sessionbox::{Durability, Loaded, Store};
use std::time::Instant;
use tokio::runtime::{Builder, Runtime};

/// µs per load of a ~200 B session, by how the call was made.
#[derive(Default)]
pub struct InTokio {
    pub outside: f64,
    pub task: f64,
    pub spawn_blocking: f64,
    pub current_thread: f64,
}

/// Measures `n` loads per way per round, the ways interleaved.
pub fn measure(n: usize, rounds: usize, data: &Payload) -> InTokio {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut component = Component::open(dir.path(), Durability::None);
    let key = component.create(data);
    let store = component.0;
    let multi = Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
    let single = Builder::new_current_thread().build().expect("runtime");
    let mut times: [Vec<f64>; 4] = Default::default();
    for _ in 0..rounds {
        times[0].push(loads(n, &store, &key));
        times[1].push(in_task(&multi, n, &store, &key));
        times[2].push(through_spawn_blocking(&multi, n, &store, &key));
        times[3].push(single.block_on(async { loads(n, &store, &key) }));
    }
    let [outside, task, spawn_blocking, current_thread] = times.map(median);
    InTokio { outside, task, spawn_blocking, current_thread }
}

/// µs per load, called on this thread.
fn loads(n: usize, store: &Store, key: &str) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        assert!(matches!(store.load(key), Ok(Loaded::Found { .. })));
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// µs per load, called from a spawned task.
fn in_task(runtime: &Runtime, n: usize, store: &Store, key: &str) -> f64 {
    let (store, key) = (store.clone(), key.to_owned());
    runtime.block_on(async move { tokio::spawn(async move { loads(n, &store, &key) }).await.expect("task") })
}

/// µs per load, each one handed to `spawn_blocking` and awaited.
fn through_spawn_blocking(runtime: &Runtime, n: usize, store: &Store, key: &str) -> f64 {
    runtime.block_on(async {
        let start = Instant::now();
        for _ in 0..n {
            let (store, key) = (store.clone(), key.to_owned());
            let loaded = tokio::task::spawn_blocking(move || store.load(&key)).await.expect("blocking task");
            assert!(matches!(loaded, Ok(Loaded::Found { .. })));
        }
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    })
}
