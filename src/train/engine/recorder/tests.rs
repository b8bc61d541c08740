use std::time::Duration;

use crossbeam_channel::unbounded;

use super::*;
use crate::model::ModelKind;
use crate::train::events::RunSummary;
use crate::train::history::History;
use crate::train::metrics::Metrics;
use crate::train::record::Saved;

fn plan(run: &std::path::Path, begun: Begun) -> Plan {
    Plan {
        run: run.to_path_buf(),
        spec: RunSpec::paper("data".into(), "bert".into(), ModelKind::CmBert),
        device: "cpu".into(),
        begun,
        recording: Recording::default(),
    }
}

fn started(first_step: usize) -> Event {
    Event::Started {
        seed: 1,
        epochs: 2,
        steps_per_epoch: 2,
        total_steps: 4,
        first_step,
        trainable_params: 10,
        frozen_params: 0,
    }
}

fn step(step: usize) -> Event {
    Event::Step {
        epoch: (step - 1) / 2,
        step,
        loss: 0.5 / step as f32,
        lr: 1e-3,
        elapsed: Duration::from_millis(10 * step as u64),
    }
}

fn metrics() -> Metrics {
    Metrics::compute(&[0.5, -0.5, 1.0], &[1.0, -1.0, 0.5])
}

fn steps_of(history: &History) -> Vec<usize> {
    history
        .entries()
        .filter_map(|(_, e)| match e {
            Entry::Step { step, .. } => Some(*step),
            _ => None,
        })
        .collect()
}

#[test]
fn each_event_of_a_run_becomes_its_lines_and_is_passed_on() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let (tx, rx) = unbounded();
    let recorder = Recorder::new(&tx, Some(plan(&run, Begun::New)));
    let summary = RunSummary {
        seed: 1,
        best_epoch: 0,
        best_dev_loss: 0.75,
        test: metrics(),
        test_loss: 0.5,
        test_predictions: vec![0.5],
        wall_time: Duration::from_secs(3),
        best_checkpoint: None,
    };
    let events = vec![
        started(0),
        step(1),
        Event::Paused,
        Event::Resumed,
        step(2),
        Event::EpochEnd {
            epoch: 0,
            train_loss: 0.4,
            dev_loss: 0.75,
            dev: metrics(),
            best: true,
        },
        Event::CheckpointSaved {
            path: run.join("best"),
            kind: Saved::Best,
        },
        Event::Predictions {
            split: Split::Dev,
            weights: crate::train::Weights::Live { step: 2 },
            values: vec![0.5],
        },
        Event::Finished(summary),
    ];
    for e in events.clone() {
        recorder.emit(e);
    }
    let passed: Vec<Event> = rx.try_iter().collect();
    assert_eq!(format!("{passed:?}"), format!("{events:?}"), "every event, in order");
    let h = History::read_run(&run).unwrap().unwrap();
    assert_eq!(h.sessions.len(), 1);
    let header = &h.sessions[0].header;
    assert_eq!(
        (header.version, header.first_step, header.resumed),
        (HISTORY_VERSION, 0, false)
    );
    assert_eq!(header.machine.device, "cpu");
    assert_eq!(
        h.sessions[0].entries,
        [
            Entry::Step {
                step: 1,
                epoch: 1,
                loss: 0.5,
                lr: 1e-3,
                seconds: 0.01
            },
            Entry::Paused { step: 1 },
            Entry::Resumed { step: 1 },
            Entry::Step {
                step: 2,
                epoch: 1,
                loss: 0.25,
                lr: 1e-3,
                seconds: 0.02
            },
            Entry::Eval {
                split: Split::Dev,
                epoch: Some(1),
                step: 2,
                loss: 0.75,
                metrics: metrics(),
                best: true,
                train_loss: Some(0.4)
            },
            Entry::Saved {
                checkpoint: Saved::Best,
                step: 2
            },
            Entry::Eval {
                split: Split::Test,
                epoch: None,
                step: 2,
                loss: 0.5,
                metrics: metrics(),
                best: false,
                train_loss: None
            },
            Entry::Finished {
                best_epoch: 1,
                best_dev_loss: 0.75,
                seconds: 3.0
            },
        ]
    );
}

#[test]
fn nothing_is_written_before_the_loop_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _rx) = unbounded();
    let recorder = Recorder::new(&tx, Some(plan(dir.path(), Begun::New)));
    // A run refused by its checks fails before `Started`.
    recorder.record(&Event::Failed("train split: empty".into()));
    assert_eq!(History::read_run(dir.path()).unwrap(), None);
}

#[test]
fn a_resumed_session_is_appended_with_its_first_step() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _rx) = unbounded();
    {
        let first = Recorder::new(&tx, Some(plan(dir.path(), Begun::New)));
        for e in [started(0), step(1), step(2), step(3), Event::Stopped { step: 3 }] {
            first.emit(e);
        }
    }
    let second = Recorder::new(&tx, Some(plan(dir.path(), Begun::Resumed)));
    for e in [started(2), step(3), step(4)] {
        second.emit(e);
    }
    let h = History::read_run(dir.path()).unwrap().unwrap();
    assert_eq!(h.sessions.len(), 2);
    assert_eq!(h.sessions[0].entries.last(), Some(&Entry::Stopped { step: 3 }));
    let header = &h.sessions[1].header;
    assert_eq!((header.first_step, header.resumed), (2, true));
    assert_eq!(steps_of(&h), [1, 2, 3, 3, 4]);
}

#[test]
fn a_history_that_cannot_be_written_is_said_once_and_the_events_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = unbounded();
    let recorder = Recorder::new(&tx, Some(plan(dir.path(), Begun::New)));
    recorder.emit(started(0));
    recorder.emit(step(1));
    // The disk fills.
    match &mut recorder.state.borrow_mut().writing {
        Writing::Open { writer, .. } => {
            writer.redirect(std::fs::OpenOptions::new().append(true).open("/dev/full").unwrap())
        }
        _ => panic!("the history is open"),
    }
    for e in [step(2), step(3), Event::Stopped { step: 3 }] {
        recorder.emit(e);
    }
    let passed: Vec<Event> = rx.try_iter().collect();
    let warnings: Vec<&String> = passed
        .iter()
        .filter_map(|e| match e {
            Event::Warning(w) => Some(w),
            _ => None,
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{passed:?}");
    assert!(
        warnings[0].contains("history.jsonl") && warnings[0].ends_with("the run goes on without writing its history"),
        "{}",
        warnings[0]
    );
    assert_eq!(
        passed.iter().filter(|e| matches!(e, Event::Step { .. })).count(),
        3,
        "every step still reaches the consumers"
    );
    assert!(matches!(passed.last(), Some(Event::Stopped { step: 3 })));
    let h = History::read_run(dir.path()).unwrap().unwrap();
    assert_eq!(steps_of(&h), [1], "what was written before stays readable");
}

#[test]
fn a_history_that_cannot_be_opened_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be.
    std::fs::create_dir(dir.path().join(crate::train::history::HISTORY_FILE)).unwrap();
    let (tx, rx) = unbounded();
    let recorder = Recorder::new(&tx, Some(plan(dir.path(), Begun::New)));
    for e in [started(0), step(1), step(2)] {
        recorder.emit(e);
    }
    let warnings = rx.try_iter().filter(|e| matches!(e, Event::Warning(_))).count();
    assert_eq!(warnings, 1);
}

#[test]
fn a_panic_through_the_trainer_ends_its_session_as_failed() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _rx) = unbounded();
    let run = dir.path().to_path_buf();
    let panicked = std::thread::spawn(move || {
        let recorder = Recorder::new(&tx, Some(plan(&run, Begun::New)));
        recorder.emit(started(0));
        recorder.emit(step(1));
        panic!("index out of bounds");
    })
    .join();
    assert!(panicked.is_err());
    let h = History::read_run(dir.path()).unwrap().unwrap();
    assert_eq!(
        h.sessions[0].entries.last(),
        Some(&Entry::Failed {
            message: "the trainer thread panicked".into()
        })
    );
}

#[test]
fn without_a_run_directory_nothing_is_written_and_events_pass() {
    let (tx, rx) = unbounded();
    let recorder = Recorder::new(&tx, None);
    recorder.emit(started(0));
    recorder.emit(step(1));
    assert_eq!(rx.try_iter().count(), 2);
}
