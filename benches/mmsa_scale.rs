//! An MMSA pickle at CMU-MOSEI scale (issue 18 item 3): load time and peak memory, and the
//! cost of an epoch.
//!
//!     cargo build --release && cargo bench --bench mmsa_scale [-- RUNS STEPS]
//!
//! Writes a synthetic `aligned_50.pkl` into a temporary directory (never into the
//! repository; about 4 GB, deleted at the end) with MOSEI's keys, shapes and dtypes as
//! thuiar/MMSA's `data_loader.py` reads them: splits `train`/`valid`/`test` of 16,326 /
//! 1,871 / 4,659 utterances, each holding `raw_text` and `id` (object arrays of str),
//! `audio` [N, 50, 74], `vision` [N, 50, 35], `text` [N, 50, 768] and `text_bert`
//! [N, 3, 50] (float32), `regression_labels` and `classification_labels` [N] (float32),
//! `annotations` (object array of str) and `audio_lengths`/`vision_lengths` [N] (int64).
//! Arrays are pickled as NumPy does at protocol 4 (`_reconstruct` and a BUILD state with
//! the data as BINBYTES), without the FRAME opcodes that only group small opcodes. A
//! second file with 1,000 training utterances (the same dev and test) is written for the
//! growth figure.
//!
//! Every figure is measured in a child process, so that its peak RSS (`VmHWM` of
//! /proc/PID/status, the kernel's high-water mark) is that process's own:
//! 1. `target/release/cmbert-tui inspect-data FILE`: wall time and peak RSS, the latter
//!    read every 5 ms while it runs (a high-water mark, so any read after the peak sees it);
//! 2. loading for training (`Dataset::load_labelled` with the file's own audio, as
//!    `train --data FILE` does): this bench run again as a child, which reports its time
//!    and its own `VmHWM`;
//! 3. training: a child trains STEPS steps (default 20; one more is dropped as warm-up)
//!    with the tiny scratch model, then with all-MiniLM-L6-v2 (from
//!    target/models/all-MiniLM-L6-v2, where scripts/fetch-minilm.sh puts it, or
//!    $CMBERT_MINILM_DIR; skipped with a note when absent), and stops; an epoch is
//!    estimated as the median step time x steps per epoch (evaluations not included);
//! 4. growth: peak RSS of the scratch training child on the 1,000- and the 16,326-utterance
//!    file, less the audio arrays each holds (every split's, as `f32`).
//!
//! RUNS (default 3) repetitions of 1 and 2; medians. The CPU model is printed with every
//! figure. Results: docs/BENCHMARKS.md.

mod common;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use candle_core::Device;
use cmbert::checkpoint::Checkpoint;
use cmbert::corpus;
use cmbert::data::{Dataset, MmsaLabel, Scaling, TextEncoder};
use cmbert::model::{BertConfig, ModelKind};
use cmbert::train::history::Machine;
use cmbert::train::{AfterRun, Command as TrainCommand, Event, RunSpec, Trainer};
use common::median;
use crossbeam_channel::unbounded;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// MOSEI's splits in MMSA's aligned_50.pkl.
const MOSEI: [usize; 3] = [16_326, 1_871, 4_659];
const LEN: usize = 50;
const AUDIO: usize = 74;
const CHILD: &str = "MMSA_SCALE_CHILD";

const WORDS: [&str; 24] = [
    "the", "movie", "was", "really", "good", "bad", "i", "thought", "it", "not", "great", "and", "but", "story",
    "acting", "love", "boring", "funny", "very", "so", "just", "like", "plot", "end",
];

// ---- the synthetic file -------------------------------------------------------------

struct Pickler<W: Write> {
    out: W,
}

impl<W: Write> Pickler<W> {
    fn raw(&mut self, b: &[u8]) {
        self.out.write_all(b).expect("write the synthetic pickle");
    }

    fn short_str(&mut self, s: &str) {
        self.raw(&[0x8c, s.len() as u8]);
        self.raw(s.as_bytes());
    }

    fn str(&mut self, s: &str) {
        self.raw(b"X");
        self.raw(&(s.len() as u32).to_le_bytes());
        self.raw(s.as_bytes());
    }

    fn global(&mut self, module: &str, name: &str) {
        self.short_str(module);
        self.short_str(name);
        self.raw(&[0x93]);
    }

    fn int(&mut self, v: usize) {
        self.raw(b"J");
        self.raw(&(v as i32).to_le_bytes());
    }

    /// `_reconstruct(ndarray, (0,), b"b")` and the start of its BUILD state, up to the data.
    fn array_head(&mut self, shape: &[usize], code: &str, order: &str) {
        self.global("numpy.core.multiarray", "_reconstruct");
        self.global("numpy", "ndarray");
        self.raw(b"K\x00\x85C\x01b\x87R(K\x01(");
        for &d in shape {
            self.int(d);
        }
        self.raw(b"t");
        self.global("numpy", "dtype");
        self.short_str(code);
        self.raw(b"\x89\x88\x87R(K\x03");
        self.short_str(order);
        self.raw(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK");
        self.raw(if code == "O8" { b"\x3f" } else { b"\x00" });
        self.raw(b"tb\x89");
    }

    /// A numeric array of `shape`, its little-endian items of `size` bytes made by `item`.
    fn numbers(&mut self, shape: &[usize], code: &str, size: usize, item: impl Fn(usize, &mut [u8])) {
        let n: usize = shape.iter().product();
        self.array_head(shape, code, "<");
        let bytes = n * size;
        assert!(bytes < u32::MAX as usize, "BINBYTES holds under 4 GiB");
        self.raw(b"B");
        self.raw(&(bytes as u32).to_le_bytes());
        let mut chunk = vec![0u8; 1 << 20];
        let per = chunk.len() / size;
        let mut i = 0;
        while i < n {
            let k = per.min(n - i);
            for j in 0..k {
                item(i + j, &mut chunk[j * size..(j + 1) * size]);
            }
            self.raw(&chunk[..k * size]);
            i += k;
        }
        self.raw(b"tb");
    }

    fn strings(&mut self, items: impl Iterator<Item = String>, n: usize) {
        self.array_head(&[n], "O8", "|");
        self.raw(b"](");
        for s in items {
            self.str(&s);
        }
        self.raw(b"etb");
    }
}

fn f32_item(v: f32, out: &mut [u8]) {
    out.copy_from_slice(&v.to_le_bytes());
}

/// A transcript of 8 to 30 words.
fn text(split: usize, i: usize) -> String {
    let n = 8 + (i * 7 + split) % 23;
    (0..n)
        .map(|k| WORDS[(i * 13 + k * 5 + split) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

fn label(split: usize, i: usize) -> f32 {
    (((i * 37 + split * 11) % 61) as f32 / 10.0) - 3.0
}

/// Writes the file; returns its size in bytes.
fn write_mosei(path: &Path, sizes: [usize; 3]) -> u64 {
    let mut p = Pickler {
        out: BufWriter::with_capacity(1 << 20, File::create(path).expect("create the synthetic pickle")),
    };
    p.raw(b"\x80\x04}");
    for (s, (name, &n)) in ["train", "valid", "test"].iter().zip(&sizes).enumerate() {
        p.short_str(name);
        p.raw(b"}(");
        p.short_str("raw_text");
        p.strings((0..n).map(|i| text(s, i)), n);
        p.short_str("audio");
        p.numbers(&[n, LEN, AUDIO], "f4", 4, |k, out| {
            let position = (k / AUDIO) % LEN;
            let v = if position == 0 || position > 30 {
                0.0
            } else if k % 997 == 0 {
                f32::NEG_INFINITY
            } else {
                ((k % 1009) as f32 * 0.013).sin()
            };
            f32_item(v, out)
        });
        p.short_str("vision");
        p.numbers(&[n, LEN, 35], "f4", 4, |k, out| f32_item((k % 17) as f32 * 0.1, out));
        p.short_str("text");
        p.numbers(&[n, LEN, 768], "f4", 4, |k, out| f32_item((k % 101) as f32 * 0.01, out));
        p.short_str("text_bert");
        p.numbers(&[n, 3, LEN], "f4", 4, |k, out| f32_item((k % 3) as f32, out));
        p.short_str("regression_labels");
        p.numbers(&[n], "f4", 4, |i, out| f32_item(label(s, i), out));
        p.short_str("classification_labels");
        p.numbers(&[n], "f4", 4, |i, out| f32_item(label(s, i).signum() + 1.0, out));
        p.short_str("annotations");
        p.strings(
            (0..n).map(|i| if label(s, i) >= 0.0 { "Positive" } else { "Negative" }.to_string()),
            n,
        );
        p.short_str("id");
        p.strings((0..n).map(|i| format!("video{}$_${}", i / 7, i % 7)), n);
        for key in ["audio_lengths", "vision_lengths"] {
            p.short_str(key);
            p.numbers(&[n], "i8", 8, |i, out| {
                out.copy_from_slice(&((10 + i % 40) as i64).to_le_bytes())
            });
        }
        p.raw(b"us");
    }
    p.raw(b".");
    p.out.flush().expect("write the synthetic pickle");
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Bytes of `f32` audio a file of `sizes` holds.
fn audio_bytes(sizes: [usize; 3]) -> u64 {
    (sizes.iter().sum::<usize>() * LEN * AUDIO * 4) as u64
}

// ---- measuring children ---------------------------------------------------------------

/// `VmHWM` (peak RSS) of a process, in bytes.
fn vm_hwm(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs the release binary with `args`: wall seconds and peak RSS (polled).
fn release_binary(args: &[&str]) -> (f64, u64, String) {
    let exe = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/cmbert-tui");
    assert!(exe.is_file(), "build the release binary first: cargo build --release");
    let started = Instant::now();
    let mut child = Command::new(&exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run cmbert-tui");
    let pid = child.id().to_string();
    let mut peak = 0;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).ok();
        out
    });
    loop {
        if let Some(hwm) = vm_hwm(&pid) {
            peak = peak.max(hwm);
        }
        if child.try_wait().expect("wait for cmbert-tui").is_some() {
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }
    let secs = started.elapsed().as_secs_f64();
    (secs, peak, reader.join().unwrap_or_default())
}

/// Runs this bench as a child doing `args`; the child's `key value` lines.
fn child(args: &[&str]) -> Vec<(String, f64)> {
    let out = Command::new(std::env::current_exe().expect("the bench's path"))
        .env(CHILD, "1")
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("run the bench as a child");
    assert!(out.status.success(), "child {args:?} failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

fn get(figures: &[(String, f64)], key: &str) -> f64 {
    figures.iter().find(|(k, _)| k == key).map_or(f64::NAN, |(_, v)| *v)
}

// ---- the children ----------------------------------------------------------------------

/// A scratch BERT (the built-in corpus's vocabulary) under `dir`, or MiniLM.
fn encoder(which: &str, dir: &Path) -> (Checkpoint, PathBuf) {
    if which == "scratch" {
        let vocab = corpus::scratch_vocab();
        let bert = Checkpoint::scratch(dir, BertConfig::scratch(vocab.len()), &vocab).expect("scratch BERT");
        (bert, dir.to_path_buf())
    } else {
        (
            Checkpoint::load(dir, &Device::Cpu).expect("load MiniLM"),
            dir.to_path_buf(),
        )
    }
}

fn load(file: &Path, bert: &Checkpoint) -> Dataset {
    let encoder = TextEncoder::from_file(&bert.vocab, LEN).expect("vocabulary");
    Dataset::load_labelled(file, Some(file), &encoder, AUDIO, Scaling::Fit, MmsaLabel::M).expect("load the pickle")
}

fn own_hwm() -> u64 {
    vm_hwm("self").unwrap_or(0)
}

/// `load FILE BERT_DIR`: loads as `train --data FILE` does.
fn child_load(file: &Path, bert_dir: &Path) {
    let (bert, _) = encoder("scratch", bert_dir);
    let base = own_hwm();
    let started = Instant::now();
    let data = load(file, &bert);
    println!("seconds {}", started.elapsed().as_secs_f64());
    println!("hwm {}", own_hwm());
    println!("base {base}");
    println!("train {}", data.split(cmbert::data::Split::Train).len());
}

/// `train FILE scratch|MINILM_DIR STEPS`: trains STEPS + 1 steps, then stops.
fn child_train(file: &Path, which: &str, dir: &Path, steps: usize) {
    let (bert, bert_dir) = encoder(which, dir);
    let data = load(file, &bert);
    let model = ModelKind::CmBert;
    let mut spec = if which == "scratch" {
        RunSpec::scratch(file.to_path_buf(), bert_dir, model)
    } else {
        RunSpec::paper(file.to_path_buf(), bert_dir, model)
    };
    spec.audio = Some(file.to_path_buf());
    spec.max_len = LEN;
    spec.epochs = 1;
    let per_epoch = spec.steps_per_epoch(data.split(cmbert::data::Split::Train).len());
    let trainer = Trainer::new(spec, &bert, AUDIO, &Device::Cpu).expect("trainer");
    let (events_tx, events_rx) = unbounded();
    let (commands_tx, commands_rx) = unbounded();
    let mut times = Vec::new();
    thread::scope(|scope| {
        let worker = trainer.spawn_scoped(scope, &data, events_tx, commands_rx, AfterRun::Return);
        let mut last: Option<Duration> = None;
        for event in events_rx.iter() {
            if let Event::Step { step, elapsed, .. } = event {
                if let Some(before) = last {
                    times.push((elapsed - before).as_secs_f64());
                }
                last = Some(elapsed);
                if step == steps + 1 {
                    let _ = commands_tx.send(TrainCommand::Stop);
                }
            }
        }
        worker.join().ok();
    });
    println!("step {}", median(&mut times));
    println!("per_epoch {per_epoch}");
    println!("hwm {}", own_hwm());
}

fn run_child() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let path = |i: usize| PathBuf::from(&args[i]);
    match args[0].as_str() {
        "load" => child_load(&path(1), &path(2)),
        "train" => {
            let which = if args[2] == "scratch" { "scratch" } else { "minilm" };
            child_train(
                &path(1),
                which,
                &path(if which == "scratch" { 3 } else { 2 }),
                args[4].parse().unwrap_or(20),
            )
        }
        other => panic!("unknown child {other}"),
    }
}

// ---- the report ------------------------------------------------------------------------

fn mb(bytes: f64) -> String {
    format!("{:.0} MB", bytes / 1e6)
}

fn minilm_dir() -> PathBuf {
    std::env::var_os("CMBERT_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/models/all-MiniLM-L6-v2"))
}

fn main() {
    if std::env::var_os(CHILD).is_some() {
        return run_child();
    }
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| a.parse().ok())
        .collect();
    let runs = args.first().copied().unwrap_or(3).max(1);
    let steps = args.get(1).copied().unwrap_or(20).max(2);
    let cpu = Machine::this("cpu").cpu;
    let say = |what: String| println!("{what}  [CPU: {cpu}]");
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let big = tmp.path().join("aligned_50.pkl");
    let small = tmp.path().join("aligned_50_1000.pkl");
    let bert_dir = tmp.path().join("bert");
    encoder("scratch", &bert_dir);

    let started = Instant::now();
    let size = write_mosei(&big, MOSEI);
    let small_sizes = [1_000, MOSEI[1], MOSEI[2]];
    write_mosei(&small, small_sizes);
    println!(
        "synthetic MOSEI aligned_50.pkl: {:.2} GB ({} / {} / {} utterances), written in {:.0} s; audio arrays {}",
        size as f64 / 1e9,
        MOSEI[0],
        MOSEI[1],
        MOSEI[2],
        started.elapsed().as_secs_f64(),
        mb(audio_bytes(MOSEI) as f64)
    );

    let big_s = big.to_string_lossy().to_string();
    let (mut secs, mut peaks) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (s, peak, out) = release_binary(&["inspect-data", &big_s]);
        assert!(out.contains("16326 utterances"), "{out}");
        secs.push(s);
        peaks.push(peak as f64);
    }
    say(format!(
        "inspect-data: {:.2} s, peak RSS {} (median of {runs})",
        median(&mut secs),
        mb(median(&mut peaks))
    ));

    let (mut secs, mut peaks, mut bases) = (Vec::new(), Vec::new(), Vec::new());
    let bert_s = bert_dir.to_string_lossy().to_string();
    for _ in 0..runs {
        let f = child(&["load", &big_s, &bert_s]);
        secs.push(get(&f, "seconds"));
        peaks.push(get(&f, "hwm"));
        bases.push(get(&f, "base"));
    }
    say(format!(
        "load for training: {:.2} s, peak RSS {} (before loading {}; median of {runs})",
        median(&mut secs),
        mb(median(&mut peaks)),
        mb(median(&mut bases))
    ));

    let steps_s = steps.to_string();
    let mut hwm = [0.0; 2];
    for (k, file) in [&small, &big].iter().enumerate() {
        let f = child(&["train", &file.to_string_lossy(), "scratch", &bert_s, &steps_s]);
        hwm[k] = get(&f, "hwm");
        if k == 1 {
            let step = get(&f, "step");
            say(format!(
                "scratch model: {:.1} ms a step (median of {steps}), {} steps an epoch: one epoch ~ {:.0} s; peak RSS {}",
                step * 1e3,
                get(&f, "per_epoch"),
                step * get(&f, "per_epoch"),
                mb(hwm[1])
            ));
        }
    }
    let beyond = [
        hwm[0] - audio_bytes(small_sizes) as f64,
        hwm[1] - audio_bytes(MOSEI) as f64,
    ];
    say(format!(
        "growth: peak RSS training {} with 1,000 train utterances, {} with 16,326; less the audio arrays {} and {}: \
         {:+.1} %",
        mb(hwm[0]),
        mb(hwm[1]),
        mb(beyond[0]),
        mb(beyond[1]),
        (beyond[1] / beyond[0] - 1.0) * 100.0
    ));

    let minilm = minilm_dir();
    if minilm.join("model.safetensors").is_file() {
        let steps_m = (steps / 4).max(3).to_string();
        let f = child(&["train", &big_s, &minilm.to_string_lossy(), "-", &steps_m]);
        let step = get(&f, "step");
        say(format!(
            "MiniLM-L6: {:.2} s a step (median of {steps_m}), {} steps an epoch: one epoch ~ {:.0} min; peak RSS {}",
            step,
            get(&f, "per_epoch"),
            step * get(&f, "per_epoch") / 60.0,
            mb(get(&f, "hwm"))
        ));
    } else {
        println!(
            "MiniLM: not measured, no model at {} (scripts/fetch-minilm.sh puts it there)",
            minilm.display()
        );
    }
}
