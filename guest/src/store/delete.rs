//! `exists` and `delete`, and the sweep of expired sessions.

use super::{SessionStore, Storage, SweepBatch, SweepReport};
use crate::dir::System;
use crate::Error;

impl<B: Storage, S: System> SessionStore<B, S> {
    /// Whether session `key` is stored (expired or not). A key that can
    /// name no session (too short, too long) has none.
    pub fn exists(&self, key: &str) -> Result<bool, Error> {
        let Some(name) = self.session_name(key)? else { return Ok(false) };
        self.backend.exists(&name).map_err(|e| e.hiding_key(key))
    }

    /// Deletes session `key`; returns whether there was one to delete (a
    /// missing session is not an error).
    pub fn delete(&self, key: &str) -> Result<bool, Error> {
        let Some(name) = self.session_name(key)? else { return Ok(false) };
        self.backend.remove(&name).map_err(|e| e.hiding_key(key))
    }

    /// Deletes every expired session in one call (Django's
    /// `clearsessions`). A backend that expires entries itself has nothing
    /// to sweep and reports nothing scanned.
    pub fn clear_expired(&self) -> Result<SweepReport, Error> {
        let mut total = SweepReport::default();
        let mut cursor = None;
        loop {
            let batch = self.sweep(cursor.as_deref(), None)?;
            total.add(batch.report);
            match batch.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(total),
            }
        }
    }

    /// One batch of [`clear_expired`](Self::clear_expired): the entries
    /// whose names sort after `cursor` (all of them for `None`), until
    /// `budget_nanos` have passed (at least one entry per batch, so a sweep
    /// always progresses); call again with the returned cursor until it is
    /// `None`.
    pub fn sweep(&self, cursor: Option<&str>, budget_nanos: Option<u64>) -> Result<SweepBatch, Error> {
        self.sweep_range(cursor, None, budget_nanos)
    }

    /// [`sweep`](Self::sweep) over the names up to and including `upto`
    /// (no bound for `None`): one batch of one [`SweepRange`](crate::SweepRange), whose
    /// `after` is the first cursor. Sweeps of disjoint ranges (see
    /// [`sweep_ranges`](crate::sweep_ranges)) may run at once, each in its
    /// own store, and together judge every entry exactly once.
    pub fn sweep_range(&self, cursor: Option<&str>, upto: Option<&str>, budget_nanos: Option<u64>) -> Result<SweepBatch, Error> {
        self.backend.sweep(&self.core, cursor, upto, budget_nanos)
    }
}
