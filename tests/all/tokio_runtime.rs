//! The synchronous API called from inside tokio, as web servers will do.
//! wasmtime-wasi's sync bindings block on a runtime of their own and would
//! panic inside another one; the store must hide that.

use sessionbox::{Loaded, Settings, Store};

fn round_trip(store: &Store) {
    let data = sessionbox::parse_data(r#"{"user":"42"}"#).unwrap();
    let key = store.create(&data).unwrap();
    assert_eq!(store.load(&key).unwrap().into_data(), Some(data));
    store.delete(&key).unwrap();
    assert_eq!(store.load(&key).unwrap(), Loaded::Missing);
    assert_eq!(store.clear_expired().unwrap().deleted, 0);
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s"), Settings::new("secret")).unwrap();
    (dir, store)
}

#[tokio::test(flavor = "current_thread")]
async fn inside_a_current_thread_runtime() {
    let (_dir, store) = open();
    round_trip(&store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_multi_thread_runtime_and_spawned_tasks() {
    let (_dir, store) = open();
    round_trip(&store);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { round_trip(&store) })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_spawn_blocking() {
    let (_dir, store) = open();
    tokio::task::spawn_blocking(move || round_trip(&store)).await.unwrap();
}

#[test]
fn opened_inside_a_runtime_used_outside() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (_dir, store) = rt.block_on(async { open() });
    round_trip(&store);
}
