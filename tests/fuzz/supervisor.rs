//! The supervisor: runs one worker process per format (a few at a time), reads its lines,
//! and charges every way a worker can end badly to the input in flight: a panic or a
//! handled over-cap allocation (reported by the worker), an abort (the allocator's refusal
//! reaching `handle_alloc_error`, a stack overflow) or a hang (killed after `HANG`). After a
//! crash or hang it starts a new worker at the next iteration, so one run finds every
//! failure class, not just the first.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Settings;

/// An input slower than this fails the run.
pub const SLOW: Duration = Duration::from_secs(1);
/// An input still running after this is a hang: its worker is killed.
const HANG: Duration = Duration::from_secs(3);
/// Building a format (a tiny training run for the checkpoint formats) and checking its seeds.
const SETUP: Duration = Duration::from_secs(120);

pub struct Failure {
    pub iteration: u64,
    pub class: String,
    pub detail: String,
}

#[derive(Default)]
pub struct Report {
    pub format: String,
    pub seeds: usize,
    pub ran: u64,
    pub ok: u64,
    pub err: u64,
    /// Errors that span lines or do not name the file (counted in `err` too), and the
    /// first of them: reported, not failed.
    pub unclear: u64,
    pub first_unclear: Option<(u64, String)>,
    pub worst: (u128, u64),
    pub peak: (usize, u64),
    /// Largest peak of an unmutated seed.
    pub seed_peak: usize,
    pub setup: Duration,
    pub elapsed: Duration,
    pub failures: Vec<Failure>,
    /// Why the format did not run all its inputs, if it did not.
    pub incomplete: Option<String>,
}

/// What one worker process left behind.
enum End {
    Finished,
    /// Died or was killed with this input in flight.
    Lost {
        class: String,
        detail: String,
    },
    /// Stopped for good (budget spent, miswired harness, no ready line).
    Stop(String),
}

pub fn spawn(settings: &Settings, format: &str, extra: &[(&str, String)]) -> (Child, tempfile::TempDir) {
    let scratch = tempfile::tempdir().expect("scratch directory");
    let mut cmd = Command::new(std::env::current_exe().expect("test binary path"));
    cmd.env("CMBERT_FUZZ_WORKER", format)
        .env("CMBERT_FUZZ_SCRATCH", scratch.path())
        .env("CMBERT_FUZZ_SEED", settings.seed.to_string())
        // As users run: with backtraces on, every candle error resolves the binary's symbols
        // (tens of MiB, charged to the input), and std's report of a failed allocation
        // takes the backtrace lock the failing thread may already hold, hanging the worker.
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    (cmd.spawn().expect("start a fuzz worker"), scratch)
}

/// The end of a worker's stderr, complete once the thread reading it has finished.
type Tail = (Arc<Mutex<String>>, std::thread::JoinHandle<()>);

/// Streams a worker's stdout lines into a channel and keeps the last 4 KiB of its stderr.
fn listen(child: &mut Child) -> (mpsc::Receiver<String>, Tail) {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let tail = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().expect("piped stderr");
    let keep = tail.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = stderr.read(&mut buf) {
            let mut t = keep.lock().unwrap();
            t.push_str(&String::from_utf8_lossy(&buf[..n]));
            if t.len() > 4096 {
                let cut = t.len() - 4096;
                let cut = (cut..t.len()).find(|&i| t.is_char_boundary(i)).unwrap_or(t.len());
                t.drain(..cut);
            }
        }
    });
    (rx, (tail, reader))
}

pub fn run_format(settings: &Settings, format: &str) -> Report {
    let mut report = Report {
        format: format.to_string(),
        ..Report::default()
    };
    let (from, to) = (settings.from, settings.from + settings.iters);
    let mut next = from;
    let mut deadline = None;
    while next < to {
        let extra = [
            ("CMBERT_FUZZ_FROM", next.to_string()),
            ("CMBERT_FUZZ_TO", to.to_string()),
            ("CMBERT_FUZZ_CHECK_SEEDS", u8::from(deadline.is_none()).to_string()),
        ];
        let (mut child, scratch) = spawn(settings, format, &extra);
        let end = watch(&mut child, settings, &mut report, &mut next, &mut deadline);
        let _ = child.kill();
        let _ = child.wait();
        drop(scratch);
        match end {
            End::Finished => break,
            End::Lost { class, detail } => {
                report.ran += 1;
                report.failures.push(Failure {
                    iteration: next,
                    class,
                    detail,
                });
                next += 1;
            }
            End::Stop(why) => {
                report.incomplete = Some(why);
                break;
            }
        }
    }
    report.elapsed = deadline.map_or(Duration::ZERO, |(started, _): (Instant, Instant)| started.elapsed());
    report
}

/// Follows one worker until it finishes, dies, hangs, or the format's budget is spent.
fn watch(
    child: &mut Child,
    settings: &Settings,
    report: &mut Report,
    next: &mut u64,
    deadline: &mut Option<(Instant, Instant)>,
) -> End {
    let (rx, tail) = listen(child);
    let spawned = Instant::now();
    // Until `R` (and, for the first worker, `C`), the worker is building its format.
    let mut setting_up = true;
    loop {
        let wait = match deadline {
            Some((_, end)) if !setting_up => HANG.min(end.saturating_duration_since(Instant::now())),
            _ => SETUP,
        };
        let line = match rx.recv_timeout(wait) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                return match deadline {
                    _ if setting_up => End::Stop(format!("worker not ready after {} s", SETUP.as_secs())),
                    Some((_, end)) if Instant::now() >= *end => End::Stop(format!(
                        "time budget of {} s spent after {} of {} inputs",
                        settings.seconds, report.ran, settings.iters
                    )),
                    _ => End::Lost {
                        class: format!("hang (still running after {} s; killed)", HANG.as_secs()),
                        detail: String::new(),
                    },
                };
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = child.wait().expect("wait for the worker");
                // The process is gone, so its stderr has reached its end: read all of it.
                let (tail, reader) = tail;
                let _ = reader.join();
                let tail = tail.lock().unwrap().clone();
                if setting_up {
                    return End::Stop(format!("worker died during setup ({status}): {}", last_lines(&tail)));
                }
                let (class, detail) = classify(status, &tail);
                return End::Lost { class, detail };
            }
        };
        let mut fields = line.splitn(7, ' ');
        match fields.next() {
            Some("R") => {
                if report.setup.is_zero() {
                    report.setup = spawned.elapsed();
                }
                setting_up = deadline.is_none();
            }
            Some("S") => {
                report.seeds += 1;
                let peak = fields.nth(2).and_then(|p| p.parse().ok()).unwrap_or(0);
                report.seed_peak = report.seed_peak.max(peak);
            }
            Some("C") => {
                setting_up = false;
                let now = Instant::now();
                *deadline = Some((now, now + Duration::from_secs_f64(settings.seconds)));
            }
            Some("H") => return End::Stop(format!("harness error: {}", &line[2..])),
            Some("F") => return End::Finished,
            Some("D") => {
                let f: Vec<&str> = fields.collect();
                let num = |i: usize| f.get(i).and_then(|v| v.parse::<u128>().ok()).unwrap_or(0);
                let (i, kind, nanos, peak) = (num(0) as u64, f.get(1).copied().unwrap_or("?"), num(2), num(3) as usize);
                let detail = f.get(5).copied().unwrap_or("").to_string();
                *next = i + 1;
                report.ran += 1;
                if nanos > report.worst.0 {
                    report.worst = (nanos, i);
                }
                if peak > report.peak.0 {
                    report.peak = (peak, i);
                }
                let mut fail = |class: String, detail: String| {
                    report.failures.push(Failure {
                        iteration: i,
                        class,
                        detail,
                    })
                };
                match kind {
                    "ok" => report.ok += 1,
                    "err" => report.err += 1,
                    "errx" => {
                        report.err += 1;
                        report.unclear += 1;
                        report.first_unclear.get_or_insert((i, detail));
                    }
                    "panic" => fail(panic_class(&detail), detail),
                    "alloc" => fail(
                        "allocation over the cap (refused; the reader handled it)".into(),
                        detail,
                    ),
                    other => fail(format!("unknown outcome {other}"), detail),
                }
                if nanos > SLOW.as_nanos() {
                    fail(
                        format!("slow (over {} s)", SLOW.as_secs()),
                        format!("{:.2} s", nanos as f64 / 1e9),
                    );
                }
            }
            _ => {}
        }
    }
}

/// Panics are told apart by where they happen.
fn panic_class(detail: &str) -> String {
    match detail.rfind("[at ") {
        Some(at) => format!("panic {}", detail[at..].trim_matches(['[', ']'])),
        None => "panic".into(),
    }
}

fn last_lines(tail: &str) -> String {
    let lines: Vec<&str> = tail.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}

/// Names a worker's death from its exit status and the end of its stderr.
fn classify(status: std::process::ExitStatus, tail: &str) -> (String, String) {
    use std::os::unix::process::ExitStatusExt as _;
    let detail = last_lines(tail);
    let class = if let Some(line) = tail.lines().find(|l| l.starts_with(crate::alloc::REFUSAL)) {
        // "<REFUSAL> <request> bytes requested with <used> bytes in use, over the cap of <cap> bytes"
        let numbers: Vec<u64> = line.split(' ').filter_map(|w| w.parse().ok()).collect();
        let how = match numbers[..] {
            [request, _, cap] if request > cap => "one request larger than the cap",
            _ => "allocations grew to the cap",
        };
        return (
            format!("allocation over the cap: {how} (refused; the process aborted)"),
            line.to_string(),
        );
    } else if tail.contains("has overflowed its stack") {
        "stack overflow (process aborted)".to_string()
    } else if tail.contains("memory allocation of") {
        "allocation failed (process aborted)".to_string()
    } else if let Some(signal) = status.signal() {
        format!("killed by signal {signal}")
    } else {
        format!("worker exited with {status}")
    };
    (class, detail)
}

/// Failure classes of a report: class -> (count, first failures).
pub fn classes(report: &Report) -> BTreeMap<&str, (usize, Vec<&Failure>)> {
    let mut out: BTreeMap<&str, (usize, Vec<&Failure>)> = BTreeMap::new();
    for f in &report.failures {
        let entry = out.entry(f.class.as_str()).or_default();
        entry.0 += 1;
        if entry.1.len() < 3 {
            entry.1.push(f);
        }
    }
    out
}
