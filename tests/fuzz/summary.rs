//! Runs every chosen format, saves the first failing inputs of each failure class, and
//! writes the summary (stderr and target/fuzz-summary.txt); also the one-file replay.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::supervisor::{self, classes, Report};
use crate::{formats, target_dir, worker, Settings};

/// Runs the fuzzer; the process exit code (0 when every input of every format passed).
pub fn run_all(settings: &Settings) -> i32 {
    let started = Instant::now();
    println!("\nrunning 1 test");
    eprintln!("{}", header(settings));
    let next = AtomicUsize::new(0);
    let reports = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..settings.jobs.min(settings.formats.len()) {
            s.spawn(|| {
                while let Some(format) = settings.formats.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let report = supervisor::run_format(settings, format);
                    eprintln!("{}", row(&report));
                    reports.lock().unwrap().push(report);
                }
            });
        }
    });
    let mut reports = reports.into_inner().unwrap();
    reports.sort_by_key(|r| formats::NAMES.iter().position(|n| *n == r.format));
    let failures_dir = target_dir().join("fuzz-failures");
    let _ = std::fs::remove_dir_all(&failures_dir);
    let mut text = header(settings) + "\n" + &table_head();
    for r in &reports {
        text += &row(r);
        text.push('\n');
    }
    text += "(unclear: errors that span lines or do not name the file; reported, not failed)\n";
    for r in &reports {
        if let Some((i, e)) = &r.first_unclear {
            let _ = writeln!(
                text,
                "  {} iteration {i}: {}",
                r.format,
                clip(e, 300).replace('\n', " | ")
            );
        }
    }
    let mut failed = false;
    for r in &reports {
        if let Some(why) = &r.incomplete {
            failed = true;
            let _ = writeln!(text, "\n{}: INCOMPLETE: {why}", r.format);
        }
        let classes = classes(r);
        if classes.is_empty() {
            continue;
        }
        failed = true;
        std::fs::create_dir_all(&failures_dir).expect("create target/fuzz-failures");
        let first: Vec<u64> = classes
            .values()
            .flat_map(|(_, f)| f.iter().map(|f| f.iteration))
            .collect();
        let saved = save_inputs(settings, &r.format, &first, &failures_dir);
        let _ = writeln!(
            text,
            "\n{}: {} failing inputs in {} classes",
            r.format,
            r.failures.len(),
            classes.len()
        );
        for (class, (count, examples)) in classes {
            let _ = writeln!(text, "  {class}: {count} inputs");
            for f in examples {
                let (path, seed) = saved
                    .iter()
                    .find(|s| s.0 == f.iteration)
                    .map_or(("?", "?"), |s| (&s.1, &s.2));
                let _ = writeln!(
                    text,
                    "    iteration {} (mutated {seed}): {}",
                    f.iteration,
                    clip(&f.detail, 300)
                );
                let _ = writeln!(text, "      saved as {path}");
            }
        }
        let f = &r.failures[0];
        let _ = writeln!(
            text,
            "  first failure: CMBERT_FUZZ_SEED={:#x} CMBERT_FUZZ_FORMATS={} CMBERT_FUZZ_FROM={} CMBERT_FUZZ_ITERS=1 \
             cargo test --release --test fuzz",
            settings.seed, r.format, f.iteration
        );
    }
    let _ = writeln!(
        text,
        "\nfuzz: {} in {:.0} s",
        if failed { "FAILED" } else { "passed" },
        started.elapsed().as_secs_f64()
    );
    let path = target_dir().join("fuzz-summary.txt");
    if let Err(e) = std::fs::write(&path, &text) {
        eprintln!("fuzz: cannot write {}: {e}", path.display());
    }
    eprintln!("\n{text}");
    // The line libtest prints, which CI sums over test binaries.
    println!(
        "test fuzz ... {0}\n\ntest result: {0}. {1} passed; {2} failed; 0 ignored; 0 measured; 0 filtered out; \
         finished in {3:.2}s\n",
        if failed { "FAILED" } else { "ok" },
        u8::from(!failed),
        u8::from(failed),
        started.elapsed().as_secs_f64()
    );
    i32::from(failed)
}

fn header(s: &Settings) -> String {
    format!(
        "fuzz: seed {:#x}, iterations {}..{} per format, budget {} s per format, {} formats, {} at a time, \
         allocation cap 64 MiB + 64 x input size, slow > {} s",
        s.seed,
        s.from,
        s.from + s.iters,
        s.seconds,
        s.formats.len(),
        s.jobs,
        supervisor::SLOW.as_secs()
    )
}

fn table_head() -> String {
    format!(
        "{:<22} {:>5} {:>7} {:>7} {:>7} {:>7} {:>6} {:>18} {:>18} {:>9} {:>7} {:>6}\n",
        "format",
        "seeds",
        "inputs",
        "ok",
        "err",
        "unclear",
        "fail",
        "worst ms (iter)",
        "peak MiB (iter)",
        "seed MiB",
        "setup s",
        "run s"
    )
}

fn row(r: &Report) -> String {
    let mib = |b: usize| b as f64 / (1 << 20) as f64;
    format!(
        "{:<22} {:>5} {:>7} {:>7} {:>7} {:>7} {:>6} {:>18} {:>18} {:>9.1} {:>7.1} {:>6.1}",
        r.format,
        r.seeds,
        r.ran,
        r.ok,
        r.err,
        r.unclear,
        r.failures.len(),
        format!("{:.1} ({})", r.worst.0 as f64 / 1e6, r.worst.1),
        format!("{:.1} ({})", mib(r.peak.0), r.peak.1),
        mib(r.seed_peak),
        r.setup.as_secs_f64(),
        r.elapsed.as_secs_f64()
    )
}

fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// Regenerates the inputs of `iterations` in a worker (inputs are never kept in memory
/// across a crash); returns (iteration, path, mutated seed).
fn save_inputs(settings: &Settings, format: &str, iterations: &[u64], dir: &Path) -> Vec<(u64, String, String)> {
    let list = iterations.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let extra = [
        ("CMBERT_FUZZ_DUMP", dir.display().to_string()),
        ("CMBERT_FUZZ_DUMP_ITERS", list),
    ];
    let (mut child, _scratch) = supervisor::spawn(settings, format, &extra);
    let stdout = child.stdout.take().expect("piped stdout");
    let saved = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| {
            let mut f = line.splitn(4, ' ');
            (f.next() == Some("P")).then_some(())?;
            Some((f.next()?.parse().ok()?, f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect();
    let _ = child.wait();
    saved
}

/// Reads `file` with every target of the chosen formats, in this process.
pub fn replay(settings: &Settings, file: &Path) -> i32 {
    let input = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    // As the workers run (see supervisor::spawn); nothing else runs yet.
    std::env::set_var("RUST_BACKTRACE", "0");
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    let mut bad = false;
    for name in &settings.formats {
        let scratch = tempfile::tempdir().expect("scratch directory");
        let format = formats::build(name, scratch.path());
        worker::install_panic_hook();
        for target in 0..format.targets.len() {
            let o = worker::read_one(&format, target, &input);
            bad |= !matches!(o.kind, "ok" | "err" | "errx") || o.nanos > supervisor::SLOW.as_nanos();
            eprintln!(
                "{name} target {target}: {} in {:.1} ms, peak {} bytes: {}",
                o.kind,
                o.nanos as f64 / 1e6,
                o.peak,
                o.detail
            );
        }
        // The default hook again, so that a panic while building the next format is shown.
        drop(std::panic::take_hook());
    }
    i32::from(bad)
}
