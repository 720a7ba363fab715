//! The session store over any [`Dir`]: Django's file backend operations
//! (docs/SPEC.md §3), one file per operation.

mod clear_expired;
mod create;
mod delete;
mod load;
mod save;
#[cfg(test)]
mod tests;

pub use clear_expired::{SweepBatch, SweepReport};
pub use load::Loaded;

use crate::codec::Codec;
use crate::dir::{Dir, System};
use crate::{json, key, Error, Settings};

/// Marks a temporary file: `<prefix><key>_out_<random>` (as Django's mkstemp).
pub(crate) const TEMP_MARKER: &str = "_out_";
/// Random characters that make a temporary file name unique.
const TEMP_SUFFIX_LEN: usize = 8;
/// The longest file name common filesystems accept, in bytes.
const MAX_NAME_LEN: usize = 255;
/// Temporary files older than this are debris from a crash and get swept.
pub const TEMP_FILE_MAX_AGE_SECS: i64 = 3600;

/// Django's file session store over one directory.
pub struct SessionStore<D, S> {
    dir: D,
    system: S,
    settings: Settings,
    codec: Codec,
    /// The rest of the listing after a sweep batch stopped, and the cursor
    /// it stopped at: the next batch from that cursor continues without
    /// listing the directory again (a listing of 100k entries is 100k host
    /// calls).
    sweep_rest: std::sync::Mutex<Option<(String, clear_expired::Window)>>,
}

impl<D: Dir, S: System> SessionStore<D, S> {
    /// A store over `dir`, after checking `settings`.
    pub fn new(dir: D, system: S, settings: Settings) -> Result<Self, Error> {
        settings.validate()?;
        let codec = Codec::cached(&settings.secret_key, &settings.fallback_keys, &settings.key_salt);
        Ok(SessionStore { dir, system, settings, codec, sweep_rest: Default::default() })
    }

    /// The directory this store works in.
    pub fn dir(&self) -> &D {
        &self.dir
    }

    fn file_name(&self, key: &str) -> String {
        format!("{}{key}", self.settings.file_prefix)
    }

    /// The file of session `key` as Django's file backend names it, `None`
    /// for a key that can name no session: shorter than 8 characters (Django
    /// never gives a session such a key) or too long for a file name.
    /// `InvalidKey` only for a character outside `[a-z0-9]`, Django's one
    /// refusal and the path-traversal guard.
    fn session_file(&self, key: &str) -> Result<Option<String>, Error> {
        if !key::has_valid_chars(key) {
            return Err(Error::InvalidKey);
        }
        let fits = self.settings.file_prefix.len() + key.len() <= MAX_NAME_LEN;
        Ok((key.len() >= key::MIN_KEY_LEN && fits).then(|| self.file_name(key)))
    }

    fn random_key(&self, len: usize) -> String {
        key::random_string(len, |buf| self.system.fill_random(buf))
    }

    /// Largest session file that can hold a session of the maximum size:
    /// base64 of the JSON, plus the separators, timestamp and signature. In
    /// u64: on wasm32 a `usize` cannot hold it for the largest sizes.
    fn max_file_len(&self) -> u64 {
        let json = u64::from(self.settings.max_session_size);
        json.div_ceil(3) * 4 + 1 + 1 + 13 + 1 + 43
    }

    /// [`max_file_len`](Self::max_file_len) as a read limit; on wasm32 a
    /// file that large could never be held in memory anyway.
    fn read_limit(&self) -> usize {
        usize::try_from(self.max_file_len()).unwrap_or(usize::MAX)
    }

    /// Validates `data` as a JSON object and encodes it for storage, signed
    /// now with the current secret.
    fn encode(&self, data: &str) -> Result<String, Error> {
        let json = json::canonical_object(data).map_err(|e| Error::InvalidData(e.to_string()))?;
        if json.len() as u64 > u64::from(self.settings.max_session_size) {
            return Err(Error::TooLarge);
        }
        Ok(self.codec.encode(&json, self.system.now().secs))
    }
}
