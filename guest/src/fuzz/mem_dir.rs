//! An in-memory [`Dir`], so `load` can be fuzzed at memory speed.

use crate::dir::{Dir, File, Metadata};
use crate::system::System;
use crate::time::Time;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, ErrorKind};
use std::rc::Rc;

/// Most bytes one read returns: wasmtime's cap.
const SHORT_READ: usize = 1 << 16;

/// Each file's content, mtime and identity (a number no other file had).
type Files = Rc<RefCell<BTreeMap<String, (Vec<u8>, Time, u128)>>>;

/// A new file's identity: the next number of a process-wide count.
fn new_identity() -> u128 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    u128::from(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// A directory held in memory; every file has the same mtime, `now`.
#[derive(Default, Clone)]
pub struct MemDir {
    files: Files,
    now: Time,
}

/// A file of a [`MemDir`].
pub struct MemFile {
    files: Files,
    name: String,
}

fn missing() -> io::Error {
    io::Error::from(ErrorKind::NotFound)
}

impl MemDir {
    /// An empty directory whose clock stands at `now`.
    pub fn new(now: Time) -> MemDir {
        MemDir { files: Files::default(), now }
    }

    /// Puts a file in place.
    pub fn insert(&self, name: &str, content: &[u8]) {
        self.files.borrow_mut().insert(name.to_owned(), (content.to_vec(), self.now, new_identity()));
    }
}

impl File for MemFile {
    fn metadata(&self) -> io::Result<Metadata> {
        let files = self.files.borrow();
        let (content, modified, _) = files.get(&self.name).ok_or_else(missing)?;
        Ok(Metadata { len: content.len() as u64, modified: *modified, is_file: true })
    }
    fn identity(&self) -> io::Result<u128> {
        self.files.borrow().get(&self.name).map(|file| file.2).ok_or_else(missing)
    }
    fn read_at(&self, len: usize, offset: u64) -> io::Result<Vec<u8>> {
        let files = self.files.borrow();
        let (content, ..) = files.get(&self.name).ok_or_else(missing)?;
        let start = (offset as usize).min(content.len());
        // Short reads, as WASI hosts give them.
        Ok(content[start..content.len().min(start.saturating_add(len.min(SHORT_READ)))].to_vec())
    }
    fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        let mut files = self.files.borrow_mut();
        files.get_mut(&self.name).ok_or_else(missing)?.0 = buf.to_vec();
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }
}

impl Dir for MemDir {
    type File = MemFile;
    fn open(&self, name: &str) -> io::Result<MemFile> {
        self.files.borrow().get(name).ok_or_else(missing)?;
        Ok(MemFile { files: self.files.clone(), name: name.to_owned() })
    }
    fn create_new(&self, name: &str) -> io::Result<MemFile> {
        let mut files = self.files.borrow_mut();
        if files.contains_key(name) {
            return Err(ErrorKind::AlreadyExists.into());
        }
        files.insert(name.to_owned(), (Vec::new(), self.now, new_identity()));
        Ok(MemFile { files: self.files.clone(), name: name.to_owned() })
    }
    fn symlink_metadata(&self, name: &str) -> io::Result<Metadata> {
        MemFile { files: self.files.clone(), name: name.to_owned() }.metadata()
    }
    fn identity(&self, name: &str) -> io::Result<u128> {
        MemFile { files: self.files.clone(), name: name.to_owned() }.identity()
    }
    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut files = self.files.borrow_mut();
        let file = files.remove(from).ok_or_else(missing)?;
        files.insert(to.to_owned(), file);
        Ok(())
    }
    fn hard_link(&self, from: &str, to: &str) -> io::Result<()> {
        let mut files = self.files.borrow_mut();
        if files.contains_key(to) {
            return Err(ErrorKind::AlreadyExists.into());
        }
        let file = files.get(from).ok_or_else(missing)?.clone();
        files.insert(to.to_owned(), file);
        Ok(())
    }
    fn remove_file(&self, name: &str) -> io::Result<()> {
        self.files.borrow_mut().remove(name).map(drop).ok_or_else(missing)
    }
    fn for_each_entry(&self, f: &mut dyn FnMut(&str)) -> io::Result<u32> {
        let names: Vec<String> = self.files.borrow().keys().cloned().collect();
        names.iter().for_each(|name| f(name));
        Ok(0)
    }
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
    fn set_modified(&self, name: &str, modified: Time) -> io::Result<()> {
        self.files.borrow_mut().get_mut(name).map(|file| file.1 = modified).ok_or_else(missing)
    }
}

impl System for MemDir {
    fn now(&self) -> Time {
        self.now
    }
    fn monotonic_nanos(&self) -> u64 {
        0
    }
    fn fill_random(&self, buf: &mut [u8]) {
        // Deterministic: fuzz runs must be reproducible.
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(self.files.borrow().len() as u8);
        }
    }
}
