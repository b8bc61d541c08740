//! What recording costs a run: its history (`RUN/history.jsonl`) and its watched utterances'
//! attention (`RUN/attention.safetensors`), measured as paired runs with recording on and
//! off (`cmbert::train::Recording`).
//!
//!     cargo bench --bench recording_overhead -- --pairs 7 [--epochs 1] [--watch 3] [--off both|history|attention]
//!     RAYON_NUM_THREADS=1 cargo bench --bench recording_overhead -- --pairs 15
//!
//! The second on a machine shared with other work: one thread, so that the run's CPU time is
//! its work whoever else holds the cores (docs/BENCHMARKS.md).
//!
//! Trains the paper's CM-BERT from scratch on the built-in corpus (corpus seed 1, the scratch preset's run seed 42; EPOCHS, default 1:
//! 54 steps, a dev and a test evaluation, best/ and last/ saved) into a run directory,
//! watching WATCH test utterances (default 3, as many as the paper's Figure-4 sentences a
//! MOSI run watches; the built-in corpus holds none of them, so they are given as
//! `train --watch` gives them). PAIRS times with everything recorded ("on") and with what
//! `--off` names skipped ("off"), alternating which goes first, after one untimed run. Each
//! run gives its median step time (differences of the steps' `Event::Step` times: a step and
//! whatever runs before the next one, its history line and any attention recomputation
//! included), its wall time (`Trainer::new` to the end of `run`: evaluations, saves and the
//! attention file included) and the CPU time the process used meanwhile (all threads).
//! Prints the CPU model, the medians on and off, the median of the paired on/off ratios,
//! and each arm's fastest run (the least disturbed on a shared machine). Results:
//! docs/BENCHMARKS.md.

mod common;

use std::path::Path;
use std::time::Instant;

use candle_core::Device;
use cmbert::data::Split;
use cmbert::train::attention_log::ATTENTION_FILE;
use cmbert::train::history::{Machine, HISTORY_FILE};
use cmbert::train::{Event, OnDisk, Recording, Trainer};
use common::{median, setup, Setup};
use crossbeam_channel::unbounded;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The command line: `--NAME VALUE` pairs (cargo adds a lone `--bench`).
struct Options {
    pairs: usize,
    epochs: usize,
    watch: usize,
    off: Recording,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args.get(i + 1).unwrap_or_else(|| panic!("{name} needs a value")))
    };
    let number = |name: &str, default: usize| {
        value(name).map_or(default, |v| {
            v.parse().unwrap_or_else(|_| panic!("{name} takes a number"))
        })
    };
    let off = match value("--off").map(String::as_str) {
        None | Some("both") => (OnDisk::Skip, OnDisk::Skip),
        Some("history") => (OnDisk::Skip, OnDisk::Keep),
        Some("attention") => (OnDisk::Keep, OnDisk::Skip),
        Some(other) => panic!("--off takes both, history or attention, not {other}"),
    };
    Options {
        pairs: number("--pairs", 7).max(1),
        epochs: number("--epochs", 1).max(1),
        watch: number("--watch", 3),
        off: Recording {
            history: off.0,
            attention: off.1,
        },
    }
}

/// One run's times, in seconds: its median step, wall time and CPU time (all threads).
struct Times {
    step: f64,
    wall: f64,
    cpu: f64,
}

/// The CPU time this process has used (all threads, user and system): /proc/self/stat's
/// utime and stime in ticks of 10 ms (Linux's USER_HZ).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux's /proc/self/stat");
    // Fields after the command name (in parentheses, which may hold spaces): the state is
    // field 3, utime and stime fields 14 and 15.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split_whitespace().collect();
    let ticks = |i: usize| fields[i].parse::<f64>().unwrap();
    (ticks(11) + ticks(12)) / 100.0
}

/// Trains the run into a new directory `run` with `recording`; checks what it wrote.
fn train(s: &Setup, watched: &[(Split, usize)], run: &Path, recording: Recording) -> Times {
    let mut spec = s.spec.clone();
    spec.out = Some(run.to_path_buf());
    let (events, received) = unbounded();
    let (_commands, commands_rx) = unbounded();
    let (started, cpu) = (Instant::now(), cpu_seconds());
    Trainer::new(spec, &s.bert, 5, &Device::Cpu)
        .unwrap()
        .with_watched(watched.to_vec())
        .with_recording(recording)
        .run(&s.data, &events, &commands_rx)
        .unwrap()
        .expect("the run finishes");
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    let written = |file: &str| {
        if run.join(file).is_file() {
            OnDisk::Keep
        } else {
            OnDisk::Skip
        }
    };
    assert_eq!(written(HISTORY_FILE), recording.history, "{}", run.display());
    if !watched.is_empty() {
        assert_eq!(written(ATTENTION_FILE), recording.attention, "{}", run.display());
    }
    let times: Vec<f64> = received
        .try_iter()
        .filter_map(|e| match e {
            Event::Step { elapsed, .. } => Some(elapsed.as_secs_f64()),
            _ => None,
        })
        .collect();
    let mut steps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    std::fs::remove_dir_all(run).unwrap();
    Times {
        step: median(&mut steps),
        wall,
        cpu,
    }
}

fn main() {
    let o = options();
    let tmp = tempfile::tempdir().unwrap();
    let s = setup(tmp.path(), o.epochs);
    let watched: Vec<(Split, usize)> = (0..o.watch).map(|i| (Split::Test, i)).collect();
    let machine = Machine::this("cpu");
    println!(
        "CPU: {} ({} threads, {}); the model runs on {} (RAYON_NUM_THREADS)",
        machine.cpu,
        machine.threads,
        machine.os,
        candle_core::utils::get_num_threads()
    );
    let steps = o.epochs * s.spec.steps_per_epoch(s.data.split(Split::Train).len());
    let off = match (o.off.history, o.off.attention) {
        (OnDisk::Skip, OnDisk::Skip) => "history and attention skipped",
        (OnDisk::Skip, OnDisk::Keep) => "history skipped",
        _ => "attention skipped",
    };
    println!(
        "run: CM-BERT from scratch on the built-in corpus (seed 1), run seed {}, {} epoch(s) ({steps} steps), {} watched test utterance(s); \
         on: everything recorded, off: {off}; {} pairs, alternating, after one untimed run",
        s.spec.seed, o.epochs, o.watch, o.pairs
    );
    let on = Recording::default();
    train(&s, &watched, &tmp.path().join("warm-up"), on);
    let (mut on_times, mut off_times) = (Vec::new(), Vec::new());
    let (mut step_ratios, mut wall_ratios, mut cpu_ratios) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..o.pairs {
        let run = |recording| train(&s, &watched, &tmp.path().join(format!("run-{pair}")), recording);
        // Alternate which goes first, so that a drift of the machine hits both alike.
        let (a, b) = if pair % 2 == 0 {
            let a = run(on);
            (a, run(o.off))
        } else {
            let b = run(o.off);
            (run(on), b)
        };
        println!(
            "pair {}: step on {:.1} ms, off {:.1} ms ({:+.1} %); wall on {:.2} s, off {:.2} s ({:+.1} %); \
             CPU on {:.2} s, off {:.2} s ({:+.1} %)",
            pair + 1,
            a.step * 1e3,
            b.step * 1e3,
            100.0 * (a.step / b.step - 1.0),
            a.wall,
            b.wall,
            100.0 * (a.wall / b.wall - 1.0),
            a.cpu,
            b.cpu,
            100.0 * (a.cpu / b.cpu - 1.0)
        );
        step_ratios.push(a.step / b.step);
        wall_ratios.push(a.wall / b.wall);
        cpu_ratios.push(a.cpu / b.cpu);
        on_times.push(a);
        off_times.push(b);
    }
    let med = |t: &[Times], f: fn(&Times) -> f64| median(&mut t.iter().map(f).collect::<Vec<_>>());
    let (step_on, step_off) = (med(&on_times, |t| t.step), med(&off_times, |t| t.step));
    let (wall_on, wall_off) = (med(&on_times, |t| t.wall), med(&off_times, |t| t.wall));
    let (cpu_on, cpu_off) = (med(&on_times, |t| t.cpu), med(&off_times, |t| t.cpu));
    let (step_r, wall_r, cpu_r) = (
        median(&mut step_ratios),
        median(&mut wall_ratios),
        median(&mut cpu_ratios),
    );
    println!(
        "median step: on {:.2} ms, off {:.2} ms; median of the paired on/off ratios {step_r:.4} ({:+.2} %)",
        step_on * 1e3,
        step_off * 1e3,
        100.0 * (step_r - 1.0)
    );
    println!(
        "median wall: on {wall_on:.3} s, off {wall_off:.3} s; median of the paired on/off ratios {wall_r:.4} ({:+.2} %)",
        100.0 * (wall_r - 1.0)
    );
    println!(
        "median CPU:  on {cpu_on:.3} s, off {cpu_off:.3} s; median of the paired on/off ratios {cpu_r:.4} ({:+.2} %)",
        100.0 * (cpu_r - 1.0)
    );
    // Other work on the machine only ever adds time: each arm's fastest run is its least
    // disturbed one.
    let least = |t: &[Times], f: fn(&Times) -> f64| t.iter().map(f).fold(f64::INFINITY, f64::min);
    let (step_on, step_off) = (least(&on_times, |t| t.step), least(&off_times, |t| t.step));
    let (wall_on, wall_off) = (least(&on_times, |t| t.wall), least(&off_times, |t| t.wall));
    println!(
        "fastest run: step on {:.2} ms, off {:.2} ms ({:+.2} %); wall on {wall_on:.3} s, off {wall_off:.3} s ({:+.2} %)",
        step_on * 1e3,
        step_off * 1e3,
        100.0 * (step_on / step_off - 1.0),
        100.0 * (wall_on / wall_off - 1.0)
    );
}
