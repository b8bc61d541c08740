//! Building the training screen's state from histories as runs leave them: finished,
//! stopped, killed (cut, or without an end line), resumed after a kill, failed.

use super::*;
use crate::model::ModelKind;
use crate::train::history::{Header, HistoryWriter, Machine, HISTORY_FILE, HISTORY_VERSION};
use crate::train::RunSpec;

// Shared with the screen tests (`ui::tests_open`).

/// A history written as a run writes it: `HistoryWriter` into a temporary run directory,
/// read back with `History::read_run`.
pub(crate) struct Run {
    pub dir: tempfile::TempDir,
}

impl Run {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A session of a run of `epochs` epochs starting after `first_step` steps, with `lines`.
    pub fn session(&self, epochs: usize, first_step: usize, lines: &[Entry]) -> &Self {
        let mut spec = RunSpec::scratch("data".into(), "bert".into(), ModelKind::CmBert);
        spec.epochs = epochs;
        let header = Header {
            version: HISTORY_VERSION,
            spec,
            machine: Machine::this("cpu"),
            started: format!("2026-12-01T16:{:02}:00+00:00", first_step),
            first_step,
            resumed: first_step > 0,
        };
        let mut w = HistoryWriter::start(self.dir.path(), header).unwrap();
        for line in lines {
            w.write(line).unwrap();
        }
        self
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join(HISTORY_FILE)
    }

    pub fn state(&self) -> RunState {
        let history = History::read_run(self.dir.path()).unwrap().unwrap();
        RunState::from_history(RunInfo::default(), &history, &self.path())
    }
}

pub(crate) fn metrics(shift: f32) -> Metrics {
    Metrics::compute(&[0.5 + shift, -0.5, 1.0, -2.0], &[1.0, -1.0, 0.5, -1.5])
}

/// Steps `from..=to` of an epoch of 5 steps, the loss falling with the step.
pub(crate) fn steps(from: usize, to: usize) -> Vec<Entry> {
    (from..=to)
        .map(|step| Entry::Step {
            step,
            epoch: (step - 1) / 5 + 1,
            loss: 2.0 / step as f32,
            lr: 1e-4,
            seconds: step as f64 * 0.5,
        })
        .collect()
}

/// An evaluation line. Built from JSON, as the reader builds it, so that fields added to
/// the line later (with their defaults) need no change here.
pub(crate) fn eval(split: Split, epoch: Option<usize>, step: usize, loss: f64, best: bool) -> Entry {
    serde_json::from_value(serde_json::json!({
        "kind": "eval",
        "split": split,
        "epoch": epoch,
        "step": step,
        "loss": loss,
        "metrics": metrics(loss as f32),
        "best": best,
    }))
    .unwrap()
}

pub(crate) fn saved(checkpoint: Saved, step: usize) -> Entry {
    Entry::Saved { checkpoint, step }
}

/// Two epochs of 5 steps, the first the best, both saved, then the test and the end.
pub(crate) fn finished_lines() -> Vec<Entry> {
    let mut lines = steps(1, 5);
    lines.extend([
        eval(Split::Dev, Some(1), 5, 0.6, true),
        saved(Saved::Best, 5),
        saved(Saved::Last, 5),
    ]);
    lines.extend(steps(6, 10));
    lines.extend([
        eval(Split::Dev, Some(2), 10, 0.7, false),
        saved(Saved::Last, 10),
        eval(Split::Test, None, 10, 0.4, false),
        Entry::Finished {
            best_epoch: 1,
            best_dev_loss: 0.6,
            seconds: 5.0,
        },
    ]);
    lines
}

#[test]
fn a_finished_run_shows_its_curve_dev_rows_best_and_test() {
    let run = Run::new();
    run.session(2, 0, &finished_lines());
    let s = run.state();
    assert_eq!(s.status, RunStatus::Done);
    assert_eq!(s.status_label(), "finished");
    assert_eq!((s.epochs, s.steps_per_epoch, s.total_steps, s.step), (2, 5, 10, 10));
    assert_eq!(s.loss.full().len(), 10, "every step on the curve");
    assert_eq!(s.loss.full()[0], (1.0, 2.0));
    assert!(s.ema.is_some());
    let rows: Vec<(usize, f64, bool)> = s.epoch_rows.iter().map(|r| (r.epoch, r.dev_loss, r.best)).collect();
    assert_eq!(rows, [(0, 0.6, true), (1, 0.7, false)]);
    let mean: f64 = (1..=5).map(|i| 2.0 / i as f32).map(f64::from).sum::<f64>() / 5.0;
    assert!((s.epoch_rows[0].train_loss - mean).abs() < 1e-6);
    assert_eq!(s.epoch_rows[1].dev, metrics(0.7));
    assert_eq!(s.best_epoch(), Some(0));
    assert_eq!(s.test, Some(metrics(0.4)));
    assert_eq!(s.test_loss, Some(0.4));
    let best = s.best_saved.as_ref().unwrap();
    assert_eq!((best.path.clone(), best.step), (run.dir.path().join("best"), 5));
    assert_eq!(s.last_saved.as_ref().unwrap().step, 10);
    let Record::History(r) = &s.record else {
        panic!("{:?}", s.record)
    };
    assert_eq!(r.path, run.path());
    assert_eq!(r.sessions.len(), 1);
    assert_eq!(r.resumes().count(), 0);
    assert!(!r.truncated);
}

#[test]
fn a_stopped_run_says_at_which_step() {
    let run = Run::new();
    let mut lines = steps(1, 5);
    lines.push(eval(Split::Dev, Some(1), 5, 0.6, true));
    lines.extend(steps(6, 7));
    lines.extend([saved(Saved::Last, 7), Entry::Stopped { step: 7 }]);
    run.session(2, 0, &lines);
    let s = run.state();
    assert_eq!(s.status, RunStatus::Stopped);
    assert_eq!(s.status_label(), "stopped at step 7");
    assert_eq!((s.step, s.total_steps, s.epoch_rows.len()), (7, 10, 1));
    assert_eq!(s.test, None);
}

#[test]
fn a_killed_run_ends_where_its_history_ends_and_a_cut_last_line_is_said() {
    let run = Run::new();
    let mut lines = steps(1, 5);
    lines.push(eval(Split::Dev, Some(1), 5, 0.6, true));
    lines.extend(steps(6, 8));
    run.session(2, 0, &lines);
    let s = run.state();
    assert_eq!(s.status, RunStatus::Unended { step: 8 });
    assert_eq!(s.status_label(), "history ends at step 8 without an end line (killed?)");
    assert_eq!(s.loss.full().len(), 8);
    // kill -9 inside a write: the last line is cut, and left out.
    let text = std::fs::read(run.path()).unwrap();
    std::fs::write(run.path(), &text[..text.len() - 10]).unwrap();
    let s = run.state();
    assert_eq!(s.status, RunStatus::Unended { step: 7 });
    let Record::History(r) = &s.record else {
        panic!("{:?}", s.record)
    };
    assert!(r.truncated);
}

#[test]
fn a_run_killed_in_its_first_epoch_spans_the_steps_it_has() {
    let run = Run::new();
    run.session(2, 0, &steps(1, 3));
    let s = run.state();
    assert_eq!(s.status, RunStatus::Unended { step: 3 });
    assert_eq!(
        (s.steps_per_epoch, s.total_steps),
        (0, 3),
        "an epoch's length is known once one ended"
    );
    assert_eq!(s.epoch_at(3), None);
}

#[test]
fn a_resumed_run_continues_its_curve_from_the_resume_point_marked() {
    let run = Run::new();
    // Killed at step 8 after last/ was saved at step 5 (the epoch's end)...
    let mut first = steps(1, 5);
    first.extend([
        eval(Split::Dev, Some(1), 5, 0.6, true),
        saved(Saved::Best, 5),
        saved(Saved::Last, 5),
    ]);
    first.extend(steps(6, 8));
    run.session(2, 0, &first);
    // ...then `--resume` from last/: steps 6-8 again, with other losses.
    let mut second: Vec<Entry> = steps(6, 10)
        .into_iter()
        .map(|e| match e {
            Entry::Step {
                step,
                epoch,
                lr,
                seconds,
                ..
            } => Entry::Step {
                step,
                epoch,
                loss: 9.0,
                lr,
                seconds,
            },
            other => other,
        })
        .collect();
    second.extend(finished_lines().split_off(13));
    run.session(2, 5, &second);
    let s = run.state();
    assert_eq!(s.status, RunStatus::Done);
    let xs: Vec<f64> = s.loss.full().iter().map(|p| p.0).collect();
    assert_eq!(xs, (1..=10).map(f64::from).collect::<Vec<_>>(), "each step once");
    assert!(
        s.loss.full()[5..].iter().all(|p| p.1 == 9.0),
        "the resumed session's steps, not the lost ones: {:?}",
        s.loss.full()
    );
    assert_eq!(s.epoch_rows.len(), 2);
    assert_eq!(s.first_step, 5);
    let Record::History(r) = &s.record else {
        panic!("{:?}", s.record)
    };
    assert_eq!(r.resumes().collect::<Vec<_>>(), [5]);
    assert_eq!(r.sessions[1].started, "2026-12-01T16:05:00+00:00");
}

#[test]
fn a_failed_run_says_why() {
    let run = Run::new();
    let mut lines = steps(1, 2);
    lines.push(Entry::Failed {
        message: "the loss is NaN at step 2".into(),
    });
    run.session(2, 0, &lines);
    let s = run.state();
    assert_eq!(s.status, RunStatus::Failed("the loss is NaN at step 2".into()));
    assert_eq!(s.status_label(), "failed: the loss is NaN at step 2");
}

#[test]
fn the_recipe_comes_from_the_history() {
    let run = Run::new();
    run.session(2, 0, &steps(1, 1));
    let history = History::read_run(run.dir.path()).unwrap().unwrap();
    let info = RunInfo {
        model: Some(super::super::ModelInfo {
            kind: ModelKind::CmBert,
            cls_audio: None,
            preset: None,
        }),
        ..RunInfo::default()
    };
    let s = RunState::from_history(info, &history, &run.path());
    assert_eq!(s.info.model.unwrap().to_string(), "cm-bert (preset scratch)");
}
