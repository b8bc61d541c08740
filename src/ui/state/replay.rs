//! An opened run's training screen from its history (`RUN/history.jsonl`, `train::history`):
//! each line becomes the event the engine sent when it was written, applied as the live app
//! applies it ([`RunState::apply`]), so that the screen is the one the run showed at its
//! end: the curve, the dev rows with the best marked, the test row, the checkpoints.
//!
//! A `--resume` from `last/` after a kill redid the steps past that save: the older
//! session's lines after the resume point are left out (the run's weights left them
//! behind), and the curve goes on from the resume point, marked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Record, RunInfo, RunState, RunStatus};
use crate::data::Split;
use crate::train::history::{Entry, History, Session};
use crate::train::{Event, Metrics, RunSummary, Saved};

/// An opened run's history, as the status panel and the loss chart tell it.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    /// The history file.
    pub path: PathBuf,
    /// Where each session began: the run, then each `--resume`.
    pub sessions: Vec<SessionStart>,
    /// The last line was cut off (the process died while writing it) and is left out.
    pub truncated: bool,
}

/// Where a session of a run began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStart {
    /// Optimiser steps taken before it (0 for the run's first session).
    pub first_step: usize,
    /// When, as its header says (RFC 3339).
    pub started: String,
    /// Whether it continued the run (`--resume`).
    pub resumed: bool,
}

impl Replayed {
    /// The steps at which a `--resume` continued the run.
    pub fn resumes(&self) -> impl Iterator<Item = usize> + '_ {
        self.sessions.iter().filter(|s| s.resumed).map(|s| s.first_step)
    }
}

/// The optimiser step a line was written at, for the lines that say it.
fn step_of(entry: &Entry) -> Option<usize> {
    match entry {
        Entry::Step { step, .. }
        | Entry::Eval { step, .. }
        | Entry::Saved { step, .. }
        | Entry::Paused { step }
        | Entry::Resumed { step }
        | Entry::Stopped { step } => Some(*step),
        _ => None,
    }
}

/// Steps per epoch, from a dev evaluation (written at its epoch's last step); `None` when
/// the run never finished an epoch.
fn steps_per_epoch(history: &History) -> Option<usize> {
    history.entries().find_map(|(_, entry)| match entry {
        Entry::Eval {
            split: Split::Dev,
            epoch: Some(epoch),
            step,
            ..
        } if *epoch > 0 && *step > 0 => Some(step / epoch),
        _ => None,
    })
}

fn duration(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or_default()
}

/// The event the engine sent when `session` began.
fn started(session: &Session, steps_per_epoch: Option<usize>) -> Event {
    let spec = &session.header.spec;
    let spe = steps_per_epoch.unwrap_or(0);
    Event::Started {
        seed: spec.seed,
        epochs: spec.epochs,
        steps_per_epoch: spe,
        total_steps: spe * spec.epochs,
        first_step: session.header.first_step,
        trainable_params: 0,
        frozen_params: 0,
    }
}

/// Lines read so far that wait for a later one (the engine's events carry both).
#[derive(Default)]
struct Pending {
    /// The epoch whose steps are summed, the sum and the count: an epoch's mean training
    /// loss for its dev line.
    epoch_loss: (usize, f64, usize),
    /// The test evaluation, for the `finished` line after it.
    test: Option<(f64, Metrics)>,
}

impl RunState {
    /// The training screen of a run at its end, from its history read from `path`.
    pub fn from_history(mut info: RunInfo, history: &History, path: &Path) -> Self {
        let run = crate::fsutil::parent_of(path);
        if let (Some(model), Some(last)) = (info.model.as_mut(), history.sessions.last()) {
            model.preset = Some(last.header.spec.preset);
        }
        let mut state = Self::with_info(info);
        let spe = steps_per_epoch(history);
        let mut pending = Pending::default();
        for (i, session) in history.sessions.iter().enumerate() {
            let resumed_at = history.sessions.get(i + 1).map(|next| next.header.first_step);
            state.apply(&started(session, spe));
            for entry in &session.entries {
                if resumed_at.is_some_and(|at| step_of(entry).is_some_and(|step| step > at)) {
                    continue;
                }
                if let Some(event) = state.event_of(entry, session, run, &mut pending) {
                    state.apply(&event);
                }
            }
        }
        if let Some((loss, metrics)) = pending.test {
            // Tested, killed before the end line.
            state.test = Some(metrics);
            state.test_loss = Some(loss);
        }
        if matches!(
            state.status,
            RunStatus::Starting | RunStatus::Running | RunStatus::Paused
        ) {
            state.status = RunStatus::Unended { step: state.step };
        }
        if spe.is_none() {
            // No epoch ended: the chart spans the steps there are.
            state.total_steps = state.step;
        }
        state.record = Record::History(Replayed {
            path: path.to_path_buf(),
            sessions: history
                .sessions
                .iter()
                .map(|s| SessionStart {
                    first_step: s.header.first_step,
                    started: s.header.started.clone(),
                    resumed: s.header.resumed,
                })
                .collect(),
            truncated: history.truncated,
        });
        state
    }

    /// The engine's event behind one history line; `None` for a line that waits for
    /// another or that the screen does not show.
    fn event_of(&mut self, entry: &Entry, session: &Session, run: &Path, pending: &mut Pending) -> Option<Event> {
        Some(match entry {
            Entry::Step {
                step,
                epoch,
                loss,
                lr,
                seconds,
            } => {
                let (current, sum, count) = &mut pending.epoch_loss;
                if *current != *epoch {
                    (*current, *sum, *count) = (*epoch, 0.0, 0);
                }
                (*sum, *count) = (*sum + *loss as f64, *count + 1);
                Event::Step {
                    epoch: epoch.saturating_sub(1),
                    step: *step,
                    loss: *loss,
                    lr: *lr,
                    elapsed: duration(*seconds),
                }
            }
            Entry::Eval {
                split: Split::Dev,
                epoch: Some(epoch),
                loss,
                metrics,
                best,
                ..
            } => {
                let (current, sum, count) = pending.epoch_loss;
                Event::EpochEnd {
                    epoch: epoch.saturating_sub(1),
                    train_loss: if current == *epoch && count > 0 {
                        sum / count as f64
                    } else {
                        f64::NAN
                    },
                    dev_loss: *loss,
                    dev: *metrics,
                    best: *best,
                }
            }
            Entry::Eval {
                split: Split::Test,
                loss,
                metrics,
                ..
            } => {
                pending.test = Some((*loss, *metrics));
                return None;
            }
            Entry::Saved { checkpoint, .. } => Event::CheckpointSaved {
                path: run.join(match checkpoint {
                    Saved::Best => "best",
                    Saved::Last => "last",
                }),
                kind: *checkpoint,
            },
            Entry::Paused { .. } => Event::Paused,
            Entry::Resumed { .. } => Event::Resumed,
            Entry::Stopped { step } => Event::Stopped { step: *step },
            Entry::Finished {
                best_epoch,
                best_dev_loss,
                seconds,
            } => {
                let Some((test_loss, test)) = pending.test.take() else {
                    // Finished without its test line: nothing to put in the test row.
                    self.status = RunStatus::Done;
                    return None;
                };
                Event::Finished(RunSummary {
                    seed: session.header.spec.seed,
                    best_epoch: best_epoch.saturating_sub(1),
                    best_dev_loss: *best_dev_loss,
                    test,
                    test_loss,
                    test_predictions: Vec::new(),
                    wall_time: duration(*seconds),
                    best_checkpoint: None,
                })
            }
            Entry::Failed { message } => Event::Failed(message.clone()),
            // Headers begin sessions (`Session::header`); other splits' evaluations and
            // kinds added later are not on this screen.
            _ => return None,
        })
    }
}

#[cfg(test)]
pub(in crate::ui) mod tests;
