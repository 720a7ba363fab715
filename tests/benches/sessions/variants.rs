//! The implementations under test, behind one small trait: the component
//! (through the host library), the same logic natively, and the syscall floor.

use sessionbox::{Data, Durability, Settings, Store};
use sessionbox_guest::native::{NativeDir, NativeSystem};
use sessionbox_guest::SessionStore;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One implementation of the store operations over one directory.
pub trait Variant {
    /// Creates a session, returns its key.
    fn create(&mut self, data: &Payload) -> String;
    /// Loads a session (asserting it is there).
    fn load(&mut self, key: &str);
    /// Overwrites an existing session.
    fn save(&mut self, key: &str, data: &Payload);
    /// Moves a session to a new key.
    fn cycle(&mut self, key: &str, data: &Payload) -> String;
    /// Sweeps the directory; returns how many files were deleted.
    fn clear_expired(&mut self) -> u32;
}

/// Session data in the forms the variants take.
pub struct Payload {
    pub json: String,
    pub data: Data,
}

impl Payload {
    pub fn new(json: String) -> Payload {
        let data = sessionbox::parse_data(&json).expect("benchmark payloads are objects");
        Payload { json, data }
    }
}

/// The benchmark's settings: Django defaults, the given durability.
pub fn settings(durability: Durability) -> Settings {
    let mut s = Settings::new("benchmark-secret-key-benchmark-secret-key-0123456789");
    s.durability = durability;
    s
}

/// The component, through `sessionbox::Store`.
pub struct Component(pub Store);

impl Component {
    /// Sweeps on one thread, as the native store and the floor do, so that
    /// the main table compares the same work; sweep.rs measures threads.
    pub fn open(dir: &Path, durability: Durability) -> Component {
        let options = sessionbox::Options { sweep_threads: Some(1), ..sessionbox::Options::default() };
        Component(Store::open_with(dir, settings(durability), options).expect("open store"))
    }
}

impl Variant for Component {
    fn create(&mut self, p: &Payload) -> String {
        self.0.create(&p.data).expect("create")
    }
    fn load(&mut self, key: &str) {
        assert!(matches!(self.0.load(key), Ok(sessionbox::Loaded::Found { .. })));
    }
    fn save(&mut self, key: &str, p: &Payload) {
        self.0.save(key, &p.data, false).expect("save")
    }
    fn cycle(&mut self, key: &str, p: &Payload) -> String {
        self.0.cycle_key(key, &p.data).expect("cycle")
    }
    fn clear_expired(&mut self) -> u32 {
        self.0.clear_expired().expect("sweep").deleted
    }
}

/// The guest's session logic compiled natively over cap-std: no wasm.
pub struct Native(pub SessionStore<sessionbox_guest::Files<NativeDir>, NativeSystem>);

impl Native {
    pub fn open(dir: &Path, durability: Durability) -> Native {
        Native(SessionStore::new(NativeDir::open(dir).expect("open dir"), NativeSystem, settings(durability)).expect("store"))
    }
}

impl Variant for Native {
    fn create(&mut self, p: &Payload) -> String {
        self.0.create(&p.json).expect("create")
    }
    /// Parses the data as the component's `Store::load` does, so both deliver
    /// the same thing: a `Data` map.
    fn load(&mut self, key: &str) {
        match self.0.load(key) {
            Ok(sessionbox_guest::Loaded::Found { data: json, .. }) => drop(std::hint::black_box(sessionbox::parse_data(&json).expect("data"))),
            other => panic!("load: {other:?}"),
        }
    }
    fn save(&mut self, key: &str, p: &Payload) {
        self.0.save(key, &p.json, false).expect("save")
    }
    fn cycle(&mut self, key: &str, p: &Payload) -> String {
        self.0.cycle_key(key, &p.json).expect("cycle")
    }
    fn clear_expired(&mut self) -> u32 {
        self.0.clear_expired().expect("sweep").deleted
    }
}

/// The same filesystem operations with no encoding, signing or key drawing:
/// the floor any implementation pays.
pub struct Floor {
    dir: PathBuf,
    sync: bool,
    sync_dir: bool,
    next: u64,
    cookie_age: std::time::Duration,
}

impl Floor {
    pub fn open(dir: &Path, durability: Durability) -> Floor {
        Floor {
            dir: dir.to_owned(),
            sync: durability != Durability::None,
            sync_dir: durability == Durability::Full,
            next: 0,
            cookie_age: std::time::Duration::from_secs(1_209_600),
        }
    }

    /// With durability `full`, fsyncs the directory once a file has its name.
    fn sync_dir(&self) {
        if self.sync_dir {
            fs::File::open(&self.dir).and_then(|d| d.sync_all()).expect("sync directory");
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("sessionid{key}"))
    }

    /// Temp file, write, optional fsync: how every write starts.
    fn write_temp(&mut self, key: &str, content: &[u8]) -> PathBuf {
        let temp = self.dir.join(format!("sessionid{key}_out_{}", self.next));
        self.next += 1;
        let mut f = OpenOptions::new().write(true).create_new(true).open(&temp).expect("temp");
        f.write_all(content).expect("write");
        if self.sync {
            f.sync_data().expect("sync");
        }
        temp
    }
}

impl Variant for Floor {
    /// As sessionbox creates: write a temp file, hard-link it to the new
    /// name (fails if taken), unlink the temp name.
    fn create(&mut self, p: &Payload) -> String {
        let key = format!("{:032}", self.next);
        self.next += 1;
        let temp = self.write_temp(&key, p.json.as_bytes());
        fs::hard_link(&temp, self.path(&key)).expect("link");
        fs::remove_file(&temp).expect("unlink temp");
        self.sync_dir();
        key
    }
    fn load(&mut self, key: &str) {
        let path = self.path(key);
        let meta = fs::symlink_metadata(&path).expect("stat");
        assert!(meta.is_file());
        assert!(!read_noatime(&path).is_empty());
    }
    fn save(&mut self, key: &str, p: &Payload) {
        fs::symlink_metadata(self.path(key)).expect("probe");
        let temp = self.write_temp(key, p.json.as_bytes());
        fs::rename(&temp, self.path(key)).expect("rename");
        self.sync_dir();
    }
    fn cycle(&mut self, key: &str, p: &Payload) -> String {
        let new = self.create(p);
        fs::remove_file(self.path(key)).expect("unlink");
        new
    }
    fn clear_expired(&mut self) -> u32 {
        let mut deleted = 0;
        let now = std::time::SystemTime::now();
        for entry in fs::read_dir(&self.dir).expect("readdir") {
            let path = entry.expect("entry").path();
            let meta = fs::symlink_metadata(&path).expect("stat");
            let _content = read_noatime(&path);
            if meta.modified().expect("mtime") + self.cookie_age < now {
                fs::remove_file(&path).expect("unlink");
                deleted += 1;
            }
        }
        deleted
    }
}

/// A file's bytes, read as sessionbox reads (`O_NOATIME`, so the read
/// writes no access time), falling back to a plain open where refused.
pub fn read_noatime(path: &Path) -> Vec<u8> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOATIME.bits() as i32)
        .open(path)
        .or_else(|_| fs::File::open(path))
        .expect("open");
    let mut content = Vec::new();
    file.read_to_end(&mut content).expect("read");
    content
}
