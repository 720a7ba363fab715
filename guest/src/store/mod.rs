//! The session store over any [`Dir`]: Django's file backend operations
//! (SPEC §3), one file per operation.

mod clear_expired;
mod create;
mod delete;
mod load;
mod save;
#[cfg(test)]
mod tests;

pub use clear_expired::SweepReport;
pub use load::Loaded;

use crate::codec::Codec;
use crate::dir::{Dir, System};
use crate::{json_scan, key, Error, Settings};

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
}

impl<D: Dir, S: System> SessionStore<D, S> {
    /// A store over `dir`, after checking `settings`.
    pub fn new(dir: D, system: S, settings: Settings) -> Result<Self, Error> {
        settings.validate()?;
        let codec = Codec::cached(&settings.secret_key, &settings.fallback_keys, &settings.key_salt);
        Ok(SessionStore { dir, system, settings, codec })
    }

    /// The directory this store works in.
    pub fn dir(&self) -> &D {
        &self.dir
    }

    fn file_name(&self, key: &str) -> String {
        format!("{}{key}", self.settings.file_prefix)
    }

    /// The file name of session `key`, or `InvalidKey` when the key has a
    /// bad character or is so long that its file (or its temporary file,
    /// `_out_` plus 8 characters longer) would pass the 255-byte name limit.
    fn valid_file_name(&self, key: &str) -> Result<String, Error> {
        let longest = self.settings.file_prefix.len() + key.len() + TEMP_MARKER.len() + TEMP_SUFFIX_LEN;
        if key::is_valid(key) && longest <= MAX_NAME_LEN {
            Ok(self.file_name(key))
        } else {
            Err(Error::InvalidKey)
        }
    }

    fn random_key(&self, len: usize) -> String {
        key::random_string(len, |buf| self.system.fill_random(buf))
    }

    /// Largest session file that can hold a session of the maximum size:
    /// base64 of the JSON, plus the separators, timestamp and signature.
    fn max_file_len(&self) -> usize {
        let json = self.settings.max_session_size as usize;
        json.div_ceil(3) * 4 + 1 + 1 + 13 + 1 + 43
    }

    /// Validates `data` as a JSON object and encodes it for storage, signed
    /// now with the current secret.
    fn encode(&self, data: &str) -> Result<String, Error> {
        let json = json_scan::canonical_object(data).map_err(|e| Error::InvalidData(e.to_string()))?;
        if json.len() > self.settings.max_session_size as usize {
            return Err(Error::TooLarge);
        }
        Ok(self.codec.encode(&json, self.system.now().secs))
    }
}
