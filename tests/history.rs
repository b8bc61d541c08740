//! The run history (`RUN/history.jsonl`) as the engine writes it, end to end through the
//! binary: a run's steps, evaluations, saves and end; a `kill -9` that loses no written
//! line and a `--resume` that continues the numbering in a new session; one history per
//! seed; and a history that cannot be written, said once while the run goes on. Before,
//! nothing of the training history was written anywhere.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use candle_core::Device;
use cmbert::checkpoint::Checkpoint;
use cmbert::data::Split;
use cmbert::train::history::{Entry, History, HISTORY_FILE};
use cmbert::train::{Event, Saved, TrainingRecord};
use common::*;

const SIZES: [usize; 3] = [40, 12, 14];
const BATCH: usize = 6;
/// 40 training utterances in batches of 6.
const STEPS_PER_EPOCH: usize = SIZES[0].div_ceil(BATCH);

fn train(data: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = train_args(data, &tiny_bert(), out);
    args.extend(["--batch-size", "6"].iter().chain(extra).map(|s| s.to_string()));
    args
}

fn run_cli(args: &[String]) -> (i32, String, String) {
    cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn record(checkpoint: &Path) -> TrainingRecord {
    let ckpt = Checkpoint::load(checkpoint, &Device::Cpu).unwrap();
    TrainingRecord::from_meta(ckpt.meta.as_ref().unwrap()).unwrap().unwrap()
}

fn steps(entries: &[Entry]) -> Vec<usize> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Step { step, .. } => Some(*step),
            _ => None,
        })
        .collect()
}

/// Complete `"kind":"step"` lines in the file as it is now.
fn step_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .filter(|l| l.contains("\"kind\":\"step\"") && l.ends_with('}'))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_headless_run_writes_every_step_evaluation_save_and_its_end() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let run = tmp.path().join("run");
    let (code, _, stderr) = run_cli(&train(&data, &run, &["--epochs", "3", "--seed", "4"]));
    assert_eq!(code, 0, "{stderr}");

    let history = History::read_run(&run).unwrap().expect("a history");
    assert!(!history.truncated);
    assert_eq!(history.sessions.len(), 1);
    let session = &history.sessions[0];
    let header = &session.header;
    assert_eq!((header.first_step, header.resumed), (0, false));
    assert_eq!(
        (header.spec.seed, header.spec.epochs, header.spec.batch_size),
        (4, 3, BATCH)
    );
    assert_eq!(header.machine.device, "cpu");
    assert!(!header.machine.cpu.is_empty() && header.machine.threads > 0);

    // One line per optimiser step, numbered on, in its epoch, timed forwards.
    let total = 3 * STEPS_PER_EPOCH;
    assert_eq!(steps(&session.entries), (1..=total).collect::<Vec<_>>());
    let mut last_seconds = 0.0;
    for e in &session.entries {
        if let Entry::Step {
            step,
            epoch,
            loss,
            lr,
            seconds,
        } = e
        {
            assert_eq!(*epoch, (step - 1) / STEPS_PER_EPOCH + 1, "step {step}");
            assert!(loss.is_finite() && *lr >= 0.0 && *seconds >= last_seconds, "{e:?}");
            last_seconds = *seconds;
        }
    }

    // A dev evaluation at each epoch end, after its last step.
    let devs: Vec<(usize, usize, bool, Option<f64>, usize)> = session
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Eval {
                split: Split::Dev,
                epoch: Some(epoch),
                step,
                best,
                train_loss,
                metrics,
                ..
            } => Some((*epoch, *step, *best, *train_loss, metrics.n)),
            _ => None,
        })
        .collect();
    assert_eq!(devs.len(), 3, "{devs:?}");
    for (i, (epoch, step, _, train_loss, n)) in devs.iter().enumerate() {
        assert_eq!((*epoch, *step, *n), (i + 1, (i + 1) * STEPS_PER_EPOCH, SIZES[1]));
        assert!(train_loss.is_some_and(f64::is_finite));
    }
    assert!(devs[0].2, "the first epoch is the best so far");

    // Saves: best/ at each best epoch, last/ at each epoch end.
    let saved: Vec<(Saved, usize)> = session
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Saved { checkpoint, step } => Some((*checkpoint, *step)),
            _ => None,
        })
        .collect();
    let expected: Vec<(Saved, usize)> = devs
        .iter()
        .flat_map(|&(_, step, best, _, _)| {
            best.then_some((Saved::Best, step))
                .into_iter()
                .chain([(Saved::Last, step)])
        })
        .collect();
    assert_eq!(saved, expected);

    // The best epoch is the last dev line marked best, and the run's records say the same.
    let best_epoch = devs.iter().filter(|d| d.2).map(|d| d.0).next_back().unwrap();
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["best_epoch"], best_epoch);
    assert_eq!(record(&run.join("best")).best_epoch, Some(best_epoch));

    // The test evaluation, then the end.
    let n = session.entries.len();
    let Entry::Eval {
        split: Split::Test,
        epoch: None,
        step,
        loss,
        metrics,
        train_loss: None,
        ..
    } = &session.entries[n - 2]
    else {
        panic!("a test line before the end: {:?}", session.entries[n - 2]);
    };
    assert_eq!((*step, metrics.n), (total, SIZES[2]));
    assert_eq!(results["test"]["loss"].as_f64(), Some(*loss));
    assert_eq!(results["test"]["acc2"].as_f64(), Some(metrics.headline()[0]));
    let Entry::Finished {
        best_epoch: finished_best,
        best_dev_loss,
        ..
    } = &session.entries[n - 1]
    else {
        panic!("the last line is the end: {:?}", session.entries[n - 1]);
    };
    assert_eq!(*finished_best, best_epoch);
    assert_eq!(results["best_dev_loss"].as_f64(), Some(*best_dev_loss));
}

#[test]
fn kill_9_loses_no_written_step_and_resume_continues_the_numbering() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let run = tmp.path().join("run");
    let path = run.join(HISTORY_FILE);
    // 200 epochs: killed long before the end.
    let mut child = Command::new(env!("CARGO_BIN_EXE_cmbert-tui"))
        .args(train(&data, &run, &["--epochs", "200", "--save-every", "5"]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start cmbert-tui");
    let waited = Instant::now();
    while step_lines(&path) < 30 {
        assert!(
            waited.elapsed() < Duration::from_secs(120),
            "no 30 steps in the history after two minutes"
        );
        assert!(child.try_wait().unwrap().is_none(), "the run ended before the kill");
        std::thread::sleep(Duration::from_millis(2));
    }
    let seen = step_lines(&path);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let killed = History::read_run(&run).unwrap().expect("a history");
    assert_eq!(killed.sessions.len(), 1);
    let done = steps(&killed.sessions[0].entries);
    assert!(
        done.len() >= seen,
        "{} steps read back, {seen} seen before the kill",
        done.len()
    );
    assert_eq!(done, (1..=done.len()).collect::<Vec<_>>(), "no step lost in between");
    assert!(
        !killed.sessions[0]
            .entries
            .iter()
            .any(|e| matches!(e, Entry::Finished { .. } | Entry::Stopped { .. })),
        "killed, not ended"
    );

    // Resumed from last/ (saved every 5 steps): a new session continues after its step.
    let last = record(&run.join("last"));
    let from = last.step.unwrap();
    assert!(from <= done.len() && from > 0, "last/ at {from}");
    let epochs = last.epochs_done.unwrap() + 1;
    let resume = [
        "train",
        "--headless",
        "--resume",
        &s(&run.join("last")),
        "--epochs",
        &epochs.to_string(),
    ];
    let (code, _, stderr) = cli(&resume);
    assert_eq!(code, 0, "{stderr}");
    let resumed = History::read_run(&run).unwrap().unwrap();
    assert!(!resumed.truncated);
    assert_eq!(resumed.sessions.len(), 2);
    assert_eq!(
        resumed.sessions[0].entries, killed.sessions[0].entries,
        "the killed session is kept as read (a cut last line dropped)"
    );
    let second = &resumed.sessions[1];
    assert!(second.header.resumed);
    assert_eq!(second.header.first_step, from);
    assert_eq!(second.header.spec.epochs, epochs);
    assert_eq!(
        steps(&second.entries),
        (from + 1..=epochs * STEPS_PER_EPOCH).collect::<Vec<_>>()
    );
    assert!(matches!(second.entries.last(), Some(Entry::Finished { .. })));
}

#[test]
fn each_seed_writes_its_own_history() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let out = tmp.path().join("runs");
    let (code, _, stderr) = run_cli(&train(&data, &out, &["--epochs", "1", "--seeds", "2"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(!out.join(HISTORY_FILE).exists(), "histories are per seed");
    for seed in [1u64, 2] {
        let history = History::read_run(&out.join(format!("seed-{seed}")))
            .unwrap()
            .expect("a history");
        assert_eq!(history.sessions.len(), 1);
        let session = &history.sessions[0];
        assert_eq!(session.header.spec.seed, seed);
        assert_eq!(
            session.header.spec.out.as_deref(),
            Some(out.join(format!("seed-{seed}")).as_path())
        );
        assert_eq!(steps(&session.entries), (1..=STEPS_PER_EPOCH).collect::<Vec<_>>());
        assert!(matches!(session.entries.last(), Some(Entry::Finished { .. })));
    }
}

#[test]
fn a_history_that_cannot_be_written_is_a_warning_once_and_the_run_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let run = tmp.path().join("run");
    let (code, _, stderr) = run_cli(&train(&data, &run, &["--epochs", "1"]));
    assert_eq!(code, 0, "{stderr}");
    // A full disk: every write fails.
    let history = run.join(HISTORY_FILE);
    std::fs::remove_file(&history).unwrap();
    std::os::unix::fs::symlink("/dev/full", &history).unwrap();
    let (code, stdout, stderr) = cli(&[
        "train",
        "--headless",
        "--resume",
        &s(&run.join("last")),
        "--epochs",
        "2",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let warning = format!(
        "warning: {}: No space left on device (os error 28); the run goes on without writing its history",
        history.display()
    );
    assert_eq!(stderr.matches(&warning).count(), 1, "{stderr}");
    assert_eq!(stderr.matches("warning").count(), 1, "{stderr}");
    assert!(stdout.contains("test split"), "{stdout}");
    assert_eq!(record(&run.join("last")).epochs_done, Some(2), "trained to the end");
}

#[test]
fn the_app_shows_a_warning_in_its_message_line() {
    use cmbert::ui::{Activity, App, Browser, RunState, Theme};
    let mut app = App::new(
        RunState::new("run"),
        Browser::new(Default::default(), Split::Dev),
        Theme::default(),
        Activity::Training,
    );
    app.apply(&Event::Warning("run/history.jsonl: disk full; the run goes on".into()));
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| app.draw(f)).unwrap();
    let buffer = terminal.backend().buffer();
    let last_row: String = (0..80).map(|x| buffer[(x, 23)].symbol().to_string()).collect();
    assert!(
        last_row.starts_with("warning: run/history.jsonl: disk full; the run goes on"),
        "{last_row:?}"
    );
}

#[test]
fn a_resume_into_a_new_out_continues_a_copy_of_the_history() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let run = tmp.path().join("run");
    let (code, _, stderr) = run_cli(&train(&data, &run, &["--epochs", "1"]));
    assert_eq!(code, 0, "{stderr}");
    let before = std::fs::read(run.join(HISTORY_FILE)).unwrap();
    let more = tmp.path().join("more");
    let (code, _, stderr) = cli(&[
        "train",
        "--headless",
        "--resume",
        &s(&run.join("last")),
        "--epochs",
        "2",
        "--out",
        &s(&more),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read(run.join(HISTORY_FILE)).unwrap(),
        before,
        "the original run's history is untouched"
    );
    let history = History::read_run(&more).unwrap().unwrap();
    assert_eq!(history.sessions.len(), 2);
    assert!(history.sessions[1].header.resumed);
    assert_eq!(
        history
            .entries()
            .filter(|(_, e)| matches!(e, Entry::Step { .. }))
            .count(),
        2 * STEPS_PER_EPOCH
    );
}

/// A run that fails after it started ends its history with the error as printed; one refused
/// before its first step writes none.
#[test]
fn a_failed_run_ends_its_history_with_the_error_and_a_refused_one_writes_none() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let run = tmp.path().join("run");
    // An absurd learning rate: the loss is NaN a few steps in (tests/config_validation.rs).
    let (code, _, stderr) = run_cli(&train(&data, &run, &["--lr", "1e30", "--head-lr", "1e30"]));
    assert_eq!(code, 2, "{stderr}");
    let history = History::read_run(&run).unwrap().expect("a history");
    let entries = &history.sessions[0].entries;
    let Some(Entry::Failed { message }) = entries.last() else {
        panic!("ends failed: {:?}", entries.last())
    };
    assert!(message.starts_with("training diverged at step "), "{message}");
    assert!(stderr.contains(&format!("error: {message}")), "{stderr}");
    let failed_at = steps(entries).len() + 1;
    assert!(message.contains(&format!("at step {failed_at} ")), "{message}");

    // An empty training split is refused before the loop starts.
    let empty = tmp.path().join("empty");
    write_tiny_corpus(&empty, [0, 12, 14]);
    let other = tmp.path().join("other");
    let (code, _, stderr) = run_cli(&train(&empty, &other, &[]));
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(History::read_run(&other).unwrap(), None, "{stderr}");
}
