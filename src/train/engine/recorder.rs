//! The run's history as the engine writes it (`RUN/history.jsonl`, `train::history`): the
//! one place that turns what the loop does into history lines. Every event the engine sends
//! passes through [`Recorder::emit`], which writes its line (if it has one) before the
//! consumers hear of it, so a line is on disk before the app or the printer shows its event.
//!
//! The header is written when the loop starts (`Event::Started`), after the run's data and
//! settings passed their checks: a run refused before its first step leaves no history.
//! A history that cannot be written does not stop the run: the reader is told once
//! (`Event::Warning`) and the run goes on without it.

use std::cell::RefCell;
use std::path::PathBuf;

use candle_core::{Device, DeviceLocation};
use crossbeam_channel::Sender;

use super::attention_rec::AttentionRec;
use crate::data::Split;
use crate::train::config::{OnDisk, Recording, RunSpec};
use crate::train::events::{Event, EventSink, Inspection};
use crate::train::history::{Entry, Header, HistoryError, HistoryWriter, Machine, HISTORY_VERSION};

/// How a session of the run began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begun {
    /// A new run.
    New,
    /// `--resume`: a new session appended to the run's history.
    Resumed,
}

/// What the header of the session says, and where it goes.
pub(super) struct Plan {
    /// The run directory (`spec.out`).
    pub run: PathBuf,
    /// The run's settings as this session runs them (amended by `--resume`).
    pub spec: RunSpec,
    /// Where the model runs (`device_name`).
    pub device: String,
    /// A new run or a resumed one.
    pub begun: Begun,
    /// Which of the history and the attention log are written.
    pub recording: Recording,
}

/// Where the history stands.
enum Writing {
    /// The loop has not started: the header is not written yet.
    Before(Box<Plan>),
    /// Lines are written; `ended` once the session's last line (finished, stopped, failed)
    /// is.
    Open { writer: HistoryWriter, ended: bool },
    /// No output directory, skipped (`Recording`), or the history could not be written
    /// (said once).
    Off,
}

struct State {
    writing: Writing,
    /// Optimiser steps taken, as the events said.
    step: usize,
}

/// Forwards the engine's events to its consumers, writing the run's history and its
/// attention log (`engine/attention_rec.rs`) on the way.
pub struct Recorder<'a> {
    events: &'a Sender<Event>,
    state: RefCell<State>,
    attention: RefCell<AttentionRec>,
}

impl<'a> Recorder<'a> {
    /// A recorder for a session planned as `plan` (`None`: the run has no directory).
    pub(super) fn new(events: &'a Sender<Event>, plan: Option<Plan>) -> Self {
        let (attention, warning) = AttentionRec::start(
            plan.as_ref()
                .filter(|p| p.recording.attention == OnDisk::Keep)
                .map(|p| &p.run),
            plan.as_ref().map_or(Begun::New, |p| p.begun),
        );
        let plan = plan.filter(|p| p.recording.history == OnDisk::Keep);
        if let Some(warning) = warning {
            let _ = events.send(Event::Warning(warning));
        }
        Self {
            events,
            attention: RefCell::new(attention),
            state: RefCell::new(State {
                writing: plan.map_or(Writing::Off, |p| Writing::Before(Box::new(p))),
                step: 0,
            }),
        }
    }

    /// Writes the lines `event` calls for; a failure switches the history off and is said.
    pub(super) fn record(&self, event: &Event) {
        let mut state = self.state.borrow_mut();
        if let Some(warning) = state.record(event) {
            drop(state);
            let _ = self.events.send(Event::Warning(warning));
        }
        let warning = self.attention.borrow_mut().record(event);
        if let Some(warning) = warning {
            let _ = self.events.send(Event::Warning(warning));
        }
    }
}

impl EventSink for Recorder<'_> {
    fn emit(&self, event: Event) {
        self.record(&event);
        let _ = self.events.send(event);
    }

    fn keep(&self, inspection: Inspection) {
        self.attention.borrow_mut().keep(&inspection);
    }
}

impl Drop for Recorder<'_> {
    /// A panic unwinding through the trainer is its run's end too (its message goes to the
    /// consumers as `Event::Failed` from the worker's thread).
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.record(&Event::Failed("the trainer thread panicked".into()));
        }
    }
}

impl State {
    /// The warning to send when the history just became unwritable.
    fn record(&mut self, event: &Event) -> Option<String> {
        if let Event::Step { step, .. } | Event::Stopped { step } = event {
            self.step = *step;
        }
        let writing = std::mem::replace(&mut self.writing, Writing::Off);
        let result = match writing {
            Writing::Off => Ok(Writing::Off),
            Writing::Before(plan) => match event {
                Event::Started { first_step, .. } => {
                    self.step = *first_step;
                    start(&plan, *first_step).map(|writer| Writing::Open { writer, ended: false })
                }
                // Nothing is written before the loop starts.
                _ => Ok(Writing::Before(plan)),
            },
            Writing::Open { mut writer, ended } if !ended => {
                let entries = entries(event, self.step);
                let ended = entries
                    .iter()
                    .any(|e| matches!(e, Entry::Finished { .. } | Entry::Stopped { .. } | Entry::Failed { .. }));
                entries
                    .iter()
                    .try_for_each(|e| writer.write(e))
                    .map(|()| Writing::Open { writer, ended })
            }
            ended @ Writing::Open { .. } => Ok(ended),
        };
        match result {
            Ok(writing) => {
                self.writing = writing;
                None
            }
            Err(e) => Some(format!("{e}; the run goes on without writing its history")),
        }
    }
}

fn start(plan: &Plan, first_step: usize) -> Result<HistoryWriter, HistoryError> {
    std::fs::create_dir_all(&plan.run).map_err(|source| HistoryError::Io {
        path: plan.run.clone(),
        source,
    })?;
    HistoryWriter::start(
        &plan.run,
        Header {
            version: HISTORY_VERSION,
            spec: plan.spec.clone(),
            machine: Machine::this(&plan.device),
            started: chrono::Local::now().to_rfc3339(),
            first_step,
            resumed: plan.begun == Begun::Resumed,
        },
    )
}

/// The history lines of one event, `step` optimiser steps into the run. Epochs are
/// numbered from 1 in the history, as printed.
fn entries(event: &Event, step: usize) -> Vec<Entry> {
    match event {
        Event::Step {
            epoch,
            step,
            loss,
            lr,
            elapsed,
        } => vec![Entry::Step {
            step: *step,
            epoch: epoch + 1,
            loss: *loss,
            lr: *lr,
            seconds: elapsed.as_secs_f64(),
        }],
        Event::EpochEnd {
            epoch,
            train_loss,
            dev_loss,
            dev,
            best,
        } => vec![Entry::Eval {
            split: Split::Dev,
            epoch: Some(epoch + 1),
            step,
            loss: *dev_loss,
            metrics: *dev,
            best: *best,
            train_loss: Some(*train_loss),
        }],
        Event::CheckpointSaved { kind, .. } => vec![Entry::Saved {
            checkpoint: *kind,
            step,
        }],
        Event::Paused => vec![Entry::Paused { step }],
        Event::Resumed => vec![Entry::Resumed { step }],
        Event::Stopped { step } => vec![Entry::Stopped { step: *step }],
        Event::Finished(summary) => vec![
            Entry::Eval {
                split: Split::Test,
                epoch: None,
                step,
                loss: summary.test_loss,
                metrics: summary.test,
                best: false,
                train_loss: None,
            },
            Entry::Finished {
                best_epoch: summary.best_epoch + 1,
                best_dev_loss: summary.best_dev_loss,
                seconds: summary.wall_time.as_secs_f64(),
            },
        ],
        Event::Failed(message) => vec![Entry::Failed {
            message: message.clone(),
        }],
        // The header is the session's start; the rest is the viewer's, not the run's.
        Event::Started { .. }
        | Event::Warning(_)
        | Event::Attention(_)
        | Event::Predictions { .. }
        | Event::Serving(_) => Vec::new(),
    }
}

/// `cpu`, `cuda:0`, `metal:0`: where the model runs, as the header says.
pub(super) fn device_name(device: &Device) -> String {
    match device.location() {
        DeviceLocation::Cpu => "cpu".into(),
        DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

#[cfg(test)]
mod tests;
