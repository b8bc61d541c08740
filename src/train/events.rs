//! The typed protocol between the training engine and its consumers (the headless printer
//! and the TUI): events up, commands down.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

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
    /// split on request).
    Predictions {
        split: Split,
        step: Option<usize>,
        values: Vec<f32>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
