//! What training, resuming and inspecting can fail with.

use std::path::PathBuf;

use super::eval::{NonFinite, OutOfVocabulary};
use crate::checkpoint::CheckpointError;
use crate::data::Split;
use crate::model::config::InvalidField;

/// A failure of the engine: a checkpoint, a setting, the data, or the numerics.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Reading or writing a checkpoint failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A tensor computation failed.
    #[error("model computation failed: {0}")]
    Model(#[from] candle_core::Error),
    /// A checkpoint's tensor has the wrong shape for the model.
    #[error("{}: the weights do not fit the model: {source}", dir.display())]
    Weights {
        /// The checkpoint directory.
        dir: PathBuf,
        /// candle's message.
        source: Box<candle_core::Error>,
    },
    /// The checkpoint cannot be resumed: `message` says why.
    #[error("{path}: cannot resume: {message}")]
    Resume {
        /// The checkpoint directory.
        path: PathBuf,
        /// What is missing or wrong.
        message: String,
    },
    /// A setting changed on resuming (`Trainer::amend`) that the run cannot take.
    #[error("cannot resume with {problem}")]
    Amend {
        /// The setting and what it must be.
        problem: InvalidField,
    },
    /// The spec (or progress) saved in a checkpoint, held to what the command line is.
    #[error("{path}: cannot resume: the saved run settings (cmbert.training): {problem}")]
    ResumeSpec {
        /// The checkpoint's `config.json`.
        path: PathBuf,
        /// The saved setting and what it must be.
        problem: InvalidField,
    },
    /// The run's settings do not fit the encoder.
    #[error("invalid training settings for the encoder in {encoder}: {problem}")]
    Settings {
        /// The encoder's checkpoint directory.
        encoder: PathBuf,
        /// The setting and what it must be.
        problem: InvalidField,
    },
    /// A token id the encoder has no embedding for.
    #[error("{data}: {split} split: {problem}")]
    Vocabulary {
        /// The data directory.
        data: PathBuf,
        /// The split holding the utterance.
        split: Split,
        /// Which utterance and token.
        problem: OutOfVocabulary,
    },
    /// Training diverged: nothing of this step was applied or saved.
    #[error(
        "training diverged at step {step} (epoch {epoch}): the loss is {loss}; nothing of this step was saved. \
         Lower the learning rates (--lr, --head-lr) or check the data"
    )]
    NonFiniteLoss {
        /// The step that diverged, numbered from 1.
        step: usize,
        /// Its epoch, numbered from 1.
        epoch: usize,
        /// The non-finite loss.
        loss: f32,
    },
    #[error(
        "training diverged by step {step} (end of epoch {epoch}): dev split: {problem}; not saved as best. \
         Lower the learning rates (--lr, --head-lr) or check the data"
    )]
    /// The dev evaluation after an epoch is not finite: nothing is saved as best.
    NonFiniteDev {
        /// Optimiser steps taken.
        step: usize,
        /// The epoch that ended, numbered from 1.
        epoch: usize,
        /// The non-finite prediction or loss.
        problem: NonFinite,
    },
    /// The best weights give a non-finite test prediction or loss.
    #[error("test split (best epoch's weights): {0}; no result is reported")]
    NonFiniteTest(NonFinite),
    /// There is nothing to train on.
    #[error("the training split is empty")]
    EmptyTrain,
    /// The training (or inspecting) thread panicked.
    #[error(transparent)]
    Panicked(#[from] crate::worker::Panicked),
}
