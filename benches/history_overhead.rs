//! What the run history (`RUN/history.jsonl`) costs a training step.
//!
//!     cargo bench --bench history_overhead [-- WRITES EPOCHS]
//!
//! One invocation, two measurements on the same machine:
//! 1. trains the paper's CM-BERT from scratch on the built-in corpus (seed 1) for EPOCHS
//!    (default 1) with a run directory, so the engine writes its history as every run does;
//!    the median step time is read from that history (the differences of the steps'
//!    `seconds`), and its lines per step count every line (evaluations and saves too);
//! 2. writes WRITES (default 20000) step lines into a history of their own in the same
//!    directory, through the writer the engine uses, timing each: median and 99th
//!    percentile.
//!
//! The overhead is the median line time x lines per step / the median step time. The
//! scratch model (tens of milliseconds a step) is the worst case: a real encoder's steps
//! take longer and a line costs the same. Results: docs/BENCHMARKS.md.

mod common;

use std::time::Instant;

use candle_core::Device;
use cmbert::train::history::{Entry, Header, History, HistoryWriter, Machine, HISTORY_VERSION};
use cmbert::train::{RunSpec, Trainer};
use common::{median, setup};
use crossbeam_channel::unbounded;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Trains with a run directory; returns the run's spec and its history.
fn train(dir: &std::path::Path, epochs: usize) -> (RunSpec, History) {
    let common::Setup { bert, data, mut spec } = setup(dir, epochs);
    spec.out = Some(dir.join("run"));
    let (events, _kept) = unbounded();
    let (_commands, commands_rx) = unbounded();
    Trainer::new(spec.clone(), &bert, 5, &Device::Cpu)
        .unwrap()
        .run(&data, &events, &commands_rx)
        .unwrap()
        .expect("the run finishes");
    let history = History::read_run(&dir.join("run")).unwrap().expect("the run's history");
    (spec, history)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse().expect("WRITES and EPOCHS are numbers"))
        .collect();
    let writes = args.first().copied().unwrap_or(20_000);
    let epochs = args.get(1).copied().unwrap_or(1);
    let tmp = tempfile::tempdir().unwrap();
    let machine = Machine::this("cpu");
    println!("CPU: {} ({} threads, {})", machine.cpu, machine.threads, machine.os);

    let (spec, history) = train(tmp.path(), epochs);
    let mut seconds = Vec::new();
    let mut lines = 0;
    for (_, entry) in history.entries() {
        lines += 1;
        if let Entry::Step { seconds: s, .. } = entry {
            seconds.push(*s);
        }
    }
    let steps = seconds.len();
    let lines_per_step = (lines + history.sessions.len()) as f64 / steps as f64;
    let mut step_times: Vec<f64> = seconds.windows(2).map(|w| w[1] - w[0]).collect();
    let step_time = median(&mut step_times);

    let dir = tmp.path().join("lines");
    std::fs::create_dir(&dir).unwrap();
    let header = Header {
        version: HISTORY_VERSION,
        spec,
        machine,
        started: "2026-12-01T00:00:00+00:00".into(),
        first_step: 0,
        resumed: false,
    };
    let mut writer = HistoryWriter::start(&dir, header).unwrap();
    let mut times = Vec::with_capacity(writes);
    for step in 1..=writes {
        let entry = Entry::Step {
            step,
            epoch: step / 54 + 1,
            loss: 1.0 / (step as f32).sqrt(),
            lr: 1e-3 * (1.0 - step as f64 / writes as f64),
            seconds: step as f64 * 0.061_234_5,
        };
        let started = Instant::now();
        writer.write(&entry).unwrap();
        times.push(started.elapsed().as_secs_f64());
    }
    let line_time = median(&mut times);
    let p99 = percentile(&times, 0.99);
    let per = |s: f64| format!("{:.1} us", s * 1e6);
    println!(
        "training: {steps} steps over {epochs} epoch(s), median step {:.1} ms",
        step_time * 1e3
    );
    println!(
        "history: {writes} step lines written, median {} (99th percentile {}); {lines_per_step:.3} lines per step in the run",
        per(line_time),
        per(p99)
    );
    println!(
        "overhead: {:.4} % of the median step (line median x lines per step / step median)",
        line_time * lines_per_step / step_time * 100.0
    );
}
