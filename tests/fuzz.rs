//! Seeded mutation fuzzing of every reader (issue 13, item 7), on stable Rust, in
//! `cargo test --release`.
//!
//! Each format (tests/fuzz/formats.rs) starts from valid seeds, the fixtures in
//! tests/fixtures or small files made in code, and reads `CMBERT_FUZZ_ITERS` (10,000)
//! mutated inputs (tests/fuzz/mutate.rs) through its public entry point. Every input must
//! end in `Ok` or a typed error: no panic, no abort, under 1 s, and within an allocation
//! cap of 64 MiB + 64 x its size, counted by this binary's global allocator
//! (tests/fuzz/alloc.rs explains why an over-cap request is refused rather than flagged).
//!
//! A panic can be caught in-process, but an abort (a refused allocation that reaches
//! `handle_alloc_error`, a stack overflow) or a hang cannot. So the test binary runs itself
//! as worker processes, one format each (tests/fuzz/worker.rs), under a supervisor that
//! charges a dead or stuck worker to the input in flight and carries on after it
//! (tests/fuzz/supervisor.rs). The binary has its own `main` (`harness = false`), so the
//! summary below reaches CI's log whether the run passes or fails; it is also written to
//! target/fuzz-summary.txt, and failing inputs to target/fuzz-failures/.
//!
//! Errors that span lines or name none of the input's files are counted in the summary's
//! `unclear` column, not failed: the one-line, file-naming rule is checked by each reader's
//! own tests; here it is a survey. Workers run with backtraces off, as users do (see
//! supervisor::spawn for why that matters).
//!
//! The 20 formats' 190,000 inputs take about 50 s on two cores (the summary's `run s`
//! column per format; the slowest, npz, about 17 s). The budget is a ceiling against a
//! machine or a reader gone slow, not the expected time.
//!
//! Inputs depend only on (seed, format, iteration), so a run is reproducible and one input
//! can be replayed alone. Settings (environment):
//! - `CMBERT_FUZZ_SEED` (default 0x5eed0013), `CMBERT_FUZZ_ITERS` inputs per format
//!   (10000), `CMBERT_FUZZ_FROM` first iteration (0);
//! - `CMBERT_FUZZ_SECONDS` time budget per format (60): a format that has not run all its
//!   inputs by then fails the test, so the 10,000 are a floor, not a hope;
//! - `CMBERT_FUZZ_FORMATS` a comma-separated subset; `CMBERT_FUZZ_JOBS` formats at a time
//!   (the CPU count);
//! - `CMBERT_FUZZ_REPLAY=FILE` reads FILE once with each target of the chosen formats,
//!   in this process, and prints what happened.

#[path = "fuzz/alloc.rs"]
mod alloc;
mod common;
#[path = "fuzz/formats.rs"]
mod formats;
#[path = "fuzz/mutate.rs"]
mod mutate;
#[path = "fuzz/seeds.rs"]
mod seeds;
#[path = "fuzz/summary.rs"]
mod summary;
#[path = "fuzz/supervisor.rs"]
mod supervisor;
#[path = "fuzz/worker.rs"]
mod worker;

use std::path::{Path, PathBuf};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// One fuzz run's settings, from the `CMBERT_FUZZ_*` variables (module comment above).
pub struct Settings {
    /// The generator's seed (`CMBERT_FUZZ_SEED`).
    pub seed: u64,
    /// Inputs per format (`CMBERT_FUZZ_ITERS`).
    pub iters: u64,
    /// The first iteration to run (`CMBERT_FUZZ_FROM`), to replay one failure.
    pub from: u64,
    /// Time budget per format, in seconds (`CMBERT_FUZZ_SECONDS`).
    pub seconds: f64,
    /// The formats to fuzz (`CMBERT_FUZZ_FORMATS`), all by default.
    pub formats: Vec<String>,
    /// Formats fuzzed at a time (`CMBERT_FUZZ_JOBS`).
    pub jobs: usize,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => parse(&v).unwrap_or_else(|| panic!("{name}={v:?} is not a valid value")),
        Err(_) => default,
    }
}

/// Decimal, or hexadecimal with `0x`.
fn parse<T: std::str::FromStr>(v: &str) -> Option<T> {
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?.to_string().parse().ok(),
        None => v.parse().ok(),
    }
}

fn settings() -> Settings {
    let formats: Vec<String> = match std::env::var("CMBERT_FUZZ_FORMATS") {
        Ok(list) => list
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        Err(_) => formats::NAMES.iter().map(|s| s.to_string()).collect(),
    };
    for f in &formats {
        assert!(
            formats::NAMES.contains(&f.as_str()),
            "CMBERT_FUZZ_FORMATS: unknown format {f:?} (known: {})",
            formats::NAMES.join(", ")
        );
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    Settings {
        seed: env_or("CMBERT_FUZZ_SEED", 0x5eed_0013),
        iters: env_or("CMBERT_FUZZ_ITERS", 10_000),
        from: env_or("CMBERT_FUZZ_FROM", 0),
        seconds: env_or("CMBERT_FUZZ_SECONDS", 60.0),
        jobs: env_or("CMBERT_FUZZ_JOBS", cpus).max(1),
        formats,
    }
}

/// `target/` (or `CARGO_TARGET_DIR`), found from the directory cargo gives integration tests.
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory")
        .to_path_buf()
}

/// libtest's command line, as far as one test named `fuzz` needs: name filters (`--exact`),
/// `--skip`, `--ignored`. Returns whether to run.
fn selected(args: &[String]) -> bool {
    let exact = args.iter().any(|a| a == "--exact");
    let (mut filters, mut skips) = (Vec::new(), Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--skip" => skips.extend(it.next()),
            "--test-threads" | "--format" | "--color" | "--logfile" | "-Z" => {
                it.next();
            }
            "--ignored" => return false,
            flag if flag.starts_with('-') => {}
            filter => filters.push(filter),
        }
    }
    let hit = |f: &str| if exact { f == "fuzz" } else { "fuzz".contains(f) };
    (filters.is_empty() || filters.iter().any(|f| hit(f))) && !skips.iter().any(|f| hit(f))
}

fn main() {
    if let Ok(format) = std::env::var("CMBERT_FUZZ_WORKER") {
        let scratch = PathBuf::from(std::env::var("CMBERT_FUZZ_SCRATCH").expect("worker scratch directory"));
        let dump = std::env::var("CMBERT_FUZZ_DUMP").ok().map(|dir| {
            let list = std::env::var("CMBERT_FUZZ_DUMP_ITERS").unwrap_or_default();
            (
                PathBuf::from(dir),
                list.split(',').filter_map(|i| i.parse().ok()).collect(),
            )
        });
        let job = worker::Job {
            format,
            seed: env_or("CMBERT_FUZZ_SEED", 0),
            from: env_or("CMBERT_FUZZ_FROM", 0),
            to: env_or("CMBERT_FUZZ_TO", 0),
            check_seeds: env_or("CMBERT_FUZZ_CHECK_SEEDS", 0u8) == 1,
            dump,
        };
        std::process::exit(worker::main(job, &scratch));
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        if selected(&args) {
            println!("fuzz: test");
        }
        return;
    }
    if !selected(&args) {
        println!("\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out; finished in 0.00s\n");
        return;
    }
    let settings = settings();
    if let Ok(file) = std::env::var("CMBERT_FUZZ_REPLAY") {
        std::process::exit(summary::replay(&settings, Path::new(&file)));
    }
    std::process::exit(summary::run_all(&settings));
}
