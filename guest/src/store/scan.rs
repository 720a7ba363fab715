//! `scan`: list the live sessions, with who is logged in to each and which
//! secret signed it, reading and judging each as `load` does and deleting
//! nothing. What logging a user out everywhere, moving sessions to another
//! store and retiring old secrets are built on.

use super::load::Judgement;
use super::{SessionStore, Storage, Unread, TEMP_MARKER};
use crate::system::System;
use crate::time::Time;
use crate::{json, key, Error};

/// Django's session key for the logged-in user's primary key
/// (`django.contrib.auth.SESSION_KEY`).
pub const AUTH_USER_KEY: &str = "_auth_user_id";

/// A live session as [`SessionStore::scan`] found it; mirrors the WIT
/// `session-info` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Its key.
    pub key: String,
    /// When it expires.
    pub expires_at: Time,
    /// When it was last written (a file's mtime, a signed value's signing
    /// time); `None` where the store keeps no such time.
    pub written_at: Option<Time>,
    /// Django's `_auth_user_id` as text; `None` when nobody is logged in.
    pub user_id: Option<String>,
    /// Which secret verifies it (0: the current one, n: the n-th fallback);
    /// `None` when it is not signed.
    pub signed_by: Option<u32>,
}

/// What a scan counted; mirrors the WIT `scan-report` record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Entries that name a session.
    pub scanned: u32,
    /// Live sessions, matched or not.
    pub live: u32,
    /// Expired sessions (left for the sweep).
    pub expired: u32,
    /// Sessions no known secret signed.
    pub bad_signature: u32,
    /// Entries that could not be read or decoded.
    pub skipped: u32,
}

impl ScanReport {
    /// Adds another batch's counts to these.
    pub fn add(&mut self, other: ScanReport) {
        self.scanned = self.scanned.saturating_add(other.scanned);
        self.live = self.live.saturating_add(other.live);
        self.expired = self.expired.saturating_add(other.expired);
        self.bad_signature = self.bad_signature.saturating_add(other.bad_signature);
        self.skipped = self.skipped.saturating_add(other.skipped);
    }
}

/// One batch of a scan; mirrors the WIT `scan-batch` record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanBatch {
    /// The live sessions of this batch that matched.
    pub sessions: Vec<SessionInfo>,
    /// What this batch counted.
    pub report: ScanReport,
    /// Where the next batch starts; `None` when the scan is complete.
    pub cursor: Option<String>,
}

/// The user a session is logged in to: `_auth_user_id` as text (Django
/// writes `str(pk)`; a number is taken as its text too).
pub(crate) fn user_of(json_text: &str) -> Option<String> {
    match json::object_field(json_text, AUTH_USER_KEY).ok()?? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl<B: Storage, S: System> SessionStore<B, S> {
    /// One batch of a scan of the live sessions: with `user`, only those
    /// logged in to that user. Batches and ranges work as in
    /// [`sweep_range`](Self::sweep_range) for a directory; a key-value
    /// store scans a page of its keys per batch and ignores `upto`.
    pub fn scan(&self, user: Option<&str>, cursor: Option<&str>, upto: Option<&str>, budget_nanos: Option<u64>) -> Result<ScanBatch, Error> {
        let prefix = self.name_prefix().to_owned();
        let now = self.core.system.now();
        let mut batch = ScanBatch::default();
        let (next, not_utf8) = self.backend.walk(&self.core, &prefix, cursor, upto, budget_nanos, &mut |name| self.inspect(name, &prefix, user, now, &mut batch))?;
        batch.report.skipped = batch.report.skipped.saturating_add(not_utf8);
        batch.cursor = next;
        Ok(batch)
    }

    fn inspect(&self, name: &str, prefix: &str, user: Option<&str>, now: Time, batch: &mut ScanBatch) {
        let Some(key) = name.strip_prefix(prefix) else { return };
        if key.contains(TEMP_MARKER) || !key::is_valid(key) {
            return;
        }
        let core = &self.core;
        let report = &mut batch.report;
        let stored = match self.backend.read_latest(core, name, core.max_stored_len(self.backend.format())) {
            Ok(stored) => stored,
            // Deleted since it was listed.
            Err(Unread::Missing) => return,
            Err(_) => {
                report.scanned += 1;
                report.skipped += 1;
                return;
            }
        };
        report.scanned += 1;
        match self.judge(&stored, now) {
            Ok(Judgement::Live(live)) => {
                report.live += 1;
                let user_id = user_of(&live.json);
                if user.is_none_or(|wanted| user_id.as_deref() == Some(wanted)) {
                    batch.sessions.push(SessionInfo {
                        key: key.to_owned(),
                        expires_at: live.expires_at,
                        written_at: live.written_at,
                        user_id,
                        signed_by: live.signer.map(|i| u32::try_from(i).unwrap_or(u32::MAX)),
                    });
                }
            }
            Ok(Judgement::Expired) => report.expired += 1,
            Ok(Judgement::BadSignature) => report.bad_signature += 1,
            Ok(Judgement::Corrupt) | Err(_) => report.skipped += 1,
        }
    }
}
