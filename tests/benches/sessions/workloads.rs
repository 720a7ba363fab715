//! The workloads, each measured on fresh directories with the variants
//! interleaved round by round (file create/rename cost drifts between runs
//! on these VMs, so only same-round ratios mean much).

use crate::variants::{Component, Floor, Native, Payload, Variant};
use sessionbox::Durability;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// A store operation timed per call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Create,
    Load,
    UpdateSave,
    CycleKey,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::Create, Op::Load, Op::UpdateSave, Op::CycleKey];

    pub fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Load => "load",
            Op::UpdateSave => "update-save",
            Op::CycleKey => "cycle-key",
        }
    }
}

/// The implementations, in table order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Floor,
    Native,
    Component,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Floor, Kind::Native, Kind::Component];

    pub fn open(self, dir: &Path, durability: Durability) -> Box<dyn Variant> {
        match self {
            Kind::Floor => Box::new(Floor::open(dir, durability)),
            Kind::Native => Box::new(Native::open(dir, durability)),
            Kind::Component => Box::new(Component::open(dir, durability)),
        }
    }
}

/// µs per call of `op` over `n` sessions, on a fresh directory.
pub fn time_op(kind: Kind, op: Op, durability: Durability, n: usize, data: &Payload, update: &Payload) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut v = kind.open(dir.path(), durability);
    let keys: Vec<String> = if op == Op::Create { Vec::new() } else { (0..n).map(|_| v.create(data)).collect() };
    settle();
    let start = Instant::now();
    match op {
        Op::Create => (0..n).for_each(|_| drop(v.create(data))),
        Op::Load => keys.iter().for_each(|k| v.load(k)),
        Op::UpdateSave => keys.iter().for_each(|k| v.save(k, update)),
        Op::CycleKey => keys.iter().for_each(|k| drop(v.cycle(k, update))),
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// Flushes dirty pages so writeback of the set-up's files does not land in
/// the timed section of whichever variant happens to run next.
pub fn settle() {
    let _ = std::process::Command::new("sync").status();
}

/// Median of the per-round figures.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    if xs.len() % 2 == 0 { (xs[mid - 1] + xs[mid]) / 2.0 } else { xs[mid] }
}

/// Fills `dir` with `n` sessions (10% aged past the cookie age) using the
/// native store, for the sweep workloads.
pub fn sweep_fixture(dir: &Path, n: usize, data: &Payload) {
    let mut v = Native::open(dir, Durability::None);
    let old = SystemTime::now() - Duration::from_secs(1_209_600 + 3600);
    for i in 0..n {
        let key = v.create(data);
        if i % 10 == 0 {
            let f = std::fs::File::options().write(true).open(dir.join(format!("sessionid{key}"))).expect("open");
            f.set_modified(old).expect("age file");
        }
    }
}

/// A hard-link copy of `from` (cheap even for 100k files; mtimes are shared).
pub fn link_copy(from: &Path, to: &Path) {
    std::fs::create_dir(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("readdir") {
        let entry = entry.expect("entry");
        std::fs::hard_link(entry.path(), to.join(entry.file_name())).expect("link");
    }
}

/// Loads per second from `threads` threads sharing one store (the
/// component's `Store` is cloned, as a server would share it), for
/// `for_how_long`.
pub fn load_throughput(kind: Kind, threads: usize, for_how_long: Duration, data: &Payload) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = Component::open(dir.path(), Durability::None).0;
    let open = || -> Box<dyn Variant> {
        match kind {
            Kind::Component => Box::new(Component(shared.clone())),
            other => other.open(dir.path(), Durability::None),
        }
    };
    let mut setup = open();
    let keys: Vec<String> = (0..256).map(|_| setup.create(data)).collect();
    let total: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (keys, open) = (&keys, &open);
                s.spawn(move || {
                    let mut v = open();
                    let start = Instant::now();
                    let mut ops = 0;
                    while start.elapsed() < for_how_long {
                        for k in keys.iter().skip(t).step_by(threads) {
                            v.load(k);
                            ops += 1;
                        }
                    }
                    ops
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).sum()
    });
    total as f64 / for_how_long.as_secs_f64()
}
