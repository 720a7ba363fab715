//! Running a call on a warm instance: the pool of idle instances, the
//! retry after the session directory was replaced, and when a call steps
//! off a tokio worker.

use super::{on_tokio_worker, Store};
use crate::bindings::{from_wit, wit};
use crate::error::Result;
use crate::instance::{Backend, Instance};
use crate::state::HostState;
use crate::directory;
use wasmtime::component::ResourceAny;

/// Largest linear memory of an instance kept warm for reuse.
const MAX_IDLE_MEMORY: usize = 16 << 20;

impl Store {
    /// Runs one export that may hold its thread for a millisecond or more
    /// (a write with its fsyncs, a sweep batch). On a multi-thread tokio
    /// runtime it runs under `block_in_place`, so the worker's other tasks
    /// move on meanwhile; elsewhere (no runtime, a current-thread runtime, a
    /// `spawn_blocking` thread) it runs in place.
    pub(super) fn call<T>(
        &self,
        f: impl Fn(&wit::GuestStore, &mut wasmtime::Store<HostState>, ResourceAny) -> wasmtime::Result<Result<T, wit::Error>>,
    ) -> Result<T> {
        self.run(false, f)
    }

    /// Runs one export that takes microseconds on a directory (a load, a
    /// stat, an unlink) in place even on a tokio worker, when a warm
    /// instance is at hand: `block_in_place` would cost more than the call
    /// (it hands the worker to another thread, several context switches
    /// per request). A call that must first instantiate the component, or
    /// one on a key-value store (Redis), goes the way of
    /// [`call`](Self::call): it waits on the network, up to the response
    /// timeout, and must not hold a worker meanwhile. Nothing in a call
    /// needs a runtime: the host's WASI calls complete at their first poll
    /// (see `filesystem::now`).
    pub(super) fn call_brief<T>(
        &self,
        f: impl Fn(&wit::GuestStore, &mut wasmtime::Store<HostState>, ResourceAny) -> wasmtime::Result<Result<T, wit::Error>>,
    ) -> Result<T> {
        self.run(true, f)
    }

    pub(super) fn run<T>(
        &self,
        brief: bool,
        f: impl Fn(&wit::GuestStore, &mut wasmtime::Store<HostState>, ResourceAny) -> wasmtime::Result<Result<T, wit::Error>>,
    ) -> Result<T> {
        let warm = self.warm_instance();
        // Only a directory's calls, and cookies (no storage), are brief: a
        // network store's may wait.
        let brief = brief && (matches!(self.inner.backend, Backend::Dir(_)) || self.inner.signed_cookies);
        if on_tokio_worker() && !(brief && warm.is_some()) {
            tokio::task::block_in_place(|| self.call_on(warm, f))
        } else {
            self.call_on(warm, f)
        }
    }

    /// Runs `f` on `warm`, or on a new instance. A call that failed with
    /// an I/O error because the session directory was deleted or replaced
    /// meanwhile runs once more, on an instance opened on the directory
    /// the path names now: it had no effect on that one.
    pub(super) fn call_on<T>(
        &self,
        warm: Option<Instance>,
        f: impl Fn(&wit::GuestStore, &mut wasmtime::Store<HostState>, ResourceAny) -> wasmtime::Result<Result<T, wit::Error>>,
    ) -> Result<T> {
        let mut instance = self.instance(warm)?;
        let generation = instance.generation;
        // A trap drops the instance here: its state may be inconsistent.
        let result = instance.call(self.inner.options.deadline, &f)?;
        self.release(instance);
        // Whichever thread noticed the change, every call that failed on an
        // instance of an older generation runs again.
        let stale = |watch: &directory::DirWatch| {
            watch.check(true);
            watch.generation() != generation
        };
        match result {
            Err(wit::Error::Io(_)) if self.inner.watch.as_ref().is_some_and(stale) => {
                let mut instance = self.instance(None)?;
                let result = instance.call(self.inner.options.deadline, &f)?;
                self.release(instance);
                result.map_err(from_wit)
            }
            result => result.map_err(from_wit),
        }
    }

    /// An idle instance from the pool, if one is warm (and opened on the
    /// directory the path names: see [`directory::DirWatch`]).
    pub(super) fn warm_instance(&self) -> Option<Instance> {
        let generation = match &self.inner.watch {
            Some(watch) => {
                watch.check(false);
                watch.generation()
            }
            None => 0,
        };
        let mut idle = self.inner.idle.lock().ok()?;
        // Instances of an older generation hold a directory no longer at
        // the path: dropped.
        while let Some(instance) = idle.pop() {
            if instance.generation == generation {
                return Some(instance);
            }
        }
        None
    }

    /// `warm`, or a new instance when there is none.
    pub(super) fn instance(&self, warm: Option<Instance>) -> Result<Instance> {
        match warm {
            Some(instance) => Ok(instance),
            None => {
                // The generation before the open: should the directory be
                // replaced meanwhile, the instance is retired, never kept
                // on a stale one.
                let generation = self.inner.watch.as_ref().map_or(0, |watch| watch.generation());
                let mut instance = Instance::new(&self.inner.backend, self.inner.options.memory_limit, &self.inner.wit_settings)?;
                instance.generation = generation;
                Ok(instance)
            }
        }
    }

    pub(super) fn release(&self, instance: Instance) {
        if self.inner.watch.as_ref().is_some_and(|watch| watch.generation() != instance.generation) {
            return;
        }
        if let Ok(mut idle) = self.inner.idle.lock() {
            // A call with a huge argument (a plugin's 60 MB key) grows an
            // instance's memory for good: such an instance is not kept.
            if idle.len() < self.inner.options.max_idle_instances && instance.memory() <= MAX_IDLE_MEMORY {
                idle.push(instance);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Loaded;
    use sessionbox_guest::Settings;

    /// A call with a huge argument grows its instance's memory for good;
    /// that instance is dropped rather than kept warm, and the next call
    /// works on a fresh one.
    #[test]
    fn an_instance_a_huge_call_grew_is_not_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path().join("s"), Settings::new("secret")).unwrap();
        let idle = || store.inner.idle.lock().unwrap().iter().map(Instance::memory).collect::<Vec<_>>();
        // Open keeps one warm instance, its memory counted from the start.
        let before = idle();
        assert!(before.len() == 1 && before[0] > 0 && before[0] <= MAX_IDLE_MEMORY, "{before:?}");
        // The huge call takes that instance; it grows and is not put back.
        assert!(matches!(store.load_json(&"k".repeat(40 << 20)).unwrap(), Loaded::Missing));
        assert_eq!(idle(), Vec::<usize>::new(), "the grown instance was kept");
        // The next call makes a fresh one, which is kept.
        let key = store.create_json("{}").unwrap();
        assert!(matches!(store.load_json(&key).unwrap(), Loaded::Found { .. }));
        assert_eq!(idle().len(), 1);
    }
}
