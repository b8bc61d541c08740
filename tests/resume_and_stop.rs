//! Stopping and continuing runs from the command line. Ctrl-C (SIGINT) in a headless run
//! stops it after the current step, saves `last/`, prints the command that continues it and
//! ends with the signal's status (the shell's 130); a resumed run stopped so says the same,
//! and continues to the end. `--resume` never ignores a flag: those that would change the
//! run are refused by name and reason, `--epochs` (and the other harmless ones) is applied,
//! printed and recorded in the checkpoints. Before, Ctrl-C killed a headless run without a
//! word or a save, and `--resume DIR --epochs 14 --lr 0.5` ignored both flags.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use candle_core::Device;
use cmbert::checkpoint::Checkpoint;
use cmbert::train::{EpochsChange, TrainingRecord};
use rustix::process::{kill_process, Pid, Signal};

use common::*;

/// Runs the binary with `args` until its first training step is logged, then sends it
/// SIGINT, as Ctrl-C does; returns how it ended and its standard error.
fn interrupted(args: &[String]) -> (ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cmbert-tui"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // Not in the test runner's process group: a Ctrl-C there is not this test's signal.
        .process_group(0)
        .spawn()
        .expect("start cmbert-tui");
    let stderr = child.stderr.take().unwrap();
    let (stepped_tx, stepped) = crossbeam_channel::unbounded();
    let reader = thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if line.contains("] epoch ") && line.contains(" step ") {
                let _ = stepped_tx.send(());
            }
            all += &line;
            all.push('\n');
        }
        all
    });
    let started = stepped.recv_timeout(Duration::from_secs(120)).is_ok();
    if started {
        kill_process(Pid::from_child(&child), Signal::INT).unwrap();
    }
    let waited = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if waited.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("cmbert-tui still runs a minute after SIGINT");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stderr = reader.join().unwrap();
    assert!(started, "no training step was logged:\n{stderr}");
    (status, stderr)
}

/// The step a stopped run saved `last/` at ("stopped after step N").
fn stopped_step(stderr: &str) -> usize {
    let at = stderr
        .find("stopped after step ")
        .unwrap_or_else(|| panic!("not stopped:\n{stderr}"));
    stderr[at + "stopped after step ".len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn record(checkpoint: &Path) -> TrainingRecord {
    let ckpt = Checkpoint::load(checkpoint, &Device::Cpu).unwrap();
    TrainingRecord::from_meta(ckpt.meta.as_ref().unwrap()).unwrap().unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn ctrl_c_saves_last_prints_how_to_continue_and_the_run_resumes_to_the_end() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // 256 steps an epoch, 1536 in all: the signal comes long before the run ends.
    write_tiny_corpus(&data, [512, 8, 8]);
    let out = tmp.path().join("run");
    let last = out.join("last");
    let mut train = train_args(&data, &tiny_bert(), &out);
    train.extend(args(&["--epochs", "6", "--batch-size", "2"]));
    let (status, stderr) = interrupted(&train);
    assert_eq!(status.signal(), Some(Signal::INT.as_raw()), "{status:?}\n{stderr}");
    assert!(
        stderr.contains("interrupted: stopping after this step to save last/"),
        "{stderr}"
    );
    assert!(stderr.contains("interrupt again to end at once"), "{stderr}");
    let continue_with = format!("continue with: cmbert-tui train --resume {}", s(&last));
    assert!(stderr.contains(&continue_with), "{stderr}");
    let step = stopped_step(&stderr);
    assert!(step < 1536, "stopped before the end: {step}");
    assert_eq!(record(&last).step, Some(step), "last/ is the step it stopped after");

    // A resumed run, stopped the same way, says how to continue too.
    let resume = args(&["train", "--headless", "--resume", &s(&last)]);
    let (status, stderr) = interrupted(&resume);
    assert_eq!(status.signal(), Some(Signal::INT.as_raw()), "{status:?}\n{stderr}");
    assert!(stderr.contains(&format!("resuming at step {step}")), "{stderr}");
    assert!(stderr.contains(&continue_with), "{stderr}");
    let step = stopped_step(&stderr);

    let (code, stdout, stderr) = cli(&resume.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&format!("resuming at step {step}")), "{stderr}");
    assert!(stdout.contains("test split"), "{stdout}");
    assert_eq!(record(&last).epochs_done, Some(6));
}

#[test]
fn ctrl_c_in_a_multi_seed_run_names_the_seed_to_continue_and_those_not_started() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, [512, 8, 8]);
    let out = tmp.path().join("runs");
    let mut train = train_args(&data, &tiny_bert(), &out);
    train.extend(args(&["--epochs", "6", "--batch-size", "2", "--seeds", "2"]));
    let (status, stderr) = interrupted(&train);
    assert_eq!(status.signal(), Some(Signal::INT.as_raw()), "{status:?}\n{stderr}");
    let last = out.join("seed-1/last");
    assert!(
        stderr.contains(&format!("continue with: cmbert-tui train --resume {}", s(&last))),
        "{stderr}"
    );
    assert!(stderr.contains("seeds not started: 2"), "{stderr}");
    assert!(last.is_dir() && !out.join("seed-2").exists());
}

/// A finished one-epoch run of 7 steps in `dir/run`.
fn finished_run(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("data");
    write_tiny_corpus(&data, [40, 12, 14]);
    let out = dir.join("run");
    let mut train = train_args(&data, &tiny_bert(), &out);
    train.extend(args(&["--epochs", "1", "--batch-size", "6"]));
    let (code, _, stderr) = cli(&train.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    out.join("last")
}

#[test]
fn resume_refuses_flags_that_change_the_run_naming_each_and_why() {
    let tmp = tempfile::tempdir().unwrap();
    let last = finished_run(tmp.path());
    let config = std::fs::read(last.join("config.json")).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    for (flags, named) in [
        (
            vec!["--lr", "0.5"],
            vec!["--lr 0.5 (the run's is 0.00002: the optimiser"],
        ),
        (
            vec!["--epochs", "14", "--lr", "0.5", "--batch-size", "8"],
            vec!["--lr 0.5", "--batch-size 8 (the run's is 6: the position in the epoch"],
        ),
        (vec!["--model", "t-bert"], vec!["--model t-bert (the run's is cm-bert"]),
        (vec!["--cls-audio", "learned"], vec!["--cls-audio learned"]),
        (vec!["--seed", "3"], vec!["--seed 3 (the run's is 1: the data order"]),
        (vec!["--max-len", "20"], vec!["--max-len 20"]),
        (vec!["--corpus-seed", "2"], vec!["--corpus-seed 2"]),
    ] {
        let mut cmd = vec!["train", "--headless", "--resume", last.to_str().unwrap()];
        cmd.extend(&flags);
        cmd.extend(["--out", elsewhere.to_str().unwrap()]);
        let (code, _, stderr) = cli(&cmd);
        assert_eq!(code, 2, "{flags:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{flags:?}: one line: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: {}: cannot resume with ", s(&last))),
            "{stderr}"
        );
        for what in named {
            assert!(stderr.contains(what), "{flags:?}: {what:?} not in {stderr}");
        }
        assert!(stderr.contains("start a new run (--out DIR)"), "{stderr}");
        assert!(!elsewhere.exists(), "{flags:?}: nothing is written before refusing");
    }
    assert_eq!(std::fs::read(last.join("config.json")).unwrap(), config);

    // The recorded values, repeated, are no change: the run resumes (and says so).
    let (code, _, stderr) = cli(&[
        "train",
        "--headless",
        "--resume",
        &s(&last),
        "--lr",
        "0.00002",
        "--batch-size",
        "6",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("resume: --batch-size, --lr: as recorded"), "{stderr}");
}

#[test]
fn resume_epochs_extends_a_finished_run_and_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let last = finished_run(tmp.path());
    assert_eq!(record(&last).spec.epochs, 1);
    let (code, stdout, stderr) = cli(&[
        "train",
        "--headless",
        "--resume",
        &s(&last),
        "--epochs",
        "3",
        "--save-every",
        "2",
        "--eval-batch-size",
        "4",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("resume: --epochs 3 (was 1): the learning rate from step 7 on is that of a 3-epoch run"),
        "{stderr}"
    );
    assert!(
        stderr.contains("resume: --save-every 2 (was at epoch ends only)"),
        "{stderr}"
    );
    assert!(stderr.contains("resume: --eval-batch-size 4 (was 24)"), "{stderr}");
    assert!(stderr.contains("resuming at step 7"), "{stderr}");
    assert!(stdout.contains("test split"), "{stdout}");
    let done = record(&last);
    assert_eq!((done.spec.epochs, done.epochs_done, done.step), (3, Some(3), Some(21)));
    assert_eq!((done.spec.save_every, done.spec.eval_batch_size), (Some(2), 4));
    assert_eq!(
        done.epochs_changes,
        [EpochsChange {
            step: 7,
            from: 1,
            to: 3
        }]
    );

    // Fewer epochs than the run has done cannot be.
    let (code, _, stderr) = cli(&["train", "--headless", "--resume", &s(&last), "--epochs", "2"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!(
            "error: {}: cannot resume with epochs = 2: the run has done 3 epochs already (--epochs 3 or more)",
            s(&last)
        )
    );
}

/// A headless run whose standard error is a pipe nobody reads any more (`| head`, or a
/// `| tee` that took the same Ctrl-C) goes on: progress lines are dropped, and the run ends,
/// saves and records its results. Before, the first line after the reader left panicked
/// (exit 101) and the run ended without saving.
#[test]
fn a_run_whose_stderr_reader_is_gone_still_finishes_and_saves() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, [64, 8, 8]);
    let out = tmp.path().join("run");
    let mut train = train_args(&data, &tiny_bert(), &out);
    train.extend(args(&["--epochs", "2", "--batch-size", "2"]));
    let mut child = Command::new(env!("CARGO_BIN_EXE_cmbert-tui"))
        .args(&train)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cmbert-tui");
    // The reader leaves at once: every later write to stderr fails with EPIPE.
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        out.join("results.json").is_file(),
        "the finished run recorded its results"
    );
    assert_eq!(record(&out.join("last")).epochs_done, Some(2));
}

/// A run resumes wherever it was moved, from any working directory, even after the encoder
/// it was trained from is gone: its text is tokenised with the checkpoint's own vocabulary.
#[test]
fn a_moved_run_resumes_without_its_encoder() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, [12, 6, 6]);
    let encoder = tmp.path().join("encoder");
    std::fs::create_dir(&encoder).unwrap();
    for f in ["config.json", "vocab.txt", "model.safetensors"] {
        std::fs::copy(tiny_bert().join(f), encoder.join(f)).unwrap();
    }
    let out = tmp.path().join("run");
    let mut first = train_args(&data, &encoder, &out);
    first.extend(args(&["--epochs", "1", "--batch-size", "6"]));
    let (code, _, stderr) = cli(&first.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    std::fs::remove_dir_all(&encoder).unwrap();
    let moved = tmp.path().join("elsewhere/run");
    std::fs::create_dir(tmp.path().join("elsewhere")).unwrap();
    std::fs::rename(&out, &moved).unwrap();
    let (code, _, stderr) = cli_in(
        &tmp.path().join("elsewhere"),
        &["train", "--headless", "--resume", "run", "--epochs", "2"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(record(&moved.join("last")).epochs_done, Some(2));
}
