//! The fuzz binary's global allocator: `System`, counting live bytes, with a per-input cap.
//!
//! While an input runs (`arm` .. `disarm`) every request that would take the bytes allocated
//! since `arm` over the cap is refused: the allocator writes one line to stderr, records
//! the request, and returns null. Refusing is the only safe choice on a shared CI machine:
//! satisfying a 10 GB request and flagging it afterwards would let a hostile input take the
//! machine down with it. A refusal reaches the caller as either
//! - a handled failure (`try_reserve`, fallible constructors): the worker sees the recorded
//!   request after the input returns and reports a cap violation; or
//! - `handle_alloc_error`, which on stable Rust aborts the process (the hook that would turn
//!   it into a panic, `set_alloc_error_hook`, is nightly-only). That is why every input runs
//!   in a worker process: the supervisor sees the abort, reads the allocator's line from the
//!   worker's stderr, charges the violation to the input in flight and starts a new worker
//!   after it.
//!
//! The allocator cannot panic (unwinding out of `GlobalAlloc` is undefined behaviour) and
//! must not allocate, so the line is formatted into a stack buffer and written to file
//! descriptor 2 with one `write`.
#![allow(unsafe_code)] // A `GlobalAlloc` implementation is unsafe by definition.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static BASE: AtomicUsize = AtomicUsize::new(0);
static CAP: AtomicUsize = AtomicUsize::new(usize::MAX);
static ARMED: AtomicBool = AtomicBool::new(false);
/// Size of the first refused request since `arm`; 0 when none.
static REFUSED: AtomicUsize = AtomicUsize::new(0);

/// The line the allocator writes when it refuses a request; the supervisor looks for it.
pub const REFUSAL: &str = "fuzz: allocation refused:";

/// Starts counting for one input: at most `cap` bytes may be allocated (net of frees) from now.
pub fn arm(cap: usize) {
    let live = LIVE.load(Relaxed);
    BASE.store(live, Relaxed);
    PEAK.store(live, Relaxed);
    CAP.store(cap, Relaxed);
    REFUSED.store(0, Relaxed);
    ARMED.store(true, Relaxed);
}

/// Stops counting; returns the input's peak bytes above the level at `arm`, and the size of
/// the first refused request, if any.
pub fn disarm() -> (usize, Option<usize>) {
    ARMED.store(false, Relaxed);
    let peak = PEAK.load(Relaxed).saturating_sub(BASE.load(Relaxed));
    let refused = REFUSED.load(Relaxed);
    (peak, (refused > 0).then_some(refused))
}

/// Counts `n` more bytes; false (and nothing counted) when that breaks the armed cap.
fn reserve(n: usize) -> bool {
    let live = LIVE.fetch_add(n, Relaxed).saturating_add(n);
    if !ARMED.load(Relaxed) {
        return true;
    }
    let used = live.saturating_sub(BASE.load(Relaxed));
    let cap = CAP.load(Relaxed);
    if used > cap {
        LIVE.fetch_sub(n, Relaxed);
        if REFUSED.compare_exchange(0, n.max(1), Relaxed, Relaxed).is_ok() {
            report(n, used.saturating_sub(n), cap);
        }
        return false;
    }
    PEAK.fetch_max(live, Relaxed);
    true
}

fn report(request: usize, used: usize, cap: usize) {
    use std::io::Write as _;
    use std::os::fd::FromRawFd as _;
    let mut line = StackLine::default();
    let _ = writeln!(
        line,
        "{REFUSAL} {request} bytes requested with {used} bytes in use, over the cap of {cap} bytes"
    );
    // SAFETY: descriptor 2 is open for the life of the process; ManuallyDrop keeps this
    // borrowed `File` from closing it.
    let stderr = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(2) });
    let _ = (&*stderr).write_all(&line.bytes[..line.len]);
}

/// A fixed buffer for one line, truncated if longer.
struct StackLine {
    bytes: [u8; 200],
    len: usize,
}

impl Default for StackLine {
    fn default() -> Self {
        Self {
            bytes: [0; 200],
            len: 0,
        }
    }
}

impl std::fmt::Write for StackLine {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

// SAFETY: every method forwards to `System` with the caller's pointer and layout unchanged;
// the counters are only bookkeeping, and a refusal returns null as the contract allows.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's layout, forwarded unchanged (GlobalAlloc's contract).
        let ptr = unsafe { System.alloc(layout) };
        if ptr.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's layout, forwarded unchanged.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if ptr.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout (every allocation here is).
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !reserve(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from `System` with `layout`; the caller's arguments, unchanged.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if new.is_null() {
            if new_size > old {
                LIVE.fetch_sub(new_size - old, Relaxed);
            }
        } else if new_size < old {
            LIVE.fetch_sub(old - new_size, Relaxed);
        }
        new
    }
}
