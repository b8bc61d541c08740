//! The typed protocol between the training engine and its consumers (the headless printer
//! and the TUI): events up, commands down.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::metrics::Metrics;
use crate::data::Split;

#[derive(Debug, Clone, Serialize)]
pub enum Event {
    Started {
        seed: u64,
        epochs: usize,
        steps_per_epoch: usize,
        total_steps: usize,
        first_step: usize,
        trainable_params: usize,
        frozen_params: usize,
    },
    Step {
        epoch: usize,
        step: usize,
        loss: f32,
        lr: f64,
        elapsed: Duration,
    },
    /// Dev evaluation at the end of an epoch.
    EpochEnd {
        epoch: usize,
        train_loss: f64,
        dev_loss: f64,
        dev: Metrics,
        best: bool,
    },
    CheckpointSaved {
        path: PathBuf,
        kind: CheckpointKind,
    },
    Paused,
    Resumed,
    /// Test metrics of the best checkpoint, at the end.
    Finished(RunSummary),
    Stopped {
        step: usize,
    },
    Failed(String),
    /// The watched utterance's attention, recomputed.
    Attention(Box<super::inspect::Inspection>),
    /// A split's predictions in file order (dev after each epoch, test at the end, any
    /// split on request), and the weights that made them.
    Predictions {
        split: Split,
        weights: Weights,
        values: Vec<f32>,
    },
    /// A finished run answers with these weights from now on: sent when it starts serving
    /// (its best weights) and after each `Command::Switch`. Whatever other weights computed
    /// is out of date for the views.
    Serving(Weights),
}

/// Which weights computed a prediction or an attention map. Every view labels what it
/// shows with it, so that two views never show two models without saying so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Weights {
    /// The weights being trained, after this many optimiser steps.
    Live { step: usize },
    /// A run's best dev epoch, numbered from 1 as printed.
    Best { epoch: usize },
    /// A run's weights as its loop left them, after this many optimiser steps.
    Last { step: usize },
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
    pub fn of_record(record: Option<&super::record::TrainingRecord>) -> Self {
        use super::record::Saved;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointKind {
    /// Lowest dev loss so far.
    Best,
    /// Latest state with optimiser moments, for `--resume`.
    Last,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Pause,
    Resume,
    /// Stop after the current step, saving `last/` when there is an output directory.
    Stop,
    /// Save `last/` now (resumable), between two steps.
    Save,
    /// Recompute this utterance's attention now, then every few steps and at epoch ends.
    Watch {
        split: Split,
        index: usize,
    },
    /// Send the predictions of a split (one evaluation pass).
    Predict(Split),
    /// After the run: answer with its best or its last weights from now on (both are kept
    /// in memory; answered by `Event::Serving`).
    Switch(CheckpointKind),
}

#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub seed: u64,
    pub best_epoch: usize,
    pub best_dev_loss: f64,
    pub test: Metrics,
    pub test_loss: f64,
    #[serde(skip)]
    pub test_predictions: Vec<f32>,
    pub wall_time: Duration,
    pub best_checkpoint: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelKind;
    use crate::train::record::{Saved, TrainingRecord};
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
