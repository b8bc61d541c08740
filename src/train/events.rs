//! The typed protocol between the training engine and its consumers (the headless printer
//! and the TUI): events up, commands down.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crossbeam_channel::Sender;
use serde::{Deserialize, Serialize};

use super::eval::AttentionSnapshot;
use super::metrics::Metrics;
use super::record::{Saved, TrainingRecord};
use crate::data::Split;

/// What the worker tells its consumers (the headless printer, the TUI).
#[derive(Debug, Clone, Serialize)]
pub enum Event {
    /// The loop starts (or resumes): the run's size.
    Started {
        /// The run's seed.
        seed: u64,
        /// Epochs of the whole run.
        epochs: usize,
        /// Optimiser steps per epoch.
        steps_per_epoch: usize,
        /// Optimiser steps of the whole run.
        total_steps: usize,
        /// Steps already taken (a resumed run), where this part starts.
        first_step: usize,
        /// Values the optimiser updates.
        trainable_params: usize,
        /// Values of the frozen parameters.
        frozen_params: usize,
    },
    /// One optimiser step taken.
    Step {
        /// The epoch, 0-based.
        epoch: usize,
        /// Steps taken so far, this one included.
        step: usize,
        /// The batch's loss.
        loss: f32,
        /// The learning rate of the `--lr` group at this step.
        lr: f64,
        /// Time since this part of the run started.
        elapsed: Duration,
    },
    /// Dev evaluation at the end of an epoch.
    EpochEnd {
        /// The epoch that ended, 0-based.
        epoch: usize,
        /// Mean training loss over the epoch's batches.
        train_loss: f64,
        /// The dev split's loss.
        dev_loss: f64,
        /// The dev split's metrics.
        dev: Metrics,
        /// Whether this epoch is the best so far (then saved as `best/`).
        best: bool,
    },
    /// A checkpoint was written.
    CheckpointSaved {
        /// Its directory.
        path: PathBuf,
        /// `best/` or `last/`.
        kind: Saved,
    },
    /// The loop is paused (`Command::Pause`), between two steps.
    Paused,
    /// The loop goes on after a pause.
    Resumed,
    /// Test metrics of the best checkpoint, at the end.
    Finished(RunSummary),
    /// The run stopped early (`Command::Stop`, or the command channel closed).
    Stopped {
        /// Steps taken.
        step: usize,
    },
    /// The run failed (or its thread panicked): the error's message.
    Failed(String),
    /// Something went wrong that does not stop the run (its history could not be written):
    /// one line for the reader, sent once.
    Warning(String),
    /// The watched utterance's attention, recomputed.
    Attention(Box<Inspection>),
    /// A split's predictions in file order (dev after each epoch, test at the end, any
    /// split on request), and the weights that made them.
    Predictions {
        /// The split predicted.
        split: Split,
        /// The weights that predicted.
        weights: Weights,
        /// One score per utterance, in file order.
        values: Vec<f32>,
    },
    /// A finished run answers with these weights from now on: sent when it starts serving
    /// (its best weights) and after each `Command::Switch`. Whatever other weights computed
    /// is out of date for the views.
    Serving(Weights),
}

/// Where the engine's events go: the channel to the consumers, or the engine's recorder
/// that also writes them into the run's history (`engine/recorder.rs`) before passing them
/// on.
pub trait EventSink {
    /// Sends one event. A consumer that is gone is not an error: the run goes on (and
    /// stops at its next step when the command channel closed too, `protocol`).
    fn emit(&self, event: Event);

    /// Keeps an attention snapshot for the run's record without showing it: an utterance
    /// watched for `attention_log` that is not in view. Only the engine's recorder keeps
    /// it; other sinks drop it.
    fn keep(&self, _inspection: Inspection) {}
}

impl EventSink for Sender<Event> {
    fn emit(&self, event: Event) {
        let _ = self.send(event);
    }
}

/// Which weights computed a prediction or an attention map. Every view labels what it
/// shows with it, so that two views never show two models without saying so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Weights {
    /// The weights being trained, after this many optimiser steps.
    Live {
        /// Optimiser steps taken.
        step: usize,
    },
    /// A run's best dev epoch, numbered from 1 as printed.
    Best {
        /// The epoch, numbered from 1.
        epoch: usize,
    },
    /// A run's weights as its loop left them, after this many optimiser steps.
    Last {
        /// Optimiser steps taken.
        step: usize,
    },
    /// A checkpoint whose run record does not say which it is (another tool's, or one
    /// written before the record said).
    Checkpoint,
}

impl Weights {
    /// Optimiser steps behind these weights, where known.
    pub fn step(self) -> Option<usize> {
        match self {
            Self::Live { step } | Self::Last { step } => Some(step),
            Self::Best { .. } | Self::Checkpoint => None,
        }
    }

    /// What a checkpoint's run record says its weights are.
    pub fn of_record(record: Option<&TrainingRecord>) -> Self {
        match record.map(|r| (r.saved, r.best_epoch, r.step)) {
            Some((Some(Saved::Best), Some(epoch), _)) => Self::Best { epoch },
            Some((Some(Saved::Last), _, Some(step))) => Self::Last { step },
            _ => Self::Checkpoint,
        }
    }
}

/// As the views label them: `step 648`, `best, epoch 10`, `last, step 648`.
impl fmt::Display for Weights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Live { step } => write!(f, "step {step}"),
            Self::Best { epoch } => write!(f, "best, epoch {epoch}"),
            Self::Last { step } => write!(f, "last, step {step}"),
            Self::Checkpoint => f.write_str("checkpoint"),
        }
    }
}

/// An utterance's attention and the weights that computed it.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The utterance's split.
    pub split: Split,
    /// The weights that computed the matrices.
    pub weights: Weights,
    /// The utterance's matrices and predictions.
    pub snapshot: AttentionSnapshot,
}

/// What the consumer (the app) asks of the worker; `protocol` says how each is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Pause between two steps (still answering requests).
    Pause,
    /// Go on after a pause.
    Resume,
    /// Stop after the current step, saving `last/` when there is an output directory.
    Stop,
    /// Save `last/` now (resumable), between two steps.
    Save,
    /// Recompute this utterance's attention now, then every few steps and at epoch ends.
    Watch {
        /// The utterance's split.
        split: Split,
        /// Its index in that split, in file order.
        index: usize,
    },
    /// Send the predictions of a split (one evaluation pass).
    Predict(Split),
    /// After the run: answer with its best or its last weights from now on (both are kept
    /// in memory; answered by `Event::Serving`).
    Switch(Saved),
}

/// A finished run's result: its best epoch and that epoch's weights on the test split.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The run's seed.
    pub seed: u64,
    /// The best dev epoch, 0-based (printed + 1).
    pub best_epoch: usize,
    /// Its dev loss.
    pub best_dev_loss: f64,
    /// Test metrics of the best epoch's weights.
    pub test: Metrics,
    /// Their test loss.
    pub test_loss: f64,
    /// Their test predictions, in file order.
    #[serde(skip)]
    pub test_predictions: Vec<f32>,
    /// Time the run (this part of it, when resumed) took.
    pub wall_time: Duration,
    /// Where the best weights were saved, if anywhere.
    pub best_checkpoint: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelKind;
    use crate::train::RunSpec;

    #[test]
    fn weights_are_labelled_as_the_views_show_them() {
        assert_eq!(Weights::Live { step: 20 }.to_string(), "step 20");
        assert_eq!(Weights::Best { epoch: 10 }.to_string(), "best, epoch 10");
        assert_eq!(Weights::Last { step: 648 }.to_string(), "last, step 648");
        assert_eq!(Weights::Last { step: 648 }.step(), Some(648));
        assert_eq!(Weights::Best { epoch: 10 }.step(), None);
    }

    #[test]
    fn a_checkpoint_is_labelled_by_its_run_record() {
        let mut record = TrainingRecord {
            spec: RunSpec::paper("d".into(), "b".into(), ModelKind::CmBert),
            saved: Some(Saved::Best),
            step: Some(540),
            epochs_done: Some(10),
            best_epoch: Some(10),
            best_dev_loss: Some(0.9),
            progress: None,
            optimizer_steps: None,
            epochs_changes: Vec::new(),
        };
        assert_eq!(Weights::of_record(Some(&record)), Weights::Best { epoch: 10 });
        record.saved = Some(Saved::Last);
        assert_eq!(Weights::of_record(Some(&record)), Weights::Last { step: 540 });
        record.saved = None;
        assert_eq!(Weights::of_record(Some(&record)), Weights::Checkpoint, "format 1");
        assert_eq!(Weights::of_record(None), Weights::Checkpoint);
    }
}
