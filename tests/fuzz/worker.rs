//! The worker process: builds one format, checks its unmutated seeds, then runs iterations
//! `from..to`, one line per input on stdout (flushed, so the supervisor always knows which
//! input was in flight when the process died):
//!
//! - `R <setup ms>` ready; `S <seed> <ns> <peak>` an unmutated seed read `Ok`; `C` seeds done;
//! - `D <iteration> <ok|err|errx|panic|alloc> <ns> <peak bytes> <input bytes> <detail>`, where
//!   `errx` is an error that spans lines or names none of the target's files;
//! - `H <message>` the harness is miswired (a seed did not read `Ok`); `F` finished.
//!
//! Inputs run on a thread with std's default 2 MiB stack rather than the main thread's
//! 8 MiB: the TUI's worker and the trainer call these readers from spawned threads, so a
//! reader must not need more.

use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::alloc;
use crate::formats::{self, Format};
use crate::mutate::mutate;

/// Bytes an input may allocate (net of frees) while it is read: a generous constant for
/// fixed costs (a tokenizer, a small model, FFT plans) plus 64 times its size, far above
/// what the valid seeds need (see the summary's peak column) and far below what the
/// defects of issue 13 take.
pub fn cap(input_len: usize) -> usize {
    (64 << 20) + 64 * input_len
}

/// The message and location of the last panic, captured by the worker's hook.
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

pub struct Job {
    pub format: String,
    pub seed: u64,
    pub from: u64,
    pub to: u64,
    pub check_seeds: bool,
    /// Write the inputs of these iterations into this directory instead of running them.
    pub dump: Option<(std::path::PathBuf, Vec<u64>)>,
}

pub fn main(job: Job, scratch: &Path) -> i32 {
    let scratch = scratch.to_path_buf();
    let thread = std::thread::Builder::new()
        .name(format!("fuzz-{}", job.format))
        .stack_size(2 << 20)
        .spawn(move || run(job, &scratch))
        .expect("spawn the fuzz thread");
    thread.join().unwrap_or(3)
}

fn line(text: &str) {
    let mut out = std::io::stdout().lock();
    // The supervisor is gone if stdout is: nothing left to report to.
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

fn run(job: Job, scratch: &Path) -> i32 {
    let started = Instant::now();
    let format = formats::build(&job.format, scratch);
    if let Some((dir, iterations)) = &job.dump {
        for &i in iterations {
            let (seed, input) = input(&format, job.seed, i);
            let path = dir.join(format!("{}-{:x}-{i}.{}", format.name, job.seed, format.ext));
            std::fs::write(&path, input).expect("save a failing input");
            line(&format!("P {i} {} {}", path.display(), format.seeds[seed].name));
        }
        line("F");
        return 0;
    }
    install_panic_hook();
    line(&format!("R {}", started.elapsed().as_millis()));
    if job.check_seeds {
        for seed in &format.seeds {
            let outcome = read_one(&format, seed.target, &seed.bytes);
            if outcome.kind != "ok" {
                line(&format!(
                    "H seed {} read {}: {}",
                    seed.name, outcome.kind, outcome.detail
                ));
                return 3;
            }
            line(&format!("S {} {} {}", seed.name, outcome.nanos, outcome.peak));
        }
        line("C");
    }
    for i in job.from..job.to {
        let (seed, input) = input(&format, job.seed, i);
        let o = timed(&format, format.seeds[seed].target, &input);
        let detail = o.detail.replace(['\n', '\r'], " | ");
        line(&format!(
            "D {i} {} {} {} {} {detail}",
            o.kind,
            o.nanos,
            o.peak,
            input.len()
        ));
    }
    line("F");
    0
}

/// Keeps each panic's message and location for `read_one` instead of printing it: thousands
/// of caught panics would bury the summary.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(non-string panic payload)".into());
        let at = info
            .location()
            .map_or("?".into(), |l| format!("{}:{}", l.file(), l.line()));
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = format!("{message} [at {at}]");
    }));
}

/// The input of iteration `i`: which seed it mutates, and the bytes. Each iteration has its
/// own generator, so any one can be regenerated alone from (seed, format, iteration).
pub fn input(format: &Format, seed: u64, i: u64) -> (usize, Vec<u8>) {
    let mut rng = StdRng::seed_from_u64(mix(mix(seed ^ fnv(format.name)) ^ i));
    let primary = rng.random_range(0..format.seeds.len());
    let seeds: Vec<&[u8]> = format.seeds.iter().map(|s| s.bytes.as_slice()).collect();
    let base = seeds[primary].len();
    let max_len = (2 * base).max(base + (64 << 10));
    (
        primary,
        mutate(&mut rng, &seeds, primary, format.text, format.tokens, max_len),
    )
}

/// SplitMix64's finaliser: nearby (seed, iteration) pairs give unrelated generators.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn fnv(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// An error a user could not act on at once: more than one line, or not naming the file.
fn unclear(error: &str, names: &[String]) -> bool {
    error.trim_end().contains('\n') || !(names.is_empty() || names.iter().any(|n| error.contains(n.as_str())))
}

pub struct Outcome {
    pub kind: &'static str,
    pub nanos: u128,
    pub peak: usize,
    pub detail: String,
}

/// Reads an input that ran slower than `SLOW` twice more and keeps the fastest time: a
/// reader that is slow every time is slow, one slow once was descheduled (CI runs the suite
/// on two cores shared with other test binaries; one such stall once measured 1.37 s for an
/// input that reads in 0.1 ms alone).
fn timed(format: &Format, target: usize, input: &[u8]) -> Outcome {
    let mut first = read_one(format, target, input);
    if matches!(first.kind, "ok" | "err" | "errx") {
        for _ in 0..2 {
            if first.nanos <= crate::supervisor::SLOW.as_nanos() {
                break;
            }
            let again = read_one(format, target, input);
            first.nanos = first.nanos.min(again.nanos);
        }
    }
    first
}

/// Runs one input through one target under the allocation cap.
pub fn read_one(format: &Format, target: usize, input: &[u8]) -> Outcome {
    let target = &format.targets[target];
    alloc::arm(cap(input.len()));
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| (target.read)(input)));
    let nanos = started.elapsed().as_nanos();
    let (peak, refused) = alloc::disarm();
    let (kind, detail) = match (refused, result) {
        (Some(n), _) => (
            "alloc",
            format!("a request of {n} bytes went over the cap (handled by the caller)"),
        ),
        (None, Ok(Ok(()))) => ("ok", String::new()),
        (None, Ok(Err(e))) if unclear(&e, &target.names) => ("errx", e),
        (None, Ok(Err(e))) => ("err", e),
        (None, Err(_)) => ("panic", LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).clone()),
    };
    Outcome {
        kind,
        nanos,
        peak,
        detail,
    }
}
