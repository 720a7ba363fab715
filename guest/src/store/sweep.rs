//! The sweep of expired sessions (Django's `clearsessions`), in batches and
//! over disjoint ranges of names, whatever the backend: what a sweep
//! reports and how the names are split. The directory backend's own sweep
//! is in `files/sweep.rs`; the key-value backend has nothing to sweep.

use super::{SessionStore, Storage};
use crate::system::System;
use crate::Error;

/// What a sweep did; mirrors the WIT `sweep-report` record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Entries whose names carry the file prefix.
    pub scanned: u32,
    /// Files deleted.
    pub deleted: u32,
    /// Entries that could not be judged and were left alone.
    pub skipped: u32,
}

impl SweepReport {
    /// Adds another batch's counts to these.
    pub fn add(&mut self, other: SweepReport) {
        self.scanned = self.scanned.saturating_add(other.scanned);
        self.deleted = self.deleted.saturating_add(other.deleted);
        self.skipped = self.skipped.saturating_add(other.skipped);
    }
}

/// One batch of a sweep; mirrors the WIT `sweep-batch` record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepBatch {
    /// What this batch did.
    pub report: SweepReport,
    /// Where the next batch starts (after this entry name, in byte order);
    /// `None` when the sweep is complete.
    pub cursor: Option<String>,
}

/// A part of the names a sweep covers, for sweeps that run side by side: the
/// names that sort (by bytes) after `after` and up to and including `upto`,
/// `None` meaning no bound on that side. The ranges [`sweep_ranges`] makes
/// cover every byte string exactly once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepRange {
    /// Exclusive lower bound: the cursor a sweep of this range starts from.
    pub after: Option<String>,
    /// Inclusive upper bound.
    pub upto: Option<String>,
}

/// Session key characters in byte order: the points where [`sweep_ranges`]
/// cuts.
const KEY_CHARS_SORTED: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// `parts` disjoint ranges (clamped to 1..=36) that together cover every
/// name, in byte order, for sweeping one directory from several threads.
/// Random session keys spread evenly over their first character, so the
/// cuts fall between first characters (`<prefix>i` for two parts): each
/// range holds about as many sessions. Names that are no key (foreign
/// files with the prefix, temporary files) land in whichever range their
/// bytes put them, exactly one, since each cut is an inclusive upper bound
/// of one range and the exclusive lower bound of the next.
pub fn sweep_ranges(prefix: &str, parts: usize) -> Vec<SweepRange> {
    let parts = parts.clamp(1, KEY_CHARS_SORTED.len());
    let cuts: Vec<Option<String>> = (1..parts)
        .map(|k| Some(format!("{prefix}{}", char::from(KEY_CHARS_SORTED[k * KEY_CHARS_SORTED.len() / parts]))))
        .collect();
    let lowers = std::iter::once(None).chain(cuts.iter().cloned());
    let uppers = cuts.iter().cloned().chain(std::iter::once(None));
    lowers.zip(uppers).map(|(after, upto)| SweepRange { after, upto }).collect()
}

impl<B: Storage, S: System> SessionStore<B, S> {
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
