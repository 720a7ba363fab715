//! Sweeping a store: [`Store::clear_expired`] in batches, over disjoint
//! ranges of names on several threads, each with its own instance.

use super::{on_tokio_worker, Store, MAX_DEFAULT_SWEEP_THREADS};
use crate::bindings::from_wit;
use crate::error::{Error, Result};
use sessionbox_guest::{SweepBatch, SweepRange, SweepReport};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

impl Store {
    /// Deletes every expired session (Django's `clearsessions`), in batches
    /// ([`Options::sweep_batch`]) that each stay well inside the deadline, so
    /// a directory of any size is swept whole. The names are split into
    /// [`Options::sweep_threads`] disjoint ranges, each swept on its own
    /// thread with its own instance. Returns the totals. On an error the
    /// other threads stop after their current batch and the first error is
    /// returned; what was deleted stays deleted, and a new sweep finishes
    /// the job.
    pub fn clear_expired(&self) -> Result<SweepReport> {
        self.clear_expired_with(|_| {})
    }

    /// [`clear_expired`](Self::clear_expired), calling `progress` with the
    /// totals so far after each batch of any thread (about once a second per
    /// thread). `progress` runs on the calling thread.
    pub fn clear_expired_with(&self, mut progress: impl FnMut(&SweepReport)) -> Result<SweepReport> {
        // A key-value provider deletes expired entries itself: an SQL table
        // in one statement, a store that drops keys by their TTL (Redis)
        // with nothing to do. No session is read or decoded, as in Django.
        if let crate::instance::Backend::Kv(provider) = &self.inner.backend {
            let deleted = provider.clear_expired().map_err(|e| Error::Io(format!("deleting expired sessions: {e}")))?;
            let report = SweepReport { scanned: 0, deleted: u32::try_from(deleted).unwrap_or(u32::MAX), skipped: 0 };
            progress(&report);
            return Ok(report);
        }
        let threads = self.sweep_threads();
        let ranges = sessionbox_guest::sweep_ranges(&self.inner.settings.file_prefix, threads);
        // The instances are held across batches, so the whole sweep is one
        // blocking section for a tokio worker.
        if on_tokio_worker() {
            tokio::task::block_in_place(|| self.sweep_ranges(&ranges, &mut progress))
        } else {
            self.sweep_ranges(&ranges, &mut progress)
        }
    }

    /// How many threads a sweep runs on: [`Options::sweep_threads`], or the
    /// available parallelism up to `MAX_DEFAULT_SWEEP_THREADS`.
    pub fn sweep_threads(&self) -> usize {
        match self.inner.options.sweep_threads {
            Some(n) => n.max(1),
            None => std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_DEFAULT_SWEEP_THREADS),
        }
    }

    /// Sweeps `ranges`, one thread each (the calling thread alone for one
    /// range), summing the batches' reports into `progress`.
    fn sweep_ranges(&self, ranges: &[SweepRange], progress: &mut dyn FnMut(&SweepReport)) -> Result<SweepReport> {
        let mut total = SweepReport::default();
        self.on_ranges(ranges, &|range, stop, done| self.sweep_range(range, stop, done), &mut |report| {
            total.add(report);
            progress(&total);
        })?;
        Ok(total)
    }

    /// Runs `work` on each of `ranges`, one thread each (the calling thread
    /// alone for one range), passing what each batch yields to `on_batch`
    /// on the calling thread. On an error the other threads stop after
    /// their current batch (`work` sees the flag set) and the first error is
    /// returned.
    pub(crate) fn on_ranges<T: Send>(
        &self,
        ranges: &[SweepRange],
        work: &(dyn Fn(&SweepRange, &AtomicBool, &mut dyn FnMut(T)) -> Result<()> + Sync),
        on_batch: &mut dyn FnMut(T),
    ) -> Result<()> {
        let stop = AtomicBool::new(false);
        if let [range] = ranges {
            return work(range, &stop, on_batch);
        }
        std::thread::scope(|scope| {
            let (sender, batches) = mpsc::channel();
            let mut threads = Vec::new();
            let mut failed = None;
            for range in ranges {
                let (sender, stop) = (sender.clone(), &stop);
                let started = std::thread::Builder::new().name("sessionbox-sweep".into()).spawn_scoped(scope, move || {
                    let done = work(range, stop, &mut |batch| {
                        // Only a panicking caller closes the channel.
                        let _ = sender.send(batch);
                    });
                    if done.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    done
                });
                match started {
                    Ok(thread) => threads.push(thread),
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        failed = Some(Error::Runtime(format!("starting a sweep thread: {e}")));
                        break;
                    }
                }
            }
            // The channel closes when the last thread drops its sender.
            drop(sender);
            for batch in batches {
                on_batch(batch);
            }
            for thread in threads {
                match thread.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => failed = failed.or(Some(e)),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            failed.map_or(Ok(()), Err)
        })
    }

    /// Sweeps one range batch by batch on one instance, held throughout:
    /// the guest keeps the range's listing between batches only within an
    /// instance, and another instance would list the directory again.
    /// Stops early, without error, once `stop` is set.
    fn sweep_range(&self, range: &SweepRange, stop: &AtomicBool, batch_done: &mut dyn FnMut(SweepReport)) -> Result<()> {
        let mut instance = self.instance(self.warm_instance())?;
        let budget_ms = self.sweep_budget_ms();
        let mut cursor = range.after.clone();
        let upto = range.upto.as_deref();
        loop {
            // A trap drops the instance here: its state may be inconsistent.
            let batch = instance
                .call(self.inner.options.deadline, |api, store, handle| api.call_sweep_range(store, handle, cursor.as_deref(), upto, Some(budget_ms)))?;
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    self.release(instance);
                    return Err(from_wit(e));
                }
            };
            batch_done(SweepReport { scanned: batch.report.scanned, deleted: batch.report.deleted, skipped: batch.report.skipped });
            cursor = batch.cursor;
            if cursor.is_none() || stop.load(Ordering::Relaxed) {
                self.release(instance);
                return Ok(());
            }
        }
    }

    /// One batch's budget in whole milliseconds ([`Options::sweep_batch`]).
    pub(crate) fn sweep_budget_ms(&self) -> u32 {
        let options = &self.inner.options;
        let budget = options.sweep_batch.unwrap_or((options.deadline / 4).min(Duration::from_secs(1)));
        u32::try_from(budget.as_millis()).unwrap_or(u32::MAX).max(1)
    }

    /// One batch of a sweep: the entries after `cursor` (all for `None`),
    /// for [`Options::sweep_batch`]. Call again with the returned cursor
    /// until it is `None`.
    pub fn sweep(&self, cursor: Option<&str>) -> Result<SweepBatch> {
        let budget_ms = self.sweep_budget_ms();
        let batch = self.call(|api, store, handle| api.call_sweep(store, handle, cursor, Some(budget_ms)))?;
        Ok(SweepBatch {
            report: SweepReport { scanned: batch.report.scanned, deleted: batch.report.deleted, skipped: batch.report.skipped },
            cursor: batch.cursor,
        })
    }
}
