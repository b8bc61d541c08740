//! What training, resuming and inspecting can fail with.

use std::path::PathBuf;

use super::eval::{NonFinite, OutOfVocabulary};
use crate::checkpoint::CheckpointError;
use crate::data::Split;
use crate::model::config::InvalidField;

/// A failure of the engine: a checkpoint, a setting, the data, or the numerics.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("model computation failed: {0}")]
    Model(#[from] candle_core::Error),
    #[error("{}: the weights do not fit the model: {source}", dir.display())]
    Weights {
        dir: PathBuf,
        source: Box<candle_core::Error>,
    },
    #[error("{path}: cannot resume: {message}")]
    Resume { path: PathBuf, message: String },
    /// A setting changed on resuming (`Trainer::amend`) that the run cannot take.
    #[error("cannot resume with {problem}")]
    Amend { problem: InvalidField },
    /// The spec (or progress) saved in a checkpoint, held to what the command line is.
    #[error("{path}: cannot resume: the saved run settings (cmbert.training): {problem}")]
    ResumeSpec { path: PathBuf, problem: InvalidField },
    #[error("invalid training settings for the encoder in {encoder}: {problem}")]
    Settings { encoder: PathBuf, problem: InvalidField },
    #[error("{data}: {split} split: {problem}")]
    Vocabulary {
        data: PathBuf,
        split: Split,
        problem: OutOfVocabulary,
    },
    /// Training diverged: nothing of this step was applied or saved.
    #[error(
        "training diverged at step {step} (epoch {epoch}): the loss is {loss}; nothing of this step was saved. \
         Lower the learning rates (--lr, --head-lr) or check the data"
    )]
    NonFiniteLoss { step: usize, epoch: usize, loss: f32 },
    #[error(
        "training diverged by step {step} (end of epoch {epoch}): dev split: {problem}; not saved as best. \
         Lower the learning rates (--lr, --head-lr) or check the data"
    )]
    NonFiniteDev {
        step: usize,
        epoch: usize,
        problem: NonFinite,
    },
    #[error("test split (best epoch's weights): {0}; no result is reported")]
    NonFiniteTest(NonFinite),
    #[error("the training split is empty")]
    EmptyTrain,
    /// The training (or inspecting) thread panicked.
    #[error(transparent)]
    Panicked(#[from] crate::worker::Panicked),
}
