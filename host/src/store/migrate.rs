//! Moving sessions between stores without logging anyone out: the bulk
//! copy ([`Store::migrate_to`]) and the read-through switch
//! ([`Store::with_fallback`]), both on the component's `import`.

use super::Store;
use crate::bindings::timestamp;
use crate::data::Loaded;
use crate::error::{Error, Result};
use sessionbox_guest::{Imported, ScanReport, SessionInfo, Time};
use std::time::SystemTime;

/// What [`Store::migrate_to`] did (or, for a dry run, would do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrateReport {
    /// What the scan of the source counted: its expired sessions and those
    /// with a bad signature are skipped and counted here.
    pub scan: ScanReport,
    /// Sessions copied to a key no session had at the destination (for a
    /// dry run: live sessions the destination does not have).
    pub created: u32,
    /// Sessions copied over an older session at the destination.
    pub replaced: u32,
    /// Sessions the destination already had, written as late or later:
    /// left as they are (for a dry run: every live session it has). A run
    /// again after an interruption finds what the first one copied here.
    pub kept_newer: u32,
    /// Sessions gone from the source between the scan and the copy (a
    /// logout, an expiry).
    pub gone: u32,
    /// Sessions the destination refused (larger than its
    /// `max_session_size`): left in the source only.
    pub refused: u32,
}

impl Store {
    /// Copies every live session of this store to `to` with its key and
    /// what is left of its life, so that nobody is logged out when an app
    /// moves from one store to the other (a directory to Redis or
    /// PostgreSQL, or back). A session `to` already has is replaced only
    /// when this one was written later, so a session the app saved at the
    /// destination meanwhile is never overwritten, and running it again
    /// (after an interruption, say) copies only what is missing or newer.
    /// Expired sessions and those with a bad signature are counted, not
    /// copied. Nothing is deleted here: the source stays as it was. With
    /// `dry_run` nothing is written and the report counts what `to`
    /// already has. `progress` gets the totals after each batch.
    pub fn migrate_to(&self, to: &Store, dry_run: bool, progress: &mut dyn FnMut(&MigrateReport)) -> Result<MigrateReport> {
        self.transfer(to, dry_run, false, progress)
    }

    /// [`migrate_to`](Self::migrate_to), deleting each session here once
    /// `to` has it (copied now, or already there as late or later): for
    /// moving while the app runs on `to` with this store as its fallback
    /// ([`with_fallback`](Self::with_fallback)). A copy left behind would
    /// come back through the fallback after a logout on `to` that did not
    /// read through (Django's own logout, a `revoke-user` on `to` alone).
    pub fn move_to(&self, to: &Store, progress: &mut dyn FnMut(&MigrateReport)) -> Result<MigrateReport> {
        self.transfer(to, false, true, progress)
    }

    fn transfer(&self, to: &Store, dry_run: bool, delete_source: bool, progress: &mut dyn FnMut(&MigrateReport)) -> Result<MigrateReport> {
        if to.inner.signed_cookies {
            return Err(Error::Config("a signed-cookie store keeps no sessions to migrate to: the cookie is the session".into()));
        }
        let mut total = MigrateReport::default();
        let each = |sessions: &[SessionInfo]| -> Result<MigrateReport> {
            let mut r = MigrateReport::default();
            for session in sessions {
                if dry_run {
                    if to.exists(&session.key)? {
                        r.kept_newer += 1;
                    } else {
                        r.created += 1;
                    }
                    continue;
                }
                let Loaded::Found { data, expires_at } = self.load_json(&session.key)? else {
                    r.gone += 1;
                    continue;
                };
                let imported = to.import_json(&session.key, &data, expires_at, session.written_at.map(|t| t.to_system_time()));
                if delete_source && imported.is_ok() {
                    self.delete(&session.key)?;
                }
                match imported {
                    Ok(Imported::Created) => r.created += 1,
                    Ok(Imported::Replaced) => r.replaced += 1,
                    Ok(Imported::KeptNewer) => r.kept_newer += 1,
                    // Expired between the load and the import.
                    Err(Error::InvalidData(_)) => r.gone += 1,
                    // Too large for the destination's limit, or a key too
                    // long for its names.
                    Err(Error::TooLarge | Error::InvalidKey) => r.refused += 1,
                    Err(e) => return Err(e),
                }
            }
            Ok(r)
        };
        total.scan = self.scan_with(None, &each, &mut |scan, r| {
            total.created += r.created;
            total.replaced += r.replaced;
            total.kept_newer += r.kept_newer;
            total.gone += r.gone;
            total.refused += r.refused;
            total.scan = *scan;
            progress(&total);
        })?;
        Ok(total)
    }

    /// Stores `json` as session `key` so that it expires at `expires_at`,
    /// as moved from another store: created when no session has the key,
    /// replacing one only if that one was written before `written_at` (or,
    /// without it, the moment it must have been written to expire then).
    /// Importing the same session again writes nothing
    /// ([`Imported::KeptNewer`]); data already expired is
    /// [`Error::InvalidData`].
    pub fn import_json(&self, key: &str, json: &str, expires_at: SystemTime, written_at: Option<SystemTime>) -> Result<Imported> {
        let expires_at = timestamp(Time::from_system_time(expires_at));
        let written_at = written_at.map(|t| timestamp(Time::from_system_time(t)));
        self.call(|api, store, handle| api.call_import(store, handle, key, json, expires_at, written_at)).map(Into::into)
    }

    /// This store with `old` behind it, for switching stores without
    /// downtime: a session this store does not have but `old` does is
    /// moved here on first use (imported with its expiry, then deleted in
    /// `old`), so the app can switch before [`migrate_to`](Self::migrate_to)
    /// has copied everything. Loads, saves, updates and touches look in
    /// `old` when this store has no such session; deletes and `cycle_key`
    /// delete in both; `exists` asks both. A logout in the few
    /// milliseconds while a session moves can miss it (docs/operations.md).
    pub fn with_fallback(self, old: Store) -> Result<Store> {
        if self.inner.signed_cookies || old.inner.signed_cookies {
            return Err(Error::Config("a signed-cookie store keeps no sessions to read through".into()));
        }
        if std::sync::Arc::ptr_eq(&self.inner, &old.inner) {
            return Err(Error::Config("a store cannot fall back to itself".into()));
        }
        self.inner.fallback.set(old).map_err(|_| Error::Config("this store already has a fallback".into()))?;
        Ok(self)
    }

    /// The store behind this one ([`with_fallback`](Self::with_fallback)).
    pub fn fallback(&self) -> Option<&Store> {
        self.inner.fallback.get()
    }

    /// Moves session `key` here from the fallback store, if that has it
    /// live; whether it did. It is deleted there first, so that of two
    /// requests moving it, or a move and a logout there, one wins.
    pub(super) fn adopt(&self, key: &str) -> Result<bool> {
        let Some(old) = self.inner.fallback.get() else { return Ok(false) };
        let Loaded::Found { data, expires_at } = old.load_json(key)? else { return Ok(false) };
        if !old.delete(key)? {
            // Another request is moving it (or a logout took it): give that
            // move a moment to land here before answering.
            for _ in 0..20 {
                if self.call_brief(|api, store, handle| api.call_exists(store, handle, key))? {
                    return Ok(true);
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            return Ok(false);
        }
        match self.import_json(key, &data, expires_at, None) {
            Ok(_) => Ok(true),
            Err(Error::InvalidData(_)) => Ok(false),
            Err(e) => {
                // Not here: back where it was, so the session is not lost.
                let _ = old.import_json(key, &data, expires_at, None);
                Err(e)
            }
        }
    }
}
