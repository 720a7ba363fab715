//! Memory the tree builder keeps and peaks at on adversarial ~1 MB
//! sessions, as the host's `Store::load` (`parse_object_within` with its
//! depth limit of 512) sees them. Counts bytes live in the global
//! allocator, in a binary of its own so nothing else allocates meanwhile;
//! a realloc counts as growing in place (glibc's mremap).
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;
static CUR: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() { PEAK.fetch_max(CUR.fetch_add(l.size(), Relaxed) + l.size(), Relaxed); }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        CUR.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let q = System.realloc(p, l, n);
        if !q.is_null() {
            if n >= l.size() { PEAK.fetch_max(CUR.fetch_add(n - l.size(), Relaxed) + n - l.size(), Relaxed); } else { CUR.fetch_sub(l.size() - n, Relaxed); }
        }
        q
    }
}
#[global_allocator]
static A: Counting = Counting;

/// (peak, held after) in bytes for parsing `text`; the result is leaked.
fn measure(text: &str) -> (usize, usize) {
    let base = CUR.load(Relaxed);
    PEAK.store(base, Relaxed);
    let map = sessionbox_guest::json::parse_object_within(text, 512).unwrap();
    let out = (PEAK.load(Relaxed) - base, CUR.load(Relaxed) - base);
    std::mem::forget(map);
    out
}

fn repeat_to_1mb(open: &str, item: &str, close: &str) -> String {
    let n = ((1 << 20) - open.len() - close.len()) / item.len();
    let mut s = format!("{open}{}", item.repeat(n));
    s.pop(); // the last ','
    s + close
}

// One test so no other thread allocates meanwhile.
#[test]
fn adversarial_sessions_cost_no_more_than_their_tree() {
    // {"a":0,"a":0,...}: one entry, and nothing more may be kept for it.
    let (peak, held) = measure(&repeat_to_1mb("{", "\"a\":0,", "}"));
    eprintln!("1 MB of one repeated key: peak {peak} B, held {held} B");
    assert!(held < 1 << 20, "a one-entry map holds {held} bytes");
    // {"a":[0,0,...]}: the tree itself is ~38 MB; building it must not
    // cost a second copy of it.
    let (peak, held) = measure(&repeat_to_1mb("{\"a\":[", "0,", "]}"));
    eprintln!("1 MB array of zeros: peak {peak} B, held {held} B");
    assert!(peak < held + held / 4, "peak {peak} for a tree of {held}");
}
