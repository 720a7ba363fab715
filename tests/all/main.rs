//! sessionbox's integration tests, one binary with a module per subject
//! (as wasmtime's `tests/all`): one link of wasmtime instead of one per file.
//! Every test here goes through the embedded component, the CLI binary, or
//! an outside runtime; the native build alone proves nothing about WASI.

#![allow(dead_code)]

mod support;

mod access_time;
mod bad_input;
mod browser;
mod cli;
mod compile_cache;
mod component;
mod concurrency;
mod conformance;
mod dir_replaced;
mod disk_full;
mod django_cached_db;
mod django_cookies;
mod django_db;
mod django_engine;
mod django_interop;
mod django_redis;
mod expiry;
mod file_modes;
mod key_redaction;
mod kv_provider;
mod merge;
mod limits;
mod node_store;
mod migrate;
mod packaging;
mod plugins;
mod postgres;
mod races;
mod revoke;
mod redis;
mod redis_frozen;
mod runtimes;
mod sandbox;
mod secrets;
mod session_lazy;
mod serve;
mod shared_login;
mod shared_login_node;
mod sizes;
mod sweep;
mod store_open;
mod storm;
mod tokio_runtime;
mod tower_sessions;
mod vectors;
mod web_hostile;
mod web_layer;
