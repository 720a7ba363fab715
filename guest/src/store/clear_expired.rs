//! `clear_expired`: Django's `clearsessions` over the directory.

use super::{SessionStore, TEMP_FILE_MAX_AGE_SECS, TEMP_MARKER};
use crate::codec::DecodeError;
use crate::dir::{read_to_end, Dir, System};
use crate::time::Time;
use crate::{expiry, key, Error};
use std::io::ErrorKind;

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

/// The verdict on one entry.
enum Verdict {
    Keep,
    Delete,
    Skip,
}

impl<D: Dir, S: System> SessionStore<D, S> {
    /// Deletes every expired session, every empty or undecodable session file
    /// older than the cookie age, and every temporary file older than an hour.
    pub fn clear_expired(&self) -> Result<SweepReport, Error> {
        let names = self.dir.entries().map_err(|e| Error::io("list", "the session directory", e))?;
        let now = self.system.now();
        let mut report = SweepReport::default();
        for name in names {
            let Some(rest) = name.strip_prefix(self.settings.file_prefix.as_str()) else { continue };
            report.scanned += 1;
            let verdict = if rest.contains(TEMP_MARKER) {
                self.judge_temp(&name, now)
            } else if key::is_valid(rest) {
                self.judge_session(&name, now)
            } else {
                Verdict::Skip
            };
            match verdict {
                Verdict::Keep => {}
                Verdict::Skip => report.skipped += 1,
                Verdict::Delete => match self.dir.remove_file(&name) {
                    Ok(()) => report.deleted += 1,
                    // Someone else removed it first: nothing left to do.
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(_) => report.skipped += 1,
                },
            }
        }
        Ok(report)
    }

    fn judge_temp(&self, name: &str, now: Time) -> Verdict {
        match self.dir.metadata(name) {
            Ok(meta) if meta.is_file && meta.modified.whole_secs_until(now) >= TEMP_FILE_MAX_AGE_SECS => Verdict::Delete,
            Ok(meta) if meta.is_file => Verdict::Keep,
            _ => Verdict::Skip,
        }
    }

    /// Decides as `load` would, except that an undecodable file counts as
    /// empty data (Django's decode gives `{}`), so it goes after `cookie_age`.
    fn judge_session(&self, name: &str, now: Time) -> Verdict {
        let meta = match self.dir.metadata(name) {
            Ok(meta) if meta.is_file && meta.len <= self.max_file_len() as u64 => meta,
            _ => return Verdict::Skip,
        };
        let content = match self.dir.open(name).and_then(|f| read_to_end(&f, meta.len, self.max_file_len())) {
            Ok(content) => content,
            Err(_) => return Verdict::Skip,
        };
        let expiry = match self.codec.decode_session(&content, self.settings.max_session_size as usize) {
            Ok(decoded) => decoded.expiry,
            Err(DecodeError::TooLarge) => return Verdict::Skip,
            Err(DecodeError::BadSignature | DecodeError::Corrupt) => None,
        };
        let expires = expiry::expires_at(expiry.as_ref(), meta.modified, self.settings.cookie_age);
        if expiry::is_expired(expires, now) {
            Verdict::Delete
        } else {
            Verdict::Keep
        }
    }
}
