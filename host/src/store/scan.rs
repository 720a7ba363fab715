//! Reading the whole store: [`Store::scan_with`] over every live session
//! (on every core for a directory, in pages for a key-value store), and
//! what is built on it: a user's sessions ([`Store::sessions_of`]), logging
//! a user out everywhere ([`Store::revoke_user`]), and which sessions still
//! need a fallback secret ([`Store::secrets_report`],
//! [`Store::resign_fallbacks`]).

use super::Store;
use crate::bindings::from_wit;
use crate::error::{Error, Result};
use sessionbox_guest::{Resigned, ScanBatch, ScanReport, SessionInfo, SweepRange};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

/// What [`Store::revoke_user`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Revoked {
    /// What the scan counted (every session read, the user's or not).
    pub scan: ScanReport,
    /// The user's sessions found.
    pub found: u32,
    /// Those deleted now.
    pub deleted: u32,
    /// The one kept (`keep`), 0 or 1.
    pub kept: u32,
    /// Found, then gone before the delete (a logout meanwhile).
    pub gone: u32,
}

/// How many live sessions one secret verifies, for [`SecretsReport`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecretUse {
    /// Live sessions that this secret (and no earlier one) verifies.
    pub sessions: u32,
    /// The latest moment one of them expires: after it, no session needs
    /// this secret. `None` when no session does.
    pub latest_expiry: Option<SystemTime>,
}

/// Which live sessions each secret verifies ([`Store::secrets_report`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretsReport {
    /// What the scan counted.
    pub scan: ScanReport,
    /// Sessions the current `secret_key` verifies.
    pub current: SecretUse,
    /// Per entry of `fallback_keys`, in order: the sessions only it
    /// verifies. A fallback with none can go now; else after its
    /// `latest_expiry`, or now after [`Store::resign_fallbacks`].
    pub fallbacks: Vec<SecretUse>,
    /// Sessions that are not signed at all (Django's cache format, a
    /// pickle): no secret matters to them.
    pub unsigned: u32,
}

/// What [`Store::resign_fallbacks`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResignReport {
    /// What the scan counted.
    pub scan: ScanReport,
    /// Sessions now signed with the current secret.
    pub resigned: u32,
    /// Sessions a fallback verified that were saved (so signed with the
    /// current secret) or deleted before their turn.
    pub unchanged: u32,
}

impl Store {
    /// Every live session (with `user`, only those whose `_auth_user_id` is
    /// that user's), read and verified as [`load`](Self::load) reads them,
    /// nothing deleted. `each` gets each batch's sessions on the thread that
    /// scanned them (a directory is scanned on [`Options::sweep_threads`]
    /// threads over disjoint ranges of names, a key-value store in pages of
    /// its keys: Redis `SCAN`, never `KEYS`; one pass over an SQL table);
    /// `progress` gets the totals so far, on the calling thread, after each
    /// batch. Returns the totals. A signed-cookie store has nothing to
    /// scan ([`Error::Config`]); a provider that cannot list its keys
    /// (a Redis Cluster, a [`KeyValue`](crate::kv::KeyValue) without
    /// `keys`) fails with [`Error::Io`].
    ///
    /// [`Options::sweep_threads`]: crate::Options::sweep_threads
    pub fn scan_with<T: Send>(
        &self,
        user: Option<&str>,
        each: &(dyn Fn(&[SessionInfo]) -> Result<T> + Sync),
        progress: &mut dyn FnMut(&ScanReport, T),
    ) -> Result<ScanReport> {
        if self.inner.signed_cookies {
            return Err(Error::Config("a signed-cookie store keeps no sessions to list: each one is in its browser's cookie".into()));
        }
        let ranges = match &self.inner.backend {
            crate::instance::Backend::Dir(_) => sessionbox_guest::sweep_ranges(&self.inner.settings.file_prefix, self.sweep_threads()),
            crate::instance::Backend::Kv(_) => vec![SweepRange::default()],
        };
        let mut total = ScanReport::default();
        let work = |range: &SweepRange, stop: &AtomicBool, done: &mut dyn FnMut((ScanReport, T))| self.scan_range(user, range, stop, each, done);
        let mut scan = || {
            self.on_ranges(&ranges, &work, &mut |(report, out)| {
                total.add(report);
                progress(&total, out);
            })
        };
        if super::on_tokio_worker() {
            tokio::task::block_in_place(scan)?;
        } else {
            scan()?;
        }
        Ok(total)
    }

    /// Scans one range batch by batch on one instance, held throughout (it
    /// keeps the range's listing between batches).
    fn scan_range<T>(
        &self,
        user: Option<&str>,
        range: &SweepRange,
        stop: &AtomicBool,
        each: &(dyn Fn(&[SessionInfo]) -> Result<T> + Sync),
        done: &mut dyn FnMut((ScanReport, T)),
    ) -> Result<()> {
        let mut instance = self.instance(self.warm_instance())?;
        let budget_ms = self.sweep_budget_ms();
        let mut cursor = range.after.clone();
        let upto = range.upto.as_deref();
        // Redis' SCAN may return a key twice: each session is passed on once.
        let mut seen = std::collections::HashSet::new();
        let dedupe = matches!(self.inner.backend, crate::instance::Backend::Kv(_));
        loop {
            let batch = instance.call(self.inner.options.deadline, |api, store, handle| {
                api.call_scan(store, handle, user, cursor.as_deref(), upto, Some(budget_ms))
            })?;
            let batch: ScanBatch = match batch {
                Ok(batch) => {
                    let mut batch: ScanBatch = batch.into();
                    if dedupe {
                        batch.sessions.retain(|s| seen.insert(s.key.clone()));
                    }
                    batch
                }
                Err(e) => {
                    self.release(instance);
                    return Err(from_wit(e));
                }
            };
            let out = match each(&batch.sessions) {
                Ok(out) => out,
                Err(e) => {
                    self.release(instance);
                    return Err(e);
                }
            };
            done((batch.report, out));
            cursor = batch.cursor;
            if cursor.is_none() || stop.load(Ordering::Relaxed) {
                self.release(instance);
                return Ok(());
            }
        }
    }

    /// The live sessions of `user` (Django's `_auth_user_id`, as text: a
    /// user's primary key `42` is `"42"`), in no set order.
    /// With a fallback store ([`with_fallback`](Self::with_fallback)), its
    /// sessions of `user` are listed too (once each).
    pub fn sessions_of(&self, user: &str) -> Result<Vec<SessionInfo>> {
        let mut found = Vec::new();
        self.scan_with(Some(user), &|sessions| Ok(sessions.to_vec()), &mut |_, batch| found.extend(batch))?;
        if let Some(old) = self.fallback() {
            let here: std::collections::HashSet<String> = found.iter().map(|s| s.key.clone()).collect();
            found.extend(old.sessions_of(user)?.into_iter().filter(|s| !here.contains(&s.key)));
        }
        Ok(found)
    }

    /// Logs `user` out everywhere: deletes every live session of theirs
    /// but `keep` (the current request's, to stay signed in here). Each
    /// delete is a logout: a request of that session saving meanwhile
    /// does not bring it back. Sessions of other users, expired ones and
    /// those with a bad signature are counted and left alone.
    pub fn revoke_user(&self, user: &str, keep: Option<&str>) -> Result<Revoked> {
        self.revoke_user_with(user, keep, &mut |_| {})
    }

    /// [`revoke_user`](Self::revoke_user), calling `progress` with the
    /// totals after each batch. With a fallback store
    /// ([`with_fallback`](Self::with_fallback)), the user's sessions there
    /// go too: one not yet moved would otherwise be moved back in on its
    /// next request.
    pub fn revoke_user_with(&self, user: &str, keep: Option<&str>, progress: &mut dyn FnMut(&Revoked)) -> Result<Revoked> {
        let mut revoked = self.revoke_here(user, keep, progress)?;
        if let Some(old) = self.fallback() {
            let there = old.revoke_user_with(user, keep, progress)?;
            revoked.found += there.found;
            revoked.deleted += there.deleted;
            revoked.kept = revoked.kept.max(there.kept);
            revoked.gone += there.gone;
            revoked.scan.add(there.scan);
        }
        Ok(revoked)
    }

    fn revoke_here(&self, user: &str, keep: Option<&str>, progress: &mut dyn FnMut(&Revoked)) -> Result<Revoked> {
        let mut revoked = Revoked::default();
        let each = |sessions: &[SessionInfo]| -> Result<Revoked> {
            let mut r = Revoked::default();
            for session in sessions {
                r.found += 1;
                if keep == Some(session.key.as_str()) {
                    r.kept += 1;
                } else if self.delete(&session.key)? {
                    r.deleted += 1;
                } else {
                    r.gone += 1;
                }
            }
            Ok(r)
        };
        let scan = self.scan_with(Some(user), &each, &mut |scan, r| {
            revoked.found += r.found;
            revoked.deleted += r.deleted;
            revoked.kept += r.kept;
            revoked.gone += r.gone;
            revoked.scan = *scan;
            progress(&revoked);
        })?;
        revoked.scan = scan;
        Ok(revoked)
    }

    /// Counts, per secret, the live sessions that it verifies (and no
    /// earlier one): a fallback that verifies none can be removed from
    /// `SECRET_KEY_FALLBACKS` now, and one that does after its
    /// `latest_expiry`, or now after [`resign_fallbacks`](Self::resign_fallbacks).
    pub fn secrets_report(&self) -> Result<SecretsReport> {
        self.secrets_report_with(&mut |_| {})
    }

    /// [`secrets_report`](Self::secrets_report), calling `progress` with the
    /// scan's totals after each batch.
    pub fn secrets_report_with(&self, progress: &mut dyn FnMut(&ScanReport)) -> Result<SecretsReport> {
        let fallbacks = self.inner.settings.fallback_keys.len();
        let mut report = SecretsReport { fallbacks: vec![SecretUse::default(); fallbacks], ..SecretsReport::default() };
        let each = |sessions: &[SessionInfo]| Ok(sessions.iter().map(|s| (s.signed_by, crate::expiry::system_time(s.expires_at))).collect::<Vec<_>>());
        report.scan = self.scan_with(None, &each, &mut |scan, batch| {
            for (signed_by, expiry) in batch {
                let use_ = match signed_by {
                    None => {
                        report.unsigned += 1;
                        continue;
                    }
                    Some(0) => &mut report.current,
                    Some(n) => match report.fallbacks.get_mut(n as usize - 1) {
                        Some(use_) => use_,
                        None => continue,
                    },
                };
                use_.sessions += 1;
                use_.latest_expiry = Some(use_.latest_expiry.map_or(expiry, |t| t.max(expiry)));
            }
            progress(scan);
        })?;
        Ok(report)
    }

    /// Re-signs with the current secret every live session that only a
    /// fallback verifies, each in one step that keeps its data, its expiry
    /// and its signing time and is written only if the session still holds
    /// what was read (a session saved or deleted meanwhile is left as it
    /// is: never brought back, never undone). Afterwards
    /// [`secrets_report`](Self::secrets_report) finds no session that
    /// needs a fallback, and the fallbacks can go.
    pub fn resign_fallbacks(&self) -> Result<ResignReport> {
        self.resign_fallbacks_with(&mut |_| {})
    }

    /// [`resign_fallbacks`](Self::resign_fallbacks), calling `progress` with
    /// the totals after each batch.
    pub fn resign_fallbacks_with(&self, progress: &mut dyn FnMut(&ResignReport)) -> Result<ResignReport> {
        let mut total = ResignReport::default();
        let each = |sessions: &[SessionInfo]| -> Result<ResignReport> {
            let mut r = ResignReport::default();
            for session in sessions.iter().filter(|s| s.signed_by.is_some_and(|n| n > 0)) {
                match self.resign(&session.key)? {
                    Resigned::Resigned => r.resigned += 1,
                    Resigned::Current | Resigned::Gone => r.unchanged += 1,
                }
            }
            Ok(r)
        };
        total.scan = self.scan_with(None, &each, &mut |scan, r| {
            total.resigned += r.resigned;
            total.unchanged += r.unchanged;
            total.scan = *scan;
            progress(&total);
        })?;
        Ok(total)
    }

    /// Re-signs session `key` with the current secret when only a fallback
    /// verifies it (see [`resign_fallbacks`](Self::resign_fallbacks)).
    pub fn resign(&self, key: &str) -> Result<Resigned> {
        self.call(|api, store, handle| api.call_resign(store, handle, key)).map(Into::into)
    }
}
