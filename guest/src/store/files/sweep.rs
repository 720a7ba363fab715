//! The sweep: Django's `clearsessions` over the directory, in batches that
//! each stay within a time budget.

use super::{Files, Opened, Read};
use crate::codec::{DecodeError, Signed};
use crate::dir::Dir;
use crate::system::System;
use crate::store::{Core, SweepBatch, SweepReport, Unread, TEMP_FILE_MAX_AGE_SECS, TEMP_MARKER};
use crate::time::Time;
use crate::{expiry, key, Error};
use std::collections::BinaryHeap;
use std::io::ErrorKind;

/// Most names one listing keeps for the batches that follow it (about 4 MiB
/// of guest memory): a directory of millions of entries is listed once per
/// this many sessions instead of held whole.
const SWEEP_WINDOW: usize = 65_536;

/// How many bytes of JSON per stored byte the sweep inflates before a
/// file's signature is checked. Real sessions compress less than this; a
/// forged zlib bomb (up to 1032 to 1) would otherwise cost the sweep a
/// thousand times more than reading the file.
const UNVERIFIED_INFLATION: usize = 16;

/// Names a listing kept, in byte order, and whether it left some out.
pub(crate) struct Window {
    names: Vec<String>,
    more: bool,
}

/// The verdict on one entry.
enum Verdict<F> {
    Keep,
    /// Delete it: a temporary file by name, a session only while its name
    /// holds the file that was opened and judged.
    Delete(Option<Opened<F>>),
    Skip,
}

/// A verdict on a session file's content, before the file is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Judged {
    Keep,
    Delete,
    Skip,
}

impl<D: Dir> Files<D> {
    /// One batch of [`clear_expired`](Self::clear_expired): the entries whose
    /// names sort after `cursor` (all of them for `None`) and, with `upto`,
    /// not after it, in byte order, until `budget_nanos` have passed after
    /// listing them (at least one entry per batch, so a sweep always
    /// progresses). Entries created meanwhile before the cursor wait for the
    /// next sweep; entries whose names are not UTF-8 are counted as skipped by
    /// a batch without a cursor (they have no place in byte order as strings,
    /// so the range that starts at the beginning owns them). The listing is
    /// kept for the next batch from the cursor this one returns.
    pub(super) fn sweep_files<S: System>(&self, core: &Core<S>, cursor: Option<&str>, upto: Option<&str>, budget_nanos: Option<u64>) -> Result<SweepBatch, Error> {
        let mut batch = SweepBatch::default();
        let now = core.system.now();
        let prefix = core.settings.file_prefix.as_str();
        let mut report = SweepReport::default();
        let (next, not_utf8) = self.walk_names(core, prefix, cursor, upto, budget_nanos, &mut |name| self.sweep_one(core, name, now, &mut report))?;
        report.skipped += not_utf8;
        batch.report = report;
        batch.cursor = next;
        Ok(batch)
    }

    /// Calls `visit` with the names with `prefix` after `cursor` and, with
    /// `upto`, not after it, in byte order, until `budget_nanos` have passed
    /// after listing them (at least one name per batch, so a walk always
    /// progresses); returns the cursor of the next batch (`None`: done) and,
    /// for a batch without a cursor, the count of names that are not UTF-8
    /// (they have no place in byte order as strings, so the range that
    /// starts at the beginning owns them). The listing is kept for the next
    /// batch from the cursor this one returns: the sweep and the scan share
    /// it. Entries created meanwhile before the cursor wait for the next
    /// walk.
    pub(super) fn walk_names<S: System>(
        &self,
        core: &Core<S>,
        prefix: &str,
        cursor: Option<&str>,
        upto: Option<&str>,
        budget_nanos: Option<u64>,
        visit: &mut dyn FnMut(&str),
    ) -> Result<(Option<String>, u32), Error> {
        let mut not_utf8_count = 0;
        let cached = self.sweep_rest.lock().ok().and_then(|mut rest| rest.take());
        let Window { mut names, more } = match (cursor, cached) {
            (Some(cursor), Some((at, at_upto, rest))) if at == cursor && at_upto.as_deref() == upto => rest,
            _ => {
                let (window, not_utf8) = self.next_names(prefix, cursor, upto)?;
                if cursor.is_none() {
                    not_utf8_count = not_utf8;
                }
                window
            }
        };
        let started = core.system.monotonic_nanos();
        let mut done = names.len();
        for (i, name) in names.iter().enumerate() {
            let out_of_time = budget_nanos.is_some_and(|budget| core.system.monotonic_nanos().saturating_sub(started) >= budget);
            if i > 0 && out_of_time {
                done = i;
                break;
            }
            visit(name);
        }
        let mut next = None;
        if done < names.len() {
            let rest = names.split_off(done);
            let at = names.pop().unwrap_or_default();
            next = Some(at.clone());
            if let Ok(mut slot) = self.sweep_rest.lock() {
                *slot = Some((at, upto.map(str::to_owned), Window { names: rest, more }));
            }
        } else if more {
            // The window is done but the directory holds more: the next
            // batch lists again, after the last name visited.
            next = names.pop();
        }
        Ok((next, not_utf8_count))
    }

    /// The first [`SWEEP_WINDOW`] names with the file prefix after `cursor`
    /// and not after `upto`, in byte order, and the count of names that are
    /// not UTF-8. Memory stays bounded however many entries the directory
    /// holds: the listing streams through a heap that keeps only the smallest
    /// names.
    fn next_names(&self, prefix: &str, cursor: Option<&str>, upto: Option<&str>) -> Result<(Window, u32), Error> {
        let mut heap: BinaryHeap<String> = BinaryHeap::new();
        let mut more = false;
        let not_utf8 = self
            .dir
            .for_each_entry(&mut |name| {
                if !name.starts_with(prefix) || cursor.is_some_and(|cursor| name <= cursor) || upto.is_some_and(|upto| name > upto) {
                    return;
                }
                if heap.len() == SWEEP_WINDOW {
                    more = true;
                    if heap.peek().is_some_and(|largest| name >= largest.as_str()) {
                        return;
                    }
                    heap.pop();
                }
                heap.push(name.to_owned());
            })
            .map_err(|e| Error::io("list", "the session directory", e))?;
        Ok((Window { names: heap.into_sorted_vec(), more }, not_utf8))
    }

    fn sweep_one<S: System>(&self, core: &Core<S>, name: &str, now: Time, report: &mut SweepReport) {
        let Some(rest) = name.strip_prefix(core.settings.file_prefix.as_str()) else { return };
        report.scanned += 1;
        let verdict = if rest.contains(TEMP_MARKER) {
            self.judge_temp(name, now)
        } else if key::is_valid(rest) {
            self.judge_session(core, name, now)
        } else {
            Verdict::Skip
        };
        match verdict {
            Verdict::Keep => {}
            Verdict::Skip => report.skipped += 1,
            Verdict::Delete(None) => match self.dir.remove_file(name) {
                Ok(()) => report.deleted += 1,
                // Someone else removed it first: nothing left to do.
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(_) => report.skipped += 1,
            },
            // A session is deleted only while its name still holds the
            // file judged: a save may have renamed a fresh one over it.
            Verdict::Delete(Some(opened)) => match self.remove_unchanged(name, &opened) {
                Ok(true) => report.deleted += 1,
                Ok(false) => {}
                Err(_) => report.skipped += 1,
            },
        }
    }

    fn judge_temp(&self, name: &str, now: Time) -> Verdict<D::File> {
        match self.dir.symlink_metadata(name) {
            Ok(meta) if meta.is_file && meta.modified.whole_secs_until(now) >= TEMP_FILE_MAX_AGE_SECS => Verdict::Delete(None),
            Ok(meta) if meta.is_file => Verdict::Keep,
            _ => Verdict::Skip,
        }
    }

    /// Deletes only what is shown to be expired: a session by its own expiry,
    /// and garbage (empty, not ASCII, or with a signature no known secret
    /// made) by the cookie age, as Django does. A file signed with a known
    /// secret that cannot be read here is a trusted writer's session this
    /// implementation failed to understand: it is never deleted for that.
    ///
    /// The signature decides only which of two verdicts applies: the one
    /// the content gives if it is genuine, or the one garbage gets. Most
    /// files get the same verdict either way (a fresh session without its
    /// own expiry is kept, an old one deleted, genuine or not), so the HMAC,
    /// the sweep's largest cost per file, is computed only when the two
    /// differ, or when the payload inflates past [`UNVERIFIED_INFLATION`].
    /// Every verdict is the one a verified decode gives.
    fn judge_session<S: System>(&self, core: &Core<S>, name: &str, now: Time) -> Verdict<D::File> {
        let Read { meta, content, file } = match self.read_file(name, core.max_stored_len(crate::store::Format::Signed)) {
            Ok(read) => read,
            Err(Unread::Missing) => return Verdict::Keep,
            Err(Unread::NotAFile | Unread::TooLarge | Unread::Io(_)) => return Verdict::Skip,
        };
        match Self::judge_content(core, &meta, &content, now) {
            Judged::Keep => Verdict::Keep,
            Judged::Skip => Verdict::Skip,
            Judged::Delete => Verdict::Delete(Some(Opened { meta, file })),
        }
    }

    /// The verdict on a session file's `content`, last written at
    /// `meta.modified` (see [`judge_session`](Self::judge_session)).
    fn judge_content<S: System>(core: &Core<S>, meta: &crate::dir::Metadata, content: &[u8], now: Time) -> Judged {
        let by_expiry = |expiry: Option<&serde_json::Value>| {
            let expires = expiry::expires_at(expiry, meta.modified, core.settings.cookie_age);
            if expiry::is_expired(expires, now) {
                Judged::Delete
            } else {
                Judged::Keep
            }
        };
        let as_garbage = by_expiry(None);
        let signed = match Signed::split(content) {
            Ok(signed) => signed,
            Err(_) => return as_garbage,
        };
        // A genuine file that cannot be read was a trusted writer's: skipped.
        let genuine = |unpacked: Result<Option<serde_json::Value>, DecodeError>| unpacked.map_or(Judged::Skip, |expiry| by_expiry(expiry.as_ref()));
        let max_json = core.settings.max_session_size as usize;
        let unverified_max = max_json.min(content.len().saturating_mul(UNVERIFIED_INFLATION));
        let if_genuine = match signed.expiry(unverified_max) {
            // Inflates further than an unsigned file may make the sweep
            // work: only a genuine one is read to the end.
            Err(DecodeError::TooLarge) if unverified_max < max_json => {
                return if core.codec.verify(&signed) { genuine(signed.expiry(max_json)) } else { as_garbage };
            }
            unpacked => genuine(unpacked),
        };
        if if_genuine == as_garbage || core.codec.verify(&signed) {
            if_genuine
        } else {
            as_garbage
        }
    }
}
